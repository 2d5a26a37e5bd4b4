"""The Guidelines button on a card: the campaign's guidelines, rendered from Markdown, in a modal."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import action_ids, flows
from adapters.slack.blocks.modals import guidelines_modal
from adapters.slack.deps import SlackDeps
from adapters.slack.listeners.errors import reported
from bot import labelers, ranking_session


def register(app: AsyncApp, deps: SlackDeps) -> None:
    @app.action(action_ids.GUIDELINES)
    async def show_guidelines(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                              context: AsyncBoltContext) -> None:
        await ack()
        async with reported(body, context):
            (assignment,) = action_ids.numbers(action_ids.GUIDELINES, action["action_id"])
            labeler = await flows.labeler_id(deps, context["team_id"], context["user_id"])
            async with deps.database.session() as session:
                card = await ranking_session.show_card(session, assignment, labeler)
                state = await labelers.onboarding(session, labeler, card.campaign)
            view = guidelines_modal(card.campaign, state.guidelines, state.guidelines_version)
            await client.views_open(trigger_id=body["trigger_id"], view=view)
