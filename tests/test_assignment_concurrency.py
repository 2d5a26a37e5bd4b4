"""Several processes, each with its own engine, hammer next_card + click + submit (and some skips) for the SAME
labelers on a small campaign at once. Afterwards: no item past `votes`, no (item, labeler) twice, one ranking
per assignment, counters equal to the rows they count. Run on PostgreSQL and on SQLite."""

from __future__ import annotations

import asyncio
import multiprocessing
import random
from collections import Counter

from sqlmodel import select

from bot import ranking_session as rs
from bot.assignment import next_card
from bot.database import Database
from bot.errors import NotAllowed, StateError
from storage.models import Assignment, Item, Ranking
from tests.engine_helpers import make_campaign, ready_labeler

PROCESSES = 4
ITEMS, VOTES, LABELERS = 10, 3, 8


def _worker(url: str, labelers: list[int], seed: int, results: multiprocessing.Queue) -> None:
    async def main() -> tuple[int, int]:
        database = Database(url)
        rng = random.Random(seed)
        active, submitted, refused = list(labelers), 0, 0
        try:
            async with database.session() as session:
                while active:
                    lab = rng.choice(active)
                    try:
                        card = await next_card(session, lab, "camp", rng=rng)
                        if card is None:
                            active.remove(lab)
                            continue
                        if not card.order and rng.random() < 0.1:
                            await rs.skip(session, card.assignment_id, lab, "race test")
                            continue
                        # the card may come back half-clicked by another process: place what is left
                        for index in rng.sample(range(len(card.choices)), len(card.choices)):
                            if not card.can_submit and index not in card.order:
                                card = await rs.click(session, card.assignment_id, lab, index)
                        await rs.submit(session, card.assignment_id, lab)
                        submitted += 1
                    except (StateError, NotAllowed):  # another process moved the same card first
                        refused += 1
        finally:
            await database.dispose()
        return submitted, refused

    try:
        results.put(asyncio.run(main()))
    except BaseException as error:  # report it to the test instead of dying silently
        results.put(repr(error))
        raise


def test_processes_never_over_assign_or_duplicate(db_url: str) -> None:
    async def setup() -> list[int]:
        database = Database(db_url)
        await make_campaign(database, items=ITEMS, votes=VOTES)
        labs = [await ready_labeler(database, user=f"u{i}", region=("Africa", "Europe")[i % 2])
                for i in range(LABELERS)]
        await database.dispose()
        return labs

    labs = asyncio.run(setup())
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    workers = [context.Process(target=_worker, args=(db_url, labs, seed, results)) for seed in range(PROCESSES)]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=120) for _ in workers]
    assert all(isinstance(outcome, tuple) for outcome in outcomes), outcomes
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0

    async def check() -> None:
        database = Database(db_url)
        async with database.session() as session:
            items = (await session.exec(select(Item))).all()
            assignments = (await session.exec(select(Assignment))).all()
            rankings = (await session.exec(select(Ranking))).all()
        await database.dispose()
        pairs = [(a.item_id, a.labeler_id) for a in assignments]
        assert len(pairs) == len(set(pairs)), "a labeler got the same item twice"
        assert len({r.assignment_id for r in rankings}) == len(rankings), "two rankings for one assignment"
        assert len({(r.item_id, r.labeler_id) for r in rankings}) == len(rankings)
        per_item = Counter(r.item_id for r in rankings)
        open_leases = Counter(a.item_id for a in assignments if a.state == "open")
        for item in items:
            assert per_item[item.id] <= VOTES, f"item {item.id} has {per_item[item.id]} rankings"
            assert (item.submitted, item.leased) == (per_item[item.id], open_leases[item.id])
        # a skip frees the slot for someone else, so with 8 labelers every item still fills up
        assert sum(per_item.values()) == ITEMS * VOTES == sum(submitted for submitted, _ in outcomes)
        assert not open_leases

    asyncio.run(check())
