"""Reward model versions: `<CROWDRANK_HOME>/reward_models/rm-NNNN/` (safetensors weights, tokenizer,
metrics.json, a model card README.md) plus one `rewardmodelversion` row.

A version appears atomically: everything is written into a hidden staging folder, then, inside the database
transaction that adds the row, renamed into place with os.replace; the transaction commits only after the
rename. A crash at any point leaves no half-written version and the previous active version active. A new
version becomes active only if its validation accuracy is at most `tolerance` below the active one's; the
decision is recorded either way.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from bot.errors import NotFound
from storage.engine import make_sync_engine
from storage.models import RewardModelVersion

NAME = re.compile(r"^rm-(\d{4,})$")
DEFAULT_TOLERANCE = 0.01


@dataclass(frozen=True)
class VersionInfo:
    name: str
    path: Path
    active: bool
    accepted: bool
    metrics: dict[str, Any]
    backbone: str
    note: str


def models_root(home: Path) -> Path:
    return Path(home) / "reward_models"


def next_name(root: Path, taken: list[str]) -> str:
    """One past the highest number among rows and folders (an orphan folder from a crash is never reused)."""
    names = taken + ([p.name for p in root.iterdir()] if root.is_dir() else [])
    numbers = [int(m.group(1)) for m in map(NAME.match, names) if m]
    return f"rm-{max(numbers, default=0) + 1:04d}"


def decide(new_accuracy: float, active: RewardModelVersion | None, tolerance: float) -> tuple[bool, str]:
    if active is None:
        return True, "first accepted version: active"
    old = float(active.metrics.get("val_accuracy", 0.0))
    if new_accuracy >= old - tolerance:
        return True, f"active: validation accuracy {new_accuracy:.4f} vs {old:.4f} of {active.name} " \
                     f"(tolerance {tolerance})"
    return False, f"not activated: validation accuracy {new_accuracy:.4f} is more than {tolerance} below " \
                  f"{old:.4f} of {active.name}, which stays active"


def model_card(name: str, backbone: str, note: str, metrics: dict, data: dict, settings: dict) -> str:
    def table(values: dict) -> str:
        return "\n".join(f"| {key} | {value} |" for key, value in values.items())

    return (f"# Reward model {name}\n\nA crowdrank reward model: `{backbone}` with a one-output "
            f"sequence-classification head, trained on crowd pairwise preferences with the grouped loss "
            f"-log σ(r⁺ - r⁻ - margin).\n\nDecision: {note}.\n\n"
            f"## Data snapshot\n\n| | |\n|---|---|\n{table(data)}\n\n"
            f"## Settings\n\n| | |\n|---|---|\n{table(settings)}\n\n"
            f"## Metrics (validation split by prompt)\n\n| | |\n|---|---|\n{table(metrics)}\n\n"
            f"Load it with `RewardModel.load({name!r})` or score with `crowdrank score --model {name} ...`.\n")


def save_files(folder: Path, model, tokenizer) -> None:
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)


def write_card(folder: Path, name: str, backbone: str, note: str, metrics: dict, data: dict, settings: dict) -> None:
    document = {"name": name, "backbone": backbone, "metrics": metrics, "data_snapshot": data,
                "settings": settings, "decision": note}
    (folder / "metrics.json").write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    (folder / "README.md").write_text(model_card(name, backbone, note, metrics, data, settings), encoding="utf-8")


def register_version(url: str, home: Path, model, tokenizer, *, backbone: str, metrics: dict, data: dict,
                     settings: dict, campaign_id: int | None = None,
                     tolerance: float = DEFAULT_TOLERANCE) -> VersionInfo:
    root = models_root(home)
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".staging-{uuid.uuid4().hex}"
    final: Path | None = None
    engine = make_sync_engine(url)
    try:
        save_files(staging, model, tokenizer)  # the slow part, before any lock is taken
        with Session(engine) as session:
            active = session.exec(select(RewardModelVersion).where(col(RewardModelVersion.active))).first()
            taken = list(session.exec(select(RewardModelVersion.name)).all())
            name = next_name(root, taken)
            accepted, note = decide(float(metrics["val_accuracy"]), active, tolerance)
            settings = {**settings, "tolerance": tolerance}
            data = {**data, "created_at": datetime.now(UTC).isoformat(timespec="seconds")}
            write_card(staging, name, backbone, note, metrics, data, settings)
            if accepted and active is not None:
                active.active = False
                session.add(active)
                session.flush()
            row = RewardModelVersion(name=name, campaign_id=campaign_id, backbone=backbone, data_snapshot=data,
                                     metrics=metrics, path=str((root / name).resolve()), active=accepted,
                                     accepted=accepted, note=note)
            session.add(row)
            session.flush()
            final = root / name
            os.replace(staging, final)
            session.commit()
            final = None  # committed: the folder now belongs to its row
        return VersionInfo(name=name, path=root / name, active=accepted, accepted=accepted, metrics=metrics,
                           backbone=backbone, note=note)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if final is not None:  # renamed but never committed: remove it, the row does not exist
            shutil.rmtree(final, ignore_errors=True)
        engine.dispose()


def list_versions(url: str) -> list[RewardModelVersion]:
    engine = make_sync_engine(url)
    try:
        with Session(engine) as session:
            return list(session.exec(select(RewardModelVersion).order_by(col(RewardModelVersion.id))).all())
    finally:
        engine.dispose()


def active_version(url: str) -> RewardModelVersion:
    found = [row for row in list_versions(url) if row.active]
    if not found:
        raise NotFound("no active reward model yet (train one with `crowdrank train`)")
    return found[0]
