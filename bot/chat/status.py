"""A campaign's progress for managers: per-region bars against each region's share of the votes.

Under the balanced quota policy each region is asked for an equal share of the votes wanted; without it, every
region is measured against the whole.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from bot.chat.catalog import _
from bot.chat.views import StatusView

__all__ = ["status_view", "bar", "region_share"]

BAR_WIDTH = 20


def bar(value: int, target: int, width: int = BAR_WIDTH) -> str:
    """`█████░░░░░` filled in proportion to value / target (full and no more when the target is met)."""
    filled = width if target <= 0 else min(width, math.floor(width * value / target))
    return "█" * filled + "░" * (width - filled)


def region_share(stats: Mapping[str, Any]) -> int:
    """Rankings wanted from one region."""
    needed, regions = int(stats["votes_needed"]), list(stats["regions"])
    return math.ceil(needed / len(regions)) if stats["quota_policy"] == "balanced" and regions else needed


def status_view(stats: Mapping[str, Any]) -> StatusView:
    """From `bot.campaigns.campaign_stats`."""
    needed, done = int(stats["votes_needed"]), int(stats["rankings"])
    by_region = dict(stats["rankings_by_region"])
    share = region_share(stats)
    rows = list(stats["regions"]) or ["all"]
    rows += [name for name in by_region if name not in rows and name != "all"]
    width = max(len(name) for name in rows)
    table = "\n".join(f"{name:<{width}}  {bar(by_region.get(name, 0), share)}  {by_region.get(name, 0)}/{share}"
                      for name in rows)
    percent = 100 * done / needed if needed else 100.0
    head = _("**{campaign}** — {status} · {done}/{needed} rankings ({percent}%) · {complete}/{items} items "
             "complete · {joined} joined, {ranked} ranked", campaign=stats["name"], status=stats["status"],
             done=done, needed=needed, percent=f"{percent:.0f}", complete=stats["items_complete"],
             items=stats["items"], joined=stats.get("joined", 0), ranked=stats["labelers"])
    adaptive = stats.get("adaptive_votes")
    stopped = None if not adaptive else _(
        "Adaptive votes {low}..{high}: {early} items stopped early, settled under the '{rule}' rule (chance below "
        "{threshold} that one more ranking changes the {what}); {at_max} reached {high}; {contested} contested "
        "between regions.", low=adaptive["votes_min"], high=adaptive["votes_max"],
        early=adaptive["items_stopped_early"], rule=adaptive["stop_rule"], threshold=adaptive["stop_threshold"],
        what=_("top choice").plain() if adaptive["stop_rule"] == "top" else _("whole order").plain(),
        at_max=adaptive["items_at_max"], contested=adaptive["items_contested"])
    return StatusView(head=head, table=table, adaptive=stopped)
