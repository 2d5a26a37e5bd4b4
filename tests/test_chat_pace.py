"""Rate limits and one card at a time, through `Conversation` on both databases: a flood past a campaign's limit is
refused privately and stores nothing, each campaign has its own limit, commands have their own bucket, the limits
come from the database without a query per click, and twenty `/crowdrank rank` at once post one card."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlmodel import SQLModel, func, select

from bot import campaigns, labelers, ranking_session
from bot.chat.actions import parse
from bot.chat.conversation import Conversation
from bot.chat.dealer import Dealer
from bot.chat.people import Who
from bot.chat.throttle import Throttle
from bot.chat.views import CardView, Notice, Reply
from bot.database import Database
from bot.prompt_files import CompletionRecord, PromptRecord
from storage.models import Delivery
from tests.test_chat_conversation import onboard, person, set_rate, setup, texts

SLOW = "faster than crowdrank can keep up"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def row_counts(database: Database) -> dict[str, int]:
    async with database.session() as session:
        return {table.name: int((await session.exec(select(func.count()).select_from(table))).one())
                for table in SQLModel.metadata.sorted_tables}


@contextmanager
def statements(database: Database) -> Iterator[list[str]]:
    """The SQL the conversation sends while inside."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", record)


async def add_campaign(database: Database, name: str) -> int:
    async with database.session() as session:
        result = await campaigns.create_campaign(
            session, campaigns.CampaignSpec(name=name, criterion="helpfulness", k=3, votes=2, regions=["Europe"]),
            [PromptRecord(external_id="q0", text="Too cold?")],
            [CompletionRecord(prompt_id="q0", model="t", texts=["x", "y", "z"])])
    return result.campaign.id or 0


async def test_past_the_limit_a_click_is_refused_privately_and_nothing_is_stored(database: Database) -> None:
    conversation = await setup(database)
    ana = person("UANA")
    card = await onboard(conversation, ana)
    await set_rate(database, "heat", burst=3, per_second=0.001)
    await conversation.throttle.load()
    presses = [f"rank:{card.card_id}:0", f"undo:{card.card_id}", f"rank:{card.card_id}:1"]
    allowed = [await conversation.press(ana, press, delivery=f"ok{i}") for i, press in enumerate(presses)]
    assert not any(SLOW in texts(r) for r in allowed)
    before = await row_counts(database)
    async with database.session() as session:
        labeler = await labelers.find_labeler(session, *ana.key) or 0
    async with database.session() as session:
        shown = (await ranking_session.show_card(session, card.card_id, labeler)).order
    refused = [await conversation.press(ana, f"undo:{card.card_id}", delivery=f"no{i}") for i in range(4)]
    assert all(len(r) == 1 and r[0].intent == "private" and SLOW in texts(r) for r in refused)
    assert await row_counts(database) == before
    async with database.session() as session:
        keys = set((await session.exec(select(Delivery.key))).all())
    async with database.session() as session:
        assert (await ranking_session.show_card(session, card.card_id, labeler)).order == shown
    assert {"ok0", "ok1", "ok2"} <= keys and not keys & {f"no{i}" for i in range(4)}


async def test_each_campaign_has_its_own_limit(database: Database) -> None:
    conversation = await setup(database)
    other = await add_campaign(database, "cold")
    ana = person("UANA")
    card = await onboard(conversation, ana)
    await set_rate(database, "heat", burst=1, per_second=0.001)
    await conversation.throttle.load()
    await conversation.press(ana, f"rank:{card.card_id}:0", delivery="a")
    assert SLOW in texts(await conversation.press(ana, f"rank:{card.card_id}:1", delivery="b"))
    joined = await conversation.press(ana, f"join:{other}")
    assert SLOW not in texts(joined) and joined[0].intent == "dm"
    bob = person("UBOB")  # another person's bucket in the same campaign is full
    assert SLOW not in texts(await conversation.press(bob, f"join:{other}"))


async def test_commands_have_their_own_bucket(database: Database) -> None:
    conversation = await setup(database)
    ana = person("UANA")
    card = await onboard(conversation, ana)
    await set_rate(database, "heat", burst=1, per_second=0.001)
    await conversation.throttle.load()
    while SLOW not in texts(await conversation.press(ana, f"undo:{card.card_id}")):
        pass
    answered = await conversation.command(ana, ["rank", "heat"])
    assert answered[0].intent == "update" and SLOW not in texts(answered)
    flood = [await conversation.command(ana, ["help"]) for _ in range(12)]
    refused = [r for r in flood if "sending commands faster" in texts(r)]
    assert 2 <= len(refused) <= 4 and all(len(r) == 1 and r[0].intent == "private" for r in refused)


async def test_limits_are_cached_and_refreshed_in_the_background(database: Database) -> None:
    clock = Clock()
    conversation = await setup(database)
    conversation.throttle = Throttle(database, clock=clock)
    ana = person("UANA")
    card = await onboard(conversation, ana)
    await set_rate(database, "heat", burst=1, per_second=0.001)
    await conversation.throttle.load()
    press = f"undo:{card.card_id}"
    assert SLOW not in texts(await conversation.press(ana, press))
    with statements(database) as sent:
        assert SLOW in texts(await conversation.press(ana, press))
    assert sent == []  # a refused click costs no query, not even for the limit
    await set_rate(database, "heat", burst=100, per_second=100)
    clock.now += 1
    assert SLOW in texts(await conversation.press(ana, press))  # still the cached limit
    clock.now += 5
    assert SLOW in texts(await conversation.press(ana, press))  # the refresh starts, off this click's path
    for _ in range(100):
        if conversation.throttle._refreshing is None:
            break
        await asyncio.sleep(0.01)
    clock.now += 1
    assert SLOW not in texts(await conversation.press(ana, press))


async def test_a_card_this_process_never_showed_costs_one_read_once(database: Database) -> None:
    dealt = await setup(database)
    ana = person("UANA")
    card = await onboard(dealt, ana)
    restarted = Conversation(database, platform="slack", limits=dealt.limits)
    await restarted.throttle.load()
    with statements(database) as first:
        await restarted.throttle.allow_press(ana.key, parse(f"undo:{card.card_id}"))
    with statements(database) as second:
        await restarted.throttle.allow_press(ana.key, parse(f"undo:{card.card_id}"))
    assert [s.split()[0] for s in first if not s.startswith("BEGIN")] == ["SELECT"] and second == []


async def skip_to_an_unposted_card(conversation: Conversation, ana: Who) -> CardView:
    card = await onboard(conversation, ana)
    replies = await conversation.form(ana, f"skip:{card.card_id}", "")
    dealt = [r.view for r in replies if r.intent == "dm"]
    assert len(dealt) == 1 and isinstance(dealt[0], CardView) and dealt[0].card_id != card.card_id
    return dealt[0]


async def test_twenty_rank_commands_at_once_post_one_card(database: Database) -> None:
    conversation = await setup(database)
    ana = person("UANA")
    posted: list[int] = []

    async def platform(card: CardView) -> None:
        """What an adapter does with a new card: post it (it takes a moment), then say where it went."""
        await asyncio.sleep(0.05)
        posted.append(card.card_id)
        await conversation.card_posted(ana, card.card_id, f"DUANA/{len(posted)}")

    dealt = await skip_to_an_unposted_card(conversation, ana)
    answers = await asyncio.gather(platform(dealt), *[conversation.command(ana, ["rank", "heat"]) for _ in range(20)])
    replies: list[list[Reply]] = answers[1:]
    slowed = [r for r in replies if "sending commands faster" in texts(r)]
    shown = [r for r in replies if r not in slowed]
    assert posted == [dealt.card_id]
    assert not any(reply.intent == "dm" for r in replies for reply in r)
    assert len(shown) >= 9 and all(r[0].intent == "update" and r[0].message_ref == "DUANA/1" for r in shown)


async def test_a_card_whose_post_never_reported_back_is_posted_again_later(database: Database) -> None:
    clock = Clock()
    conversation = await setup(database)
    conversation.dealer = Dealer(clock=clock, wait=0.05)
    ana = person("UANA")
    dealt = await skip_to_an_unposted_card(conversation, ana)
    waiting = await conversation.command(ana, ["rank", "heat"])
    assert isinstance(waiting[0].view, Notice) and "on its way" in texts(waiting[:1])
    clock.now += 60
    again = await conversation.command(ana, ["rank", "heat"])
    assert again[0].intent == "dm" and isinstance(again[0].view, CardView) and again[0].view.card_id == dealt.card_id
