"""A local Discord for end-to-end tests: the gateway and the REST routes a discord.py bot uses, on 127.0.0.1.

`DiscordEmulator` is one aiohttp server. Its websocket (`/gateway`) speaks the gateway protocol (HELLO, IDENTIFY →
READY + GUILD_CREATE, heartbeats, RESUME → replay + RESUMED, op 7 RECONNECT, op 9 INVALID_SESSION; zlib-stream when
asked) and dispatches INTERACTION_CREATE built like a person's click, slash command, autocomplete or modal submit.
Its REST side (`/api/v10/...`) records every call (method, path, JSON body, files) and keeps the messages, DMs,
threads and interaction responses a test asserts on. It enforces what Discord enforces and a bot gets wrong:
interactions answered once and within 3 s, message limits (2,000 characters of content, 10 embeds, 4,096 per
description, 6,000 per message, 5 rows of 5 buttons, 100-character custom ids), and it says which mentions a
message would ping under its `allowed_mentions`. Faults on demand: 429s with `retry_after` and `X-RateLimit-*`
headers, 403/50007 for DMs to chosen users, a dropped gateway socket. Hooks: `on_answer` is awaited when an
interaction's response arrives (before the bot hears back), and `raw_interaction` dispatches any payload at all.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
import uuid
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web

API = "/api/v10"
EPHEMERAL = 64
LOADING = 128
MANAGE_GUILD = 1 << 5
ADMINISTRATOR = 1 << 3
MEMBER_PERMISSIONS = (1 << 10) | (1 << 11) | (1 << 31)  # view channel, send messages, use application commands
INTERACTION_WINDOW = 3.0  # seconds to the first callback
TOKEN_LIFETIME = 15 * 60.0  # followups and @original edits


@dataclass
class Call:
    method: str
    path: str  # below /api/v10, e.g. "/channels/123/messages"
    body: Any = None
    files: list[tuple[str, bytes]] = field(default_factory=list)
    status: int = 200


@dataclass
class Message:
    id: int
    channel_id: int
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    flags: int = 0
    attachments: list[dict[str, Any]] = field(default_factory=list)
    allowed_mentions: dict[str, Any] | None = None
    visible_to: int | None = None  # an ephemeral message: the one user who sees it
    history: list[dict[str, Any]] = field(default_factory=list)  # earlier versions: {"content", "embeds", ...}

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    def custom_ids(self) -> list[str]:
        return [c["custom_id"] for c in iter_components(self.components) if "custom_id" in c]

    def enabled_ids(self) -> list[str]:
        return [c["custom_id"] for c in iter_components(self.components)
                if "custom_id" in c and not c.get("disabled")]

    def text(self) -> str:
        """Everything a reader sees: content, embed titles, descriptions, fields and footers."""
        parts = [self.content]
        for embed in self.embeds:
            parts += [embed.get("title", ""), embed.get("description", "")]
            parts += [f"{f.get('name', '')}\n{f.get('value', '')}" for f in embed.get("fields", [])]
            parts.append((embed.get("footer") or {}).get("text", ""))
        return "\n".join(p for p in parts if p)


@dataclass
class Interaction:
    id: int
    token: str
    type: int
    user_id: int
    channel_id: int
    payload: dict[str, Any]
    message_id: int | None = None  # the message whose component was used
    created: float = field(default_factory=time.monotonic)
    response: int | None = None  # callback type the bot answered with
    response_delay: float | None = None
    answered: float | None = None  # monotonic time of the accepted callback
    original_id: int | None = None  # the message @original names
    errors: list[str] = field(default_factory=list)  # refused callbacks: "10062 Unknown interaction", …
    choices: list[dict[str, Any]] | None = None  # autocomplete answer
    modal: dict[str, Any] | None = None
    edited: float | None = None  # monotonic time of the first edit that followed (type 7 or @original PATCH)


@dataclass
class Member:
    id: int
    name: str
    roles: list[int]
    permissions: int = 0  # extra permissions on top of the roles'
    locale: str = "en-US"


@dataclass
class Session:
    id: str
    seq: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)  # every dispatch, for RESUME replays
    socket: web.WebSocketResponse | None = None
    compressor: Any = None


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """JSON as Discord sends it: discord.py parses a body only under exactly `application/json` (no charset)."""
    return web.Response(body=json.dumps(data).encode(), status=status, headers={
        **(headers or {}), "Content-Type": "application/json"})


def _answerable(payload: Any) -> bool:
    """An id, token and type a response could be posted to."""
    if not isinstance(payload, dict) or type(payload.get("type")) is not int or payload["type"] not in (2, 3, 4, 5):
        return False
    ident, token = payload.get("id"), payload.get("token")
    return isinstance(ident, str) and isinstance(token, str) and bool(re.fullmatch(r"[0-9]{1,20}", ident)) \
        and bool(re.fullmatch(r"[A-Za-z0-9._-]{1,500}", token))


def _id_in(value: Any) -> int | None:
    """The `id` of a payload object, when it has a usable one."""
    ident = value.get("id") if isinstance(value, dict) else None
    return int(ident) if isinstance(ident, str) and re.fullmatch(r"[0-9]{1,20}", ident) else None


def iter_components(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for row in rows for c in row.get("components", [])]


_MENTION = re.compile(r"<@(!?)(\d+)>|<@&(\d+)>|@(everyone|here)")


class DiscordEmulator:
    """Discord on 127.0.0.1; inspect `calls`, `messages`, `interactions`, `gateway_ops`."""

    def __init__(self, token: str = "emulator.bot.token", heartbeat_ms: int = 41250) -> None:
        self.token = token
        self.heartbeat_ms = heartbeat_ms
        self._ids = itertools.count(1_100_000_000_000_000_000)
        self.app_id = self.new_id()
        self.bot_id = self.new_id()
        self.guild_id = self.new_id()
        self.general = self.new_id()
        self.manager_role = self.new_id()
        self.channels: dict[int, dict[str, Any]] = {}
        self.roles: dict[int, dict[str, Any]] = {}
        self.members: dict[int, Member] = {}
        self.calls: list[Call] = []
        self.messages: dict[int, Message] = {}
        self.interactions: dict[str, Interaction] = {}  # by token
        self.commands: dict[int | None, list[dict[str, Any]]] = {}  # guild id (None: global) → registered commands
        self.gateway_ops: list[tuple[int, Any]] = []  # (op, d) the bot sent
        self.closed_dms: set[int] = set()
        self.sessions: dict[str, Session] = {}
        self._current: Session | None = None
        self._rate_limits: list[list[Any]] = []  # [method, path regex, times left, retry_after]
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.on_answer: Callable[[Interaction], Awaitable[None]] | None = None  # awaited as each response arrives
        self.port = 0
        self._add_role(self.guild_id, "@everyone", MEMBER_PERMISSIONS)
        self._add_role(self.manager_role, "crowdrank-manager", MEMBER_PERMISSIONS)
        self.add_channel(self.general, "general")

    # ---- life cycle ------------------------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", API + "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        for session in self.sessions.values():
            if session.socket is not None and not session.socket.closed:
                await session.socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}{API}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    def new_id(self) -> int:
        return next(self._ids)

    # ---- the guild ---------------------------------------------------------------------------------------------
    def _add_role(self, role_id: int, name: str, permissions: int) -> None:
        self.roles[role_id] = {"id": str(role_id), "name": name, "color": 0, "colors": {"primary_color": 0},
                               "hoist": False, "position": len(self.roles), "permissions": str(permissions),
                               "managed": False, "mentionable": False, "flags": 0}

    def add_channel(self, channel_id: int, name: str) -> None:
        self.channels[channel_id] = {"id": str(channel_id), "type": 0, "name": name, "position": len(self.channels),
                                     "guild_id": str(self.guild_id), "permission_overwrites": [],
                                     "parent_id": None, "nsfw": False, "topic": None, "rate_limit_per_user": 0}

    def add_member(self, name: str, *, manager: bool = False, manage_guild: bool = False,
                   locale: str = "en-US") -> int:
        user_id = self.new_id()
        roles = [self.manager_role] if manager else []
        self.members[user_id] = Member(user_id, name, roles, MANAGE_GUILD if manage_guild else 0, locale)
        return user_id

    def permissions(self, user_id: int) -> int:
        member = self.members[user_id]
        value = member.permissions
        for role in [self.guild_id, *member.roles]:
            value |= int(self.roles[role]["permissions"])
        return value

    def user(self, user_id: int) -> dict[str, Any]:
        if user_id == self.bot_id:
            return {"id": str(user_id), "username": "crowdrank", "discriminator": "0", "global_name": None,
                    "avatar": None, "bot": True, "public_flags": 0, "flags": 0}
        name = self.members[user_id].name
        return {"id": str(user_id), "username": name.lower(), "discriminator": "0", "global_name": name,
                "avatar": None, "public_flags": 0}

    def member(self, user_id: int) -> dict[str, Any]:
        member = self.members[user_id]
        return {"user": self.user(user_id), "roles": [str(r) for r in member.roles], "nick": None, "avatar": None,
                "joined_at": "2026-01-01T00:00:00+00:00", "deaf": False, "mute": False, "flags": 0,
                "pending": False, "communication_disabled_until": None}

    def guild(self) -> dict[str, Any]:
        return {"id": str(self.guild_id), "name": "Crowd", "icon": None, "owner_id": str(self.bot_id),
                "roles": list(self.roles.values()), "emojis": [], "stickers": [], "features": [],
                "channels": [c for c in self.channels.values() if c["type"] == 0], "threads": [],
                "members": [self.member(m) for m in self.members], "member_count": len(self.members) + 1,
                "large": False, "unavailable": False, "preferred_locale": "en-US", "verification_level": 0,
                "default_message_notifications": 0, "explicit_content_filter": 0, "mfa_level": 0,
                "system_channel_id": None, "premium_tier": 0, "nsfw_level": 0, "voice_states": [],
                "presences": [], "stage_instances": [], "guild_scheduled_events": [],
                "joined_at": "2026-01-01T00:00:00+00:00"}

    def dm_channel(self, user_id: int) -> int:
        """The DM channel between the bot and `user_id` (one per user, created on first use)."""
        for channel_id, channel in self.channels.items():
            if channel["type"] == 1 and channel["recipients"][0]["id"] == str(user_id):
                return channel_id
        channel_id = self.new_id()
        self.channels[channel_id] = {"id": str(channel_id), "type": 1, "recipients": [self.user(user_id)],
                                     "last_message_id": None}
        return channel_id

    # ---- fault injection ---------------------------------------------------------------------------------------
    def rate_limit(self, method: str, path: str, *, times: int = 1, retry_after: float = 0.2) -> None:
        """Answer the next `times` calls of `method` to a path matching the regex `path` with 429."""
        self._rate_limits.append([method, re.compile(path), times, retry_after])

    def close_dms(self, user_id: int) -> None:
        self.closed_dms.add(user_id)

    async def drop_gateway(self, code: int = 4000) -> None:
        """Close the bot's socket as a network failure would (the session stays resumable)."""
        session = self._current
        if session is not None and session.socket is not None:
            await session.socket.close(code=code)

    async def request_reconnect(self) -> None:
        """Op 7: Discord asks the bot to reconnect and resume."""
        await self._send(self._current, {"op": 7, "d": None})

    async def invalidate_session(self, resumable: bool = False) -> None:
        await self._send(self._current, {"op": 9, "d": resumable})

    # ---- inspection ------------------------------------------------------------------------------------------
    def calls_to(self, method: str, path: str) -> list[Call]:
        pattern = re.compile(path)
        return [c for c in self.calls if c.method == method and pattern.fullmatch(c.path)]

    def channel_messages(self, channel_id: int, *, visible_to: int | None = None) -> list[Message]:
        """Messages in a channel, oldest first; ephemeral ones only for the user who sees them."""
        return [m for m in self.messages.values() if m.channel_id == channel_id
                and (m.visible_to is None or m.visible_to == visible_to)]

    def seen_by(self, user_id: int) -> list[Message]:
        """Every message `user_id` can read: their DM, their ephemerals, and guild channels and threads."""
        dm = self.dm_channel(user_id)
        return [m for m in self.messages.values()
                if (m.visible_to is None and (m.channel_id == dm or self.channels.get(m.channel_id, {}).get("type")
                                              in (0, 11, 12))) or m.visible_to == user_id]

    def pings(self, message: Message) -> list[str]:
        """Who `message` would notify, given its content and `allowed_mentions` (embeds never ping)."""
        allowed = message.allowed_mentions
        parse = set(allowed.get("parse", [])) if allowed is not None else {"users", "roles", "everyone"}
        users = set(allowed.get("users", [])) if allowed is not None else set()
        roles = set(allowed.get("roles", [])) if allowed is not None else set()
        found = []
        for match in _MENTION.finditer(message.content):
            user, role, everyone = match.group(2), match.group(3), match.group(4)
            if (user and ("users" in parse or user in users)) or (role and ("roles" in parse or role in roles)) \
                    or (everyone and "everyone" in parse):
                found.append(match.group(0))
        return found

    async def wait_for(self, condition: Callable[[], Any], timeout: float = 15.0) -> Any:
        """Wait until `condition()` is truthy (re-checked after everything the emulator receives)."""
        deadline = time.monotonic() + timeout
        while True:
            changed = self._changed
            value = condition()
            if value:
                return value
            left = deadline - time.monotonic()
            if left <= 0:
                tail = [f"{c.method} {c.path} {c.status}" for c in self.calls[-8:]]
                raise AssertionError(f"timed out waiting; last calls: {tail}")
            try:
                await asyncio.wait_for(changed.wait(), left)
            except TimeoutError:
                pass

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # ---- the gateway -----------------------------------------------------------------------------------------
    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(max_msg_size=0)
        await socket.prepare(request)
        compressor = zlib.compressobj() if request.query.get("compress") == "zlib-stream" else None
        pending = Session("", socket=socket, compressor=compressor)  # until IDENTIFY or RESUME names one
        await self._send(pending, {"op": 10, "d": {"heartbeat_interval": self.heartbeat_ms}})
        session = pending
        async for frame in socket:
            if frame.type != aiohttp.WSMsgType.TEXT:
                continue
            message = json.loads(frame.data)
            op, data = message.get("op"), message.get("d")
            self.gateway_ops.append((op, data))
            if op == 1:
                await self._send(session, {"op": 11, "d": None})
            elif op == 2:
                session = await self._identify(socket, compressor, data)
            elif op == 6:
                session = await self._resume(socket, compressor, data, pending)
            self._notify()
        if session.socket is socket:
            session.socket = None
        self._notify()
        return socket

    async def _identify(self, socket: web.WebSocketResponse, compressor: Any, data: dict[str, Any]) -> Session:
        if data.get("token") != self.token:
            await socket.close(code=4004, message=b"Authentication failed.")
            return Session("")
        session = Session(uuid.uuid4().hex, socket=socket, compressor=compressor)
        self.sessions[session.id] = session
        self._current = session
        await self._dispatch(session, "READY", {
            "v": 10, "user": self.user(self.bot_id), "session_id": session.id,
            "resume_gateway_url": self.gateway_url, "guilds": [{"id": str(self.guild_id), "unavailable": True}],
            "application": {"id": str(self.app_id), "flags": 0}, "shard": [0, 1], "private_channels": []})
        await self._dispatch(session, "GUILD_CREATE", self.guild())
        return session

    async def _resume(self, socket: web.WebSocketResponse, compressor: Any, data: dict[str, Any],
                      pending: Session) -> Session:
        session = self.sessions.get(data.get("session_id", ""))
        if session is None or data.get("token") != self.token:
            await self._send(pending, {"op": 9, "d": False})
            return pending
        session.socket, session.compressor = socket, compressor
        self._current = session
        seq = data.get("seq") or 0
        for event in [e for e in session.events if e["s"] > seq]:
            await self._send(session, event)
        await self._dispatch(session, "RESUMED", {})
        return session

    async def _send(self, session: Session | None, payload: dict[str, Any]) -> None:
        if session is None or session.socket is None or session.socket.closed:
            return
        text = json.dumps(payload)
        try:
            if session.compressor is not None:
                data = session.compressor.compress(text.encode()) + session.compressor.flush(zlib.Z_SYNC_FLUSH)
                await session.socket.send_bytes(data)
            else:
                await session.socket.send_str(text)
        except ConnectionError:
            pass  # the bot went away; the event stays in the session for a RESUME

    async def _dispatch(self, session: Session, event: str, data: dict[str, Any]) -> None:
        session.seq += 1
        payload = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.events.append(payload)
        await self._send(session, payload)

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a dispatch to the bot's current session (kept for replay if the socket is down)."""
        session = await self.wait_for(lambda: self._current)
        await self._dispatch(session, event, data)

    async def wait_connected(self, count: int = 1) -> None:
        """Wait until the bot identified `count` times in total and its current socket is open."""
        await self.wait_for(lambda: sum(op == 2 for op, _ in self.gateway_ops) >= count
                            and self._current is not None and self._current.socket is not None)

    # ---- interactions a person makes ---------------------------------------------------------------------------
    def _base_interaction(self, kind: int, user_id: int, channel_id: int, data: dict[str, Any]) -> Interaction:
        payload = self.interaction_payload(kind, user_id, channel_id, data)
        interaction = Interaction(int(payload["id"]), payload["token"], kind, user_id, channel_id, payload)
        self.interactions[interaction.token] = interaction
        return interaction

    def interaction_payload(self, kind: int, user_id: int, channel_id: int, data: dict[str, Any]) -> dict[str, Any]:
        """An INTERACTION_CREATE payload as Discord builds it (a new id and token), not yet dispatched."""
        interaction_id = self.new_id()
        token = "itk." + uuid.uuid4().hex
        channel = self.channels[channel_id]
        member = self.members[user_id]
        payload: dict[str, Any] = {
            "id": str(interaction_id), "application_id": str(self.app_id), "type": kind, "token": token,
            "version": 1, "data": data, "channel_id": str(channel_id), "channel": channel, "locale": member.locale,
            "app_permissions": str((1 << 53) - 1), "entitlements": [], "authorizing_integration_owners": {},
            "attachment_size_limit": 10 * 1024 * 1024}
        if channel["type"] == 1:
            payload.update(user=self.user(user_id), context=1)
        else:
            payload.update(guild_id=str(self.guild_id), guild_locale="en-US", context=0,
                           guild={"id": str(self.guild_id), "locale": "en-US", "features": []},
                           member={**self.member(user_id), "permissions": str(self.permissions(user_id))})
        return payload

    async def click(self, user_id: int, message: Message, custom_id: str, values: list[str] | None = None) \
            -> Interaction:
        """`user_id` uses the button (or select, with `values`) `custom_id` of `message`, as the client shows it."""
        component = next((c for c in iter_components(message.components) if c.get("custom_id") == custom_id), None)
        if component is None or component.get("disabled"):
            raise AssertionError(f"no enabled component {custom_id!r} on the message; has {message.enabled_ids()}")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component["type"]}
        if values is not None:
            data["values"] = values
        interaction = self._base_interaction(3, user_id, message.channel_id, data)
        interaction.message_id = message.id
        interaction.payload["message"] = self._message_json(message)
        await self.dispatch("INTERACTION_CREATE", interaction.payload)
        return interaction

    def _command(self, name: str) -> dict[str, Any]:
        for registered in [*self.commands.get(self.guild_id, []), *self.commands.get(None, [])]:
            if registered["name"] == name:
                return registered
        raise AssertionError(f"no command /{name} was synced; synced: {self.commands}")

    def _options(self, command: dict[str, Any], path: list[str], options: dict[str, Any],
                 focused: str | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The nested options of `/command sub [group sub] opt:value`, checked against the synced definition."""
        declared = command.get("options", [])
        if not path:
            out = []
            for name, value in options.items():
                option = next((o for o in declared if o["name"] == name), None)
                if option is None:
                    raise AssertionError(f"option {name!r} is not declared; declared: {[o['name'] for o in declared]}")
                entry = {"name": name, "type": option["type"], "value": value}
                if name == focused:
                    entry["focused"] = True
                out.append(entry)
            return out, declared
        sub = next((o for o in declared if o["name"] == path[0] and o["type"] in (1, 2)), None)
        if sub is None:
            raise AssertionError(f"no subcommand {path[0]!r}; declared: {[o['name'] for o in declared]}")
        inner, leaf = self._options(sub, path[1:], options, focused)
        return [{"name": sub["name"], "type": sub["type"], "options": inner}], leaf

    async def slash(self, user_id: int, command: str, *, channel_id: int | None = None,
                    focused: str | None = None, **options: Any) -> Interaction:
        """`/crowdrank join campaign:x` is `slash(user, "crowdrank join", campaign="x")`; with `focused`, an
        autocomplete (type 4) for that option instead."""
        data = self.command_data(command, focused=focused, **options)
        if channel_id is None:
            channel_id = self.general
        if self.channels[channel_id]["type"] != 1:
            data["guild_id"] = str(self.guild_id)
        interaction = self._base_interaction(4 if focused else 2, user_id, channel_id, data)
        await self.dispatch("INTERACTION_CREATE", interaction.payload)
        return interaction

    def command_data(self, command: str, *, focused: str | None = None, **options: Any) -> dict[str, Any]:
        """The `data` of `/command sub opt:value`, checked against the synced definition."""
        name, *path = command.split()
        registered = self._command(name)
        nested, _ = self._options(registered, path, options, focused)
        return {"id": registered["id"], "name": name, "type": 1, "options": nested}

    async def submit_modal(self, user_id: int, opened: Interaction, values: dict[str, str]) -> Interaction:
        """Submit the modal the bot opened in answer to `opened`; `values` = {text input custom_id: typed text}."""
        if opened.modal is None:
            raise AssertionError("the bot opened no modal for this interaction")
        rows = []
        for row in opened.modal["components"]:
            inputs = [c for c in row.get("components", []) if c.get("type") == 4]
            rows.append({"type": 1, "components": [{"type": 4, "custom_id": c["custom_id"],
                                                    "value": values.get(c["custom_id"], "")} for c in inputs]})
        data = {"custom_id": opened.modal["custom_id"], "components": rows}
        interaction = self._base_interaction(5, user_id, opened.channel_id, data)
        if opened.message_id is not None:
            interaction.message_id = opened.message_id
            interaction.payload["message"] = self._message_json(self.messages[opened.message_id])
        await self.dispatch("INTERACTION_CREATE", interaction.payload)
        return interaction

    async def raw_interaction(self, payload: Any) -> Interaction | None:
        """Dispatch `payload` as INTERACTION_CREATE whatever its shape (fuzzing the bot). When its id and token
        could be answered it is recorded like any other, so a response to it is accepted and kept."""
        known = None
        if _answerable(payload):
            kind, member = payload.get("type"), payload.get("member")
            user = _id_in(member.get("user") if isinstance(member, dict) else payload.get("user")) or 0
            known = Interaction(int(payload["id"]), payload["token"], kind, user,
                                _id_in(payload.get("channel")) or self.general, payload)
            message = _id_in(payload.get("message"))
            known.message_id = message if message in self.messages else None
            self.interactions[known.token] = known
        await self.dispatch("INTERACTION_CREATE", payload)
        return known

    async def answered(self, interaction: Interaction, timeout: float = 15.0) -> Interaction:
        await self.wait_for(lambda: interaction.response is not None or interaction.errors, timeout)
        return interaction

    # ---- REST ------------------------------------------------------------------------------------------------
    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        body, files = await self._read_body(request)
        call = Call(request.method, path, body, files)
        self.calls.append(call)
        try:
            limited = self._limited(request.method, path)
            if limited is not None:
                call.status = 429
                return limited
            public = path.startswith(("/interactions/", "/webhooks/"))
            if not public and request.headers.get("Authorization") != f"Bot {self.token}":
                return self._error(call, 401, 0, "401: Unauthorized")
            for method, pattern, handler in self._routes():
                match = pattern.fullmatch(path)
                if method == request.method and match:
                    answer = handler(call, request, *match.groups())
                    if handler == self._callback and call.status < 300 and self.on_answer is not None:
                        await self.on_answer(self.interactions[match.group(2)])
                    if isinstance(answer, web.StreamResponse):
                        return answer
                    return json_response(answer) if answer is not None else web.Response(status=204)
            return self._error(call, 404, 0, f"404: Not Found ({request.method} {path})")
        finally:
            self._notify()

    async def _read_body(self, request: web.Request) -> tuple[Any, list[tuple[str, bytes]]]:
        if not request.can_read_body:
            return None, []
        if request.content_type == "multipart/form-data":
            body, files = None, []
            reader = await request.multipart()
            async for part in reader:
                data = await part.read()  # type: ignore[union-attr]
                if part.name == "payload_json":  # type: ignore[union-attr]
                    body = json.loads(data)
                else:
                    files.append((part.filename or part.name or "", bytes(data)))  # type: ignore[union-attr]
            return body, files
        text = await request.text()
        return (json.loads(text) if text else None), []

    def _limited(self, method: str, path: str) -> web.Response | None:
        for rule in self._rate_limits:
            if rule[0] == method and rule[1].fullmatch(path) and rule[2] > 0:
                rule[2] -= 1
                # `Via` marks a 429 as Discord's own; discord.py takes one without it for a Cloudflare ban
                headers = {"X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "0",
                           "X-RateLimit-Reset": f"{time.time() + rule[3]:.3f}",
                           "X-RateLimit-Reset-After": f"{rule[3]:.3f}", "X-RateLimit-Bucket": "emulator-bucket",
                           "X-RateLimit-Scope": "user", "Via": "1.1 google", "Retry-After": str(max(1, round(rule[3])))}
                return json_response({"message": "You are being rate limited.", "retry_after": rule[3],
                                          "global": False}, status=429, headers=headers)
        return None

    @staticmethod
    def _error(call: Call, status: int, code: int, message: str) -> web.Response:
        call.status = status
        return json_response({"message": message, "code": code}, status=status)

    def _routes(self) -> list[tuple[str, re.Pattern[str], Callable[..., Any]]]:
        table = [
            ("GET", r"/users/@me", lambda c, r: self.user(self.bot_id)),
            ("GET", r"/(?:oauth2/)?applications/@me", self._application),
            ("GET", r"/gateway(?:/bot)?", lambda c, r: {"url": self.gateway_url, "shards": 1, "session_start_limit": {
                "total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}}),
            ("PUT", r"/applications/(\d+)/commands", lambda c, r, app: self._sync(c, None)),
            ("PUT", r"/applications/(\d+)/guilds/(\d+)/commands", lambda c, r, app, g: self._sync(c, int(g))),
            ("GET", r"/applications/(\d+)/commands", lambda c, r, app: self.commands.get(None, [])),
            ("GET", r"/applications/(\d+)/guilds/(\d+)/commands", lambda c, r, a, g: self.commands.get(int(g), [])),
            ("POST", r"/interactions/(\d+)/([^/]+)/callback", self._callback),
            ("GET", r"/webhooks/(\d+)/([^/]+)/messages/(@original|\d+)", self._get_webhook_message),
            ("PATCH", r"/webhooks/(\d+)/([^/]+)/messages/(@original|\d+)", self._edit_webhook_message),
            ("DELETE", r"/webhooks/(\d+)/([^/]+)/messages/(@original|\d+)", self._delete_webhook_message),
            ("POST", r"/webhooks/(\d+)/([^/]+)", self._followup),
            ("POST", r"/users/@me/channels", self._open_dm),
            ("GET", r"/channels/(\d+)", lambda c, r, ch: self.channels.get(int(ch)) or self._error(c, 404, 10003,
                                                                                                   "Unknown Channel")),
            ("POST", r"/channels/(\d+)/messages", self._post_message),
            ("GET", r"/channels/(\d+)/messages/(\d+)", self._get_message),
            ("PATCH", r"/channels/(\d+)/messages/(\d+)", self._edit_message),
            ("DELETE", r"/channels/(\d+)/messages/(\d+)", self._delete_message),
            ("POST", r"/channels/(\d+)/threads", self._create_thread),
            ("PUT", r"/channels/(\d+)/thread-members/(\d+|@me)", lambda c, r, ch, u: None),
            ("GET", r"/guilds/(\d+)/members/(\d+)", lambda c, r, g, u: self.member(int(u))),
        ]
        return [(method, re.compile(path), handler) for method, path, handler in table]

    def _application(self, call: Call, request: web.Request) -> dict[str, Any]:
        return {"id": str(self.app_id), "name": "crowdrank", "description": "", "icon": None, "bot_public": False,
                "bot_require_code_grant": False, "owner": self.user(self.bot_id), "verify_key": "0" * 64,
                "flags": 0, "team": None, "summary": "", "rpc_origins": [], "bot": self.user(self.bot_id)}

    def _sync(self, call: Call, guild: int | None) -> list[dict[str, Any]]:
        commands = []
        for command in call.body or []:
            if not re.fullmatch(r"[-_a-z0-9]{1,32}", command.get("name", "")):
                return self._error(call, 400, 50035, f"Invalid Form Body (command name {command.get('name')!r})")
            commands.append({**command, "id": str(self.new_id()), "application_id": str(self.app_id),
                             "version": str(self.new_id()), "guild_id": str(guild) if guild else None})
        self.commands[guild] = commands
        return commands

    # ---- messages ---------------------------------------------------------------------------------------------
    def _message_json(self, message: Message) -> dict[str, Any]:
        return {"id": str(message.id), "channel_id": str(message.channel_id), "type": 0,
                "content": message.content, "embeds": message.embeds, "components": message.components,
                "attachments": message.attachments, "author": self.user(self.bot_id), "flags": message.flags,
                "timestamp": datetime.now(UTC).isoformat(), "edited_timestamp": None, "tts": False, "pinned": False,
                "mention_everyone": False, "mentions": [], "mention_roles": [], "application_id": str(self.app_id)}

    def _check(self, body: dict[str, Any]) -> str | None:
        """The reason Discord would refuse this message body (50035 Invalid Form Body), or None."""
        if len(body.get("content") or "") > 2000:
            return "content: must be 2000 or fewer in length"
        embeds = body.get("embeds") or []
        if len(embeds) > 10:
            return "embeds: must be 10 or fewer in length"
        total = 0
        for embed in embeds:
            sizes = {"title": 256, "description": 4096}
            for key, limit in sizes.items():
                if len(embed.get(key) or "") > limit:
                    return f"embeds.{key}: must be {limit} or fewer in length"
            fields = embed.get("fields") or []
            if len(fields) > 25 or any(len(f.get("name", "")) > 256 or len(f.get("value", "")) > 1024
                                       for f in fields):
                return "embeds.fields: too many or too long"
            total += sum(len(embed.get(k) or "") for k in sizes) + len((embed.get("footer") or {}).get("text", ""))
            total += sum(len(f.get("name", "")) + len(f.get("value", "")) for f in fields)
        if total > 6000:
            return "embeds: combined length must be 6000 or fewer"
        rows = body.get("components") or []
        if len(rows) > 5:
            return "components: must be 5 or fewer in length"
        for row in rows:
            inner = row.get("components", [])
            if not 1 <= len(inner) <= 5:
                return "components.components: 1 to 5 per row"
            for component in inner:
                if len(component.get("custom_id", "")) > 100 or len(component.get("label") or "") > 80:
                    return "components: custom_id ≤ 100, label ≤ 80"
                if len(component.get("options", [])) > 25:
                    return "components.options: must be 25 or fewer in length"
        return None

    def _store(self, call: Call, channel_id: int, body: dict[str, Any], *, visible_to: int | None = None,
               flags: int = 0) -> Message | web.Response:
        problem = self._check(body)
        if problem:
            return self._error(call, 400, 50035, f"Invalid Form Body ({problem})")
        message = Message(self.new_id(), channel_id, body.get("content") or "", body.get("embeds") or [],
                          body.get("components") or [], flags | (body.get("flags") or 0),
                          self._attachments(call), body.get("allowed_mentions"), visible_to)
        if message.ephemeral and visible_to is None:
            return self._error(call, 400, 50035, "Invalid Form Body (ephemeral only in answer to an interaction)")
        self.messages[message.id] = message
        return message

    def _attachments(self, call: Call) -> list[dict[str, Any]]:
        return [{"id": str(self.new_id()), "filename": name, "size": len(data), "url": f"http://files/{name}",
                 "proxy_url": f"http://files/{name}"} for name, data in call.files]

    def _edit(self, call: Call, message: Message, body: dict[str, Any]) -> Message | web.Response:
        merged = {"content": message.content, "embeds": message.embeds, "components": message.components,
                  **{k: v for k, v in body.items() if k in ("content", "embeds", "components")}}
        problem = self._check(merged)
        if problem:
            return self._error(call, 400, 50035, f"Invalid Form Body ({problem})")
        message.history.append({"content": message.content, "embeds": message.embeds,
                                "components": message.components})
        message.content = merged["content"] or ""
        message.embeds, message.components = merged["embeds"] or [], merged["components"] or []
        message.flags &= ~LOADING
        if "allowed_mentions" in body:
            message.allowed_mentions = body["allowed_mentions"]
        if call.files:
            message.attachments += self._attachments(call)
        return message

    def _post_message(self, call: Call, request: web.Request, channel: str) -> Any:
        channel_id = int(channel)
        info = self.channels.get(channel_id)
        if info is None:
            return self._error(call, 404, 10003, "Unknown Channel")
        if info["type"] == 1 and int(info["recipients"][0]["id"]) in self.closed_dms:
            return self._error(call, 403, 50007, "Cannot send messages to this user")
        stored = self._store(call, channel_id, call.body or {})
        return stored if isinstance(stored, web.Response) else self._message_json(stored)

    def _get_message(self, call: Call, request: web.Request, channel: str, message: str) -> Any:
        found = self.messages.get(int(message))
        return self._message_json(found) if found else self._error(call, 404, 10008, "Unknown Message")

    def _edit_message(self, call: Call, request: web.Request, channel: str, message: str) -> Any:
        found = self.messages.get(int(message))
        if found is None or found.channel_id != int(channel) or found.visible_to is not None:
            return self._error(call, 404, 10008, "Unknown Message")
        edited = self._edit(call, found, call.body or {})
        return edited if isinstance(edited, web.Response) else self._message_json(edited)

    def _delete_message(self, call: Call, request: web.Request, channel: str, message: str) -> Any:
        if self.messages.pop(int(message), None) is None:
            return self._error(call, 404, 10008, "Unknown Message")
        return None

    def _open_dm(self, call: Call, request: web.Request) -> Any:
        return self.channels[self.dm_channel(int((call.body or {})["recipient_id"]))]

    def _create_thread(self, call: Call, request: web.Request, parent: str) -> Any:
        body = call.body or {}
        thread_id = self.new_id()
        self.channels[thread_id] = {
            "id": str(thread_id), "type": body.get("type", 11), "name": body.get("name", ""),
            "guild_id": str(self.guild_id), "parent_id": parent, "owner_id": str(self.bot_id),
            "thread_metadata": {"archived": False, "auto_archive_duration": body.get("auto_archive_duration", 1440),
                                "archive_timestamp": datetime.now(UTC).isoformat(), "locked": False,
                                "invitable": body.get("invitable", True)},
            "message_count": 0, "member_count": 1, "rate_limit_per_user": 0, "flags": 0}
        return self.channels[thread_id]

    # ---- interaction responses ----------------------------------------------------------------------------------
    def _callback(self, call: Call, request: web.Request, interaction_id: str, token: str) -> Any:
        interaction = self.interactions.get(token)
        if interaction is None or interaction.id != int(interaction_id):
            return self._error(call, 404, 10062, "Unknown interaction")
        delay = time.monotonic() - interaction.created
        if interaction.response is not None:
            interaction.errors.append("40060 Interaction has already been acknowledged")
            return self._error(call, 400, 40060, "Interaction has already been acknowledged.")
        if delay > INTERACTION_WINDOW:
            interaction.errors.append(f"10062 Unknown interaction (answered after {delay:.2f} s)")
            return self._error(call, 404, 10062, "Unknown interaction")
        body = call.body or {}
        kind, data = body.get("type"), body.get("data") or {}
        allowed = {2: (4, 5, 9), 3: (4, 5, 6, 7, 9), 4: (8,), 5: (4, 5, 6, 7)}[interaction.type]
        if kind not in allowed or (interaction.type == 5 and kind in (6, 7) and interaction.message_id is None):
            interaction.errors.append(f"response type {kind} is not valid for interaction type {interaction.type}")
            return self._error(call, 400, 50035, f"Invalid Form Body (type {kind})")
        message: Message | None = None
        if kind in (4, 5):
            visible = interaction.user_id if (data.get("flags") or 0) & EPHEMERAL else None
            stored = self._store(call, interaction.channel_id, data if kind == 4 else {"flags": data.get("flags")},
                                 visible_to=visible, flags=LOADING if kind == 5 else 0)
            if isinstance(stored, web.Response):
                interaction.errors.append(f"invalid message: {stored.text}")
                return stored
            message = stored
        elif kind in (6, 7):
            message = self.messages[interaction.message_id]  # type: ignore[index]
            if kind == 7:
                edited = self._edit(call, message, data)
                if isinstance(edited, web.Response):
                    interaction.errors.append(f"invalid message: {edited.text}")
                    return edited
                interaction.edited = time.monotonic()
        elif kind == 8:
            interaction.choices = data.get("choices", [])
        elif kind == 9:
            interaction.modal = data
        interaction.response, interaction.response_delay = kind, delay
        interaction.answered = time.monotonic()
        interaction.original_id = message.id if message else None
        if request.query.get("with_response") not in ("1", "true", "True"):
            return None
        answer: dict[str, Any] = {"interaction": {"id": str(interaction.id), "type": interaction.type}}
        if message is not None:
            answer["interaction"].update(response_message_id=str(message.id),
                                         response_message_loading=kind == 5,
                                         response_message_ephemeral=message.ephemeral)
            answer["resource"] = {"type": kind, "message": self._message_json(message)}
        return answer

    def _by_token(self, call: Call, app: str, token: str) -> Interaction | web.Response:
        interaction = self.interactions.get(token)
        if interaction is None or int(app) != self.app_id:
            return self._error(call, 404, 10015, "Unknown Webhook")
        if time.monotonic() - interaction.created > TOKEN_LIFETIME:
            return self._error(call, 401, 50027, "Invalid Webhook Token")
        if interaction.response is None:
            interaction.errors.append(f"{call.method} {call.path} before the interaction was answered")
            return self._error(call, 404, 10015, "Unknown Webhook")
        return interaction

    def _webhook_message(self, call: Call, app: str, token: str, which: str) -> Message | web.Response:
        interaction = self._by_token(call, app, token)
        if isinstance(interaction, web.Response):
            return interaction
        message_id = interaction.original_id if which == "@original" else int(which)
        message = self.messages.get(message_id or 0)
        if message is None:
            return self._error(call, 404, 10008, "Unknown Message")
        return message

    def _get_webhook_message(self, call: Call, request: web.Request, app: str, token: str, which: str) -> Any:
        found = self._webhook_message(call, app, token, which)
        return found if isinstance(found, web.Response) else self._message_json(found)

    def _edit_webhook_message(self, call: Call, request: web.Request, app: str, token: str, which: str) -> Any:
        found = self._webhook_message(call, app, token, which)
        if isinstance(found, web.Response):
            return found
        edited = self._edit(call, found, call.body or {})
        if isinstance(edited, web.Response):
            return edited
        interaction = self.interactions[token]
        if which == "@original" and interaction.edited is None:
            interaction.edited = time.monotonic()
        return self._message_json(edited)

    def _delete_webhook_message(self, call: Call, request: web.Request, app: str, token: str, which: str) -> Any:
        found = self._webhook_message(call, app, token, which)
        if isinstance(found, web.Response):
            return found
        del self.messages[found.id]
        return None

    def _followup(self, call: Call, request: web.Request, app: str, token: str) -> Any:
        interaction = self._by_token(call, app, token)
        if isinstance(interaction, web.Response):
            return interaction
        body = call.body or {}
        visible = interaction.user_id if (body.get("flags") or 0) & EPHEMERAL else None
        stored = self._store(call, interaction.channel_id, body, visible_to=visible)
        if isinstance(stored, web.Response):
            return stored
        return self._message_json(stored)
