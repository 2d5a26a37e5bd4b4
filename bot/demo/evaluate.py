"""The demo's verdict on its reward model: held-out pairwise accuracy against the crowd's consensus and against the
simulator's hidden truth, each beside the "prefer the longer" and "prefer the shorter" baselines, with 95%
intervals from a bootstrap over held-out prompts (pairs of one prompt are not independent, so resampling pairs
would make the intervals too narrow).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlmodel import col, select

from bot.database import Database
from storage.models import Campaign, Completion, Prompt
from trainer.model import PromptGroup

RESAMPLES = 2000
PREDICTORS = ("reward model", "prefer the longer", "prefer the shorter")

__all__ = ["Accuracy", "held_out_accuracy", "accuracy_table"]

Scorer = Callable[[str, list[str]], list[float]]


@dataclass(frozen=True)
class Accuracy:
    value: float
    low: float
    high: float
    pairs: int
    prompts: int

    def text(self) -> str:
        return f"{self.value:.3f} (95% CI {self.low:.3f}-{self.high:.3f})"


def _per_prompt(pairs: list[tuple[int, int]], scores: list[float]) -> tuple[float, int]:
    """Correct pairs (a tie in score counts half) and pairs, for one prompt; pairs are (better, worse)."""
    correct = sum(1.0 if scores[a] > scores[b] else 0.5 if scores[a] == scores[b] else 0.0 for a, b in pairs)
    return correct, len(pairs)


def bootstrap(correct: np.ndarray, total: np.ndarray, seed: int = 0) -> Accuracy:
    """Accuracy over prompts with a percentile interval from resampling whole prompts."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(total), size=(RESAMPLES, len(total)))
    resampled = correct[draws].sum(axis=1) / np.maximum(total[draws].sum(axis=1), 1)
    low, high = np.percentile(resampled, [2.5, 97.5])
    return Accuracy(float(correct.sum() / max(total.sum(), 1)), float(low), float(high), int(total.sum()),
                    len(total))


def held_out_accuracy(groups: list[tuple[str, list[str], list[tuple[int, int]]]], score: Scorer,
                      seed: int = 0) -> dict[str, Accuracy]:
    """Each predictor's accuracy on (prompt, completions, pairs (better, worse)) groups."""
    rows: dict[str, list[tuple[float, int]]] = {name: [] for name in PREDICTORS}
    for prompt, texts, pairs in groups:
        lengths = [float(len(t)) for t in texts]
        for name, values in zip(PREDICTORS, (score(prompt, texts), lengths, [-n for n in lengths]), strict=True):
            rows[name].append(_per_prompt(pairs, values))
    return {name: bootstrap(np.array([c for c, _ in per]), np.array([t for _, t in per]), seed)
            for name, per in rows.items()}


async def truth_groups(database: Database, campaign: Campaign, truth_file: Path,
                       prompts: set[str]) -> list[tuple[str, list[str], list[tuple[int, int]]]]:
    """Every pair of each held-out prompt's completions, ordered by the simulator's hidden quality."""
    quality = json.loads(truth_file.read_text(encoding="utf-8"))["quality"]
    async with database.session() as session:
        rows = (await session.exec(select(Prompt.text, Completion.id, Completion.text)
                                   .join(Completion, col(Completion.prompt_id) == col(Prompt.id))
                                   .where(Prompt.campaign_id == campaign.id)
                                   .order_by(col(Prompt.id), col(Completion.position)))).all()
    by_prompt: dict[str, list[tuple[float, str]]] = {}
    for prompt, completion_id, text in rows:
        if prompt in prompts:
            by_prompt.setdefault(prompt, []).append((quality[str(completion_id)], text))
    groups = []
    for prompt, scored in by_prompt.items():
        pairs = [(a, b) if scored[a][0] > scored[b][0] else (b, a)
                 for a, b in itertools.combinations(range(len(scored)), 2) if scored[a][0] != scored[b][0]]
        groups.append((prompt, [text for _, text in scored], pairs))
    return groups


def consensus_groups(val: list[PromptGroup]) -> list[tuple[str, list[str], list[tuple[int, int]]]]:
    """The held-out prompts' consensus pairs, as the reward model's own validation saw them."""
    return [(g.prompt, list(g.completions), [(a, b) for a, b, _ in g.pairs]) for g in val]


def accuracy_table(results: dict[str, dict[str, Accuracy]]) -> list[str]:
    """Lines of text: one row per predictor, one column per reference."""
    references = list(results)
    lines = ["  held-out pairwise accuracy against:", f"  {'':<22}" + "".join(f"{r:<34}" for r in references)]
    for name in PREDICTORS:
        lines.append(f"  {name:<22}" + "".join(f"{results[r][name].text():<34}" for r in references))
    first = next(iter(results.values()))["reward model"]
    lines.append(f"  ({first.prompts} held-out prompts; intervals: {RESAMPLES} bootstrap resamples of prompts)")
    return lines
