"""One readable training loop for the reward model: split by prompt, grouped batches, AdamW with a linear
schedule, a progress bar, a checkpoint (config, step, optimizer) after every epoch, and validation metrics.

Deterministic on CPU for a given seed: torch's RNG and the batch order both come from `config.seed`. Under
`accelerate launch` each process takes its share of every step's prompts (trainer/distributed.py).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from tqdm.auto import tqdm

from bot.errors import InputError, StateError
from trainer.distributed import Ranks
from trainer.model import PromptGroup, collate, grouped_loss, with_foreign_negatives


@dataclass
class TrainConfig:
    backbone: str = "default"
    epochs: int = 2
    lr: float = 3e-5
    batch_prompts: int = 8  # prompts per step; all pairs of each prompt go in the same step
    max_length: int = 256
    seed: int = 0
    validation_fraction: float = 0.1
    weight_decay: float = 0.01
    warmup_fraction: float = 0.1
    disable_dropout: bool = False  # TRL's RewardTrainer default; then grouped and per-pair steps are the same math
    # start the backbone's untrained pooler as the identity (trainer/backbone.py); None: only for the default
    # backbone, all-MiniLM-L6-v2, whose pooler is known to ship untrained
    identity_pooler: bool | None = None
    foreign_negatives: int = 0  # per prompt, answers to other prompts ranked below its own (trainer/model.py)

    def validate(self) -> None:
        checks = [("epochs", self.epochs >= 1, "must be at least 1"), ("lr", 0 < self.lr < 1, "must be in (0, 1)"),
                  ("batch-prompts", self.batch_prompts >= 1, "must be at least 1"),
                  ("max-length", 8 <= self.max_length <= 8192, "must be between 8 and 8192"),
                  ("validation-fraction", 0 < self.validation_fraction < 1, "must be in (0, 1)"),
                  ("foreign-negatives", self.foreign_negatives >= 0, "must be at least 0")]
        for name, ok, message in checks:
            if not ok:
                raise InputError(message, field=name)

    def resolved(self) -> TrainConfig:
        """The settings a run uses and records: an unset `identity_pooler` decided by the backbone."""
        if self.identity_pooler is not None:
            return self
        return replace(self, identity_pooler=self.backbone == "default")


def split_by_prompt(groups: Sequence[PromptGroup], fraction: float, seed: int) -> tuple[list, list]:
    """Train / validation by prompt, never by pair: no prompt's completions are seen on both sides."""
    if len(groups) < 2:
        raise StateError(f"need pairs of at least 2 prompts to train and validate, got {len(groups)}")
    order = list(range(len(groups)))
    random.Random(seed).shuffle(order)
    held = min(len(groups) - 1, max(1, round(len(groups) * fraction)))
    return [groups[i] for i in order[held:]], [groups[i] for i in order[:held]]


def batches(groups: Sequence[PromptGroup], size: int, rng: random.Random | None = None) -> list[list[PromptGroup]]:
    """Batches of `size` prompts. With `rng` (training): shuffled, then sorted by length within windows of 32
    batches so a batch pads little (a length-grouped sampler), and the batches shuffled again. Without: in order
    of length (evaluation: the order does not matter, the padding does)."""
    order = list(range(len(groups)))
    if rng is None:
        order.sort(key=lambda i: groups[i].length)
        return [[groups[i] for i in order[start:start + size]] for start in range(0, len(order), size)]
    rng.shuffle(order)
    window = size * 32
    chunks: list[list[int]] = []
    for start in range(0, len(order), window):
        ranked = sorted(order[start:start + window], key=lambda i: groups[i].length)
        chunks += [ranked[at:at + size] for at in range(0, len(ranked), size)]
    rng.shuffle(chunks)
    return [[groups[i] for i in chunk] for chunk in chunks]


@torch.no_grad()
def evaluate(model, tokenizer, groups: Sequence[PromptGroup], config: TrainConfig, device: str) -> dict:
    """Pairwise accuracy (the chosen completion scores higher) and mean loss over the groups' pairs."""
    model.eval()
    correct = total = 0
    loss_sum = 0.0
    for batch_groups in batches(groups, config.batch_prompts):
        batch = collate(batch_groups, tokenizer, config.max_length).to(device)
        loss, gaps = grouped_loss(model, batch, reduction="sum")
        loss_sum += float(loss)
        correct += int((gaps > 0).sum())
        total += batch.pairs
    accuracy = correct / total if total else 0.0
    return {"accuracy": accuracy, "loss": loss_sum / max(total, 1), "pairs": total,
            "interval95": 1.96 * math.sqrt(accuracy * (1 - accuracy) / total) if total else 0.0}


def train(model, tokenizer, train_groups: Sequence[PromptGroup], val_groups: Sequence[PromptGroup],
          config: TrainConfig, *, device: str = "cpu", checkpoint: Path | None = None,
          progress: bool = True, on_step: Callable[[int, int], None] | None = None,
          ranks: Ranks | None = None) -> dict:
    """Train in place; returns metrics (validation accuracy and loss, steps, pairs seen, seconds).
    `on_step(step, pairs)` is called after every optimizer step (benchmarks time the steps with it).
    `ranks`: this process's place among several (`launched_ranks()`); one process by default."""
    torch.manual_seed(config.seed)
    train_groups = with_foreign_negatives(train_groups, config.foreign_negatives, config.seed)
    deterministic_before = torch.are_deterministic_algorithms_enabled()
    if device == "cpu":
        torch.use_deterministic_algorithms(True)
    try:
        return _loop(model, tokenizer, train_groups, val_groups, config, device, checkpoint, progress, on_step,
                     ranks or Ranks(device=device))
    finally:
        torch.use_deterministic_algorithms(deterministic_before)


def _loop(model, tokenizer, train_groups, val_groups, config: TrainConfig, device: str, checkpoint: Path | None,
          progress: bool, on_step: Callable[[int, int], None] | None, ranks: Ranks) -> dict:
    rng = random.Random(config.seed)
    model.to(device)
    network = ranks.wrap(model)  # DDP when launched on several processes, else the model itself
    if config.disable_dropout:
        for module in model.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = 0.0
    steps_per_epoch = math.ceil(len(train_groups) / config.batch_prompts)
    total_steps = steps_per_epoch * config.epochs
    warmup = max(1, int(total_steps * config.warmup_fraction))
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (total_steps - step) / (total_steps - warmup + 1))))
    step, start_epoch, pairs_seen = 0, 0, 0
    if checkpoint is not None and checkpoint.is_file():
        step, start_epoch, pairs_seen = resume(checkpoint, model, optimizer, schedule, config)
        for _ in range(start_epoch):  # replay the batch order so a resumed run equals an uninterrupted one
            batches(train_groups, config.batch_prompts, rng)
    started, pairs_now = time.perf_counter(), 0
    bar = tqdm(total=total_steps, initial=step, desc="train", unit="step", disable=not (progress and ranks.main),
               leave=False)
    for epoch in range(start_epoch, config.epochs):
        model.train()
        for batch_groups in batches(train_groups, config.batch_prompts, rng):
            loss, pairs = step_loss(network, tokenizer, batch_groups, ranks, config.max_length, device)
            loss_value = loss.item()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            step += 1
            pairs_seen += pairs
            pairs_now += pairs
            bar.update(1)
            bar.set_postfix(epoch=epoch + 1, loss=f"{loss_value:.3f}")
            if on_step is not None:
                on_step(step, pairs)
        if checkpoint is not None and ranks.main:
            save_checkpoint(checkpoint, model, optimizer, schedule, config, step, epoch + 1, pairs_seen)
    bar.close()
    seconds = time.perf_counter() - started
    validation = evaluate(model, tokenizer, val_groups, config, device)
    return {"val_accuracy": validation["accuracy"], "val_loss": validation["loss"], "val_pairs": validation["pairs"],
            "val_interval95": validation["interval95"], "steps": step, "pairs_seen": pairs_seen,
            "train_prompts": len(train_groups), "val_prompts": len(val_groups),
            "train_seconds": round(seconds, 2), "pairs_per_second": round(pairs_now / seconds, 2) if seconds else 0.0}


def step_loss(network, tokenizer, batch_groups: Sequence[PromptGroup], ranks: Ranks, max_length: int,
              device: str) -> tuple[torch.Tensor, int]:
    """This process's part of a step's loss, and the pairs of the whole batch. Scaled so that the mean of the
    processes' gradients (DDP's) is the gradient of the batch's mean pair loss, as one process computes it."""
    mine, weight = ranks.share(list(batch_groups))
    pairs = sum(len(group.pairs) for group in batch_groups)
    loss_sum, _ = grouped_loss(network, collate(mine, tokenizer, max_length).to(device), reduction="sum")
    return loss_sum * (weight * ranks.world / pairs), pairs


def save_checkpoint(path: Path, model, optimizer, schedule, config: TrainConfig, step: int, epoch: int,
                    pairs_seen: int) -> None:
    """Config, step, epoch, model, optimizer and schedule state; written to a temp file and renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(".tmp")
    torch.save({"config": asdict(config), "step": step, "epoch": epoch, "pairs_seen": pairs_seen,
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "schedule": schedule.state_dict(), "torch_rng": torch.get_rng_state()}, temp)
    temp.replace(path)


def resume(path: Path, model, optimizer, schedule, config: TrainConfig) -> tuple[int, int, int]:
    state = torch.load(path, map_location="cpu", weights_only=False)
    if state["config"] != asdict(config):
        raise InputError(f"checkpoint {path} was made with other settings; remove it or use the same ones",
                          field="resume")
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    schedule.load_state_dict(state["schedule"])
    torch.set_rng_state(state["torch_rng"])
    return state["step"], state["epoch"], state["pairs_seen"]


@contextmanager
def fixed_torch_threads(count: int) -> Iterator[None]:
    """Run torch on `count` threads (process-wide, so a training thread uses it too), then as before: the same
    seed trains the same model only on the same thread count."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)
