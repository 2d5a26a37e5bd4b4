"""Undo, Tie (toggle the last two placed as equal) and Reset: each one call into `bot.ranking_session`."""

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

EDITS = {"undo": ranking_session.undo, "tie": ranking_session.tie, "reset": ranking_session.reset}


def register(app: AsyncApp, deps: SlackDeps) -> None:
    @app.action(action_ids.EDIT)
    async def edit(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                   context: AsyncBoltContext) -> None:
        await ack()
        async with reported(body, context):
            verb, assignment = action["action_id"].split(":")
            labeler = await flows.labeler_id(deps, context["team_id"], context["user_id"])
            channel, ts = flows.message_of(body)
            async with flows.card_change(deps, client, int(assignment), labeler, channel, ts):
                async with deps.database.session() as session:
                    card = await EDITS[verb](session, int(assignment), labeler)
                await flows.show_card(client, channel, card, ts=ts)
