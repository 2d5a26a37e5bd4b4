"""Bad input at the Slack endpoint, through the real uvicorn + guard + Bolt AsyncApp against the emulator: every
class of bad request gets its 4xx with one line saying what is wrong, never a 500, and stores nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from adapters.slack.app import build_app
from adapters.slack.guard import MAX_BODY, MAX_DEPTH
from adapters.slack.server import SlackSocketMode
from bot.database import Database
from bot.settings import Settings
from tests.slack_emulator import SlackEmulator, SlackUser, action_ids
from tests.slack_harness import CAMPAIGN, SECRET, Rig, card_id, create_campaigns, order_line, row_counts, start_rig

pytestmark = pytest.mark.timeout(120)
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
async def rig(db_url: str, tmp_path: Path) -> AsyncIterator[Rig]:
    rig = await start_rig(db_url, tmp_path / "home")
    yield rig
    await rig.stop()
    await rig.emulator.stop()


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def without(payload: dict[str, Any], *path: str) -> dict[str, Any]:
    """A deep copy of `payload` with the field at `path` removed."""
    copy = json.loads(json.dumps(payload))
    node = copy
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return copy


def replaced(payload: dict[str, Any], value: Any, *path: str | int) -> dict[str, Any]:
    copy = json.loads(json.dumps(payload))
    node = copy
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return copy


def form(payload: Any) -> str:
    return urlencode({"payload": payload if isinstance(payload, str) else json.dumps(payload)})


# name → (body from a valid click payload and a valid command form, content type, status, words in the line)
Case = tuple[Callable[[dict[str, Any], dict[str, str]], str | bytes], str, int, str]
CASES: dict[str, Case] = {
    "not utf-8": (lambda click, _: b"payload=" + json.dumps(click).encode() + b"\xff\xfe", FORM, 400, "UTF-8"),
    "percent-escape not utf-8": (lambda click, _: "payload=%FF%FE", FORM, 400, "urlencoding"),
    "field without =": (lambda click, _: "payload", FORM, 400, "urlencoding"),
    "payload not json": (lambda click, _: "payload=%7Bnope", FORM, 400, "not JSON"),
    "payload a list": (lambda click, _: form([click]), FORM, 400, "JSON object"),
    "payload a string": (lambda click, _: form('"hello"'), FORM, 400, "JSON object"),
    "nested past the json parser": (lambda click, _: form("[" * 100_000), FORM, 400, "nests deeper"),
    "nested past the limit": (lambda click, _: form(replaced(click, nested(MAX_DEPTH + 5), "state")), FORM, 400,
                              "nests deeper"),
    "an integer too long": (lambda click, _: form('{"type": 1' + "1" * 5000 + "}"), FORM, 400, "not JSON"),
    "no type": (lambda click, _: form(without(click, "type")), FORM, 400, "payload.type is missing"),
    "no user": (lambda click, _: form(without(click, "user")), FORM, 400, "payload.user is missing"),
    "no team": (lambda click, _: form(without(click, "team")), FORM, 400, "payload.team is missing"),
    "no actions": (lambda click, _: form(without(click, "actions")), FORM, 400, "payload.actions is missing"),
    "empty actions": (lambda click, _: form(replaced(click, [], "actions")), FORM, 400, "non-empty list"),
    "user id a number": (lambda click, _: form(replaced(click, 42, "user", "id")), FORM, 400, "not a Slack id"),
    "user id a mention": (lambda click, _: form(replaced(click, "<@U0ALL>", "user", "id")), FORM, 400,
                          "not a Slack id"),
    "user a string": (lambda click, _: form(replaced(click, "U0MEL", "user")), FORM, 400, "must be an object"),
    "action id a list": (lambda click, _: form(replaced(click, ["rank"], "actions", 0, "action_id")), FORM, 400,
                         "wrong type"),
    "enterprise a number": (lambda click, _: form(replaced(click, 7, "enterprise")), FORM, 400, "wrong type"),
    "command without team": (lambda _, command: urlencode({k: v for k, v in command.items() if k != "team_id"}),
                             FORM, 400, "command.team_id is missing"),
    "command without user": (lambda _, command: urlencode({k: v for k, v in command.items() if k != "user_id"}),
                             FORM, 400, "command.user_id is missing"),
    "event a list": (lambda click, _: json.dumps([click]), "application/json", 400, "JSON object"),
    "event without event": (lambda click, _: json.dumps({"type": "event_callback", "team_id": "T0CROWD",
                                                         "event_id": "Ev1"}), "application/json", 400,
                            "body.event is missing"),
    "another content type": (lambda click, _: json.dumps(click), "text/plain", 400, "content type"),
    "too large": (lambda click, _: form(replaced(click, "x" * (MAX_BODY + 1), "trigger_id")), FORM, 413,
                  "larger than"),
}


async def post(rig: Rig, body: str | bytes, content_type: str, **kwargs: Any) -> tuple[int, str]:
    """A correctly signed POST of any bytes (SlackUser signs text only)."""
    raw = body if isinstance(body, bytes) else body.encode()
    stamp = str(int(time.time()))
    signature = "v0=" + hmac.new(SECRET.encode(), f"v0:{stamp}:".encode() + raw, hashlib.sha256).hexdigest()
    headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature,
               **kwargs.pop("headers", {})}
    async with aiohttp.ClientSession() as session, session.post(rig.slack.app_url, data=kwargs.pop("data", raw),
                                                                headers=headers) as response:
        return response.status, await response.text()


def one_line(text: str) -> bool:
    return bool(text.strip()) and "\n" not in text.rstrip("\n")


async def test_each_kind_of_bad_input_gets_its_4xx_and_one_line_and_stores_nothing(rig: Rig) -> None:
    card = await rig.onboard("U0MEL")
    a_id = card_id(card)
    click = rig.slack.click_payload("U0MEL", card, f"rank:{a_id}:0")
    command = rig.slack.command_form("U0MEL", f"rank {CAMPAIGN}")
    before, calls = await row_counts(rig.database), len(rig.emulator.calls)
    for name, (make, content_type, status, words) in CASES.items():
        answered, text = await post(rig, make(click, command), content_type)
        assert (answered, one_line(text)) == (status, True), (name, answered, text)
        assert words in text, (name, text)
    assert await row_counts(rig.database) == before
    assert len(rig.emulator.calls) == calls and not card.history  # nothing was drawn or sent either
    assert (await rig.slack.send_payload(click))[0] == 200  # the same click, well formed, still works
    await rig.wait_update(card, 1)
    assert order_line(card) == "A"


async def test_bad_signatures_and_timestamps_are_401_before_the_body_is_read(rig: Rig) -> None:
    card = await rig.onboard("U0NED")
    body = urlencode({"payload": json.dumps(rig.slack.click_payload("U0NED", card, f"rank:{card_id(card)}:0"))})
    before = await row_counts(rig.database)
    refusals = [dict(signature="v0=" + "0" * 64), dict(timestamp=int(time.time()) - 6 * 60),
                dict(timestamp=int(time.time()) + 6 * 60)]
    for kwargs in refusals:
        status, text = await rig.slack.send(body, FORM, **kwargs)  # type: ignore[arg-type]
        assert (status, one_line(text)) == (401, True), kwargs
    for headers in ({"X-Slack-Request-Timestamp": "soon"}, {"X-Slack-Signature": "v0=ß"}):
        status, text = await post(rig, body, FORM, headers=headers)
        assert (status, one_line(text)) == (401, True), headers
    garbage = b"\xff" * 100  # unsigned junk is refused for its signature, never parsed
    status, text = await rig.slack.send(garbage.decode("latin-1"), FORM, signature="v0=" + "1" * 64)
    assert (status, "X-Slack-Signature" in text) == (401, True)
    assert await row_counts(rig.database) == before and not card.history


async def test_an_oversized_stream_without_a_declared_length_is_cut_off_at_the_cap(rig: Rig) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(80):
            yield b"payload=" + b"x" * 8192

    status, text = await post(rig, b"", FORM, data=chunks())  # chunked: no Content-Length to refuse early
    assert (status, "larger than" in text) == (413, True)


async def test_socket_mode_drops_a_malformed_envelope_with_one_line_and_stays_connected(
        sqlite_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    emulator = SlackEmulator()
    await emulator.start()
    database = Database(sqlite_url)
    await create_campaigns(database)
    settings = Settings(SLACK_BOT_TOKEN=emulator.token, SLACK_APP_TOKEN=emulator.app_token,
                        SLACK_API_URL=emulator.api_url, CROWDRANK_HOME=str(tmp_path))
    app, deps = build_app(settings, database)
    socket = SlackSocketMode(app, emulator.app_token)
    await socket.start()
    slack = SlackUser(emulator, "http://unused.invalid/slack/events", "unused")
    emulator.add_user("U0OLA")
    try:
        before = await row_counts(database)
        good = slack.command_form("U0OLA", f"join {CAMPAIGN}")
        bad = [("interactive", [1, 2]), ("interactive", {"type": "block_actions", "user": {"id": "U0OLA"}}),
               ("slash_commands", {k: v for k, v in good.items() if k != "team_id"}),
               ("events_api", {"type": "event_callback", "event": "no"}), ("something_else", {})]
        with caplog.at_level(logging.WARNING, logger="crowdrank.slack"):
            envelopes = [await emulator.send_envelope(kind, payload) for kind, payload in bad]
            await emulator.wait_for(lambda: {a.get("envelope_id") for a in emulator.socket_acks} >= set(envelopes))
        dropped = [r.getMessage() for r in caplog.records if r.getMessage().startswith("dropped a Socket Mode")]
        assert len(dropped) == len(bad) and all("\n" not in line for line in dropped)
        assert await row_counts(database) == before and not emulator.calls_to("chat.postMessage")
        await emulator.send_envelope("slash_commands", good)  # the same connection still serves
        steps = await emulator.wait_for(lambda: [m for m in emulator.channel_messages("DU0OLA")
                                                 if any(a.startswith("consent:") for a in action_ids(m.blocks))])
        assert steps and len(emulator.calls_to("apps.connections.open")) == 1
    finally:
        await socket.stop()
        await deps.close()
        await database.dispose()
        await emulator.stop()
