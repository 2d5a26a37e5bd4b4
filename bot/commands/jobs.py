"""`crowdrank jobs list [--json]` and `crowdrank jobs run NAME`: the stored schedules, and one job run now."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from bot.database import Database, run
from bot.settings import get_settings
from storage.models import Job, utcnow


def describe(job: Job) -> dict[str, Any]:
    def when(moment: Any) -> str | None:
        return moment.isoformat(timespec="seconds") if moment else None

    return {"name": job.name, "kind": job.kind, "trigger": job.trigger, "next_run": when(job.next_run_at),
            "last_started": when(job.last_started_at), "last_outcome": job.last_outcome,
            "last_message": job.last_message}


def register(app: typer.Typer) -> None:
    from bot.cli import new_app

    group = new_app("Scheduled jobs: retraining, digests, reminders, lease expiry.")
    app.add_typer(group, name="jobs")

    @group.command("list")
    def list_(as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False) -> None:
        """Every job with its trigger, next run and last outcome."""
        from bot.jobs import schedules

        async def work(database: Database) -> list[dict[str, Any]]:
            async with database.session() as session:
                return [describe(job) for job in await schedules.sync(session, utcnow())]

        rows = run(work)
        if as_json:
            typer.echo(json.dumps(rows))
            return
        for row in rows:
            last = f"{row['last_outcome']}: {row['last_message']}" if row["last_outcome"] else "never ran"
            typer.echo(f"{row['name']:<32} {row['trigger']:<36} next {row['next_run'] or '-':<25} last {last}")

    @group.command("run")
    def run_(name: Annotated[str, typer.Argument(help="Job name, as `crowdrank jobs list` shows it.")]) -> None:
        """Run one job now, in this process, and print its outcome (exit 1 when it failed)."""
        from bot.jobs import job_kinds
        from bot.jobs.context import JobContext
        from bot.jobs.runner import JobRunner

        settings = get_settings()

        async def work(database: Database) -> tuple[str, str]:
            from bot.commands.serve import command_line_announcers

            context = JobContext(database, settings.home, command_line_announcers(settings))
            done = await JobRunner(context, job_kinds(), name="cli").run_now(name)
            return done.state, done.message or ""

        state, message = run(work, settings)
        typer.echo(f"{name}: {state}: {message}")
        if state != "ok":
            raise typer.Exit(1)
