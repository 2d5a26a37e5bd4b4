"""Bounds on what one request may ask, checked before anything is queued: bytes of the body (an ASGI wrapper that
counts as the body arrives, so a huge body is refused without being read whole), completions per request, and
characters per text. Past a bound the answer is 413 with one line naming it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 8 * 1024 * 1024
    max_items: int = 512  # completions (OpenRLHF: queries) in one request
    max_chars: int = 32_000  # characters of one prompt, completion or query

    def check(self, texts: Iterable[str], items: int) -> None:
        if items > self.max_items:
            raise HTTPException(413, f"{items} completions in one request; at most {self.max_items}")
        longest = max((len(text) for text in texts), default=0)
        if longest > self.max_chars:
            raise HTTPException(413, f"a text of {longest} characters; at most {self.max_chars} per prompt, "
                                     f"completion or query")


class BodyLimit:
    """ASGI middleware: 413 when Content-Length, or the bytes actually received, pass `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.max_bytes:
            message = f"body of {declared.decode(errors='replace')} bytes; at most {self.max_bytes}"
            await JSONResponse({"error": message}, status_code=413)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise HTTPException(413, f"body over {self.max_bytes} bytes")
            return message

        await self.app(scope, counted, send)
