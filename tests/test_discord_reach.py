"""How a message reaches one person (`adapters.discord.send.Reach`), with a real discord.py client logged in to
the emulator's REST API: each person's DM is opened once, however many people the bot writes to. discord.py
keeps only 128 DM channels, and opening one is a request all users share (one at a time in discord.py, rate-limited
by Discord), so reopening it for every card was what held next cards up under load."""

from __future__ import annotations

from collections.abc import AsyncIterator

import discord
import pytest
from discord.http import Route

from adapters.discord.announcer import DiscordAnnouncer
from adapters.discord.endpoints import point_at
from adapters.discord.send import Reach
from bot import reminders
from bot.chat.announcer import LabelerAddress
from tests.discord_emulator import DiscordEmulator

pytestmark = pytest.mark.timeout(120)

MORE_THAN_DISCORD_PY_KEEPS = 130


@pytest.fixture
async def client(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[discord.Client, DiscordEmulator]]:
    emulator = DiscordEmulator()
    await emulator.start()
    monkeypatch.setattr(Route, "BASE", Route.BASE)  # restored after the test: point_at sets it for the process
    point_at(emulator.api_base, None)
    client = discord.Client(intents=discord.Intents(guilds=True))
    await client.login(emulator.token)
    yield client, emulator
    await client.close()
    await emulator.stop()


async def test_each_dm_is_opened_once_however_many_people_are_written_to(
        client: tuple[discord.Client, DiscordEmulator]) -> None:
    bot, emulator = client
    reach = Reach(bot)
    people = [emulator.add_member(f"labeler {n}") for n in range(MORE_THAN_DISCORD_PY_KEEPS)]
    for card in ("first card", "second card"):
        for person in people:
            message, left_dm = await reach.send(discord.Object(person), None, content=f"{card} for {person}")
            assert not left_dm and message.channel.id == emulator.dm_channel(person)

    assert len(emulator.calls_to("POST", r"/users/@me/channels")) == len(people)
    for person in people:
        texts = [m.content for m in emulator.channel_messages(emulator.dm_channel(person))]
        assert texts == [f"first card for {person}", f"second card for {person}"]


async def test_a_person_who_closes_their_dms_later_is_refused_not_misdelivered(
        client: tuple[discord.Client, DiscordEmulator]) -> None:
    """A remembered DM is tried first; when it is now closed and there is no channel to open a thread in, the
    caller hears Forbidden (and shows the message privately where the person acted)."""
    bot, emulator = client
    reach = Reach(bot)
    person = emulator.add_member("Fay")
    await reach.send(discord.Object(person), None, content="hello")
    emulator.close_dms(person)
    with pytest.raises(discord.Forbidden):
        await reach.send(discord.Object(person), None, content="your next card")
    assert [m.content for m in emulator.channel_messages(emulator.dm_channel(person))] == ["hello"]


async def test_a_reminder_goes_to_the_dm_the_cards_went_to(client: tuple[discord.Client, DiscordEmulator]) -> None:
    bot, emulator = client
    reach = Reach(bot)
    person = emulator.add_member("Gus")
    await reach.send(discord.Object(person), None, content="your card")
    await DiscordAnnouncer(bot, reach).direct(LabelerAddress("discord", "app", str(person)),
                                              reminders.nudge_notice("demo", 7))

    card, reminder = emulator.channel_messages(emulator.dm_channel(person))
    assert "demo" in reminder.content and reminder.components  # the notice, with its controls
    assert len(emulator.calls_to("POST", r"/users/@me/channels")) == 1
