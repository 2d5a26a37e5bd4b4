"""Adaptive votes: the stop rule, `--votes MIN..MAX` parsing, and assignment that respects MIN and MAX, stops
settled items, serves unsettled and contested items first, keeps regions balanced, and leaves fixed votes as
they were."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import update
from sqlmodel import select
from typer.testing import CliRunner

from bot import ranking_session as rs
from bot.adaptive_votes import parse_votes
from bot.assignment import next_card
from bot.campaigns import campaign_stats, get_campaign
from bot.cli import app
from bot.consensus.report import write_report
from bot.database import Database
from bot.errors import InputError
from bot.settledness import change_probability, points, region_not_heard, settledness, stop_decision
from storage.models import Assignment, Item, Ranking
from tests.engine_helpers import make_campaign, ready_labeler

SLOTS = {10: 0, 11: 1, 12: 2, 13: 3}


def borda(*orders: list[int]) -> np.ndarray:
    return np.array([points(order, [False] * len(order), SLOTS) for order in orders])


def test_points_share_tied_places() -> None:
    assert points([12, 10, 11, 13], [False] * 4, SLOTS).tolist() == [2.0, 1.0, 3.0, 0.0]
    assert points([12, 10, 11, 13], [False, True, False, False], SLOTS).tolist() == [2.5, 1.0, 2.5, 0.0]


def test_unanimous_rankings_settle_and_split_ones_do_not() -> None:
    unanimous = borda(*[[10, 11, 12, 13]] * 3)
    assert change_probability(unanimous[:1]) > 0.05  # one ranking says little
    assert change_probability(unanimous) < 0.05
    split = borda([10, 11, 12, 13], [11, 10, 12, 13], [10, 11, 13, 12])
    assert change_probability(split) > change_probability(unanimous)
    tied = borda([10, 11, 12, 13], [11, 10, 12, 13])
    assert change_probability(tied) == 1.0
    mixed = borda(*[[10, 11, 12, 13]] * 3, [10, 11, 13, 12])  # top agreed, bottom not
    assert change_probability(mixed, "order") > change_probability(mixed, "top")
    assert change_probability(np.zeros((0, 4))) == 1.0


def test_regions_pulling_apart_are_contested() -> None:
    rankings = borda([10, 11, 12, 13], [10, 11, 13, 12], [13, 12, 11, 10])
    assert settledness(rankings, ["Africa", "Africa", "Europe"]).contested
    assert not settledness(rankings[:2], ["Africa", "Europe"]).contested


def test_a_region_is_heard_once_its_own_order_is_settled() -> None:
    agree, three = [10, 11, 12, 13], ["Africa", "Asia", "Europe"]
    one_swap, two_swaps, reversed_ = [11, 10, 12, 13], [11, 10, 13, 12], [13, 12, 11, 10]
    assert region_not_heard(borda(agree, agree, agree), three, three, 3) is None
    assert region_not_heard(borda(agree, agree, one_swap), three, three, 3) is None  # one pair of six: agrees
    assert region_not_heard(borda(agree, agree, two_swaps), three, three, 3) == "Europe"  # the others contradict it
    europe_twice = [*three, "Europe"]
    assert region_not_heard(borda(agree, agree, two_swaps, two_swaps), europe_twice, three, 3) is None  # a taste
    assert region_not_heard(borda(agree, agree, reversed_, two_swaps), europe_twice, three, 3) == "Europe"
    assert region_not_heard(borda(agree, agree, reversed_, two_swaps), europe_twice, three, 2) is None  # its share
    assert region_not_heard(borda(agree, agree, agree), ["Africa", "Asia", None], three, 3) == "Europe"  # never ranked
    no_region = ["Africa", "Asia", None]  # a ranking without a region counts only among the others
    assert region_not_heard(borda(agree, agree, two_swaps), no_region, three[:2], 3) is None
    assert region_not_heard(borda(agree, agree, reversed_), no_region, three[:2], 3) == "Africa"  # others cancel out
    assert region_not_heard(borda(agree, reversed_), ["Africa", "Asia"], ["Africa", "Asia"], 3) == "Africa"
    assert settledness(borda(agree, agree, two_swaps), three, "top", three, 3).waiting_region == "Europe"


def test_an_item_stops_with_its_minimum_a_settled_order_and_every_region_heard() -> None:
    agree, two_swaps, three = [10, 11, 12, 13], [11, 10, 13, 12], ["Africa", "Asia", "Europe"]
    rule = {"campaign_regions": three, "votes": 9, "votes_min": 3, "rule": "top", "threshold": 0.05}
    assert stop_decision(borda(agree, agree, agree), three, 3, **rule)[1]
    assert not stop_decision(borda(agree, agree, agree), three, 2, **rule)[1]  # short of its minimum
    state, stops = stop_decision(borda(agree, agree, two_swaps), three, 3, **rule)
    assert not stops and state.waiting_region == "Europe"  # Europe contradicts the others: heard once more
    split = borda(agree, agree, agree, [13, 12, 11, 10], [13, 12, 11, 10], [13, 12, 11, 10])
    state, stops = stop_decision(split, three * 2, 6, **{**rule, "votes": 6})  # share 2: every region heard
    assert state.waiting_region is None and not stops  # but a tie on the top choice never stops


def test_parse_votes() -> None:
    assert parse_votes("5") == (None, 5)
    assert parse_votes("3..9") == (3, 9)
    assert parse_votes(" 4 .. 4 ") == (4, 4)
    for bad in ("9..3", "0..2", "three", "3..", "3-9", ""):
        with pytest.raises(InputError, match="votes"):
            parse_votes(bad)


def test_cli_votes_range_and_bad_input(home: Path, tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text('{"prompt": "Why is the sky blue?", "id": "sky"}\n')
    runner = CliRunner()
    base = ["campaign", "create", "ad", "--prompts", str(prompts), "--criterion", "helpfulness", "--k", "2"]
    bad = runner.invoke(app, [*base, "--votes", "9..3"])
    assert bad.exit_code == 2 and bad.output.strip().splitlines() == [
        "error: field 'votes': votes MIN..MAX needs 1 <= MIN <= MAX, got '9..3'"]
    assert "no campaigns yet" in runner.invoke(app, ["campaign", "list"]).stdout  # nothing half-written
    assert runner.invoke(app, [*base, "--votes", "3..9", "--stop", "middle"]).exit_code == 2
    made = runner.invoke(app, [*base, "--votes", "3..9", "--stop", "order", "--stop-below", "0.1"])
    assert made.exit_code == 0, made.output
    stats = json.loads(runner.invoke(app, ["campaign", "show", "ad", "--json"]).stdout)
    assert stats["votes"] == 9 and stats["adaptive_votes"]["votes_min"] == 3
    assert (stats["adaptive_votes"]["stop_rule"], stats["adaptive_votes"]["stop_threshold"]) == ("order", 0.1)
    shown = runner.invoke(app, ["campaign", "show", "ad"]).stdout
    assert "votes: 3..9 (stop: order < 0.1)" in shown and "stopped early: 0 items" in shown
    assert "votes=3..9" in runner.invoke(app, ["campaign", "list"]).stdout


async def crowd_ranks(database: Database, labs: list[int], choose, campaign: str = "camp") -> None:  # type: ignore[no-untyped-def]
    """Labelers take turns, one card each, until nobody gets a card; `choose(card, labeler)` gives shown indexes."""
    active, rng = list(labs), random.Random(5)
    async with database.session() as session:
        while active:
            for lab in list(active):
                card = await next_card(session, lab, campaign, rng=rng)
                if card is None:
                    active.remove(lab)
                    continue
                for index in choose(card, lab)[:-1]:
                    await rs.click(session, card.assignment_id, lab, index)
                await rs.submit(session, card.assignment_id, lab)


def by_completion_id(card, labeler: int = 0) -> list[int]:  # type: ignore[no-untyped-def]
    return sorted(range(len(card.choices)), key=lambda i: card.choices[i].completion_id)


async def items_of(database: Database) -> list[Item]:
    async with database.session() as session:
        return list((await session.exec(select(Item).order_by(Item.id))).all())


async def test_settled_items_stop_at_the_minimum(database: Database, tmp_path: Path) -> None:
    await make_campaign(database, items=5, k=4, votes=8, votes_min=3, regions=("Africa", "Europe"))
    labs = [await ready_labeler(database, user=f"u{i}", region=("Africa", "Europe")[i % 2]) for i in range(10)]
    await crowd_ranks(database, labs, by_completion_id)  # everyone agrees
    items = await items_of(database)
    assert [(item.submitted, item.leased, item.settled, item.full) for item in items] == [(3, 0, True, True)] * 5
    async with database.session() as session:
        stats = await campaign_stats(session, await get_campaign(session, "camp"))
    assert stats["items_complete"] == 5 and stats["rankings"] == 15
    assert stats["adaptive_votes"]["items_stopped_early"] == 5
    assert stats["adaptive_votes"]["rankings_of_items_stopped_early"] == 15
    assert list(stats["adaptive_votes"]["stopped_early_why"].values()) == [5]
    assert "top choice settled" in next(iter(stats["adaptive_votes"]["stopped_early_why"]))
    page = await write_report(database, "camp", tmp_path / "report", n_boot=20, home=tmp_path)
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert summary["adaptive_votes"]["items_stopped_early"] == 5
    assert summary["region_matrix_between_from_first"] == 3  # MIN: the rankings every item takes
    assert "5 items stopped early with 15 rankings" in page.read_text()
    assert "Agreement within a region rests on items with two rankings or more" in page.read_text()


async def test_an_item_stops_only_once_a_disagreeing_region_has_been_heard_twice(database: Database) -> None:
    regions = ("Africa", "Asia", "Europe")
    await make_campaign(database, items=6, k=4, votes=9, votes_min=3, regions=regions)
    labs = {await ready_labeler(database, user=f"u{i}", region=regions[i % 3]): regions[i % 3] for i in range(18)}

    def europe_swaps_two_pairs(card, labeler: int) -> list[int]:  # type: ignore[no-untyped-def]
        order = by_completion_id(card)
        return [order[1], order[0], order[3], order[2]] if labs[labeler] == "Europe" else order

    await crowd_ranks(database, list(labs), europe_swaps_two_pairs)
    async with database.session() as session:
        europe = Counter(r.item_id for r in (await session.exec(select(Ranking))).all() if r.region == "Europe")
    items = await items_of(database)
    assert all(item.full for item in items) and any(item.settled for item in items)
    assert all(europe[item.id] >= 2 for item in items if item.settled)


async def test_unsettled_items_take_up_to_the_maximum_and_regions_stay_balanced(database: Database) -> None:
    await make_campaign(database, items=4, k=4, votes=6, votes_min=2, regions=("Africa", "Europe"))
    labs = [await ready_labeler(database, user=f"u{i}", region=("Africa", "Europe")[i % 2]) for i in range(12)]

    def regions_reverse_each_other(card, labeler: int) -> list[int]:  # type: ignore[no-untyped-def]
        order = by_completion_id(card)
        return order if labs.index(labeler) % 2 == 0 else order[::-1]

    await crowd_ranks(database, labs, regions_reverse_each_other)  # one more ranking always flips the top
    items = await items_of(database)
    assert [(item.submitted, item.leased, item.full) for item in items] == [(6, 0, True)] * 4  # none stopped early
    async with database.session() as session:
        regions = Counter((r.item_id, r.region) for r in (await session.exec(select(Ranking))).all())
    for item in items:  # the balanced policy's promise, as with fixed votes: every region on every item
        assert regions[(item.id, "Africa")] >= 1 and regions[(item.id, "Europe")] >= 1


async def test_unsettled_and_contested_items_are_served_first(database: Database) -> None:
    await make_campaign(database, items=3, k=3, votes=9, votes_min=1, regions=("Africa", "Europe"))
    async with database.session() as session:
        ids = [item.id for item in (await session.exec(select(Item).order_by(Item.id))).all()]
        await session.exec(update(Item).values(submitted=1, change_p=0.1))  # type: ignore[call-overload]
        await session.exec(update(Item).where(Item.id == ids[1]).values(change_p=0.6))  # type: ignore[call-overload]
        await session.commit()
    lab = await ready_labeler(database, user="a", region="Africa")
    async with database.session() as session:
        card = await next_card(session, lab, "camp", rng=random.Random(2))
        assert card is not None
        assert (await session.get(Assignment, card.assignment_id)).item_id == ids[1]  # type: ignore[union-attr]
        await session.exec(update(Item).where(Item.id == ids[2]).values(contested=True))  # type: ignore[call-overload]
        await session.commit()
    other = await ready_labeler(database, user="b", region="Africa")
    async with database.session() as session:
        card = await next_card(session, other, "camp", rng=random.Random(2))
        assert card is not None
        assert (await session.get(Assignment, card.assignment_id)).item_id == ids[2]  # type: ignore[union-attr]


async def test_an_item_waiting_for_a_region_goes_to_that_region_first(database: Database) -> None:
    await make_campaign(database, items=3, k=3, votes=9, votes_min=1, regions=("Africa", "Europe"))
    async with database.session() as session:
        ids = [item.id for item in (await session.exec(select(Item).order_by(Item.id))).all()]
        await session.exec(update(Item).values(submitted=1, change_p=0.1))  # type: ignore[call-overload]
        await session.exec(update(Item).where(Item.id == ids[0])  # type: ignore[call-overload]
                           .values(change_p=0.9, waiting_region="Europe"))
        await session.exec(update(Item).where(Item.id == ids[1]).values(change_p=0.6))  # type: ignore[call-overload]
        await session.commit()
    served = {}
    for user, region in (("a", "Africa"), ("e", "Europe")):
        lab = await ready_labeler(database, user=user, region=region)
        async with database.session() as session:
            card = await next_card(session, lab, "camp", rng=random.Random(2))
            assert card is not None
            served[region] = (await session.get(Assignment, card.assignment_id)).item_id  # type: ignore[union-attr]
    assert served == {"Africa": ids[1], "Europe": ids[0]}  # Africa leaves Europe's item for Europe


async def test_fixed_votes_never_stop_early(database: Database) -> None:
    await make_campaign(database, items=3, k=4, votes=5, regions=("Africa", "Europe"))
    labs = [await ready_labeler(database, user=f"u{i}", region=("Africa", "Europe")[i % 2]) for i in range(6)]
    await crowd_ranks(database, labs, by_completion_id)
    items = await items_of(database)
    assert [(item.submitted, item.settled, item.change_p) for item in items] == [(5, False, 1.0)] * 3
    async with database.session() as session:
        assert (await campaign_stats(session, await get_campaign(session, "camp")))["adaptive_votes"] is None
