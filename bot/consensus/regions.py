"""Agreement within and between regions, each region's consensus, and the items where regions disagree most.

Between regions A and B the agreement is the pairwise agreement over pairs of rankings of the same item with one
ranking from A and one from B; the diagonal is the agreement within a region. Computed for all region pairs at
once from the per-(item, completion pair, sign, region) counts. Under adaptive votes the between-region figure
counts only the rankings every item takes (`region_matrix(between_from_first=MIN)`).

A region's pooled consensus borrows other regions' rankings at a weight the campaign's own rankings choose
(`pooled_region_consensus`): with one or two rankings of an item from a region, its own order is mostly noise.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from bot.consensus.aggregate import ConsensusOrders, bradley_terry
from bot.consensus.data import RankingSet
from bot.consensus.metrics import pair_signs, rowwise_tau_b

WITHIN_PRIOR_PAIRS = 30.0
POOLED = "bradley_terry_pooled"  # a region's consensus with other regions' rankings at a lower weight

__all__ = ["RegionMatrix", "region_votes", "arrival", "first_rankings", "region_matrix", "ContestScores",
           "contest_scores", "consensus_tau", "POOLED", "borrowing_weight", "pooled_region_consensus"]


@dataclass(frozen=True)
class RegionMatrix:
    """`agreement[a, b]` between regions a and b (diagonal: within), NaN where no such ranking pairs exist;
    `pairs[a, b]` how many (ranking pair, completion pair) combinations it rests on."""

    names: tuple[str, ...]
    agreement: np.ndarray
    pairs: np.ndarray


def region_votes(rankings: RankingSet) -> np.ndarray:
    """(n_items, max(R, 1)) rankings per item and region (rankings without a region left out)."""
    has = rankings.region >= 0
    r = max(rankings.n_regions, 1)
    cell = rankings.item[has] * r + rankings.region[has]
    return np.bincount(cell, minlength=rankings.n_items * r).reshape(rankings.n_items, r).astype(np.float64)


def _sign_counts(rankings: RankingSet) -> np.ndarray:
    """(n_items, P * 3, R) counts of each sign of each completion pair per region (rankings with a region)."""
    has = rankings.region >= 0
    item, region, r = rankings.item[has], rankings.region[has], max(rankings.n_regions, 1)
    signs = pair_signs(rankings.ranks[has])
    p = signs.shape[1]
    cell = (((item[:, None] * p + np.arange(p)) * 3 + (signs + 1)) * r + region[:, None]).ravel()
    counts = np.bincount(cell, minlength=rankings.n_items * p * 3 * r).astype(np.float64)
    return counts.reshape(rankings.n_items, p * 3, r)


def arrival(rankings: RankingSet, key: np.ndarray | None = None) -> np.ndarray:
    """Each ranking's place (0 = first) among the rankings with the same `key` (default: the same item), in
    submission order (ranking id; input order where ids are unknown)."""
    key = rankings.item if key is None else key
    submitted = np.where(rankings.ranking_ids >= 0, rankings.ranking_ids, np.arange(rankings.n))
    order = np.lexsort((submitted, key))
    ordered = key[order]
    place = np.empty(rankings.n, dtype=np.int64)
    place[order] = np.arange(rankings.n) - np.searchsorted(ordered, ordered)
    return place


def first_rankings(rankings: RankingSet, n: int) -> np.ndarray:
    """Mask of each item's first `n` rankings in submission order."""
    return arrival(rankings) < n


def region_matrix(rankings: RankingSet, between_from_first: int | None = None) -> RegionMatrix:
    """Agreement between and within regions. With `between_from_first` (adaptive votes pass MIN), the agreement
    between two regions counts only each item's first that many rankings: every item takes them whatever they
    say, while a later ranking exists because the earlier ones disagreed, which would pull the figure down. The
    diagonal always counts every ranking (a region's second ranking of an item comes after MIN when the first
    rankings are spread over regions)."""
    r = rankings.n_regions
    agree, pairs = _agreement_counts(rankings, r)
    if between_from_first is not None:
        off = ~np.eye(r, dtype=bool)
        first_agree, first_pairs = _agreement_counts(rankings.subset(first_rankings(rankings, between_from_first)), r)
        agree[off], pairs[off] = first_agree[off], first_pairs[off]
    with np.errstate(invalid="ignore", divide="ignore"):
        agreement = np.where(pairs > 0, agree / np.where(pairs > 0, pairs, 1), np.nan)
    return RegionMatrix(rankings.region_names, agreement, pairs)


def _agreement_counts(rankings: RankingSet, r: int) -> tuple[np.ndarray, np.ndarray]:
    """(r, r) agreeing (ranking pair, completion pair) combinations and all of them."""
    counts = _sign_counts(rankings)
    p = counts.shape[1] // 3
    flat = counts.reshape(-1, counts.shape[2])[:, :r]
    agree = flat.T @ flat
    agree[np.diag_indices(r)] = (flat * (flat - 1) / 2).sum(axis=0)
    votes = region_votes(rankings)[:, :r]
    pairs = votes.T @ votes * p
    pairs[np.diag_indices(r)] = (votes * (votes - 1) / 2).sum(axis=0) * p
    return agree, pairs


@dataclass(frozen=True)
class ContestScores:
    """Per item: `score` = between-region disagreement minus within-region disagreement (NaN when fewer than two
    regions voted); `between` the between-region disagreement; `cross_pairs` the ranking pairs it rests on."""

    score: np.ndarray
    between: np.ndarray
    within: np.ndarray
    cross_pairs: np.ndarray

    def top(self, n: int) -> np.ndarray:
        """Item indexes of the n most contested items (more evidence first among equal scores)."""
        defined = np.flatnonzero(~np.isnan(self.score))
        order = np.lexsort((-self.cross_pairs[defined], -self.score[defined]))
        return defined[order[:n]]


def contest_scores(rankings: RankingSet, prior_pairs: float = WITHIN_PRIOR_PAIRS) -> ContestScores:
    """How much more labelers from different regions disagree on an item than labelers from the same region.

    Subtracting the within-region disagreement separates "regions want different things" from "this item is
    just hard". An item's own within-region figure rests on few ranking pairs, so it is shrunk toward the
    campaign-wide within-region disagreement with the weight of `prior_pairs` ranking pairs (empirical Bayes):
    a handful of same-region pairs cannot swing the score."""
    counts = _sign_counts(rankings)
    p = counts.shape[1] // 3
    total = counts.sum(axis=2)
    same = (counts * (counts - 1) / 2).sum(axis=(1, 2))
    all_agree = (total * (total - 1) / 2).sum(axis=1)
    votes = region_votes(rankings)
    m = votes.sum(axis=1)
    same_pairs = (votes * (votes - 1) / 2).sum(axis=1)
    cross_pairs = m * (m - 1) / 2 - same_pairs
    with np.errstate(invalid="ignore", divide="ignore"):
        between = np.where(cross_pairs > 0, 1 - (all_agree - same) / (cross_pairs * p), np.nan)
        within = np.where(same_pairs > 0, 1 - same / (same_pairs * p), np.nan)
        pooled = 1 - same.sum() / (same_pairs.sum() * p) if same_pairs.sum() > 0 else 0.0
    shrunk = (np.nan_to_num(within) * same_pairs + pooled * prior_pairs) / (same_pairs + prior_pairs)
    score = between - shrunk
    return ContestScores(score, between, within, cross_pairs)


def consensus_tau(region: ConsensusOrders, overall: ConsensusOrders) -> tuple[float, int]:
    """Mean tau-b between a region's consensus and the global one over the items the region voted on."""
    voted = region.n > 0
    if not voted.any():
        return float("nan"), 0
    tau = rowwise_tau_b(region.scores[voted], overall.scores[voted])
    defined = ~np.isnan(tau)
    return (float(tau[defined].mean()) if defined.any() else float("nan")), int(voted.sum())


BORROW_GRID = (0.0, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0)  # weights tried for other regions' rankings


def borrowing_weight(rankings: RankingSet, region: int, grid: tuple[float, ...] = BORROW_GRID) -> float:
    """How much one ranking from another region should count towards this region's consensus, against 1 for its
    own: the weight in `grid` whose pooled Borda points best predict each of the region's own rankings with that
    ranking left out (mean Kendall tau-b; a ranking with nothing left to predict it scores 0, as a coin flip would,
    so every weight is judged on the same rankings; on a tie the smaller weight). Only items where the region has two
    rankings or more tell weights apart. Regions whose tastes differ choose 0; regions that share a taste choose
    more, and a region with few rankings per item gains the most."""
    own = rankings.region == region
    if not own.any() or own.all():
        return 0.0
    points = rankings.k - rankings.ranks
    sums = [np.zeros((rankings.n_items, rankings.k)) for _ in range(2)]
    for total, mask in zip(sums, (own, ~own), strict=True):
        np.add.at(total, rankings.item[mask], points[mask])
    mine = np.flatnonzero(own)
    rest_own, others = sums[0][rankings.item[mine]] - points[mine], sums[1][rankings.item[mine]]
    scores = [np.nan_to_num(rowwise_tau_b(rest_own + weight * others, points[mine], tolerance=1e-9)).mean()
              for weight in grid]
    return float(grid[int(np.argmax(scores))])


def pooled_region_consensus(rankings: RankingSet, region: int) -> tuple[ConsensusOrders, float]:
    """The region's Bradley-Terry consensus with other regions' rankings counted at `borrowing_weight` (partial
    pooling): on an item where the region has one or two rankings, the other regions' settle what its own cannot,
    while a taste the region shows across the campaign keeps their weight low. `n` counts the region's own
    rankings, so an item it never ranked still reads as unvoted. Returns the orders and the weight."""
    weight = borrowing_weight(rankings, region)
    weights = np.where(rankings.region == region, 1.0, weight)
    own = np.bincount(rankings.item[rankings.region == region], minlength=rankings.n_items)
    use = (weights > 0) & (own[rankings.item] > 0)  # items the region never ranked stay unvoted: not fitted
    orders = bradley_terry(rankings.subset(use), weights[use])
    return replace(orders, method=POOLED, n=own), weight
