"""Click latency while the reward model retrains: `crowdrank serve --slack` (its own process) answers clicks from
the Slack emulator at a human pace, with no job running (baseline, same run) and while a scheduled retrain
trains MiniLM in the worker process. The two conditions alternate `--repeats` times and their clicks are pooled,
so a change in the machine's other load during the run falls on both. Reported: click→card-updated p50/p99 for
both, their ratios (goal p99 ≤ 1.5×), ack latency, and whether the training overlapped every measured phase.

    .venv/bin/python bench/serve_while_training.py [--quick] [--labelers N] [--rounds R] [--think S]
                                                   [--repeats N] [--train-items N] [--backend sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlmodel import col, select  # noqa: E402
from tqdm import tqdm  # noqa: E402

from bench.slack_clicks import CLICKS, Run, app_process, database_url, drive, percentile, seat_labelers  # noqa: E402
from bot.database import Database  # noqa: E402
from bot.jobs import schedules  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Job, JobRun, utcnow  # noqa: E402
from tests.job_helpers import ranked_campaign  # noqa: E402
from tests.slack_emulator import SlackEmulator, SlackUser  # noqa: E402
from tests.slack_harness import SECRET, create_campaigns, prompt_records  # noqa: E402

RETRAIN = "retrain:pairs-test"


async def set_due(database: Database, due: bool) -> None:
    """The training campaign's retrain: due now (it runs as the bot starts), or not before tomorrow."""
    async with database.session() as session:
        await schedules.sync(session, utcnow())
        async with session.begin():
            job = await session.get(Job, RETRAIN)
            assert job is not None
            job.next_run_at = utcnow() - timedelta(minutes=1) if due else utcnow() + timedelta(days=1)


async def training_run(database: Database) -> JobRun | None:
    async with database.session() as session:
        return (await session.exec(select(JobRun).where(JobRun.job == RETRAIN)
                                   .order_by(col(JobRun.id).desc()))).first()


async def phase(name: str, emulator: SlackEmulator, url: str, database: Database, seated: list, rounds: int,
                think: float, training: bool) -> tuple[Run, str]:
    await set_due(database, training)
    async with app_process("crowdrank", emulator, url) as app_url:
        note = "no job running"
        if training:
            while (run := await training_run(database)) is None or run.state != "running":
                await asyncio.sleep(0.2)
            await asyncio.sleep(5)  # the worker has imported torch and is training
        slack = SlackUser(emulator, app_url, SECRET)
        total = len(seated) * rounds * len(CLICKS)
        with tqdm(total=total, desc=name, unit="click", file=sys.stderr) as bar:
            result = await drive(slack, seated, rounds, think, True, bar)
        if training:
            run = await training_run(database)
            assert run is not None
            still = run.state == "running"
            note = ("training ran through the whole phase" if still else
                    f"training ended during the phase ({run.state}: {run.message})")
    return result, note


def line(name: str, run: Run, note: str) -> str:
    clicks = len(run.acks)
    return (f"  {name:<22} {clicks / run.seconds:6.1f} clicks/s  ack p50 {1000 * statistics.median(run.acks):6.1f} ms"
            f" p99 {1000 * percentile(run.acks, 0.99):6.1f} ms   click→card updated p50 "
            f"{1000 * statistics.median(run.updates):6.1f} ms p99 {1000 * percentile(run.updates, 0.99):6.1f} ms"
            f"   ({note})")


def pooled(runs: list[Run]) -> Run:
    return Run(sum(run.seconds for run in runs), [a for run in runs for a in run.acks],
               [u for run in runs for u in run.updates], [f for run in runs for f in run.firsts])


async def measure(url: str, labelers: int, rounds: int, think: float, repeats: int, train_items: int,
                  backend: str) -> None:
    emulator = SlackEmulator()
    await emulator.start()
    database = Database(url)
    await create_campaigns(database, prompts=prompt_records(2 * labelers))
    seated = await seat_labelers(database, emulator, labelers)
    started = time.perf_counter()
    await asyncio.to_thread(ranked_campaign, url, train_items, retrain_schedule="0 3 * * *")
    print(f"{labelers} labelers × {rounds} rounds × {len(CLICKS)} clicks at ~{think:g} s per click, each condition "
          f"{repeats}× alternately; {backend}; "
          f"training set: {train_items} prompts × 2 rankings × 6 pairs (inserted in "
          f"{time.perf_counter() - started:.0f} s); serve in its own process, trainer in its worker", flush=True)
    results: dict[bool, list[Run]] = {False: [], True: []}
    notes: dict[bool, set[str]] = {False: set(), True: set()}
    for repeat in range(repeats):
        for training in (False, True):
            name = f"{'retrain running' if training else 'no job'} ({repeat + 1}/{repeats})"
            run, note = await phase(name, emulator, url, database, seated, rounds, think, training)
            results[training].append(run)
            notes[training].add(note)
    quiet, busy = pooled(results[False]), pooled(results[True])
    print(line("no job (baseline)", quiet, "; ".join(sorted(notes[False]))))
    print(line("retrain running", busy, "; ".join(sorted(notes[True]))))
    for label, q in (("p50", 0.5), ("p99", 0.99)):
        ratio = percentile(busy.updates, q) / percentile(quiet.updates, q)
        print(f"  click→card updated {label}, retrain running ÷ no job = {ratio:.2f}"
              + (" (goal ≤ 1.5)" if label == "p99" else ""), flush=True)
    await database.dispose()
    await emulator.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 labelers × 2 rounds, 1 s pauses, once each")
    parser.add_argument("--labelers", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2, help="rounds per phase")
    parser.add_argument("--repeats", type=int, default=2, help="phases per condition, alternating")
    parser.add_argument("--think", type=float, default=2.0, help="mean pause before each click")
    parser.add_argument("--train-items", type=int, default=300, help="prompts in the training campaign")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    n, r, think, repeats = (20, 2, 1.0, 1) if args.quick else (args.labelers, args.rounds, args.think, args.repeats)
    with database_url(args.backend) as url:
        upgrade(url)
        asyncio.run(measure(url, n, r, think, repeats, args.train_items, args.backend))


if __name__ == "__main__":
    main()
