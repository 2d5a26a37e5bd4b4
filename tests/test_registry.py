"""Reward model versions: acceptance against the active one with a tolerance, recorded either way; the switch
is atomic, so a crash mid-save leaves no version folder or row and the previous active version active."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session

from bot.errors import NotFound
from tests.reward_helpers import tiny_backbone
from trainer import registry
from trainer.backbone import load_reward_model
from trainer.registry import active_version, list_versions, register_version
from trainer.score import RewardModel


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory):
    return load_reward_model(tiny_backbone(tmp_path_factory.mktemp("tiny") / "bert"))


def save(url: str, home: Path, tiny, accuracy: float, tolerance: float = 0.01):
    model, tokenizer = tiny
    return register_version(url, home, model, tokenizer, backbone="tiny-bert", tolerance=tolerance,
                            metrics={"val_accuracy": accuracy, "val_pairs": 100},
                            data={"source": "test", "pairs": 100}, settings={"max_length": 32, "epochs": 1})


def folders(home: Path) -> list[str]:
    return sorted(p.name for p in (home / "reward_models").iterdir())


def test_versions_activate_only_when_not_worse_than_the_active_one(db_url: str, tmp_path: Path, tiny) -> None:
    home = tmp_path / "home"
    with pytest.raises(NotFound):
        active_version(db_url)
    first = save(db_url, home, tiny, 0.70)
    assert (first.name, first.active) == ("rm-0001", True)
    worse = save(db_url, home, tiny, 0.65)
    assert (worse.name, worse.active, worse.accepted) == ("rm-0002", False, False)
    assert "stays active" in worse.note and active_version(db_url).name == "rm-0001"
    within = save(db_url, home, tiny, 0.695)
    assert within.active and active_version(db_url).name == "rm-0003"
    lenient = save(db_url, home, tiny, 0.60, tolerance=0.2)
    assert lenient.active and "tolerance 0.2" in lenient.note
    rows = list_versions(db_url)
    assert [(r.name, r.active, r.accepted) for r in rows] == [
        ("rm-0001", False, True), ("rm-0002", False, False), ("rm-0003", False, True), ("rm-0004", True, True)]
    assert rows[1].note == worse.note and rows[1].metrics["val_accuracy"] == 0.65
    assert folders(home) == ["rm-0001", "rm-0002", "rm-0003", "rm-0004"]
    version = home / "reward_models" / "rm-0002"
    assert {"model.safetensors", "config.json", "tokenizer.json", "metrics.json", "README.md"} <= {
        p.name for p in version.iterdir()}
    card = (version / "README.md").read_text()
    assert "Data snapshot" in card and "max_length" in card and "stays active" in card
    assert RewardModel.load("active", home=home, url=db_url).name == "rm-0004"


@pytest.mark.parametrize("where", ["write_card", "replace", "commit"])
def test_a_crash_mid_save_leaves_no_version_and_the_active_one_active(
        db_url: str, tmp_path: Path, tiny, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    home = tmp_path / "home"
    save(db_url, home, tiny, 0.70)

    def crash(*args, **kwargs):
        raise OSError(f"simulated crash in {where}")

    if where == "write_card":
        monkeypatch.setattr(registry, "write_card", crash)
    elif where == "replace":
        monkeypatch.setattr(registry.os, "replace", crash)
    else:  # after the folder is renamed into place, before the row is committed
        monkeypatch.setattr(Session, "commit", crash)
    with pytest.raises(OSError, match="simulated crash"):
        save(db_url, home, tiny, 0.90)
    monkeypatch.undo()
    assert folders(home) == ["rm-0001"]  # no rm-0002, no staging folder left behind
    assert [(r.name, r.active) for r in list_versions(db_url)] == [("rm-0001", True)]
    assert RewardModel.load("rm-0001", home=home).score("q", ["a", "b"])  # still loads whole
    assert save(db_url, home, tiny, 0.90).name == "rm-0002"


def test_an_orphan_folder_from_a_hard_crash_is_never_reused(db_url: str, tmp_path: Path, tiny) -> None:
    home = tmp_path / "home"
    (home / "reward_models" / "rm-0007").mkdir(parents=True)  # renamed, then the process was killed
    assert save(db_url, home, tiny, 0.5).name == "rm-0008"
