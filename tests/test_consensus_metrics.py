"""Each agreement metric against an independent reference: a brute-force count for pairwise agreement, the
closed form for Kendall's W, the `krippendorff` package for alpha, `scipy.stats.kendalltau` for tau-b."""

from __future__ import annotations

import itertools

import krippendorff
import numpy as np
import pytest
from scipy.stats import kendalltau, rankdata

from bot.consensus import metrics
from bot.consensus.bootstrap import item_intervals
from bot.consensus.data import RankingRecord, RankingSet, fractional_ranks
from bot.errors import InputError


def random_set(seed: int, n_items: int = 25, k: int = 4, votes: tuple[int, int] = (1, 6), tie_rate: float = 0.2,
               labelers: int = 12, regions: int = 3) -> RankingSet:
    """Uneven votes per item (including single-vote items), ties, partial overlap between labelers."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(votes[0], votes[1] + 1, size=n_items)
    item = np.repeat(np.arange(n_items), counts)
    n = len(item)
    quality = rng.normal(size=(n_items, k))
    order = np.argsort(-(quality[item] + rng.gumbel(size=(n, k))), axis=1)
    return RankingSet.from_orders(item, rng.integers(0, labelers, n), order, ties=rng.random((n, k)) < tie_rate,
                                  region=rng.integers(0, regions, n), region_names=[f"r{i}" for i in range(regions)],
                                  shown_first=rng.integers(0, k, n))


def brute_agreement(rs: RankingSet) -> float:
    agree = total = 0
    for i in range(rs.n_items):
        rows = np.flatnonzero(rs.item == i)
        for a, b in itertools.combinations(rows, 2):
            for x, y in itertools.combinations(range(rs.k), 2):
                total += 1
                agree += np.sign(rs.ranks[a, x] - rs.ranks[a, y]) == np.sign(rs.ranks[b, x] - rs.ranks[b, y])
    return agree / total if total else float("nan")


def closed_form_w(matrix: np.ndarray) -> float:
    """Kendall's W with tie correction for one item: rows are raters, ranks recomputed with scipy."""
    m, n = matrix.shape
    ranks = np.array([rankdata(row) for row in matrix])
    s = ((ranks.sum(axis=0) - m * (n + 1) / 2) ** 2).sum()
    ties = sum(sum(t ** 3 - t for t in np.unique(row, return_counts=True)[1]) for row in ranks)
    return 12 * s / (m ** 2 * (n ** 3 - n) - m * ties)


def reliability(rs: RankingSet) -> np.ndarray:
    """Coders x units matrix (each ranking a coder, units = item x completion), NaN where not ranked."""
    data = np.full((rs.n, rs.n_items * rs.k), np.nan)
    for r in range(rs.n):
        data[r, rs.item[r] * rs.k:(rs.item[r] + 1) * rs.k] = rs.ranks[r]
    return data


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pairwise_agreement_matches_brute_force(seed: int) -> None:
    rs = random_set(seed)
    assert metrics.pairwise_agreement(rs).value == pytest.approx(brute_agreement(rs), abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kendall_w_matches_closed_form(seed: int) -> None:
    rs = random_set(seed, tie_rate=0.3)
    w = metrics.kendall_w_per_item(rs)
    expected = []
    for i in range(rs.n_items):
        rows = rs.ranks[rs.item == i]
        expected.append(closed_form_w(rows) if len(rows) >= 2 else np.nan)
    np.testing.assert_allclose(w, expected, atol=1e-12)
    assert metrics.kendall_w(rs).value == pytest.approx(np.nanmean(expected))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("level", ["ordinal", "interval"])
def test_krippendorff_alpha_matches_package(seed: int, level: str) -> None:
    rs = random_set(seed, k=5)
    expected = krippendorff.alpha(reliability_data=reliability(rs), level_of_measurement=level)
    assert metrics.krippendorff_alpha(rs, level) == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("seed", [0, 1])
def test_loo_tau_matches_scipy(seed: int) -> None:
    rs = random_set(seed)
    tau = metrics.loo_tau(rs)
    for r in range(rs.n):
        others = [q for q in np.flatnonzero(rs.item == rs.item[r]) if q != r]
        if not others:
            assert np.isnan(tau[r])
            continue
        expected = kendalltau(rs.ranks[r], rs.ranks[others].mean(axis=0)).statistic
        assert tau[r] == pytest.approx(expected, abs=1e-12, nan_ok=True)
    per_labeler = metrics.labeler_tau(rs)
    for j in range(rs.n_labelers):
        mine = tau[(rs.labeler == j) & ~np.isnan(tau)]
        assert per_labeler.n[j] == len(mine)
        if len(mine):
            assert per_labeler.tau[j] == pytest.approx(mine.mean())


def test_weighted_loo_tau_uses_weighted_mean_of_others() -> None:
    rs = random_set(5, n_items=10, tie_rate=0.0)
    weights = np.random.default_rng(5).uniform(0.1, 1.0, rs.n)
    tau = metrics.loo_tau(rs, weights)
    for r in range(rs.n):
        others = [q for q in np.flatnonzero(rs.item == rs.item[r]) if q != r]
        if others:
            consensus = np.average(rs.ranks[others], axis=0, weights=weights[others])
            assert tau[r] == pytest.approx(kendalltau(rs.ranks[r], consensus).statistic, abs=1e-9, nan_ok=True)


def test_hand_made_rankings() -> None:
    """Three labelers on one item: A>B>C, A>C>B, B=A>C (ties given as flags)."""
    rs = RankingSet.from_records([
        RankingRecord("q", "ana", ["a", "b", "c"]),
        RankingRecord("q", "bo", ["a", "c", "b"]),
        RankingRecord("q", "cy", ["b", "a", "c"], ties=[False, True, False]),
    ])
    np.testing.assert_array_equal(rs.ranks, [[1, 2, 3], [1, 3, 2], [1.5, 1.5, 3]])
    # signs on (a,b) (a,c) (b,c): ana (+,+,+), bo (+,+,-), cy (0,+,+): 1 + 3 + 1 agreeing ranking pairs of 9
    assert metrics.pairwise_agreement(rs).value == pytest.approx(5 / 9)
    assert metrics.kendall_w(rs).value == pytest.approx(closed_form_w(rs.ranks))


def test_fractional_ranks_average_tied_positions() -> None:
    order = np.array([[2, 0, 1, 3]])
    ranks = fractional_ranks(order, np.array([[False, True, True, False]]))
    np.testing.assert_array_equal(ranks, [[2, 2, 2, 4]])


def test_one_labeler_and_single_votes_are_undefined_not_zero() -> None:
    rs = RankingSet.from_orders([0, 1], [0, 0], [[0, 1, 2], [2, 1, 0]])
    assert np.isnan(metrics.pairwise_agreement(rs).value)
    assert np.isnan(metrics.kendall_w(rs).value)
    assert np.isnan(metrics.krippendorff_alpha(rs))
    assert np.isnan(metrics.loo_tau(rs)).all()
    assert np.isnan(item_intervals([metrics.pairwise_agreement(rs)], n_boot=50)[0]).all()


def test_all_ties() -> None:
    ties = np.ones((3, 4), dtype=bool)
    rs = RankingSet.from_orders([0, 0, 0], [0, 1, 2], np.tile(np.arange(4), (3, 1)), ties=ties)
    assert metrics.pairwise_agreement(rs).value == 1.0  # a tie agrees with a tie
    assert np.isnan(metrics.kendall_w_per_item(rs)).all()  # no spread at all: W is undefined
    assert np.isnan(metrics.krippendorff_alpha(rs, "interval"))
    assert np.isnan(metrics.loo_tau(rs)).all()


def test_position_bias_counts_shown_first_ranked_first() -> None:
    rs = RankingSet.from_records([
        RankingRecord(1, "a", [10, 11, 12], shown_order=[10, 12, 11]),  # shown first, ranked first
        RankingRecord(1, "b", [11, 10, 12], ties=[False, True, False], shown_order=[10, 11, 12]),  # tied first: 1/2
        RankingRecord(1, "c", [11, 12, 10], shown_order=[10, 11, 12]),  # ranked last
        RankingRecord(1, "d", [11, 12, 10]),  # no shown order stored: left out
    ])
    bias = metrics.position_bias(rs)
    assert bias.value == pytest.approx(1.5 / 3)
    assert bias.features[:, 1].sum() == 3


def test_bootstrap_interval_brackets_the_value_and_shrinks_with_more_items() -> None:
    small, large = random_set(3, n_items=30), random_set(3, n_items=600)
    widths = []
    for rs in (small, large):
        statistic = metrics.pairwise_agreement(rs)
        low, high = item_intervals([statistic], n_boot=300)[0]
        assert low <= statistic.value <= high
        widths.append(high - low)
    assert widths[1] < widths[0] / 2


def test_bad_rankings_are_input_errors() -> None:
    with pytest.raises(InputError, match="not an order"):
        RankingSet.from_records([RankingRecord(1, "a", [1, 2, 3]), RankingRecord(1, "b", [1, 2, 4])])
    with pytest.raises(InputError, match="has 2 completions"):
        RankingSet.from_records([RankingRecord(1, "a", [1, 2, 3]), RankingRecord(2, "b", [1, 2])])
    with pytest.raises(InputError, match="no rankings"):
        RankingSet.from_records([])


def test_grouped_bootstrap_of_many_items_matches_the_item_bootstrap(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.consensus import bootstrap

    rs = random_set(4, n_items=12_000, votes=(2, 4))
    statistic = metrics.pairwise_agreement(rs)
    grouped = item_intervals([statistic], n_boot=400)[0]
    monkeypatch.setattr(bootstrap, "MAX_UNITS", 10**9)
    plain = item_intervals([statistic], n_boot=400)[0]
    assert grouped[0] < statistic.value < grouped[1]
    assert (grouped[1] - grouped[0]) == pytest.approx(plain[1] - plain[0], rel=0.2)


def test_partial_overlap_compares_only_labelers_who_share_an_item() -> None:
    """ana and bo share item 1, bo and cy share item 2, ana alone ranks item 3: three comparisons, never ana-cy."""
    rs = RankingSet.from_records([
        RankingRecord(1, "ana", ["a", "b", "c"]), RankingRecord(1, "bo", ["a", "b", "c"]),
        RankingRecord(2, "bo", ["x", "y", "z"]), RankingRecord(2, "cy", ["z", "y", "x"]),
        RankingRecord(3, "ana", ["p", "q", "r"]),
    ])
    assert metrics.pairwise_agreement(rs).value == pytest.approx(3 / 6)  # item 1 agrees on 3 of 3, item 2 on 0
    assert metrics.pairwise_agreement(rs).value == pytest.approx(brute_agreement(rs))
    tau = metrics.labeler_tau(rs).as_dict()
    assert tau["ana"] == (pytest.approx(1.0), 1)  # item 3 has no other ranking: not counted
    assert tau["bo"] == (pytest.approx(0.0), 2) and tau["cy"] == (pytest.approx(-1.0), 1)
