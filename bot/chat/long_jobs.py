"""Long jobs a manager starts from chat: reward-model retraining and the campaign report.

The heavy part runs in a worker process, never on the event loop that answers clicks; the outcome (or its
one-line error) is posted through the platform's `Announcer` to the channel the command came from.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.chat.announcer import Announcer
from bot.chat.catalog import _, error_text
from bot.chat.views import Notice
from bot.database import Database
from bot.errors import CrowdrankError

__all__ = ["LongJobs", "retrain_in_worker", "report_in_worker", "retrain_notice"]

log = logging.getLogger("crowdrank.jobs")


def retrain_in_worker(url: str, home: str, campaign: str) -> dict[str, Any]:
    """Runs in the worker process: train on the campaign's pairs and register a reward-model version."""
    from trainer.retrain import train_reward_model  # torch is imported in the worker only

    version = train_reward_model(url, home, campaign=campaign, progress=False)
    assert version is not None  # one process: it is the main one, which registers the version
    return {"name": version.name, "active": version.active, "accepted": version.accepted,
            "metrics": version.metrics, "note": version.note}


def report_in_worker(url: str, home: str, campaign: str) -> list[str]:
    """Runs in the worker process: the consensus report (`crowdrank report`) into a fresh folder under home."""
    from bot.consensus.report import REPORT_FILES, write_report

    safe = "".join(char if char.isalnum() or char in "-_" else "_" for char in campaign)
    out = Path(home) / "reports" / f"{safe}-{datetime.now(UTC):%Y%m%dT%H%M%S}"

    async def work() -> None:
        database = Database(url)
        try:
            await write_report(database, campaign, out, home=Path(home))
        finally:
            await database.dispose()

    asyncio.run(work())
    return [str(out / name) for name in REPORT_FILES]


def retrain_notice(campaign: str, result: dict[str, Any]) -> Notice:
    metrics = result["metrics"]
    state = _("now active") if result["active"] else _("kept inactive")
    return Notice(_("Reward model **{name}** trained on **{campaign}**: validation accuracy {accuracy} ± {interval} "
                    "on {pairs} pairs; {state}. {note}", name=result["name"], campaign=campaign,
                    accuracy=f"{metrics['val_accuracy']:.3f}", interval=f"{metrics['val_interval95']:.3f}",
                    pairs=metrics["val_pairs"], state=state.plain(), note=result["note"] or ""))


class LongJobs:
    """Starts jobs in one worker process (spawned, not forked: the bot has an event loop and database threads)."""

    def __init__(self, url: str, home: Path) -> None:
        self.url, self.home = url, home
        self._worker: ProcessPoolExecutor | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def worker(self) -> ProcessPoolExecutor:
        if self._worker is None:
            self._worker = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        return self._worker

    async def run(self, function: Callable[..., Any], campaign: str) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.worker, function, self.url, str(self.home), campaign)

    def start_retrain(self, announcer: Announcer, channel: str, campaign: str) -> None:
        async def work() -> None:
            result = await self.run(retrain_in_worker, campaign)
            await announcer.announce(channel, retrain_notice(campaign, result))

        self._spawn(announcer, channel, _("retraining on {campaign}", campaign=campaign).plain(), work)

    def start_report(self, announcer: Announcer, channel: str, campaign: str) -> None:
        async def work() -> None:
            paths = await self.run(report_in_worker, campaign)
            await announcer.announce(channel, Notice(_("Agreement report for **{campaign}**", campaign=campaign)),
                                     files=tuple(Path(path) for path in paths))

        self._spawn(announcer, channel, _("the report for {campaign}", campaign=campaign).plain(), work)

    def _spawn(self, announcer: Announcer, channel: str, what: str, work: Callable[[], Awaitable[None]]) -> None:
        async def guarded() -> None:
            try:
                await work()
            except CrowdrankError as error:
                await announcer.announce(channel, Notice(_("{what} failed: {error}", what=what,
                                                           error=error_text(error).plain()), kind="refusal"))
            except Exception as error:  # a bug: logged whole, reported in one line
                log.exception("%s failed", what)
                await announcer.announce(channel, Notice(_("{what} failed: {error}", what=what, error=str(error)),
                                                         kind="failure"))

        task = asyncio.get_running_loop().create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close(self) -> None:
        if self._worker is not None:
            self._worker.shutdown(wait=False, cancel_futures=True)
            self._worker = None
