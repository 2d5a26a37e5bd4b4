"""The conversation's rules through `Conversation` itself: a database, no platform. Each test is a rule a person
meets in chat, whichever platform they are on."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import func, select

from bot import campaigns, reminders
from bot.chat.conversation import MAX_LATE, Conversation
from bot.chat.people import Details, Managers, Who
from bot.chat.views import CardView, Limits, Notice, Reply, StepView
from bot.database import Database
from bot.errors import Busy
from bot.prompt_files import CompletionRecord, PromptRecord
from storage.models import Delivery, Labeler, Ranking

REGIONS = ["Africa", "Europe"]


async def setup(database: Database) -> Conversation:
    async with database.session() as session:
        await campaigns.create_campaign(
            session, campaigns.CampaignSpec(name="heat", criterion="helpfulness", k=3, votes=2, regions=REGIONS,
                                            guidelines="Rank the most helpful first."),
            [PromptRecord(external_id=f"p{i}", text=f"Too hot ({i})?") for i in range(3)],
            [CompletionRecord(prompt_id=f"p{i}", model="t", texts=[f"a{i}", f"b{i}", f"c{i}"]) for i in range(3)])
    return fresh(database)


def fresh(database: Database) -> Conversation:
    """A conversation as a new process would have it (empty caches)."""
    return Conversation(database, platform="slack", limits=Limits(2800), managers=Managers(frozenset({"UBOSS"})))


def person(user: str, workspace: str = "T1") -> Who:
    async def details() -> Details:
        return Details(display_name=user.title(), suggested_region="Europe")

    return Who("slack", workspace, user, details=details)


def texts(replies: list[Reply]) -> str:
    out = []
    for reply in replies:
        for attribute in ("text", "closed", "order", "title"):
            value = getattr(reply.view, attribute, None)
            if value is not None and hasattr(value, "plain"):
                out.append(value.plain())
    return "\n".join(out)


async def onboard(conversation: Conversation, who: Who) -> CardView:
    replies = await conversation.command(who, ["join", "heat"])
    step = replies[0].view
    assert isinstance(step, StepView)
    while True:
        replies = await conversation.press(who, step.controls[0].action)
        if replies[-1].intent == "dm":
            card = replies[-1].view
            assert isinstance(card, CardView)
            await conversation.card_posted(who, card.card_id, f"D{who.user_id}/100.{card.card_id}")
            return card
        assert isinstance(replies[0].view, StepView)
        step = replies[0].view


async def set_rate(database: Database, name: str, *, burst: int, per_second: float) -> None:
    async with database.session() as session:
        campaign = await campaigns.get_campaign(session, name)
        campaign.rate_burst, campaign.rate_per_second = burst, per_second
        session.add(campaign)
        await session.commit()


async def labeler_count(database: Database) -> int:
    async with database.session() as session:
        return int((await session.exec(select(func.count()).select_from(Labeler))).one())


async def test_a_refusal_creates_no_labeler_row(database: Database) -> None:
    conversation = await setup(database)
    card = await onboard(conversation, person("UANA"))
    before = await labeler_count(database)
    for stranger in (person("UEVE"), person("UANA", workspace="TOTHER")):
        replies = await conversation.press(stranger, f"rank:{card.card_id}:0")
        assert [r.intent for r in replies] == ["private"] and "not yours" in texts(replies)
    replies = await conversation.press(person("UEVE"), "rank:１:0")
    assert "not one crowdrank understands" in texts(replies)
    assert await labeler_count(database) == before


async def test_a_redelivered_toggle_after_a_restart_changes_nothing(database: Database) -> None:
    conversation = await setup(database)
    ana = person("UANA")
    card = await onboard(conversation, ana)
    await conversation.press(ana, f"rank:{card.card_id}:0", delivery="d1")
    await conversation.press(ana, f"rank:{card.card_id}:1", delivery="d2")
    (tied,) = await conversation.press(ana, f"tie:{card.card_id}", delivery="d3")
    assert isinstance(tied.view, CardView) and tied.view.order is not None and "A > B = C" in tied.view.order.plain()
    (again,) = await fresh(database).press(ana, f"tie:{card.card_id}", delivery="d3")  # a new process, same delivery
    assert isinstance(again.view, CardView) and again.view.order is not None
    assert "A > B = C" in again.view.order.plain()  # not untied a second time


async def test_any_press_redraws_the_card_from_what_is_stored_at_its_stored_place(database: Database) -> None:
    conversation = await setup(database)
    ana = person("UANA")
    card = await onboard(conversation, ana)
    await conversation.press(ana, f"rank:{card.card_id}:2")
    replies = await conversation.press(ana, f"rank:{card.card_id}:2")  # a stale button of a card that drifted
    update, refusal = replies
    assert update.intent == "update" and update.message_ref == f"DUANA/100.{card.card_id}"
    assert isinstance(update.view, CardView) and [c.action for c in update.view.place] == [
        f"rank:{card.card_id}:0", f"rank:{card.card_id}:1"]
    assert refusal.intent == "private" and "already placed" in texts([refusal])


async def test_refusals_read_as_sentences_without_internal_names(database: Database) -> None:
    conversation = await setup(database)
    ana = person("UANA")
    card = await onboard(conversation, ana)
    replies = await conversation.press(ana, f"rank:{card.card_id}:7")
    text = texts(replies)
    assert "choice 8 is not on this card" in text and "field" not in text and "index" not in text


async def test_after_forget_an_old_card_says_why_it_stopped(database: Database) -> None:
    conversation = await setup(database)
    ana = person("UANA")
    card = await onboard(conversation, ana)
    assert "pseudonym" in texts(await conversation.command(ana, ["forget"]))
    replies = await conversation.press(ana, f"rank:{card.card_id}:0")
    assert "asked crowdrank to forget you" in texts(replies)
    assert "nothing stored about you" in texts(await conversation.command(person("UNEW"), ["forget"]))


async def test_rank_says_when_the_only_campaign_is_paused(database: Database) -> None:
    conversation = await setup(database)
    async with database.session() as session:
        await campaigns.change_status(session, "heat", "pause")
    text = texts(await conversation.command(person("UANA"), ["rank"]))
    assert "heat paused" in text and "no campaign is live" in text


async def test_submit_twice_keeps_the_thank_you_and_its_progress(database: Database) -> None:
    conversation = await setup(database)
    ana = person("UANA")
    card = await onboard(conversation, ana)
    await conversation.press(ana, f"rank:{card.card_id}:1")
    await conversation.press(ana, f"rank:{card.card_id}:0")
    first = await conversation.press(ana, f"submit:{card.card_id}", delivery="s1")
    assert isinstance(first[0].view, CardView) and first[0].view.progress is not None
    second = await conversation.press(ana, f"submit:{card.card_id}", delivery="s2")
    redrawn = second[0].view
    assert isinstance(redrawn, CardView) and redrawn.progress is not None
    assert redrawn.progress.plain().startswith("1 ranked in heat so far")
    async with database.session() as session:
        ranking = (await session.exec(select(Ranking))).one()
    assert ranking.guidelines_version == 1  # the version the labeler had read when they ranked


async def test_manager_commands_need_a_manager(database: Database, tmp_path: Path) -> None:
    conversation = await setup(database)
    assert "only campaign managers" in texts(await conversation.command(person("UANA"), ["pause", "heat"]))
    assert "now paused" in texts(await conversation.command(person("UBOSS"), ["pause", "heat"]))
    status = await conversation.command(person("UBOSS"), ["status", "heat"])
    assert "0 joined, 0 ranked" in status[0].view.head.plain()  # type: ignore[union-attr]  # a StatusView


@pytest.mark.parametrize("words", [["join", "nope"], ["status"], ["x" * 3000]])
async def test_commands_answer_privately_in_one_reply(database: Database, words: list[str]) -> None:
    conversation = await setup(database)
    replies = await conversation.command(person("UBOSS"), words)
    assert all(r.intent == "private" for r in replies) and all(isinstance(r.view, Notice | object) for r in replies)


async def test_a_flood_of_clicks_is_refused_before_the_database(database: Database) -> None:
    conversation = await setup(database)
    ana = person("UANA")
    card = await onboard(conversation, ana)
    await set_rate(database, "heat", burst=3, per_second=0.001)
    await conversation.throttle.load()
    replies = [await conversation.press(ana, f"rank:{card.card_id}:{i % 3}", delivery=f"f{i}") for i in range(6)]
    refused = [r for r in replies if "faster than crowdrank" in texts(r)]
    assert len(refused) == 3 and all(len(r) == 1 and r[0].intent == "private" for r in refused)


async def test_asking_for_a_card_again_redraws_the_open_one_instead_of_a_copy(database: Database) -> None:
    conversation = await setup(database)
    ana = person("UANA")
    card = await onboard(conversation, ana)
    replies = await conversation.command(ana, ["rank", "heat"])
    assert [r.intent for r in replies] == ["update", "private"]
    assert replies[0].message_ref == f"DUANA/100.{card.card_id}"


async def test_control_characters_in_a_command_are_refused(database: Database) -> None:
    conversation = await setup(database)
    assert "control characters" in texts(await conversation.command(person("UBOSS"), ["status", "he\x00at"]))


async def test_no_more_reminders_is_one_click_for_good_and_the_time_zone_is_kept(database: Database) -> None:
    conversation = await setup(database)

    async def with_zone() -> Details:
        return Details(display_name="Zoe", suggested_region="Europe", tz="Europe/Paris")

    zoe = Who("slack", "T1", "UZOE", details=with_zone)
    card = await onboard(conversation, zoe)
    replies = await conversation.press(zoe, f"remind-off:{card.campaign_id}")
    assert "no more reminders" in texts(replies)
    async with database.session() as session:
        labeler = (await session.exec(select(Labeler).where(Labeler.user_id == "UZOE"))).one()
    assert labeler.reminders_off_at is not None and labeler.tz == "Europe/Paris"
    async with database.session() as session:
        assert await reminders.opted_out(session, "heat") == [labeler.pseudonym]


async def test_a_write_slower_than_the_deadline_says_press_again_and_still_finishes(database: Database) -> None:
    conversation = await setup(database)
    ana = person("UANA")
    card = await onboard(conversation, ana)
    slow_press, gate = conversation.press, asyncio.Event()

    async def press_after_the_gate(*args: Any, **kwargs: Any) -> list[Reply]:
        await gate.wait()
        return await slow_press(*args, **kwargs)

    conversation.press = press_after_the_gate  # type: ignore[method-assign]
    landed: list[Reply] = []

    async def late(replies: list[Reply]) -> None:
        landed.extend(replies)

    replies = await conversation.press_in_time(ana, f"rank:{card.card_id}:0", delivery="late", deadline=0.05,
                                               late=late)
    assert [r.intent for r in replies] == ["private"] and "press again" in texts(replies)
    assert conversation.unconfirmed(replies)  # what tells an adapter not to answer the platform as if stored
    gate.set()
    while conversation._late:  # the late write is left to finish, not cancelled
        await asyncio.sleep(0.01)
    (update,) = landed  # and its card update is handed to the adapter
    assert isinstance(update.view, CardView) and update.view.order is not None and "A" in update.view.order.plain()
    async with database.session() as session:
        assert (await session.exec(select(func.count()).select_from(Delivery))).one() >= 1
    conversation.press = slow_press  # type: ignore[method-assign]
    (quick,) = await conversation.press_in_time(ana, f"rank:{card.card_id}:1", delivery="quick")
    assert not conversation.unconfirmed([quick])
    assert isinstance(quick.view, CardView) and quick.view.order is not None and "A > B" in quick.view.order.plain()


@pytest.mark.parametrize("verb", ["join", "rank"])
async def test_joining_a_campaign_that_is_missing_or_paused_stores_no_labeler(database: Database, verb: str) -> None:
    conversation = await setup(database)
    assert "no campaign named 'cold'" in texts(await conversation.command(person("UNEW"), [verb, "cold"]))
    async with database.session() as session:
        await campaigns.change_status(session, "heat", "pause")
    assert "is paused" in texts(await conversation.command(person("UNEW"), [verb, "heat"]))
    assert await labeler_count(database) == 0


async def test_a_delivery_sent_again_joins_its_running_write_and_a_backlog_is_refused_before_the_database(
        database: Database) -> None:
    conversation = await setup(database)
    ana = person("UANA")
    card = await onboard(conversation, ana)
    real_press, gate, started = conversation.press, asyncio.Event(), []

    async def held_press(*args: Any, **kwargs: Any) -> list[Reply]:
        started.append(kwargs.get("delivery"))
        await gate.wait()
        return await real_press(*args, **kwargs)

    conversation.press = held_press  # type: ignore[method-assign]
    value = f"rank:{card.card_id}:0"
    first = asyncio.ensure_future(conversation.press_in_time(ana, value, delivery="d", deadline=5))
    await asyncio.sleep(0.05)
    again = await conversation.press_in_time(ana, value, delivery="d", deadline=0.05)  # the same delivery, re-sent
    assert conversation.unconfirmed(again) and started == ["d"]  # it waited for the write, started none
    gate.set()
    (stored,) = await first
    assert isinstance(stored.view, CardView) and not conversation.unconfirmed([stored])

    gate.clear()
    for i in range(MAX_LATE):  # writes stuck past their deadline
        assert conversation.unconfirmed(await conversation.press_in_time(ana, value, delivery=f"l{i}", deadline=0))
    assert len(started) == 1 + MAX_LATE
    shed = await conversation.press_in_time(ana, value, delivery="one-more", deadline=5)
    assert conversation.unconfirmed(shed) and len(started) == 1 + MAX_LATE  # refused at once, nothing started
    gate.set()
    while conversation._late:
        await asyncio.sleep(0.01)


def busy_for(database: Database, times: int) -> list[int]:
    """Make the database's next `times` sessions fail as an exhausted pool does; returns the count of tries."""
    real, tries = database.session, [0]

    @contextlib.asynccontextmanager
    async def session() -> AsyncIterator[Any]:
        tries[0] += 1
        if tries[0] <= times:
            raise Busy("no connection came free")
        async with real() as inner:
            yield inner

    database.session = session  # type: ignore[method-assign]
    return tries


async def test_where_a_card_went_is_remembered_once_the_busy_pool_frees_a_connection(database: Database) -> None:
    """The card is out and the platform was answered: a busy pool is waited out, not turned into an error."""
    conversation = await setup(database)
    ana = person("UANA")
    card = await onboard(conversation, ana)
    conversation.dealer.dealing(card.card_id)
    tries = busy_for(database, 2)
    await conversation.card_posted(ana, card.card_id, "DUANA/200.1")
    assert tries[0] == 3 and not conversation.dealer.in_flight(card.card_id)
    replies = await conversation.command(ana, ["rank", "heat"])
    assert replies[0].intent == "update" and replies[0].message_ref == "DUANA/200.1"


async def test_a_card_whose_place_cannot_be_stored_is_still_no_error(database: Database,
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    conversation = await setup(database)
    ana = person("UANA")
    card = await onboard(conversation, ana)
    monkeypatch.setattr("bot.chat.conversation.CARD_POSTED_PATIENCE", 0.3)
    conversation.dealer.dealing(card.card_id)
    busy_for(database, 10**6)
    await conversation.card_posted(ana, card.card_id, "DUANA/300.1")  # returns: nothing raised
    assert "is not remembered" in caplog.text and not conversation.dealer.in_flight(card.card_id)
