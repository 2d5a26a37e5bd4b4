"""The runner lease: of all `crowdrank serve` processes on one database, the one holding the lease runs the jobs.

A lease row (not a PostgreSQL advisory lock) because it works the same on SQLite and PostgreSQL, survives a
connection drop without silently passing the lock on, and lets a test move the clock. The holder renews it every
tick; a holder that dies stops renewing, and once `expires_at` passes another process takes it (so a `kill -9`
is noticed within `LEASE_SECONDS`). Taking and renewing are one conditional UPDATE: the database decides.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.unit_of_work import transaction
from storage.models import RunnerLease

LEASE_NAME = "jobs"
LEASE_SECONDS = 30.0  # a dead holder is replaced within this (the issue asks for under a minute)

EXPIRED = datetime(1970, 1, 1, tzinfo=UTC)

__all__ = ["LEASE_NAME", "LEASE_SECONDS", "acquire", "release", "holder_of"]


async def acquire(session: AsyncSession, holder: str, now: datetime, seconds: float = LEASE_SECONDS,
                  name: str = LEASE_NAME) -> bool:
    """Take or renew the lease for `holder`; False while another live holder has it."""
    until = now + timedelta(seconds=seconds)
    async with transaction(session):
        result = await session.exec(update(RunnerLease)
                                    .where(RunnerLease.name == name,
                                           or_(RunnerLease.holder == holder, RunnerLease.expires_at < now))
                                    .values(holder=holder, expires_at=until))
        if result.rowcount == 1:
            return True
        if await session.get(RunnerLease, name) is not None:
            return False
    try:  # the very first runner on this database creates the row
        async with transaction(session):
            session.add(RunnerLease(name=name, holder=holder, expires_at=until))
        return True
    except IntegrityError:  # another runner created it first
        return False


async def release(session: AsyncSession, holder: str, name: str = LEASE_NAME) -> None:
    """Give the lease up on a clean stop, so another process takes over at its next tick, not after the TTL."""
    async with transaction(session):
        await session.exec(update(RunnerLease).where(
            RunnerLease.name == name, RunnerLease.holder == holder).values(expires_at=EXPIRED))


async def holder_of(session: AsyncSession, name: str = LEASE_NAME) -> RunnerLease | None:
    async with transaction(session):
        return await session.get(RunnerLease, name)
