"""The demo's verdict on its reward model: accuracy per predictor against a reference order, the two length
baselines beside it, intervals from resampling whole prompts; and completions that never stop mid-sentence
unmarked."""

from __future__ import annotations

import numpy as np

from bot.demo.evaluate import accuracy_table, bootstrap, held_out_accuracy
from bot.sim_judge import is_complete
from trainer.sampling import CUT_MARK, end_at_sentence

GROUPS = [  # (prompt, completions, (better, worse) pairs): the longer answer is better in the first two
    ("p1", ["a long and careful answer", "short"], [(0, 1)]),
    ("p2", ["x", "a much longer answer here", "mid size"], [(1, 2), (1, 0), (2, 0)]),
    ("p3", ["longer but worse answer", "better"], [(1, 0)]),
]


def test_predictors_are_scored_against_the_reference_pairs() -> None:
    def by_vowels(prompt: str, texts: list[str]) -> list[float]:
        return [float(sum(c in "aeiou" for c in t)) for t in texts]

    results = held_out_accuracy(GROUPS, by_vowels)
    assert results["prefer the longer"].value == 4 / 5 and results["prefer the shorter"].value == 1 / 5
    assert results["reward model"].pairs == 5 and results["reward model"].prompts == 3
    constant = held_out_accuracy(GROUPS, lambda prompt, texts: [0.0] * len(texts))
    assert constant["reward model"].value == 0.5  # a tie in score counts half
    lines = accuracy_table({"the hidden truth": results})
    assert "the hidden truth" in lines[1] and "prefer the shorter" in lines[4] and "3 held-out prompts" in lines[-1]


def test_intervals_resample_prompts_not_pairs() -> None:
    correct, total = np.array([10.0, 0.0]), np.array([10, 10])  # one prompt all right, one all wrong
    accuracy = bootstrap(correct, total)
    assert accuracy.value == 0.5 and accuracy.low == 0.0 and accuracy.high == 1.0  # pairs would say ±0.22
    steady = bootstrap(np.array([5.0, 5.0, 5.0]), np.array([10, 10, 10]))
    assert steady.low == steady.high == 0.5


def test_a_cut_answer_ends_at_a_sentence_and_is_marked() -> None:
    cut = end_at_sentence("Open the windows at night. Close the curtains by day so the")
    assert cut == f"Open the windows at night.\n{CUT_MARK}" and not is_complete(cut)
    numbered = end_at_sentence("1. Open the windows.\n2. Close the curtains.\n3. Run a")
    assert numbered == f"1. Open the windows.\n2. Close the curtains.\n{CUT_MARK}"
    assert end_at_sentence("no full sentence at all").endswith(f"at all\n{CUT_MARK}")
    assert is_complete("Open the windows at night.")
