"""A local Slack for end-to-end tests, both directions over real loopback HTTP.

`SlackEmulator` plays the Web API the adapter calls (auth.test, conversations.open, chat.postMessage/update/
postEphemeral, views.open/publish, users.info, the three files.uploadV2 steps, response_url posts) and records
every call; `rate_limit(method)` answers the next call with 429 and Retry-After, as Slack does.

`SlackUser` is Slack's side of the app's endpoint: it sends signed (X-Slack-Signature, X-Slack-Request-Timestamp
per slack_sdk's SignatureVerifier scheme) block_actions, view_submission, slash command and event payloads shaped
like Slack's documented ones, building each click from the blocks the app actually rendered.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

TEAM = "T0CROWD"
BOT_USER = "U0BOT"
JSON_FIELDS = ("blocks", "view", "attachments", "files", "metadata")
RESPONSE_URL_USES = 5  # "up to 5 times within 30 minutes" (Slack: handling user interaction)


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    status: int = 200


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    history: list[list[dict[str, Any]]] = field(default_factory=list)  # earlier versions of `blocks`


class SlackEmulator:
    """The Slack Web API on 127.0.0.1 (aiohttp); inspect `calls`, `messages`, `responses`, `uploads`."""

    def __init__(self, token: str = "xoxb-test-token", app_token: str = "xapp-test-token") -> None:
        self.token = token
        self.app_token = app_token
        self.socket_acks: list[dict[str, Any]] = []  # what the app answered to each Socket Mode envelope
        self._sockets: list[web.WebSocketResponse] = []
        self.calls: list[Call] = []
        self.messages: dict[tuple[str, str], Message] = {}
        self.responses: list[dict[str, Any]] = []  # posts to response_url: {"user", "channel", "body"}
        self.uploads: dict[str, bytes] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self._response_urls: dict[str, tuple[str, str, str | None]] = {}
        self._uses: Counter[str] = Counter()  # posts to each response_url: Slack takes five
        self._expired = False
        self._rate_limits: dict[str, list[int]] = {}
        self._ts = itertools.count(1)
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ---- life cycle -------------------------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/respond/{key}", self._respond)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    # ---- set-up and inspection --------------------------------------------------------------------------------
    def add_user(self, user: str, *, tz: str = "Europe/Berlin", name: str | None = None, is_admin: bool = False,
                 is_owner: bool = False) -> None:
        self.users[user] = {"id": user, "team_id": TEAM, "name": (name or user).lower(), "real_name": name or user,
                            "tz": tz, "is_admin": is_admin, "is_owner": is_owner, "is_bot": False,
                            "profile": {"display_name": name or user}}

    def rate_limit(self, method: str, *, times: int = 1, retry_after: int = 1) -> None:
        self._rate_limits.setdefault(method, []).extend([retry_after] * times)

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def response_url(self, user: str, channel: str, ts: str | None) -> str:
        key = uuid.uuid4().hex
        self._response_urls[key] = (user, channel, ts)
        return f"{self.base}/respond/{key}"

    def channel_messages(self, channel: str) -> list[Message]:
        return sorted((m for m in self.messages.values() if m.channel == channel), key=lambda m: float(m.ts))

    def last_message(self, channel: str) -> Message:
        return self.channel_messages(channel)[-1]

    def ephemeral_to(self, user: str) -> list[str]:
        """Texts sent privately to `user` (response_url with response_type ephemeral, or chat.postEphemeral)."""
        texts = [r["body"].get("text", "") for r in self.responses
                 if r["user"] == user and r["body"].get("response_type") == "ephemeral"]
        texts += [c.args.get("text", "") for c in self.calls_to("chat.postEphemeral") if c.args.get("user") == user]
        return texts

    async def wait_for(self, condition: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Wait until `condition()` is truthy (re-checked after every call the emulator receives)."""
        deadline = time.monotonic() + timeout
        while True:
            changed = self._changed  # taken before checking, so a change in between is never missed
            value = condition()
            if value:
                return value
            left = deadline - time.monotonic()
            if left <= 0:
                said = [str(r["body"].get("text", ""))[:120] for r in self.responses[-2:]]
                raise AssertionError(f"timed out waiting; calls so far: {[c.method for c in self.calls]}; "
                                     f"last private replies: {said}")
            try:
                await asyncio.wait_for(changed.wait(), left)
            except TimeoutError:
                pass

    async def wait_calls(self, method: str, count: int, timeout: float = 10.0) -> list[Call]:
        await self.wait_for(lambda: len(self.calls_to(method)) >= count, timeout)
        return self.calls_to(method)

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # ---- the Web API ------------------------------------------------------------------------------------------
    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                args.update(await request.json())
            else:
                args.update(dict(await request.post()))
        for name in JSON_FIELDS:
            if isinstance(args.get(name), str):
                args[name] = json.loads(args[name])
        token = request.headers.get("Authorization", "").removeprefix("Bearer ") or args.get("token")
        pending = self._rate_limits.get(method)
        if pending:
            retry_after = pending.pop(0)
            self._record(Call(method, args, status=429))
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                     headers={"Retry-After": str(retry_after)})
        self._record(Call(method, args))
        if token != (self.app_token if method == "apps.connections.open" else self.token):
            return web.json_response({"ok": False, "error": "invalid_auth"})
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        answer = handler(args)
        self._notify()  # the call's effect (a message posted or updated) is visible now
        return web.json_response(answer)

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": "https://crowd.slack.com/", "team": "Crowd", "user": "crowdrank",
                "team_id": TEAM, "user_id": BOT_USER, "bot_id": "B0BOT"}

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"}

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        """Slack's Socket Mode server: says hello, then relays envelopes from `send_envelope` and records acks."""
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._sockets.append(socket)
        await socket.send_json({"type": "hello", "num_connections": 1, "debug_info": {"host": "emulator"},
                                "connection_info": {"app_id": "A0CROWD"}})
        self._notify()
        async for frame in socket:
            if frame.type == aiohttp.WSMsgType.TEXT:
                self.socket_acks.append(json.loads(frame.data))
                self._notify()
        self._sockets.remove(socket)
        return socket

    async def send_envelope(self, kind: str, payload: Any) -> str:
        """Push one Socket Mode envelope (`events_api`, `interactive`, `slash_commands`); returns its id."""
        await self.wait_for(lambda: self._sockets)
        envelope_id = uuid.uuid4().hex
        await self._sockets[-1].send_json({"envelope_id": envelope_id, "type": kind, "payload": payload,
                                           "accepts_response_payload": kind != "events_api", "retry_attempt": 0,
                                           "retry_reason": ""})
        return envelope_id

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        user = str(args["users"]).split(",")[0]
        return {"ok": True, "channel": {"id": "D" + user}}

    def _new_ts(self) -> str:
        return f"{1700000000 + next(self._ts)}.000100"

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args["channel"])
        if channel.startswith("U"):
            channel = "D" + channel
        ts = self._new_ts()
        message = Message(channel, ts, str(args.get("text", "")), list(args.get("blocks") or []))
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts,
                "message": {"type": "message", "ts": ts, "text": message.text, "blocks": message.blocks}}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        key = (str(args["channel"]), str(args["ts"]))
        message = self.messages.get(key)
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        message.history.append(message.blocks)
        message.text, message.blocks = str(args.get("text", "")), list(args.get("blocks") or [])
        return {"ok": True, "channel": key[0], "ts": key[1], "text": message.text}

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "message_ts": self._new_ts()}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "view": {**args["view"], "id": "V" + uuid.uuid4().hex[:8].upper()}}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "view": {**args["view"], "id": "VHOME"}}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(args["user"]))
        return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}

    def _files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        file_id = "F" + uuid.uuid4().hex[:10].upper()
        return {"ok": True, "file_id": file_id, "upload_url": f"{self.base}/upload/{file_id}"}

    def _files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        files = [{"id": f["id"], "title": f.get("title"), "size": len(self.uploads.get(f["id"], b""))}
                 for f in args["files"]]
        missing = [f["id"] for f in files if f["id"] not in self.uploads]
        if missing:
            return {"ok": False, "error": "file_not_uploaded"}
        return {"ok": True, "files": files}

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        data = await request.read()
        self.uploads[file_id] = data
        self._record(Call("upload", {"file_id": file_id, "size": len(data)}))
        return web.Response(text="OK - " + str(len(data)))

    def expire_response_urls(self) -> None:
        """Every response_url answers 404 expired_url from now on (as Slack's do after 30 minutes)."""
        self._expired = True

    async def _respond(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        user, channel, ts = self._response_urls[key]
        self._uses[key] += 1
        if self._expired or self._uses[key] > RESPONSE_URL_USES:
            error = "expired_url" if self._expired else "used_url"
            self._record(Call("response_url", {}, status=404))
            return web.Response(status=404, text=error)
        body = await request.json()
        self.responses.append({"user": user, "channel": channel, "body": body})
        if body.get("replace_original") and ts and (channel, ts) in self.messages:
            message = self.messages[(channel, ts)]
            message.history.append(message.blocks)
            message.text, message.blocks = body.get("text", ""), body.get("blocks") or []
        self._record(Call("response_url", body))
        return web.Response(text="ok")


def find_element(blocks: list[dict[str, Any]], action_id: str) -> tuple[dict[str, Any], str]:
    """The interactive element with this action id in rendered blocks (or whose id starts with `action_id:`, so a
    test can name a button by its verb), and its block id."""
    for exact in (True, False):
        for block in blocks:
            candidates = list(block.get("elements") or []) + ([block["accessory"]] if block.get("accessory") else [])
            for element in candidates:
                found = element.get("action_id", "")
                if found == action_id if exact else found.startswith(action_id + ":"):
                    return element, block.get("block_id", "")
    raise AssertionError(f"no element {action_id!r} in the rendered blocks")


def message_state(blocks: list[dict[str, Any]], selections: dict[str, str]) -> dict[str, Any]:
    """`state.values` of a message as Slack sends it with block_actions: every select's current option."""
    values: dict[str, Any] = {}
    for block in blocks:
        for element in block.get("elements") or []:
            if element.get("type") != "static_select":
                continue
            chosen = selections.get(element["action_id"])
            option = next((o for o in element["options"] if chosen in (o["value"], o["text"]["text"])), None) \
                if chosen else \
                element.get("initial_option")
            if option is not None:
                values.setdefault(block["block_id"], {})[element["action_id"]] = {
                    "type": "static_select", "selected_option": option}
    return values


def action_ids(blocks: list[dict[str, Any]]) -> list[str]:
    ids = []
    for block in blocks:
        for element in list(block.get("elements") or []) + ([block["accessory"]] if block.get("accessory") else []):
            if "action_id" in element:
                ids.append(element["action_id"])
    return ids


class SlackUser:
    """Slack's side of the app endpoint: signed requests, payloads shaped like Slack's documentation."""

    def __init__(self, emulator: SlackEmulator, app_url: str, signing_secret: str) -> None:
        self.emulator = emulator
        self.app_url = app_url
        self.verifier = SignatureVerifier(signing_secret)
        self._action_ts = itertools.count(1)

    async def send(self, body: str, content_type: str, *, headers: dict[str, str] | None = None,
                   timestamp: int | None = None, signature: str | None = None) -> tuple[int, str]:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        signed = signature or self.verifier.generate_signature(timestamp=stamp, body=body)
        all_headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": stamp,
                       "X-Slack-Signature": signed, **(headers or {})}
        async with aiohttp.ClientSession() as session, session.post(self.app_url, data=body.encode(),
                                                                    headers=all_headers) as response:
            return response.status, await response.text()

    async def send_payload(self, payload: dict[str, Any], **kwargs: Any) -> tuple[int, str]:
        return await self.send(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded",
                               **kwargs)

    def _base(self, user: str, kind: str) -> dict[str, Any]:
        return {"type": kind, "team": {"id": TEAM, "domain": "crowd"},
                "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM},
                "api_app_id": "A0CROWD", "token": "legacy-verification-token", "enterprise": None,
                "is_enterprise_install": False, "trigger_id": f"{next(self._action_ts)}.{uuid.uuid4().int % 10**12}"}

    def click_payload(self, user: str, message: Message, action_id: str, *, option: str | None = None,
                      selections: dict[str, str] | None = None) -> dict:
        """A block_actions payload for `user` acting on an element rendered in `message`; `selections` =
        {select action_id: option value} the user picked before (else selects keep their initial option)."""
        element, block_id = find_element(message.blocks, action_id)
        action: dict[str, Any] = {"action_id": element["action_id"], "block_id": block_id, "type": element["type"],
                                  "action_ts": f"{time.time():.6f}{next(self._action_ts)}"}
        if element["type"] == "button":
            action["text"] = element["text"]
            if "value" in element:
                action["value"] = element["value"]
        else:
            options = element.get("options") or []
            chosen = next((o for o in options if option in (o["value"], o["text"]["text"])), None)
            if chosen is None:
                raise AssertionError(f"{option!r} is not an option of {action_id!r}")
            action["selected_option"] = chosen
        return {**self._base(user, "block_actions"),
                "container": {"type": "message", "message_ts": message.ts, "channel_id": message.channel,
                              "is_ephemeral": False},
                "channel": {"id": message.channel, "name": "directmessage"},
                "message": {"type": "message", "user": BOT_USER, "ts": message.ts, "text": message.text,
                            "blocks": message.blocks},
                "state": {"values": message_state(message.blocks, selections or {})},
                "response_url": self.emulator.response_url(user, message.channel, message.ts),
                "actions": [action]}

    async def click(self, user: str, message: Message, action_id: str, *, option: str | None = None,
                    selections: dict[str, str] | None = None, **kwargs: Any) -> tuple[int, str]:
        payload = self.click_payload(user, message, action_id, option=option, selections=selections)
        return await self.send_payload(payload, **kwargs)

    async def submit_view(self, user: str, view: dict[str, Any], values: dict[str, dict[str, str]]) -> tuple[int, str]:
        """A view_submission of a modal the app opened; `values` = {block_id: {action_id: typed text}}."""
        state = {block: {action: {"type": "plain_text_input", "value": text} for action, text in inputs.items()}
                 for block, inputs in values.items()}
        payload = {**self._base(user, "view_submission"),
                   "view": {**view, "id": view.get("id", "V0"), "team_id": TEAM, "state": {"values": state},
                            "hash": "1.abc", "app_id": "A0CROWD", "bot_id": "B0BOT"},
                   "response_urls": []}
        return await self.send_payload(payload)

    def command_form(self, user: str, text: str, *, channel: str = "C0GENERAL") -> dict[str, str]:
        """The fields of a slash command request, as Slack documents them."""
        return {"token": "legacy-verification-token", "team_id": TEAM, "team_domain": "crowd",
                "channel_id": channel, "channel_name": "general", "user_id": user, "user_name": user.lower(),
                "command": "/crowdrank", "text": text, "api_app_id": "A0CROWD", "is_enterprise_install": "false",
                "response_url": self.emulator.response_url(user, channel, None),
                "trigger_id": f"{next(self._action_ts)}.{uuid.uuid4().int % 10**12}"}

    async def command(self, user: str, text: str, *, channel: str = "C0GENERAL") -> tuple[int, str]:
        form = self.command_form(user, text, channel=channel)
        return await self.send(urlencode(form), "application/x-www-form-urlencoded")

    async def event(self, event: dict[str, Any], *, event_id: str, retry: int | None = None) -> tuple[int, str]:
        body = {"token": "legacy-verification-token", "team_id": TEAM, "api_app_id": "A0CROWD", "event": event,
                "type": "event_callback", "event_id": event_id, "event_time": int(time.time()),
                "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True}]}
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else {}
        return await self.send(json.dumps(body), "application/json", headers=headers)
