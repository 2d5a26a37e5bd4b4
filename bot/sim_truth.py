"""The hidden truth of a simulated crowd: a global quality per completion, each region's taste for length and
formality (computed from the completion text), and the orders they imply. Plain NumPy, no database.

Global quality is mostly the text judge of `bot.sim_judge` (relevance, completeness, repetition, refusal),
standardised per item, plus Gaussian noise of sd NOISE: a reward model reading the text can learn most of it.

Region tastes are planted strong enough that on some items a region's order reverses the global one (Kendall
tau below zero): those are the contested items a regional agreement report should find.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from bot.sim_judge import Embedder, JudgeParts, judge

FORMAL_WORDS = re.compile(r"\b(please|thank|regarding|therefore|however|certainly|consider|furthermore|would|"
                          r"recommend|sincerely|kindly|additionally|hence)\b", re.IGNORECASE)
CASUAL_MARKS = re.compile(r"(!|\b(lol|hey|ok|okay|yeah|gonna|wanna|cool|btw|u)\b|n't\b|'m\b|'re\b)", re.IGNORECASE)
NOISE = 0.5  # sd of the part of quality no text shows (the judge part has sd 1 per item)
TASTE_RANGE = (0.3, 0.9)  # magnitude of a region's weight on each standardised feature (quality has sd 1)


def formality(text: str) -> float:
    """Formal words minus casual marks per sentence, plus a capital start: crude, but it is the text's own."""
    sentences = max(1, len(re.findall(r"[.!?]+", text)))
    score = (len(FORMAL_WORDS.findall(text)) - len(CASUAL_MARKS.findall(text))) / sentences
    return score + (0.5 if text[:1].isupper() else 0.0)


def _standardise(values: np.ndarray) -> np.ndarray:
    """Per item (rows): zero mean, unit spread; an item whose completions are all alike gets zeros."""
    centred = values - values.mean(axis=1, keepdims=True)
    spread = values.std(axis=1, keepdims=True)
    return np.where(spread > 1e-9, centred / np.where(spread > 1e-9, spread, 1.0), 0.0)


def text_features(texts: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
    """(n_items, k) standardised log length and formality of each completion."""
    length = np.log1p(np.array([[len(t) for t in row] for row in texts], dtype=np.float64))
    formal = np.array([[formality(t) for t in row] for row in texts], dtype=np.float64)
    return _standardise(length), _standardise(formal)


def region_tastes(regions: list[str], rng: np.random.Generator) -> dict[str, dict[str, float]]:
    """Alternating signs so neighbouring regions pull in opposite directions on at least one feature."""
    tastes = {}
    for i, region in enumerate(regions):
        size = rng.uniform(*TASTE_RANGE, size=2)
        signs = np.array([1.0 if i % 2 == 0 else -1.0, 1.0 if (i // 2) % 2 == 0 else -1.0])
        tastes[region] = {"length": float(size[0] * signs[0]), "formality": float(size[1] * signs[1])}
    return tastes


def order_best_first(utility: np.ndarray) -> np.ndarray:
    """Slot indexes best first per row."""
    return np.argsort(-utility, axis=1, kind="stable")


def tau_between_orders(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Kendall tau per row between two strict orders given as slot indexes best first."""
    n, k = a.shape
    rank_a = np.empty_like(a)
    rank_b = np.empty_like(b)
    rows = np.arange(n)[:, None]
    rank_a[rows, a] = np.arange(k)
    rank_b[rows, b] = np.arange(k)
    i, j = np.triu_indices(k, 1)
    concordance = np.sign(rank_a[:, i] - rank_a[:, j]) * np.sign(rank_b[:, i] - rank_b[:, j])
    return concordance.sum(axis=1) / len(i)


@dataclass
class Truth:
    quality: np.ndarray  # (n_items, k) global quality per completion slot: judge + noise
    judge: JudgeParts  # the text judge's parts
    noise: np.ndarray  # (n_items, k) the part no text shows
    region_utility: dict[str, np.ndarray]  # region → (n_items, k)
    tastes: dict[str, dict[str, float]]
    true_order: np.ndarray  # (n_items, k) slots best first
    region_order: dict[str, np.ndarray]
    contested: np.ndarray  # (n_items,) bool


def plant_truth(prompts: list[str], texts: list[list[str]], regions: list[str], rng: np.random.Generator,
                gold_slots: dict[int, list[int]] | None = None, embedder: Embedder | None = None) -> Truth:
    """Judge the texts and draw the rest of the hidden truth. Gold items (row → slots best first) get a quality
    that agrees with the manager."""
    parts = judge(prompts, texts, embedder)
    noise = NOISE * rng.normal(size=parts.relevance.shape)
    quality = _standardise(parts.score) + noise
    for row, slots in (gold_slots or {}).items():
        quality[row, slots] = np.sort(quality[row])[::-1]
    length, formal = text_features(texts)
    tastes = region_tastes(regions, rng)
    utility = {r: quality + t["length"] * length + t["formality"] * formal for r, t in tastes.items()}
    true_order = order_best_first(quality)
    region_order = {r: order_best_first(u) for r, u in utility.items()}
    contested = np.zeros(len(texts), dtype=bool)
    for order in region_order.values():
        contested |= tau_between_orders(order, true_order) < 0
    return Truth(quality, parts, noise, utility, tastes, true_order, region_order, contested)


def plackett_luce(utility: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    """One Plackett–Luce draw (best first) with temperature `noise`, via the Gumbel-max trick."""
    return np.argsort(-(utility / max(noise, 1e-6) + rng.gumbel(size=utility.shape)), kind="stable")
