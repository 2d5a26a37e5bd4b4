"""`crowdrank serve --slack [--port N]`: run the Slack bot (HTTP on /slack/events, or Socket Mode when
SLACK_APP_TOKEN is set) with the job runner. The adapter is imported inside the command: `bot/` never imports
slack_bolt at module level.

At start it prints one health line (database, adapters, jobs and their next runs). On SIGTERM or SIGINT it stops
taking requests, lets in-flight clicks finish, records the running job as interrupted, gives the job lease up
and exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Annotated

import typer
from sqlalchemy.engine import make_url
from sqlmodel import col, select

from bot.database import Database
from bot.errors import InputError
from bot.jobs.runner import JobRunner
from storage.models import Job

GRACE_SECONDS = 10.0  # in-flight clicks get this long to finish after the server stops taking requests
log = logging.getLogger("crowdrank.serve")


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        slack: Annotated[bool, typer.Option("--slack", help="Serve the Slack bot.")] = False,
        port: Annotated[int, typer.Option(help="HTTP port (Slack events, interactivity and commands on "
                                               "/slack/events).")] = 3000,
        host: Annotated[str, typer.Option(help="Interface to listen on.")] = "0.0.0.0",
    ) -> None:
        """Run a chat bot until SIGTERM or Ctrl-C, with the jobs (retraining, digests, reminders, lease expiry);
        with several processes on one PostgreSQL database, one of them runs the jobs."""
        if not slack:
            raise InputError("choose a platform to serve, e.g. --slack", field="--slack")
        asyncio.run(_serve_slack(host, port))


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
            f"(schema {revision}); adapters: {adapters}; jobs ({role}): {listed}")


def _on_stop_signals(stopping: asyncio.Event) -> None:
    """SIGTERM/SIGINT set `stopping`. Installed with `signal.signal`, not the loop's handlers: uvicorn swaps in its
    own while it serves and, once it stopped, restores these and re-raises the signal to them."""
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: loop.call_soon_threadsafe(stopping.set))


async def _serve_slack(host: str, port: int) -> None:
    from adapters.slack.announcer import SlackAnnouncer
    from adapters.slack.app import build_app
    from adapters.slack.server import SlackHttpServer, SlackSocketMode
    from bot.jobs import job_kinds
    from bot.jobs.context import JobContext
    from bot.scheduler import Scheduler
    from bot.settings import get_settings

    settings = get_settings()
    database = Database.from_settings(settings)
    await asyncio.to_thread(database.upgrade)
    app, deps = build_app(settings, database)
    runner = JobRunner(JobContext(database, settings.home, {"slack": SlackAnnouncer(app.client)}), job_kinds())
    scheduler = Scheduler(database, runner)
    stopping = asyncio.Event()
    _on_stop_signals(stopping)
    server: SlackSocketMode | SlackHttpServer
    if settings.slack_app_token:
        server, where = SlackSocketMode(app, settings.slack_app_token), "slack (Socket Mode)"
    else:
        server, where = SlackHttpServer(app, host=host, port=port), f"slack (http://{host}:{port}/slack/events)"
    waiting = asyncio.get_running_loop().create_task(stopping.wait())
    try:
        await scheduler.start()
        typer.echo(await health_line(database, where, runner))  # the first line, before any log line
        logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s %(message)s")
        logging.getLogger("crowdrank").setLevel(logging.INFO)
        serving = asyncio.get_running_loop().create_task(server.serve_forever())
        await asyncio.wait({serving, waiting}, return_when=asyncio.FIRST_COMPLETED)
        if not serving.done():
            await server.stop()
        await serving
    finally:
        waiting.cancel()
        await scheduler.stop()
        await _finish_in_flight()
        deps.close()
        await database.dispose()
    log.info("stopped")


async def _finish_in_flight() -> None:
    """Let work the server already accepted (a click stored after its ack, a Slack update) finish."""
    others = asyncio.all_tasks() - {asyncio.current_task()}
    if others:
        _, late = await asyncio.wait(others, timeout=GRACE_SECONDS)
        for task in late:
            task.cancel()
