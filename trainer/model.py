"""The reward model's math, no I/O: prompt groups, batching, rewards and the grouped pairwise loss.

InstructGPT's trick: all K-choose-2 pairs of one prompt share a batch element, so each distinct completion is
encoded once per step (K forward passes instead of K(K-1) for pairs encoded one by one). The loss of a pair is
-log σ(r⁺ - r⁻ - margin), as in TRL's RewardTrainer, so the two are comparable pair for pair.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor

from trainer.pair_files import Pair


@dataclass
class PromptGroup:
    """One prompt, its distinct completions, and its pairs as (chosen index, rejected index, margin)."""

    prompt: str
    completions: list[str] = field(default_factory=list)
    pairs: list[tuple[int, int, float]] = field(default_factory=list)

    @property
    def length(self) -> int:
        """Characters of the longest input: what decides a batch's padding."""
        return len(self.prompt) + max((len(c) for c in self.completions), default=0)

    def index(self, completion: str) -> int:
        try:
            return self.completions.index(completion)
        except ValueError:
            self.completions.append(completion)
            return len(self.completions) - 1


def build_groups(pairs: Iterable[Pair]) -> tuple[list[PromptGroup], int]:
    """Group pairs by prompt text (first-seen order). Ties and self-pairs carry no preference and are left out;
    their number is returned beside the groups."""
    groups: dict[str, PromptGroup] = {}
    left_out = 0
    for pair in pairs:
        if pair.tie or pair.chosen == pair.rejected:
            left_out += 1
            continue
        group = groups.setdefault(pair.prompt, PromptGroup(pair.prompt))
        group.pairs.append((group.index(pair.chosen), group.index(pair.rejected), pair.margin))
    return list(groups.values()), left_out


def with_foreign_negatives(groups: Sequence[PromptGroup], count: int, seed: int) -> list[PromptGroup]:
    """Each group plus `count` completions written for other prompts, each ranked below every one of its own
    (margin 0). The crowd's pairs only compare answers to one prompt, so from a few hundred of them a
    cross-encoder learns little of whether an answer is about the prompt at all; an answer to another question is
    a plainly worse answer to this one, and these pairs teach that."""
    if count <= 0:
        return list(groups)
    rng = random.Random(seed)
    pool = [(group.prompt, completion) for group in groups for completion in group.completions]
    out = []
    for group in groups:
        drawn = rng.sample(pool, min(len(pool), 3 * count))  # a few spare draws: any of its own are dropped
        foreign = [completion for prompt, completion in drawn if prompt != group.prompt][:count]
        own = len(group.completions)
        extra = [(mine, own + theirs, 0.0) for theirs in range(len(foreign)) for mine in range(own)]
        out.append(PromptGroup(group.prompt, list(group.completions) + foreign, list(group.pairs) + extra))
    return out


@dataclass
class GroupBatch:
    """Tokenized (prompt, completion) rows of several groups, and their pairs as indexes into those rows."""

    inputs: dict[str, Tensor]
    chosen: Tensor
    rejected: Tensor
    margin: Tensor

    @property
    def pairs(self) -> int:
        return int(self.chosen.numel())

    def to(self, device: torch.device | str) -> GroupBatch:
        return GroupBatch({k: v.to(device) for k, v in self.inputs.items()}, self.chosen.to(device),
                          self.rejected.to(device), self.margin.to(device))


def tokenize(tokenizer, prompts: Sequence[str], completions: Sequence[str], max_length: int) -> dict[str, Tensor]:
    """(prompt, completion) as a two-segment input, truncated to `max_length` tokens, padded to the longest."""
    encoded = tokenizer(list(prompts), list(completions), truncation="longest_first", max_length=max_length,
                        padding=True, return_tensors="pt")
    return dict(encoded)


def collate(groups: Sequence[PromptGroup], tokenizer, max_length: int) -> GroupBatch:
    prompts: list[str] = []
    completions: list[str] = []
    chosen: list[int] = []
    rejected: list[int] = []
    margin: list[float] = []
    for group in groups:
        offset = len(completions)
        prompts += [group.prompt] * len(group.completions)
        completions += group.completions
        for better, worse, gap in group.pairs:
            chosen.append(offset + better)
            rejected.append(offset + worse)
            margin.append(gap)
    return GroupBatch(tokenize(tokenizer, prompts, completions, max_length), torch.tensor(chosen),
                      torch.tensor(rejected), torch.tensor(margin, dtype=torch.float32))


def rewards(model, inputs: dict[str, Tensor]) -> Tensor:
    """One scalar reward per row: the sequence-classification head with num_labels=1."""
    return model(**inputs).logits.squeeze(-1).float()


def pair_loss(chosen_reward: Tensor, rejected_reward: Tensor, margin: Tensor) -> Tensor:
    """-log σ(r⁺ - r⁻ - margin), elementwise (softplus form: stable for large gaps)."""
    return F.softplus(-(chosen_reward - rejected_reward - margin))


def grouped_loss(model, batch: GroupBatch, reduction: str = "mean") -> tuple[Tensor, Tensor]:
    """Loss over all pairs of the batch with each completion encoded once; returns (loss, per-pair reward gap)."""
    scores = rewards(model, batch.inputs)
    chosen, rejected = scores[batch.chosen], scores[batch.rejected]
    losses = pair_loss(chosen, rejected, batch.margin)
    return (losses.sum() if reduction == "sum" else losses.mean()), (chosen - rejected).detach()


def naive_pair_losses(model, tokenizer, pairs: Sequence[Pair], max_length: int) -> Tensor:
    """The per-pair way (as TRL does): chosen and rejected encoded anew for every pair. For tests and benchmarks."""
    losses = []
    for pair in pairs:
        inputs = tokenize(tokenizer, [pair.prompt, pair.prompt], [pair.chosen, pair.rejected], max_length)
        scores = rewards(model, inputs)
        losses.append(pair_loss(scores[0], scores[1], torch.tensor(pair.margin)))
    return torch.stack(losses)
