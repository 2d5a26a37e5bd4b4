"""Consensus orders: Bradley-Terry against choix and against a slow exact maximum-likelihood fit, ranked pairs
against a plain per-item implementation, Borda by hand, and trust weights."""

from __future__ import annotations

import choix
import numpy as np
import pytest
from scipy.optimize import minimize

from bot.consensus.aggregate import aggregate, borda, bradley_terry, ranked_pairs, win_matrix
from bot.consensus.data import RankingRecord, RankingSet


def crowd(seed: int, n_items: int = 15, k: int = 4, votes: int = 8, tie_rate: float = 0.0) -> RankingSet:
    rng = np.random.default_rng(seed)
    item = np.repeat(np.arange(n_items), votes)
    n = len(item)
    quality = rng.normal(scale=0.8, size=(n_items, k))
    order = np.argsort(-(quality[item] + rng.gumbel(size=(n, k))), axis=1)
    return RankingSet.from_orders(item, np.arange(n) % 5, order, ties=rng.random((n, k)) < tie_rate)


def exact_bt(wins: np.ndarray) -> np.ndarray:
    """Maximum likelihood of Bradley-Terry with fractional wins, by a general optimiser; centred log-strengths."""
    k = len(wins)

    def negative_log_likelihood(theta: np.ndarray) -> float:
        difference = theta[:, None] - theta[None, :]
        return float(-(wins * (difference - np.logaddexp(0, difference))).sum())

    theta = minimize(negative_log_likelihood, np.zeros(k), method="BFGS", options={"gtol": 1e-10}).x
    return theta - theta.mean()


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("prior", [0.0, 0.5])
def test_bradley_terry_matches_choix(seed: int, prior: float) -> None:
    rs = crowd(seed)
    wins = win_matrix(rs)
    result = bradley_terry(rs, prior=prior)
    compared = 0
    for i in range(rs.n_items):
        data = [(a, b) for a in range(rs.k) for b in range(rs.k) for _ in range(int(wins[i, a, b]))]
        try:
            with np.errstate(divide="ignore", invalid="ignore"):  # choix's own log(0) on separable items
                expected = choix.mm_pairwise(rs.k, data, alpha=prior, max_iter=3000)
        except RuntimeError:  # separable item without a prior: no finite maximum-likelihood estimate
            assert prior == 0.0
            continue
        np.testing.assert_allclose(result.scores[i], expected, atol=1e-6)
        compared += 1
    assert compared >= rs.n_items // 2


def test_bradley_terry_with_ties_matches_exact_fit() -> None:
    rs = crowd(3, n_items=8, votes=12, tie_rate=0.25)
    wins = win_matrix(rs)
    assert (wins % 1 != 0).any()  # ties really produce half wins
    result = bradley_terry(rs, prior=0.0, tol=1e-12)
    for i in range(rs.n_items):
        np.testing.assert_allclose(result.scores[i], exact_bt(wins[i]), atol=1e-4)


def plain_ranked_pairs(wins: np.ndarray, tiebreak_order: np.ndarray) -> list[int]:
    """Tideman ranked pairs for one item, written out plainly (same tie-break rule as the vectorised one)."""
    k = len(wins)
    position = {slot: p for p, slot in enumerate(tiebreak_order)}
    pairs = [(wins[a, b] - wins[b, a], a, b) for a in range(k) for b in range(k) if a != b]
    pairs = sorted((p for p in pairs if p[0] > 0), key=lambda p: (-p[0], position[p[1]], position[p[2]]))
    edges: set[tuple[int, int]] = set()

    def reaches(start: int, goal: int) -> bool:
        stack, seen = [start], set()
        while stack:
            node = stack.pop()
            if node == goal:
                return True
            seen.add(node)
            stack.extend(b for a, b in edges if a == node and b not in seen)
        return False

    for _, a, b in pairs:
        if not reaches(b, a):
            edges.add((a, b))
    beaten = [sum(reaches(a, b) for b in range(k) if b != a) for a in range(k)]
    return sorted(range(k), key=lambda a: (-beaten[a], position[a]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ranked_pairs_matches_plain_implementation(seed: int) -> None:
    rs = crowd(seed, n_items=40, k=5, votes=3, tie_rate=0.1)
    wins = win_matrix(rs)
    tiebreak = borda(rs).order
    result = ranked_pairs(rs)
    for i in range(rs.n_items):
        assert list(result.order[i]) == plain_ranked_pairs(wins[i], tiebreak[i])


def test_ranked_pairs_resolves_a_condorcet_cycle_by_margin() -> None:
    # a>b 3:0... built from 5 voters: a>b>c twice, b>c>a twice, c>a>b once: margins a>b 3, b>c 3, c>a 1
    voters = [["a", "b", "c"]] * 2 + [["b", "c", "a"]] * 2 + [["c", "a", "b"]]
    rs = RankingSet.from_records([RankingRecord("q", f"v{n}", order) for n, order in enumerate(voters)])
    result = ranked_pairs(rs)
    assert [rs.completion_ids[0][j] for j in result.order[0]] == ["a", "b", "c"]  # the weakest edge c>a is dropped


def test_borda_by_hand_with_ties() -> None:
    rs = RankingSet.from_records([
        RankingRecord("q", "x", ["a", "b", "c"]),
        RankingRecord("q", "y", ["b", "a", "c"], ties=[False, True, False]),
    ])
    result = borda(rs)
    np.testing.assert_allclose(result.scores[0], [(2 + 1.5) / 2, (1 + 1.5) / 2, 0])
    assert [rs.completion_ids[0][j] for j in result.order[0]] == ["a", "b", "c"]


@pytest.mark.parametrize("method", ["bradley_terry", "borda", "ranked_pairs"])
def test_zero_trust_weight_is_the_same_as_dropping_the_labeler(method: str) -> None:
    rs = crowd(7, n_items=10, votes=5)
    spammer = rs.labeler == 0
    weights = np.where(spammer, 0.0, 1.0)
    weighted = aggregate(rs, method, weights)
    dropped = aggregate(rs.subset(~spammer), method)
    np.testing.assert_allclose(weighted.scores, dropped.scores, atol=1e-6)


def test_items_without_rankings_get_zero_scores() -> None:
    rs = crowd(1, n_items=4)
    part = rs.subset(rs.item != 2)
    for method in ("bradley_terry", "borda", "ranked_pairs"):
        result = aggregate(part, method)
        assert result.n[2] == 0 and not result.scores[2].any()
    with pytest.raises(ValueError, match="unknown aggregation"):
        aggregate(rs, "plurality")
