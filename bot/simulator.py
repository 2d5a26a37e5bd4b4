"""A simulated crowd that onboards and ranks through the very service calls a chat adapter makes
(`register_labeler` … `next_card`, `click`, `submit`), so every test, benchmark and the demo runs the whole loop
without Slack or Discord, and scores what it finds against a hidden truth saved next to the data.

Global quality is mostly a fixed judge of each completion's text (see `bot.sim_judge`), so a reward model can
learn it. Labelers are spread over the campaign's regions. Honest ones rank by their region's utility with
Plackett–Luce noise; spammers click at random or always in shown order, and faster than anyone reads. A
simulated clock (not the wall clock) times the cards, so the reading-time check sees realistic seconds.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import false, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import labelers as labeler_service
from bot.adaptive_votes import done_clause
from bot.assignment import next_card
from bot.campaigns import get_campaign
from bot.database import Database
from bot.errors import InputError, StateError
from bot.quality import SECONDS_PER_CHAR
from bot.ranking_session import click, submit
from bot.settings import get_settings
from bot.sim_judge import RELEVANCE_SCALE, WEIGHTS
from bot.sim_truth import NOISE, Truth, plackett_luce, plant_truth
from storage.models import Campaign, Completion, Item, Prompt, utcnow

SIM_PLATFORM = "sim"
HONEST_NOISE = (0.2, 0.8)  # Plackett–Luce temperature range of honest labelers
HONEST_SECONDS_PER_CHAR = (3 * SECONDS_PER_CHAR, 9 * SECONDS_PER_CHAR)  # well above the reading floor
SPAMMER_SECONDS_PER_CHAR = (0.2 * SECONDS_PER_CHAR, 0.7 * SECONDS_PER_CHAR)  # always under it

__all__ = ["SimulationResult", "simulate", "truth_path"]


@dataclass(frozen=True)
class SimLabeler:
    labeler_id: int
    pseudonym: str
    region: str
    kind: str  # honest | random | in_order
    noise: float


@dataclass(frozen=True)
class SimulationResult:
    campaign: str
    seed: int
    labelers: int
    spammers: int
    rankings: int
    items: int
    items_complete: int
    contested_items: int
    stopped: str  # why the crowd stopped
    seconds: float
    truth_path: Path


@dataclass
class _Items:
    """The campaign's items in a fixed order: row index per item and slot index per completion."""

    ids: list[int]
    prompts: list[str]
    texts: list[list[str]]
    completion_ids: list[list[int]]
    reading_chars: list[int]
    gold_slots: dict[int, list[int]]

    def __post_init__(self) -> None:
        self.row = {item_id: row for row, item_id in enumerate(self.ids)}
        self.slot = {cid: slot for ids in self.completion_ids for slot, cid in enumerate(ids)}
        self.row_of = {cid: row for row, ids in enumerate(self.completion_ids) for cid in ids}


def truth_path(campaign_name: str, home: Path | None = None) -> Path:
    return (home or get_settings().home) / "simulations" / f"{campaign_name}.json"


async def _load_items(session: AsyncSession, campaign: Campaign) -> _Items:
    rows = (await session.exec(
        select(Item.id, Item.gold_order, Prompt.text, Completion.id, Completion.text)
        .join(Prompt, Prompt.id == Item.prompt_id).join(Completion, Completion.prompt_id == Item.prompt_id)
        .where(Item.campaign_id == campaign.id).order_by(col(Item.id), col(Completion.position)))).all()
    items = _Items(ids=[], prompts=[], texts=[], completion_ids=[], reading_chars=[], gold_slots={})
    gold_orders: dict[int, list[int]] = {}
    for item_id, gold_order, prompt, completion_id, text in rows:
        if not items.ids or items.ids[-1] != item_id:
            items.ids.append(item_id)
            items.prompts.append(prompt)
            items.texts.append([])
            items.completion_ids.append([])
            items.reading_chars.append(len(prompt))
            if gold_order:
                gold_orders[len(items.ids) - 1] = gold_order
        items.texts[-1].append(text)
        items.completion_ids[-1].append(completion_id)
        items.reading_chars[-1] += len(text)
    items.__post_init__()
    items.gold_slots = {row: [items.slot[c] for c in order] for row, order in gold_orders.items()}
    return items


async def _enrol(session: AsyncSession, campaign: Campaign, count: int, spammers: float,
                 rng: np.random.Generator) -> list[SimLabeler]:
    regions = list(campaign.regions) or [labeler_service.PREFER_NOT_TO_SAY]
    n_spam = int(round(spammers * count))
    spam = set(rng.choice(count, size=n_spam, replace=False).tolist()) if n_spam else set()
    crowd = []
    for i in range(count):
        labeler = await labeler_service.register_labeler(session, SIM_PLATFORM, campaign.name, f"sim-{i:04d}",
                                                         display_name=f"Simulated labeler {i}")
        region = regions[i % len(regions)]
        state = await labeler_service.onboarding(session, labeler.id or 0, campaign.name)
        if state.needs_consent:
            await labeler_service.give_consent(session, labeler.id or 0)
        await labeler_service.choose_region(session, labeler.id or 0, campaign.name, region)
        await labeler_service.acknowledge_guidelines(session, labeler.id or 0, campaign.name, state.guidelines_version)
        kind = ("random", "in_order")[sum(lab.kind != "honest" for lab in crowd) % 2] if i in spam else "honest"
        noise = float(rng.uniform(*HONEST_NOISE)) if kind == "honest" else 0.0
        crowd.append(SimLabeler(labeler.id or 0, labeler.pseudonym, region, kind, noise))
    return crowd


def _choose(labeler: SimLabeler, shown: list[int], items: _Items, row: int, truth: Truth,
            rng: np.random.Generator) -> list[int]:
    """Shown indexes best first, as this labeler would click them."""
    k = len(shown)
    if labeler.kind == "in_order":
        return list(range(k))
    if labeler.kind == "random":
        return rng.permutation(k).tolist()
    utility = truth.region_utility.get(labeler.region, truth.quality)[row]
    return plackett_luce(utility[[items.slot[c] for c in shown]], labeler.noise, rng).tolist()


def _write_truth(path: Path, campaign: Campaign, seed: int, items: _Items, truth: Truth,
                 crowd: list[SimLabeler]) -> None:
    def orders(order: np.ndarray) -> dict[str, list[int]]:
        return {str(item_id): [items.completion_ids[row][s] for s in order[row]]
                for row, item_id in enumerate(items.ids)}

    data = {
        "campaign": campaign.name, "seed": seed,
        "quality": {str(cid): float(truth.quality[row, slot]) for row, ids in enumerate(items.completion_ids)
                    for slot, cid in enumerate(ids)},
        "quality_parts": {str(cid): {**truth.judge.of(row, slot), "noise": float(truth.noise[row, slot])}
                          for row, ids in enumerate(items.completion_ids) for slot, cid in enumerate(ids)},
        "judge_weights": {**WEIGHTS, "relevance_scale": RELEVANCE_SCALE, "noise_sd": NOISE},
        "region_taste": truth.tastes,
        "labelers": {lab.pseudonym: {"region": lab.region, "kind": lab.kind, "noise": lab.noise} for lab in crowd},
        "true_order": orders(truth.true_order),
        "region_order": {region: orders(order) for region, order in truth.region_order.items()},
        "contested_items": [item_id for row, item_id in enumerate(items.ids) if truth.contested[row]],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")


async def simulate(database: Database | AsyncSession, campaign_name: str, labelers: int = 30, spammers: float = 0.0,
                   seed: int = 0, max_rankings: int | None = None, *, home: Path | None = None,
                   on_start: Callable[[int], None] | None = None,
                   on_batch: Callable[[int], None] | None = None) -> SimulationResult:
    """Let a simulated crowd rank until every item has its votes, `max_rankings` is reached, or nobody can take
    another item; save the hidden truth as `$CROWDRANK_HOME/simulations/<campaign>.json`."""
    if labelers < 1:
        raise InputError("the crowd needs at least one labeler", field="labelers")
    if not 0.0 <= spammers <= 1.0:
        raise InputError("spammers is a fraction between 0 and 1", field="spammers")
    if isinstance(database, Database):
        async with database.session() as session:
            return await _simulate(session, campaign_name, labelers, spammers, seed, max_rankings, home,
                                   on_start, on_batch)
    return await _simulate(database, campaign_name, labelers, spammers, seed, max_rankings, home, on_start, on_batch)


async def _simulate(session: AsyncSession, campaign_name: str, count: int, spammers: float, seed: int,
                    max_rankings: int | None, home: Path | None, on_start: Callable[[int], None] | None,
                    on_batch: Callable[[int], None] | None) -> SimulationResult:
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    engine_rng = random.Random(seed)
    async with session.begin():
        campaign = await get_campaign(session, campaign_name)
        items = await _load_items(session, campaign)
        needed = int((await session.exec(select(func.sum(campaign.votes - Item.submitted)).where(
            Item.campaign_id == campaign.id, Item.is_gold == false(), ~done_clause(campaign)))).one() or 0)
    if not items.ids:
        raise StateError(f"campaign {campaign_name!r} has no items to rank yet")
    truth = plant_truth(items.prompts, items.texts, list(campaign.regions), rng, items.gold_slots)
    crowd = await _enrol(session, campaign, count, spammers, rng)
    path = truth_path(campaign.name, home)
    _write_truth(path, campaign, seed, items, truth, crowd)
    target = needed if max_rankings is None else min(needed, max_rankings)
    if on_start:
        on_start(target)
    active, done, clock = list(crowd), 0, utcnow()
    while active and (max_rankings is None or done < max_rankings):
        labeler = active[int(rng.integers(len(active)))]
        card = await next_card(session, labeler.labeler_id, campaign.name, now=clock, rng=engine_rng)
        if card is None:
            active.remove(labeler)
            continue
        row = items.row_of[card.choices[0].completion_id]
        chars = items.reading_chars[row]
        pace = SPAMMER_SECONDS_PER_CHAR if labeler.kind != "honest" else HONEST_SECONDS_PER_CHAR
        seconds = chars * float(rng.uniform(*pace))
        order = _choose(labeler, [c.completion_id for c in card.choices], items, row, truth, rng)
        placed = set(card.order)
        for step, index in enumerate(order[:-1]):
            if index not in placed:
                at = clock + timedelta(seconds=seconds * (step + 1) / len(order))
                await click(session, card.assignment_id, labeler.labeler_id, index, now=at)
        await submit(session, card.assignment_id, labeler.labeler_id, now=clock + timedelta(seconds=seconds))
        done += 1
        clock += timedelta(seconds=seconds / len(active))
        if on_batch:
            on_batch(1)
    return await _result(session, campaign, seed, crowd, done, items, truth, active, max_rankings, path, started)


async def _result(session: AsyncSession, campaign: Campaign, seed: int, crowd: list[SimLabeler], done: int,
                  items: _Items, truth: Truth, active: list[SimLabeler], max_rankings: int | None, path: Path,
                  started: float) -> SimulationResult:
    async with session.begin():
        regular = select(func.count()).select_from(Item).where(Item.campaign_id == campaign.id,
                                                               Item.is_gold == false())
        total = int((await session.exec(regular)).one())
        complete = int((await session.exec(regular.where(done_clause(campaign)))).one())
    if complete == total:
        stopped = "every item has its votes"
    elif max_rankings is not None and done >= max_rankings:
        stopped = f"reached {max_rankings} rankings"
    else:
        stopped = "no simulated labeler can take another item"
    return SimulationResult(
        campaign=campaign.name, seed=seed, labelers=len(crowd), spammers=sum(lab.kind != "honest" for lab in crowd),
        rankings=done, items=total, items_complete=complete, contested_items=int(truth.contested.sum()),
        stopped=stopped, seconds=time.perf_counter() - started, truth_path=path)
