"""Skip: the button opens a modal asking for an optional reason; its submission skips the card, updates the
card's message and serves the next card."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import action_ids, flows
from adapters.slack.blocks.modals import skip_modal
from adapters.slack.deps import SlackDeps
from adapters.slack.listeners.errors import reported
from bot import ranking_session


def register(app: AsyncApp, deps: SlackDeps) -> None:
    @app.action(action_ids.SKIP)
    async def ask_reason(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                         context: AsyncBoltContext) -> None:
        await ack()
        async with reported(body, context):
            (assignment,) = action_ids.numbers(action_ids.SKIP, action["action_id"])
            labeler = await flows.labeler_id(deps, context["team_id"], context["user_id"])
            async with deps.database.session() as session:  # refuses someone else's card before asking anything
                await ranking_session.show_card(session, assignment, labeler)
            channel, ts = flows.message_of(body)
            await client.views_open(trigger_id=body["trigger_id"], view=skip_modal(assignment, channel, ts))

    @app.view(action_ids.SKIP_VIEW)
    async def skip(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient,
                   context: AsyncBoltContext) -> None:
        await ack()
        async with reported(body, context):
            where = json.loads(view["private_metadata"])
            reason = ((view["state"]["values"].get("reason") or {}).get("reason") or {}).get("value") or ""
            labeler = await flows.labeler_id(deps, context["team_id"], context["user_id"])
            assignment = int(where["assignment"])
            async with flows.card_change(deps, client, assignment, labeler, where["channel"], where["ts"]):
                async with deps.database.session() as session:
                    card = await ranking_session.skip(session, assignment, labeler, reason=reason)
                await flows.show_card(client, where["channel"], card, ts=where["ts"])
            await flows.serve_next(deps, client, labeler, card.campaign, where["channel"])
