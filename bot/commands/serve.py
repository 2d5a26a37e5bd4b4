"""`crowdrank serve --slack [--port N] [--discord]`: run the Slack bot (HTTP on /slack/events, or Socket Mode when
SLACK_APP_TOKEN is set), the Discord bot (gateway, DISCORD_TOKEN), or both in one process over one database and
one scheduler. This is the one wiring point that knows the adapters; each is imported inside the command, and
`bot/` itself never imports slack_bolt or discord."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated

import typer

from bot.errors import InputError

if TYPE_CHECKING:
    from bot.chat.announcer import Announcer
    from bot.chat.long_jobs import LongJobs
    from bot.database import Database
    from bot.settings import Settings


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        slack: Annotated[bool, typer.Option("--slack", help="Serve the Slack bot.")] = False,
        discord: Annotated[bool, typer.Option("--discord", help="Serve the Discord bot (DISCORD_TOKEN).")] = False,
        port: Annotated[int, typer.Option(help="HTTP port (Slack events, interactivity and commands on "
                                               "/slack/events).")] = 3000,
        host: Annotated[str, typer.Option(help="Interface to listen on.")] = "0.0.0.0",
    ) -> None:
        """Run a chat bot until interrupted (Ctrl-C), with the scheduled jobs: each campaign's retrain schedule
        and the expiry of stale card leases."""
        if not (slack or discord):
            raise InputError("choose a platform to serve: --slack, --discord or both", field="--slack")
        asyncio.run(_serve(host, port, slack=slack, discord=discord))


async def _serve(host: str, port: int, *, slack: bool, discord: bool) -> None:
    from bot.chat.announcer import split_channel
    from bot.chat.long_jobs import LongJobs
    from bot.database import Database
    from bot.scheduler import CampaignScheduler
    from bot.settings import get_settings

    settings = get_settings()
    database = Database.from_settings(settings)
    await asyncio.to_thread(database.upgrade)
    jobs = LongJobs(database.url, settings.home)  # one worker process, whichever platform asks
    announcers: dict[str, Announcer] = {}
    platforms = []
    if slack:
        platforms.append(_slack(settings, database, jobs, host, port, announcers))
    if discord:
        from adapters.discord.serve import build_client, run_client

        client = build_client(settings, database, jobs)
        announcers["discord"] = client.announcer
        typer.echo("crowdrank: Discord bot connecting to the gateway")
        platforms.append(run_client(client, settings.discord_token or ""))

    async def retrain(campaign: str, channel: str | None) -> None:
        """A coroutine function, so APScheduler awaits it on the loop (a lambda returning a coroutine was run in a
        thread and never awaited). `slack:C0123` / `discord:9876` picks the platform; a bare id the first one."""
        if channel:
            platform, where = split_channel(channel)
            announcer = announcers.get(platform) if platform else next(iter(announcers.values()), None)
            if announcer is not None:
                jobs.start_retrain(announcer, where, campaign)

    scheduler = CampaignScheduler(database, retrain)
    await scheduler.start()
    try:
        await asyncio.gather(*platforms)
    finally:
        scheduler.shutdown()
        jobs.close()
        await database.dispose()


async def _slack(settings: Settings, database: Database, jobs: LongJobs, host: str, port: int,
                 announcers: dict[str, Announcer]) -> None:
    from adapters.slack.app import build_app
    from adapters.slack.server import SlackHttpServer, SlackSocketMode

    app, bot = build_app(settings, database, jobs)
    announcers["slack"] = bot.announcer
    if settings.slack_app_token:
        typer.echo("crowdrank: Slack bot in Socket Mode")
        await SlackSocketMode(app, settings.slack_app_token).serve_forever()
    else:
        typer.echo(f"crowdrank: Slack bot on http://{host}:{port}/slack/events")
        await SlackHttpServer(app, host=host, port=port).serve_forever()
