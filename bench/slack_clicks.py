"""Slack click path end to end: signed block_actions over loopback HTTP → Bolt AsyncApp under uvicorn → ack →
`bot.ranking_session.click` on SQLite → chat.update to the local Slack emulator, against the baseline of a bare
Bolt AsyncApp on the same server stack that only acks (DESIGN.md "Serving Slack fast"), measured in the same run.

Every labeler holds one card and clicks like a person who waits to see the card update: place, place, place
(the fourth places itself), Reset, again for `rounds`. All labelers click at the same time. Reported: clicks/s,
ack latency (HTTP response) p50/p99 and, for crowdrank, click-to-updated-card latency p50/p99.

    .venv/bin/python bench/slack_clicks.py [--quick] [--labelers N] [--rounds R] [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from slack_bolt.async_app import AsyncApp  # noqa: E402
from tqdm import tqdm  # noqa: E402

from adapters.slack.app import build_app, configure_client  # noqa: E402
from adapters.slack.blocks.card import card_blocks, card_text  # noqa: E402
from adapters.slack.server import EVENTS_PATH, SlackHttpServer  # noqa: E402
from bot import assignment, labelers  # noqa: E402
from bot.database import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from tests.slack_emulator import TEAM, Message, SlackEmulator, SlackUser  # noqa: E402
from tests.slack_harness import CAMPAIGN, SECRET, create_campaigns, prompt_records, settings_for  # noqa: E402

CLICKS = ("rank:{a}:0", "rank:{a}:1", "rank:{a}:2", "reset:{a}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


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
        message = Message(channel, ts, card_text(card), [b.to_dict() for b in card_blocks(card)])
        emulator.messages[(channel, ts)] = message
        seated.append((user, message))
    return seated


async def drive(slack: SlackUser, seated: list[tuple[str, Message]], rounds: int, wait_update: bool,
                bar: tqdm) -> tuple[float, list[float], list[float], list[float]]:
    """All labelers click at once; returns wall seconds, ack latencies, click-to-update latencies (later clicks,
    first clicks)."""
    acks: list[float] = []
    updates: list[float] = []
    firsts: list[float] = []  # a labeler's first click after start also looks them up (a write on a cold cache)

    firsts_seen: dict[str, bool] = {}

    async def one(user: str, message: Message) -> None:
        a = message.blocks[4]["accessory"]["action_id"].split(":")[1]  # more:<assignment>:0 of choice A
        for _ in range(rounds):
            for template in CLICKS:
                versions = len(message.history)
                # the baseline never re-renders the card, so it clicks a button the first render has
                payload = slack.click_payload(user, message, (template if wait_update else CLICKS[0]).format(a=a))
                start = time.perf_counter()
                status, _ = await slack.send_payload(payload)
                acks.append(time.perf_counter() - start)
                assert status == 200, status
                if wait_update:
                    await slack.emulator.wait_for(lambda seen=versions: len(message.history) > seen, timeout=60)
                    (updates if firsts_seen.get(user) else firsts).append(time.perf_counter() - start)
                    firsts_seen[user] = True
                bar.update()

    start = time.perf_counter()
    await asyncio.gather(*(one(user, message) for user, message in seated))
    return time.perf_counter() - start, acks, updates, firsts


def bare_app(emulator: SlackEmulator) -> AsyncApp:
    """The baseline: same signature check and server stack, a listener that only acks."""
    app = AsyncApp(token=emulator.token, signing_secret=SECRET)
    configure_client(app.client, settings_for(emulator))  # its one auth.test goes to the emulator

    @app.action(re.compile(".*"))
    async def only_ack(ack) -> None:  # type: ignore[no-untyped-def]
        await ack()

    return app


PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextlib.contextmanager
def database_url(backend: str) -> Iterator[str]:
    """A fresh migrated database: a SQLite file, or a throw-away database on the local PostgreSQL server."""
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


async def main(labeler_count: int, rounds: int, backend: str) -> None:
    with database_url(backend) as url:
        upgrade(url)
        await measure(url, labeler_count, rounds, backend)


async def measure(url: str, labeler_count: int, rounds: int, backend: str) -> None:
    emulator = SlackEmulator()
    await emulator.start()
    database = Database(url)
    await create_campaigns(database, prompts=prompt_records(labeler_count))
    seated = await seat_labelers(database, emulator, labeler_count)
    total = labeler_count * rounds * len(CLICKS)
    results = {}
    for name in ("bare Bolt ack-only", "crowdrank"):
        if name == "crowdrank":
            app, deps = build_app(settings_for(emulator), database)
        else:
            app, deps = bare_app(emulator), None
        server = SlackHttpServer(app, host="127.0.0.1", port=0, log_level="warning")
        await server.start()
        slack = SlackUser(emulator, f"http://127.0.0.1:{server.port}{EVENTS_PATH}", SECRET)
        with tqdm(total=total, desc=name, unit="click", file=sys.stderr) as bar:
            results[name] = await drive(slack, seated, rounds, name == "crowdrank", bar)
        await server.stop()
        if deps is not None:
            deps.close()
    await database.dispose()
    await emulator.stop()

    print(f"{labeler_count} labelers clicking at once, {rounds} rounds of {len(CLICKS)} clicks each "
          f"({total} signed block_actions per app), {backend}, uvicorn + Bolt AsyncApp, loopback")
    for name, (seconds, acks, updates, firsts) in results.items():
        line = (f"  {name:<20} {total / seconds:7.0f} clicks/s   ack p50 {1000 * statistics.median(acks):6.1f} ms"
                f"  p99 {1000 * percentile(acks, 0.99):6.1f} ms")
        if updates:
            line += (f"   click→card updated p50 {1000 * statistics.median(updates):6.1f} ms"
                     f"  p99 {1000 * percentile(updates, 0.99):6.1f} ms"
                     f" (first click per labeler: p50 {1000 * statistics.median(firsts):6.1f} ms"
                     f"  max {1000 * max(firsts):6.1f} ms)")
        print(line)
    base, ours = results["bare Bolt ack-only"][0], results["crowdrank"][0]
    base, ours = total / base, total / ours  # clicks per second
    print(f"  crowdrank clicks/s ÷ bare ack-only clicks/s = {ours / base:.2f}"
          f" (each crowdrank click is stored and its card re-rendered before the labeler clicks again)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 labelers x 2 rounds")
    parser.add_argument("--labelers", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    n, r = (20, 2) if args.quick else (args.labelers, args.rounds)
    for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
        asyncio.run(main(n, r, backend))
