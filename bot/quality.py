"""Labeler quality: gold accuracy, agreement with the leave-one-out consensus, too-fast submissions, and the
trust score in [0, 1] that combines them (written to `Labeler.trust`, read by pair export and the report).

Agreement is Kendall tau-b between a ranking and the mean ranks of the item's *other* rankings
(`bot.consensus.metrics.loo_tau`, vectorised over all rankings), averaged per labeler and scaled by the crowd's
own level (the 75th percentile of labelers), so a hard campaign where honest people agree at tau 0.4 does not
look like a crowd of spammers. Random or shown-order clicking averages near tau 0 and scores near 0.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, true, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.campaigns import get_campaign
from bot.consensus.data import RankingRecord, RankingSet, fractional_ranks
from bot.consensus.metrics import labeler_tau, loo_tau, rowwise_tau_b
from bot.unit_of_work import transaction
from storage.models import Completion, Item, Labeler, Prompt, Ranking

SECONDS_PER_CHAR = 0.01  # reading floor: 100 characters a second is faster than anyone reads and compares
TRUST_THRESHOLD = 0.5  # below this a labeler is listed for the manager (and pair export may drop them)
MIN_RANKINGS = 3  # fewer rankings than this: trust stays unknown (None)
WEIGHTS = {"gold": 0.4, "agreement": 0.4, "speed": 0.2}
REFERENCE_PERCENTILE = 75
AGREEMENT_PRIOR = 2.0  # pseudo-rankings at the crowd's level added to each labeler's agreement

__all__ = ["LabelerQuality", "assess_campaign", "trust_scores", "SECONDS_PER_CHAR", "TRUST_THRESHOLD"]


@dataclass(frozen=True)
class LabelerQuality:
    labeler_id: int
    pseudonym: str
    region: str | None
    status: str
    rankings: int
    gold_rankings: int
    gold_accuracy: float | None  # mean tau-b with the gold order, as a pairwise accuracy (tau + 1) / 2
    agreement: float | None  # mean tau-b with the leave-one-out consensus
    too_fast: float  # share of rankings submitted under the reading floor
    trust: float | None
    flagged: bool


def trust_scores(gold_tau: np.ndarray, agreement_tau: np.ndarray, agreement_n: np.ndarray, too_fast: np.ndarray,
                 counts: np.ndarray) -> np.ndarray:
    """Weighted mean of the components a labeler has (NaN = missing); NaN trust under MIN_RANKINGS.

    Agreement is shrunk towards the crowd's level by AGREEMENT_PRIOR pseudo-rankings: a labeler with a handful
    of rankings, or from a region whose taste the crowd does not share on a few items, is not condemned by
    chance; a spammer with many rankings still ends near zero."""
    defined = agreement_tau[~np.isnan(agreement_tau)]
    reference = float(np.percentile(defined, REFERENCE_PERCENTILE)) if defined.size else 0.0
    scale = reference if reference > 0.05 else 1.0
    shrunk = (agreement_n * agreement_tau + AGREEMENT_PRIOR * scale) / (agreement_n + AGREEMENT_PRIOR)
    parts = np.column_stack([np.clip(gold_tau, 0.0, 1.0), np.clip(shrunk / scale, 0.0, 1.0), 1.0 - too_fast])
    weights = np.broadcast_to(np.array([WEIGHTS["gold"], WEIGHTS["agreement"], WEIGHTS["speed"]]), parts.shape)
    present = ~np.isnan(parts)
    total = np.where(present, weights, 0.0).sum(axis=1)
    trust = np.where(present, parts * weights, 0.0).sum(axis=1) / np.maximum(total, 1e-12)
    return np.where(counts >= MIN_RANKINGS, trust, np.nan)


async def _reading_chars(session: AsyncSession, campaign_id: int) -> dict[int, int]:
    completion_chars = (await session.exec(
        select(Item.id, func.sum(func.length(Completion.text)))
        .join(Completion, Completion.prompt_id == Item.prompt_id)
        .where(Item.campaign_id == campaign_id).group_by(Item.id))).all()
    prompt_chars = dict((await session.exec(
        select(Item.id, func.length(Prompt.text)).join(Prompt, Prompt.id == Item.prompt_id)
        .where(Item.campaign_id == campaign_id))).all())
    return {item_id: int(chars or 0) + int(prompt_chars.get(item_id) or 0) for item_id, chars in completion_chars}


async def assess_campaign(session: AsyncSession, campaign_name: str, *, threshold: float = TRUST_THRESHOLD,
                          write: bool = True) -> list[LabelerQuality]:
    """Quality of every labeler who ranked in the campaign; writes `Labeler.trust` unless `write` is False."""
    async with transaction(session):
        campaign = await get_campaign(session, campaign_name)
        rows = (await session.exec(select(Ranking).where(Ranking.campaign_id == campaign.id)
                                   .order_by(col(Ranking.id)))).all()
        labelers = {lab.id: lab for lab in (await session.exec(select(Labeler).where(
            col(Labeler.id).in_({r.labeler_id for r in rows})))).all()} if rows else {}
        gold = dict((await session.exec(select(Item.id, Item.gold_order).where(
            Item.campaign_id == campaign.id, Item.is_gold == true()))).all())
        chars = await _reading_chars(session, campaign.id or 0)
        if not rows:
            return []
        keys = sorted(labelers)
        index = {key: i for i, key in enumerate(keys)}
        counts = np.bincount([index[r.labeler_id] for r in rows], minlength=len(keys))
        hurried = [index[r.labeler_id] for r in rows if r.seconds < SECONDS_PER_CHAR * chars.get(r.item_id, 0)]
        fast = np.bincount(hurried, minlength=len(keys))
        too_fast = fast / np.maximum(counts, 1)
        agreement, agreement_n = _agreement(rows, keys)
        gold_tau, gold_counts = _gold_tau(rows, gold, keys)
        trust = trust_scores(gold_tau, agreement, agreement_n, too_fast, counts)
        result = []
        for i, key in enumerate(keys):
            labeler = labelers[key]
            value = None if np.isnan(trust[i]) else round(float(trust[i]), 4)
            result.append(LabelerQuality(
                labeler_id=key, pseudonym=labeler.pseudonym, region=labeler.region, status=labeler.status,
                rankings=int(counts[i]), gold_rankings=int(gold_counts[i]),
                gold_accuracy=None if np.isnan(gold_tau[i]) else float((gold_tau[i] + 1) / 2),
                agreement=None if np.isnan(agreement[i]) else float(agreement[i]),
                too_fast=float(too_fast[i]), trust=value, flagged=value is not None and value < threshold))
            if write:
                await session.exec(update(Labeler).where(Labeler.id == key)
                                   .values(trust=value))
        return result


def _agreement(rows: list[Ranking], keys: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Mean leave-one-out tau-b per labeler (in `keys` order) and how many rankings it averages; NaN where no
    item had another ranking."""
    records = [RankingRecord(item=r.item_id, labeler=r.labeler_id, best_first=r.best_first, ties=r.ties,
                             ranking_id=r.id) for r in rows]
    rankings = RankingSet.from_records(records)
    per_labeler = labeler_tau(rankings, per_ranking=loo_tau(rankings)).as_dict()
    found = [per_labeler.get(key, (np.nan, 0)) for key in keys]
    return np.array([tau for tau, _ in found]), np.array([n for _, n in found], dtype=np.float64)


def _gold_tau(rows: list[Ranking], gold: dict[int, list[int] | None],
              keys: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Mean tau-b of each labeler's gold rankings with the manager's order; NaN without gold rankings."""
    position = {key: i for i, key in enumerate(keys)}
    by_k: dict[int, list[tuple[int, list[int], list[int], list[bool]]]] = defaultdict(list)
    for r in rows:
        order = gold.get(r.item_id)
        if order and sorted(order) == sorted(r.best_first):
            by_k[len(order)].append((position[r.labeler_id], order, r.best_first, r.ties))
    total = np.zeros(len(keys))
    count = np.zeros(len(keys))
    for k, group in by_k.items():
        slot = [{cid: j for j, cid in enumerate(sorted(order))} for _, order, _, _ in group]
        gold_order = np.array([[s[c] for c in order] for s, (_, order, _, _) in zip(slot, group, strict=True)])
        given = np.array([[s[c] for c in best] for s, (_, _, best, _) in zip(slot, group, strict=True)])
        ties = np.array([(list(t) + [False] * k)[:k] for _, _, _, t in group], dtype=bool)
        tau = rowwise_tau_b(fractional_ranks(given, ties), fractional_ranks(gold_order))
        who = np.array([g[0] for g in group])
        np.add.at(total, who, np.nan_to_num(tau))
        np.add.at(count, who, ~np.isnan(tau))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan), count.astype(int)
