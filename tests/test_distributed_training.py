"""Training that scales out: each process's share of a step gives, averaged as DDP averages, exactly the
one-process gradient; and `accelerate launch` with 2 processes on CPU (gloo) trains a model whose validation
accuracy matches the 1-process run within 2 points."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.reward_helpers import synthetic_file, synthetic_pairs, tiny_backbone
from trainer.backbone import load_reward_model
from trainer.distributed import Ranks
from trainer.model import build_groups
from trainer.train import step_loss

REPO = Path(__file__).resolve().parent.parent
TRAIN = ["train", "--backbone", "{bert}", "--pairs", "{pairs}", "--epochs", "1", "--lr", "3e-3", "--max-length",
         "32", "--batch-prompts", "8", "--no-progress"]


@pytest.fixture(scope="module")
def backbone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_backbone(tmp_path_factory.mktemp("tiny") / "bert")


def gradient(model: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])


@pytest.mark.parametrize("world", [2, 3, 7])
def test_the_shares_of_a_step_average_to_the_one_process_gradient(backbone: Path, world: int) -> None:
    model, tokenizer = load_reward_model(backbone)
    model.eval()  # no dropout: the processes' shares see the same network as the single process
    groups, _ = build_groups(synthetic_pairs(5, k=4, seed=2) + synthetic_pairs(1, k=3, seed=3))
    loss, pairs = step_loss(model, tokenizer, groups, Ranks(), 32, "cpu")
    loss.backward()
    single = gradient(model).clone()
    assert pairs == 5 * 6 + 3
    shares = []
    for rank in range(world):  # with 7 processes one of them borrows a prompt with weight 0
        model.zero_grad()
        part, _ = step_loss(model, tokenizer, groups, Ranks(rank, world), 32, "cpu")
        part.backward()
        shares.append(gradient(model).clone())
    assert torch.allclose(torch.stack(shares).mean(0), single, rtol=1e-4, atol=1e-7)
    assert (shares[0] - single).norm() > 0.1 * single.norm()  # each share alone is not the whole step


def train_cli(prefix: list[str], home: Path, bert: Path, pairs: Path) -> dict:
    args = [arg.format(bert=bert, pairs=pairs) for arg in TRAIN]
    env = {**os.environ, "CROWDRANK_HOME": str(home), "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    env.pop("CROWDRANK_DATABASE_URL", None)
    result = subprocess.run([*prefix, "-m", "bot.cli", *args], env=env, capture_output=True, text=True, timeout=300,
                            cwd=home.parent)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("validation accuracy") == 1, result.stdout  # only the main process reports
    (version,) = (home / "reward_models").glob("rm-*")
    return json.loads((version / "metrics.json").read_text())


def test_accelerate_launch_on_two_cpu_processes_matches_one_process(backbone: Path, tmp_path: Path) -> None:
    pairs = synthetic_file(tmp_path / "pairs.jsonl", 200, seed=11)
    one = train_cli([sys.executable], tmp_path / "one", backbone, pairs)
    launcher = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
                "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port",
                "0"]
    two = train_cli(launcher, tmp_path / "two", backbone, pairs)
    assert (one["settings"]["processes"], two["settings"]["processes"]) == (1, 2)
    assert one["metrics"]["steps"] == two["metrics"]["steps"] and one["metrics"]["val_pairs"] == 120
    assert one["metrics"]["val_accuracy"] >= 0.75  # it learned: the comparison below is not of two coin flips
    assert abs(one["metrics"]["val_accuracy"] - two["metrics"]["val_accuracy"]) <= 0.02
    assert two["metrics"]["val_loss"] == pytest.approx(one["metrics"]["val_loss"], abs=0.02)  # 0.003 apart here
