"""Long jobs a manager starts from chat (`retrain`, `report`): the same jobs the scheduler runs (`bot.jobs`), in
the worker process, announced through the platform's `Announcer` in the channel the command came from. The
command is answered at once; the outcome, or its one-line reason, follows in the channel."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

from bot.chat.catalog import _
from bot.chat.views import Notice
from bot.errors import CrowdrankError
from bot.jobs.context import JobContext
from bot.jobs.report import post_report
from bot.jobs.retrain import retrain_campaign

__all__ = ["LongJobs"]

log = logging.getLogger("crowdrank.jobs")


class LongJobs:
    def __init__(self, context: JobContext) -> None:
        self.context = context
        self._tasks: set[asyncio.Task[None]] = set()

    def start_retrain(self, channel: str, campaign: str) -> None:
        """`channel` as `platform:id`, so the outcome goes back to the platform the command came from."""
        self._spawn(channel, campaign, retrain_campaign(self.context, campaign, channel))

    def start_report(self, channel: str, campaign: str) -> None:
        self._spawn(channel, campaign, post_report(self.context, campaign, channel))

    def _spawn(self, channel: str, campaign: str, work: Awaitable[object]) -> None:
        async def guarded() -> None:
            try:
                await work
            except CrowdrankError:
                pass  # already announced by the job, with its one-line reason
            except Exception as error:  # a bug: logged whole, reported in one line
                log.exception("a job for %s failed", campaign)
                await self.context.announce(channel, Notice(_("The job for **{campaign}** failed: {reason}",
                                                              campaign=campaign, reason=str(error)), kind="failure"))

        task = asyncio.get_running_loop().create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Stop: a job still running is abandoned (its worker process is killed)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
