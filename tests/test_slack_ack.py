"""Acknowledged means stored, through the real uvicorn + guard + Bolt AsyncApp against the Slack emulator: a click
or submit whose 200 has arrived is in the database at that moment; a write too slow for Slack's 3 s gets "press
again" and still its 200 in time; and `kill -9` of `crowdrank serve --slack` right after five 200s loses none."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url
from sqlmodel import select

from bot.database import Database
from storage.models import Assignment, Ranking
from tests.slack_emulator import SlackEmulator, SlackUser
from tests.slack_harness import Rig, Walker, card_id, create_campaigns, order_line, start_rig
from tests.test_serve_jobs import start_serve
from tests.test_slack_serve import free_port

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
async def rig(db_url: str, tmp_path: Path) -> AsyncIterator[Rig]:
    rig = await start_rig(db_url, tmp_path / "home")
    yield rig
    await rig.stop()
    await rig.emulator.stop()


async def stored_clicks(database: Database, card: str) -> list[int]:
    """The card's clicks as stored (a plain read: showing a card would write its first-shown time)."""
    async with database.session() as session:
        assignment = await session.get(Assignment, int(card))
        assert assignment is not None
        return list(assignment.clicks)


async def rankings(database: Database, cards: list[str]) -> int:
    ids = [int(card) for card in cards]
    async with database.session() as session:
        return len((await session.exec(select(Ranking).where(Ranking.assignment_id.in_(ids)))).all())  # type: ignore[attr-defined]


async def test_a_click_and_a_submit_are_stored_when_their_200_arrives(rig: Rig) -> None:
    card = await rig.onboard("U0PIA")
    a_id = card_id(card)
    observer = Database(rig.db_url)  # its own connections: never queued behind the bot's (SQLite pools one)
    for placed, index in enumerate((2, 0, 3), start=1):
        holding = await slow_writes(rig.db_url, 0.3)  # a write that takes a while, well inside the deadline
        assert (await rig.slack.click("U0PIA", card, f"rank:{a_id}:{index}"))[0] == 200
        assert len(await stored_clicks(observer, a_id)) == placed + (placed == 3)  # the last places itself
        await holding
        await rig.wait_update(card, placed)
    holding = await slow_writes(rig.db_url, 0.3)
    assert (await rig.slack.click("U0PIA", card, f"submit:{a_id}"))[0] == 200
    assert await rankings(observer, [a_id]) == 1
    await holding
    await observer.dispose()


async def slow_writes(url: str, seconds: float) -> asyncio.Task[None]:
    """Hold the write lock for `seconds` from now (in the background)."""
    async def hold() -> None:
        with write_lock(url):
            taken.set()
            await asyncio.sleep(seconds)

    taken = asyncio.Event()
    task = asyncio.get_running_loop().create_task(hold())
    await taken.wait()
    return task


async def serving(process: asyncio.subprocess.Process, slack: SlackUser) -> None:
    """Wait for the health line, then for uvicorn to take requests (it binds just after)."""
    assert process.stdout is not None
    await asyncio.wait_for(process.stdout.readline(), 60)
    for _ in range(400):
        with contextlib.suppress(OSError):
            status, _ = await slack.send("ssl_check=1&token=x", "application/x-www-form-urlencoded")
            assert status == 200
            return
        await asyncio.sleep(0.05)
    raise AssertionError("crowdrank serve never took a request")


@contextlib.contextmanager
def write_lock(url: str) -> Iterator[None]:
    """Hold the database's write lock from another connection (SQLite) or lock the cards' table (PostgreSQL)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        connection = sqlite3.connect(parsed.database or "", isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            connection.execute("ROLLBACK")
            connection.close()
        return
    with psycopg.connect(url) as pg:
        pg.execute("LOCK TABLE assignment IN EXCLUSIVE MODE")
        try:
            yield
        finally:
            pg.rollback()


async def test_a_write_too_slow_for_slack_says_press_again_inside_three_seconds(rig: Rig) -> None:
    card = await rig.onboard("U0QUIN")
    a_id = card_id(card)
    with write_lock(rig.db_url):
        started = time.monotonic()
        status, _ = await rig.slack.click("U0QUIN", card, f"rank:{a_id}:1")
        answered = time.monotonic() - started
        assert status == 503 and 1.9 <= answered < 3.0, answered  # not 200: nothing is stored yet
        busy = await rig.emulator.wait_for(lambda: [t for t in rig.emulator.ephemeral_to("U0QUIN") if "busy" in t])
        assert "press again" in busy[0] and not card.history
    # the late write was left to finish, not cancelled: once the lock goes, the click is stored
    for _ in range(200):
        if await stored_clicks(rig.database, a_id):
            break
        await asyncio.sleep(0.05)
    assert await stored_clicks(rig.database, a_id) == [1]
    await rig.wait_update(card, 1)  # and its card update goes out when it lands
    assert order_line(card) == "B"


async def test_kill_9_right_after_five_submits_were_answered_loses_none(db_url: str, tmp_path: Path) -> None:
    emulator = SlackEmulator()
    await emulator.start()
    database = Database(db_url)
    await create_campaigns(database)
    port = free_port()
    process = await start_serve(emulator, db_url, tmp_path, port)
    slack = SlackUser(emulator, f"http://127.0.0.1:{port}/slack/events", "test-signing-secret")
    walker = Walker(emulator, slack)
    users = [f"U0KILL{n}" for n in range(5)]
    try:
        await serving(process, slack)
        cards = [await walker.onboard(user) for user in users]
        ids = [card_id(card) for card in cards]
        for user, card, a_id in zip(users, cards, ids, strict=True):
            for placed, index in enumerate((0, 1, 2), start=1):
                await slack.click(user, card, f"rank:{a_id}:{index}")
                await walker.wait_update(card, placed)
        answers = await asyncio.gather(*(slack.click(user, card, f"submit:{a_id}")
                                         for user, card, a_id in zip(users, cards, ids, strict=True)))
        process.kill()  # SIGKILL: no clean stop, no in-flight work finishes
        assert [status for status, _ in answers] == [200] * 5
        await process.wait()
        process = await start_serve(emulator, db_url, tmp_path, port)
        await serving(process, slack)
        assert await rankings(database, ids) == 5
    finally:
        process.kill()
        await process.wait()
        await database.dispose()
        await emulator.stop()
