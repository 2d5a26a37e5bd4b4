"""The one wiring point of the Discord adapter: settings → discord.py endpoints → client → conversation.
`crowdrank serve --discord` calls `build_client` and awaits `client.start(token)`."""

from __future__ import annotations

import re

import discord
import typer

from adapters.discord.client import PLATFORM, CrowdrankClient
from adapters.discord.endpoints import point_at
from adapters.discord.limits import CARD_TEXT, CARD_TEXTS
from adapters.discord.markdown import escaped_length
from bot.chat.conversation import Conversation
from bot.chat.long_jobs import LongJobs
from bot.chat.people import Managers
from bot.chat.views import Limits
from bot.database import Database
from bot.errors import InputError
from bot.settings import Settings

__all__ = ["build_client", "run_client", "channel_of", "LIMITS"]

LIMITS = Limits(CARD_TEXT, escaped_length, total=CARD_TEXTS)
CHANNEL = re.compile(r"^<#(\d{15,20})>$|^(\d{15,20})$")


def channel_of(word: str) -> str | None:
    """A channel as Discord writes it (`<#123…>`) or its id; None for anything else."""
    match = CHANNEL.match(word)
    return (match.group(1) or match.group(2)) if match else None


def build_client(settings: Settings, database: Database, jobs: LongJobs) -> CrowdrankClient:
    """A client ready to `start(settings.discord_token)`, answering through one conversation service."""
    if not settings.discord_token:
        raise InputError("DISCORD_TOKEN is not set (see README: Discord)")
    point_at(settings.discord_api_base, settings.discord_gateway_url)
    client = CrowdrankClient(database)
    client.conversation = Conversation(database, platform=PLATFORM, limits=LIMITS,
                                       managers=Managers(role=settings.discord_manager_role or None), jobs=jobs,
                                       announcer=client.announcer, channel_of=channel_of)
    return client


async def run_client(client: CrowdrankClient, token: str) -> None:
    """Connect to the gateway and serve until stopped (discord.py reconnects and resumes by itself)."""
    discord.utils.setup_logging()
    typer.echo("crowdrank: Discord bot connecting to the gateway")
    try:
        await client.start(token)
    finally:
        await client.close()
