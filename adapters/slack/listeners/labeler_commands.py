"""Labeler subcommands of `/crowdrank`: join, rank, forget. Each returns the private reply."""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import flows
from adapters.slack.deps import PLATFORM, SlackDeps
from adapters.slack.listeners.join import join_campaign
from adapters.slack.mrkdwn import escape
from bot import labelers


async def join(deps: SlackDeps, client: AsyncWebClient, command: dict[str, Any], args: list[str]) -> str:
    campaign = await flows.resolve_campaign(deps, " ".join(args) or None)
    await join_campaign(deps, client, command["team_id"], command["user_id"], campaign)
    return f"Welcome! I have sent you a direct message to get started with *{escape(campaign)}*."


async def rank(deps: SlackDeps, client: AsyncWebClient, command: dict[str, Any], args: list[str]) -> str:
    campaign = await flows.resolve_campaign(deps, " ".join(args) or None)
    labeler = await flows.register_with_profile(deps, client, command["team_id"], command["user_id"])
    channel = await flows.open_dm(client, command["user_id"])
    await flows.serve_next(deps, client, labeler, campaign, channel)
    return "Your next card is in your direct messages with me."


async def forget(deps: SlackDeps, client: AsyncWebClient, command: dict[str, Any], args: list[str]) -> str:
    async with deps.database.session() as session:
        labeler = await labelers.forget_labeler(session, PLATFORM, command["team_id"], command["user_id"])
    deps.labelers.pop((command["team_id"], command["user_id"]), None)
    return f"Done: your Slack id and region are removed. Your rankings stay under the pseudonym {labeler.pseudonym}."


COMMANDS = {"join": join, "rank": rank, "forget": forget}
