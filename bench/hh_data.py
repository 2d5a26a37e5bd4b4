"""Anthropic HH-RLHF pairs (../shared/data/hh-rlhf) as crowdrank `Pair`s, for the benchmarks.

Each line holds two whole conversations that differ only in the last assistant reply. A pair becomes a
two-segment input: the final Human turn as the prompt and the final Assistant reply as the completion (the data
README measured this 1-2 points better and twice as fast as the left-truncated whole conversation).
"""

from __future__ import annotations

import gzip
import json
import math
import random
from pathlib import Path

from trainer.pair_files import Pair

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "hh-rlhf" / "harmless-base-test.jsonl.gz"
HUMAN, ASSISTANT = "\n\nHuman:", "\n\nAssistant:"


def last_exchange(conversation: str) -> tuple[str, str, str]:
    """(everything before the last reply, the last Human turn, the last Assistant reply)."""
    cut = conversation.rfind(ASSISTANT)
    context = conversation[:cut]
    human = context[context.rfind(HUMAN) + len(HUMAN):].strip()
    return context, human, conversation[cut + len(ASSISTANT):].strip()


def load_pairs(path: Path = DATA) -> list[Pair]:
    pairs = []
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        for number, line in enumerate(stream, start=1):
            record = json.loads(line)
            context, human, chosen = last_exchange(record["chosen"])
            other_context, _, rejected = last_exchange(record["rejected"])
            if context != other_context:  # not the same conversation: cannot be compared
                continue
            pairs.append(Pair(prompt=human, chosen=chosen, rejected=rejected, item_id=number))
    return pairs


def split(pairs: list[Pair], held_out: int, seed: int) -> tuple[list[Pair], list[Pair]]:
    """A fixed-seed split by prompt text: a prompt never has pairs on both sides."""
    prompts = sorted({pair.prompt for pair in pairs})
    random.Random(seed).shuffle(prompts)
    test_prompts: set[str] = set()
    count = 0
    by_prompt: dict[str, int] = {}
    for pair in pairs:
        by_prompt[pair.prompt] = by_prompt.get(pair.prompt, 0) + 1
    for prompt in prompts:
        if count >= held_out:
            break
        test_prompts.add(prompt)
        count += by_prompt[prompt]
    return [p for p in pairs if p.prompt not in test_prompts], [p for p in pairs if p.prompt in test_prompts]


def interval95(accuracy: float, n: int) -> float:
    return 1.96 * math.sqrt(accuracy * (1 - accuracy) / n) if n else 0.0


def shorter_reply_accuracy(pairs: list[Pair]) -> float:
    """The "prefer the shorter reply" baseline; equal lengths count half."""
    score = sum(1.0 if len(p.chosen) < len(p.rejected) else 0.5 if len(p.chosen) == len(p.rejected) else 0.0
                for p in pairs)
    return score / len(pairs)
