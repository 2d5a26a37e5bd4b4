"""The clock of a serving bot: tick the job runner every `TICK_SECONDS` and checkpoint SQLite's write-ahead log
every `CHECKPOINT_SECONDS` (per process, off the click path; see storage/engine.py).

What runs when lives in the database (`bot.jobs`), not here: this loop only keeps asking. A tick that fails
(the database briefly away) is logged and the next one tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from bot.database import Database
from bot.jobs.runner import JobRunner

TICK_SECONDS = 5.0
CHECKPOINT_SECONDS = 60.0
log = logging.getLogger("crowdrank.scheduler")

__all__ = ["Scheduler", "TICK_SECONDS"]


class Scheduler:
    def __init__(self, database: Database, runner: JobRunner, tick_seconds: float = TICK_SECONDS) -> None:
        self.database, self.runner, self.tick_seconds = database, runner, tick_seconds
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """The first tick now (so the health line can show the jobs), then one every `tick_seconds`."""
        await self._tick()
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="scheduler")

    async def _tick(self) -> None:
        try:
            await self.runner.tick()
        except Exception:  # the next tick retries; a runner that cannot renew its lease loses it
            log.exception("job tick failed")

    async def _loop(self) -> None:
        checkpointed = time.monotonic()
        while True:
            await asyncio.sleep(self.tick_seconds)
            await self._tick()
            if time.monotonic() - checkpointed >= CHECKPOINT_SECONDS:
                await self.database.checkpoint()
                checkpointed = time.monotonic()

    async def stop(self) -> None:
        """Stop ticking, interrupt running jobs with their bookkeeping done, give the lease up."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.runner.stop()
