""""Next card" (after a submit, a skip, an expiry or "nothing left"): serve the next card in this DM."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import action_ids, flows
from adapters.slack.deps import SlackDeps
from adapters.slack.listeners.errors import reported


def register(app: AsyncApp, deps: SlackDeps) -> None:
    @app.action(action_ids.NEXT)
    async def next_card(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                        context: AsyncBoltContext) -> None:
        await ack()
        async with reported(body, context):
            labeler = await flows.labeler_id(deps, context["team_id"], context["user_id"])
            channel, _ = flows.message_of(body)
            await flows.serve_next(deps, client, labeler, action["value"], channel)
