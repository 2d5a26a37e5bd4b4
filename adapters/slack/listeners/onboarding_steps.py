"""Onboarding steps in the DM: "I agree", the region select, "I have read them". Each updates the same message
to the next step; the last one is followed by the first card."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import action_ids, flows
from adapters.slack.blocks.onboarding import campaign_from_block_id
from adapters.slack.deps import SlackDeps
from adapters.slack.listeners.errors import reported
from bot import labelers
from bot.errors import InputError


def chosen_region(body: dict[str, Any], action: dict[str, Any]) -> str:
    """The select's current option, from the message state Slack sends with the Confirm click (the button's
    value, the pre-selected suggestion, when the state does not carry it)."""
    picked = (((body.get("state") or {}).get("values") or {}).get(action["block_id"]) or {}).get(
        action_ids.REGION_PICK) or {}
    region = (picked.get("selected_option") or {}).get("value") or action.get("value")
    if not region:
        raise InputError("choose a region in the list first", field="region")
    return str(region)


def register(app: AsyncApp, deps: SlackDeps) -> None:
    async def advance(body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                      context: AsyncBoltContext) -> None:
        campaign = campaign_from_block_id(action["block_id"])
        labeler = await flows.labeler_id(deps, context["team_id"], context["user_id"])
        channel, ts = flows.message_of(body)
        async with deps.database.session() as session:
            if action["action_id"] == action_ids.CONSENT:
                await labelers.give_consent(session, labeler)
                await flows.register_with_profile(deps, client, context["team_id"], context["user_id"],
                                                  with_name=True)
            elif action["action_id"] == action_ids.REGION:
                await labelers.choose_region(session, labeler, campaign, chosen_region(body, action))
            else:
                (version,) = action_ids.numbers(action_ids.READ, action["action_id"])
                await labelers.acknowledge_guidelines(session, labeler, campaign, version)
            state = await labelers.onboarding(session, labeler, campaign)
        await flows.show_onboarding(client, channel, state, ts=ts)
        if state.complete:
            await flows.serve_next(deps, client, labeler, campaign, channel)

    @app.action(action_ids.CONSENT)
    @app.action(action_ids.REGION)
    @app.action(action_ids.READ)
    async def step(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                   context: AsyncBoltContext) -> None:
        """Consent, a confirmed region, guidelines read: each advances onboarding the same way."""
        await ack()
        async with reported(body, context):
            await advance(body, action, client, context)

    @app.action(action_ids.REGION_PICK)
    async def region_picked(ack: AsyncAck) -> None:
        await ack()  # the choice lives in the message state until Confirm
