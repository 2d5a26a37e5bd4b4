"""Engines and sessions: one async engine for the services, one sync engine for migrations and bulk reads.

SQLite is set up for a bot that writes on every click: WAL (readers never wait for the writer), foreign keys on,
a busy timeout, and every transaction opened with BEGIN IMMEDIATE so two writers serialize at the start instead
of failing half-way with "database is locked". PostgreSQL goes through psycopg 3, sync or async.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, NullPool
from sqlmodel import create_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.errors import InputError
from storage.inline_sqlite import InlineSQLite

SQLITE_BUSY_TIMEOUT_MS = 15_000

__all__ = ["make_async_engine", "make_sync_engine", "session_factory", "normalize_url", "is_sqlite",
           "checkpoint_sqlite", "max_connections"]


def normalize_url(url: str, *, asynchronous: bool) -> str:
    """Pick the driver for a plain URL: for SQLite, SQLAlchemy's aiosqlite dialect (run over
    `storage.inline_sqlite`, not the aiosqlite package) or pysqlite; psycopg 3 for PostgreSQL."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with a long message
        raise InputError(f"CROWDRANK_DATABASE_URL is not a database URL: {url!r}") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        driver = "aiosqlite" if asynchronous else "pysqlite"
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    elif backend in ("postgresql", "postgres"):
        backend, driver = "postgresql", "psycopg"
    else:
        raise InputError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")
    return parsed.set(drivername=f"{backend}+{driver}").render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _tune_sqlite(engine: Engine, *, autocheckpoint: bool = True, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we send BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        if not autocheckpoint:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _switch_to_wal(cursor) -> None:
    """WAL once per file. The switch needs the file to itself, and SQLite skips the busy handler for it when
    another process holds a lock (two `accelerate launch` ranks opening a new file raced to "database is
    locked"), so it is retried here, for as long as the busy timeout allows."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    pause = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode")
            if cursor.fetchone()[0].lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.25)


def make_sync_engine(url: str, **kwargs) -> Engine:
    full = normalize_url(url, asynchronous=False)
    engine = create_engine(full, **kwargs)
    if is_sqlite(full):
        _tune_sqlite(engine)
    return engine


def make_async_engine(url: str, **kwargs) -> AsyncEngine:
    full = normalize_url(url, asynchronous=True)
    if is_sqlite(full):
        # SQLite has one writer at a time and every transaction takes the write lock (BEGIN IMMEDIATE). One pooled
        # connection per process turns that into a FIFO queue on the pool instead of busy-lock polling, whose
        # back-off gave the click path a tail of seconds; it also saves opening a connection per request.
        kwargs.setdefault("poolclass", AsyncAdaptedQueuePool)
        kwargs.setdefault("pool_size", 1)
        kwargs.setdefault("max_overflow", 0)
        kwargs.setdefault("pool_timeout", 120)
        # no thread: a transaction holds that connection for its real work only (storage/inline_sqlite.py)
        kwargs.setdefault("module", InlineSQLite(wait_seconds=SQLITE_BUSY_TIMEOUT_MS / 1000))
    else:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
    engine = create_async_engine(full, **kwargs)
    if is_sqlite(full):
        # The WAL checkpoint that SQLite runs inside a commit every ~1,000 pages was the whole p99 of a click
        # (6-7 ms instead of under 5); `checkpoint_sqlite` runs it from another connection instead.
        # and the lock is waited for on the loop (InlineSQLite), never inside SQLite's busy handler
        _tune_sqlite(engine.sync_engine, autocheckpoint=False, busy_timeout_ms=0)
    return engine


def checkpoint_sqlite(url: str) -> None:
    """Copy the WAL back into the database file from a connection of its own (PASSIVE: it never waits for, nor
    blocks, the writer), so the serving connection's commits never pay for it."""
    database = make_url(normalize_url(url, asynchronous=False)).database
    if not database or database == ":memory:":
        return
    connection = sqlite3.connect(database, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    try:
        connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
    finally:
        connection.close()


def max_connections(url: str) -> int:
    """The PostgreSQL server's max_connections (sync: call it off the event loop)."""
    engine = make_sync_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return int(connection.exec_driver_sql("SHOW max_connections").scalar_one())
    finally:
        engine.dispose()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
