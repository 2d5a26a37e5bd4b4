"""Scheduled work while a bot serves: retrain each campaign on its own cron schedule, expire stale leases,
checkpoint SQLite's write-ahead log.

The jobs follow the database: every `SYNC_SECONDS` the retrain jobs are reconciled with the campaigns' schedules
(new campaign, changed schedule, paused or closed), so no restart is needed. What a retrain does — run the trainer
in a worker process, post the summary to the campaign's channel — is the adapter's callback: this module knows
APScheduler, not Slack or torch.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.assignment import expire_leases
from bot.campaigns import list_campaigns, retrain_trigger
from bot.database import Database
from bot.errors import InputError

Retrain = Callable[[str, str | None], Awaitable[None]]  # (campaign name, announcement channel or None)

SYNC_SECONDS = 60
LEASE_SWEEP_SECONDS = 60
CHECKPOINT_SECONDS = 60  # SQLite's WAL is checkpointed here, not inside a click's commit (see storage/engine.py)
SCHEDULED_STATUSES = ("live", "paused")  # a paused campaign keeps training on what it has
log = logging.getLogger("crowdrank.scheduler")


def job_id(campaign: str) -> str:
    return f"retrain:{campaign}"


class CampaignScheduler:
    def __init__(self, database: Database, retrain: Retrain) -> None:
        self.database, self.retrain = database, retrain
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self._schedules: dict[str, tuple[str, str | None]] = {}  # campaign → (cron, channel) now scheduled

    async def start(self) -> None:
        """Schedule the campaigns now, then keep following the database (call from the running event loop)."""
        await self.sync()
        self.scheduler.add_job(self.sync, "interval", seconds=SYNC_SECONDS, id="sync-schedules",
                               coalesce=True, max_instances=1)
        self.scheduler.add_job(self.sweep_leases, "interval", seconds=LEASE_SWEEP_SECONDS, id="expire-leases",
                               coalesce=True, max_instances=1)
        self.scheduler.add_job(self.database.checkpoint, "interval", seconds=CHECKPOINT_SECONDS, id="checkpoint",
                               coalesce=True, max_instances=1)
        self.scheduler.start()

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def sync(self) -> None:
        """Add, change or remove retrain jobs so they match the campaigns' schedules."""
        async with self.database.session() as session:
            wanted = {c.name: (c.retrain_schedule, c.announcement_channel)
                      for c in await list_campaigns(session)
                      if c.retrain_schedule and c.status in SCHEDULED_STATUSES}
        for name in set(self._schedules) - set(wanted):
            self.scheduler.remove_job(job_id(name))
            del self._schedules[name]
        for name, (cron, channel) in wanted.items():
            if self._schedules.get(name) == (cron, channel):
                continue
            try:
                trigger = retrain_trigger(cron)
            except InputError as error:  # stored before validation existed, or edited by hand
                log.warning("campaign %s: %s", name, error)
                continue
            if name in self._schedules:
                self.scheduler.remove_job(job_id(name))
            self.scheduler.add_job(self.retrain, trigger, args=[name, channel], id=job_id(name),
                                   coalesce=True, max_instances=1, misfire_grace_time=3600)
            self._schedules[name] = (cron, channel)

    async def sweep_leases(self) -> None:
        async with self.database.session() as session:
            expired = await expire_leases(session)
        if expired:
            log.info("expired %d stale leases", expired)
