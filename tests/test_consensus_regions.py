"""Region agreement matrix against brute force, a region with no votes, contested items on planted data, and the
`summarize` API."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from bot.consensus import summarize
from bot.consensus.aggregate import borda
from bot.consensus.data import RankingSet
from bot.consensus.regions import consensus_tau, contest_scores, region_matrix
from tests.test_consensus_metrics import random_set


def brute_matrix(rs: RankingSet) -> np.ndarray:
    r = rs.n_regions
    agree, total = np.zeros((r, r)), np.zeros((r, r))
    for i in range(rs.n_items):
        rows = np.flatnonzero((rs.item == i) & (rs.region >= 0))
        for a, b in itertools.combinations(rows, 2):
            ra, rb = rs.region[a], rs.region[b]
            for x, y in itertools.combinations(range(rs.k), 2):
                same = np.sign(rs.ranks[a, x] - rs.ranks[a, y]) == np.sign(rs.ranks[b, x] - rs.ranks[b, y])
                for p, q in {(ra, rb), (rb, ra)}:
                    agree[p, q] += same
                    total[p, q] += 1
    with np.errstate(invalid="ignore"):
        return agree / total


@pytest.mark.parametrize("seed", [0, 1])
def test_region_matrix_matches_brute_force(seed: int) -> None:
    rs = random_set(seed, n_items=20, regions=4)
    np.testing.assert_allclose(region_matrix(rs).agreement, brute_matrix(rs), atol=1e-12)


def test_region_without_votes_is_visible_and_undefined() -> None:
    rs = random_set(2, regions=3)
    rs = rs.subset(rs.region != 1)
    matrix = region_matrix(rs)
    assert np.isnan(matrix.agreement[1]).all() and np.isnan(matrix.agreement[:, 1]).all()
    summary = summarize(rs, n_boot=50)
    assert summary["regions"]["r1"]["rankings"] == 0
    assert summary["regions"]["r1"]["pairwise_agreement"] is None
    assert summary["region_matrix"]["r0"]["r1"] is None
    assert summary["region_matrix"]["r0"]["r2"] is not None


def planted_regions(seed: int, n_items: int = 60, contested: int = 8, votes: int = 3) -> tuple[RankingSet, set]:
    """Two regions rank by the same true order with noise, except on `contested` items where B reverses it."""
    rng = np.random.default_rng(seed)
    k = 4
    item = np.repeat(np.arange(n_items), 2 * votes)
    region = np.tile(np.repeat([0, 1], votes), n_items)
    truth = rng.normal(size=(n_items, k)) * 2
    flip = rng.choice(n_items, contested, replace=False)
    utility = truth[item] * np.where(np.isin(item, flip) & (region == 1), -1, 1)[:, None]
    order = np.argsort(-(utility + rng.gumbel(size=utility.shape)), axis=1)
    rs = RankingSet.from_orders(item, np.arange(len(item)), order, region=region, region_names=["A", "B"])
    return rs, set(flip.tolist())


def test_contested_items_are_the_planted_reversals() -> None:
    rs, flipped = planted_regions(0)
    contest = contest_scores(rs)
    top = set(contest.top(len(flipped)).tolist())
    assert len(top & flipped) >= len(flipped) - 2  # chance would give about 1 of 8
    assert np.nanmean(contest.score[list(flipped)]) > 0.3 > np.nanmean(np.delete(contest.score, list(flipped)))


def test_region_consensus_tau_drops_with_the_contested_items() -> None:
    rs, flipped = planted_regions(1, contested=30)
    overall = borda(rs)
    a, b = (borda(rs.subset(rs.region == r)) for r in (0, 1))
    tau_a, items_a = consensus_tau(a, overall)
    tau_b, _ = consensus_tau(b, overall)
    assert items_a == rs.n_items
    assert tau_b < tau_a


def test_summarize_plain_records() -> None:
    summary = summarize([
        {"item": "q1", "labeler": "ana", "region": "Europe", "best_first": ["a", "b", "c"]},
        {"item": "q1", "labeler": "bo", "region": "Asia", "best_first": ["a", "c", "b"]},
        {"item": "q1", "labeler": "cy", "region": "Asia", "best_first": ["b", "a", "c"], "ties": [False, True, False]},
    ], n_boot=100)
    assert summary["pairwise_agreement"] == pytest.approx(5 / 9)
    assert summary["regions"]["Asia"]["rankings"] == 2
    assert summary["regions"]["Asia"]["pairwise_agreement"] == pytest.approx(1 / 3)
    for key in ("items", "rankings", "labelers", "kendall_w", "krippendorff_alpha", "region_matrix"):
        assert key in summary


@pytest.mark.parametrize("k", [2, 9])
def test_summary_for_the_smallest_and_largest_k(k: int) -> None:
    rs = random_set(8, n_items=30, k=k, votes=(2, 4))
    summary = summarize(rs, n_boot=100)
    assert summary["k"] == k and summary["rankings"] == rs.n
    for key in ("pairwise_agreement", "kendall_w", "krippendorff_alpha", "krippendorff_alpha_interval", "loo_tau"):
        value, (low, high) = summary[key], summary[f"{key}_ci"]
        assert value is not None and low <= value <= high
    assert set(summary["methods"]) == {"bradley_terry", "borda", "ranked_pairs"}
