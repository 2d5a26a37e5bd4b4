"""The Join button (campaign invitation or App Home): register the labeler and start onboarding in a DM."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import action_ids, flows
from adapters.slack.deps import SlackDeps
from adapters.slack.listeners.errors import reported


async def join_campaign(deps: SlackDeps, client: AsyncWebClient, workspace: str, user: str, campaign: str) -> str:
    """Shared by the button and `/crowdrank join`: returns the DM channel where onboarding (or a card) went."""
    labeler = await flows.register_with_profile(deps, client, workspace, user)
    channel = await flows.open_dm(client, user)
    await flows.serve_next(deps, client, labeler, campaign, channel)
    return channel


def register(app: AsyncApp, deps: SlackDeps) -> None:
    @app.action(action_ids.JOIN)
    async def join(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                   context: AsyncBoltContext) -> None:
        await ack()
        async with reported(body, context):
            await join_campaign(deps, client, context["team_id"], context["user_id"], action["value"])
