"""The request guard in front of Bolt: what reaches a listener is signed, small, well-formed and shaped the way the
listeners read it, so bad input gets one 4xx line and never a 500, a half-done change or a stored row.

HTTP, in this order, each before any work on the next: a body over `MAX_BODY` is refused with 413 (a declared
Content-Length before reading a byte, a streamed body as soon as it passes the cap); a bad or missing
X-Slack-Signature or a timestamp more than five minutes off is 401 (checked on the raw bytes, so nothing unsigned
is ever decoded or parsed); a body that is not UTF-8, not valid urlencoding, a `payload=` that is not a JSON
object, nested deeper than `MAX_DEPTH`, or missing or mistyping a field the adapter reads is 400. The parsed body is
handed to Bolt as it is (Bolt accepts a parsed body only on its Socket Mode path, whose one difference is that its
own signature check stands aside: the guard made it), so nothing is parsed twice.

Socket Mode envelopes get the same shape checks; a malformed one is acknowledged (Slack would otherwise re-send
it), logged in one line and dropped, and the connection stays up.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt.adapter.socket_mode.async_internals import run_async_bolt_app, send_async_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

__all__ = ["MAX_BODY", "MAX_DEPTH", "Refused", "SlackGuard", "check_payload", "socket_listener"]

log = logging.getLogger("crowdrank.slack")
MAX_BODY = 512 * 1024
MAX_DEPTH = 40  # Slack's own payloads (a message's rich text included) nest far less
MAX_FIELDS = 100
MAX_SKEW = 5 * 60  # seconds, as Slack documents for the request timestamp
SLACK_ID = re.compile(r"[A-Z0-9]{1,40}")
FORM = "application/x-www-form-urlencoded"

Scope = Mapping[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]


class Refused(Exception):
    """Why a request is not for Bolt: an HTTP status and one line."""

    def __init__(self, status: int, line: str) -> None:
        super().__init__(line)
        self.status, self.line = status, line


def bad(line: str) -> Refused:
    return Refused(400, line)


# ---- shapes ---------------------------------------------------------------------------------------------------------
class Id:
    """A Slack id (U…, T…, C…): upper-case letters and digits; anything else is not one Slack sent."""


class Each:
    """An object whose every value has `spec` (Bolt state values keyed by block and action ids)."""

    def __init__(self, spec: Any) -> None:
        self.spec = spec


OPTIONAL_TEXT = (str, type(None))
USER = {"id": Id}
TEAM = {"id": Id}
CONTAINER = {"channel_id?": Id, "message_ts?": str}
STATE = {"values": Each(Each({"selected_option?": {"value": str}, "value?": OPTIONAL_TEXT}))}
ACTION = {"action_id": str, "block_id?": str, "action_ts?": str, "selected_option?": {"value": str}}
SHAPES: dict[str, dict[str, Any]] = {
    "block_actions": {"user": USER, "team": TEAM, "actions": [ACTION], "container?": CONTAINER, "state?": STATE,
                      "trigger_id?": str, "response_url?": str},
    "view_submission": {"user": USER, "team": TEAM, "view": {"id": str, "callback_id": str,
                                                             "private_metadata?": str, "state": STATE}},
    "event_callback": {"team_id": Id, "event_id": str, "event": {"type": str, "user?": Id, "tab?": str}},
    "url_verification": {"challenge": str},
    "command": {"command": str, "team_id": Id, "user_id": Id, "text?": str, "channel_id?": Id,
                "trigger_id?": str, "response_url?": str},
}
INTERACTIVE = {"user": USER, "team": TEAM}  # any other interaction type: who and where, as Bolt reads them


def check(value: Any, spec: Any, path: str) -> None:
    """Raise a 400 naming the first field of `value` that does not have `spec`'s shape."""
    if spec is Id:
        if not (isinstance(value, str) and SLACK_ID.fullmatch(value)):
            raise bad(f"{path} is not a Slack id")
    elif isinstance(spec, dict):
        if not isinstance(value, dict):
            raise bad(f"{path} must be an object")
        for key, inner in spec.items():
            name = key.rstrip("?")
            if name in value:
                check(value[name], inner, f"{path}.{name}")
            elif not key.endswith("?"):
                raise bad(f"{path}.{name} is missing")
    elif isinstance(spec, list):
        if not (isinstance(value, list) and value):
            raise bad(f"{path} must be a non-empty list")
        for position, item in enumerate(value):
            check(item, spec[0], f"{path}[{position}]")
    elif isinstance(spec, Each):
        if not isinstance(value, dict):
            raise bad(f"{path} must be an object")
        for key, item in value.items():
            check(item, spec.spec, f"{path}.{key}")
    elif not isinstance(value, spec):
        raise bad(f"{path} has the wrong type")


def too_deep(value: dict[str, Any] | list[Any], room: int = MAX_DEPTH) -> bool:
    """Whether `value` nests deeper than `room` levels; the recursion stops there, so it is bounded too."""
    if room == 0:
        return True
    children = value.values() if isinstance(value, dict) else value
    return any(too_deep(child, room - 1) for child in children if isinstance(child, dict | list))


def check_payload(kind: str, payload: Any) -> dict[str, Any]:
    """`payload` checked as an interaction (`interactive`), a slash command (`command`) or an Events API body
    (`event`); returned when it has the shape its listener reads, else a 400."""
    name = {"interactive": "payload", "command": "command", "event": "body"}[kind]
    if not isinstance(payload, dict):
        raise bad(f"{name} must be a JSON object")
    if too_deep(payload):
        raise bad(f"{name} nests deeper than {MAX_DEPTH} levels")
    if kind == "command":
        check(payload, SHAPES["command"], name)
        return payload
    kind_of = payload.get("type")
    if not isinstance(kind_of, str):
        raise bad(f"{name}.type is missing")
    if kind == "event" and kind_of not in ("event_callback", "url_verification"):
        raise bad(f"unsupported event request type {kind_of[:40]!r}")
    check(payload, SHAPES.get(kind_of, INTERACTIVE), name)
    return payload


# ---- HTTP ------------------------------------------------------------------------------------------------------------
def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float) -> None:
    """Slack's v0 request signature over the raw bytes (slack_sdk's verifier decodes them first and takes any
    timestamp to int(), which raises on junk)."""
    stamp = headers.get("x-slack-request-timestamp", "")
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12) or abs(now - int(stamp)) > MAX_SKEW:
        raise Refused(401, "missing or stale X-Slack-Request-Timestamp")
    expected = "v0=" + hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    given = headers.get("x-slack-signature", "")
    if not (given.isascii() and hmac.compare_digest(expected, given)):
        raise Refused(401, "missing or bad X-Slack-Signature")


def parse(body: bytes, content_type: str) -> dict[str, Any]:
    """A signed body as the dict Bolt reads: an interaction's `payload`, a command's fields, or an event."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise bad(f"the body is not UTF-8 (byte {error.start})") from None
    if content_type == "application/json":
        return check_payload("event", _json(text, "body"))
    if content_type != FORM:
        raise bad(f"unsupported content type {content_type[:60]!r}")
    try:
        fields = dict(parse_qsl(text, keep_blank_values=True, strict_parsing=True, max_num_fields=MAX_FIELDS,
                                errors="strict"))
    except ValueError as error:  # UnicodeDecodeError included: %-escapes that are not UTF-8
        raise bad(f"the form is not valid urlencoding ({str(error)[:80]})") from None
    if "payload" in fields:
        return check_payload("interactive", _json(fields["payload"], "payload"))
    if fields.get("ssl_check") == "1":
        return fields
    return check_payload("command", fields)


def _json(text: str, name: str) -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        raise bad(f"{name} nests deeper than {MAX_DEPTH} levels") from None
    except ValueError as error:  # JSONDecodeError, and an integer too long to read
        raise bad(f"{name} is not JSON ({str(error).splitlines()[0][:80]})") from None


class SlackGuard:
    """The ASGI app uvicorn serves: the guard on `path`, then the Bolt app; 404 for anything else."""

    def __init__(self, app: AsyncApp, signing_secret: str, path: str,
                 clock: Callable[[], float] = time.time) -> None:
        self.app, self.secret, self.path, self.clock = app, signing_secret, path, clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # uvicorn runs with lifespan off
        if scope["method"] != "POST" or scope["path"] != self.path:
            await _answer(send, 404, "not found")
            return
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        try:
            body = await _read(receive, headers.get("content-length"))
            verify(self.secret, headers, body, self.clock())
            parsed = parse(body, headers.get("content-type", "").split(";")[0].strip().lower())
            request = bolt_request(parsed, headers, scope.get("query_string", b"").decode("latin-1"))
        except Refused as refused:
            await _answer(send, refused.status, refused.line)
            return
        response = await self.app.async_dispatch(request)
        raw = response.headers or {}
        out = [(key.encode(), value.encode()) for key, values in raw.items() if key.lower() != "content-length"
               for value in values]
        content = (response.body or "").encode()
        await send({"type": "http.response.start", "status": response.status,
                    "headers": [*out, (b"content-length", str(len(content)).encode())]})
        await send({"type": "http.response.body", "body": content})


def bolt_request(body: dict[str, Any], headers: Mapping[str, str | Sequence[str]], query: str) -> AsyncBoltRequest:
    """Bolt's request from the parsed body (Bolt's Socket Mode path, see the module docstring). Bolt reads ids
    from fields the shapes do not cover (enterprise, authorizations …); one of a type it cannot read is a 400."""
    try:
        return AsyncBoltRequest(body=body, query=query, headers=dict(headers.items()), mode="socket_mode")
    except (TypeError, AttributeError, KeyError, IndexError, ValueError) as error:
        raise bad(f"a field Slack sends has the wrong type ({type(error).__name__})") from None


async def _read(receive: Receive, declared: str | None) -> bytes:
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise Refused(413, f"the body is larger than {MAX_BODY} bytes")
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise Refused(400, "the client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise Refused(413, f"the body is larger than {MAX_BODY} bytes")
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _answer(send: Send, status: int, line: str) -> None:
    content = (line.replace("\n", " ") + "\n").encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(content)).encode())]})
    await send({"type": "http.response.body", "body": content})


# ---- Socket Mode -----------------------------------------------------------------------------------------------------
SOCKET_KINDS = {"interactive": "interactive", "slash_commands": "command", "events_api": "event"}


def socket_listener(app: AsyncApp) -> Callable[[AsyncBaseSocketModeClient, dict[Any, Any], str | None],
                                               Awaitable[None]]:
    """A Socket Mode message listener in place of Bolt's: envelopes that pass the guard are dispatched as Bolt
    would; a malformed one is acknowledged, logged in one line and dropped."""

    async def listen(client: AsyncBaseSocketModeClient, message: dict[Any, Any], raw: str | None) -> None:
        envelope, kind = message.get("envelope_id"), SOCKET_KINDS.get(str(message.get("type")))
        if not isinstance(envelope, str) or not envelope:
            return  # hello, disconnect and other frames carry nothing to answer
        started = time.time()
        try:
            if kind is None:
                raise bad(f"unsupported envelope type {str(message.get('type'))[:40]!r}")
            payload = check_payload(kind, message.get("payload"))
        except Refused as refused:
            log.warning("dropped a Socket Mode envelope: %s", refused.line)
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=envelope))
            return
        request = SocketModeRequest(type=str(message["type"]), envelope_id=envelope, payload=payload,
                                    accepts_response_payload=bool(message.get("accepts_response_payload")),
                                    retry_attempt=message.get("retry_attempt"),
                                    retry_reason=message.get("retry_reason"))
        await send_async_response(client, request, await run_async_bolt_app(app, request), started)

    return listen
