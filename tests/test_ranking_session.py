"""The ranking card: clicks, undo, reset, ties, flags, skip, submit, and every refusal leaving things unchanged;
a restart (a new Database object) resumes a half-clicked card."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bot import ranking_session as rs
from bot.assignment import next_card
from bot.cards import Card, order_text
from bot.database import Database
from bot.errors import InputError, NotAllowed, NotFound, StateError
from storage.models import Assignment, Item, Ranking, utcnow
from tests.engine_helpers import make_campaign, ready_labeler


async def open_card(database: Database, *, k: int = 4, **campaign: object) -> tuple[int, Card]:
    await make_campaign(database, k=k, **campaign)  # type: ignore[arg-type]
    lab = await ready_labeler(database)
    async with database.session() as session:
        card = await next_card(session, lab, "camp")
    assert card is not None
    return lab, card


def test_order_text() -> None:
    assert order_text((2, 0, 1, 3), (False, False, True, False)) == "C > A = B > D"
    assert order_text((), ()) == ""


async def test_click_undo_reset_tie_and_submit(database: Database) -> None:
    lab, card = await open_card(database)
    aid = card.assignment_id
    assert card.state == "open" and card.order == () and not card.can_submit
    assert [c.letter for c in card.choices] == ["A", "B", "C", "D"]
    async with database.session() as session:
        card = await rs.click(session, aid, lab, 2)
        assert card.order == (2,) and card.choices[2].placed_at == 0 and card.order_text == "C"
        with pytest.raises(StateError, match="already placed"):
            await rs.click(session, aid, lab, 2)
        with pytest.raises(InputError, match="not on this card"):
            await rs.click(session, aid, lab, 4)
        with pytest.raises(StateError, match="two choices"):
            await rs.tie(session, aid, lab)
        card = await rs.click(session, aid, lab, 0)
        card = await rs.tie(session, aid, lab)
        assert card.order_text == "C = A"
        with pytest.raises(StateError, match="place every choice"):
            await rs.submit(session, aid, lab)
        card = await rs.click(session, aid, lab, 3)  # the last one (B) places itself
        assert card.order == (2, 0, 3, 1) and card.can_submit and card.order_text == "C = A > D > B"
        card = await rs.undo(session, aid, lab)  # takes back D and the self-placed B
        assert card.order == (2, 0) and card.ties == (False, True)
        card = await rs.reset(session, aid, lab)
        assert card.order == () and card.ties == ()
        with pytest.raises(StateError, match="nothing to undo"):
            await rs.undo(session, aid, lab)
        for index in (1, 3, 0):
            card = await rs.click(session, aid, lab, index)
        card = await rs.tie(session, aid, lab)
        card = await rs.flag(session, aid, lab, 2, "harmful")
        assert card.choices[2].flag == "harmful"
        card = await rs.flag(session, aid, lab, 0, "unrankable")
        card = await rs.flag(session, aid, lab, 0, "unrankable")  # a toggle
        assert card.choices[0].flag is None
        with pytest.raises(InputError, match="flag must be"):
            await rs.flag(session, aid, lab, 0, "boring")
        done = await rs.submit(session, aid, lab, now=utcnow() + timedelta(seconds=42))
    assert done.done == 1 and done.remaining == 5 and done.card.state == "submitted"
    shown = [c.completion_id for c in card.choices]
    async with database.session() as session:
        ranking = (await session.exec(select(Ranking))).one()
        item = await session.get(Item, ranking.item_id)
    assert ranking.best_first == [shown[1], shown[3], shown[0], shown[2]]
    assert ranking.ties == [False, False, False, True]
    assert ranking.flags == {str(shown[2]): "harmful"}
    assert ranking.shown_order == shown and ranking.region == "Africa"
    assert 41 <= ranking.seconds <= 60
    assert item is not None and (item.submitted, item.leased) == (1, 0)


async def test_two_choices_place_with_one_click(database: Database) -> None:
    lab, card = await open_card(database, k=2)
    async with database.session() as session:
        card = await rs.click(session, card.assignment_id, lab, 1)
        assert card.order == (1, 0) and card.can_submit
        card = await rs.undo(session, card.assignment_id, lab)
        assert card.order == ()


async def test_refusals_change_nothing(database: Database) -> None:
    lab, card = await open_card(database)
    other = await ready_labeler(database, user="u2", region="Europe")
    aid = card.assignment_id
    async with database.session() as session:
        await rs.click(session, aid, lab, 0)
        with pytest.raises(NotAllowed, match="not yours"):
            await rs.click(session, aid, other, 1)
        with pytest.raises(NotAllowed):
            await rs.show_card(session, aid, other)
        with pytest.raises(NotFound):
            await rs.click(session, 9999, lab, 1)
        for index in (1, 2):
            await rs.click(session, aid, lab, index)
        await rs.submit(session, aid, lab)
        with pytest.raises(StateError, match="submitted"):
            await rs.submit(session, aid, lab)
        with pytest.raises(StateError, match="submitted"):
            await rs.undo(session, aid, lab)
        with pytest.raises(StateError, match="submitted"):
            await rs.skip(session, aid, lab)
        rankings = (await session.exec(select(Ranking))).all()
        item = await session.get(Item, rankings[0].item_id)
    assert len(rankings) == 1 and item is not None and (item.submitted, item.leased) == (1, 0)


async def test_expired_lease_refuses_clicks_and_submit(database: Database) -> None:
    lab, card = await open_card(database, lease_minutes=1)
    later = utcnow() + timedelta(minutes=2)
    async with database.session() as session:
        for index in (0, 1, 2):
            await rs.click(session, card.assignment_id, lab, index)
        with pytest.raises(StateError, match="expired"):
            await rs.click(session, card.assignment_id, lab, 3, now=later)
        with pytest.raises(StateError, match="expired"):
            await rs.submit(session, card.assignment_id, lab, now=later)
        shown = await rs.show_card(session, card.assignment_id, lab, now=later)
        assert shown.state == "expired" and not shown.can_submit
        assert (await session.exec(select(Ranking))).all() == []


async def test_skip_returns_the_slot_and_keeps_the_reason(database: Database) -> None:
    lab, card = await open_card(database)
    async with database.session() as session:
        skipped = await rs.skip(session, card.assignment_id, lab, "  I cannot judge code  ")
        assert skipped.state == "skipped"
        row = await session.get(Assignment, card.assignment_id)
        item = await session.get(Item, row.item_id if row else 0)
    assert row is not None and row.skip_reason == "I cannot judge code"
    assert item is not None and (item.leased, item.full) == (0, False)


async def test_paused_campaign_keeps_clicks_but_refuses_them(database: Database) -> None:
    from bot.campaigns import change_status

    lab, card = await open_card(database)
    async with database.session() as session:
        await rs.click(session, card.assignment_id, lab, 0)
        await change_status(session, "camp", "pause")
        with pytest.raises(StateError, match="paused"):
            await rs.click(session, card.assignment_id, lab, 1)
        await change_status(session, "camp", "resume")
        assert (await rs.click(session, card.assignment_id, lab, 1)).order == (0, 1)


async def test_restart_resumes_a_half_clicked_card(db_url: str) -> None:
    first = Database(db_url)
    lab, card = await open_card(first)
    async with first.session() as session:
        await rs.click(session, card.assignment_id, lab, 3)
        await rs.click(session, card.assignment_id, lab, 1)
    await first.dispose()

    second = Database(db_url)  # the bot restarted
    try:
        async with second.session() as session:
            again = await next_card(session, lab, "camp")
            assert again is not None and again.assignment_id == card.assignment_id
            assert again.order == (3, 1) and again.order_text == "D > B"
            assert [c.completion_id for c in again.choices] == [c.completion_id for c in card.choices]
            done = await rs.click(session, card.assignment_id, lab, 0)
            assert done.can_submit
            assert (await rs.submit(session, card.assignment_id, lab)).ranking_id > 0
    finally:
        await second.dispose()
