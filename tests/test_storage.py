"""Storage on both backends: migrations, constraints, JSON and time round-trips, engine tuning."""

from __future__ import annotations

import multiprocessing
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, select

from bot.errors import InputError
from storage.engine import make_sync_engine, normalize_url
from storage.migrate import alembic_config, current_revision, upgrade
from storage.models import Campaign, Completion, Item, Labeler, Prompt

TABLES = {"campaign", "prompt", "completion", "item", "labeler", "enrollment", "assignment", "ranking",
          "comparison", "consensus", "rewardmodelversion", "job", "jobrun", "runnerlease"}


def test_upgrade_creates_every_table_and_is_safe_to_run_twice(db_url: str) -> None:
    upgrade(db_url)  # the fixture already upgraded once
    engine = make_sync_engine(db_url)
    try:
        assert TABLES <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    head = ScriptDirectory.from_config(alembic_config(db_url)).get_current_head()
    assert head is not None and current_revision(db_url) == head


def test_migrations_match_the_models(db_url: str) -> None:
    engine = make_sync_engine(db_url)
    try:
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    finally:
        engine.dispose()
    assert diff == [], "models changed without `python -m storage.migrations.regenerate`"


async def _campaign(session, name: str = "c") -> Campaign:  # type: ignore[no-untyped-def]
    campaign = Campaign(name=name, criterion="helpfulness", k=2, votes=3, regions=["Africa", "Europe"])
    session.add(campaign)
    await session.commit()
    return campaign


async def test_json_and_aware_datetimes_round_trip(database) -> None:  # type: ignore[no-untyped-def]
    async with database.session() as session:
        campaign = await _campaign(session)
        prompt = Prompt(campaign_id=campaign.id, external_id="p1", text="hot", meta={"lang": "en", "n": [1, 2]})
        session.add(prompt)
        await session.commit()
    async with database.session() as session:
        loaded = (await session.exec(select(Prompt))).one()
        stored_campaign = (await session.exec(select(Campaign))).one()
    assert loaded.meta == {"lang": "en", "n": [1, 2]}
    assert stored_campaign.regions == ["Africa", "Europe"]
    assert stored_campaign.created_at.tzinfo is not None
    assert abs((datetime.now(UTC) - stored_campaign.created_at).total_seconds()) < 60


async def test_unique_constraints_hold(database) -> None:  # type: ignore[no-untyped-def]
    async with database.session() as session:
        campaign = await _campaign(session)
        session.add(Prompt(campaign_id=campaign.id, external_id="p1", text="a"))
        await session.commit()
        session.add(Prompt(campaign_id=campaign.id, external_id="p1", text="b"))
        with pytest.raises(IntegrityError):
            await session.commit()
        await session.rollback()
        session.add(Labeler(platform="slack", workspace="T1", user_id="U1"))
        await session.commit()
        session.add(Labeler(platform="slack", workspace="T1", user_id="U1"))
        with pytest.raises(IntegrityError):
            await session.commit()


async def test_foreign_keys_are_enforced(database) -> None:  # type: ignore[no-untyped-def]
    async with database.session() as session:
        session.add(Completion(prompt_id=999, position=0, text="x", model="m"))
        with pytest.raises(IntegrityError):
            await session.commit()


async def test_item_pool_index_exists(db_url: str) -> None:
    engine = make_sync_engine(db_url)
    try:
        names = {index["name"] for index in inspect(engine).get_indexes(Item.__tablename__)}
    finally:
        engine.dispose()
    assert "ix_item_pool" in names


def test_sqlite_is_tuned_for_many_writers(sqlite_url: str) -> None:
    engine = make_sync_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
    finally:
        engine.dispose()


def _open_and_write(url: str, start: float, results) -> None:  # type: ignore[no-untyped-def]
    while time.time() < start:  # every process reaches the fresh file at the same moment
        pass
    engine = make_sync_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE IF NOT EXISTS opened (pid INTEGER)"))
            connection.execute(text("INSERT INTO opened VALUES (:pid)"), {"pid": os.getpid()})
        results.put("ok")
    except Exception as exc:  # reported to the test, which names it
        results.put(f"{type(exc).__name__}: {exc}")
    finally:
        engine.dispose()


def test_processes_opening_a_new_sqlite_file_at_once_all_get_in(tmp_path: Path) -> None:
    """`accelerate launch` ranks and serve processes open one file together; the WAL switch used to lose."""
    context = multiprocessing.get_context("fork")
    for round_ in range(25):
        url = f"sqlite:///{tmp_path / f'{round_}.db'}"
        results = context.Queue()
        start = time.time() + 0.2
        processes = [context.Process(target=_open_and_write, args=(url, start, results)) for _ in range(4)]
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=60)
        assert sorted(results.get(timeout=5) for _ in processes) == ["ok"] * 4
        engine = make_sync_engine(url)
        try:
            with engine.connect() as connection:
                assert connection.execute(text("SELECT count(*) FROM opened")).scalar() == 4
                assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        finally:
            engine.dispose()


@pytest.mark.parametrize(
    ("url", "asynchronous", "expected"),
    [
        ("sqlite:////tmp/x.db", True, "sqlite+aiosqlite:////tmp/x.db"),
        ("sqlite:////tmp/x.db", False, "sqlite+pysqlite:////tmp/x.db"),
        ("postgresql://u@h/db", True, "postgresql+psycopg://u@h/db"),
        ("postgres://u:p@h:5432/db", False, "postgresql+psycopg://u:p@h:5432/db"),
    ],
)
def test_urls_get_the_right_driver(url: str, asynchronous: bool, expected: str) -> None:
    assert normalize_url(url, asynchronous=asynchronous) == expected


@pytest.mark.parametrize("url", ["mysql://u@h/db", "not a url"])
def test_unsupported_urls_are_refused_in_one_line(url: str) -> None:
    with pytest.raises(InputError) as error:
        normalize_url(url, asynchronous=True)
    assert "\n" not in str(error.value)


async def test_sqlite_checkpoints_off_the_serving_connection(sqlite_url: str) -> None:
    from pathlib import Path

    from bot.database import Database

    database = Database(sqlite_url)
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    try:
        async with database.engine.connect() as connection:
            assert (await connection.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar() == 0
        async with database.session() as session:
            session.add_all(Campaign(name=f"c{i}", criterion="h" * 2000, k=2, votes=1, regions=[])
                            for i in range(300))
            await session.commit()
        before = path.stat().st_size
        assert Path(f"{path}-wal").stat().st_size > 0  # the rows wait in the write-ahead log
        await database.checkpoint()
        assert path.stat().st_size > before  # and are now in the database file
    finally:
        await database.dispose()
