"""`crowdrank serve --slack [--port N] [--discord]`: run the Slack bot (HTTP on /slack/events, or Socket Mode when
SLACK_APP_TOKEN is set), the Discord bot (gateway, DISCORD_TOKEN), or both in one process over one database and
one scheduler. `crowdrank serve --reward-model [--model NAME|active]`: the reward model service for RL trainers
(trainer/serving/). This is the one wiring point that knows every adapter; they are imported inside the command."""

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
        port: Annotated[int | None, typer.Option(help="HTTP port (Slack events, interactivity and commands on "
                                                      "/slack/events). Default 3000; 8000 with --reward-model.")]
        = None,
        host: Annotated[str, typer.Option(help="Interface to listen on.")] = "0.0.0.0",
        reward_model: Annotated[bool, typer.Option("--reward-model", help="Serve the reward model to RL trainers "
                                                   "(OpenRLHF's /get_reward, /v1/score).")] = False,
        model: Annotated[str, typer.Option(help="With --reward-model: 'active' (follow the active version as "
                                                "retrains change it), a version name or a model folder.")]
        = "active",
    ) -> None:
        """Run a chat bot until interrupted (Ctrl-C), with the scheduled jobs: each campaign's retrain schedule
        and the expiry of stale card leases."""
        if reward_model:
            _serve_reward_model(host, port or 8000, model)
            return
        if not (slack or discord):
            raise InputError("choose what to serve: --slack, --discord (or both), or --reward-model",
                             field="--slack")
        asyncio.run(_serve(host, port or 3000, slack=slack, discord=discord))


def _serve_reward_model(host: str, port: int, model: str) -> None:
    from bot.settings import get_settings
    from storage.migrate import upgrade
    from trainer.serving.server import build_service, serve

    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)
    serve(build_service(model, home=settings.home, url=settings.resolved_database_url), host, port)


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
