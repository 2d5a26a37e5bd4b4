"""Benchmark completion generation, against baselines measured in the same run.

1. Throughput: the batched sampler (chat template, left padding, several prompts per `generate` call,
   `num_return_sequences=k`, with its de-duplication) against a naive loop that asks for one prompt and one
   sample at a time, over the same prompts and settings. Goal: batched ≥ 3× naive completions per second.
   The naive loop is favoured, if anything: it skips de-duplication, and each call stops at its own answer's end
   while a batch runs until its longest answer ends.
   The two alternate batch by batch, so background load on a shared machine hits both alike.
2. Model load: cold (de-quantize the bundled GGUF file, then write the cache) against a load from the cached
   folder. Goal: cached ≤ 20% of cold. Measured in a temporary cache, so the user's cache is left alone.

    .venv/bin/python bench/generate.py            # 8 bundled prompts, k=4, 96 new tokens (a few minutes)
    .venv/bin/python bench/generate.py --quick    # 4 prompts, 32 new tokens (under a minute when the machine is idle)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402  (after the path set-up; imported before timing so no load pays for it)
import transformers  # noqa: E402, F401
from tqdm import tqdm  # noqa: E402

from bot.demo import PROMPTS  # noqa: E402
from trainer.instruct_model import load_instruct_model  # noqa: E402
from trainer.sampling import CompletionSampler, SamplingSettings, sampler_for  # noqa: E402


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small size: 4 prompts, 32 new tokens")
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--batch-size", type=int, default=8, help="prompts per generate call (batched)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cached-loads", type=int, default=3, help="cached loads to time (median is shown)")
    args = parser.parse_args()
    if args.quick:
        args.prompts, args.max_new_tokens = 4, 32
    return args


def time_cold(cache_dir: Path) -> float:
    loaded = load_instruct_model("default", cache_dir=cache_dir)
    assert loaded.origin == "gguf", loaded.origin
    return loaded.load_seconds


def compare(sampler: CompletionSampler, prompts: list[str], k: int, batch_size: int) -> dict[str, list[float]]:
    """Completions made and seconds spent, batched and naive, alternating batch by batch over the same prompts:
    the machine is shared, so the two sides see the same background load as far as possible."""
    totals = {"batched": [0.0, 0.0], "naive": [0.0, 0.0]}
    with tqdm(total=2 * len(prompts) * k, desc="generating", unit="completion", leave=False) as bar:
        for start in range(0, len(prompts), batch_size):
            batch = prompts[start:start + batch_size]
            started = time.perf_counter()
            made = sum(len(texts) for texts in sampler.sample(batch, k))
            totals["batched"][0] += made
            totals["batched"][1] += time.perf_counter() - started
            bar.update(made)
            for index, prompt in enumerate(batch):
                for j in range(k):
                    started = time.perf_counter()
                    made = len(sampler.sample_raw([prompt], 1, seed=sampler.settings.seed + (start + index) * k + j)[0])
                    totals["naive"][0] += made
                    totals["naive"][1] += time.perf_counter() - started
                    bar.update(made)
    return totals


def main() -> None:
    args = parse()
    prompts = [json.loads(line)["prompt"] for line in PROMPTS.read_text(encoding="utf-8").splitlines()]
    prompts = prompts[:args.prompts]
    settings = SamplingSettings(max_new_tokens=args.max_new_tokens, seed=args.seed)

    with tempfile.TemporaryDirectory(prefix="crowdrank-bench-") as folder:
        cache_dir = Path(folder)
        print("loading the model cold (de-quantizing the GGUF file) …", file=sys.stderr)
        cold = time_cold(cache_dir)
        cached_times, loaded = [], None
        for _ in range(args.cached_loads):
            loaded = load_instruct_model("default", cache_dir=cache_dir)
            assert loaded.origin == "cache", loaded.origin
            cached_times.append(loaded.load_seconds)
        cached = statistics.median(cached_times)

        sampler = sampler_for(loaded, settings)
        sampler.sample_raw(prompts[:1], 1, seed=0)  # warm-up: the first generate call of a process is slower
        totals = compare(sampler, prompts, args.k, args.batch_size)
        (batched_n, batched_s), (naive_n, naive_s) = totals["batched"], totals["naive"]

    batched_n, naive_n = int(batched_n), int(naive_n)
    batched_rate, naive_rate = batched_n / batched_s, naive_n / naive_s
    speedup, load_share = batched_rate / naive_rate, cached / cold
    print(f"\ncrowdrank generation benchmark — {loaded.model_id}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    print(f"{len(prompts)} prompts x k={args.k}, max_new_tokens={settings.max_new_tokens}, "
          f"temperature={settings.temperature}, top_p={settings.top_p}, seed={settings.seed}, "
          f"batch size {args.batch_size} prompts\n")
    rows = [
        ("generation", f"naive: {naive_n} in {naive_s:.1f} s = {naive_rate:.3g}/s",
         f"batched: {batched_n} in {batched_s:.1f} s = {batched_rate:.3g}/s", f"{speedup:.1f}x faster",
         ">= 3x", speedup >= 3),
        ("model load", f"cold (GGUF): {cold:.2f} s", f"cached folder: {cached:.2f} s (median of "
         f"{len(cached_times)})", f"{load_share:.1%} of cold", "<= 20%", load_share <= 0.20),
    ]
    header = ("measure", "baseline", "crowdrank", "ratio", "goal", "met")
    table = [header] + [(*row[:5], "yes" if row[5] else "NO") for row in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for number, row in enumerate(table):
        print("| " + " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) + " |")
        if number == 0:
            print("|" + "|".join("-" * (width + 2) for width in widths) + "|")


if __name__ == "__main__":
    main()
