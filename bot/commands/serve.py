"""`crowdrank serve --slack [--port N]`: run the Slack bot (HTTP on /slack/events, or Socket Mode when
SLACK_APP_TOKEN is set). `crowdrank serve --reward-model [--model NAME|active]`: the reward model service for RL
trainers (trainer/serving/). The adapter is imported inside the command: `bot/` never imports slack_bolt at module
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
        if not slack:
            raise InputError("choose a platform to serve, e.g. --slack", field="--slack")
        asyncio.run(_serve_slack(host, port or 3000))


def _serve_reward_model(host: str, port: int, model: str) -> None:
    from bot.settings import get_settings
    from storage.migrate import upgrade
    from trainer.serving.server import build_service, serve

    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)
    serve(build_service(model, home=settings.home, url=settings.resolved_database_url), host, port)


async def _serve_slack(host: str, port: int) -> None:
    from adapters.slack.app import build_app
    from adapters.slack.jobs import scheduled_retrain
    from adapters.slack.server import SlackHttpServer, SlackSocketMode
    from bot.database import Database
    from bot.scheduler import CampaignScheduler
    from bot.settings import get_settings

    settings = get_settings()
    database = Database.from_settings(settings)
    await asyncio.to_thread(database.upgrade)
    app, deps = build_app(settings, database)
    scheduler = CampaignScheduler(database, lambda campaign, channel: scheduled_retrain(deps, app.client, campaign,
                                                                                       channel))
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
        deps.close()
        await database.dispose()
