"""Adaptive votes: `--votes MIN..MAX` parsing, the submit-time settledness update, and the counts that
`campaign show`, status and the report print.

Why at submit time: the ranking is being written anyway, the item's row is already being updated, and an item
has at most MAX rankings, so reading them and one small NumPy estimate add well under a millisecond there, while
the lease path (`bot/assignment.py`) only reads the resulting columns.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from sqlalchemy import false, func, or_, true, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.errors import InputError
from bot.settledness import STOP_RULES, points, stop_decision
from storage.models import Campaign, Completion, Item, Ranking

VOTES_PATTERN = re.compile(r"^\s*(\d+)\s*(?:\.\.\s*(\d+)\s*)?$")

__all__ = ["parse_votes", "update_item", "done_clause", "adaptive_stats", "stop_reason"]


def parse_votes(value: str) -> tuple[int | None, int]:
    """`"5"` → (None, 5), a fixed number; `"3..9"` → (3, 9), at least 3 and at most 9 rankings per item."""
    match = VOTES_PATTERN.match(value)
    if match is None:
        raise InputError(f"votes must be a number or MIN..MAX such as 3..9, got {value!r}", field="votes")
    low, high = int(match.group(1)), match.group(2)
    if high is None:
        return None, low
    if not 1 <= low <= int(high):
        raise InputError(f"votes MIN..MAX needs 1 <= MIN <= MAX, got {value!r}", field="votes")
    return low, int(high)


def stop_reason(campaign: Campaign) -> str:
    """Why an item of this campaign stopped early, in words."""
    return (f"{STOP_RULES[campaign.stop_rule]} (P(one more ranking changes it) < {campaign.stop_threshold:g}), "
            "every region heard")


async def update_item(session: AsyncSession, campaign: Campaign, item_id: int, submitted: int) -> None:
    """Recompute an item's settledness from its rankings (inside the submit transaction); stop it when it has
    its minimum, the stop rule holds and every region of the campaign has been heard. Fixed-votes campaigns never
    call this."""
    rows = (await session.exec(select(Ranking.best_first, Ranking.ties, Ranking.region)
                               .where(Ranking.item_id == item_id))).all()
    completion_ids = (await session.exec(select(Completion.id).join(Item, Item.prompt_id == Completion.prompt_id)
                                         .where(Item.id == item_id).order_by(col(Completion.position)))).all()
    slot_of = {cid: slot for slot, cid in enumerate(completion_ids)}
    scores = np.array([points(best, ties, slot_of) for best, ties, _ in rows]).reshape(len(rows), len(slot_of))
    state, settle = stop_decision(scores, [region for _, _, region in rows], submitted,
                                  campaign_regions=list(campaign.regions), votes=campaign.votes,
                                  votes_min=campaign.votes_min, rule=campaign.stop_rule,
                                  threshold=campaign.stop_threshold)
    values: dict[str, Any] = {"change_p": state.change_p, "contested": state.contested,
                              "waiting_region": state.waiting_region}
    if settle:
        values.update(settled=True, full=True)
    await session.exec(update(Item).where(Item.id == item_id, Item.settled == false())
                       .values(**values))


def done_clause(campaign: Campaign) -> Any:
    """Items that take no more rankings: they have `votes`, or they settled early."""
    return or_(Item.submitted >= campaign.votes, Item.settled == true())


async def adaptive_stats(session: AsyncSession, campaign: Campaign) -> dict[str, Any] | None:
    """How many items stopped early and why, how many reached the maximum, how many are still open; None for a
    fixed-votes campaign."""
    if campaign.votes_min is None:
        return None
    regular = (Item.campaign_id == campaign.id, Item.is_gold == false())
    early = (await session.exec(select(func.count(), func.coalesce(func.sum(Item.submitted), 0)).where(
        *regular, Item.settled == true(), Item.submitted < campaign.votes))).one()
    at_max = (await session.exec(select(func.count()).select_from(Item).where(
        *regular, Item.submitted >= campaign.votes))).one()
    contested = (await session.exec(select(func.count()).select_from(Item).where(
        *regular, Item.contested == true()))).one()
    stopped_early = int(early[0])
    return {
        "votes_min": campaign.votes_min, "votes_max": campaign.votes, "stop_rule": campaign.stop_rule,
        "stop_threshold": campaign.stop_threshold,
        "items_stopped_early": stopped_early,
        "stopped_early_why": {stop_reason(campaign): stopped_early} if stopped_early else {},
        "rankings_of_items_stopped_early": int(early[1]),
        "items_at_max": int(at_max), "items_contested": int(contested),
    }
