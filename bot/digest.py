"""The daily digest for a campaign's managers, in its announcement channel: progress per region, agreement so
far with its interval, low-trust labelers and the items the regions rank most differently."""

from __future__ import annotations

from typing import Any

from bot.campaigns import campaign_stats
from bot.chat.catalog import _, gettext_
from bot.chat.views import Notice
from bot.jobs.context import JobContext
from bot.jobs.figures import campaign_figures, number
from storage.models import Campaign, Job

__all__ = ["digest", "digest_notice"]


def digest_notice(stats: dict[str, Any], figures: dict[str, Any]) -> Notice:
    none = gettext_("none")
    agreement = figures.get("regions", {})
    regions = "; ".join(f"{region} {count} ({number(agreement.get(region, {}).get('agreement'))})"
                        for region, count in sorted(stats["rankings_by_region"].items())) or none
    low, high = figures.get("interval") or (None, None)
    return Notice(_("**Daily digest for {campaign}**\nProgress: {complete} of {items} items complete, {rankings} of "
                    "{needed} rankings.\nRankings by region (agreement within): {regions}\nAgreement so far: "
                    "{agreement} (95% interval {low}–{high})\nFlagged labelers: {flagged}\nContested across "
                    "regions: {contested}",
                    campaign=stats["name"], complete=stats["items_complete"], items=stats["items"],
                    rankings=stats["rankings"], needed=stats["votes_needed"], regions=regions,
                    agreement=number(figures.get("agreement")), low=number(low), high=number(high),
                    flagged=", ".join(figures.get("flagged", [])) or none,
                    contested=", ".join(figures.get("contested", [])) or none))


async def digest(context: JobContext, job: Job) -> str:
    async with context.database.session() as session:
        campaign = await session.get(Campaign, job.campaign_id)
        assert campaign is not None, "jobs are synced with their campaigns"
        stats = await campaign_stats(session, campaign)
    figures = {}  # no rankings yet: the digest still says so
    if stats["rankings"]:
        figures = await context.worker(campaign_figures, context.database.url, campaign.name, labelers=True)
    posted = await context.announce(campaign.announcement_channel, digest_notice(stats, figures))
    return f"{stats['rankings']} rankings" + ("" if posted else " (no channel to post to)")
