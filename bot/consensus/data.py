"""`RankingSet`: a set of rankings as a few flat NumPy arrays, so every metric is vectorised.

Each item has k completion *slots* (its completions in canonical order). A ranking is stored as the rank
position of every slot, 1 = best. Ties get the **average** (fractional) rank of the positions they share:
"A > B = C > D" gives A 1, B 2.5, C 2.5, D 4. This is the convention Kendall's W tie correction, Kendall's
tau-b and Krippendorff's alpha on ranks assume, and equal ranks are exactly the tied completions. Average
ranks of k positions are always multiples of 0.5, which the metrics use to treat ranks as 2k-1 discrete values.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np

from bot.errors import InputError

__all__ = ["RankingRecord", "RankingSet", "fractional_ranks"]


@dataclass(frozen=True)
class RankingRecord:
    """One submitted ranking in plain Python: completion ids best first; `ties[i]` ties position i with i-1."""

    item: Hashable
    labeler: Hashable
    best_first: Sequence[Hashable]
    ties: Sequence[bool] = ()
    region: str | None = None
    shown_order: Sequence[Hashable] = ()
    created_at: datetime | float | None = None
    ranking_id: int | None = None


def fractional_ranks(order: np.ndarray, ties: np.ndarray | None = None) -> np.ndarray:
    """Rank position per slot from orders (n, k) of slot indexes best first and tie flags (n, k).

    Tied positions share their average rank. No Python loop per ranking: group sums go through bincount.
    """
    order = np.asarray(order)
    n, k = order.shape
    tie = np.zeros((n, k), dtype=bool) if ties is None else np.asarray(ties, dtype=bool).copy()
    if tie.shape != (n, k):
        raise InputError(f"ties must have shape {(n, k)}, got {tie.shape}", field="ties")
    tie[:, 0] = False
    group = np.cumsum(~tie, axis=1) - 1 + (k * np.arange(n))[:, None]
    positions = np.broadcast_to(np.arange(1, k + 1, dtype=np.float64), (n, k))
    sums = np.bincount(group.ravel(), weights=positions.ravel(), minlength=n * k)
    counts = np.bincount(group.ravel(), minlength=n * k)
    average = (sums / np.maximum(counts, 1))[group]
    ranks = np.empty((n, k), dtype=np.float64)
    ranks[np.arange(n)[:, None], order] = average
    return ranks


@dataclass(frozen=True)
class RankingSet:
    """Rankings of one campaign (or any subset): index arrays plus the rank matrix.

    `item`, `labeler`, `region` index into `item_ids`, `labeler_keys`, `region_names` (region -1 = none given).
    `ranks[r, j]` is ranking r's rank of slot j of its item, whose completion id is `completion_ids[item, j]`.
    `shown_first[r]` is the slot shown first to the labeler (-1 unknown); `created` epoch seconds (NaN unknown).
    """

    item: np.ndarray
    labeler: np.ndarray
    region: np.ndarray
    ranks: np.ndarray
    item_ids: np.ndarray
    completion_ids: np.ndarray
    labeler_keys: np.ndarray
    region_names: tuple[str, ...] = ()
    shown_first: np.ndarray = field(default=None)
    created: np.ndarray = field(default=None)
    ranking_ids: np.ndarray = field(default=None)

    def __post_init__(self) -> None:
        n = len(self.item)
        for name, fill, dtype in (("shown_first", -1, np.int16), ("created", np.nan, np.float64),
                                  ("ranking_ids", -1, np.int64)):
            if getattr(self, name) is None:
                object.__setattr__(self, name, np.full(n, fill, dtype=dtype))
        if self.ranks.ndim != 2 or len(self.ranks) != n:
            raise InputError(f"ranks must have shape (n_rankings, k), got {self.ranks.shape}", field="ranks")

    @property
    def n(self) -> int:
        return len(self.item)

    @property
    def k(self) -> int:
        return self.ranks.shape[1]

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_labelers(self) -> int:
        return len(self.labeler_keys)

    @property
    def n_regions(self) -> int:
        return len(self.region_names)

    def subset(self, mask: np.ndarray) -> RankingSet:
        """The rankings where `mask` holds; item, labeler and region indexes keep their meaning."""
        return replace(self, item=self.item[mask], labeler=self.labeler[mask], region=self.region[mask],
                       ranks=self.ranks[mask], shown_first=self.shown_first[mask], created=self.created[mask],
                       ranking_ids=self.ranking_ids[mask])

    def votes_per_item(self) -> np.ndarray:
        return np.bincount(self.item, minlength=self.n_items)

    @classmethod
    def from_orders(cls, item: np.ndarray, labeler: np.ndarray, order: np.ndarray, *,
                    ties: np.ndarray | None = None, region: np.ndarray | None = None,
                    completion_ids: np.ndarray | None = None, item_ids: np.ndarray | None = None,
                    labeler_keys: np.ndarray | None = None, region_names: Sequence[str] = (),
                    shown_first: np.ndarray | None = None, created: np.ndarray | None = None,
                    ranking_ids: np.ndarray | None = None) -> RankingSet:
        """Build from index arrays and orders given as slot indexes best first (what benchmarks generate)."""
        item = np.asarray(item, dtype=np.int64)
        labeler = np.asarray(labeler, dtype=np.int64)
        order = np.asarray(order, dtype=np.int64)
        n, k = order.shape
        if np.any(np.sort(order, axis=1) != np.arange(k)):
            bad = int(np.flatnonzero(np.any(np.sort(order, axis=1) != np.arange(k), axis=1))[0])
            raise InputError(f"ranking {bad} is not an order of the {k} completions", field="best_first")
        if item_ids is not None:
            n_items = len(item_ids)
        else:
            n_items = int(item.max()) + 1 if n else 0
        return cls(
            item=item, labeler=labeler,
            region=np.full(n, -1, dtype=np.int64) if region is None else np.asarray(region, dtype=np.int64),
            ranks=fractional_ranks(order, ties),
            item_ids=np.arange(n_items) if item_ids is None else np.asarray(item_ids),
            completion_ids=(np.tile(np.arange(k), (n_items, 1)) if completion_ids is None
                            else np.asarray(completion_ids)),
            labeler_keys=(np.arange(int(labeler.max()) + 1 if n else 0) if labeler_keys is None
                          else np.asarray(labeler_keys)),
            region_names=tuple(region_names), shown_first=shown_first, created=created, ranking_ids=ranking_ids)

    @classmethod
    def from_records(cls, records: Iterable[RankingRecord | Mapping],
                     completions: Mapping[Hashable, Sequence[Hashable]] | None = None,
                     region_names: Sequence[str] = ()) -> RankingSet:
        """Build from plain rankings. `completions` maps item → its completion ids in slot order (its items come
        first, ranked or not); without it an item's slots are its completion ids sorted. Regions not in
        `region_names` are appended in the order seen."""
        rows = [r if isinstance(r, RankingRecord) else RankingRecord(**r) for r in records]
        if not rows:
            raise InputError("no rankings given", field="rankings")
        k = len(rows[0].best_first)
        item_index: dict[Hashable, int] = {}
        for key, ids in (completions or {}).items():
            if len(ids) == k:
                item_index.setdefault(key, len(item_index))
        labeler_index: dict[Hashable, int] = {}
        regions = list(region_names)
        region_index = {name: i for i, name in enumerate(regions)}
        item = np.empty(len(rows), dtype=np.int64)
        labeler = np.empty(len(rows), dtype=np.int64)
        region = np.full(len(rows), -1, dtype=np.int64)
        created = np.full(len(rows), np.nan)
        for r, row in enumerate(rows):
            item[r] = item_index.setdefault(row.item, len(item_index))
            labeler[r] = labeler_index.setdefault(row.labeler, len(labeler_index))
            if row.region is not None:
                if row.region not in region_index:
                    region_index[row.region] = len(regions)
                    regions.append(row.region)
                region[r] = region_index[row.region]
            if row.created_at is not None:
                created[r] = row.created_at.timestamp() if isinstance(row.created_at, datetime) else row.created_at
        slots: list[Sequence[Hashable] | None] = [None] * len(item_index)
        for key, i in item_index.items():
            if completions is not None and len(completions.get(key, ())) == k:
                slots[i] = list(completions[key])
        for r, row in enumerate(rows):
            if len(row.best_first) != k:
                raise InputError(f"ranking {row.ranking_id or r} has {len(row.best_first)} completions, "
                                 f"expected {k}", field="best_first")
            if slots[item[r]] is None:
                slots[item[r]] = sorted(row.best_first, key=repr)
        code: dict[Hashable, int] = {}
        slot_codes = np.array([[code.setdefault(c, len(code)) for c in s] for s in slots], dtype=np.int64)
        order_codes = np.array([[code.get(c, -1) for c in row.best_first] for row in rows], dtype=np.int64)
        match = order_codes[:, :, None] == slot_codes[item][:, None, :]
        order = match.argmax(axis=2)
        ties = np.zeros((len(rows), k), dtype=bool)
        first_code = np.full(len(rows), -2, dtype=np.int64)
        for r, row in enumerate(rows):
            if row.ties:
                ties[r, :len(row.ties)] = row.ties[:k]
            if row.shown_order:
                first_code[r] = code.get(row.shown_order[0], -2)
        shown_hit = slot_codes[item] == first_code[:, None]
        shown_first = np.where(shown_hit.any(axis=1), shown_hit.argmax(axis=1), -1).astype(np.int16)
        bad = ~match.any(axis=2).all(axis=1) | (np.sort(order, axis=1) != np.arange(k)).any(axis=1)
        if bad.any():
            r = int(np.flatnonzero(bad)[0])
            raise InputError(f"ranking {rows[r].ranking_id or r} of item {rows[r].item!r} is not an order of that "
                             f"item's {k} completions", field="best_first")
        completion_ids = np.empty((len(slots), k), dtype=object)
        completion_ids[:] = [list(s) for s in slots]
        if all(isinstance(c, int | np.integer) for c in code):
            completion_ids = completion_ids.astype(np.int64)
        ranking_ids = np.array([-1 if row.ranking_id is None else row.ranking_id for row in rows], dtype=np.int64)
        return cls.from_orders(
            item, labeler, order, ties=ties, region=region, completion_ids=completion_ids,
            item_ids=np.array(list(item_index), dtype=object), labeler_keys=np.array(list(labeler_index), dtype=object),
            region_names=regions, shown_first=shown_first, created=created, ranking_ids=ranking_ids)
