"""The simulated crowd's judge of a completion's text: what its global quality mostly is, so a reward model that
reads the text can learn it (a quality drawn at random per completion could never be learnt).

Four parts, each from the text alone and each fixed (no randomness):
- relevance — cosine of the prompt and the completion in the bundled MiniLM's sentence embeddings;
- complete — ends at a sentence end, not cut mid-sentence (a cut marked with "…" counts as cut);
- repetition — share of word trigrams that repeat an earlier one;
- refusal — declines to answer ("I'm sorry, but I can't…").
The judge is their weighted sum; `bot.sim_truth` standardises it per item and adds a little noise.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from trainer.sampling import CUT_MARK, SENTENCE_END

WEIGHTS = {"relevance": 1.0, "complete": 1.5, "repetition": -2.0, "refusal": -1.5}
RELEVANCE_SCALE = 10.0  # cosines differ by a few hundredths between answers to one prompt: this makes 0.1 count 1
REFUSAL = re.compile(r"\b(I('m| am) (sorry|unable|not able)|I (can't|cannot|won't) (help|assist|provide|do)|"
                     r"as an AI)\b", re.IGNORECASE)
WORD = re.compile(r"\w+")

Embedder = Callable[[list[str]], np.ndarray]

__all__ = ["JudgeParts", "judge", "is_complete", "repetition", "is_refusal", "WEIGHTS", "CUT_MARK"]


@dataclass(frozen=True)
class JudgeParts:
    """(n_items, k) arrays of each part and their weighted sum."""

    relevance: np.ndarray
    complete: np.ndarray
    repetition: np.ndarray
    refusal: np.ndarray

    @property
    def score(self) -> np.ndarray:
        return (WEIGHTS["relevance"] * RELEVANCE_SCALE * self.relevance + WEIGHTS["complete"] * self.complete
                + WEIGHTS["repetition"] * self.repetition + WEIGHTS["refusal"] * self.refusal)

    def of(self, row: int, slot: int) -> dict[str, float]:
        return {"relevance": float(self.relevance[row, slot]), "complete": float(self.complete[row, slot]),
                "repetition": float(self.repetition[row, slot]), "refusal": float(self.refusal[row, slot])}


def is_complete(text: str) -> bool:
    stripped = text.rstrip()
    ends = list(SENTENCE_END.finditer(stripped))
    return bool(ends) and not stripped.endswith(CUT_MARK) and ends[-1].end() == len(stripped)


def repetition(text: str) -> float:
    words = WORD.findall(text.lower())
    grams = [tuple(words[i:i + 3]) for i in range(len(words) - 2)]
    return 1.0 - len(set(grams)) / len(grams) if grams else 0.0


def is_refusal(text: str) -> bool:
    return REFUSAL.search(text[:200]) is not None


def _default_embedder(texts: list[str]) -> np.ndarray:
    from trainer.embed import embed

    return embed(texts)


def judge(prompts: list[str], texts: list[list[str]], embedder: Embedder | None = None) -> JudgeParts:
    """Every part for every completion; `embedder` (unit vectors per text) defaults to the bundled MiniLM."""
    n, k = len(texts), len(texts[0])
    vectors = (embedder or _default_embedder)(list(prompts) + [t for row in texts for t in row])
    prompt_vectors, completion_vectors = vectors[:n], vectors[n:].reshape(n, k, -1)
    relevance = np.einsum("nd,nkd->nk", prompt_vectors, completion_vectors).astype(np.float64)

    def each(function: Callable[[str], float]) -> np.ndarray:
        return np.array([[float(function(t)) for t in row] for row in texts])

    return JudgeParts(relevance=relevance, complete=each(is_complete), repetition=each(repetition),
                      refusal=each(is_refusal))
