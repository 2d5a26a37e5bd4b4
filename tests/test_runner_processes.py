"""Two runner processes on one PostgreSQL database: each occurrence runs once, by the lease holder, and after
`kill -9` of the holder the other takes over within a minute (on a clock running 30 times faster than the wall
clock, shared by both processes and the test)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlmodel import col, select

from bot.database import Database
from bot.jobs import lease
from storage.models import JobRun
from tests.job_helpers import at
from tests.runner_process import fast_clock

ROOT = Path(__file__).resolve().parents[1]
SPEED = 30.0
START = at("2026-12-01 12:00")


async def runs_of(database: Database) -> list[JobRun]:
    """The finished runs: the newest may still be running when it is read, and is not a failure."""
    async with database.session() as session:
        return list((await session.exec(select(JobRun).where(JobRun.job == "expire-leases", JobRun.state != "running")
                                        .order_by(col(JobRun.scheduled_for)))).all())


async def until(condition, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not (found := await condition()):
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)
    return found


async def test_one_runner_runs_each_occurrence_and_the_survivor_takes_over_after_kill_9(pg_url: str,
                                                                                        tmp_path: Path) -> None:
    origin = time.time()
    clock = fast_clock(origin, START, SPEED)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    async def spawn(name: str) -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.runner_process", pg_url, name, str(origin), START.isoformat(), str(SPEED),
            str(tmp_path), env=env, cwd=ROOT, stdout=asyncio.subprocess.PIPE)
        assert process.stdout is not None
        assert (await asyncio.wait_for(process.stdout.readline(), 60)).strip() == b"ready"
        return process

    database = Database(pg_url)
    a = await spawn("a")
    b = await spawn("b")
    try:
        await until(lambda: _count(database, 3))  # three minutes of the fast clock, all run by one process
        before = await runs_of(database)
        assert {run.runner for run in before} == {"a"}
        a.send_signal(signal.SIGKILL)
        await a.wait()
        killed_at = clock()
        await until(lambda: _holder_is(database, "b"))
        assert clock() - killed_at <= timedelta(minutes=1)
        await until(lambda: _count(database, len(before) + 2))
        everything = await runs_of(database)
        slots = [run.scheduled_for for run in everything]
        assert len(slots) == len(set(slots))  # no occurrence twice
        gaps = [later - earlier for earlier, later in zip(slots, slots[1:], strict=False)]
        assert set(gaps) == {timedelta(minutes=1)}  # none lost
        assert {run.runner for run in everything if run.started_at > killed_at} == {"b"} and b.returncode is None
        assert all(run.state == "ok" for run in everything if run.runner == "b")
    finally:
        for process in (a, b):
            if process.returncode is None:
                process.kill()
                await process.wait()
        await database.dispose()


async def _count(database: Database, n: int) -> bool:
    return len(await runs_of(database)) >= n


async def _holder_is(database: Database, runner: str) -> bool:
    async with database.session() as session:
        current = await lease.holder_of(session)
    return current is not None and current.holder == runner
