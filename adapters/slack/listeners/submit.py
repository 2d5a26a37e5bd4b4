"""Submit: store the ranking, turn the card into a thank-you with progress, then post the next card."""

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
    @app.action(action_ids.SUBMIT)
    async def submit(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                     context: AsyncBoltContext) -> None:
        await ack()
        async with reported(body, context):
            (assignment,) = action_ids.numbers(action_ids.SUBMIT, action["action_id"])
            labeler = await flows.labeler_id(deps, context["team_id"], context["user_id"])
            channel, ts = flows.message_of(body)
            async with flows.card_change(deps, client, assignment, labeler, channel, ts):
                async with deps.database.session() as session:
                    result = await ranking_session.submit(session, assignment, labeler)
                await flows.show_card(client, channel, result.card, ts=ts, progress=(result.done, result.remaining))
            await flows.serve_next(deps, client, labeler, result.card.campaign, channel)
