"""Read a campaign's rankings into a `RankingSet` and write its consensus orders to the `consensus` table.

Both are async services on a session without an open transaction: reads select plain columns (no ORM objects)
so a large campaign loads fast; the write replaces the campaign's consensus rows in one transaction (all or
nothing).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Row, delete, insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.campaigns import get_campaign
from bot.consensus.aggregate import ConsensusOrders
from bot.consensus.data import RankingRecord, RankingSet
from bot.errors import StateError
from bot.labelers import PREFER_NOT_TO_SAY
from bot.unit_of_work import transaction
from storage.models import Campaign, Completion, Consensus, Item, Labeler, Prompt, Ranking, utcnow

__all__ = ["CampaignRankings", "load_rankings", "item_texts", "write_consensus"]

INSERT_CHUNK = 5000


@dataclass(frozen=True)
class CampaignRankings:
    campaign: Campaign
    rankings: RankingSet  # item keys are Item.id, labeler keys are pseudonyms, completion ids Completion.id
    trust: np.ndarray  # Labeler.trust per labeler index, NaN = not yet known
    prompt_ids: dict[int, str]  # Item.id -> the prompt's external id


async def load_rankings(session: AsyncSession, campaign_name: str) -> CampaignRankings:
    """All submitted rankings of a campaign; StateError when there are none yet."""
    async with transaction(session):
        campaign = await get_campaign(session, campaign_name)
        slots = (await session.exec(
            select(Item.id, Completion.id, Prompt.external_id)
            .join(Completion, col(Completion.prompt_id) == col(Item.prompt_id))
            .join(Prompt, col(Prompt.id) == col(Item.prompt_id))
            .where(Item.campaign_id == campaign.id).order_by(col(Item.id), col(Completion.position)))).all()
        rows = (await session.exec(
            select(Ranking.id, Ranking.item_id, Labeler.pseudonym, Ranking.region, Ranking.best_first,
                   Ranking.ties, Ranking.shown_order, Ranking.created_at)
            .join(Labeler, col(Labeler.id) == col(Ranking.labeler_id))
            .where(Ranking.campaign_id == campaign.id).order_by(col(Ranking.id)))).all()
        trust_rows = (await session.exec(
            select(Labeler.pseudonym, Labeler.trust).where(col(Labeler.id).in_(
                select(Ranking.labeler_id).where(Ranking.campaign_id == campaign.id))))).all()
    if not rows:
        raise StateError(f"campaign {campaign_name!r} has no rankings yet: nothing to report")
    # building the arrays is CPU work (a second or two at 300,000 rankings): keep it off the event loop
    return await asyncio.to_thread(_build, campaign, slots, rows, trust_rows)


def _build(campaign: Campaign, slots: Sequence[Row], rows: Sequence[Row],
           trust_rows: Sequence[Row]) -> CampaignRankings:
    completions: dict[int, list[int]] = defaultdict(list)
    prompt_ids: dict[int, str] = {}
    for item_id, completion_id, external_id in slots:
        completions[item_id].append(completion_id)
        prompt_ids[item_id] = external_id
    # "prefer not to say" is no region to compare: those rankings count overall, and as rankings without region
    records = [RankingRecord(item=item_id, labeler=pseudonym, best_first=best_first, ties=ties or (),
                             region=None if region == PREFER_NOT_TO_SAY else region,
                             shown_order=shown_order or (), created_at=created_at,
                             ranking_id=ranking_id)
               for ranking_id, item_id, pseudonym, region, best_first, ties, shown_order, created_at in rows]
    rankings = RankingSet.from_records(records, completions=completions, region_names=campaign.regions)
    known = {pseudonym: trust for pseudonym, trust in trust_rows}
    trust = np.array([np.nan if known.get(key) is None else float(known[key]) for key in rankings.labeler_keys])
    return CampaignRankings(campaign, rankings, trust, prompt_ids)


async def item_texts(session: AsyncSession, item_ids: list[int]) -> dict[int, tuple[str, dict[int, str]]]:
    """Item.id -> (prompt text, {completion id: text}) for the few items the report quotes."""
    if not item_ids:
        return {}
    async with transaction(session):
        rows = (await session.exec(
            select(Item.id, Prompt.text, Completion.id, Completion.text)
            .join(Prompt, col(Prompt.id) == col(Item.prompt_id))
            .join(Completion, col(Completion.prompt_id) == col(Item.prompt_id))
            .where(col(Item.id).in_(item_ids)))).all()
    texts: dict[int, tuple[str, dict[int, str]]] = {}
    for item_id, prompt, completion_id, completion in rows:
        texts.setdefault(item_id, (prompt, {}))[1][completion_id] = completion
    return texts


def consensus_rows(campaign_id: int, rankings: RankingSet, scope: str, method: str, orders: ConsensusOrders,
                   kendall_w: np.ndarray | None) -> list[dict]:
    now = utcnow()
    rows = []
    for i in np.flatnonzero(orders.n > 0):
        ids = rankings.completion_ids[i]
        w = None if kendall_w is None or np.isnan(kendall_w[i]) else float(kendall_w[i])
        rows.append({
            "campaign_id": campaign_id, "item_id": int(rankings.item_ids[i]), "method": method,
            "scope": scope, "best_first": [int(ids[j]) for j in orders.order[i]],
            "scores": {str(int(ids[j])): round(float(orders.scores[i, j]), 6) for j in range(rankings.k)},
            "n_rankings": int(orders.n[i]), "kendall_w": w, "computed_at": now})
    return rows


async def write_consensus(session: AsyncSession, campaign_id: int, rankings: RankingSet,
                          consensus: dict[tuple[str, str], ConsensusOrders],
                          kendall_w: dict[str, np.ndarray], *, on_start: Callable[[int], None] | None = None,
                          on_batch: Callable[[int], None] | None = None) -> int:
    """Replace the campaign's consensus rows with these orders; returns how many rows were written.

    A Core insert of the table, in chunks: the ORM bulk path is about 4x slower for JSON rows."""
    def build() -> list[dict]:
        return [row for (scope, method), orders in consensus.items()
                for row in consensus_rows(campaign_id, rankings, scope, method, orders, kendall_w.get(scope))]

    rows = await asyncio.to_thread(build)  # a million small dicts for a big campaign: not on the event loop
    if on_start:
        on_start(len(rows))
    async with transaction(session):
        await session.exec(delete(Consensus)
                           .where(col(Consensus.campaign_id) == campaign_id))
        for start in range(0, len(rows), INSERT_CHUNK):
            chunk = rows[start:start + INSERT_CHUNK]
            await session.exec(insert(Consensus.__table__), params=chunk)
            if on_batch:
                on_batch(len(chunk))
    return len(rows)
