"""Consensus across regions: agreement metrics, aggregation to consensus orders, and the researchers' report.

`RankingSet` holds rankings as arrays; `metrics` measures agreement; `labeler_tau` feeds the trust score;
`summarize` is the one-call API for notebooks; `report.write_report` writes the report folder for a campaign.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence

from bot.consensus.aggregate import METHODS, ConsensusOrders, aggregate
from bot.consensus.analysis import Analysis, analyze
from bot.consensus.data import RankingRecord, RankingSet
from bot.consensus.metrics import LabelerTau, labeler_tau, loo_tau

__all__ = ["RankingRecord", "RankingSet", "LabelerTau", "labeler_tau", "loo_tau", "METHODS", "ConsensusOrders",
           "aggregate", "Analysis", "analyze", "summarize"]


def summarize(rankings: RankingSet | Iterable[RankingRecord | Mapping], *,
              completions: Mapping[Hashable, Sequence[Hashable]] | None = None, n_boot: int = 1000,
              seed: int = 0) -> dict:
    """Agreement and consensus figures for any rankings, as the JSON-ready dict the report's summary.json holds.

    `rankings` is a `RankingSet` or plain records: dicts or `RankingRecord`s with `item`, `labeler`,
    `best_first` (completion ids, best first) and optionally `ties`, `region`, `shown_order`, `created_at`."""
    data = rankings if isinstance(rankings, RankingSet) else RankingSet.from_records(rankings, completions)
    return analyze(data, n_boot=n_boot, seed=seed).summary
