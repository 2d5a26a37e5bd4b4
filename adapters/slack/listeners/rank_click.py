"""A completion button: place it next in the labeler's order and re-render the card in place."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import action_ids, flows
from adapters.slack.deps import SlackDeps
from adapters.slack.listeners.errors import reported
from bot import ranking_session


def register(app: AsyncApp, deps: SlackDeps) -> None:
    @app.action(action_ids.RANK)
    async def place(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                    context: AsyncBoltContext) -> None:
        await ack()
        async with reported(body, context):
            assignment, index = action_ids.numbers(action_ids.RANK, action["action_id"])
            labeler = await flows.labeler_id(deps, context["team_id"], context["user_id"])
            channel, ts = flows.message_of(body)
            async with flows.card_change(deps, client, assignment, labeler, channel, ts):
                async with deps.database.session() as session:
                    card = await ranking_session.click(session, assignment, labeler, index)
                await flows.show_card(client, channel, card, ts=ts)
