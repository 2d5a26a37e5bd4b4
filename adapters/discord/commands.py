"""`/crowdrank`, one slash-command group: each subcommand passes its words to the conversation, which decides who
may run it and what it does; campaign options autocomplete from the chat layer's suggestions.

Discord applies `default_member_permissions` to a whole top-level command, never to one subcommand, so the group
stays visible to everyone (labelers need `join` and `rank`); the manager subcommands are refused by the
conversation (manager role or Manage Server), and a server admin can narrow the group under Server Settings →
Integrations.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import discord
from discord import app_commands

from bot.chat.suggest import campaign_names

__all__ = ["crowdrank_group"]

Run = Callable[[discord.Interaction, list[str]], Awaitable[None]]

LABELER = {"join": "Join a ranking campaign (onboarding in a direct message)",
           "rank": "Your next card, in a direct message"}
MANAGER = {"status": "Managers: progress of a campaign (or all open ones)",
           "pause": "Managers: pause a campaign", "resume": "Managers: resume a paused campaign",
           "retrain": "Managers: retrain the reward model on a campaign's rankings",
           "report": "Managers: the agreement report, with its files",
           "guidelines": "Managers: show a campaign's guidelines"}
CAMPAIGN = "The campaign (leave empty when only one is live)"


def crowdrank_group(run: Run, database: Any) -> app_commands.Group:
    group = app_commands.Group(name="crowdrank", description="Rank model answers for RLHF campaigns")

    async def complete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=name[:100], value=name[:100])
                for name in await campaign_names(database, current)]

    def with_campaign(verb: str, description: str, required: bool) -> None:
        if required:
            async def callback(interaction: discord.Interaction, campaign: str) -> None:
                await run(interaction, [verb, campaign])
        else:
            async def callback(interaction: discord.Interaction,  # type: ignore[misc]  # redefined per branch
                               campaign: str | None = None) -> None:
                await run(interaction, [verb, *([campaign] if campaign else [])])
        callback = app_commands.autocomplete(campaign=complete)(app_commands.describe(campaign=CAMPAIGN)(callback))
        group.add_command(app_commands.Command(name=verb, description=description, callback=callback))

    for verb, description in {**LABELER, **MANAGER}.items():
        with_campaign(verb, description, required=verb not in ("join", "rank", "status"))

    @group.command(name="invite", description="Managers: post a Join invitation for a campaign")
    @app_commands.describe(campaign="The campaign to invite to", channel="Where to post it (default: here)")
    @app_commands.autocomplete(campaign=complete)
    async def invite(interaction: discord.Interaction, campaign: str,
                     channel: discord.TextChannel | None = None) -> None:
        await run(interaction, ["invite", campaign, *([str(channel.id)] if channel else [])])

    @group.command(name="forget", description="Remove your Discord id and region (your rankings stay, pseudonymous)")
    async def forget(interaction: discord.Interaction) -> None:
        await run(interaction, ["forget"])

    @group.command(name="help", description="What crowdrank does and its commands")
    async def help_(interaction: discord.Interaction) -> None:
        await run(interaction, ["help"])

    return group
