"""SQLite on the event loop (storage/inline_sqlite.py): another process's write lock is waited for without
blocking the loop, a lock held too long is the usual "database is locked", and a transaction runs to its end without
handing the loop to other tasks."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import make_async_engine
from storage.inline_sqlite import InlineSQLite


def engine_for(path: Path, **kwargs) -> AsyncEngine:
    return make_async_engine(f"sqlite:///{path}", **kwargs)


async def make_table(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (n INTEGER)"))


def test_a_held_write_lock_is_waited_for_while_the_loop_runs(tmp_path: Path) -> None:
    async def main() -> tuple[int, int]:
        engine = engine_for(tmp_path / "a.db")
        await make_table(engine)
        other = sqlite3.connect(tmp_path / "a.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process's writer
        ticks = 0

        async def ticking() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        ticker = asyncio.create_task(ticking())

        async def write() -> None:
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO t VALUES (1)"))

        writing = asyncio.create_task(write())
        await asyncio.sleep(0.3)
        assert not writing.done()  # still waiting for the lock
        other.execute("COMMIT")
        await asyncio.wait_for(writing, 5)
        ticker.cancel()
        async with engine.connect() as connection:
            rows = (await connection.execute(text("SELECT count(*) FROM t"))).scalar_one()
        await engine.dispose()
        other.close()
        return ticks, rows

    ticks, rows = asyncio.run(main())
    assert ticks >= 15  # the loop kept running while the write waited 0.3 s
    assert rows == 1


def test_a_lock_held_past_the_wait_is_database_is_locked(tmp_path: Path) -> None:
    async def main() -> None:
        engine = engine_for(tmp_path / "b.db", module=InlineSQLite(wait_seconds=0.2))
        await make_table(engine)
        other = sqlite3.connect(tmp_path / "b.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(OperationalError, match="database is locked"):
                async with engine.begin() as connection:
                    await connection.execute(text("INSERT INTO t VALUES (1)"))
        finally:
            other.execute("ROLLBACK")
            other.close()
        async with engine.begin() as connection:  # the connection is usable again
            await connection.execute(text("INSERT INTO t VALUES (2)"))
            assert (await connection.execute(text("SELECT n FROM t"))).scalars().all() == [2]
        await engine.dispose()

    asyncio.run(main())


def test_a_transaction_does_not_hand_the_loop_to_other_tasks(tmp_path: Path) -> None:
    """The point of running SQLite inline: the one pooled connection is held for the transaction's real work only.
    A task scheduled before the transaction starts first runs when the transaction has committed (the engine's
    context manager then hands the connection back to the pool in a task of its own)."""
    async def main() -> int:
        engine = engine_for(tmp_path / "c.db")
        await make_table(engine)
        reader = sqlite3.connect(tmp_path / "c.db")
        seen: list[int] = []

        async def other_task() -> None:
            seen.append(reader.execute("SELECT count(*) FROM t").fetchone()[0])

        waiting = asyncio.create_task(other_task())
        async with engine.begin() as connection:
            for n in range(5):
                await connection.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
                await connection.execute(text("SELECT count(*) FROM t"))
        await waiting
        await engine.dispose()
        reader.close()
        return seen[0]

    assert asyncio.run(main()) == 5
