"""Acknowledged means stored, on Discord: crowdrank serving Discord in its own process (the real discord.py client)
against the emulator, on SQLite and PostgreSQL. The emulator's `on_answer` hook looks in the database the moment
an interaction's response arrives, before the bot hears back: every answer to a press that changes a card (or to
the skip form) finds that change stored; a write held up past the deadline is answered "press again" within
Discord's 3 seconds, and is stored once the database lets it through."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest

from tests.discord_emulator import EPHEMERAL, Interaction, Message, iter_components
from tests.discord_harness import Rig, order_of, start_rig

pytestmark = pytest.mark.timeout(180)

WRITES = ("rank:", "undo:", "tie:", "flag:", "submit:", "skip:")  # skip: only its form's submission writes


@pytest.fixture
async def rig(db_url: str, tmp_path: Path) -> AsyncIterator[Rig]:
    rig = await start_rig(db_url, tmp_path / "home")
    yield rig
    await rig.bot.stop()
    await rig.emulator.stop()
    late = [i for i in rig.emulator.interactions.values() if i.errors or (i.response_delay or 0) > 3]
    assert not late, [(i.type, i.errors) for i in late]


def stored(db_url: str, interaction: Interaction) -> bool:
    """Whether the interaction's change is committed (its delivery key is written in the same transaction).
    A plain read that another writer never blocks: SQLite in WAL mode, PostgreSQL under an EXCLUSIVE lock."""
    key = f"discord:{interaction.id}"
    if db_url.startswith("sqlite"):
        with contextlib.closing(sqlite3.connect(db_url.removeprefix("sqlite:///"))) as connection:
            return connection.execute("SELECT 1 FROM delivery WHERE key = ?", (key,)).fetchone() is not None
    with psycopg.connect(db_url) as connection:
        return connection.execute("SELECT 1 FROM delivery WHERE key = %s", (key,)).fetchone() is not None


@contextlib.contextmanager
def writes_held(db_url: str) -> Iterator[None]:
    """Another writer holding the database: SQLite's write lock, or on PostgreSQL a lock on `delivery` that lets
    reads through and makes every click's write wait."""
    if db_url.startswith("sqlite"):
        with contextlib.closing(sqlite3.connect(db_url.removeprefix("sqlite:///"), timeout=30)) as lite:
            lite.execute("BEGIN IMMEDIATE")
            yield
            lite.rollback()
        return
    with psycopg.connect(db_url) as connection:
        connection.execute("LOCK TABLE delivery IN EXCLUSIVE MODE")
        yield
        connection.rollback()


def is_write(interaction: Interaction) -> bool:
    custom_id = str((interaction.payload.get("data") or {}).get("custom_id", ""))
    return custom_id.startswith(WRITES) and (interaction.type == 5 or not custom_id.startswith("skip:"))


async def click_held(rig: Rig, user: int, card: Message, has: str, hold: float) -> Interaction:
    """Press while another writer holds the database for `hold` seconds."""
    custom_id = next(c for c in card.enabled_ids() if re.match(has, c))
    with writes_held(rig.db_url):
        click = await rig.emulator.click(user, card, custom_id)
        await asyncio.sleep(hold)
    return await rig.emulator.answered(click)


async def test_every_answer_to_a_press_finds_its_change_stored(rig: Rig) -> None:
    bob = rig.emulator.add_member("Bob")
    card = await rig.onboard(bob)
    seen: dict[int, tuple[int | None, bool]] = {}

    async def look(interaction: Interaction) -> None:
        if is_write(interaction):
            seen[interaction.id] = (interaction.response, stored(rig.db_url, interaction))

    rig.emulator.on_answer = look
    for press in (r"rank:\d+:2$", r"rank:\d+:0$", r"undo:", r"rank:\d+:3$", r"tie:"):
        await rig.press(bob, card, press)
    flags = next(c for c in iter_components(card.components) if c["type"] == 3)
    await rig.press(bob, card, re.escape(flags["custom_id"]) + "$", values=[flags["options"][0]["value"]])
    await rig.press(bob, card, r"rank:\d+:1$")
    await rig.press(bob, card, r"submit:")
    assert "Thank you" in card.content
    following = await rig.wait_message(bob, r"rank:", after=card)
    skip = await rig.press(bob, following, r"skip:")
    submitted = await rig.emulator.answered(await rig.emulator.submit_modal(bob, skip, {"reason": "not my topic"}))
    assert submitted.response == 7 and "Skipped" in following.content

    assert len(seen) == 9 and all(kind == 7 and was_stored for kind, was_stored in seen.values()), seen

    third = await rig.wait_message(bob, r"rank:", after=following)
    waited = await click_held(rig, bob, third, r"rank:\d+:0$", hold=1.0)
    assert seen[waited.id] == (7, True) and (waited.response_delay or 0) > 1.0  # answered after the write
    assert order_of(third) == "A"


async def test_a_write_held_past_the_deadline_says_press_again_in_time_and_is_kept(rig: Rig) -> None:
    cara = rig.emulator.add_member("Cara")
    card = await rig.onboard(cara)
    versions = len(card.history)
    late = await click_held(rig, cara, card, r"rank:\d+:1$", hold=3.5)
    answer = rig.emulator.messages[late.original_id or 0]
    assert late.response == 4 and answer.flags & EPHEMERAL and "press again" in answer.content
    assert (late.response_delay or 9) < 3.0 and len(card.history) == versions  # nothing promised, nothing drawn
    for _ in range(100):  # the late write goes through once the database lets it (nothing tells the emulator)
        if stored(rig.db_url, late):
            break
        await asyncio.sleep(0.1)
    assert stored(rig.db_url, late)
    for _ in range(100):  # and its card update goes out when it lands
        if len(card.history) > versions:
            break
        await asyncio.sleep(0.1)
    assert order_of(card) == "B" and stored(rig.db_url, late)


async def test_a_write_landing_while_its_press_again_is_on_the_way_still_redraws_the_card(rig: Rig) -> None:
    """The late write's replies wait for the "press again" response to be done, then edit the card over REST;
    answering the interaction a second time would be refused (40060) and the card would never change."""
    cara = rig.emulator.add_member("Cara")
    card = await rig.onboard(cara)
    versions = len(card.history)
    custom_id = next(c for c in card.enabled_ids() if re.match(r"rank:\d+:1$", c))
    hold = contextlib.ExitStack()
    hold.enter_context(writes_held(rig.db_url))

    async def press_again_held_in_flight(interaction: Interaction) -> None:
        if interaction.response == 4:  # let the write land before the bot hears that its answer arrived
            hold.close()
            for _ in range(100):
                if stored(rig.db_url, interaction):
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # time for the late replies to be carried out

    rig.emulator.on_answer = press_again_held_in_flight
    try:
        late = await rig.emulator.answered(await rig.emulator.click(cara, card, custom_id))
    finally:
        hold.close()
    assert late.response == 4 and "press again" in rig.emulator.messages[late.original_id or 0].content
    for _ in range(100):
        if len(card.history) > versions:
            break
        await asyncio.sleep(0.1)
    assert order_of(card) == "B" and not late.errors
