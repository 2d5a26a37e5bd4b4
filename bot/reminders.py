"""Reminders: a labeler who joined a campaign and has been idle for the campaign's `remind_after_hours` gets a
nudge — at most one a day, never in their night, never again after "No more reminders".

Night is 22:00–08:00 in the labeler's own time zone when the platform told it (Slack's `tz`); where no zone is
known (Discord), the campaign's own quiet window (`quiet_hours` in `quiet_timezone`). The daily cap is a
compare-and-set on `last_reminded_at`, written before the nudge is sent: a crash can lose one nudge, never
send two.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.chat.actions import format_action
from bot.chat.announcer import LabelerAddress
from bot.chat.catalog import _
from bot.chat.views import Control, Notice
from bot.labelers import get_labeler
from bot.quiet_hours import OWN_NIGHT, check_zone, parse_quiet_hours, quiet, zone
from bot.unit_of_work import transaction
from storage.models import Assignment, Campaign, Enrollment, Labeler, Ranking, utcnow

CAP = timedelta(days=1)
PLATFORMS = ("slack", "discord")  # where a nudge can be delivered

__all__ = ["Nudge", "opt_out", "record_timezone", "due_nudges", "mark_reminded", "nudge_notice",
           "opted_out"]


@dataclass(frozen=True)
class Nudge:
    labeler_id: int
    campaign_id: int
    campaign: str
    address: LabelerAddress
    last_reminded_at: datetime | None


async def opt_out(session: AsyncSession, labeler_id: int) -> Labeler:
    """"No more reminders": recorded once, honoured for good (every campaign, every later run)."""
    async with transaction(session):
        labeler = await get_labeler(session, labeler_id)
        if labeler.reminders_off_at is None:
            labeler.reminders_off_at = utcnow()
    return labeler


async def opted_out(session: AsyncSession, campaign: str) -> list[str]:
    """Pseudonyms of the campaign's labelers who asked for no more reminders."""
    async with transaction(session):
        return list((await session.exec(
            select(Labeler.pseudonym).join(Enrollment, Enrollment.labeler_id == Labeler.id)
            .join(Campaign, Campaign.id == Enrollment.campaign_id)
            .where(Campaign.name == campaign, col(Labeler.reminders_off_at).is_not(None))
            .order_by(col(Labeler.pseudonym)))).all())


async def record_timezone(session: AsyncSession, labeler_id: int, tz: str) -> None:
    """Keep the platform's time zone of a labeler (Slack `users.info` → `tz`) for their quiet hours."""
    check_zone(tz, "tz")
    async with transaction(session):
        (await get_labeler(session, labeler_id)).tz = tz


async def due_nudges(session: AsyncSession, now: datetime) -> list[Nudge]:
    """Who gets a nudge now: at most one per labeler (their first idle campaign) and run."""
    shown = (select(func.max(Assignment.created_at)).where(Assignment.labeler_id == Labeler.id,
                                                           Assignment.campaign_id == Campaign.id)
             .correlate(Labeler, Campaign).scalar_subquery())
    ranked = (select(func.max(Ranking.created_at)).where(Ranking.labeler_id == Labeler.id,
                                                         Ranking.campaign_id == Campaign.id)
              .correlate(Labeler, Campaign).scalar_subquery())
    async with transaction(session):
        rows = (await session.exec(
            select(Labeler, Campaign, Enrollment, shown, ranked)
            .join(Enrollment, Enrollment.labeler_id == Labeler.id)
            .join(Campaign, Campaign.id == Enrollment.campaign_id)
            .where(Campaign.status == "live", col(Campaign.remind_after_hours).is_not(None),
                   Labeler.status == "active", col(Labeler.consent_at).is_not(None),
                   col(Labeler.reminders_off_at).is_(None), col(Labeler.platform).in_(PLATFORMS))
            .order_by(col(Labeler.id), col(Campaign.id)))).all()
    nudges: dict[int, Nudge] = {}
    for labeler, campaign, enrollment, last_shown, last_ranked in rows:
        if labeler.id in nudges or (labeler.last_reminded_at and now - labeler.last_reminded_at < CAP):
            continue
        idle = now - max(moment for moment in (enrollment.joined_at, last_shown, last_ranked) if moment)
        if idle < timedelta(hours=campaign.remind_after_hours):
            continue
        own = zone(labeler.tz)
        if own is not None:
            night = quiet(now, own, OWN_NIGHT)
        else:
            night = quiet(now, zone(campaign.quiet_timezone) or ZoneInfo("UTC"), parse_quiet_hours(
                campaign.quiet_hours))
        if night:
            continue
        nudges[labeler.id] = Nudge(labeler.id, campaign.id, campaign.name,
                                   LabelerAddress(labeler.platform, labeler.workspace, labeler.user_id),
                                   labeler.last_reminded_at)
    return list(nudges.values())


async def mark_reminded(session: AsyncSession, nudge: Nudge, now: datetime) -> bool:
    """Claim today's nudge for this labeler; False when another run (or an opt-out) got there first."""
    async with transaction(session):
        result = await session.exec(update(Labeler).where(
            Labeler.id == nudge.labeler_id, col(Labeler.reminders_off_at).is_(None),
            col(Labeler.last_reminded_at).is_not_distinct_from(nudge.last_reminded_at))
            .values(last_reminded_at=now))
        return result.rowcount == 1


def nudge_notice(campaign: str, campaign_id: int) -> Notice:
    return Notice(
        _("Hello! Cards are waiting for you in **{campaign}**. One takes about a minute.", campaign=campaign),
        (Control(_("Next card"), format_action("next", campaign_id), "primary"),
         Control(_("No more reminders"), format_action("remind-off", campaign_id))))
