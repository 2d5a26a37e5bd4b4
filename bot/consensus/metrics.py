"""Agreement metrics over a `RankingSet`, vectorised: NumPy bincount/einsum over all rankings at once, never a
Python loop per ranking.

Every campaign-level figure is a function of per-item sums, returned as an `ItemStatistic` (per-item feature
rows plus a `finish` that turns column sums into the value), so `bootstrap.item_intervals` can resample items
for 95% intervals with one matrix product for all metrics together.

Ties (see data.py: tied completions share their average rank):
- pairwise agreement compares the *sign* of each completion pair: two labelers agree on a pair when both put
  the same one first, or both tie it. A tie never agrees with a strict order.
- Kendall's W uses the standard tie correction, tau-b is tie-aware by definition, and Krippendorff's alpha
  treats average ranks as values (multiples of 0.5, 2k-1 possible values).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bot.consensus.data import RankingSet

__all__ = [
    "ItemStatistic", "LabelerTau", "pair_signs", "agreement_counts", "ranking_agreement", "pairwise_agreement",
    "kendall_w_per_item", "kendall_w", "krippendorff_alpha", "alpha_statistic", "loo_tau", "labeler_tau",
    "mean_loo_tau", "rowwise_tau_b", "position_bias",
]


@dataclass(frozen=True)
class ItemStatistic:
    """A campaign-level statistic that is a function of per-item sums (the unit a bootstrap resamples)."""

    name: str
    features: np.ndarray  # (n_items, f)
    finish: Callable[[np.ndarray], np.ndarray]  # (B, f) column sums -> (B,) values

    @property
    def value(self) -> float:
        return float(self.finish(self.features.sum(axis=0, keepdims=True))[0])


def _ratio(sums: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sums[:, 1] > 0, sums[:, 0] / np.where(sums[:, 1] > 0, sums[:, 1], 1), np.nan)


def pair_signs(ranks: np.ndarray) -> np.ndarray:
    """(n, P) int8: for each completion pair i<j, +1 if slot i ranked better, -1 if worse, 0 if tied."""
    i, j = np.triu_indices(ranks.shape[1], 1)
    return np.sign(ranks[:, j] - ranks[:, i]).astype(np.int8)


def rowwise_tau_b(x: np.ndarray, y: np.ndarray, *, tolerance: float = 0.0) -> np.ndarray:
    """Kendall tau-b between matching rows of two (n, k) score matrices (NaN where a row is all ties).

    Differences within `tolerance` count as ties (for weighted means, whose sums are not exact)."""
    i, j = np.triu_indices(x.shape[1], 1)
    dx, dy = x[:, j] - x[:, i], y[:, j] - y[:, i]
    sx = np.where(np.abs(dx) <= tolerance, 0, np.sign(dx))
    sy = np.where(np.abs(dy) <= tolerance, 0, np.sign(dy))
    denominator = np.sqrt(np.count_nonzero(sx, axis=1) * np.count_nonzero(sy, axis=1).astype(np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (sx * sy).sum(axis=1) / np.where(denominator > 0, denominator, 1), np.nan)


# --- pairwise agreement (InstructGPT) ---------------------------------------------------------------------------

def agreement_counts(item: np.ndarray, signs: np.ndarray, n_items: int) -> tuple[np.ndarray, np.ndarray]:
    """Per item: agreeing (ranking pair, completion pair) combinations, and all such combinations.

    Over the m rankings of an item, a completion pair with c_v rankings of sign v has sum_v C(c_v, 2) agreeing
    ranking pairs, out of C(m, 2): no loop over ranking pairs."""
    p = signs.shape[1]
    cell = (item[:, None] * p + np.arange(p)) * 3 + (signs + 1)
    counts = np.bincount(cell.ravel(), minlength=n_items * p * 3).astype(np.float64)
    agree = (counts * (counts - 1) / 2).reshape(n_items, p * 3).sum(axis=1)
    m = np.bincount(item, minlength=n_items).astype(np.float64)
    return agree, m * (m - 1) / 2 * p


def ranking_agreement(rankings: RankingSet) -> tuple[np.ndarray, np.ndarray]:
    """Per ranking: agreeing (other ranking, completion pair) combinations and all of them.

    Summed over rankings this counts every pair of rankings twice, so the pooled ratio equals the pairwise
    agreement; binned by time or labeler it shows who or when the crowd agrees."""
    item, n_items = rankings.item, rankings.n_items
    signs = pair_signs(rankings.ranks)
    p = signs.shape[1]
    cell = (item[:, None] * p + np.arange(p)) * 3 + (signs + 1)
    counts = np.bincount(cell.ravel(), minlength=n_items * p * 3)
    agree = (counts[cell] - 1).sum(axis=1).astype(np.float64)
    others = np.bincount(item, minlength=n_items)[item] - 1
    return agree, (others * p).astype(np.float64)


def pairwise_agreement(rankings: RankingSet) -> ItemStatistic:
    """Share of completion pairs ordered the same way, over all pairs of rankings of the same item (pooled)."""
    agree, total = agreement_counts(rankings.item, pair_signs(rankings.ranks), rankings.n_items)
    return ItemStatistic("pairwise_agreement", np.column_stack([agree, total]), _ratio)


# --- Kendall's W ------------------------------------------------------------------------------------------------

def tie_terms(ranks: np.ndarray) -> np.ndarray:
    """Per ranking sum over tie groups of t^3 - t (each member of a group of size t adds t^2 - 1)."""
    sizes = (ranks[:, :, None] == ranks[:, None, :]).sum(axis=2)
    return (sizes.astype(np.float64) ** 2 - 1).sum(axis=1)


def kendall_w_per_item(rankings: RankingSet) -> np.ndarray:
    """Kendall's W with tie correction per item: 12 S / (m^2 (k^3 - k) - m sum T); NaN with < 2 rankings or when
    every ranking of the item is one big tie."""
    item, ranks, n_items, k = rankings.item, rankings.ranks, rankings.n_items, rankings.k
    m = np.bincount(item, minlength=n_items).astype(np.float64)
    rank_sums = np.column_stack([np.bincount(item, weights=ranks[:, j], minlength=n_items) for j in range(k)])
    s = ((rank_sums - m[:, None] * (k + 1) / 2) ** 2).sum(axis=1)
    denominator = m ** 2 * (k ** 3 - k) - m * np.bincount(item, weights=tie_terms(ranks), minlength=n_items)
    ok = (m >= 2) & (denominator > 1e-9)
    return np.where(ok, 12 * s / np.where(ok, denominator, 1), np.nan)


def kendall_w(rankings: RankingSet, per_item: np.ndarray | None = None) -> ItemStatistic:
    """Mean of the per-item W over items where it is defined (pass `per_item` to reuse a computed W)."""
    w = kendall_w_per_item(rankings) if per_item is None else per_item
    defined = ~np.isnan(w)
    return ItemStatistic("kendall_w", np.column_stack([np.where(defined, w, 0.0), defined]), _ratio)


# --- Krippendorff's alpha ---------------------------------------------------------------------------------------

def coincidences(rankings: RankingSet) -> np.ndarray:
    """Per item, the upper triangle of Krippendorff's coincidence matrix over rank values (flattened).

    Units are (item, completion slot), coders are rankings, values are average ranks 1, 1.5, ..., k (2k-1 values).
    A unit with m >= 2 values adds n_c n_d / (m - 1) for c != d and n_c (n_c - 1) / (m - 1) on the diagonal."""
    item, n_items, k = rankings.item, rankings.n_items, rankings.k
    v = 2 * k - 1
    value = np.rint(rankings.ranks * 2).astype(np.int64) - 2
    cell = ((item[:, None] * k + np.arange(k)) * v + value).ravel()
    counts = np.bincount(cell, minlength=n_items * k * v).reshape(n_items, k, v).astype(np.float64)
    m = counts.sum(axis=2)
    scale = np.where(m >= 2, 1 / np.maximum(m - 1, 1), 0.0)
    scaled = counts * scale[:, :, None]
    matrix = np.matmul(scaled.transpose(0, 2, 1), counts).reshape(n_items, v * v)  # batched (v x k) @ (k x v)
    diagonal = np.arange(v) * (v + 1)
    matrix[:, diagonal] -= scaled.sum(axis=1)
    upper_i, upper_j = np.triu_indices(v)
    return matrix[:, upper_i * v + upper_j] * np.where(upper_i == upper_j, 1.0, 2.0)


def _alpha_finish(k: int, level: str) -> Callable[[np.ndarray], np.ndarray]:
    v = 2 * k - 1
    upper_i, upper_j = np.triu_indices(v)
    values = 1 + np.arange(v) / 2

    def finish(sums: np.ndarray) -> np.ndarray:
        half = sums / np.where(upper_i == upper_j, 1.0, 2.0)
        o = np.zeros((len(sums), v, v))
        o[:, upper_i, upper_j] = half
        o[:, upper_j, upper_i] = half
        n_c = o.sum(axis=2)
        n = n_c.sum(axis=1)
        if level == "interval":
            delta = np.broadcast_to((values[:, None] - values[None, :]) ** 2, o.shape)
        else:  # ordinal: (sum of n_g from c to d, minus half the end points)^2
            cum = np.cumsum(n_c, axis=1)
            low = np.minimum.outer(np.arange(v), np.arange(v))
            high = np.maximum.outer(np.arange(v), np.arange(v))
            between = cum[:, high] - cum[:, low] + n_c[:, low]
            delta = (between - (n_c[:, :, None] + n_c[:, None, :]) / 2) ** 2
        observed = (o * delta).sum(axis=(1, 2))
        expected = (n_c[:, :, None] * n_c[:, None, :] * delta).sum(axis=(1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(expected > 0, 1 - (n - 1) * observed / np.where(expected > 0, expected, 1), np.nan)

    return finish


def alpha_statistic(rankings: RankingSet, level: str = "ordinal",
                    features: np.ndarray | None = None) -> ItemStatistic:
    """Krippendorff's alpha on rank positions, `level` "ordinal" or "interval" (pass `features` to share them)."""
    if level not in ("ordinal", "interval"):
        raise ValueError(f"level must be ordinal or interval, not {level!r}")
    features = coincidences(rankings) if features is None else features
    return ItemStatistic(f"krippendorff_alpha_{level}", features, _alpha_finish(rankings.k, level))


def krippendorff_alpha(rankings: RankingSet, level: str = "ordinal") -> float:
    return alpha_statistic(rankings, level).value


# --- Kendall tau-b with the leave-one-out consensus (feeds the trust score) ---------------------------------------

def loo_tau(rankings: RankingSet, weights: np.ndarray | None = None) -> np.ndarray:
    """Per ranking: tau-b between it and the mean ranks of the *other* rankings of its item (optionally
    weighted, e.g. by labeler trust). NaN when no other ranking of the item exists or either side is all ties."""
    item, ranks, n_items = rankings.item, rankings.ranks, rankings.n_items
    w = np.ones(rankings.n) if weights is None else np.asarray(weights, dtype=np.float64)
    sums = np.column_stack([np.bincount(item, weights=w * ranks[:, j], minlength=n_items) for j in range(rankings.k)])
    others = sums[item] - w[:, None] * ranks  # the sum, not the mean: same signs, exact for integer weights
    other_weight = np.bincount(item, weights=w, minlength=n_items)[item] - w
    tau = rowwise_tau_b(ranks, others, tolerance=0.0 if weights is None else 1e-9 * max(1.0, float(w.max())))
    return np.where(other_weight > 1e-12, tau, np.nan)


@dataclass(frozen=True)
class LabelerTau:
    """Mean tau-b of each labeler's rankings with the leave-one-out consensus; `n` = rankings with a defined tau."""

    keys: np.ndarray
    tau: np.ndarray
    n: np.ndarray

    def as_dict(self) -> dict:
        return {key: (float(t), int(c)) for key, t, c in zip(self.keys, self.tau, self.n, strict=True) if c > 0}


def labeler_tau(rankings: RankingSet, weights: np.ndarray | None = None,
                per_ranking: np.ndarray | None = None) -> LabelerTau:
    """Per labeler: mean of `loo_tau` over their rankings (NaN for a labeler with no defined tau).

    This is the agreement part of the trust score: a spammer's random orders average near 0, an honest
    labeler's near the crowd's own agreement."""
    tau = loo_tau(rankings, weights) if per_ranking is None else per_ranking
    defined = ~np.isnan(tau)
    n = np.bincount(rankings.labeler[defined], minlength=rankings.n_labelers)
    total = np.bincount(rankings.labeler[defined], weights=tau[defined], minlength=rankings.n_labelers)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, total / np.maximum(n, 1), np.nan)
    return LabelerTau(rankings.labeler_keys, mean, n)


def mean_loo_tau(rankings: RankingSet, per_ranking: np.ndarray | None = None) -> ItemStatistic:
    """Mean per-ranking tau with the leave-one-out consensus, as an item statistic for the bootstrap."""
    tau = loo_tau(rankings) if per_ranking is None else per_ranking
    defined = ~np.isnan(tau)
    features = np.column_stack([
        np.bincount(rankings.item[defined], weights=tau[defined], minlength=rankings.n_items),
        np.bincount(rankings.item[defined], minlength=rankings.n_items)])
    return ItemStatistic("loo_tau", features, _ratio)


# --- position bias ----------------------------------------------------------------------------------------------

def position_bias(rankings: RankingSet) -> ItemStatistic:
    """Share of rankings that put the completion *shown first* in first place (chance is 1/k).

    A first place shared by a tie of t completions counts 1/t. Rankings without a stored shown order are left out."""
    known = rankings.shown_first >= 0
    ranks = rankings.ranks[known]
    first = ranks[np.arange(len(ranks)), rankings.shown_first[known].astype(np.int64)]
    top = first == ranks.min(axis=1)
    credit = np.where(top, 1 / (2 * first - 1), 0.0)  # the top tie group of size t has average rank (1 + t) / 2
    item = rankings.item[known]
    features = np.column_stack([np.bincount(item, weights=credit, minlength=rankings.n_items),
                                np.bincount(item, minlength=rankings.n_items)])
    return ItemStatistic("position_bias", features, _ratio)
