"""Scoring with a trained reward model: `RewardModel.load(path_or_version).score(prompt, completions)` in
batches, and pairwise accuracy on any pair file."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import torch

from bot.errors import ModelError, NotFound
from trainer.backbone import load_reward_model, pick_device
from trainer.model import rewards, tokenize
from trainer.pair_files import read_pairs
from trainer.registry import NAME, active_version, models_root

DEFAULT_MAX_LENGTH = 256


@dataclass(frozen=True)
class Accuracy:
    accuracy: float
    pairs: int
    interval95: float  # half-width of the normal-approximation 95% interval


def resolve_model(path_or_version: str | Path, *, home: Path | None = None, url: str | None = None) -> Path:
    """A folder path, a version name (`rm-0003`) under `home`, or `active` (looked up in the database)."""
    text = str(path_or_version)
    if text == "active":
        if url is None:
            raise NotFound("`active` needs the database URL to find the active version")
        return Path(active_version(url).path)
    if NAME.match(text) and home is not None:
        folder = models_root(home) / text
        if not folder.is_dir():
            raise NotFound(f"no reward model version {text} under {models_root(home)}")
        return folder
    folder = Path(text).expanduser()
    if not (folder / "config.json").is_file():
        raise NotFound(f"no reward model at {text!r}: give a version name (rm-0001), `active`, or a model folder")
    return folder


class RewardModel:
    def __init__(self, model, tokenizer, *, max_length: int = DEFAULT_MAX_LENGTH, device: str = "cpu",
                 name: str = "") -> None:
        self.model, self.tokenizer, self.max_length, self.device, self.name = model, tokenizer, max_length, device, name
        self.model.eval()

    @classmethod
    def load(cls, path_or_version: str | Path, *, home: Path | None = None, url: str | None = None,
             device: str | None = None) -> RewardModel:
        folder = resolve_model(path_or_version, home=home, url=url)
        device = pick_device(device)
        model, tokenizer = load_reward_model(folder, device)
        max_length = DEFAULT_MAX_LENGTH
        card = folder / "metrics.json"
        if card.is_file():
            try:
                max_length = int(json.loads(card.read_text(encoding="utf-8"))["settings"]["max_length"])
            except (ValueError, KeyError, TypeError) as exc:
                raise ModelError(f"{card}: unreadable settings ({exc.__class__.__name__})") from exc
        return cls(model, tokenizer, max_length=max_length, device=device, name=folder.name)

    @torch.no_grad()
    def score(self, prompt: str, completions: list[str], batch_size: int = 32) -> list[float]:
        """One reward per completion, in the order given."""
        return self.score_rows([prompt] * len(completions), completions, batch_size)

    @torch.no_grad()
    def score_rows(self, prompts: list[str], completions: list[str], batch_size: int = 32) -> list[float]:
        """One reward per (prompt, completion) row, in the order given; rows of similar length are batched
        together, so a batch pads little."""
        order = sorted(range(len(completions)), key=lambda i: len(prompts[i]) + len(completions[i]))
        scores = [0.0] * len(completions)
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            inputs = tokenize(self.tokenizer, [prompts[i] for i in rows], [completions[i] for i in rows],
                              self.max_length)
            for row, score in zip(rows, rewards(self.model, {k: v.to(self.device) for k, v in inputs.items()}),
                                  strict=True):
                scores[row] = float(score)
        return scores

    def accuracy(self, pair_file: str | Path, batch_size: int = 32) -> Accuracy:
        """Share of a pair file's (non-tie) pairs whose chosen completion scores higher than the rejected one."""
        correct = total = 0
        buffer: list = []

        def flush() -> int:
            prompts = [p.prompt for p in buffer for _ in (0, 1)]
            texts = [text for p in buffer for text in (p.chosen, p.rejected)]
            scores = self.score_rows(prompts, texts, batch_size)
            buffer.clear()
            return sum(scores[i] > scores[i + 1] for i in range(0, len(scores), 2))

        for pair in read_pairs(Path(pair_file)):
            if pair.tie:
                continue
            buffer.append(pair)
            total += 1
            if len(buffer) * 2 >= batch_size:
                correct += flush()
        if buffer:
            correct += flush()
        share = correct / total if total else 0.0
        return Accuracy(share, total, 1.96 * math.sqrt(share * (1 - share) / total) if total else 0.0)
