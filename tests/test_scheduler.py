"""The serving loop around the job runner: it ticks, and on stop it records the running job as interrupted and
frees the lease; stale card leases are swept by their job; campaign schedules are validated on create."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from bot.assignment import next_card
from bot.cli import app
from bot.database import Database
from bot.jobs import job_kinds, lease
from bot.jobs.context import JobContext
from bot.jobs.runner import JobRunner
from bot.scheduler import Scheduler
from storage.models import Assignment, Job, JobRun
from tests.engine_helpers import make_campaign, ready_labeler
from tests.job_helpers import Clock, at


async def test_the_scheduler_ticks_and_a_stop_records_the_running_job_and_frees_the_lease(
        database: Database, tmp_path: Path) -> None:
    await make_campaign(database, "a")
    started = asyncio.Event()

    async def slow(context: JobContext, job: Job) -> str:
        started.set()
        await asyncio.sleep(3600)
        return "never"

    context = JobContext(database, tmp_path, clock=Clock(at("2026-12-01 12:00")))
    runner = JobRunner(context, {**job_kinds(), "expire-leases": slow}, name="serving")
    scheduler = Scheduler(database, runner, tick_seconds=0.05)
    await scheduler.start()
    context.clock.advance(minutes=1)  # type: ignore[attr-defined]
    await asyncio.wait_for(started.wait(), 10)
    await scheduler.stop()
    async with database.session() as session:
        async with session.begin():
            [run] = (await session.exec(select(JobRun).where(JobRun.job == "expire-leases"))).all()
            job = await session.get(Job, "expire-leases")
        held = await lease.holder_of(session)
    assert run.state == "interrupted" and run.finished_at is not None and job.last_outcome == "interrupted"
    assert held is not None and held.expires_at < context.clock()  # free for another process at once


async def test_stale_leases_are_swept_by_their_job(database: Database, tmp_path: Path) -> None:
    await make_campaign(database, "a", lease_minutes=1)
    labeler = await ready_labeler(database, "a")
    async with database.session() as session:
        card = await next_card(session, labeler, "a", now=datetime.now(UTC) - timedelta(minutes=5))
    assert card is not None
    runner = JobRunner(JobContext(database, tmp_path), job_kinds())
    run = await runner.run_now("expire-leases")
    async with database.session() as session:
        assignment = await session.get(Assignment, card.assignment_id)
    assert assignment.state == "expired" and run.message == "1 stale leases expired"


@pytest.mark.parametrize("cron", ["every night", "61 * * * *"])
def test_a_bad_retrain_schedule_is_refused_in_one_line(home: Path, tmp_path: Path, cron: str) -> None:
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"prompt": "a"}\n')
    result = CliRunner().invoke(app, ["campaign", "create", "c", "--prompts", str(prompts), "--criterion", "h",
                                      "--retrain", cron])
    assert result.exit_code == 2
    assert "field 'retrain': retrain schedule" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_rerun_create_sets_the_schedule_and_channel(home: Path, tmp_path: Path) -> None:
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"prompt": "a"}\n')
    runner = CliRunner()
    args = ["campaign", "create", "c", "--prompts", str(prompts), "--criterion", "h"]
    assert runner.invoke(app, args).exit_code == 0
    again = runner.invoke(app, [*args, "--retrain", "0 4 * * *", "--announce", "C9"])
    assert again.exit_code == 0, again.output
    assert "retrain schedule set to '0 4 * * *'" in again.stdout
    shown = runner.invoke(app, ["campaign", "show", "c", "--json"]).stdout
    assert '"retrain_schedule": "0 4 * * *"' in shown and '"announcement_channel": "C9"' in shown


@pytest.mark.parametrize(("option", "value", "field"), [
    ("--retrain-every", "0", "retrain-every"), ("--remind-after", "-1", "remind-after"),
    ("--quiet-hours", "22-25", "quiet-hours"), ("--quiet-hours", "night", "quiet-hours"),
    ("--quiet-timezone", "Mars/Olympus", "quiet-timezone")])
def test_bad_job_settings_are_refused_in_one_line(home: Path, tmp_path: Path, option: str, value: str,
                                                  field: str) -> None:
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"prompt": "a"}\n')
    result = CliRunner().invoke(app, ["campaign", "create", "c", "--prompts", str(prompts), "--criterion", "h",
                                      option, value])
    assert result.exit_code == 2
    assert f"field '{field}'" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_job_settings_are_stored_and_shown(home: Path, tmp_path: Path) -> None:
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"prompt": "a"}\n')
    args = ["campaign", "create", "c", "--prompts", str(prompts), "--criterion", "h"]
    assert CliRunner().invoke(app, [*args, "--retrain-every", "40", "--remind-after", "48"]).exit_code == 0
    again = CliRunner().invoke(app, [*args, "--quiet-hours", "21-7", "--quiet-timezone", "Asia/Tokyo"])
    assert again.exit_code == 0 and "quiet hours set to '21-7'" in again.stdout
    shown = json.loads(CliRunner().invoke(app, ["campaign", "show", "c", "--json"]).stdout)
    assert (shown["retrain_every"], shown["remind_after_hours"], shown["quiet_hours"]) == (40, 48,
                                                                                          "21-7 Asia/Tokyo")
