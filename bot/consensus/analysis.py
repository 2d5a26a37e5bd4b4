"""The whole report computation on a `RankingSet`, without I/O: metrics with bootstrap intervals, consensus orders
(global and per region), region agreement, contested items, position bias, agreement over time, labelers, and —
when the simulator's hidden truth is known — how well the consensus and the trust score recover it.

`analyze` is sync CPU work (callers run it off the event loop); `bench/consensus.py` times exactly this.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from bot.consensus import metrics
from bot.consensus.aggregate import METHODS, ConsensusOrders, aggregate, bradley_terry
from bot.consensus.bootstrap import item_intervals
from bot.consensus.data import RankingSet
from bot.consensus.regions import (
    POOLED,
    ContestScores,
    RegionMatrix,
    consensus_tau,
    contest_scores,
    pooled_region_consensus,
    region_matrix,
)
from bot.consensus.truth import Truth

__all__ = ["Analysis", "analyze", "clean"]

TRUST_THRESHOLD = 0.5  # default for plain rankings; the report passes bot.quality.TRUST_THRESHOLD
TIME_BINS = 12


def clean(value: object) -> object:
    """JSON-safe: NaN becomes None, NumPy scalars become Python numbers, containers recursively."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    return value


@dataclass
class Analysis:
    rankings: RankingSet
    summary: dict
    consensus: dict[tuple[str, str], ConsensusOrders]  # (scope, method): scope "all" or a region name
    item_w: np.ndarray
    item_agreement: np.ndarray
    contest: ContestScores
    contested: np.ndarray  # item indexes, most contested first
    matrix: RegionMatrix
    labelers: dict[str, np.ndarray]
    timeline: dict[str, np.ndarray]
    region_w: dict[str, np.ndarray] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # per analysis step


class _Steps:
    """The analysis steps: a tqdm bar when asked for, and the seconds each step took (the benchmark prints them)."""

    def __init__(self, total: int, progress: bool) -> None:
        self.bar = tqdm(total=total, desc="consensus report", disable=not progress, unit="step")
        self.seconds: dict[str, float] = {}
        self._name: str | None = None
        self._started = 0.0

    def begin(self, name: str) -> None:
        self._finish()
        self._name, self._started = name, time.perf_counter()
        self.bar.set_postfix_str(name)

    def _finish(self) -> None:
        if self._name is not None:
            self.seconds[self._name] = time.perf_counter() - self._started
            self.bar.update()
            self._name = None

    def close(self) -> None:
        self._finish()
        self.bar.close()


def _interval(pair: tuple[float, float]) -> list[float]:
    return [pair[0], pair[1]]


def _timeline(rankings: RankingSet, agree: np.ndarray, total: np.ndarray) -> dict[str, np.ndarray]:
    """Agreement of rankings with the other rankings of their item, in equal-count bins of submission time."""
    known = ~np.isnan(rankings.created) & (total > 0)
    if known.sum() < 2:
        return {"start": np.array([]), "agreement": np.array([]), "rankings": np.array([])}
    order = np.argsort(rankings.created[known], kind="stable")
    bins = np.array_split(order, min(TIME_BINS, len(order)))
    created, a, t = rankings.created[known], agree[known], total[known]
    return {"start": np.array([created[b].min() for b in bins]),
            "agreement": np.array([a[b].sum() / t[b].sum() for b in bins]),
            "rankings": np.array([len(b) for b in bins])}


def _labelers(rankings: RankingSet, tau: metrics.LabelerTau, agree: np.ndarray, total: np.ndarray,
              trust: np.ndarray | None) -> dict[str, np.ndarray]:
    n_labelers = rankings.n_labelers
    count = np.bincount(rankings.labeler, minlength=n_labelers)
    a = np.bincount(rankings.labeler, weights=agree, minlength=n_labelers)
    t = np.bincount(rankings.labeler, weights=total, minlength=n_labelers)
    last = np.full(n_labelers, -1)
    last[rankings.labeler] = rankings.region  # the region of each labeler's last ranking in input order
    with np.errstate(invalid="ignore", divide="ignore"):
        agreement = np.where(t > 0, a / np.maximum(t, 1), np.nan)
    return {"key": rankings.labeler_keys, "rankings": count, "region": last, "loo_tau": tau.tau,
            "agreement": agreement,
            "trust": np.full(n_labelers, np.nan) if trust is None else np.asarray(trust, dtype=np.float64)}


def _truth_report(truth: Truth, rankings: RankingSet, consensus: dict[tuple[str, str], ConsensusOrders],
                  labelers: dict[str, np.ndarray], contest: ContestScores, threshold: float) -> dict:
    known = ~np.isnan(truth.true_ranks).any(axis=1)
    recovery = {}
    for (scope, method), orders in consensus.items():
        if scope != "all":
            continue
        use = known & (orders.n > 0)
        tau = metrics.rowwise_tau_b(orders.scores[use], -truth.true_ranks[use])
        recovery[method] = {"mean_tau": float(np.nanmean(tau)) if use.any() else float("nan"),
                            "exact_share": float(np.mean(tau > 1 - 1e-9)) if use.any() else float("nan"),
                            "items": int(use.sum())}
    regional = {}
    for region, true_ranks in truth.region_ranks.items():
        orders, pooled = consensus.get((region, "bradley_terry")), consensus.get((region, POOLED))
        use = (~np.isnan(true_ranks).any(axis=1)) & (orders.n > 0) if orders is not None else np.zeros(0, bool)
        if use.any() and pooled is not None:
            tau = metrics.rowwise_tau_b(orders.scores[use], -true_ranks[use])
            pooled_tau = metrics.rowwise_tau_b(pooled.scores[use], -true_ranks[use])
            regional[region] = {"mean_tau": float(np.nanmean(tau)), "pooled_mean_tau": float(np.nanmean(pooled_tau)),
                                "items": int(use.sum())}
    kinds = np.array([truth.labeler_kind.get(str(key), "unknown") for key in labelers["key"]])
    spammer = np.isin(kinds, ["random", "in_order"])
    trusted = ~np.isnan(labelers["trust"])
    flagged = trusted & (labelers["trust"] < threshold)
    hits = int((flagged & spammer).sum())
    planted = np.isin(rankings.item_ids.astype(str), sorted(truth.contested))
    top = contest.top(int(planted.sum()))
    found = int(planted[top].sum()) if len(top) else 0
    scored = ~np.isnan(contest.score)
    hit, miss = contest.score[scored & planted], contest.score[scored & ~planted]
    # AUC: the chance that a planted item scores above an unplanted one (ties count half)
    auc = float(((hit[:, None] > miss[None, :]).mean() + 0.5 * (hit[:, None] == miss[None, :]).mean())
                if len(hit) and len(miss) else float("nan"))
    return {
        "recovery": recovery,
        "region_recovery": regional,  # each region's consensus (own rankings; pooled) against its true order
        "spammers": {"threshold": threshold, "spammers": int(spammer.sum()), "flagged": int(flagged.sum()),
                     "with_trust": int(trusted.sum()), "true_positives": hits,
                     "precision": hits / flagged.sum() if flagged.any() else float("nan"),
                     "recall": hits / spammer.sum() if spammer.any() else float("nan")},
        "contested": {"planted": int(planted.sum()), "found_in_top": found, "top_n": int(len(top)),
                      "precision": found / len(top) if len(top) else float("nan"),
                      "chance": float(planted.mean()) if len(planted) else float("nan"), "auc": auc},
    }


def analyze(rankings: RankingSet, *, trust: np.ndarray | None = None, truth: Truth | None = None,
            n_boot: int = 1000, top_contested: int = 20, trust_threshold: float = TRUST_THRESHOLD,
            methods: tuple[str, ...] = METHODS, progress: bool = False, seed: int = 0,
            between_from_first: int | None = None) -> Analysis:
    """Everything the report shows. `trust` is per labeler index (NaN = unknown); when any trust is known,
    Bradley-Terry weighted by trust is added as method "bradley_terry_trust" (unknown trust counts as the median
    of the known ones, so a newcomer is neither ignored nor trusted above the crowd). `between_from_first`: see
    `region_matrix` (a campaign with adaptive votes passes its MIN)."""
    steps = _Steps(6 if truth is not None else 5, progress)
    names = rankings.region_names

    steps.begin("agreement metrics")
    agreement = metrics.pairwise_agreement(rankings)
    w_per_item = metrics.kendall_w_per_item(rankings)
    w_stat = metrics.kendall_w(rankings, w_per_item)
    coincidence = metrics.coincidences(rankings)
    alpha_o = metrics.alpha_statistic(rankings, "ordinal", coincidence)
    alpha_i = metrics.alpha_statistic(rankings, "interval", coincidence)
    per_ranking_tau = metrics.loo_tau(rankings)
    tau_stat = metrics.mean_loo_tau(rankings, per_ranking_tau)
    bias = metrics.position_bias(rankings)
    region_stats = [metrics.pairwise_agreement(rankings.subset(rankings.region == r)) for r in range(len(names))]

    steps.begin("bootstrap")
    stats = [agreement, w_stat, alpha_o, alpha_i, tau_stat, bias, *region_stats]
    intervals = item_intervals(stats, n_boot=n_boot, seed=seed)

    steps.begin("aggregation")
    consensus = {("all", method): aggregate(rankings, method) for method in methods}
    weights = None
    if trust is not None and not np.isnan(trust).all():
        fill = float(np.nanmedian(trust))
        weights = np.nan_to_num(np.asarray(trust, dtype=np.float64), nan=fill)[rankings.labeler]
        consensus[("all", "bradley_terry_trust")] = bradley_terry(rankings, weights)

    steps.begin("regions")
    matrix = region_matrix(rankings, between_from_first)
    contest = contest_scores(rankings)
    region_w: dict[str, np.ndarray] = {}
    region_summary = {}
    global_bt = consensus.get(("all", "bradley_terry")) or next(iter(consensus.values()))
    for r, name in enumerate(names):
        part = rankings.subset(rankings.region == r)
        for method in methods:
            consensus[(name, method)] = aggregate(part, method)
        region_w[name] = metrics.kendall_w_per_item(part)
        consensus[(name, POOLED)], borrowed = pooled_region_consensus(rankings, r)
        own = consensus.get((name, "bradley_terry")) or consensus[(name, methods[0])]
        tau, items = consensus_tau(own, global_bt)
        region_summary[name] = {
            "rankings": int(part.n), "labelers": int(len(np.unique(part.labeler))), "items": items,
            "pairwise_agreement": region_stats[r].value, "pairwise_agreement_ci": _interval(intervals[6 + r]),
            "tau_with_global": tau, "borrowing_weight": borrowed}
    no_region = int((rankings.region < 0).sum())

    steps.begin("labelers and time")
    agree, total = metrics.ranking_agreement(rankings)
    labeler_tau = metrics.labeler_tau(rankings, per_ranking=per_ranking_tau)
    labelers = _labelers(rankings, labeler_tau, agree, total, trust)
    timeline = _timeline(rankings, agree, total)
    votes = rankings.votes_per_item()

    summary = {
        "items": int(rankings.n_items), "items_ranked": int((votes > 0).sum()), "rankings": int(rankings.n),
        "labelers": int(len(np.unique(rankings.labeler))), "k": int(rankings.k),
        "votes_per_item": {"mean": float(votes.mean()) if len(votes) else float("nan"), "max": int(votes.max(
            initial=0))},
        "pairwise_agreement": agreement.value, "pairwise_agreement_ci": _interval(intervals[0]),
        "kendall_w": w_stat.value, "kendall_w_ci": _interval(intervals[1]),
        "krippendorff_alpha": alpha_o.value, "krippendorff_alpha_ci": _interval(intervals[2]),
        "krippendorff_alpha_interval": alpha_i.value, "krippendorff_alpha_interval_ci": _interval(intervals[3]),
        "loo_tau": tau_stat.value, "loo_tau_ci": _interval(intervals[4]),
        "position_bias": {"first_shown_ranked_first": bias.value, "ci": _interval(intervals[5]),
                          "chance": 1 / rankings.k, "rankings": int(bias.features[:, 1].sum())},
        "regions": region_summary, "rankings_without_region": no_region,
        "region_matrix": {a: {b: matrix.agreement[i, j] for j, b in enumerate(names)} for i, a in enumerate(names)},
        "region_matrix_between_from_first": between_from_first,
        "methods": sorted({method for _, method in consensus}), "bootstrap": {"resamples": n_boot, "level": 0.95},
        "ties": "average ranks; a tie agrees only with a tie in pairwise agreement",
    }
    contested = contest.top(top_contested)
    if truth is not None:
        steps.begin("hidden truth")
        summary["truth"] = _truth_report(truth, rankings, consensus, labelers, contest, trust_threshold)
    steps.close()
    return Analysis(rankings, clean(summary), consensus, w_per_item,
                    agreement.finish(agreement.features) if len(agreement.features) else np.array([]),
                    contest, contested, matrix, labelers, timeline, region_w, steps.seconds)
