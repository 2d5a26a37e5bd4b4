"""Benchmark: the whole consensus report computation for 300,000 rankings (100,000 items, k = 4, 3 votes,
6 regions), synthetic and in memory, with time and peak memory; then each metric against its reference package
computing the same figure in the same run, on the same rankings.

    .venv/bin/python bench/consensus.py            # full size (goal: <= 20 s and <= 2 GB for everything)
    .venv/bin/python bench/consensus.py --quick    # 10,000 items

References: naive brute-force pairwise agreement (every pair of rankings of an item, every completion pair),
the closed form of Kendall's W per item, the `krippendorff` package (on its fast `value_counts` input, built
from the rankings with one bincount), `scipy.stats.kendalltau` per ranking against the leave-one-out mean,
`choix.mm_pairwise` per item, and a plain per-item ranked pairs. Slow references run on a random subset of items;
crowdrank is timed on the very same subset for the ratio (and on the full set in the first table).
"""

from __future__ import annotations

import argparse
import itertools
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import choix  # noqa: E402
import krippendorff  # noqa: E402
from scipy.stats import kendalltau  # noqa: E402

from bot.consensus import metrics  # noqa: E402
from bot.consensus.aggregate import BT_PRIOR, borda, bradley_terry, ranked_pairs, win_matrix  # noqa: E402
from bot.consensus.analysis import analyze  # noqa: E402
from bot.consensus.data import RankingRecord, RankingSet  # noqa: E402
from bot.consensus.plots import figures  # noqa: E402

K, VOTES, REGIONS = 4, 3, 6


def synthetic(n_items: int, seed: int = 0) -> list[RankingRecord]:
    """A crowd with a true quality per completion, a taste per region, 10% random spammers, 5% ties."""
    rng = np.random.default_rng(seed)
    n = n_items * VOTES
    labelers = max(60, n // 100)
    item = np.repeat(np.arange(n_items), VOTES)
    labeler = rng.integers(0, labelers, n)
    region = labeler % REGIONS
    quality = rng.normal(size=(n_items, K))
    taste = rng.normal(size=(REGIONS, K)) * 0.7
    utility = quality[item] + taste[region] + rng.gumbel(size=(n, K))
    spammer = labeler % 10 == 0
    utility[spammer] = rng.random((int(spammer.sum()), K))
    order = np.argsort(-utility, axis=1)
    ties = rng.random((n, K)) < 0.05
    shown = np.argsort(rng.random((n, K)), axis=1)
    completion = item[:, None] * K + np.arange(K)
    best = np.take_along_axis(completion, order, axis=1).tolist()
    shown_ids = np.take_along_axis(completion, shown, axis=1).tolist()
    names = [f"region-{r}" for r in range(REGIONS)]
    created = 1.7e9 + np.sort(rng.random(n)) * 86400 * 14
    return [RankingRecord(item=int(item[r]), labeler=f"lab_{labeler[r]}", best_first=best[r], ties=ties[r].tolist(),
                          region=names[region[r]], shown_order=shown_ids[r], created_at=float(created[r]),
                          ranking_id=r) for r in range(n)]


def timed(work: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


# --- references ---------------------------------------------------------------------------------------------------

def brute_agreement(rs: RankingSet) -> float:
    rows_of: dict[int, list[int]] = {}
    for r, i in enumerate(rs.item.tolist()):
        rows_of.setdefault(i, []).append(r)
    ranks = rs.ranks.tolist()
    agree = total = 0
    for rows in rows_of.values():
        for a, b in itertools.combinations(rows, 2):
            ra, rb = ranks[a], ranks[b]
            for x, y in itertools.combinations(range(rs.k), 2):
                total += 1
                agree += (ra[x] > ra[y]) - (ra[x] < ra[y]) == (rb[x] > rb[y]) - (rb[x] < rb[y])
    return agree / total


def closed_form_w(rs: RankingSet) -> float:
    values = []
    for i in range(rs.n_items):
        ranks = rs.ranks[rs.item == i]
        m, n = ranks.shape
        if m < 2:
            continue
        s = ((ranks.sum(axis=0) - m * (n + 1) / 2) ** 2).sum()
        ties = sum((c ** 3 - c).sum() for c in (np.unique(row, return_counts=True)[1] for row in ranks))
        denominator = m ** 2 * (n ** 3 - n) - m * ties
        if denominator > 0:
            values.append(12 * s / denominator)
    return float(np.mean(values))


def value_counts(rs: RankingSet) -> np.ndarray:
    """Units (item x completion) x values (ranks 1, 1.5, ..., k): the krippendorff package's fast input."""
    v = 2 * rs.k - 1
    value = np.rint(rs.ranks * 2).astype(np.int64) - 2
    cell = ((rs.item[:, None] * rs.k + np.arange(rs.k)) * v + value).ravel()
    return np.bincount(cell, minlength=rs.n_items * rs.k * v).reshape(-1, v)


def scipy_tau(rs: RankingSet) -> float:
    rows_of: dict[int, list[int]] = {}
    for r, i in enumerate(rs.item.tolist()):
        rows_of.setdefault(i, []).append(r)
    values = []
    for rows in rows_of.values():
        for r in rows:
            others = [q for q in rows if q != r]
            if others:
                tau = kendalltau(rs.ranks[r], rs.ranks[others].mean(axis=0)).statistic
                if not np.isnan(tau):
                    values.append(tau)
    return float(np.mean(values))


def choix_bt(rs: RankingSet) -> np.ndarray:
    """choix takes whole comparisons: a tie's half win each becomes one of two doubled comparisons, and the
    prior doubles with them (the MM fixed point (2W + 2a) / (2D + 2a) is unchanged)."""
    doubled = np.rint(2 * win_matrix(rs)).astype(int)
    scores = np.zeros((rs.n_items, rs.k))
    for i in range(rs.n_items):
        data = [(a, b) for a in range(rs.k) for b in range(rs.k) for _ in range(doubled[i, a, b])]
        scores[i] = choix.mm_pairwise(rs.k, data, alpha=2 * BT_PRIOR)
    return scores


def plain_ranked_pairs(rs: RankingSet) -> np.ndarray:
    wins, tiebreak = win_matrix(rs), borda(rs).order
    orders = np.zeros((rs.n_items, rs.k), dtype=np.int64)
    for i in range(rs.n_items):
        position = {slot: p for p, slot in enumerate(tiebreak[i])}
        pairs = sorted(((wins[i, a, b] - wins[i, b, a], a, b) for a in range(rs.k) for b in range(rs.k)
                        if a != b and wins[i, a, b] > wins[i, b, a]),
                       key=lambda p: (-p[0], position[p[1]], position[p[2]]))
        reach = np.zeros((rs.k, rs.k), dtype=bool)
        for _, a, b in pairs:
            if not reach[b, a]:
                closed = reach | np.eye(rs.k, dtype=bool)
                reach |= np.outer(closed[:, a], closed[b, :])
        beaten = reach.sum(axis=1)
        orders[i] = sorted(range(rs.k), key=lambda a: (-beaten[a], position[a]))
    return orders


# --- runs -------------------------------------------------------------------------------------------------------

def whole_report(records: list[RankingRecord], n_boot: int) -> tuple[list[tuple[str, float]], RankingSet]:
    """The report computation from plain rankings to figures; returns stage times. Memory is the process's peak
    RSS (tracemalloc would slow the record loading several times over)."""
    stages = []
    seconds, rs = timed(lambda: RankingSet.from_records(records))
    stages.append(("load 300k records into arrays" if len(records) == 300_000 else "load records into arrays",
                   seconds))
    seconds, analysis = timed(lambda: analyze(rs, n_boot=n_boot, progress=True))  # type: ignore[arg-type]
    stages.append((f"analyze ({n_boot} bootstrap resamples, 3 methods x 7 scopes)", seconds))
    stages += [(f"  - {step}", step_seconds) for step, step_seconds in analysis.seconds.items()]  # type: ignore[attr-defined]
    seconds, _ = timed(lambda: figures(analysis))  # type: ignore[arg-type]
    stages.append(("figures (4 PNG plots, matplotlib import included)", seconds))
    return stages, rs  # type: ignore[return-value]


def compare(rs: RankingSet, subset_items: int, seed: int) -> list[tuple]:
    rng = np.random.default_rng(seed)
    chosen = np.zeros(rs.n_items, dtype=bool)
    chosen[rng.choice(rs.n_items, min(subset_items, rs.n_items), replace=False)] = True
    remap = np.cumsum(chosen) - 1
    keep = chosen[rs.item]
    small = RankingSet.from_orders(remap[rs.item[keep]], rs.labeler[keep], np.argsort(rs.ranks[keep], axis=1),
                                   ties=None)
    small = RankingSet(item=small.item, labeler=small.labeler, region=rs.region[keep], ranks=rs.ranks[keep],
                       item_ids=np.arange(int(chosen.sum())), completion_ids=small.completion_ids,
                       labeler_keys=rs.labeler_keys)
    rows = []
    cases: list[tuple[str, RankingSet, Callable[[], object], Callable[[], object], Callable[[object, object], float]]]
    cases = [
        ("pairwise agreement (brute force)", rs, lambda: metrics.pairwise_agreement(rs).value,
         lambda: brute_agreement(rs), lambda a, b: abs(a - b)),
        ("Kendall W (closed form per item)", small, lambda: metrics.kendall_w(small).value,
         lambda: closed_form_w(small), lambda a, b: abs(a - b)),
        ("Krippendorff alpha ordinal (krippendorff)", rs, lambda: metrics.krippendorff_alpha(rs, "ordinal"),
         lambda: krippendorff.alpha(value_counts=value_counts(rs), value_domain=1 + np.arange(2 * rs.k - 1) / 2,
                                    level_of_measurement="ordinal"), lambda a, b: abs(a - b)),
        ("Krippendorff alpha interval (krippendorff)", rs, lambda: metrics.krippendorff_alpha(rs, "interval"),
         lambda: krippendorff.alpha(value_counts=value_counts(rs), value_domain=1 + np.arange(2 * rs.k - 1) / 2,
                                    level_of_measurement="interval"), lambda a, b: abs(a - b)),
        ("LOO tau-b (scipy kendalltau per ranking)", small, lambda: float(np.nanmean(metrics.loo_tau(small))),
         lambda: scipy_tau(small), lambda a, b: abs(a - b)),
        ("Bradley-Terry (choix.mm_pairwise per item)", small, lambda: bradley_terry(small).scores,
         lambda: choix_bt(small), lambda a, b: float(np.abs(np.asarray(a) - np.asarray(b)).max())),
        ("ranked pairs (plain per-item loop)", small, lambda: ranked_pairs(small).order,
         lambda: plain_ranked_pairs(small), lambda a, b: float((np.asarray(a) != np.asarray(b)).any(axis=1).mean())),
    ]
    for name, data, mine, reference, difference in tqdm(cases, desc="references", unit="metric"):
        mine_seconds, mine_value = timed(mine)
        ref_seconds, ref_value = timed(reference)
        rows.append((name, data.n, mine_seconds, ref_seconds, difference(mine_value, ref_value)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 items instead of 100,000")
    parser.add_argument("--items", type=int, default=None, help="number of items (overrides --quick)")
    parser.add_argument("--subset", type=int, default=None, help="items for the slow references")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples")
    args = parser.parse_args()
    n_items = args.items or (10_000 if args.quick else 100_000)
    subset = args.subset or (1_000 if args.quick else 3_000)

    print(f"generating {n_items * VOTES:,} rankings ({n_items:,} items, k={K}, {VOTES} votes, {REGIONS} regions)")
    records = synthetic(n_items)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    stages, rs = whole_report(records, args.resamples)
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    del records
    total = sum(seconds for name, seconds in stages if not name.startswith("  - "))

    print(f"\nwhole report computation, {rs.n:,} rankings")
    for name, seconds in stages:
        print(f"  {name:<60} {seconds:7.2f} s")
    print(f"  {'total':<60} {total:7.2f} s   (goal <= 20 s: {'met' if total <= 20 else 'MISSED'})")
    print(f"  peak memory (process max RSS, everything incl. the input records): {rss_after:,.0f} MiB; before the "
          f"computation {rss_before:,.0f} MiB   (goal <= 2048 MiB: {'met' if rss_after <= 2048 else 'MISSED'})")

    rows = compare(rs, subset, seed=1)
    print(f"\neach metric against its reference, same rankings, same run (slow references on {subset:,} items)")
    print(f"  {'metric (reference)':<46} {'rankings':>9} {'crowdrank':>11} {'reference':>11} {'speed-up':>9} "
          f"{'max diff':>9}")
    for name, n, mine, reference, difference in rows:
        print(f"  {name:<46} {n:>9,} {mine:>9.4f} s {reference:>9.3f} s {reference / mine:>8.1f}x "
              f"{difference:>9.1e}")
    slowest = min(reference / mine for _, _, mine, reference, _ in rows)
    print(f"  every metric at least as fast as its reference: {'yes' if slowest >= 1 else 'NO'} "
          f"(smallest speed-up {slowest:.1f}x)")


if __name__ == "__main__":
    main()
