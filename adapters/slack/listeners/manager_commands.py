"""Manager subcommands of `/crowdrank`: status (text bars per region), invite, pause, resume, retrain, report.
The caller is checked before any of these run (see `command.py`)."""

from __future__ import annotations

import re
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import flows, jobs
from adapters.slack.blocks.messages import invitation_blocks, status_text
from adapters.slack.deps import SlackDeps
from adapters.slack.mrkdwn import escape
from bot import campaigns
from bot.errors import InputError

CHANNEL = re.compile(r"^<#([CG][A-Z0-9]+)(?:\|[^>]*)?>$|^([CG][A-Z0-9]+)$")


def one_campaign(args: list[str], usage: str) -> str:
    if not args:
        raise InputError(f"usage: /crowdrank {usage}", field="campaign")
    return args[0]


async def status(deps: SlackDeps, client: AsyncWebClient, command: dict[str, Any], args: list[str]) -> str:
    async with deps.database.session() as session:
        if args:
            chosen = [await campaigns.get_campaign(session, args[0])]
        else:
            chosen = [c for c in await campaigns.list_campaigns(session) if c.status != "closed"]
        stats = [await campaigns.campaign_stats(session, c) for c in chosen]
    return "\n\n".join(status_text(s) for s in stats) or "No open campaign."


async def invite(deps: SlackDeps, client: AsyncWebClient, command: dict[str, Any], args: list[str]) -> str:
    name = one_campaign(args, "invite <campaign> [#channel]")
    channel = command["channel_id"]
    if len(args) > 1:
        match = CHANNEL.match(args[1])
        if match is None:
            raise InputError(f"not a channel: {args[1]!r} (pick one with #)", field="channel")
        channel = match.group(1) or match.group(2)
    async with deps.database.session() as session:
        campaign = await campaigns.get_campaign(session, name)
    await flows.post(client, channel, f"Join the ranking campaign {escape(name)}",
                     invitation_blocks(campaign.name, campaign.criterion))
    return f"Invitation to *{escape(name)}* posted in <#{channel}>."


async def change(command_name: str, deps: SlackDeps, args: list[str]) -> str:
    name = one_campaign(args, f"{command_name} <campaign>")
    async with deps.database.session() as session:
        campaign = await campaigns.change_status(session, name, command_name)
    return f"Campaign *{escape(campaign.name)}* is now {campaign.status}."


async def pause(deps: SlackDeps, client: AsyncWebClient, command: dict[str, Any], args: list[str]) -> str:
    return await change("pause", deps, args)


async def resume(deps: SlackDeps, client: AsyncWebClient, command: dict[str, Any], args: list[str]) -> str:
    return await change("resume", deps, args)


async def retrain(deps: SlackDeps, client: AsyncWebClient, command: dict[str, Any], args: list[str]) -> str:
    name = one_campaign(args, "retrain <campaign>")
    async with deps.database.session() as session:
        await campaigns.get_campaign(session, name)
    jobs.start_retrain(deps, client, name, command["channel_id"])
    return f"Retraining the reward model on *{escape(name)}* started; I will post the result here."


async def report(deps: SlackDeps, client: AsyncWebClient, command: dict[str, Any], args: list[str]) -> str:
    name = one_campaign(args, "report <campaign>")
    async with deps.database.session() as session:
        await campaigns.get_campaign(session, name)
    jobs.start_report(deps, client, name, command["channel_id"])
    return f"Building the report for *{escape(name)}*; the files will appear here."


COMMANDS = {"status": status, "invite": invite, "pause": pause, "resume": resume, "retrain": retrain,
            "report": report}
