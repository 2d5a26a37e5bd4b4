"""Reward model service: dynamic batching against one forward pass per request, in the same run.

Both services are the real app on uvicorn over loopback HTTP (in a thread of this process), with the same model:
all-MiniLM-L6-v2 with a reward head (`--backbone` for another folder). "batched" groups whatever requests are
waiting (up to 128 rows, waiting at most 5 ms for more); "unbatched" runs one forward pass per request (the same
queue with one request per batch). Each client posts `{"prompt", "completions"}` with `--completions` completions
of `--tokens` tokens each to /v1/score, back to back, at 1, 8 and 32 concurrent clients. Reported per cell:
scores/s, p50 and p99 latency (p99 of a few dozen requests is close to their maximum), forward passes run;
then the model alone at 4 and at 128 rows per call (the most batching can gain on the hardware at hand), and the
batched / unbatched ratio of scores/s at each concurrency.

Goals of issue #14: batched >= 5x the unbatched rate at 32 clients; p99 <= 250 ms at 8 clients, for 4
completions of 256 tokens.

    .venv/bin/python bench/reward_service.py            # 4 completions of 256 tokens
    .venv/bin/python bench/reward_service.py --quick    # fewer requests per cell
    .venv/bin/python bench/reward_service.py --tokens 32
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads OpenMP (see bench/train_speed.py)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import math  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import httpx  # noqa: E402
import torch  # noqa: E402

from trainer.backbone import DEFAULT_NAME, default_backbone  # noqa: E402
from trainer.score import RewardModel  # noqa: E402
from trainer.serving.app import create_app  # noqa: E402
from trainer.serving.server import running, service_for  # noqa: E402

CONCURRENCY = (1, 8, 32)
PROMPT = "My house is too hot in the summer. What can I do to keep it cool without air conditioning?"
MODES = {"unbatched": dict(max_rows=1, max_wait=0.0), "batched": dict(max_rows=128, max_wait=0.005)}


@dataclass
class Cell:
    mode: str
    clients: int
    scores_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    forward_passes: int


def texts(tokenizer, count: int, tokens: int, seed: int = 0) -> list[str]:
    """`count` texts of exactly `tokens` tokens (words of the model's own vocabulary, so nothing is [UNK])."""
    words = sorted(w for w in tokenizer.get_vocab() if w.isalpha() and len(w) > 3)
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        ids = tokenizer(" ".join(rng.choice(words) for _ in range(tokens)), add_special_tokens=False)["input_ids"]
        out.append(tokenizer.decode(ids[:tokens]))
    return out


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


async def load(base: str, clients: int, per_client: int, body: dict) -> tuple[list[float], float]:
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=600, limits=limits) as client:
        async def one_client() -> None:
            for _ in range(per_client):
                started = time.perf_counter()
                answer = await client.post("/v1/score", json=body)
                answer.raise_for_status()
                latencies.append(time.perf_counter() - started)

        await client.post("/v1/score", json=body)  # warm-up, not counted
        started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        return latencies, time.perf_counter() - started


def measure(model: RewardModel, mode: str, clients: int, per_client: int, body: dict) -> Cell:
    service = service_for(model, **MODES[mode])
    with running(create_app(service)) as base:
        latencies, seconds = asyncio.run(load(base, clients, per_client, body))
        forward_passes = service.batcher.batches - 1  # less the warm-up
    rows = len(latencies) * len(body["completions"])
    return Cell(mode, clients, rows / seconds, 1000 * statistics.median(latencies),
                1000 * percentile(latencies, 0.99), len(latencies), forward_passes)


def forward_rates(model: RewardModel, body: dict) -> dict[int, float]:
    """Rows/s of the model alone (no HTTP, no queue) with 4 and with 128 rows per call: the most that batching
    can gain on this hardware. Each is timed twice and the faster kept."""
    rates = {}
    for rows in (4, 128):
        prompts = [body["prompt"]] * rows
        completions = (body["completions"] * rows)[:rows]
        best = math.inf
        for _ in range(2):
            started = time.perf_counter()
            model.score_rows(prompts, completions, batch_size=rows)
            best = min(best, time.perf_counter() - started)
        rates[rows] = rows / best
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests per cell")
    parser.add_argument("--tokens", type=int, default=256, help="tokens per completion")
    parser.add_argument("--completions", type=int, default=4, help="completions per request")
    parser.add_argument("--backbone", default=None, help="a local model folder instead of all-MiniLM-L6-v2")
    args = parser.parse_args()
    torch.manual_seed(0)
    model = RewardModel.load(args.backbone or default_backbone())
    model.max_length = args.tokens + 32  # the whole completion and the prompt are scored, nothing truncated
    body = {"prompt": PROMPT, "completions": texts(model.tokenizer, args.completions, args.tokens)}
    least = 8 if args.quick else 24  # requests per cell at least, and 2 per client
    print(f"model {args.backbone or DEFAULT_NAME}, {args.completions} completions x {args.tokens} tokens per request, "
          f"{torch.get_num_threads()} torch threads, {os.cpu_count()} CPUs")
    print(f"{'clients':>7} {'mode':>9} {'scores/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'requests':>8} {'forwards':>8}")
    ratios = {}
    cells = {}
    for clients in CONCURRENCY:
        per_client = max(2, math.ceil(least / clients))
        for mode in MODES:  # interleaved, so a change in the machine's load hits both alike
            cell = measure(model, mode, clients, per_client, body)
            cells[mode, clients] = cell
            print(f"{clients:>7} {mode:>9} {cell.scores_per_second:>9.1f} {cell.p50_ms:>8.0f} {cell.p99_ms:>8.0f} "
                  f"{cell.requests:>8} {cell.forward_passes:>8}", flush=True)
        ratios[clients] = cells["batched", clients].scores_per_second / cells["unbatched", clients].scores_per_second
    ceiling = forward_rates(model, body)
    print(f"model alone: {ceiling[4]:.1f} rows/s in calls of 4 rows, {ceiling[128]:.1f} in calls of 128: "
          f"batching can gain at most {ceiling[128] / ceiling[4]:.2f}x on this hardware")
    print("batched / unbatched scores/s: " + ", ".join(f"{ratios[c]:.2f}x at {c}" for c in CONCURRENCY))
    p99 = cells["batched", 8].p99_ms
    print(f"goal >= 5x at 32 clients: {'met' if ratios[32] >= 5 else 'not met'} ({ratios[32]:.2f}x); "
          f"goal p99 <= 250 ms at 8 clients: {'met' if p99 <= 250 else 'not met'} ({p99:.0f} ms)")


if __name__ == "__main__":
    main()
