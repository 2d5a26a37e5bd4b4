"""Quality signals and trust: gold accuracy, leave-one-out agreement, too-fast submissions, the combined score
written to Labeler.trust, and low-trust labelers listed for the manager."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlmodel import select

from bot import ranking_session as rs
from bot.assignment import next_card
from bot.database import Database
from bot.gold import GoldRecord, set_gold
from bot.quality import MIN_RANKINGS, assess_campaign, trust_scores
from storage.models import Labeler, utcnow
from tests.engine_helpers import make_campaign, ready_labeler


def test_trust_combines_the_parts_a_labeler_has() -> None:
    nan = np.nan
    gold = np.array([1.0, nan, -0.5, 1.0, nan])
    agreement = np.array([0.5, 0.5, 0.0, 0.25, 0.0])
    n = np.array([1e6, 1e6, 1e6, 1e6, 2.0])
    too_fast = np.array([0.0, 1.0, 1.0, 0.0, 0.0])
    counts = np.array([5, 5, 5, MIN_RANKINGS - 1, 5])
    trust = trust_scores(gold, agreement, n, too_fast, counts)
    # agreement is scaled by the crowd's 75th percentile (0.5 here)
    assert trust[0] == pytest.approx(1.0)
    assert trust[1] == pytest.approx((0.4 * 1.0 + 0.2 * 0.0) / 0.6)
    assert trust[2] == pytest.approx(0.0, abs=1e-5)
    assert np.isnan(trust[3])
    # two rankings at tau 0 are shrunk half way to the crowd's level by the prior of two
    assert trust[4] == pytest.approx((0.4 * 0.5 + 0.2 * 1.0) / 0.6)


async def _rank_everything(database: Database, lab: int, order: str, seconds: float) -> None:
    """Rank every card: "canonical" puts completion position 0 first, "reverse" the opposite."""
    async with database.session() as session:
        start = utcnow()
        while (card := await next_card(session, lab, "camp", now=start, rng=random.Random(0))) is not None:
            canonical = sorted(range(len(card.choices)), key=lambda i: card.choices[i].completion_id)
            clicks = canonical if order == "canonical" else canonical[::-1]
            for index in clicks[:-1]:
                await rs.click(session, card.assignment_id, lab, index, now=start)
            await rs.submit(session, card.assignment_id, lab, now=start + timedelta(seconds=seconds))
            start += timedelta(seconds=seconds + 1)


async def test_assess_flags_a_fast_contrarian(database: Database) -> None:
    await make_campaign(database, items=5, k=3, votes=4, gold_rate=0.95)
    async with database.session() as session:
        await set_gold(session, "camp", [GoldRecord("p0", [0, 1, 2])])
    honest = [await ready_labeler(database, user=f"h{i}") for i in range(3)]
    contrarian = await ready_labeler(database, user="c")
    for lab in honest:
        await _rank_everything(database, lab, "canonical", seconds=30.0)
    await _rank_everything(database, contrarian, "reverse", seconds=0.2)
    async with database.session() as session:
        rows = {row.labeler_id: row for row in await assess_campaign(session, "camp")}
    async with database.session() as session:
        stored = {lab.id: lab.trust for lab in (await session.exec(select(Labeler))).all()}
    for lab in honest:
        row = rows[lab]
        assert (row.rankings, row.gold_rankings) == (5, 1)
        assert row.gold_accuracy == pytest.approx(1.0) and row.too_fast == 0.0
        assert row.agreement == pytest.approx(1.0)  # the others' mean still orders like the honest ones
        assert row.trust == pytest.approx(1.0) and not row.flagged
    bad = rows[contrarian]
    assert bad.gold_accuracy == pytest.approx(0.0) and bad.agreement == pytest.approx(-1.0)
    assert bad.too_fast == 1.0 and bad.trust == pytest.approx(0.0) and bad.flagged
    assert stored == {row.labeler_id: row.trust for row in rows.values()}


async def test_no_rankings_no_quality(database: Database) -> None:
    await make_campaign(database)
    async with database.session() as session:
        assert await assess_campaign(session, "camp") == []


def test_labeler_list_marks_low_trust(home: Path) -> None:
    import asyncio

    from typer.testing import CliRunner

    from bot.cli import app

    async def setup() -> None:
        database = Database.from_settings()
        database.upgrade()
        await make_campaign(database, items=4, k=3, votes=4)
        for i in range(3):
            await _rank_everything(database, await ready_labeler(database, user=f"h{i}"), "canonical", 30.0)
        await _rank_everything(database, await ready_labeler(database, user="c"), "reverse", 0.1)
        await database.dispose()

    asyncio.run(setup())
    result = CliRunner().invoke(app, ["labeler", "list", "camp"])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("LOW TRUST") == 1
    assert "1 of 4 labelers under trust 0.5" in result.stdout
