"""`crowdrank serve --slack [--port N]`: run the Slack bot (HTTP on /slack/events, or Socket Mode when
SLACK_APP_TOKEN is set). The adapter is imported inside the command: `bot/` never imports slack_bolt at module
level."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from bot.errors import InputError


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        slack: Annotated[bool, typer.Option("--slack", help="Serve the Slack bot.")] = False,
        port: Annotated[int, typer.Option(help="HTTP port (Slack events, interactivity and commands on "
                                               "/slack/events).")] = 3000,
        host: Annotated[str, typer.Option(help="Interface to listen on.")] = "0.0.0.0",
    ) -> None:
        """Run a chat bot until interrupted (Ctrl-C), with the scheduled jobs: each campaign's retrain schedule
        and the expiry of stale card leases."""
        if not slack:
            raise InputError("choose a platform to serve, e.g. --slack", field="--slack")
        asyncio.run(_serve_slack(host, port))


async def _serve_slack(host: str, port: int) -> None:
    from adapters.slack.app import build_app
    from adapters.slack.server import SlackHttpServer, SlackSocketMode
    from bot.database import Database
    from bot.scheduler import CampaignScheduler
    from bot.settings import get_settings

    settings = get_settings()
    database = Database.from_settings(settings)
    await asyncio.to_thread(database.upgrade)
    app, bot = build_app(settings, database)

    async def retrain(campaign: str, channel: str | None) -> None:
        """A coroutine function, so APScheduler awaits it on the loop (a lambda returning a coroutine was run in a
        thread and never awaited)."""
        if channel:
            bot.jobs.start_retrain(bot.announcer, channel, campaign)

    scheduler = CampaignScheduler(database, retrain)
    await scheduler.start()
    try:
        if settings.slack_app_token:
            typer.echo("crowdrank: Slack bot in Socket Mode")
            await SlackSocketMode(app, settings.slack_app_token).serve_forever()
        else:
            typer.echo(f"crowdrank: Slack bot on http://{host}:{port}/slack/events")
            await SlackHttpServer(app, host=host, port=port).serve_forever()
    finally:
        scheduler.shutdown()
        bot.close()
        await database.dispose()
