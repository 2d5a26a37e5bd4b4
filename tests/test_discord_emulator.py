"""The emulator against a bare discord.py client in its own process: connect, GUILD_CREATE, answer an
interaction, survive a dropped gateway with RESUME, a 429 retried, and the 3-second and answer-once rules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.discord_emulator import DiscordEmulator, Message
from tests.discord_harness import BotProcess, start_bot

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
async def emulator() -> AsyncIterator[DiscordEmulator]:
    emulator = DiscordEmulator()
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def bare(emulator: DiscordEmulator, tmp_path: Path) -> AsyncIterator[BotProcess]:
    bot = await start_bot(emulator, ["-m", "tests.discord_bare_client"], tmp_path / "bot.log")
    yield bot
    await bot.stop()


def _ping_command(emulator: DiscordEmulator) -> None:
    emulator.commands[None] = [{"id": str(emulator.new_id()), "name": "ping", "type": 1, "options": []}]


async def test_a_bare_client_connects_learns_the_guild_and_answers(emulator: DiscordEmulator,
                                                                   bare: BotProcess) -> None:
    identify = next(d for op, d in emulator.gateway_ops if op == 2)
    assert identify["token"] == emulator.token and identify["intents"] == 1  # guilds only, nothing privileged
    assert [c.path for c in emulator.calls][:2] == ["/users/@me", "/oauth2/applications/@me"]
    _ping_command(emulator)
    alice = emulator.add_member("Alice")
    interaction = await emulator.answered(await emulator.slash(alice, "ping"))
    assert interaction.response == 4 and not interaction.errors
    (answer,) = emulator.channel_messages(emulator.general, visible_to=alice)
    assert answer.ephemeral and answer.content == "pong guilds=1 channels=general"
    assert emulator.channel_messages(emulator.general) == []  # nobody else sees it


async def test_a_dropped_gateway_resumes_and_replays_what_was_missed(emulator: DiscordEmulator,
                                                                     bare: BotProcess) -> None:
    _ping_command(emulator)
    alice = emulator.add_member("Alice")
    session = emulator._current
    await emulator.drop_gateway()
    missed = await emulator.slash(alice, "ping")  # dispatched while the socket is down: replayed on RESUME
    await emulator.wait_for(lambda: any(op == 6 for op, _ in emulator.gateway_ops))
    resume = next(d for op, d in emulator.gateway_ops if op == 6)
    assert resume["session_id"] == session.id  # type: ignore[union-attr]
    await emulator.answered(missed)
    assert missed.response == 4 and not missed.errors
    assert sum(op == 2 for op, _ in emulator.gateway_ops) == 1  # resumed, never identified again

    await emulator.request_reconnect()  # op 7: Discord asks for a reconnect
    await emulator.wait_for(lambda: sum(op == 6 for op, _ in emulator.gateway_ops) == 2)
    after = await emulator.answered(await emulator.slash(alice, "ping"))
    assert after.response == 4

    await emulator.invalidate_session(resumable=False)  # op 9 false: a new session (IDENTIFY)
    await emulator.wait_for(lambda: sum(op == 2 for op, _ in emulator.gateway_ops) == 2)
    last = await emulator.answered(await emulator.slash(alice, "ping"))
    assert last.response == 4 and emulator._current is not session


async def test_rest_429_is_retried_by_discord_py(emulator: DiscordEmulator, bare: BotProcess) -> None:
    _ping_command(emulator)
    alice = emulator.add_member("Alice")
    emulator.rate_limit("POST", r"/interactions/\d+/[^/]+/callback", times=1, retry_after=0.3)
    interaction = await emulator.answered(await emulator.slash(alice, "ping"))
    statuses = [c.status for c in emulator.calls_to("POST", r"/interactions/\d+/[^/]+/callback")]
    assert statuses == [429, 200] and interaction.response == 4


async def test_callbacks_after_three_seconds_or_twice_are_refused(emulator: DiscordEmulator) -> None:
    """No bot here: the test builds the interactions and answers as a slow, then a repeating bot would."""
    import aiohttp

    alice = emulator.add_member("Alice")
    _ping_command(emulator)
    late = emulator._base_interaction(2, alice, emulator.general, {"name": "ping"})
    late.created -= 3.5
    twice = emulator._base_interaction(2, alice, emulator.general, {"name": "ping"})
    async with aiohttp.ClientSession() as http:
        for interaction, expected in ((late, [404]), (twice, [200, 400])):
            for _ in expected:
                await http.post(f"{emulator.api_base}/interactions/{interaction.id}/{interaction.token}/callback",
                                json={"type": 4, "data": {"content": "hi"}})
        statuses = [c.status for c in emulator.calls]
    assert statuses == [404, 200, 400]
    assert late.errors[0].startswith("10062") and twice.errors == ["40060 Interaction has already been acknowledged"]


async def test_message_limits_and_pings_are_checked(emulator: DiscordEmulator) -> None:
    import aiohttp

    headers = {"Authorization": f"Bot {emulator.token}"}
    url = f"{emulator.api_base}/channels/{emulator.general}/messages"
    async with aiohttp.ClientSession(headers=headers) as http:
        too_long = await http.post(url, json={"embeds": [{"description": "x" * 4097}]})
        assert too_long.status == 400 and (await too_long.json())["code"] == 50035
        pinging = await http.post(url, json={"content": "@everyone <@123> hi"})
        quiet = await http.post(url, json={"content": "@everyone <@123> hi", "allowed_mentions": {"parse": []}})
        loud = emulator.messages[int((await pinging.json())["id"])]
        silent = emulator.messages[int((await quiet.json())["id"])]
    assert emulator.pings(loud) == ["@everyone", "<@123>"] and emulator.pings(silent) == []
    assert isinstance(loud, Message)


async def test_dms_to_a_closed_user_get_50007(emulator: DiscordEmulator) -> None:
    import aiohttp

    alice = emulator.add_member("Alice")
    emulator.close_dms(alice)
    async with aiohttp.ClientSession(headers={"Authorization": f"Bot {emulator.token}"}) as http:
        channel = await (await http.post(f"{emulator.api_base}/users/@me/channels",
                                         json={"recipient_id": str(alice)})).json()
        refused = await http.post(f"{emulator.api_base}/channels/{channel['id']}/messages", json={"content": "hi"})
        assert refused.status == 403 and (await refused.json())["code"] == 50007
