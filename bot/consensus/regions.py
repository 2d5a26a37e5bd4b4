"""Agreement within and between regions, each region's consensus, and the items where regions disagree most.

Between regions A and B the agreement is the pairwise agreement over pairs of rankings of the same item with one
ranking from A and one from B; the diagonal is the agreement within a region. Computed for all region pairs at
once from the per-(item, completion pair, sign, region) counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bot.consensus.aggregate import ConsensusOrders
from bot.consensus.data import RankingSet
from bot.consensus.metrics import pair_signs, rowwise_tau_b

WITHIN_PRIOR_PAIRS = 30.0

__all__ = ["RegionMatrix", "region_votes", "region_matrix", "ContestScores", "contest_scores", "consensus_tau"]


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


def region_matrix(rankings: RankingSet) -> RegionMatrix:
    r = rankings.n_regions
    counts = _sign_counts(rankings)
    p = counts.shape[1] // 3
    flat = counts.reshape(-1, counts.shape[2])[:, :r]
    agree = flat.T @ flat
    agree[np.diag_indices(r)] = (flat * (flat - 1) / 2).sum(axis=0)
    votes = region_votes(rankings)[:, :r]
    pairs = votes.T @ votes * p
    pairs[np.diag_indices(r)] = (votes * (votes - 1) / 2).sum(axis=0) * p
    with np.errstate(invalid="ignore", divide="ignore"):
        agreement = np.where(pairs > 0, agree / np.where(pairs > 0, pairs, 1), np.nan)
    return RegionMatrix(rankings.region_names, agreement, pairs)


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
