"""The simulated crowd: ranks through the service calls until votes are in (or a limit, or nobody can take
more), saves the truth file in the contracted shape, plants contested items, and separates spammers."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import app
from bot.database import Database
from bot.errors import InputError
from bot.quality import SECONDS_PER_CHAR
from bot.sim_truth import formality, plackett_luce, plant_truth, tau_between_orders
from bot.simulator import simulate
from storage.models import Completion, Item, Labeler, Ranking
from tests.engine_helpers import make_campaign

REGIONS = ("Africa", "Europe", "Asia")


async def test_crowd_fills_every_item_and_writes_the_truth(database: Database, tmp_path: Path) -> None:
    await make_campaign(database, items=10, k=4, votes=3, regions=REGIONS)
    result = await simulate(database, "camp", labelers=6, spammers=0.34, seed=3, home=tmp_path)
    assert (result.rankings, result.items, result.items_complete) == (30, 10, 10)
    assert result.stopped == "every item has its votes" and result.spammers == 2
    truth = json.loads(result.truth_path.read_text())
    assert result.truth_path == tmp_path / "simulations" / "camp.json"
    async with database.session() as session:
        completions = (await session.exec(select(Completion))).all()
        items = (await session.exec(select(Item))).all()
        sims = (await session.exec(select(Labeler).where(Labeler.platform == "sim"))).all()
        rankings = (await session.exec(select(Ranking))).all()
    assert set(truth) == {"campaign", "seed", "quality", "quality_parts", "judge_weights", "region_taste", "labelers",
                          "true_order", "region_order", "contested_items"}
    assert set(truth["quality_parts"]) == set(truth["quality"])
    assert all(set(parts) == {"relevance", "complete", "repetition", "refusal", "noise"}
               for parts in truth["quality_parts"].values())
    assert truth["campaign"] == "camp" and truth["seed"] == 3
    assert set(truth["quality"]) == {str(c.id) for c in completions}
    assert set(truth["region_taste"]) == set(REGIONS)
    assert all(set(taste) == {"length", "formality"} for taste in truth["region_taste"].values())
    assert set(truth["labelers"]) == {lab.pseudonym for lab in sims}
    kinds = sorted(info["kind"] for info in truth["labelers"].values())
    assert kinds == ["honest"] * 4 + ["in_order", "random"]
    assert {info["region"] for info in truth["labelers"].values()} == set(REGIONS)
    by_prompt = {}
    for c in completions:
        by_prompt.setdefault(c.prompt_id, set()).add(c.id)
    for item in items:
        assert set(truth["true_order"][str(item.id)]) == by_prompt[item.prompt_id]
        best = truth["true_order"][str(item.id)]
        assert [truth["quality"][str(c)] for c in best] == sorted((truth["quality"][str(c)] for c in best),
                                                                  reverse=True)
        for region in REGIONS:
            assert set(truth["region_order"][region][str(item.id)]) == by_prompt[item.prompt_id]
    assert set(truth["contested_items"]) <= {item.id for item in items}
    assert {r.labeler_id for r in rankings} <= {lab.id for lab in sims}
    assert all(item.submitted == 3 and item.leased == 0 for item in items)


async def test_limits_and_a_crowd_too_small(database: Database, tmp_path: Path) -> None:
    await make_campaign(database, items=4, k=3, votes=3, regions=REGIONS)
    limited = await simulate(database, "camp", labelers=3, seed=1, max_rankings=5, home=tmp_path)
    assert limited.rankings == 5 and limited.stopped == "reached 5 rankings"
    await make_campaign(database, "small", items=3, k=3, votes=3, regions=REGIONS)
    small = await simulate(database, "small", labelers=2, seed=1, home=tmp_path)
    assert small.rankings == 6 and small.items_complete == 0
    assert small.stopped == "no simulated labeler can take another item"
    with pytest.raises(InputError, match="spammers"):
        await simulate(database, "camp", labelers=3, spammers=1.5)


async def test_spammers_are_fast_and_honest_labelers_are_not(sqlite_url: str, tmp_path: Path) -> None:
    database = Database(sqlite_url)
    try:
        await make_campaign(database, items=12, k=4, votes=4, regions=REGIONS)
        result = await simulate(database, "camp", labelers=8, spammers=0.25, seed=5, home=tmp_path)
        truth = json.loads(result.truth_path.read_text())
        async with database.session() as session:
            pseudonyms = {lab.id: lab.pseudonym for lab in (await session.exec(select(Labeler))).all()}
            rankings = (await session.exec(select(Ranking))).all()
            chars = {}
            for item in (await session.exec(select(Item))).all():
                texts = (await session.exec(select(Completion.text).where(Completion.prompt_id == item.prompt_id)))
                chars[item.id] = sum(map(len, texts.all()))
    finally:
        await database.dispose()
    for ranking in rankings:
        kind = truth["labelers"][pseudonyms[ranking.labeler_id]]["kind"]
        floor = SECONDS_PER_CHAR * chars[ranking.item_id]
        assert (ranking.seconds < floor) == (kind != "honest")


def fake_embedder(texts: list[str]) -> np.ndarray:
    """Unit vectors from a hash of the text: fixed, and no model to load."""
    vectors = np.array([np.random.default_rng(sum(map(ord, t))).normal(size=8) for t in texts])
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_planted_tastes_reverse_some_items() -> None:
    rng = np.random.default_rng(0)
    texts = [["ok!", "Thank you. Regarding this, I would recommend the following careful steps, kindly.",
              "Sure thing lol", "Certainly. However, consider the alternatives."] for _ in range(40)]
    truth = plant_truth(["Say something."] * 40, texts, list(REGIONS), rng, embedder=fake_embedder)
    assert truth.tastes["Africa"]["length"] > 0 > truth.tastes["Europe"]["length"]
    reversed_somewhere = np.zeros(40, dtype=bool)
    for order in truth.region_order.values():
        reversed_somewhere |= tau_between_orders(order, truth.true_order) < 0
    assert np.array_equal(reversed_somewhere, truth.contested) and 0 < truth.contested.sum() < 40
    assert formality(texts[0][1]) > formality(texts[0][0])


def test_plackett_luce_noise() -> None:
    rng = np.random.default_rng(1)
    utility = np.array([0.0, 3.0, 1.0, 2.0])
    assert plackett_luce(utility, 1e-6, rng).tolist() == [1, 3, 2, 0]
    firsts = [plackett_luce(utility, 100.0, rng)[0] for _ in range(400)]
    assert len(set(firsts)) == 4  # very noisy labelers pick anything first


def test_simulate_cli(home: Path) -> None:
    async def setup() -> None:
        database = Database.from_settings()
        database.upgrade()
        await make_campaign(database, items=5, k=3, votes=2, regions=REGIONS)
        await database.dispose()

    asyncio.run(setup())
    result = CliRunner().invoke(app, ["simulate", "camp", "--labelers", "4", "--spammers", "0.25", "--seed", "2"])
    assert result.exit_code == 0, result.output
    assert "10 rankings by 4 simulated labelers (1 spammers)" in result.stdout
    assert (home / "simulations" / "camp.json").exists()
    missing = CliRunner().invoke(app, ["simulate", "nope"])
    assert missing.exit_code == 2 and "no campaign named 'nope'" in missing.output
