"""Shared fixtures: a fresh database on SQLite and on the real PostgreSQL server, and an isolated
CROWDRANK_HOME. PostgreSQL is never skipped: if the server is down the tests fail, as they should in CI."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads OpenMP (see bot/cli.py)

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest

from bot.database import Database
from bot.settings import get_settings
from storage.migrate import upgrade

PG_ADMIN = os.environ.get("CROWDRANK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
_TEMPLATE = f"crowdrank_tmpl_{os.getpid()}"


def _pg_url(database: str) -> str:
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + database


def _admin(sql: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(sql)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated template database; each test clones it (much faster than migrating per test)."""
    _admin(f'DROP DATABASE IF EXISTS "{_TEMPLATE}"')
    _admin(f'CREATE DATABASE "{_TEMPLATE}"')
    upgrade(_pg_url(_TEMPLATE))
    yield _TEMPLATE
    _admin(f'DROP DATABASE IF EXISTS "{_TEMPLATE}" WITH (FORCE)')


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    name = f"crowdrank_test_{uuid.uuid4().hex[:10]}"
    _admin(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    yield _pg_url(name)
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'crowdrank.db'}"
    upgrade(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """A migrated, empty database; tests using it run once per backend."""
    return request.getfixturevalue({"sqlite": "sqlite_url", "postgresql": "pg_url"}[request.param])


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    db = Database(db_url)
    yield db
    await db.dispose()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An isolated CROWDRANK_HOME (SQLite default) for CLI tests."""
    folder = tmp_path / "home"
    monkeypatch.setenv("CROWDRANK_HOME", str(folder))
    monkeypatch.delenv("CROWDRANK_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield folder
    get_settings.cache_clear()
