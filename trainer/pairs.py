"""Pairs from stored rankings, streamed: `raw` = every ranking's K-choose-2 pairs, `consensus` = the pairs of each
item's stored consensus order, with a margin from how strongly the votes agree.

Reads only storage tables (ranking, item, prompt, completion, labeler, consensus) through a sync engine and a
server-side cursor, so a large campaign never sits in memory: rankings arrive in item order and only the current
item's completions are cached.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain, combinations
from pathlib import Path

from sqlalchemy import Connection, select
from sqlmodel import col

from bot.errors import InputError, NotFound, StateError
from storage.engine import make_sync_engine
from storage.models import Campaign, Completion, Consensus, Item, Labeler, Prompt, Ranking
from trainer.pair_files import FORMATS, Pair, file_kind, write_pairs

MODES = ("raw", "consensus")
STREAM_ROWS = 500
# A completion the labeler flagged as unrankable says nothing about its place: its pairs are left out.
UNRANKABLE = "unrankable"


@dataclass(frozen=True)
class ExportResult:
    path: Path
    pairs: int
    mode: str
    format: str


@contextmanager
def read_connection(url: str) -> Iterator[Connection]:
    """One consistent read transaction. On SQLite storage begins every transaction with BEGIN IMMEDIATE (the
    writer's lock); a long export must not hold it, so it is swapped for a deferred one (a WAL snapshot)."""
    engine = make_sync_engine(url)
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                connection.exec_driver_sql("COMMIT")
                connection.exec_driver_sql("BEGIN DEFERRED")
            yield connection
            connection.rollback()
    finally:
        engine.dispose()


def campaign_id(connection: Connection, name: str) -> int:
    found = connection.execute(select(Campaign.id).where(Campaign.name == name)).scalar()
    if found is None:
        raise NotFound(f"no campaign named {name!r} (see `crowdrank campaign list`)")
    return found


def tie_groups(best_first: list[int], ties: list[bool]) -> list[int]:
    """Group number of each position: `ties[i]` joins position i to position i-1's group."""
    groups, current = [], 0
    for position in range(len(best_first)):
        if position and not (position < len(ties) and ties[position]):
            current += 1
        groups.append(current)
    return groups


def ranking_pairs(best_first: list[int], ties: list[bool], flags: dict[str, str],
                  keep_ties: bool) -> Iterator[tuple[int, int, bool]]:
    """(chosen id, rejected id, tie) for every K-choose-2 pair of one ranking, best first."""
    groups = tie_groups(best_first, ties)
    for (i, better), (j, worse) in combinations(enumerate(best_first), 2):
        if flags.get(str(better)) == UNRANKABLE or flags.get(str(worse)) == UNRANKABLE:
            continue
        tie = groups[i] == groups[j]
        if tie and not keep_ties:
            continue
        yield better, worse, tie


class CompletionCache:
    """Completion texts of the current prompt only: rankings stream in item order."""

    def __init__(self, connection: Connection) -> None:
        self.connection, self.prompt_id, self.texts = connection, None, {}

    def get(self, prompt_id: int) -> dict[int, str]:
        if prompt_id != self.prompt_id:
            rows = self.connection.execute(
                select(Completion.id, Completion.text).where(Completion.prompt_id == prompt_id))
            self.prompt_id, self.texts = prompt_id, {row.id: row.text for row in rows}
        return self.texts


def _ranking_rows(connection: Connection, campaign: int, min_trust: float | None, item_id: int | None = None):
    query = (
        select(Ranking.id, Ranking.item_id, Ranking.best_first, Ranking.ties, Ranking.flags, Ranking.region,
               Labeler.pseudonym, Prompt.id.label("prompt_id"), Prompt.text.label("prompt"))
        .join(Labeler, col(Labeler.id) == Ranking.labeler_id)
        .join(Item, col(Item.id) == Ranking.item_id)
        .join(Prompt, col(Prompt.id) == Item.prompt_id)
        .where(Ranking.campaign_id == campaign)
        .order_by(col(Ranking.item_id), col(Ranking.id))
    )
    if item_id is not None:
        query = query.where(Ranking.item_id == item_id)
    if min_trust is not None:  # unknown trust (NULL) is not "at least X": left out too
        query = query.where(col(Labeler.trust) >= min_trust)
    return connection.execute(query.execution_options(yield_per=STREAM_ROWS))


def raw_pairs(connection: Connection, campaign: int, *, min_trust: float | None = None,
              keep_ties: bool = False) -> Iterator[Pair]:
    texts = CompletionCache(connection)
    for row in _ranking_rows(connection, campaign, min_trust):
        completions = texts.get(row.prompt_id)
        for chosen, rejected, tie in ranking_pairs(row.best_first, row.ties, row.flags or {}, keep_ties):
            yield Pair(prompt=row.prompt, chosen=completions[chosen], rejected=completions[rejected], margin=0.0,
                       tie=tie, item_id=row.item_id, ranking_id=row.id, labeler=row.pseudonym, region=row.region)


def vote_margin(wins: float, losses: float) -> float:
    """Margin from vote strength: the log-odds of the (smoothed) share of votes that agree with the consensus,
    which is the reward gap a Bradley–Terry model would need to reproduce it; never negative."""
    share = (wins + 0.5) / (wins + losses + 1.0)
    return max(0.0, math.log(share / (1.0 - share)))


def _votes(connection: Connection, campaign: int, item_id: int,
           min_trust: float | None) -> dict[tuple[int, int], float]:
    """Votes of one item's rankings: {(a, b): how often a was ranked above b}; a tie counts half each way."""
    votes: dict[tuple[int, int], float] = {}
    for row in _ranking_rows(connection, campaign, min_trust, item_id=item_id):
        for better, worse, tie in ranking_pairs(row.best_first, row.ties, row.flags or {}, keep_ties=True):
            for key, amount in (((better, worse), 0.5 if tie else 1.0), ((worse, better), 0.5 if tie else 0.0)):
                votes[key] = votes.get(key, 0.0) + amount
    return votes


def consensus_pairs(connection: Connection, campaign: int, *, method: str = "bradley_terry", scope: str = "all",
                    min_trust: float | None = None) -> Iterator[Pair]:
    query = (
        select(Consensus.item_id, Consensus.best_first, Item.prompt_id, Prompt.text.label("prompt"))
        .join(Item, col(Item.id) == Consensus.item_id)
        .join(Prompt, col(Prompt.id) == Item.prompt_id)
        .where(Consensus.campaign_id == campaign, Consensus.method == method, Consensus.scope == scope)
        .order_by(col(Consensus.item_id))
    )
    rows = connection.execute(query.execution_options(yield_per=STREAM_ROWS))
    texts = CompletionCache(connection)
    region = None if scope == "all" else scope
    for row in rows:
        completions = texts.get(row.prompt_id)
        votes = _votes(connection, campaign, row.item_id, min_trust)
        for chosen, rejected in combinations(row.best_first, 2):
            margin = vote_margin(votes.get((chosen, rejected), 0.0), votes.get((rejected, chosen), 0.0))
            yield Pair(prompt=row.prompt, chosen=completions[chosen], rejected=completions[rejected],
                       margin=round(margin, 6), item_id=row.item_id, region=region)


def export_pairs(url: str, campaign: str, out: Path | str, *, mode: str = "raw", fmt: str = "trl",
                 min_trust: float | None = None, keep_ties: bool = False, method: str = "bradley_terry",
                 scope: str = "all", seed: int = 0) -> ExportResult:
    """Write a campaign's pairs to `out` (.jsonl or .parquet), streaming; the file appears whole or not at all."""
    out = Path(out)
    if mode not in MODES:
        raise InputError(f"mode must be one of {', '.join(MODES)}, got {mode!r}", field="mode")
    if fmt not in FORMATS:
        raise InputError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}", field="format")
    if min_trust is not None and not 0.0 <= min_trust <= 1.0:
        raise InputError(f"min trust must be between 0 and 1, got {min_trust}", field="min-trust")
    file_kind(out)
    with read_connection(url) as connection:
        found = campaign_id(connection, campaign)
        pairs: Iterator[Pair]
        if mode == "raw":
            pairs = raw_pairs(connection, found, min_trust=min_trust, keep_ties=keep_ties)
        else:
            pairs = consensus_pairs(connection, found, method=method, scope=scope, min_trust=min_trust)
        first = next(pairs, None)
        if first is None:  # checked before writing, so an older file at `out` is left alone
            hint = "no rankings yet" if mode == "raw" else f"no {method}/{scope} consensus yet (run `crowdrank report`)"
            raise StateError(f"campaign {campaign!r} has no pairs to export: {hint}")
        count = write_pairs(chain([first], pairs), out, fmt, seed=seed)
    return ExportResult(path=out, pairs=count, mode=mode, format=fmt)

