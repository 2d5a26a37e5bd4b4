"""next_card latency (p50/p99) on a big campaign, on SQLite and PostgreSQL, against a naive next-item that
loads the candidates and filters them in Python, measured in the same run.

Default size: 100,000 items × 5 votes, k = 4, 1,000 labelers over 6 regions, about 40% of the votes already in
(assignment rows included, so the "not mine" and "region lacking" checks have real rows to look at).
`--quick`: 3,000 items and 100 labelers. Every timed request is a real `next_card` (lease + card); the card is
then skipped, untimed, so the next request for that labeler leases again instead of returning its open card.

    .venv/bin/python bench/assign.py [--quick] [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy import false, insert, text, update  # noqa: E402
from sqlmodel import col, select  # noqa: E402
from sqlmodel.ext.asyncio.session import AsyncSession  # noqa: E402
from tqdm import tqdm  # noqa: E402

from bot.assignment import next_card  # noqa: E402
from bot.card_loader import build_card, card_texts  # noqa: E402
from bot.cards import Card  # noqa: E402
from bot.database import Database  # noqa: E402
from bot.ranking_session import skip  # noqa: E402
from storage.engine import make_sync_engine  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Assignment, Campaign, Completion, Enrollment, Item, Labeler, Prompt  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REGIONS = ["Africa", "Asia", "Europe", "Latin America", "North America", "Oceania"]
K, VOTES, DONE_SHARE = 4, 5, 0.4


@dataclass
class Size:
    items: int
    labelers: int
    requests: int
    naive_requests: int


FULL = Size(items=100_000, labelers=1_000, requests=1_000, naive_requests=15)
QUICK = Size(items=3_000, labelers=100, requests=400, naive_requests=40)


# --- fixture ------------------------------------------------------------------------------------------------------

def fixture_rows(size: Size, seed: int = 7) -> dict[str, list[dict]]:
    """Rows for every table, ids assigned here so both loaders write the same data."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    rows: dict[str, list[dict]] = {name: [] for name in ("campaign", "prompt", "completion", "item", "labeler",
                                                         "enrollment", "assignment")}
    rows["campaign"].append(dict(
        id=1, name="bench", criterion="helpfulness", guidelines="Rank by help.", guidelines_version=1, k=K,
        votes=VOTES, regions=REGIONS, quota_policy="balanced", status="live", gold_rate=0.0, lease_minutes=30,
        retrain_schedule=None, announcement_channel=None, created_at=now, updated_at=now))
    for lab in range(1, size.labelers + 1):
        rows["labeler"].append(dict(
            id=lab, platform="sim", workspace="bench", user_id=f"u{lab}", pseudonym=f"lab_bench{lab:06d}",
            display_name=None, region=REGIONS[lab % len(REGIONS)], suggested_region=None, consent_at=now,
            trust=None, status="active", created_at=now))
        rows["enrollment"].append(dict(id=lab, labeler_id=lab, campaign_id=1, guidelines_version=1, joined_at=now))
    assignment_id = 0
    for item in range(1, size.items + 1):
        rows["prompt"].append(dict(id=item, campaign_id=1, external_id=f"p{item}", text=f"Prompt number {item}?",
                                   meta={}, created_at=now))
        ids = []
        for position in range(K):
            cid = (item - 1) * K + position + 1
            ids.append(cid)
            rows["completion"].append(dict(id=cid, prompt_id=item, position=position,
                                           text=f"Answer {position} to prompt {item}.", model="bench",
                                           settings={}, created_at=now))
        done = sum(rng.random() < DONE_SHARE for _ in range(VOTES))
        for lab in rng.sample(range(1, size.labelers + 1), done):
            assignment_id += 1
            rows["assignment"].append(dict(
                id=assignment_id, campaign_id=1, item_id=item, labeler_id=lab, region=REGIONS[lab % len(REGIONS)],
                shown_order=ids, clicks=[0, 1, 2, 3], ties=[False] * K, flags={}, state="submitted",
                skip_reason=None, created_at=now, first_shown_at=now, expires_at=now + timedelta(minutes=30),
                closed_at=now))
        rows["item"].append(dict(id=item, campaign_id=1, prompt_id=item, is_gold=False, gold_order=None,
                                 submitted=done, leased=0, full=done >= VOTES, shuffle_key=rng.random(),
                                 created_at=now))
    return rows


TABLES = {"campaign": Campaign, "prompt": Prompt, "completion": Completion, "item": Item, "labeler": Labeler,
          "enrollment": Enrollment, "assignment": Assignment}


def load_sqlite(url: str, rows: dict[str, list[dict]]) -> None:
    """executemany through SQLAlchemy Core (its type processing writes dates and JSON as the app does)."""
    engine = make_sync_engine(url)
    with engine.begin() as connection:
        for name, model in tqdm(TABLES.items(), desc="load sqlite", unit="table"):
            if rows[name]:
                connection.execute(insert(model.__table__), rows[name])  # type: ignore[attr-defined]
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    engine.dispose()


def load_postgres(url: str, rows: dict[str, list[dict]]) -> None:
    """COPY, the fast path: JSON columns as text, timestamps as aware datetimes."""
    with psycopg.connect(url) as connection:
        for name in tqdm(TABLES, desc="load postgresql", unit="table"):
            data = rows[name]
            if not data:
                continue
            columns = ", ".join(f'"{column}"' for column in data[0])
            with connection.cursor().copy(f'COPY "{name}" ({columns}) FROM STDIN') as copy:
                for row in data:
                    copy.write_row([json.dumps(v) if isinstance(v, list | dict) else v for v in row.values()])
            connection.execute(f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "
                               f"(SELECT max(id) FROM \"{name}\"))")
        connection.commit()
        connection.autocommit = True
        connection.execute("VACUUM ANALYZE")


# --- the naive next item --------------------------------------------------------------------------------------------

async def naive_next(session: AsyncSession, labeler_id: int, campaign_name: str, rng: random.Random) -> Card | None:
    """What a first version would do: load the open candidates and the labeler's and region's assignments, filter
    in Python, then lease with the same conditional update."""
    session.expunge_all()
    async with session.begin():
        if session.bind.dialect.name == "postgresql":  # the same soft-state commit as next_card: a fair race
            await session.exec(text("SET LOCAL synchronous_commit = off"))  # type: ignore[call-overload]
        campaign = (await session.exec(select(Campaign).where(Campaign.name == campaign_name))).one()
        labeler = (await session.exec(select(Labeler).where(Labeler.id == labeler_id))).one()
        items = (await session.exec(select(Item.id, Item.submitted, Item.leased).where(
            Item.campaign_id == campaign.id, Item.is_gold == false()))).all()
        mine = set((await session.exec(select(Assignment.item_id).where(
            Assignment.labeler_id == labeler_id, Assignment.state != "expired"))).all())
        regional = set((await session.exec(select(Assignment.item_id).where(
            Assignment.campaign_id == campaign.id, Assignment.region == labeler.region,
            col(Assignment.state).in_(("open", "submitted"))))).all())
        candidates = [i for i, submitted, leased in items if submitted + leased < campaign.votes and i not in mine]
        preferred = [i for i in candidates if i not in regional] or candidates
        rng.shuffle(preferred)
        for item_id in preferred:
            taken = await session.exec(update(Item).where(  # type: ignore[call-overload]
                Item.id == item_id, Item.submitted + Item.leased < campaign.votes)
                .values(leased=Item.leased + 1, full=Item.submitted + Item.leased + 1 >= campaign.votes))
            if taken.rowcount == 1:
                prompt, texts = await card_texts(session, item_id)
                ids = list(texts)
                rng.shuffle(ids)
                now = datetime.now(UTC)
                assignment = Assignment(campaign_id=campaign.id, item_id=item_id, labeler_id=labeler_id,
                                        region=labeler.region, shown_order=ids, clicks=[], ties=[], flags={},
                                        created_at=now, first_shown_at=now, expires_at=now + timedelta(minutes=30))
                session.add(assignment)
                await session.flush()
                return build_card(assignment, campaign, prompt, texts, now)
        return None


# --- measurement ----------------------------------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


@dataclass
class Config:
    label: str
    url: str


async def measure(config: Config, size: Size) -> dict[str, list[float]]:
    database = Database(config.url)
    rng = random.Random(11)
    timings: dict[str, list[float]] = {"next_card": [], "naive": []}
    try:
        async with database.session() as session:
            for name, count in (("next_card", size.requests), ("naive", size.naive_requests)):
                warmup = 20
                for n in tqdm(range(count + warmup), desc=f"{config.label} {name}", unit="req"):
                    lab = rng.randint(1, size.labelers)
                    started = time.perf_counter()
                    if name == "next_card":
                        card = await next_card(session, lab, "bench", rng=rng)
                    else:
                        card = await naive_next(session, lab, "bench", rng)
                    elapsed = time.perf_counter() - started
                    if n >= warmup:
                        timings[name].append(elapsed * 1000)
                    if card is not None:
                        await skip(session, card.assignment_id, lab, "bench")
    finally:
        await database.dispose()
    return timings


def report(label: str, timings: dict[str, list[float]]) -> str:
    fast, naive = timings["next_card"], timings["naive"]
    p50, p99 = percentile(fast, 50), percentile(fast, 99)
    n50, n99 = percentile(naive, 50), percentile(naive, 99)
    return (f"{label:<34} next_card p50 {p50:6.2f} ms p99 {p99:6.2f} ms (n={len(fast)}) | naive p50 {n50:7.1f} ms "
            f"p99 {n99:7.1f} ms (n={len(naive)}) | faster: p50 {n50 / p50:4.0f}x p99 {n99 / p99:4.0f}x")


def commit_latency_ms(url: str) -> float:
    """What one durable write commit costs on this server (fsync), measured the same way every time."""
    with psycopg.connect(url) as connection:
        connection.execute("CREATE TABLE fsync_probe (x int)")  # a real table: temporary ones skip the WAL
        connection.commit()
        started = time.perf_counter()
        for _ in range(50):
            connection.execute("INSERT INTO fsync_probe VALUES (1)")
            connection.commit()
        elapsed = (time.perf_counter() - started) / 50 * 1000
        connection.execute("DROP TABLE fsync_probe")
        connection.commit()
        return elapsed


def run_sqlite(size: Size, rows: dict[str, list[dict]]) -> list[str]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        upgrade(url)
        load_sqlite(url, rows)
        config = Config("sqlite (one pooled connection)", url)
        return [report(config.label, asyncio.run(measure(config, size)))]


def run_postgres(size: Size, rows: dict[str, list[dict]]) -> list[str]:
    name = f"crowdrank_bench_assign_{random.randint(0, 10**6)}"
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        upgrade(url)
        load_postgres(url, rows)
        lines = [f"postgresql: one durable commit (fsync) costs {commit_latency_ms(url):.2f} ms on this server; "
                 f"next_card commits its lease with synchronous_commit=off (rankings stay durable)"]
        lines.append(report("postgresql, server defaults", asyncio.run(
            measure(Config("postgresql", url), size))))
        return lines
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3,000 items and 100 labelers")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    size = QUICK if args.quick else FULL
    started = time.perf_counter()
    rows = fixture_rows(size)
    lines = [f"bench/assign.py: {size.items:,} items x {VOTES} votes (k={K}), {size.labelers:,} labelers, "
             f"{len(rows['assignment']):,} assignments already in; {size.requests} next_card vs "
             f"{size.naive_requests} naive requests per backend"]
    if args.backend in ("sqlite", "both"):
        lines += run_sqlite(size, rows)
    if args.backend in ("postgresql", "both"):
        lines += run_postgres(size, rows)
    load = os.getloadavg()
    lines.append(f"goal: p99 <= 5 ms and >= 20x faster than naive; total {time.perf_counter() - started:.0f} s; "
                 f"machine load average {load[0]:.1f} / {load[1]:.1f} on {os.cpu_count()} cores")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
