"""The one wiring point between the core and storage: settings → engine → async sessions.

Services take an `AsyncSession`; entry points (CLI, adapters, jobs, simulator) open a `Database` once and pass
`database.session()` down. `run(coro)` is how sync entry points call the async core.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.settings import Settings, get_settings
from storage.engine import checkpoint_sqlite, is_sqlite, make_async_engine, session_factory
from storage.migrate import upgrade

T = TypeVar("T")


class Database:
    def __init__(self, url: str, **engine_kwargs: object) -> None:
        self.url = url
        self.engine: AsyncEngine = make_async_engine(url, **engine_kwargs)
        self._sessions = session_factory(self.engine)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Database:
        settings = settings or get_settings()
        settings.home.mkdir(parents=True, exist_ok=True)
        return cls(settings.resolved_database_url)

    def upgrade(self) -> None:
        """Create or upgrade the schema (sync; call before the event loop starts serving)."""
        upgrade(self.url)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            yield session

    async def checkpoint(self) -> None:
        """SQLite: move the write-ahead log into the database file, off the event loop and off the serving
        connection (the scheduler calls this every minute; disposing calls it once more). PostgreSQL: nothing."""
        if is_sqlite(self.url):
            await asyncio.to_thread(checkpoint_sqlite, self.url)

    async def dispose(self) -> None:
        await self.engine.dispose()
        await self.checkpoint()


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
