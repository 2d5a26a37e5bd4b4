"""The whole retraining job, callable from the CLI, the scheduler and the demo: pairs (from a campaign or a
pair file) → grouped training → a registered version. Plain functions, no CLI types."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import asdict
from pathlib import Path

from bot.errors import InputError, StateError
from trainer.backbone import DEFAULT_NAME, identity_pooler, load_reward_model, resolve_backbone
from trainer.distributed import launched_ranks
from trainer.model import build_groups
from trainer.pair_files import read_pairs
from trainer.pairs import campaign_id, export_pairs, read_connection
from trainer.registry import DEFAULT_TOLERANCE, VersionInfo, register_version
from trainer.train import TrainConfig, split_by_prompt, train

__all__ = ["export_pairs", "train_reward_model", "TrainConfig", "VersionInfo"]


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def train_reward_model(url: str, home: Path | str, *, campaign: str | None = None, pairs: Path | str | None = None,
                       config: TrainConfig | None = None, tolerance: float = DEFAULT_TOLERANCE,
                       min_trust: float | None = None, device: str | None = None,
                       progress: bool = True) -> VersionInfo | None:
    """Train on a campaign's raw pairs (exported to a temporary file first) or on a pair file; register the
    result as a new version (active only if it is not worse than the active one by more than `tolerance`).
    Under `accelerate launch` every process trains its share and the main one registers the version; the
    others return None."""
    if (campaign is None) == (pairs is None):
        raise InputError("give a campaign or a pair file, not both and not neither", field="pairs")
    if not 0.0 <= tolerance <= 1.0:
        raise InputError(f"tolerance must be between 0 and 1, got {tolerance}", field="tolerance")
    config = (config or TrainConfig()).resolved()
    config.validate()
    home = Path(home)
    backbone_path = resolve_backbone(config.backbone)
    campaign_key = None
    with tempfile.TemporaryDirectory(dir=_scratch(home)) as scratch:
        if campaign is not None:
            pair_file = Path(scratch) / "pairs.jsonl"
            export_pairs(url, campaign, pair_file, mode="raw", min_trust=min_trust)
            with read_connection(url) as connection:
                campaign_key = campaign_id(connection, campaign)
            source = {"source": f"campaign {campaign}", "mode": "raw", "min_trust": min_trust}
        else:
            pair_file = Path(pairs)  # type: ignore[arg-type]  # validate() ensured one of campaign/pairs is set
            source = {"source": str(pair_file.resolve())}
        groups, left_out = build_groups(read_pairs(pair_file))
        data = {**source, "sha256": file_digest(pair_file), "pairs": sum(len(g.pairs) for g in groups),
                "prompts": len(groups), "ties_or_self_pairs_left_out": left_out}
    if not groups:
        raise StateError("no pairs with a preference to train on")
    train_groups, val_groups = split_by_prompt(groups, config.validation_fraction, config.seed)
    ranks = launched_ranks(device)
    device = ranks.device
    model, tokenizer = load_reward_model(backbone_path, device, seed=config.seed)
    if config.identity_pooler:
        identity_pooler(model)
    run_key = hashlib.sha256(f"{data['sha256']} {sorted(asdict(config).items())}".encode()).hexdigest()[:16]
    checkpoint = home / "reward_models" / ".checkpoints" / f"{run_key}.pt"  # same data and settings: resume
    metrics = train(model, tokenizer, train_groups, val_groups, config, device=device, checkpoint=checkpoint,
                    progress=progress, ranks=ranks)
    if not ranks.main:
        return None
    backbone = DEFAULT_NAME if config.backbone == "default" else str(backbone_path.resolve())
    version = register_version(url, home, model.cpu(), tokenizer, backbone=backbone, metrics=metrics, data=data,
                               settings={**asdict(config), "device": device, "processes": ranks.world},
                               campaign_id=campaign_key, tolerance=tolerance)
    checkpoint.unlink(missing_ok=True)
    return version


def _scratch(home: Path) -> str:
    folder = home / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    return os.fspath(folder)
