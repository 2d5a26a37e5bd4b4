"""`crowdrank serve --slack [--port N] [--discord]`: run the Slack bot (HTTP on /slack/events, or Socket Mode when
SLACK_APP_TOKEN is set), the Discord bot (gateway, DISCORD_TOKEN), or both in one process over one database and
one job runner. `crowdrank serve --reward-model [--model NAME|active]`: the reward model service for RL trainers
(trainer/serving/).

This is the one wiring point that knows every adapter; they are imported inside the command. At start it prints one
health line (database, adapters, jobs and their next runs). On SIGTERM or SIGINT it stops taking requests, lets
in-flight clicks finish, records the running job as interrupted, gives the job lease up and exits 0.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Annotated, Any

import typer
from sqlalchemy.engine import make_url
from sqlmodel import col, select

from bot import event_loop
from bot.database import Database, serving_database
from bot.errors import InputError
from bot.jobs.runner import JobRunner
from storage.models import Job

if TYPE_CHECKING:
    from bot.chat.announcer import Announcer
    from bot.chat.conversation import Conversation
    from bot.chat.long_jobs import LongJobs
    from bot.chat.warm import Renderer
    from bot.settings import Settings

GRACE_SECONDS = 10.0  # in-flight clicks get this long to finish after the server stops taking requests
log = logging.getLogger("crowdrank.serve")
Serve = Callable[[], Coroutine[Any, Any, None]]
Platform = tuple[str, Serve, Serve, "Conversation", "Renderer"]  # (where, serve until stopped, stop, its
# conversation and card renderer, warmed at start)


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
        """Run the chat bots until SIGTERM or Ctrl-C, with the jobs (retraining, digests, reminders, lease
        expiry); with several processes on one PostgreSQL database, one of them runs the jobs. Or, with
        --reward-model, the reward model service."""
        if reward_model:
            _serve_reward_model(host, port or 8000, model)
            return
        if not (slack or discord):
            raise InputError("choose what to serve: --slack, --discord (or both), or --reward-model",
                             field="--slack")
        event_loop.run(_serve(host, port or 3000, slack=slack, discord=discord))


def command_line_announcers(settings: Settings) -> dict[str, Announcer]:
    """The platforms a job run from the command line can post to (`crowdrank jobs run`): Slack when its token is
    set. (A Discord announcer needs a gateway connection, which only `serve` keeps.)"""
    if not settings.slack_bot_token:
        return {}
    from adapters.slack.app import standalone_announcer

    return {"slack": standalone_announcer(settings)}


def _serve_reward_model(host: str, port: int, model: str) -> None:
    from bot.settings import get_settings
    from storage.migrate import upgrade
    from trainer.serving.server import build_service, serve

    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)
    serve(build_service(model, home=settings.home, url=settings.resolved_database_url), host, port)


async def health_line(database: Database, adapters: str, runner: JobRunner) -> str:
    """One line a person or a probe reads at start: database, adapters, jobs and their next runs."""
    from storage.migrate import current_revision

    url = make_url(database.url)
    revision = await asyncio.to_thread(current_revision, database.url)
    async with database.session() as session:
        jobs = (await session.exec(select(Job).order_by(col(Job.name)))).all()
    listed = ", ".join(f"{job.name} next {job.next_run_at:%Y-%m-%d %H:%M}Z" if job.next_run_at
                       else f"{job.name} on {job.trigger}" for job in jobs) or "none"
    role = "this process runs them" if runner.holding else "another process runs them"
    return (f"crowdrank serve: database {url.get_backend_name()} {url.render_as_string(hide_password=True)} "
            f"(schema {revision}; pool of {database.pool_size}); adapters: {adapters}; jobs ({role}): {listed}")


def _on_stop_signals(stopping: asyncio.Event) -> None:
    """SIGTERM/SIGINT set `stopping`. Installed with `signal.signal`, not the loop's handlers: uvicorn swaps in its
    own while it serves and, once it stopped, restores these and re-raises the signal to them."""
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: loop.call_soon_threadsafe(stopping.set))


def _freeze_heap() -> None:
    """What is loaded by now (libraries, compiled queries, the catalog) lives as long as the process: moved out of
    the garbage collector's sight, so a full collection scans only what requests allocate. It scanned ~150,000
    objects in 40-65 ms, a pause every click in flight then waits for."""
    gc.collect()
    gc.freeze()


async def _serve(host: str, port: int, *, slack: bool, discord: bool) -> None:
    from bot.chat.long_jobs import LongJobs
    from bot.chat.warm import warm
    from bot.jobs import job_kinds
    from bot.jobs.context import JobContext
    from bot.scheduler import Scheduler
    from bot.settings import get_settings

    settings = get_settings()
    database = await serving_database(settings)
    await asyncio.to_thread(database.upgrade)
    context = JobContext(database, settings.home)  # each adapter adds its announcer
    jobs = LongJobs(context)
    platforms: list[Platform] = []
    closing: list[Serve] = []  # what a platform closes once in-flight work is done (its HTTP sessions)
    if slack:
        platforms.append(_slack(settings, database, jobs, host, port, closing))
    if discord:
        from adapters.discord.render import draw
        from adapters.discord.serve import build_client, run_client

        client = build_client(settings, database, jobs)
        assert client.conversation is not None  # build_client sets it
        platforms.append(("discord (gateway)", lambda: run_client(client, settings.discord_token or ""),
                          client.close, client.conversation, draw))
    runner = JobRunner(context, job_kinds())
    scheduler = Scheduler(database, runner)
    stopping = asyncio.Event()
    _on_stop_signals(stopping)
    waiting = asyncio.get_running_loop().create_task(stopping.wait())
    try:
        await warm(database, [(conversation, render) for _, _, _, conversation, render in platforms])
        _freeze_heap()
        await scheduler.start()
        typer.echo(await health_line(database, ", ".join(where for where, *_ in platforms), runner))
        logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s %(message)s")
        logging.getLogger("crowdrank").setLevel(logging.INFO)
        serving = [asyncio.get_running_loop().create_task(serve()) for _, serve, *_ in platforms]
        await asyncio.wait({*serving, waiting}, return_when=asyncio.FIRST_COMPLETED)
        for (_, _, stop, *_), task in zip(platforms, serving, strict=True):
            if not task.done():
                await stop()
        for task in serving:
            await task  # a platform that failed says why
    finally:
        waiting.cancel()
        await scheduler.stop()
        await _finish_in_flight()
        for close in closing:
            await close()
        await jobs.close()
        await database.dispose()
    log.info("stopped")


def _slack(settings: Settings, database: Database, jobs: LongJobs, host: str, port: int,
           closing: list[Serve]) -> Platform:
    from adapters.slack.app import build_app
    from adapters.slack.blocks import card_blocks
    from adapters.slack.server import SlackHttpServer, SlackSocketMode

    app, bot = build_app(settings, database, jobs)
    closing.append(bot.close)
    server: SlackSocketMode | SlackHttpServer
    if settings.slack_app_token:
        server, where = SlackSocketMode(app, settings.slack_app_token), "slack (Socket Mode)"
    else:
        server, where = (SlackHttpServer(app, settings.slack_signing_secret or "", host=host, port=port),
                         f"slack (http://{host}:{port}/slack/events)")
    return where, server.serve_forever, server.stop, bot.conversation, card_blocks


async def _finish_in_flight() -> None:
    """Let work the server already accepted (a click stored after its ack, a Slack update) finish."""
    others = asyncio.all_tasks() - {asyncio.current_task()}
    if others:
        _, late = await asyncio.wait(others, timeout=GRACE_SECONDS)
        for task in late:
            task.cancel()
