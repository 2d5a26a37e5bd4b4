"""The simulator's hidden truth (`$CROWDRANK_HOME/simulations/<campaign>.json`, see notes/contracts.md), mapped
onto a `RankingSet` so the report can say how well consensus and trust recover it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.consensus.data import RankingSet
from bot.errors import InputError

__all__ = ["Truth", "read_truth", "truth_path"]


@dataclass(frozen=True)
class Truth:
    true_ranks: np.ndarray  # (n_items, k) rank of each slot in the true order (1 = best), NaN where unknown
    labeler_kind: dict[str, str]  # pseudonym -> "honest" | "random" | "in_order"
    contested: frozenset[str]  # item ids (as strings) where regional tastes reverse the global order
    region_ranks: dict[str, np.ndarray]  # region -> (n_items, k) like true_ranks


def truth_path(home: Path, campaign: str) -> Path:
    return home / "simulations" / f"{campaign}.json"


def _ranks(orders: dict, rankings: RankingSet, file: str) -> np.ndarray:
    k = rankings.k
    ranks = np.full((rankings.n_items, k), np.nan)
    slot_of = [{str(c): j for j, c in enumerate(row)} for row in rankings.completion_ids]
    for i, item_id in enumerate(rankings.item_ids):
        order = orders.get(str(item_id))
        if order is None:
            continue
        slots = [slot_of[i].get(str(c)) for c in order]
        if len(slots) != k or None in slots or len(set(slots)) != k:
            raise InputError(f"order of item {item_id} does not match its {k} completions", file=file,
                             field="true_order")
        ranks[i, slots] = np.arange(1, k + 1)
    return ranks


def read_truth(path: Path, rankings: RankingSet) -> Truth | None:
    """The truth for these rankings, or None when the file does not exist (a real, unsimulated campaign)."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        labelers = {str(name): str(info.get("kind", "unknown")) for name, info in data.get("labelers", {}).items()}
        true_order = data["true_order"]
    except (OSError, ValueError, AttributeError, KeyError) as exc:
        raise InputError(f"not a simulation truth file ({exc.__class__.__name__}: {exc})", file=str(path)) from exc
    return Truth(
        true_ranks=_ranks(true_order, rankings, str(path)),
        labeler_kind=labelers,
        contested=frozenset(str(item) for item in data.get("contested_items", [])),
        region_ranks={str(region): _ranks(orders, rankings, str(path))
                      for region, orders in data.get("region_order", {}).items()},
    )
