"""Assignment policy: votes never exceeded, nothing served twice, one open card, balanced regions, leases that
expire and come back, skips that stick, gold items mixed in, and a campaign that is not live serves nothing."""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from bot import ranking_session as rs
from bot.assignment import expire_leases, next_card
from bot.campaigns import change_status
from bot.cli import app
from bot.database import Database
from bot.errors import InputError, StateError
from bot.gold import read_gold, set_gold
from storage.models import Assignment, Item, Ranking, utcnow
from tests.engine_helpers import make_campaign, ready_labeler


async def rank_all(database: Database, lab: int, campaign: str = "camp", **kwargs: object) -> list[int]:
    """Rank cards (always the shown order) until nothing is left; returns the item ids ranked."""
    items = []
    async with database.session() as session:
        while (card := await next_card(session, lab, campaign, **kwargs)) is not None:  # type: ignore[arg-type]
            for index in range(len(card.choices) - 1):
                await rs.click(session, card.assignment_id, lab, index)
            items.append((await rs.submit(session, card.assignment_id, lab)).card.assignment_id)
        rows = (await session.exec(select(Assignment.item_id).where(Assignment.labeler_id == lab,
                                                                     Assignment.state == "submitted"))).all()
    return list(rows)


async def check_invariants(database: Database, votes: int) -> None:
    async with database.session() as session:
        items = (await session.exec(select(Item).where(Item.is_gold == False))).all()  # noqa: E712
        pairs = (await session.exec(select(Assignment.item_id, Assignment.labeler_id))).all()
        open_leases = Counter(a.item_id for a in (await session.exec(
            select(Assignment).where(Assignment.state == "open"))).all())
        rankings = Counter(r.item_id for r in (await session.exec(select(Ranking))).all())
    assert len(pairs) == len(set(pairs))
    for item in items:
        assert item.submitted + item.leased <= votes
        assert item.submitted == rankings[item.id] and item.leased == open_leases[item.id]
        assert item.full == (item.submitted + item.leased >= votes)


async def test_every_item_gets_exactly_its_votes_and_nobody_ranks_twice(database: Database) -> None:
    await make_campaign(database, items=6, votes=2)
    labs = [await ready_labeler(database, user=f"u{i}", region=("Africa", "Europe")[i % 2]) for i in range(4)]
    ranked = [await rank_all(database, lab) for lab in labs]
    for items in ranked:
        assert len(items) == len(set(items))
    assert Counter(i for items in ranked for i in items) == {i: 2 for i in set().union(*map(set, ranked))}
    assert sum(map(len, ranked)) == 12
    await check_invariants(database, votes=2)


async def test_one_open_card_per_labeler(database: Database) -> None:
    await make_campaign(database)
    lab = await ready_labeler(database)
    async with database.session() as session:
        first = await next_card(session, lab, "camp")
        again = await next_card(session, lab, "camp")
    assert first is not None and again is not None and first.assignment_id == again.assignment_id


async def test_campaign_not_live_serves_nothing(database: Database) -> None:
    await make_campaign(database)
    lab = await ready_labeler(database)
    async with database.session() as session:
        await change_status(session, "camp", "pause")
        with pytest.raises(StateError, match="paused"):
            await next_card(session, lab, "camp")
        await change_status(session, "camp", "close")
        with pytest.raises(StateError, match="closed"):
            await next_card(session, lab, "camp")


async def test_balanced_policy_spreads_a_region_over_items(database: Database) -> None:
    await make_campaign(database, items=4, votes=3)
    africans = [await ready_labeler(database, user=f"a{i}", region="Africa") for i in range(4)]
    async with database.session() as session:
        cards = [await next_card(session, lab, "camp", rng=random.Random(7)) for lab in africans]
        held = [(await session.get(Assignment, c.assignment_id)).item_id for c in cards if c]  # type: ignore[union-attr]
    assert len(set(held)) == 4  # the same random start every time, yet four different items


async def test_policy_none_ignores_regions(database: Database) -> None:
    await make_campaign(database, items=4, votes=3, quota="none")
    africans = [await ready_labeler(database, user=f"a{i}", region="Africa") for i in range(3)]
    async with database.session() as session:
        cards = [await next_card(session, lab, "camp", rng=random.Random(7)) for lab in africans]
        held = {(await session.get(Assignment, c.assignment_id)).item_id for c in cards if c}  # type: ignore[union-attr]
    assert len(held) == 1  # same random start, no preference: the same first item for all


async def test_expired_lease_returns_the_slot(database: Database) -> None:
    await make_campaign(database, items=1, votes=1, lease_minutes=1)
    first = await ready_labeler(database, user="u1")
    second = await ready_labeler(database, user="u2")
    later = utcnow() + timedelta(minutes=2)
    async with database.session() as session:
        card = await next_card(session, first, "camp")
        assert card is not None
        assert await next_card(session, second, "camp") is None  # the only slot is leased
        taken = await next_card(session, second, "camp", now=later)
        assert taken is not None and taken.assignment_id != card.assignment_id
        row = await session.get(Assignment, card.assignment_id)
        assert row is not None and row.state == "expired"
    await check_invariants(database, votes=1)


async def test_relet_after_expiry_reuses_the_row_and_keeps_clicks(database: Database) -> None:
    await make_campaign(database, items=1, votes=2, lease_minutes=1)
    lab = await ready_labeler(database)
    later = utcnow() + timedelta(minutes=5)
    async with database.session() as session:
        card = await next_card(session, lab, "camp")
        assert card is not None
        await rs.click(session, card.assignment_id, lab, 2)
        assert await expire_leases(session, now=later) == 1
        assert await expire_leases(session, now=later) == 0
        again = await next_card(session, lab, "camp", now=later)
    assert again is not None and again.assignment_id == card.assignment_id
    assert again.state == "open" and again.order == (2,) and again.expires_at > later
    await check_invariants(database, votes=2)


async def test_skipped_item_is_never_served_again(database: Database) -> None:
    await make_campaign(database, items=2, votes=3)
    lab = await ready_labeler(database)
    async with database.session() as session:
        card = await next_card(session, lab, "camp")
        assert card is not None
        await rs.skip(session, card.assignment_id, lab, "not my language")
        skipped_item = (await session.get(Assignment, card.assignment_id)).item_id  # type: ignore[union-attr]
    ranked = await rank_all(database, lab)
    assert len(ranked) == 1 and skipped_item not in ranked


async def test_concurrent_requests_in_one_process(database: Database) -> None:
    await make_campaign(database, items=5, votes=2)
    labs = [await ready_labeler(database, user=f"u{i}", region=("Africa", "Europe")[i % 2]) for i in range(5)]
    ranked = await asyncio.gather(*(rank_all(database, lab) for lab in labs))
    assert sum(map(len, ranked)) == 10
    await check_invariants(database, votes=2)


async def test_gold_items_are_mixed_in_and_not_capped(database: Database, tmp_path: Path) -> None:
    await make_campaign(database, items=6, votes=2, gold_rate=0.9)
    gold_file = tmp_path / "gold.jsonl"
    gold_file.write_text('{"prompt_id": "p0", "order": [2, 0, 1]}\n{"prompt_id": "p1", "order": [0, 1, 2]}\n')
    async with database.session() as session:
        assert await set_gold(session, "camp", read_gold(gold_file)) == 2
    labs = [await ready_labeler(database, user=f"u{i}") for i in range(3)]
    rng, active = random.Random(3), list(labs)
    async with database.session() as session:
        while active:  # round robin, one card each
            for lab in list(active):
                card = await next_card(session, lab, "camp", rng=rng)
                if card is None:
                    active.remove(lab)
                    continue
                await rs.click(session, card.assignment_id, lab, 0)
                await rs.click(session, card.assignment_id, lab, 1)
                await rs.submit(session, card.assignment_id, lab)
    async with database.session() as session:
        gold = (await session.exec(select(Item).where(Item.is_gold == True))).all()  # noqa: E712
        gold_rankings = (await session.exec(select(Ranking).where(Ranking.is_gold == True))).all()  # noqa: E712
    assert len(gold) == 2 and all(item.gold_order and len(item.gold_order) == 3 for item in gold)
    assert {r.labeler_id for r in gold_rankings} == set(labs)
    assert max(item.submitted for item in gold) == 3  # more than votes: gold is a check, not a vote
    await check_invariants(database, votes=2)


def test_gold_file_errors_name_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "gold.jsonl"
    bad.write_text('{"prompt_id": "p0", "order": [0, 1, 2]}\nnot json\n')
    with pytest.raises(InputError, match="gold.jsonl:2"):
        read_gold(bad)
    bad.write_text('{"prompt_id": "p0", "order": "0,1"}\n')
    with pytest.raises(InputError, match="field 'order'"):
        read_gold(bad)


async def test_gold_order_must_be_a_permutation(database: Database, tmp_path: Path) -> None:
    await make_campaign(database)
    bad = tmp_path / "gold.jsonl"
    bad.write_text('{"prompt_id": "p0", "order": [0, 1, 2]}\n{"prompt_id": "p1", "order": [0, 0, 1]}\n')
    async with database.session() as session:
        with pytest.raises(InputError, match="2 field 'order'"):
            await set_gold(session, "camp", read_gold(bad), file=str(bad))
        with pytest.raises(InputError, match="no item for prompt 'nope'"):
            bad.write_text('{"prompt_id": "nope", "order": [0, 1, 2]}\n')
            await set_gold(session, "camp", read_gold(bad))
        assert (await session.exec(select(Item).where(Item.is_gold == True))).all() == []  # noqa: E712


def test_gold_cli(home: Path, tmp_path: Path) -> None:
    async def setup() -> None:
        database = Database.from_settings()
        database.upgrade()
        await make_campaign(database)
        await database.dispose()

    asyncio.run(setup())
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"prompt_id": "p3", "order": [1, 2, 0]}) + "\n")
    result = CliRunner().invoke(app, ["gold", "camp", "--file", str(gold)])
    assert result.exit_code == 0, result.output
    assert "1 gold items set in 'camp'" in result.stdout
    missing = CliRunner().invoke(app, ["gold", "camp", "--file", str(tmp_path / "none.jsonl")])
    assert missing.exit_code == 2 and "none.jsonl" in missing.output


async def test_database_allows_one_open_card_per_labeler_and_campaign(database: Database) -> None:
    from sqlalchemy.exc import IntegrityError

    await make_campaign(database, items=3)
    lab = await ready_labeler(database)
    async with database.session() as session:
        card = await next_card(session, lab, "camp")
        assert card is not None
    async with database.session() as session:
        held = await session.get(Assignment, card.assignment_id)
        assert held is not None
        session.add(Assignment(campaign_id=held.campaign_id, item_id=held.item_id + 1 if held.item_id < 3 else 1,
                               labeler_id=lab, shown_order=[], state="open"))
        with pytest.raises(IntegrityError):
            await session.commit()
