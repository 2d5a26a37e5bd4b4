"""Helpers for the reward model service tests: a registry with versions of the tiny random BERT, each version
with other weights (so its scores tell which version made them)."""

from __future__ import annotations

from pathlib import Path

import torch

from trainer.backbone import load_reward_model
from trainer.registry import VersionInfo, register_version


def add_version(url: str, home: Path, backbone: Path, seed: int, accuracy: float = 0.6) -> VersionInfo:
    """Register the tiny backbone with its weights nudged by `seed`; active unless `accuracy` is too low."""
    model, tokenizer = load_reward_model(backbone)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn(parameter.shape, generator=generator))
    return register_version(url, home, model, tokenizer, backbone=str(backbone),
                            metrics={"val_accuracy": accuracy}, data={"pairs": 0},
                            settings={"max_length": 32})
