"""Connection pools sized for the process count, and a pool with no free connection answering "busy" in about a
second, storing nothing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.database import POOL_TIMEOUT, RESERVED_CONNECTIONS, Database, pool_size, serving_database
from bot.errors import InputError
from bot.settings import Settings
from storage.engine import max_connections
from storage.models import Delivery
from tests.test_chat_conversation import fresh, onboard, person, setup, texts
from tests.test_chat_pace import row_counts


def configured(**values: object) -> Settings:
    return Settings.model_validate({"CROWDRANK_" + key.upper(): value for key, value in values.items()})


@pytest.mark.parametrize(("processes", "server", "expected"), [(1, 100, 10), (2, 30, 10), (4, 30, 5), (3, 14, 1)])
def test_the_default_pool_shares_max_connections_among_the_processes(processes: int, server: int,
                                                                     expected: int) -> None:
    assert pool_size(configured(serve_processes=processes), server) == expected


def test_a_configured_pool_is_kept_when_it_fits_and_refused_when_it_does_not() -> None:
    assert pool_size(configured(db_pool=20, serve_processes=2), 100) == 20
    with pytest.raises(InputError, match="CROWDRANK_DB_POOL=50 x CROWDRANK_SERVE_PROCESSES=2 connections exceed"):
        pool_size(configured(db_pool=50, serve_processes=2), 100)
    with pytest.raises(InputError, match="leaves no connection for 4 serve processes"):
        pool_size(configured(serve_processes=4), 12)


async def test_serve_on_postgresql_reads_max_connections_and_fixes_its_pool(pg_url: str, tmp_path: Path) -> None:
    database = await serving_database(configured(database_url=pg_url, home=tmp_path, serve_processes=2, db_pool=3))
    try:
        pool = database.engine.pool
        assert database.pool_size == 3 and pool._max_overflow == 0  # type: ignore[attr-defined]
        assert pool._timeout == POOL_TIMEOUT  # type: ignore[attr-defined]
    finally:
        await database.dispose()
    derived = await serving_database(configured(database_url=pg_url, home=tmp_path, serve_processes=30))
    try:
        server = max_connections(pg_url)  # thirty processes' pools fit under it, with room to spare
        assert 1 <= derived.pool_size and derived.pool_size * 30 <= server - RESERVED_CONNECTIONS
    finally:
        await derived.dispose()


async def test_serve_on_sqlite_keeps_one_connection(sqlite_url: str, tmp_path: Path) -> None:
    database = await serving_database(configured(database_url=sqlite_url, home=tmp_path, db_pool=8))
    try:
        assert database.pool_size == 1
    finally:
        await database.dispose()


async def test_with_every_connection_held_a_press_answers_busy_in_time_and_stores_nothing(db_url: str) -> None:
    database = Database(db_url, pool_size=1, max_overflow=0, pool_timeout=POOL_TIMEOUT)
    try:
        conversation = await setup(database)
        ana = person("UANA")
        card = await onboard(conversation, ana)
        before = await row_counts(database)
        async with database.engine.connect() as held:
            await held.execute(text("SELECT 1"))
            started = time.monotonic()
            replies = await conversation.press_in_time(ana, f"rank:{card.card_id}:0", delivery="busy-1")
            took = time.monotonic() - started
            fresh_process = await fresh(database).press_in_time(ana, f"rank:{card.card_id}:0", delivery="busy-2")
        assert "crowdrank is busy right now; try again in a moment" in texts(replies)
        assert replies[0].intent == "private" and POOL_TIMEOUT * 0.9 <= took < 2.0
        assert conversation.unconfirmed(replies)  # not answered as stored: Slack gets 503, as for "press again"
        assert "busy right now" in texts(fresh_process)  # no labeler or card cached: its first lookup waits
        assert await row_counts(database) == before
        after = await conversation.press_in_time(ana, f"rank:{card.card_id}:0", delivery="busy-3")
        assert after[0].intent == "update" and await row_counts(database) == {
            **before, Delivery.__tablename__: before[Delivery.__tablename__] + 1}
    finally:
        await database.dispose()
