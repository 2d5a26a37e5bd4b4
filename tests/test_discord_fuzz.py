"""Bad input fails cleanly, on Discord: Hypothesis sends INTERACTION_CREATE payloads to crowdrank serving Discord in
its own process (the real discord.py client, against the emulator), on SQLite and PostgreSQL. Each comes from a
person with no cards of their own: clicks, selects, skip forms, commands and autocompletes with tampered action
ids (other labelers' cards, other and missing campaigns), oversized text, control characters and mention syntax,
and payloads with keys missing or of the wrong type. After each: the client is still connected and answers a good
interaction; an interaction that could be answered was answered, privately; no row was created or changed
(other labelers' cards included), no card message was edited, nothing posted pings anyone."""

from __future__ import annotations

import contextlib
import copy
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import SQLModel

import storage.models  # noqa: F401  # the tables counted below
from bot.chat.actions import CAMPAIGN_VERBS, CARD_VERBS, FLAG_KINDS, format_action
from tests.discord_emulator import Interaction, Message
from tests.discord_harness import Rig, start_rig

pytestmark = pytest.mark.timeout(300)

MISSING_CAMPAIGNS = (0, 999_999, 2**31, 2**40)
MISSING_CARDS = (0, 999_999, 2**31 - 1, 2**40)
SPECIAL = ("<@123>", "<@&456>", "@everyone", "@here", "<#789>", "\x00", "a\x07b\x1b[31m", "x" * 5000,
           "y" * 200_000, "１２３", "rank:1:0\n", "**bold** [link](https://evil.example)", "", " ")
PATHS = {  # keys a payload can lose or get wrong, by interaction type
    2: [("type",), ("id",), ("token",), ("version",), ("data",), ("member",), ("member", "user"),
        ("member", "user", "id"), ("locale",), ("application_id",), ("attachment_size_limit",), ("data", "options")],
    3: [("type",), ("id",), ("token",), ("data",), ("member",), ("member", "user"), ("message",),
        ("message", "components"), ("data", "custom_id"), ("data", "component_type"), ("data", "values"),
        ("member", "roles"), ("member", "user", "username")],
    5: [("type",), ("token",), ("data",), ("member",), ("data", "custom_id"), ("data", "components"),
        ("data", "components", 0), ("data", "components", 0, "components", 0, "value"),
        ("data", "components", 0, "components", 0, "type")],
}
PATHS[4] = PATHS[2]
WRONG = (None, 0, -1, 3.5, True, "x", "", [], {}, ["<@123>"], {"id": "1"}, "9" * 30)


@dataclass
class Scene:
    rig: Rig
    alice: int
    card: Message  # Alice's card in the first campaign
    cards: tuple[int, ...]  # assignment ids: Alice's, and Bob's in the other campaign
    campaigns: tuple[int, ...]


@pytest.fixture
async def scene(db_url: str, tmp_path: Path) -> AsyncIterator[Scene]:
    rig = await start_rig(db_url, tmp_path / "home")
    alice, bob = rig.emulator.add_member("Alice"), rig.emulator.add_member("Bob")
    card = await rig.onboard(alice)
    other = await rig.onboard(bob, "pings")
    cards = tuple(int(next(c for c in m.custom_ids() if c.startswith("rank:")).split(":")[1]) for m in (card, other))
    campaigns = tuple(int(row[0]) for row in query(db_url, "SELECT id FROM campaign ORDER BY id"))
    yield Scene(rig, alice, card, cards, campaigns)
    await rig.bot.stop()
    await rig.emulator.stop()


def query(db_url: str, sql: str) -> list[tuple[Any, ...]]:
    if db_url.startswith("sqlite"):
        with contextlib.closing(sqlite3.connect(db_url.removeprefix("sqlite:///"))) as connection:
            return connection.execute(sql).fetchall()
    with psycopg.connect(db_url) as connection:
        return connection.execute(sql).fetchall()


def snapshot(db_url: str) -> tuple[Any, ...]:
    """Every table's row count, and every card's row as stored."""
    tables = [table.name for table in SQLModel.metadata.sorted_tables]
    counts = query(db_url, "SELECT " + ", ".join(f'(SELECT count(*) FROM "{name}")' for name in tables))
    return tuple(counts[0]), query(db_url, "SELECT * FROM assignment ORDER BY id")


def texts() -> st.SearchStrategy[str]:
    return st.one_of(st.text(max_size=40), st.sampled_from(SPECIAL))


def actions(cards: tuple[int, ...]) -> st.SearchStrategy[str]:
    """Action ids on other people's cards and on missing cards and campaigns: well-formed ones, any mix of parts,
    a trailing newline, and free text."""
    targets = st.sampled_from(cards * 4 + MISSING_CARDS)  # mostly real cards: refused by the owner check
    well_formed = st.one_of(
        st.builds(format_action, st.sampled_from(["undo", "tie", "reset", "submit", "skip", "guidelines", "full"]),
                  targets),
        st.builds(format_action, st.sampled_from(["rank", "full"]), targets, st.integers(0, 3)),
        st.builds(format_action, st.just("flag"), targets, st.integers(0, 3), st.sampled_from(FLAG_KINDS)),
        st.builds(format_action, st.sampled_from(sorted(CAMPAIGN_VERBS)), st.sampled_from(MISSING_CAMPAIGNS)))
    parts = st.tuples(st.sampled_from(sorted({*CARD_VERBS, *CAMPAIGN_VERBS})), targets,
                      st.sampled_from((None, 0, 9, 99)), st.sampled_from((None, *FLAG_KINDS, "x")))
    mixed = parts.map(lambda p: ":".join(str(part) for part in p if part is not None))
    return st.one_of(well_formed, well_formed, well_formed, well_formed, mixed, well_formed.map(lambda a: a + "\n"),
                     texts())


@st.composite
def payloads(draw: st.DrawFn, scene: Scene, actor: int) -> dict[str, Any]:
    emulator, kind = scene.rig.emulator, draw(st.sampled_from((2, 3, 3, 3, 4, 5, 5)))
    custom_id = draw(actions(scene.cards))
    if kind == 3:
        component_type = draw(st.sampled_from((2, 2, 2, 3, 3, 5, 0, 99)))
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
        if component_type != 2:
            data["values"] = draw(st.lists(actions(scene.cards), max_size=3))
    elif kind == 5:
        data = {"custom_id": custom_id, "components": [
            {"type": 1, "components": [{"type": 4, "custom_id": "reason", "value": draw(texts())}]}]}
    else:
        verb = draw(st.sampled_from(("status", "pause", "resume", "guidelines", "report", "help", "forget")))
        options = {"campaign": draw(texts())} if verb not in ("help", "forget") else {}
        data = emulator.command_data(f"crowdrank {verb}", **options)
        if kind == 4:
            data = emulator.command_data("crowdrank join", focused="campaign", campaign=draw(texts()))
    payload = emulator.interaction_payload(kind, actor, emulator.general, data)
    if kind in (3, 5):  # on Alice's card as it is, or on a copy that shows the tampered component
        message = emulator._message_json(scene.card)
        if draw(st.sampled_from((True, True, True, False))):
            shown = {"type": data.get("component_type", 2), "custom_id": custom_id, "label": "A", "style": 1,
                     "options": [{"label": "A", "value": custom_id}]}
            message["components"] = [{"type": 1, "components": [shown]}]
        payload["message"] = message
    mutations = st.lists(st.sampled_from(PATHS[kind]), min_size=1, max_size=2, unique=True)
    for path in draw(st.one_of(st.just([]), mutations)):  # half of them well-formed
        _mutate(payload, path, draw(st.sampled_from(("drop", *WRONG))))
    return payload


def _mutate(payload: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    """Drop the key at `path`, or set it to `value`, when the path is still there."""
    holder: Any = payload
    for step in path[:-1]:
        try:
            holder = holder[step]
        except (KeyError, IndexError, TypeError):
            return
    key = path[-1]
    if isinstance(holder, list) and not (isinstance(key, int) and key < len(holder)):
        return
    if not isinstance(holder, dict | list):
        return
    if value != "drop":
        holder[key] = copy.deepcopy(value)
    elif isinstance(holder, list):
        del holder[key]
    else:
        holder.pop(key, None)


@settings(derandomize=True, deadline=None, max_examples=50,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.data())
async def test_bad_interactions_are_refused_cleanly_and_the_client_keeps_answering(scene: Scene,
                                                                                    data: st.DataObject) -> None:
    emulator, rig = scene.rig.emulator, scene.rig
    actor = emulator.add_member("Mallory")  # a new person each time: never throttled, nothing of theirs stored
    payload = data.draw(payloads(scene, actor))
    before, edits = snapshot(rig.db_url), {m.id: len(m.history) for m in emulator.messages.values()}
    public = len([m for m in emulator.messages.values() if m.visible_to is None])

    bad = await emulator.raw_interaction(payload)
    good = await emulator.answered(await emulator.slash(emulator.add_member("Gus"), "crowdrank help"))
    assert good.response == 4 and not good.errors, good.errors  # still connected, still answering
    if bad is not None:
        await emulator.answered(bad, timeout=5)
        assert answered_privately(emulator, bad), (bad.response, bad.errors, payload)

    assert rig.bot.process.returncode is None and sum(op == 2 for op, _ in emulator.gateway_ops) == 1
    assert snapshot(rig.db_url) == before, payload  # no row created, no card changed
    assert {m.id: len(m.history) for m in emulator.messages.values() if m.id in edits} == edits
    assert len([m for m in emulator.messages.values() if m.visible_to is None]) == public
    assert all(emulator.pings(m) == [] for m in emulator.messages.values())


def answered_privately(emulator: Any, interaction: Interaction) -> bool:
    """Answered once, in time, with a message only its sender sees (or autocomplete choices)."""
    if interaction.errors or interaction.response not in (4, 8) or (interaction.response_delay or 9) > 3:
        return False
    return interaction.response == 8 or emulator.messages[interaction.original_id].visible_to == interaction.user_id
