"""The retrain job for real: training in the worker process on the bundled MiniLM, the announcement, and a
training whose process crashes (the active version stays, the channel reads why, the next run succeeds)."""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path

from bot.database import Database
from bot.jobs import job_kinds
from bot.jobs.context import JobContext
from bot.jobs.retrain import retrain
from bot.jobs.runner import JobRunner
from storage.models import Job
from tests.job_helpers import Clock, RecordingAnnouncer, at, crash_training, ranked_campaign
from trainer.registry import list_versions

RETRAIN = "retrain:pairs-test"


async def test_a_crashed_training_keeps_the_active_version_and_the_next_run_succeeds(sqlite_url: str,
                                                                                      tmp_path: Path) -> None:
    ranked_campaign(sqlite_url, retrain_schedule="0 3 * * *", announcement_channel="slack:C0ANNOUNCE")
    database, announcer, clock = Database(sqlite_url), RecordingAnnouncer(), Clock(at("2026-12-01 02:00"))
    context = JobContext(database, tmp_path, {"slack": announcer}, clock=clock)
    training = JobRunner(context, job_kinds(), name="real")
    crashing = JobRunner(context, {**job_kinds(), "retrain": partial(retrain, train=crash_training)}, name="real")

    async def run_at(runner: JobRunner, when: str) -> None:
        clock.now = at(when)
        await asyncio.gather(*await runner.tick())

    def last_retrain_text() -> str:  # the daily digest posts in the same channel
        return [text for text in announcer.texts() if not text.startswith("Daily digest")][-1]

    try:
        await run_at(training, "2026-12-01 02:00")
        await run_at(training, "2026-12-01 03:00")
        [first] = list_versions(sqlite_url)
        assert first.active
        assert {channel for channel, _, _ in announcer.posts} == {"C0ANNOUNCE"}
        text = last_retrain_text()
        assert f"Reward model {first.name} trained on pairs-test from {first.data_snapshot['pairs']} pairs" in text
        assert f"validation accuracy {first.metrics['val_accuracy']:.3f} (previous version none" in text
        assert "agreement so far 0." in text and "It is now the active version." in text

        await run_at(crashing, "2026-12-02 03:00")
        assert [(v.name, v.active) for v in list_versions(sqlite_url)] == [(first.name, True)]
        assert last_retrain_text() == ("Retraining on pairs-test failed: the worker process died (exit code 3). "
                                         "The active reward model is unchanged; the next scheduled retrain tries "
                                         "again.")
        async with database.session() as session:
            job = await session.get(Job, RETRAIN)
        assert job is not None and job.last_outcome == "failed" and job.next_run_at == at("2026-12-03 03:00")

        await run_at(training, "2026-12-03 03:00")
        versions = list_versions(sqlite_url)
        assert len(versions) == 2 and f"(previous version {first.name}: " in last_retrain_text()
    finally:
        await database.dispose()
