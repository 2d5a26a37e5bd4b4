"""Consensus across regions: agreement metrics, aggregation to consensus orders, and the researchers' report.

`RankingSet` holds rankings as arrays; `metrics` measures agreement; `labeler_tau` feeds the trust score.
"""

from bot.consensus.data import RankingRecord, RankingSet
from bot.consensus.metrics import LabelerTau, labeler_tau, loo_tau

__all__ = ["RankingRecord", "RankingSet", "LabelerTau", "labeler_tau", "loo_tau"]
