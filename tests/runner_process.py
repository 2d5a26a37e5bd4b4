"""One job runner in a process of its own, for the tests that kill one: the real runner, jobs and tick loop, on a
clock that runs `speed` times faster than the wall clock from a shared origin (so two processes agree on it).

    python -m tests.runner_process URL NAME ORIGIN_EPOCH ORIGIN_ISO SPEED HOME
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from bot.database import Database
from bot.jobs import job_kinds
from bot.jobs.context import JobContext
from bot.jobs.runner import JobRunner
from bot.scheduler import Scheduler

TICK = 5.0  # seconds on the runner's clock
LEASE = 30.0


def fast_clock(origin: float, start: datetime, speed: float):  # type: ignore[no-untyped-def]
    return lambda: start + timedelta(seconds=(time.time() - origin) * speed)


async def main(url: str, name: str, origin: float, start: datetime, speed: float, home: Path) -> None:
    database = Database(url)
    context = JobContext(database, home, {}, clock=fast_clock(origin, start, speed))
    scheduler = Scheduler(database, JobRunner(context, job_kinds(), name=name, lease_seconds=LEASE),
                          tick_seconds=TICK / speed)
    await scheduler.start()
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    url, name, origin, start, speed, home = sys.argv[1:7]
    asyncio.run(main(url, name, float(origin), datetime.fromisoformat(start), float(speed), Path(home)))
