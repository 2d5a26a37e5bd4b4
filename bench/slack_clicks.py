"""Slack click path end to end: signed block_actions over loopback HTTP → `crowdrank serve --slack` (uvicorn +
Bolt AsyncApp, its own process) → ack → `bot.ranking_session.click` → chat.update to the local Slack emulator.
Baseline, measured in the same run: a bare Bolt AsyncApp on the same server stack, in its own process, that only
acks (DESIGN.md "Serving Slack fast").

Every labeler holds one card and clicks like a person who waits to see the card update: place, place, place (the
fourth places itself), Reset, again for `rounds`. Two phases: all labelers clicking back to back (saturation:
clicks/s) and at a human pace (a pause of `--think` seconds, ±50 %, before each click: latency). Reported: clicks/s,
ack latency (HTTP response) p50/p99, click-to-updated-card latency p50/p99 (the first click of each labeler after
the bot starts, which also looks the labeler up, is reported on its own).

    .venv/bin/python bench/slack_clicks.py [--quick] [--labelers N] [--rounds R] [--think S]
                                           [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from tqdm import tqdm  # noqa: E402

from adapters.slack.render_examples import LIMITS  # noqa: E402
from adapters.slack.replies import blocks_and_text  # noqa: E402
from adapters.slack.server import EVENTS_PATH  # noqa: E402
from bot import assignment, labelers  # noqa: E402
from bot.chat.cards import card_view  # noqa: E402
from bot.database import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from tests.slack_emulator import TEAM, Message, SlackEmulator, SlackUser  # noqa: E402
from tests.slack_harness import CAMPAIGN, SECRET, create_campaigns, prompt_records  # noqa: E402

CLICKS = ("rank:{a}:0", "rank:{a}:1", "rank:{a}:2", "reset:{a}")
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
BARE_APP = """
import re, sys
from slack_bolt.async_app import AsyncApp
from adapters.slack.app import configure_client
from adapters.slack.server import SlackHttpServer
from bot.settings import Settings
from bot import event_loop

app = AsyncApp(token=sys.argv[1], signing_secret=sys.argv[2])
configure_client(app.client, Settings(SLACK_API_URL=sys.argv[3]))

@app.action(re.compile(".*"))
async def only_ack(ack):
    await ack()

print("serving", flush=True)
event_loop.run(SlackHttpServer(app, sys.argv[2], host="127.0.0.1", port=int(sys.argv[4]),
                               log_level="warning").serve_forever())
"""


@dataclass
class Run:
    seconds: float
    acks: list[float]
    updates: list[float]
    firsts: list[float]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def seat_labelers(database: Database, emulator: SlackEmulator, n: int) -> list[tuple[str, Message]]:
    """n onboarded labelers, each with an open card posted in their DM (set up through the services, untimed)."""
    seated = []
    for number in range(n):
        user = f"U{number:06d}"
        async with database.session() as session:
            labeler = await labelers.register_labeler(session, "slack", TEAM, user)
            await labelers.give_consent(session, labeler.id)
            await labelers.choose_region(session, labeler.id, CAMPAIGN, "Europe")
            await labelers.acknowledge_guidelines(session, labeler.id, CAMPAIGN, 1)
            card = await assignment.next_card(session, labeler.id, CAMPAIGN)
        assert card is not None
        channel, ts = "D" + user, f"{1800000000 + number}.000100"
        blocks, text = blocks_and_text(card_view(card, LIMITS))
        emulator.messages[(channel, ts)] = Message(channel, ts, text, list(blocks))
        seated.append((user, emulator.messages[(channel, ts)]))
    return seated


@contextlib.asynccontextmanager
async def app_process(kind: str, emulator: SlackEmulator, url: str) -> AsyncIterator[str]:
    """Start the app under test in its own process; yields its /slack/events URL."""
    port = free_port()
    env = {**os.environ, "SLACK_BOT_TOKEN": emulator.token, "SLACK_SIGNING_SECRET": SECRET,
           "SLACK_API_URL": emulator.api_url, "CROWDRANK_DATABASE_URL": url, "PYTHONPATH": str(ROOT),
           "CROWDRANK_HOME": tempfile.mkdtemp(prefix="crowdrank-bench-home-")}
    env.pop("SLACK_APP_TOKEN", None)
    if kind == "crowdrank":
        argv = ["-c", "from bot.cli import main; main()", "serve", "--slack", "--host", "127.0.0.1",
                "--port", str(port)]
    else:
        argv = ["-c", BARE_APP, emulator.token, SECRET, emulator.api_url, str(port)]
    process = await asyncio.create_subprocess_exec(sys.executable, *argv, env=env, cwd=ROOT,
                                                   stdout=asyncio.subprocess.PIPE)
    try:
        assert process.stdout is not None
        await asyncio.wait_for(process.stdout.readline(), 60)
        app_url = f"http://127.0.0.1:{port}{EVENTS_PATH}"
        for _ in range(400):  # uvicorn binds just after the banner
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            except OSError:
                await asyncio.sleep(0.05)
        yield app_url
    finally:
        process.terminate()
        await process.wait()


async def drive(slack: SlackUser, seated: list[tuple[str, Message]], rounds: int, think: float, wait_update: bool,
                bar: tqdm) -> Run:
    """Every labeler clicks its card `rounds` × 4 times, all labelers at once."""
    run = Run(0.0, [], [], [])
    rng = random.Random(7)

    async def one(user: str, message: Message) -> None:
        a = message.blocks[4]["accessory"]["options"][0]["value"].split(":")[1]  # flag:<card>:0:… of choice A
        first = True
        for _ in range(rounds):
            for template in CLICKS:
                if think:
                    await asyncio.sleep(think * rng.uniform(0.5, 1.5))
                versions = len(message.history)
                # the baseline never re-renders the card, so it clicks a button the first render has
                payload = slack.click_payload(user, message, (template if wait_update else CLICKS[0]).format(a=a))
                start = time.perf_counter()
                status, _ = await slack.send_payload(payload)
                run.acks.append(time.perf_counter() - start)
                assert status == 200, status
                if wait_update:
                    await slack.emulator.wait_for(lambda seen=versions: len(message.history) > seen, timeout=120)
                    (run.firsts if first else run.updates).append(time.perf_counter() - start)
                    first = False
                bar.update()

    start = time.perf_counter()
    await asyncio.gather(*(one(user, message) for user, message in seated))
    run.seconds = time.perf_counter() - start
    return run


@contextlib.contextmanager
def database_url(backend: str) -> Iterator[str]:
    """A fresh database: a SQLite file, or a throw-away database on the local PostgreSQL server."""
    if backend == "sqlite":
        yield f"sqlite:///{Path(tempfile.mkdtemp(prefix='crowdrank-bench-')) / 'bench.db'}"
        return
    name = f"crowdrank_bench_{os.getpid()}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def describe(name: str, clicks: int, run: Run) -> str:
    line = (f"  {name:<20} {clicks / run.seconds:6.0f} clicks/s   ack p50 {1000 * statistics.median(run.acks):6.1f} ms"
            f"  p99 {1000 * percentile(run.acks, 0.99):6.1f} ms")
    if run.updates:
        line += (f"   click→card updated p50 {1000 * statistics.median(run.updates):6.1f} ms"
                 f"  p99 {1000 * percentile(run.updates, 0.99):6.1f} ms"
                 f"   (first click after start p50 {1000 * statistics.median(run.firsts):6.1f} ms"
                 f"  max {1000 * max(run.firsts):6.1f} ms)")
    return line


async def measure(url: str, labeler_count: int, rounds: int, think: float, backend: str) -> None:
    emulator = SlackEmulator()
    await emulator.start()
    database = Database(url)
    await create_campaigns(database, prompts=prompt_records(2 * labeler_count))
    seated = await seat_labelers(database, emulator, labeler_count)
    await database.dispose()
    clicks = labeler_count * rounds * len(CLICKS)
    print(f"{labeler_count} labelers × {rounds} rounds × {len(CLICKS)} clicks = {clicks} signed block_actions per "
          f"app and phase; {backend}; app in its own process (uvicorn + Bolt AsyncApp), loopback", flush=True)
    for phase, pause in (("back to back", 0.0), (f"human pace, ~{think:g} s between clicks", think)):
        results = {}
        for name in ("bare Bolt ack-only", "crowdrank"):
            async with app_process(name.split()[0] if name == "crowdrank" else "bare", emulator, url) as app_url:
                slack = SlackUser(emulator, app_url, SECRET)
                with tqdm(total=clicks, desc=f"{name}, {phase}", unit="click", file=sys.stderr) as bar:
                    results[name] = await drive(slack, seated, rounds, pause, name == "crowdrank", bar)
        print(f" {phase}:")
        for name, run in results.items():
            print(describe(name, clicks, run))
        base, ours = (clicks / results[n].seconds for n in ("bare Bolt ack-only", "crowdrank"))
        print(f"  crowdrank clicks/s ÷ bare ack-only clicks/s = {ours / base:.2f}", flush=True)
    await emulator.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 labelers x 2 rounds, 0.5 s pauses")
    parser.add_argument("--labelers", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--think", type=float, default=2.0, help="mean pause before each click, human phase")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    n, r, think = (20, 2, 0.5) if args.quick else (args.labelers, args.rounds, args.think)
    for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
        with database_url(backend) as url:
            upgrade(url)
            asyncio.run(measure(url, n, r, think, backend))


if __name__ == "__main__":
    main()
