"""Sentence embeddings from the bundled all-MiniLM-L6-v2 (mean pooling, unit length, as sentence-transformers
does for this model), for the simulated crowd's relevance judge. Loaded once per process; never reaches a hub."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

from trainer.backbone import resolve_backbone

BATCH = 64
MAX_LENGTH = 256

__all__ = ["embed"]


@cache
def _load(path: Path):
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a 0.1 s "Loading weights" bar in the middle of the simulator's own
    try:
        return AutoTokenizer.from_pretrained(path, local_files_only=True), AutoModel.from_pretrained(
            path, local_files_only=True).eval()
    finally:
        hf_logging.enable_progress_bar()


def embed(texts: list[str], backbone: str = "default") -> np.ndarray:
    """(len(texts), dim) unit vectors; the cosine of two rows is their dot product."""
    import torch

    tokenizer, model = _load(resolve_backbone(backbone))
    out = []
    with torch.inference_mode():
        for start in range(0, len(texts), BATCH):
            batch = tokenizer(texts[start:start + BATCH], padding=True, truncation=True, max_length=MAX_LENGTH,
                              return_tensors="pt")
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            out.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
    return np.concatenate(out) if out else np.zeros((0, 384), dtype=np.float32)
