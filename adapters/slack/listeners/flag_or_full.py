"""A completion's overflow menu: "Show full text" opens a modal, "Flag as harmful / cannot rank" flags it."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import action_ids, flows
from adapters.slack.blocks.modals import full_text_modal
from adapters.slack.deps import SlackDeps
from adapters.slack.listeners.errors import reported
from bot import ranking_session


def register(app: AsyncApp, deps: SlackDeps) -> None:
    @app.action(action_ids.MORE)
    async def flag_or_full(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                           context: AsyncBoltContext) -> None:
        await ack()
        async with reported(body, context):
            assignment, index = action_ids.numbers(action_ids.MORE, action["action_id"])
            choice = action["selected_option"]["value"]
            labeler = await flows.labeler_id(deps, context["team_id"], context["user_id"])
            if choice == "full":
                async with deps.database.session() as session:
                    card = await ranking_session.show_card(session, assignment, labeler)
                shown = next(c for c in card.choices if c.index == index)
                await client.views_open(trigger_id=body["trigger_id"],
                                        view=full_text_modal(f"Completion {shown.letter}", shown.text))
                return
            kind = choice.removeprefix("flag:")
            channel, ts = flows.message_of(body)
            async with flows.card_change(deps, client, assignment, labeler, channel, ts):
                async with deps.database.session() as session:
                    card = await ranking_session.flag(session, assignment, labeler, index, kind)
                await flows.show_card(client, channel, card, ts=ts)
