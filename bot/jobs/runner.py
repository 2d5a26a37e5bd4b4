"""The job runner: each tick it takes (or renews) the lease, syncs the stored schedules with the campaigns and
starts every due job it can claim. Jobs run as tasks on the bot's event loop (their heavy part in the worker
process), so ticking — and renewing the lease — goes on while a training runs.

Only the lease holder starts jobs; claiming an occurrence is itself exactly-once (see `runs.claim`), so even
two holders for a moment (a paused process whose lease ran out) never run one occurrence twice.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.errors import CrowdrankError, NotFound
from bot.jobs import lease, runs, schedules
from bot.jobs.context import JobContext
from storage.models import Job, JobRun

SYNC_EVERY = timedelta(seconds=30)  # how often the holder re-reads the campaigns; other ticks read the job rows
JobFunction = Callable[[JobContext, Job], Awaitable[str]]  # returns the one-line outcome; raises on failure
log = logging.getLogger("crowdrank.jobs")

__all__ = ["JobRunner", "JobFunction", "runner_id"]


def runner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class JobRunner:
    def __init__(self, context: JobContext, kinds: Mapping[str, JobFunction], *, name: str | None = None,
                 lease_seconds: float = lease.LEASE_SECONDS) -> None:
        self.context, self.kinds, self.lease_seconds = context, kinds, lease_seconds
        self.name = name or runner_id()
        self.holding = False
        self._synced_at: datetime | None = None
        self.running: dict[str, asyncio.Task[JobRun]] = {}

    async def tick(self) -> list[asyncio.Task[JobRun]]:
        """One pass; returns the tasks of the jobs it started."""
        now = self.context.clock()
        async with self.context.database.session() as session:
            held = await lease.acquire(session, self.name, now, self.lease_seconds)
            if held and not self.holding:
                for job in await runs.mark_crashed(session, self.name, now):
                    log.warning("job %s was left running by a runner that stopped: recorded as crashed", job)
            self.holding = held
            if not held:
                return []
            started = []
            for job in await self._jobs(session, now):
                if job.name in self.running:
                    continue
                due = await self._due(session, job, now)
                run = due and await runs.claim(session, job, due, now, self.name)
                if run:
                    started.append(self._start(job, run))
        return started

    async def _jobs(self, session: AsyncSession, now: datetime) -> list[Job]:
        """The job rows, synced with the campaigns every `SYNC_EVERY` (a write on SQLite's single writer, so not
        every tick)."""
        if self._synced_at is not None and timedelta(0) <= now - self._synced_at < SYNC_EVERY:
            return await schedules.stored(session)
        self._synced_at = now
        return await schedules.sync(session, now)

    async def _due(self, session: AsyncSession, job: Job, now: datetime) -> datetime | None:
        """The occurrence to run now, if any: a cron slot that has come (or was missed), or now when the
        campaign has the rankings `--retrain-every` asks for."""
        if job.next_run_at is not None and job.next_run_at <= now:
            return job.next_run_at
        _, every = schedules.parse_trigger(job.trigger)
        if every and await schedules.new_rankings(session, job) >= every:
            return now
        return None

    def _start(self, job: Job, run: JobRun) -> asyncio.Task[JobRun]:
        task = asyncio.get_running_loop().create_task(self._run(job, run), name=f"job {job.name}")
        self.running[job.name] = task
        task.add_done_callback(lambda _: self.running.pop(job.name, None))
        return task

    async def _run(self, job: Job, run: JobRun) -> JobRun:
        log.info("job %s started%s", job.name, " (missed while down)" if run.late else "")
        try:
            state, message = "ok", await self.kinds[job.kind](self.context, job)
        except asyncio.CancelledError:
            await self._finish(run, "interrupted", "the bot stopped during the run")
            raise
        except CrowdrankError as error:
            state, message = "failed", str(error)
        except Exception as error:  # a bug: the traceback in the log, the one line in the run
            log.exception("job %s failed", job.name)
            state, message = "failed", f"{type(error).__name__}: {error}"
        await self._finish(run, state, message)
        return run

    async def _finish(self, run: JobRun, state: str, message: str) -> None:
        run.state, run.message = state, message
        async with self.context.database.session() as session:
            await runs.finish(session, run, state, message, self.context.clock())
        log.log(logging.INFO if state == "ok" else logging.WARNING, "job %s %s: %s", run.job, state, message)

    async def run_now(self, name: str) -> JobRun:
        """Run one job now, whatever its schedule (`crowdrank jobs run NAME`), and wait for it."""
        now = self.context.clock()
        async with self.context.database.session() as session:
            jobs = {job.name: job for job in await schedules.sync(session, now)}
            if name not in jobs:
                raise NotFound(f"no job named {name!r} (see `crowdrank jobs list`)")
            run = await runs.claim(session, jobs[name], now, now, self.name)
        if run is None:
            raise CrowdrankError(f"job {name!r} was just started by another runner")
        return await self._start(jobs[name], run)

    async def stop(self) -> None:
        """Interrupt running jobs (their runs are recorded as interrupted) and give the lease up."""
        tasks = list(self.running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.holding:
            async with self.context.database.session() as session:
                await lease.release(session, self.name)
            self.holding = False
