"""Consensus orders per item: Bradley-Terry (MM), Borda, Tideman ranked pairs — vectorised across items.

All three read the same per-item win matrix: `wins[i, a, b]` = (weighted) rankings of item i that put slot a
above slot b, with a tie giving half a win to each side. Weights are optional (e.g. labeler trust).
The loops below run over iterations or over the k(k-1) pairs of one item, never over rankings or items.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bot.consensus.data import RankingSet

__all__ = ["METHODS", "ConsensusOrders", "win_matrix", "bradley_terry", "borda", "ranked_pairs", "aggregate"]

METHODS = ("bradley_terry", "borda", "ranked_pairs")
BT_PRIOR = 0.5  # MAP prior (choix's `alpha`): keeps strengths finite when one completion always wins


@dataclass(frozen=True)
class ConsensusOrders:
    """Per item: `scores[i, j]` for slot j (higher is better), `order[i]` slots best first, `n` rankings used.
    Items without rankings have n = 0 and all-zero scores."""

    method: str
    scores: np.ndarray
    order: np.ndarray
    n: np.ndarray

    def ranks(self) -> np.ndarray:
        """Rank position per slot (1 = best), equal scores sharing their average rank, like a tied ranking."""
        greater = (self.scores[:, None, :] > self.scores[:, :, None]).sum(axis=2)
        equal = (self.scores[:, None, :] == self.scores[:, :, None]).sum(axis=2)
        return greater + (equal + 1) / 2


def _orders(scores: np.ndarray) -> np.ndarray:
    return np.argsort(-scores, axis=1, kind="stable")


def win_matrix(rankings: RankingSet, weights: np.ndarray | None = None) -> np.ndarray:
    """(n_items, k, k) weighted wins; ties count half for each side."""
    k, n_items = rankings.k, rankings.n_items
    w = np.ones(rankings.n) if weights is None else np.asarray(weights, dtype=np.float64)
    ranks = rankings.ranks
    a, b = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    a, b = a[a != b], b[a != b]
    credit = (ranks[:, a] < ranks[:, b]) + 0.5 * (ranks[:, a] == ranks[:, b])
    cell = (rankings.item[:, None] * k + a) * k + b
    wins = np.bincount(cell.ravel(), weights=(credit * w[:, None]).ravel(), minlength=n_items * k * k)
    return wins.reshape(n_items, k, k)


def bradley_terry(rankings: RankingSet, weights: np.ndarray | None = None, *, prior: float = BT_PRIOR,
                  tol: float = 1e-8, max_iter: int = 10_000, wins: np.ndarray | None = None) -> ConsensusOrders:
    """Bradley-Terry strengths per item by Hunter's MM (Zermelo) iteration, all items at once.

    The update p_a <- (W_a + prior) / (sum_b N_ab / (p_a + p_b) + prior), strengths normalised to mean 1, is
    choix's `mm_pairwise(alpha=prior)`; scores are centred log-strengths. Converged items leave the active
    arrays, so the cost follows the slowest items. Stops at `tol` (L1 change of the log-strengths) or `max_iter`."""
    wins = win_matrix(rankings, weights) if wins is None else wins
    n_items, k, _ = wins.shape
    log_strength = np.zeros((n_items, k))
    all_games = wins + wins.transpose(0, 2, 1)
    index = np.flatnonzero(all_games.sum(axis=(1, 2)) > 0)
    games, won = all_games[index], wins.sum(axis=2)[index] + prior
    current = np.zeros((len(index), k))
    strength = np.ones((len(index), k))
    for _ in range(max_iter):
        if len(index) == 0:
            break
        denominator = (games / (strength[:, :, None] + strength[:, None, :])).sum(axis=2) + prior
        # the floor keeps a never-winning slot finite when prior = 0 (its MLE strength is 0)
        updated = np.log(np.maximum(won / denominator, 1e-12))
        updated -= updated.mean(axis=1, keepdims=True)
        done = np.abs(updated - current).sum(axis=1) < tol
        strength = np.exp(updated)
        strength *= k / strength.sum(axis=1, keepdims=True)
        current = updated
        if done.any():
            log_strength[index[done]] = updated[done]
            keep = ~done
            index, games, won, current, strength = index[keep], games[keep], won[keep], current[keep], strength[keep]
    log_strength[index] = current  # items still moving at max_iter keep their last estimate
    n = np.bincount(rankings.item, minlength=n_items)
    return ConsensusOrders("bradley_terry", log_strength, _orders(log_strength), n)


def borda(rankings: RankingSet, weights: np.ndarray | None = None) -> ConsensusOrders:
    """Mean Borda points per slot: k - rank, averaged over (weighted) rankings; ties share their average rank."""
    k, n_items = rankings.k, rankings.n_items
    w = np.ones(rankings.n) if weights is None else np.asarray(weights, dtype=np.float64)
    points = np.column_stack([
        np.bincount(rankings.item, weights=w * (k - rankings.ranks[:, j]), minlength=n_items) for j in range(k)
    ]).astype(np.float64)  # bincount of nothing is an int array
    total = np.bincount(rankings.item, weights=w, minlength=n_items)
    scores = np.divide(points, total[:, None], out=np.zeros_like(points), where=total[:, None] > 0)
    return ConsensusOrders("borda", scores, _orders(scores), np.bincount(rankings.item, minlength=n_items))


def ranked_pairs(rankings: RankingSet, weights: np.ndarray | None = None,
                 wins: np.ndarray | None = None) -> ConsensusOrders:
    """Tideman ranked pairs (Open-Assistant's choice) for all items at once.

    Pairs a>b with a positive margin wins[a,b] - wins[b,a] are locked in order of decreasing margin unless they
    close a cycle; equal margins are taken in the Borda order of the winner, then of the loser. The score of a
    slot is how many slots it beats in the locked graph (its transitive closure), Borda breaking the rest."""
    wins = win_matrix(rankings, weights) if wins is None else wins
    n_items, k, _ = wins.shape
    tiebreak = borda(rankings, weights)
    voted = np.flatnonzero(tiebreak.n > 0)  # items without rankings lock nothing: leave them out of the loop
    position = np.argsort(tiebreak.order[voted], axis=1)  # place of each slot in the Borda order
    margin = wins[voted] - wins[voted].transpose(0, 2, 1)
    a, b = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    a, b = a[a != b], b[a != b]
    pair_margin = margin[:, a, b]
    sequence = np.lexsort((position[:, b], position[:, a], -pair_margin), axis=-1)
    reach = np.zeros((len(voted), k, k), dtype=bool)
    rows = np.arange(len(voted))
    eye = np.eye(k, dtype=bool)
    for step in range(len(a)):
        pick = sequence[:, step]
        winner, loser = a[pick], b[pick]
        lock = (pair_margin[rows, pick] > 0) & ~reach[rows, loser, winner]
        if not lock.any():
            continue
        closed = reach | eye
        source = closed[rows, :, winner]  # who reaches the winner (itself included)
        target = closed[rows, loser, :]  # whom the loser reaches (itself included)
        reach |= lock[:, None, None] & source[:, :, None] & target[:, None, :]
    scores = tiebreak.scores / (k + 1)  # Borda points are < k: they only order equal reach counts
    scores[voted] += reach.sum(axis=2)
    return ConsensusOrders("ranked_pairs", scores, _orders(scores), tiebreak.n)


def aggregate(rankings: RankingSet, method: str = "bradley_terry",
              weights: np.ndarray | None = None) -> ConsensusOrders:
    if method == "bradley_terry":
        return bradley_terry(rankings, weights)
    if method == "borda":
        return borda(rankings, weights)
    if method == "ranked_pairs":
        return ranked_pairs(rankings, weights)
    raise ValueError(f"unknown aggregation method {method!r}; choose from {', '.join(METHODS)}")
