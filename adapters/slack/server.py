"""Serving the Bolt app: HTTP under uvicorn (the faster of the measured options in DESIGN.md "Serving Slack fast"),
or Socket Mode over a websocket when an app-level token is set. Either way every request passes the guard
(guard.py) before Bolt sees it.

`SlackHttpServer` starts and stops inside a running event loop, so tests run the real server in-process.
"""

from __future__ import annotations

import asyncio
import contextlib

import uvicorn
from slack_bolt.async_app import AsyncApp

from adapters.slack.guard import SlackGuard, socket_listener

EVENTS_PATH = "/slack/events"


class SlackHttpServer:
    """uvicorn serving `app` behind the guard on `/slack/events`; `port=0` picks a free port (read `.port` after
    `start`)."""

    def __init__(self, app: AsyncApp, signing_secret: str, host: str = "0.0.0.0", port: int = 3000,
                 log_level: str = "info") -> None:
        config = uvicorn.Config(SlackGuard(app, signing_secret, EVENTS_PATH), host=host, port=port,
                                log_level=log_level, lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None
        self.port = port

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises why uvicorn could not start (port taken …)
                raise RuntimeError("uvicorn stopped before it started")
            await asyncio.sleep(0.01)
        sockets = self._server.servers[0].sockets
        self.port = sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def serve_forever(self) -> None:
        await self._server.serve()


class SlackSocketMode:
    """Socket Mode: Slack pushes events over a websocket the app opens (apps.connections.open with the app-level
    token), so no public URL is needed. `start`/`stop` for tests, `serve_forever` for `crowdrank serve`. Envelopes
    go through the guard's listener instead of Bolt's own."""

    def __init__(self, app: AsyncApp, app_token: str) -> None:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        self._handler = AsyncSocketModeHandler(app, app_token)
        self._handler.client.socket_mode_request_listeners.clear()
        self._handler.client.message_listeners.append(socket_listener(app))

    async def start(self) -> None:
        await self._handler.connect_async()

    async def stop(self) -> None:
        await self._handler.close_async()

    async def serve_forever(self) -> None:
        await self._handler.start_async()
