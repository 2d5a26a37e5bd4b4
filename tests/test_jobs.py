"""The job runner with a clock the test moves: stored schedules, the cron and rankings triggers, a missed
occurrence, restarts, and two runners on one database."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlmodel import col, select

from bot.database import Database
from bot.jobs import job_kinds, lease, runs, schedules
from bot.jobs.context import JobContext
from bot.jobs.runner import JobRunner
from storage.migrate import head_revision
from storage.models import Job, JobRun, utcnow
from tests.job_helpers import Clock, RecordingAnnouncer, at, ranked_campaign, set_campaign
from tests.reward_helpers import add_ranking, seed_campaign

RETRAIN = "retrain:pairs-test"


def recording_runner(database: Database, home: Path, clock: Callable[[], datetime], calls: list[str],
                     name: str = "r1") -> JobRunner:
    """The real runner and jobs, except that retraining only records that it ran."""

    async def retrain(context: JobContext, job: Job) -> str:
        calls.append(job.name)
        return "recorded"

    context = JobContext(database, home, {"slack": RecordingAnnouncer()}, clock=clock)
    return JobRunner(context, {**job_kinds(), "retrain": retrain}, name=name)


async def tick(runner: JobRunner) -> list[JobRun]:
    return list(await asyncio.gather(*await runner.tick()))


async def retrain_runs(database: Database) -> list[JobRun]:
    async with database.session() as session:
        return list((await session.exec(select(JobRun).where(JobRun.job == RETRAIN)
                                        .order_by(col(JobRun.id)))).all())


async def stored(database: Database, name: str) -> Job:
    async with database.session() as session:
        job = await session.get(Job, name)
    assert job is not None
    return job


async def test_the_cron_trigger_fires_at_its_slot_once(db_url: str, tmp_path: Path) -> None:
    ranked_campaign(db_url, retrain_schedule="0 3 * * *")
    database, calls, clock = Database(db_url), [], Clock(at("2026-12-01 02:58"))
    runner = recording_runner(database, tmp_path, clock, calls)
    try:
        await tick(runner)
        assert calls == [] and (await stored(database, RETRAIN)).next_run_at == at("2026-12-01 03:00")
        clock.advance(minutes=1, seconds=59)
        await tick(runner)
        assert calls == []
        clock.advance(seconds=2)
        await tick(runner)
        await tick(runner)
        assert calls == [RETRAIN]
        job = await stored(database, RETRAIN)
        assert job.next_run_at == at("2026-12-02 03:00") and job.last_outcome == "ok"
        [run] = await retrain_runs(database)
        assert run.scheduled_for == at("2026-12-01 03:00") and run.state == "ok" and not run.late
    finally:
        await database.dispose()


async def test_the_rankings_trigger_fires_after_n_new_rankings(db_url: str, tmp_path: Path) -> None:
    seeded = seed_campaign(db_url, items=3)
    set_campaign(db_url, seeded.campaign, status="live", retrain_every=3)
    database, calls = Database(db_url), []
    runner = recording_runner(database, tmp_path, utcnow, calls)  # rankings carry real times
    try:
        add_ranking(db_url, seeded, "a", seeded.items[0], [0, 1, 2, 3])
        add_ranking(db_url, seeded, "b", seeded.items[0], [1, 0, 2, 3])
        await tick(runner)
        assert calls == [] and (await stored(database, RETRAIN)).trigger == "every 3 rankings"
        add_ranking(db_url, seeded, "c", seeded.items[0], [0, 1, 3, 2])
        await tick(runner)
        assert calls == [RETRAIN]
        await tick(runner)  # the three rankings were counted once
        for labeler in "abc":
            add_ranking(db_url, seeded, labeler, seeded.items[1], [0, 1, 2, 3])
        await tick(runner)
        assert calls == [RETRAIN, RETRAIN]
    finally:
        await database.dispose()


async def test_a_missed_occurrence_runs_once_and_a_restart_keeps_the_schedule(db_url: str, tmp_path: Path) -> None:
    ranked_campaign(db_url, retrain_schedule="0 3 * * *")
    calls: list[str] = []
    first = Database(db_url)
    await tick(recording_runner(first, tmp_path, Clock(at("2026-12-01 01:00")), calls, name="before"))
    await first.dispose()  # the bot stops before 03:00 and stays down for three days

    database = Database(db_url)
    clock = Clock(at("2026-12-01 02:00"))
    try:
        await tick(recording_runner(database, tmp_path, clock, calls, name="restarted"))
        assert (await stored(database, RETRAIN)).next_run_at == at("2026-12-01 03:00")  # kept, not recomputed
        clock.now = at("2026-12-04 10:30")
        runner = recording_runner(database, tmp_path, clock, calls, name="after")
        await tick(runner)
        await tick(runner)
        assert calls == [RETRAIN]  # once, not once per missed night
        [run] = await retrain_runs(database)
        assert run.late and run.scheduled_for == at("2026-12-01 03:00")
        assert (await stored(database, RETRAIN)).next_run_at == at("2026-12-05 03:00")
    finally:
        await database.dispose()


async def test_a_changed_or_removed_schedule_follows_the_campaign(db_url: str, tmp_path: Path) -> None:
    ranked_campaign(db_url, retrain_schedule="0 3 * * *")
    database, calls, clock = Database(db_url), [], Clock(at("2026-12-01 01:00"))
    runner = recording_runner(database, tmp_path, clock, calls)
    try:
        await tick(runner)
        set_campaign(db_url, "pairs-test", retrain_schedule="30 1 * * *", retrain_every=50)
        clock.advance(seconds=29)
        await tick(runner)
        assert (await stored(database, RETRAIN)).trigger == "cron 0 3 * * *"  # campaigns are re-read every 30 s
        clock.advance(seconds=1)
        await tick(runner)
        job = await stored(database, RETRAIN)
        assert job.trigger == "cron 30 1 * * * or every 50 rankings" and job.next_run_at == at("2026-12-01 01:30")
        set_campaign(db_url, "pairs-test", status="closed")
        clock.advance(minutes=1)
        await tick(runner)
        async with database.session() as session:
            assert await session.get(Job, RETRAIN) is None
    finally:
        await database.dispose()


async def test_two_runners_on_one_database_never_run_one_occurrence_twice(db_url: str, tmp_path: Path) -> None:
    ranked_campaign(db_url, retrain_schedule="0 3 * * *")
    one, two = Database(db_url), Database(db_url)
    calls: list[str] = []
    clock = Clock(at("2026-12-01 02:00"))
    a = recording_runner(one, tmp_path, clock, calls, name="a")
    b = recording_runner(two, tmp_path, clock, calls, name="b")
    try:
        await tick(a)
        clock.advance(hours=1)
        await asyncio.gather(tick(a), tick(b))
        assert calls == [RETRAIN] and a.holding and not b.holding
        # even past the lease, with both seeing the same due job, the occurrence is claimed once
        job = await stored(one, "expire-leases")
        async with one.session() as s1, two.session() as s2:
            claims = await asyncio.gather(runs.claim(s1, job, job.next_run_at, clock.now, "a"),
                                          runs.claim(s2, job, job.next_run_at, clock.now, "b"))
        assert sum(claim is not None for claim in claims) == 1
    finally:
        await one.dispose()
        await two.dispose()


async def test_the_lease_passes_on_when_its_holder_stops_renewing(db_url: str) -> None:
    database = Database(db_url)
    try:
        async with database.session() as session:
            now = at("2026-12-01 12:00")
            assert await lease.acquire(session, "a", now, 30)
            assert not await lease.acquire(session, "b", now.replace(second=29), 30)
            assert await lease.acquire(session, "a", now.replace(second=20), 30)  # renewed until 12:00:50
            assert not await lease.acquire(session, "b", now.replace(second=49), 30)
            assert await lease.acquire(session, "b", now.replace(second=51), 30)
            assert not await lease.acquire(session, "a", now.replace(second=52), 30)
            await lease.release(session, "b")
            assert await lease.acquire(session, "a", now.replace(second=53), 30)
    finally:
        await database.dispose()


async def test_jobs_sync_lists_every_job(database: Database) -> None:
    async with database.session() as session:
        jobs = await schedules.sync(session, at("2026-12-01 12:07"))
    assert [(job.name, job.next_run_at) for job in jobs] == [
        ("expire-leases", at("2026-12-01 12:08")), ("reminders", at("2026-12-01 12:15"))]


async def test_a_job_that_raises_a_bug_is_recorded_failed_in_one_line(database: Database, tmp_path: Path) -> None:
    async def broken(context: JobContext, job: Job) -> str:
        raise KeyError("region")

    runner = JobRunner(JobContext(database, tmp_path), {**job_kinds(), "reminders": broken})
    run = await runner.run_now("reminders")
    assert (run.state, run.message) == ("failed", "KeyError: 'region'")
    assert (await stored(database, "reminders")).last_outcome == "failed"


async def test_the_health_line_says_which_process_runs_the_jobs(database: Database, tmp_path: Path) -> None:
    from bot.commands.serve import health_line

    clock = Clock(at("2026-12-01 12:00"))
    holder = recording_runner(database, tmp_path, clock, [], name="holder")
    other = recording_runner(database, tmp_path, clock, [], name="other")
    await tick(holder)
    await tick(other)
    line = await health_line(database, "slack (Socket Mode)", other)
    assert line.startswith(f"crowdrank serve: database {database.engine.dialect.name} ")
    assert (f"(schema {head_revision()}; pool of {database.pool_size}); adapters: slack (Socket Mode); "
            "jobs (another process runs them): ") in line
    assert line.endswith("expire-leases next 2026-12-01 12:01Z, reminders next 2026-12-01 12:15Z")
    assert "jobs (this process runs them)" in await health_line(database, "slack", holder)
