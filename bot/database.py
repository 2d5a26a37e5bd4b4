"""The one wiring point between the core and storage: settings → engine → async sessions.

Services take an `AsyncSession`; entry points (CLI, adapters, jobs, simulator) open a `Database` once and pass
`database.session()` down. `run(coro)` is how sync entry points call the async core.

`crowdrank serve` on PostgreSQL sizes its pool so that all its processes together stay under the server's
max_connections (an overflowing pool once lost a click with "QueuePool limit … reached"), and waits at most
POOL_TIMEOUT for a connection: past that the labeler reads "busy, try again" (`Busy`) well inside the platform's
3 seconds, instead of a late failure.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.errors import Busy, InputError
from bot.i18n import N_
from bot.settings import Settings, get_settings
from storage.engine import checkpoint_sqlite, is_sqlite, make_async_engine, max_connections, session_factory
from storage.migrate import upgrade

T = TypeVar("T")
POOL_TIMEOUT = 1.0  # seconds a request waits for a free connection before the labeler reads "busy"
RESERVED_CONNECTIONS = 10  # beside serve: superuser slots, psql, migrations, `crowdrank` commands, job workers
MAX_DEFAULT_POOL = 10


class Database:
    def __init__(self, url: str, **engine_kwargs: object) -> None:
        self.url = url
        self.engine: AsyncEngine = make_async_engine(url, **engine_kwargs)
        self._sessions = session_factory(self.engine)

    @classmethod
    def from_settings(cls, settings: Settings | None = None, *, pool: int | None = None) -> Database:
        """`pool`: a fixed PostgreSQL pool of that many connections, no overflow, POOL_TIMEOUT to get one."""
        settings = settings or get_settings()
        settings.home.mkdir(parents=True, exist_ok=True)
        url = settings.resolved_database_url
        if pool is None or is_sqlite(url):
            return cls(url)
        return cls(url, pool_size=pool, max_overflow=0, pool_timeout=POOL_TIMEOUT)

    @property
    def pool_size(self) -> int:
        return int(self.engine.pool.size())  # type: ignore[attr-defined]  # a QueuePool, whatever the backend

    def upgrade(self) -> None:
        """Create or upgrade the schema (sync; call before the event loop starts serving)."""
        upgrade(self.url)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session; `Busy` when no connection came free within the pool's timeout (nothing was written)."""
        try:
            async with self._sessions() as session:
                yield session
        except PoolTimeout as exc:
            raise Busy(N_("crowdrank is busy right now; try again in a moment")) from exc

    async def checkpoint(self) -> None:
        """SQLite: move the write-ahead log into the database file, off the event loop and off the serving
        connection (the scheduler calls this every minute; disposing calls it once more). PostgreSQL: nothing."""
        if is_sqlite(self.url):
            await asyncio.to_thread(checkpoint_sqlite, self.url)

    async def dispose(self) -> None:
        await self.engine.dispose()
        await self.checkpoint()


def pool_size(settings: Settings, server_max_connections: int) -> int:
    """Connections per serve process: CROWDRANK_DB_POOL, or what CROWDRANK_SERVE_PROCESSES processes can share
    under the server's max_connections with RESERVED_CONNECTIONS to spare (at most MAX_DEFAULT_POOL)."""
    processes = settings.serve_processes
    room = server_max_connections - RESERVED_CONNECTIONS
    if settings.db_pool is not None:
        if settings.db_pool * processes > room:
            raise InputError(f"CROWDRANK_DB_POOL={settings.db_pool} x CROWDRANK_SERVE_PROCESSES={processes} "
                             f"connections exceed the server's max_connections={server_max_connections} less "
                             f"{RESERVED_CONNECTIONS} kept free")
        return settings.db_pool
    if room < processes:
        raise InputError(f"the server's max_connections={server_max_connections} leaves no connection for "
                         f"{processes} serve processes ({RESERVED_CONNECTIONS} are kept free)")
    return min(MAX_DEFAULT_POOL, room // processes)


async def serving_database(settings: Settings) -> Database:
    """The database of a `crowdrank serve` process: on PostgreSQL, a pool sized by `pool_size`."""
    url = settings.resolved_database_url
    if is_sqlite(url):
        return Database.from_settings(settings)
    server = await asyncio.to_thread(max_connections, url)
    return Database.from_settings(settings, pool=pool_size(settings, server))


def run(work: Callable[[Database], Awaitable[T]], settings: Settings | None = None) -> T:
    """Run one async job against the configured database from sync code (CLI, scripts).

    The schema is brought up to date first (a no-op when current), so no command fails on a fresh home."""

    async def main() -> T:
        database = Database.from_settings(settings)
        database.upgrade()
        try:
            return await work(database)
        finally:
            await database.dispose()

    return asyncio.run(main())
