"""Training speed: our grouped loop (each completion of a prompt encoded once per step) against TRL's
RewardTrainer (every pair encoded on its own), in the same run, on the same backbone, data, inputs, sequence
length, batch (in pairs), schedule, CPU threads and precision (fp32), with both validation accuracies.

    .venv/bin/python bench/train_speed.py          # 96 training prompts x K=4 (576 pairs), 2 epochs each
    .venv/bin/python bench/train_speed.py --quick  # a small run that finishes in well under a minute

Data: K = 4 completions per prompt from HH-RLHF, ranked best first: the prompt's own chosen reply, its own
rejected reply, then another conversation's chosen and rejected replies (off-topic, ordered by their own human
label); all 6 pairs of each prompt are trained. Both sides get the same token ids (prompt and completion as two
segments, truncated to --max-length); TRL gets them pre-tokenized, which also avoids its BERT-has-no-EOS quirk.
TRL is a benchmark-only dependency: it is installed into this environment on demand (pip install trl==1.16.0,
which needs datasets but never another torch).
"""

from __future__ import annotations

import os

# Set before torch loads OpenMP: on a shared CPU, threads that spin while waiting for a descheduled sibling
# made a training step about 4x slower here; passive waiting costs nothing when the machine is idle.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import random  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hh_data import interval95, load_pairs  # noqa: E402

from trainer.backbone import DEFAULT_NAME, load_reward_model, resolve_backbone  # noqa: E402
from trainer.model import PromptGroup, build_groups  # noqa: E402
from trainer.pair_files import Pair  # noqa: E402
from trainer.train import TrainConfig, evaluate, train  # noqa: E402

TRL = "trl==1.16.0"
WARM_STEPS = 3  # the first steps of a process are slower here; steady state starts after them


def ensure_trl() -> None:
    if importlib.util.find_spec("trl") is None:
        print(f"installing {TRL} into {sys.prefix} (benchmark only)...", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", TRL], check=True)


class NoSegments:
    """The tokenizer without token_type_ids, so both trainers see exactly the same inputs (TRL's collator
    passes input ids and attention mask only)."""

    def __init__(self, tokenizer) -> None:
        self.tokenizer = tokenizer

    def __call__(self, *args, **kwargs):
        encoded = self.tokenizer(*args, **kwargs)
        encoded.pop("token_type_ids", None)
        return encoded


def ranked_k4(prompts: int, seed: int) -> list[Pair]:
    """All 6 pairs of `prompts` prompts with K=4 ranked completions (see the module docstring)."""
    seen: set[str] = set()
    source = []
    for pair in load_pairs():  # one HH conversation per prompt text, so every prompt has exactly K = 4
        if pair.chosen != pair.rejected and pair.prompt not in seen:
            seen.add(pair.prompt)
            source.append(pair)
    rng = random.Random(seed)
    rng.shuffle(source)
    own, others = source[:prompts], source[prompts:]
    pairs = []
    for number, pair in enumerate(own):
        other = others[number % len(others)]
        best_first = [pair.chosen, pair.rejected, other.chosen, other.rejected]
        for i in range(4):
            for j in range(i + 1, 4):
                pairs.append(Pair(pair.prompt, best_first[i], best_first[j], item_id=number))
    return pairs


class StepClock:
    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.ends: list[float] = []
        self.pairs: list[int] = []

    def step(self, pairs: int) -> None:
        self.ends.append(time.perf_counter())
        self.pairs.append(pairs)

    def rates(self) -> tuple[float, float]:
        """(steady-state pairs/s after the warm-up steps, whole-epoch pairs/s from the call to the last step)."""
        whole = sum(self.pairs) / (self.ends[-1] - self.start)
        warm = min(WARM_STEPS, len(self.ends) - 2)
        steady = sum(self.pairs[warm + 1:]) / (self.ends[-1] - self.ends[warm])
        return steady, whole


def run_grouped(train_groups, val_groups, config: TrainConfig) -> tuple[StepClock, dict]:
    torch.manual_seed(config.seed)  # the same fresh reward head on both sides
    model, tokenizer = load_reward_model(resolve_backbone(config.backbone))
    tokenizer = NoSegments(tokenizer)
    clock = StepClock()
    train(model, tokenizer, train_groups, val_groups, config, on_step=lambda step, pairs: clock.step(pairs))
    return clock, evaluate(model, tokenizer, val_groups, config, "cpu")


def run_trl(train_groups: list[PromptGroup], val_groups, config: TrainConfig, pairs_per_step: int,
            steps: int) -> tuple[StepClock, dict]:
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import RewardConfig, RewardTrainer

    torch.manual_seed(config.seed)
    model, tokenizer = load_reward_model(resolve_backbone(config.backbone))
    rows = []
    for group in train_groups:
        ids = [tokenizer(group.prompt, completion, truncation="longest_first", max_length=config.max_length)
               ["input_ids"] for completion in group.completions]
        for chosen, rejected, _ in group.pairs:
            rows.append({"chosen_ids": ids[chosen], "rejected_ids": ids[rejected],
                         "length": max(len(ids[chosen]), len(ids[rejected]))})
    clock = StepClock()

    per_epoch = -(-len(rows) // pairs_per_step)
    last_batch = len(rows) - pairs_per_step * (per_epoch - 1)

    class Clock(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):  # each epoch's last batch may be short
            clock.step(last_batch if state.global_step % per_epoch == 0 else pairs_per_step)

    with tempfile.TemporaryDirectory() as output:
        args = RewardConfig(
            output_dir=output, per_device_train_batch_size=pairs_per_step, num_train_epochs=config.epochs,
            learning_rate=config.lr, weight_decay=config.weight_decay, lr_scheduler_type="linear",
            warmup_steps=max(1, int(steps * config.warmup_fraction)), max_grad_norm=1.0, seed=config.seed,
            use_cpu=True, bf16=False, fp16=False, disable_dropout=config.disable_dropout,
            max_length=config.max_length,
            train_sampling_strategy="group_by_length", length_column_name="length", report_to=[],
            save_strategy="no", eval_strategy="no", logging_strategy="no", dataloader_num_workers=0,
            remove_unused_columns=False,  # keep `length` for the length-grouped sampler (both sides group)
            disable_tqdm=False)
        trainer = RewardTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows),
                                processing_class=tokenizer, callbacks=[Clock()])
        clock.start = time.perf_counter()
        trainer.train()
    model.eval()
    return clock, evaluate(model, NoSegments(tokenizer), val_groups, config, "cpu")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="24 training prompts, shorter inputs")
    parser.add_argument("--prompts", type=int, default=96, help="training prompts (6 pairs each)")
    parser.add_argument("--val-prompts", type=int, default=64)
    parser.add_argument("--batch-prompts", type=int, default=8, help="prompts per step (x6 pairs for TRL)")
    parser.add_argument("--max-length", type=int, default=96)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dropout", action="store_true", help="keep dropout on both sides (TRL turns it off)")
    args = parser.parse_args()
    if args.quick:
        args.prompts, args.val_prompts, args.max_length = 24, 16, 64
    ensure_trl()
    torch.set_num_threads(args.threads)

    groups, _ = build_groups(ranked_k4(args.prompts + args.val_prompts, args.seed))
    train_groups, val_groups = groups[:args.prompts], groups[args.prompts:]
    pairs_per_step = 6 * args.batch_prompts
    steps = -(-len(train_groups) // args.batch_prompts) * args.epochs
    config = TrainConfig(epochs=args.epochs, lr=args.lr, batch_prompts=args.batch_prompts,
                         max_length=args.max_length, seed=args.seed, disable_dropout=not args.dropout)
    assert all(len(group.completions) == 4 for group in groups)
    print(f"{DEFAULT_NAME}, fp32, {args.threads} CPU threads, K=4: {len(train_groups)} prompts "
          f"({6 * len(train_groups)} pairs) x {args.epochs} epochs, {pairs_per_step} pairs/step, lr {args.lr}, "
          f"max length {args.max_length}, dropout {'on' if args.dropout else 'off'}; "
          f"validation {len(val_groups)} prompts ({6 * len(val_groups)} pairs)")
    print("grouped (crowdrank):", flush=True)
    ours_clock, ours = run_grouped(train_groups, val_groups, config)
    print("TRL RewardTrainer:", flush=True)
    trl_clock, theirs = run_trl(train_groups, val_groups, config, pairs_per_step, steps)

    (ours_steady, ours_whole), (trl_steady, trl_whole) = ours_clock.rates(), trl_clock.rates()
    print()
    print(f"{'':<22}{'steady pairs/s':>16}{'epoch pairs/s':>15}{'val accuracy':>22}")
    for name, steady, whole, result in (("grouped (crowdrank)", ours_steady, ours_whole, ours),
                                        ("TRL RewardTrainer", trl_steady, trl_whole, theirs)):
        accuracy = f"{result['accuracy']:.1%} ± {interval95(result['accuracy'], result['pairs']):.1%}"
        print(f"{name:<22}{steady:>16.1f}{whole:>15.1f}{accuracy:>22}")
    gap = (ours["accuracy"] - theirs["accuracy"]) * 100
    print(f"ratio grouped/TRL: steady {ours_steady / trl_steady:.2f}x, whole epoch {ours_whole / trl_whole:.2f}x "
          f"(goal >= 2.5x); accuracy difference {gap:+.1f} points (goal within 1)")


if __name__ == "__main__":
    main()
