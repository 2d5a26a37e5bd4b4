"""Campaign figures the announcements and the digest quote, computed in the worker process: the consensus
analysis (bootstrap intervals) is CPU work that must not share the event loop with clicks."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.chat.catalog import gettext_
from bot.consensus import analyze
from bot.consensus.campaign_data import load_rankings
from bot.database import Database
from bot.quality import assess_campaign

N_BOOT = 200  # enough for a two-decimal interval in a chat message; the report uses 1,000
TOP_CONTESTED = 3

__all__ = ["campaign_figures", "number"]


def number(value: float | None) -> str:
    """A figure as a chat message shows it: three decimals, or n/a when there is none yet."""
    return gettext_("n/a") if value is None else f"{value:.3f}"


def campaign_figures(url: str, campaign: str, *, labelers: bool = False) -> dict[str, Any]:
    """Agreement so far with its interval, per-region agreement, the most contested items across regions and,
    with `labelers`, the pseudonyms of low-trust labelers (trust is recomputed, as `crowdrank labeler list` does)."""

    async def load() -> tuple[Any, list[str]]:
        database = Database(url)
        try:
            async with database.session() as session:
                data = await load_rankings(session, campaign)
                flagged = [row.pseudonym for row in await assess_campaign(session, campaign) if row.flagged] \
                    if labelers else []
            return data, flagged
        finally:
            await database.dispose()

    data, flagged = asyncio.run(load())
    analysis = analyze(data.rankings, trust=data.trust, n_boot=N_BOOT, top_contested=TOP_CONTESTED)
    summary = analysis.summary
    item_ids = analysis.rankings.item_ids
    return {
        "agreement": summary["pairwise_agreement"], "interval": summary["pairwise_agreement_ci"],
        "regions": {name: {"rankings": region["rankings"], "agreement": region["pairwise_agreement"]}
                    for name, region in summary["regions"].items()},
        "contested": [data.prompt_ids[int(item_ids[i])] for i in analysis.contested],
        "flagged": flagged,
    }
