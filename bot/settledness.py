"""Is an item's consensus settled? The stop rule of adaptive votes, computed at submit time from that item's
rankings only (at most `votes` of them), so the click path never pays for it.

The consensus here is the Borda order (mean position; cheap, and it agrees with the report's Bradley–Terry on the
top choice in the vast majority of items). The next ranking is predicted as a Dirichlet-smoothed draw: one of the
item's own rankings with weight n / (n + PRIOR), or a uniformly random order with weight PRIOR / (n + PRIOR).
`change_probability` is the chance that adding it changes the top choice (rule `top`) or the whole order (rule
`order`); a tie counts as a change, so an item never settles on a coin flip. Region contest: two regions whose
mean-position vectors anti-correlate.

Regions heard: an item settles only when each region of the campaign has its own estimate of the item's order
settled, because only a region's own rankings show where its taste departs from the others'. A region is heard
when it has ranked the item and either its sub-consensus (the Borda order of its own rankings) agrees with the
consensus of the other regions (each counted once), or its own rankings agree with one another, or it has its
share of MAX (MAX / regions, rounded up). "Agree" is Kendall tau >= AGREE_TAU over the whole order, whatever the
stop rule: a region's estimate is a whole order. Why: a region resting on one ranking that the other regions
contradict (a noisy labeler, a spammer, or a real taste), or on two rankings that contradict each other (a tie
the report breaks at random), is an estimate one more ranking from that region would most improve; items whose
regions already agree still stop at the minimum.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from bot.consensus.metrics import rowwise_tau_b

STOP_RULES = {"top": "top choice settled", "order": "whole order settled"}
PRIOR = 1.0  # pseudo-rankings of "any order at all" in the predictive draw
MAX_ENUMERATED_K = 6  # 720 orders; above that a fixed sample of them stands for the uniform draw
UNIFORM_SAMPLE = 720
AGREE_TAU = 0.5  # Kendall tau at which two orders agree (k = 4: at most one of the six pairs the other way)

__all__ = ["STOP_RULES", "Settledness", "change_probability", "points", "region_not_heard", "settledness",
           "stop_decision"]


@dataclass(frozen=True)
class Settledness:
    change_p: float
    contested: bool
    waiting_region: str | None = None  # a region not heard yet (see `region_not_heard`); None: all heard


def points(best_first: list[int], ties: list[bool], slot_of: dict[int, int]) -> np.ndarray:
    """Borda points per slot (k-1 for the best, 0 for the worst); tied places share their mean."""
    k = len(slot_of)
    out = np.zeros(k)
    place, start = list(range(k - 1, -1, -1)), 0
    for end in range(1, len(best_first) + 1):
        if end == len(best_first) or not (ties[end] if end < len(ties) else False):
            share = float(np.mean(place[start:end]))
            for completion in best_first[start:end]:
                out[slot_of[completion]] = share
            start = end
    return out


@cache
def _uniform_points(k: int) -> np.ndarray:
    """(orders, k) Borda points of every order of k (or a fixed sample of them for large k)."""
    if k <= MAX_ENUMERATED_K:
        orders = np.array(list(itertools.permutations(range(k))))
    else:
        rng = np.random.default_rng(k)
        orders = np.array([rng.permutation(k) for _ in range(UNIFORM_SAMPLE)])
    result = np.empty_like(orders, dtype=float)
    rows = np.arange(len(orders))[:, None]
    result[rows, orders] = np.arange(k - 1, -1, -1)
    return result


def _changed(totals: np.ndarray, after: np.ndarray, rule: str) -> np.ndarray:
    """For each row of `after` (totals plus one candidate ranking): does the consensus differ from `totals`'?"""
    if rule == "top":
        top = int(np.argmax(totals))
        rivals = np.delete(after, top, axis=1)
        return rivals.max(axis=1) >= after[:, top]
    order = np.argsort(-totals, kind="stable")
    ordered = after[:, order]
    return (ordered[:, 1:] >= ordered[:, :-1]).any(axis=1)  # a strict order kept means strictly decreasing


def change_probability(rankings: np.ndarray, rule: str = "top") -> float:
    """P(one more ranking changes the consensus), from (n, k) Borda points of the item's rankings."""
    n, k = rankings.shape
    if n == 0:
        return 1.0
    totals = rankings.sum(axis=0)
    if _changed(totals, totals[None, :], rule)[0]:
        return 1.0  # already tied: not settled
    own = _changed(totals, totals + rankings, rule).mean()
    uniform = _changed(totals, totals + _uniform_points(k), rule).mean()
    return float((n * own + PRIOR * uniform) / (n + PRIOR))


def _contested(rankings: np.ndarray, regions: Sequence[str | None]) -> bool:
    means = [rankings[[r == region for r in regions]].mean(axis=0) for region in sorted(set(regions) - {None})]
    for a, b in itertools.combinations(means, 2):
        if a.std() > 0 and b.std() > 0 and np.corrcoef(a, b)[0, 1] < 0:
            return True
    return False


def _tau(a: np.ndarray, b: np.ndarray) -> float:
    """Kendall tau-b of two score vectors (NaN when either is all ties, which agrees with nothing); sums of means
    that differ by rounding only count as tied."""
    return float(rowwise_tau_b(a[None, :], b[None, :], tolerance=1e-9)[0])


def _agree(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(_tau(a, b) >= AGREE_TAU)


def region_not_heard(rankings: np.ndarray, regions: Sequence[str | None], campaign_regions: Sequence[str],
                     share: int) -> str | None:
    """The first campaign region whose own estimate of the item's order is not settled yet: it has not ranked the
    item, or it has fewer than `share` rankings and its Borda order neither agrees with the other regions' (each
    region's mean counts once, so a region with more rankings does not outvote the rest; rankings without a region
    count as one more region) nor do its own rankings agree with one another; None when every region is heard. A
    campaign none of whose labelers come from some region never settles an item early: it spends MAX votes, as
    fixed votes would."""
    means = {group: rankings[[r == group for r in regions]].mean(axis=0) for group in sorted(set(regions), key=str)}
    for region in campaign_regions:
        own = rankings[[r == region for r in regions]]
        if len(own) == 0:
            return region
        others = [mean for group, mean in means.items() if group != region]
        if len(own) >= share or (others and _agree(own.sum(axis=0), np.sum(others, axis=0))):
            continue
        if len(own) >= 2 and np.mean([_tau(a, b) for a, b in itertools.combinations(own, 2)]) >= AGREE_TAU:
            continue
        return region
    return None


def settledness(rankings: np.ndarray, regions: Sequence[str | None], rule: str = "top",
                campaign_regions: Sequence[str] | None = None, share: int = 1) -> Settledness:
    """The item's change probability under `rule`, whether its regions pull in opposite directions, and a region
    it still waits to hear from (`share`: the rankings after which a region counts as heard regardless)."""
    return Settledness(change_probability(rankings, rule), _contested(rankings, regions),
                       region_not_heard(rankings, regions, campaign_regions or (), share))


def stop_decision(rankings: np.ndarray, regions: Sequence[str | None], submitted: int, *,
                  campaign_regions: Sequence[str], votes: int, votes_min: int | None, rule: str,
                  threshold: float) -> tuple[Settledness, bool]:
    """The item's settledness and whether it stops now: it has its minimum, the stop rule holds and every region
    of the campaign has been heard (a region counts as heard after its share of MAX, rounded up). One place for
    the rule, so the submit path and `bench/adaptive_votes.py --oracle`'s replay cannot drift apart."""
    share = -(-votes // max(len(campaign_regions), 1))
    state = settledness(rankings, regions, rule, campaign_regions, share)
    stops = submitted >= (votes_min or 0) and state.change_p < threshold and state.waiting_region is None
    return state, stops
