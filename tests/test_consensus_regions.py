"""Region agreement matrix against brute force, a region with no votes, contested items on planted data, the pooled
region consensus, and the `summarize` API."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from bot.consensus import summarize
from bot.consensus.aggregate import borda, bradley_terry
from bot.consensus.data import RankingSet
from bot.consensus.metrics import rowwise_tau_b
from bot.consensus.regions import (
    BORROW_GRID,
    borrowing_weight,
    consensus_tau,
    contest_scores,
    first_rankings,
    pooled_region_consensus,
    region_matrix,
)
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


def test_first_rankings_are_each_item_s_earliest_submissions() -> None:
    rs = random_set(3, n_items=20)
    rs = replace(rs, ranking_ids=np.random.default_rng(0).permutation(rs.n) + 100)
    mask = first_rankings(rs, 2)
    for i in range(rs.n_items):
        rows = np.flatnonzero(rs.item == i)
        earliest = rows[np.argsort(rs.ranking_ids[rows])][:2]
        assert set(np.flatnonzero(mask & (rs.item == i))) == set(earliest)


def test_between_from_first_counts_only_the_first_rankings_between_regions() -> None:
    rs = random_set(4, n_items=30, regions=3)
    matrix = region_matrix(rs, between_from_first=3).agreement
    first = brute_matrix(rs.subset(first_rankings(rs, 3)))
    every = brute_matrix(rs)
    off = ~np.eye(3, dtype=bool)
    np.testing.assert_allclose(matrix[off], first[off], atol=1e-12)
    np.testing.assert_allclose(np.diag(matrix), np.diag(every), atol=1e-12)


def test_between_from_first_undoes_the_pull_of_rankings_taken_because_others_disagreed() -> None:
    """An adaptive design in miniature: every item takes one ranking from each region; only items whose two first
    rankings disagree on the top take four more. Counting those later rankings makes the regions look further
    apart than the same crowd ranking every item six times; the first two do not."""
    rng = np.random.default_rng(7)
    n_items, k = 600, 4
    quality = rng.normal(size=(n_items, k)) * 2
    item = np.repeat(np.arange(n_items), 6)
    region = np.tile([0, 1, 0, 1, 0, 1], n_items)
    order = np.argsort(-(quality[item] + rng.gumbel(size=(len(item), k))), axis=1)
    dense = RankingSet.from_orders(item, np.arange(len(item)), order, region=region, region_names=["A", "B"])
    place = np.tile(np.arange(6), n_items)
    disagree = np.repeat(order[place == 0, 0] != order[place == 1, 0], 6)
    adaptive = dense.subset((place < 2) | disagree)
    truth = region_matrix(dense).agreement[0, 1]
    every = region_matrix(adaptive).agreement[0, 1]
    first = region_matrix(adaptive, between_from_first=2).agreement[0, 1]
    assert every < truth - 0.02
    assert abs(first - truth) < 0.02


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


def planted_regions(seed: int, n_items: int = 60, contested: int = 8, votes: int = 3,
                    scale: float = 2.0) -> tuple[RankingSet, set]:
    """Two regions rank by the same true order (utilities of sd `scale`, Gumbel noise), except on `contested` items
    where B reverses it."""
    rs, flip, _ = planted_with_truth(seed, n_items, contested, votes, scale)
    return rs, flip


def planted_with_truth(seed: int, n_items: int, contested: int, votes: int,
                       scale: float) -> tuple[RankingSet, set, np.ndarray]:
    """`planted_regions` and region A's true utilities."""
    rng = np.random.default_rng(seed)
    k = 4
    item = np.repeat(np.arange(n_items), 2 * votes)
    region = np.tile(np.repeat([0, 1], votes), n_items)
    truth = rng.normal(size=(n_items, k)) * scale
    flip = rng.choice(n_items, contested, replace=False)
    utility = truth[item] * np.where(np.isin(item, flip) & (region == 1), -1, 1)[:, None]
    order = np.argsort(-(utility + rng.gumbel(size=utility.shape)), axis=1)
    rs = RankingSet.from_orders(item, np.arange(len(item)), order, region=region, region_names=["A", "B"])
    return rs, set(flip.tolist()), truth


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


def brute_borrowing_scores(rs: RankingSet, region: int) -> list[float]:
    """Per weight in BORROW_GRID: each of the region's rankings predicted from the item's other rankings (its own
    region's at 1, the rest at the weight), mean tau-b, a ranking with nothing to predict it counting 0."""
    points = rs.k - rs.ranks
    scores = []
    for weight in BORROW_GRID:
        taus = []
        for row in np.flatnonzero(rs.region == region):
            others = np.flatnonzero((rs.item == rs.item[row]) & (np.arange(rs.n) != row))
            w = np.where(rs.region[others] == region, 1.0, weight)
            prediction = (w[:, None] * points[others]).sum(axis=0)
            tau = rowwise_tau_b(prediction[None, :], points[row][None, :], tolerance=1e-9)[0]
            taus.append(0.0 if np.isnan(tau) else tau)
        scores.append(float(np.mean(taus)))
    return scores


@pytest.mark.parametrize("seed", [0, 1])
def test_borrowing_weight_is_the_best_leave_one_out_predictor(seed: int) -> None:
    rs = random_set(seed, n_items=30, regions=3)
    for region in range(3):
        scores = brute_borrowing_scores(rs, region)
        assert borrowing_weight(rs, region) == BORROW_GRID[int(np.argmax(scores))]


def test_a_region_sharing_the_crowd_s_taste_borrows_and_gains() -> None:
    """Two rankings per region and item, same taste: the other region's rankings are worth counting, and the pooled
    order finds A's true order more often than A's own two do."""
    rs, _, truth = planted_with_truth(3, n_items=300, contested=0, votes=2, scale=1.0)
    pooled, weight = pooled_region_consensus(rs, 0)
    own = bradley_terry(rs.subset(rs.region == 0))
    assert weight >= 0.5
    assert pooled.method == "bradley_terry_pooled"
    np.testing.assert_array_equal(pooled.n, np.full(rs.n_items, 2))  # A's own rankings, not all of them
    found_pooled, found_own = (np.nan_to_num(rowwise_tau_b(o.scores, truth)).mean() for o in (pooled, own))
    assert found_pooled > found_own + 0.05  # a fully tied order counts 0, as a coin flip would


def test_a_region_with_its_own_taste_borrows_nothing() -> None:
    """B reverses A on every item: its pooled consensus is its own."""
    rs, _ = planted_regions(4, n_items=80, contested=80, votes=3)
    pooled, weight = pooled_region_consensus(rs, 1)
    assert weight == 0.0
    np.testing.assert_allclose(pooled.scores, bradley_terry(rs.subset(rs.region == 1)).scores)


def test_pooled_consensus_leaves_unranked_items_unvoted() -> None:
    rs = random_set(5, n_items=20, regions=2)
    rs = rs.subset(~((rs.region == 0) & (rs.item < 5)))
    pooled, _ = pooled_region_consensus(rs, 0)
    assert (pooled.n[:5] == 0).all() and (pooled.n[5:] == np.bincount(rs.item[rs.region == 0])[5:]).all()


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
    assert set(summary["methods"]) == {"bradley_terry", "borda", "ranked_pairs", "bradley_terry_pooled"}
    assert all(0 <= region["borrowing_weight"] <= 1 for region in summary["regions"].values())
