"""Hypothesis over the Slack handlers, through the real uvicorn + guard + Bolt AsyncApp against the emulator: one
labeler (Mallory) sends clicks, skip forms, commands, events and raw payloads with tampered card and campaign ids,
other labelers' and campaigns' cards, oversized text, control characters and mention syntax. Whatever she sends:
never a 5xx, no card changes (hers is never targeted, so any change is a bug), no row is created, and nothing
is drawn in anyone else's messages."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from bot.chat.actions import CAMPAIGN_VERBS, CARD_VERBS, FLAG_KINDS, MAX_ID
from bot.chat.throttle import Buckets, Rate
from storage.models import Assignment, Campaign
from tests.slack_emulator import TEAM, Message
from tests.slack_harness import PING, Rig, card_id, row_counts, start_rig

pytestmark = pytest.mark.timeout(300)
ATTACKER, VICTIM = "U0MAL", "U0VIC"
MISSING = (0, 999_999, MAX_ID, MAX_ID + 1, 10**12)  # no such card or campaign (or out of range)


class Unlimited(Buckets):
    def allow(self, key: object, rate: Rate) -> bool:
        return True


@pytest.fixture
async def rig(db_url: str, tmp_path: Path) -> AsyncIterator[Rig]:
    rig = await start_rig(db_url, tmp_path / "home")
    # many clicks from one labeler: no limit here (tests/test_chat_pace.py covers "slow down")
    rig.deps.conversation.throttle.buckets = Unlimited()
    yield rig
    await rig.stop()
    await rig.emulator.stop()


@st.composite
def hostile_text(draw: st.DrawFn, max_size: int = 200) -> str:
    """Text with control characters, mention and link syntax, and now and then far too much of it."""
    piece = st.one_of(st.text(max_size=40), st.sampled_from(
        [PING, "<@U0VIC>", "<!channel>", "<!here|here>", "<#C0GENERAL|general>", "\x00", "\x1b[2J", "\u202e",
         "&lt;", "*bold*", "`x`", "\n", "'", '"']))
    text = "".join(draw(st.lists(piece, max_size=6)))[:max_size]
    return text + ("x" * draw(st.sampled_from([0, 0, 0, 2100, 5000])))


@st.composite
def action_value(draw: st.DrawFn, cards: list[int], campaigns: list[int], own: int) -> str:
    """An action string: the grammar's verbs on other people's cards, other campaigns' ids as cards, missing ids,
    or text that is no action at all."""
    verb = draw(st.sampled_from([*CARD_VERBS, *CAMPAIGN_VERBS]))
    if verb in CARD_VERBS:
        target = draw(st.sampled_from([*cards, *campaigns, *MISSING]).filter(lambda t: t != own))
    else:
        target = draw(st.sampled_from(MISSING))  # a real campaign's join or consent would rightly change things
    arg = draw(st.one_of(st.none(), st.integers(-1, 12), st.integers(MAX_ID - 1, MAX_ID + 1)))
    kind = draw(st.one_of(st.none(), st.sampled_from([*FLAG_KINDS, "HARMFUL", "x" * 30])))
    grammar = ":".join([verb, str(target), *([str(arg)] if arg is not None else []), *([kind] if kind else [])])
    return draw(st.one_of(st.just(grammar), hostile_text(80), st.just(grammar + "\n"), st.just(" " + grammar)))


USER_IDS = st.sampled_from([ATTACKER, ATTACKER, ATTACKER, "<@U0VIC>", "<!channel>", "U0MAL\x00", "u0mal", 42,
                            None, ""])
TEAMS = st.sampled_from([TEAM, TEAM, "T0OTHER", {"id": "<!here>"}, None])
JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                       max_size=3), max_leaves=12)


def with_user(payload: dict[str, Any], user: Any, team: Any) -> dict[str, Any]:
    payload["user"] = {**payload["user"], "id": user} if user is not None else None
    payload["team"] = team if isinstance(team, dict) or team is None else {"id": team, "domain": "crowd"}
    return payload


async def snapshot(rig: Rig) -> tuple[dict[str, int], list[dict[str, Any]], dict[tuple[str, str], Any]]:
    """Row counts, every card, every message drawn (its text and how often it was redrawn)."""
    async with rig.database.session() as session:
        cards = [a.model_dump() for a in (await session.exec(select(Assignment).order_by(Assignment.id))).all()]
    drawn = {(m.channel, m.ts): (m.text, len(m.history)) for m in rig.emulator.messages.values()}
    return await row_counts(rig.database), cards, drawn


@dataclass
class World:
    """Mallory's card and message; the cards of other labelers and campaigns' ids she may aim at."""

    mine: Message
    own: int
    cards: list[int]
    campaigns: list[int]


@pytest.fixture
async def world(rig: Rig) -> World:
    mine = await rig.onboard(ATTACKER)
    theirs = [await rig.onboard(VICTIM), await rig.onboard("U0VIC2", "pings")]
    await rig.deps.deliveries.finish()  # where each card was posted is stored after the post: before the snapshots
    async with rig.database.session() as session:
        campaigns = [c.id or 0 for c in (await session.exec(select(Campaign))).all()]
    return World(mine, int(card_id(mine)), [int(card_id(card)) for card in theirs], campaigns)


@settings(derandomize=True, deadline=None, max_examples=60,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
async def test_hostile_requests_never_5xx_create_rows_or_touch_a_card(rig: Rig, world: World,
                                                                      data: st.DataObject) -> None:
    counts, cards, drawn = await snapshot(rig)
    status = await send(rig, data, world)
    await rig.deps.deliveries.finish()
    assert status in (200, 400, 401, 413), status
    counts_after, cards_after, drawn_after = await snapshot(rig)
    assert (counts_after, cards_after) == (counts, cards)
    assert {key: drawn_after[key] for key in drawn} == drawn  # no message redrawn, hers included
    assert {channel for channel, _ in drawn_after.keys() - drawn.keys()} <= {f"D{ATTACKER}"}  # her refusals


async def send(rig: Rig, data: st.DataObject, world: World) -> int:
    mine, own, cards, campaigns = world.mine, world.own, world.cards, world.campaigns
    shape = data.draw(st.sampled_from(["button", "menu", "skip", "command", "event", "payload"]), label="shape")
    user, team = data.draw(USER_IDS, label="user"), data.draw(TEAMS, label="team")
    if shape in ("button", "menu"):
        value = data.draw(action_value(cards, campaigns, own), label="value")
        payload = rig.slack.click_payload(ATTACKER, mine, "guidelines")  # from her own message and response_url
        action = payload["actions"][0]
        if shape == "menu":
            action.update(type="overflow", action_id=f"flags-{own}-0",
                          selected_option={"value": value, "text": {"type": "plain_text", "text": "x"}})
        else:
            action["action_id"] = value
        return (await rig.slack.send_payload(with_user(payload, user, team)))[0]
    if shape == "skip":
        value = data.draw(action_value(cards, campaigns, own), label="value")
        metadata = data.draw(st.one_of(st.just(json.dumps({"action": value})), hostile_text(60)), label="metadata")
        view = {"id": "V0FUZZ", "callback_id": "skip_view", "private_metadata": metadata, "type": "modal"}
        payload = {**rig.slack._base(ATTACKER, "view_submission"),
                   "view": {**view, "state": {"values": {"reason": {"reason": {
                       "type": "plain_text_input", "value": data.draw(hostile_text(), label="reason")}}}}}}
        return (await rig.slack.send_payload(with_user(payload, user, team)))[0]
    if shape == "command":
        prefix = data.draw(st.sampled_from(["", "join ", "rank ", "status ", "help ", "invite ", "pause "]))
        form = rig.slack.command_form(ATTACKER, prefix + data.draw(hostile_text(), label="text"))
        if user != ATTACKER:
            form["user_id"] = str(user)
        return (await rig.slack.send(urlencode(form), "application/x-www-form-urlencoded"))[0]
    if shape == "event":
        event = {"type": "app_home_opened", "user": user, "tab": data.draw(st.sampled_from(["home", "messages", 3]))}
        body = {"type": "event_callback", "team_id": TEAM, "event": event,
                "event_id": data.draw(st.text(min_size=1, max_size=10), label="event id")}
        return (await rig.slack.send(json.dumps(body), "application/json"))[0]
    payload = data.draw(st.one_of(JSON_VALUES, st.fixed_dictionaries(
        {"type": st.sampled_from(["block_actions", "view_submission", "shortcut"]), "user": JSON_VALUES,
         "team": JSON_VALUES, "actions": JSON_VALUES, "view": JSON_VALUES})), label="payload")
    return (await rig.slack.send_payload(payload))[0]
