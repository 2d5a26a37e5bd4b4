"""Stored schedules: the jobs the campaigns call for, kept as `job` rows so a restart keeps each next run.

`sync` makes the rows match the campaigns (new campaign, changed schedule, closed campaign). A row whose trigger
did not change keeps its `next_run_at`, even one in the past: that is an occurrence missed while no runner was
up, and it runs once, after which the next run is computed from now (never once per missed slot).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.campaigns import retrain_trigger
from bot.unit_of_work import transaction
from storage.models import Campaign, Job, Ranking

DIGEST_CRON = "0 9 * * *"  # the daily digest, 09:00 UTC
REMINDERS_CRON = "*/15 * * * *"
LEASES_CRON = "* * * * *"
ACTIVE = ("live", "paused")  # a paused campaign keeps training on what it has

__all__ = ["Spec", "wanted", "sync", "stored", "next_time", "new_rankings", "DIGEST_CRON", "REMINDERS_CRON",
           "LEASES_CRON"]


@dataclass(frozen=True)
class Spec:
    """A job as the campaigns want it."""

    name: str
    kind: str  # retrain | digest | reminders | expire-leases
    cron: str | None = None
    every: int | None = None  # rankings since the last run
    campaign_id: int | None = None

    @property
    def trigger(self) -> str:
        parts = ([f"cron {self.cron}"] if self.cron else []) + ([f"every {self.every} rankings"] if self.every else [])
        return " or ".join(parts)


def next_time(cron: str | None, after: datetime) -> datetime | None:
    """The first occurrence strictly after `after` (UTC), or None for a job without a cron."""
    if cron is None:
        return None
    found = retrain_trigger(cron).get_next_fire_time(None, after + timedelta(microseconds=1))
    return found.astimezone(UTC) if found else None


def parse_trigger(trigger: str) -> tuple[str | None, int | None]:
    """The cron and rankings count stored in a job's `trigger` text (see `Spec.trigger`)."""
    cron = every = None
    for part in trigger.split(" or "):
        if part.startswith("cron "):
            cron = part.removeprefix("cron ")
        elif part.startswith("every "):
            every = int(part.split()[1])
    return cron, every


def _campaign_specs(campaign: Campaign) -> list[Spec]:
    specs = []
    if campaign.retrain_schedule or campaign.retrain_every:
        specs.append(Spec(f"retrain:{campaign.name}", "retrain", campaign.retrain_schedule, campaign.retrain_every,
                          campaign.id))
    if campaign.announcement_channel and campaign.status == "live":
        specs.append(Spec(f"digest:{campaign.name}", "digest", DIGEST_CRON, campaign_id=campaign.id))
    return specs


async def wanted(session: AsyncSession) -> list[Spec]:
    campaigns = (await session.exec(select(Campaign).where(col(Campaign.status).in_(ACTIVE))
                                    .order_by(col(Campaign.id)))).all()
    specs = [spec for campaign in campaigns for spec in _campaign_specs(campaign)]
    return [*specs, Spec("reminders", "reminders", REMINDERS_CRON), Spec("expire-leases", "expire-leases",
                                                                          LEASES_CRON)]


async def sync(session: AsyncSession, now: datetime) -> list[Job]:
    """Make the `job` rows match the campaigns; returns them, by name."""
    async with transaction(session):
        specs = {spec.name: spec for spec in await wanted(session)}
        rows = {row.name: row for row in (await session.exec(select(Job))).all()}
        stale = set(rows) - set(specs)
        if stale:
            await session.exec(delete(Job).where(col(Job.name).in_(stale)))
        for name, spec in specs.items():
            row = rows.get(name)
            if row is None:
                row = Job(name=name, kind=spec.kind, campaign_id=spec.campaign_id, trigger=spec.trigger,
                          next_run_at=next_time(spec.cron, now))
                session.add(row)
                rows[name] = row
            elif row.trigger != spec.trigger:
                row.trigger, row.next_run_at = spec.trigger, next_time(spec.cron, now)
        return sorted((rows[name] for name in specs), key=lambda row: row.name)


async def stored(session: AsyncSession) -> list[Job]:
    """The job rows as they are (between two syncs)."""
    async with transaction(session):
        return list((await session.exec(select(Job).order_by(col(Job.name)))).all())


async def new_rankings(session: AsyncSession, job: Job) -> int:
    """Rankings of the job's campaign since its last run (or ever): what `--retrain-every N` counts."""
    statement = select(func.count()).select_from(Ranking).where(Ranking.campaign_id == job.campaign_id)
    if job.last_started_at is not None:
        statement = statement.where(Ranking.created_at > job.last_started_at)
    async with transaction(session):
        return int((await session.exec(statement)).one())
