"""Slack re-delivers an event it thinks was lost (`x-slack-retry-num`) and a flaky network can re-send a click.
A delivery already seen by this process is acknowledged and ignored; the services are idempotent per click too,
so a duplicate that slips past (after a restart) still changes nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from adapters.slack.deps import SlackDeps


def delivery_key(body: dict[str, Any]) -> tuple[str, ...] | None:
    """What identifies one delivery: the event id, or the user and timestamp of a click."""
    if body.get("type") == "event_callback" and body.get("event_id"):
        return ("event", str(body["event_id"]))
    if body.get("type") == "block_actions" and body.get("actions"):
        action = body["actions"][0]
        return ("action", str((body.get("user") or {}).get("id")), str(action.get("action_ts")),
                str(action.get("action_id")))
    return None


def register(app: AsyncApp, deps: SlackDeps) -> None:
    @app.middleware
    async def ignore_repeats(body: dict[str, Any], request: AsyncBoltRequest,
                             next: Callable[[], Awaitable[None]]) -> BoltResponse | None:
        key = delivery_key(body)
        if key is not None and not deps.seen.first_time(key):
            retry = request.headers.get("x-slack-retry-num", ["0"])[0]
            app.logger.info("ignored a repeated delivery %s (retry %s)", key, retry)
            return BoltResponse(status=200, body="", headers={"x-slack-no-retry": "1"})
        await next()
        return None
