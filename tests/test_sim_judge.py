"""The simulated crowd's text judge: each part reads the text, the judge is fixed (no randomness), and global
quality follows it (a reward model can learn it) while the noise stays the smaller part."""

from __future__ import annotations

import numpy as np
import pytest

from bot.sim_judge import is_complete, is_refusal, judge, repetition
from bot.sim_truth import NOISE, plant_truth

PROMPT = "How do I keep my house cool in a heatwave?"
ANSWERS = [
    "Close the curtains during the day, open windows at night, and run a fan across a bowl of ice.",
    "Close the curtains during the day and open the windows at night so the cool air",
    "I'm sorry, but I can't help with that request.",
    "The history of the Roman Empire spans many centuries of politics and war.",
]


def test_parts_read_the_text() -> None:
    assert is_complete(ANSWERS[0]) and not is_complete(ANSWERS[1])
    assert not is_complete("Close the curtains during the day …") and is_complete('He said "stop."')
    assert is_refusal(ANSWERS[2]) and not is_refusal(ANSWERS[0])
    assert repetition("fans fans fans fans fans fans") > 0.5 == repetition(ANSWERS[0]) + 0.5


@pytest.mark.slow
def test_relevance_from_the_bundled_minilm_and_a_fixed_judge() -> None:
    parts = judge([PROMPT], [ANSWERS])
    assert min(parts.relevance[0, :2]) > max(parts.relevance[0, 2:]) + 0.2  # a refusal and Rome are off the point
    assert int(np.argmax(parts.score[0])) == 0
    again = judge([PROMPT], [ANSWERS])
    assert np.array_equal(parts.score, again.score)


@pytest.mark.slow
def test_quality_mostly_follows_the_judge() -> None:
    prompts = [PROMPT] * 30
    texts = [ANSWERS[i:] + ANSWERS[:i] for i in range(4)] * 7 + [ANSWERS, ANSWERS]
    truth = plant_truth(prompts, texts, ["Africa", "Europe"], np.random.default_rng(0))
    judge_part = truth.quality - truth.noise
    assert np.allclose(judge_part.std(axis=1), 1.0)  # standardised per item
    assert truth.noise.std() == pytest.approx(NOISE, rel=0.25)
    assert np.corrcoef(judge_part.ravel(), truth.quality.ravel())[0, 1] > 0.8
    assert (truth.true_order[:, 0] == np.argmax(judge_part, axis=1)).mean() > 0.6
