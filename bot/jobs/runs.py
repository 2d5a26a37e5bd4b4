"""Job runs: claiming an occurrence, recording its outcome, and the runs a dead runner left behind.

Claiming is a compare-and-set on the job row (its `next_run_at` and `last_started_at` as this runner read them)
plus a `jobrun` row unique per (job, occurrence), in one transaction: of two runners that both saw the job due,
exactly one claims it, on SQLite and PostgreSQL alike, whatever the lease says.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.jobs.schedules import next_time, parse_trigger
from bot.unit_of_work import transaction
from storage.models import Job, JobRun

LATE = timedelta(minutes=2)  # a run that starts later than this after its slot fell due while nobody ran jobs
CRASHED = "the runner stopped during the run (its process ended); tried again at the next occurrence"

__all__ = ["claim", "finish", "mark_crashed", "recent_runs"]


async def claim(session: AsyncSession, job: Job, scheduled_for: datetime, now: datetime,
                runner: str) -> JobRun | None:
    """This runner's run of `job`'s occurrence `scheduled_for`, or None when another runner claimed it first."""
    cron, _ = parse_trigger(job.trigger)
    try:
        async with transaction(session):
            moved = await session.exec(update(Job).where(
                Job.name == job.name,
                col(Job.next_run_at).is_not_distinct_from(job.next_run_at),
                col(Job.last_started_at).is_not_distinct_from(job.last_started_at),
            ).values(next_run_at=next_time(cron, now), last_started_at=now))
            if moved.rowcount != 1:
                return None
            run = JobRun(job=job.name, scheduled_for=scheduled_for, started_at=now, runner=runner,
                         late=now - scheduled_for > LATE)
            session.add(run)
        return run
    except IntegrityError:
        return None


async def finish(session: AsyncSession, run: JobRun, state: str, message: str, now: datetime) -> None:
    async with transaction(session):
        await session.exec(update(JobRun).where(JobRun.id == run.id)
                           .values(state=state, message=message, finished_at=now))
        await session.exec(update(Job).where(Job.name == run.job)
                           .values(last_outcome=state, last_message=message, last_finished_at=now))


async def mark_crashed(session: AsyncSession, survivor: str, now: datetime) -> list[str]:
    """Runs another runner left `running` when this one took the lease over: recorded as crashed."""
    async with transaction(session):
        runs = (await session.exec(select(JobRun).where(JobRun.state == "running",
                                                        JobRun.runner != survivor))).all()
        for run in runs:
            run.state, run.message, run.finished_at = "crashed", CRASHED, now
            await session.exec(update(Job).where(Job.name == run.job)
                               .values(last_outcome="crashed", last_message=CRASHED, last_finished_at=now))
        return [run.job for run in runs]


async def recent_runs(session: AsyncSession, job: str | None = None, limit: int = 100) -> list[JobRun]:
    statement = select(JobRun).order_by(col(JobRun.id).desc()).limit(limit)
    if job is not None:
        statement = statement.where(JobRun.job == job)
    async with transaction(session):
        return list((await session.exec(statement)).all())
