"""SQLite for the async engine without a thread: aiosqlite's API over `sqlite3`, run on the event loop itself.

Why: SQLite has one writer, so the serving process has one pooled connection, held for a whole transaction. Through
aiosqlite each statement is a hop to its thread and back, and between hops the busy loop runs other requests; a
click of five statements held the connection for many loop turns, and every other click queued behind it (SQLite
saturated at 0.40 of PostgreSQL, with a human-pace tail of 0.4-0.5 s). Here a statement is a plain call, so a
transaction that only touches the database runs to its end without giving the loop away: the connection is held
for the microseconds of real work. A hot-path statement costs tens of microseconds in SQLite's C code; a
report-sized read blocks the loop for its duration, as it held the only connection before.

The one wait that could block the loop is another process's write lock. The connection's busy timeout is 0 and
`execute` waits for the lock here instead, with `asyncio.sleep`, for as long as the busy timeout would have.
Only BEGIN IMMEDIATE takes that lock, and no statement has run when it is refused, so trying again is safe.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_connection, AsyncAdapt_aiosqlite_dbapi

__all__ = ["InlineSQLite"]

T = TypeVar("T")


async def _when_unlocked(call: Callable[[], T], wait_seconds: float) -> T:
    """Run `call`; while another connection holds the write lock, wait on the loop and try again."""
    deadline = time.monotonic() + wait_seconds
    pause = 0.001
    while True:
        try:
            return call()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                raise
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.1)


class _Cursor:
    """aiosqlite's Cursor, as far as SQLAlchemy uses it."""

    def __init__(self, cursor: sqlite3.Cursor, wait_seconds: float) -> None:
        self._cursor, self._wait_seconds = cursor, wait_seconds

    async def __aenter__(self) -> _Cursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> _Cursor:
        await _when_unlocked(lambda: self._cursor.execute(sql, parameters), self._wait_seconds)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> _Cursor:
        rows = list(parameters)
        await _when_unlocked(lambda: self._cursor.executemany(sql, rows), self._wait_seconds)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class _Connection:
    """aiosqlite's Connection, as far as SQLAlchemy uses it (its adapter reads `_connection`: None once closed)."""

    def __init__(self, connection: sqlite3.Connection, wait_seconds: float) -> None:
        self._connection: sqlite3.Connection | None = connection
        self._wait_seconds = wait_seconds

    @property
    def _open(self) -> sqlite3.Connection:
        if self._connection is None:
            raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
        return self._connection

    def cursor(self) -> _Cursor:
        return _Cursor(self._open.cursor(), self._wait_seconds)

    @property
    def isolation_level(self) -> str | None:
        return self._open.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._open.isolation_level = value

    async def commit(self) -> None:
        self._open.commit()

    async def rollback(self) -> None:
        self._open.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._open.create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class _Adapted(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()

    @property
    def isolation_level(self) -> str | None:
        return self._connection.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        # aiosqlite's adapter queues this on its thread; here it is a plain attribute
        self._connection.isolation_level = value


class InlineSQLite(AsyncAdapt_aiosqlite_dbapi):
    """The DBAPI module for SQLAlchemy's aiosqlite dialect (`create_async_engine(..., module=InlineSQLite(...))`):
    same URL, same dialect, no thread. `wait_seconds` is how long a statement waits for another process's lock."""

    def __init__(self, wait_seconds: float) -> None:
        super().__init__(sqlite3, sqlite3)
        self.has_stop = True
        self.wait_seconds = wait_seconds

    def connect(self, *args: Any, **kwargs: Any) -> _Adapted:
        kwargs.pop("async_creator_fn", None)
        kwargs["timeout"] = 0  # the lock is waited for in `execute`, on the loop
        kwargs["check_same_thread"] = False  # the pool may close a connection from the garbage collector's thread
        connection = sqlite3.connect(*args, **kwargs)
        return _Adapted(self, _Connection(connection, self.wait_seconds))
