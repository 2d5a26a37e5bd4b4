"""The small jobs: send the due reminders, expire stale card leases."""

from __future__ import annotations

import logging

from bot import reminders
from bot.assignment import expire_leases
from bot.jobs.context import JobContext
from storage.models import Job

log = logging.getLogger("crowdrank.jobs")

__all__ = ["send_reminders", "sweep_leases"]


async def send_reminders(context: JobContext, job: Job) -> str:
    now = context.clock()
    sent = 0
    async with context.database.session() as session:
        for nudge in await reminders.due_nudges(session, now):
            announcer = context.announcer(nudge.address.platform)
            if announcer is None or not await reminders.mark_reminded(session, nudge, now):
                continue
            await announcer.direct(nudge.address, reminders.nudge_notice(nudge.campaign, nudge.campaign_id))
            sent += 1
    return f"{sent} reminders sent"


async def sweep_leases(context: JobContext, job: Job) -> str:
    async with context.database.session() as session:
        expired = await expire_leases(session, now=context.clock())
    return f"{expired} stale leases expired"
