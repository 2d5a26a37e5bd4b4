"""What every Slack listener needs, made once in `build_app` and passed to each `register(app, deps)`.

Caches here are conveniences, never the truth: the labeler id of a Slack user (the database answers after a
restart), one lock per card (clicks on one card are applied and re-rendered in arrival order within a process),
and the deliveries already seen (a retried event or a re-sent click is acknowledged and ignored).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections import OrderedDict
from collections.abc import Hashable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from weakref import WeakValueDictionary

from bot.database import Database

PLATFORM = "slack"
SEEN_LIMIT = 10_000


class Seen:
    """A bounded set of recent delivery keys (oldest forgotten first)."""

    def __init__(self, limit: int = SEEN_LIMIT) -> None:
        self._keys: OrderedDict[Hashable, None] = OrderedDict()
        self._limit = limit

    def first_time(self, key: Hashable) -> bool:
        if key in self._keys:
            return False
        self._keys[key] = None
        if len(self._keys) > self._limit:
            self._keys.popitem(last=False)
        return True


@dataclass
class SlackDeps:
    database: Database
    home: Path = Path(".crowdrank")
    managers: frozenset[str] = frozenset()
    logger: logging.Logger = logging.getLogger("crowdrank.slack")
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    labelers: dict[tuple[str, str], int] = field(default_factory=dict)
    seen: Seen = field(default_factory=Seen)
    _locks: WeakValueDictionary[int, asyncio.Lock] = field(default_factory=WeakValueDictionary)
    _worker: ProcessPoolExecutor | None = None

    def card_lock(self, assignment_id: int) -> asyncio.Lock:
        lock = self._locks.get(assignment_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[assignment_id] = lock
        return lock

    @property
    def worker(self) -> ProcessPoolExecutor:
        """One worker process for CPU-heavy jobs (training, reports): never the event loop answering clicks."""
        if self._worker is None:
            # spawn, not fork: the bot process has an event loop and database threads a fork would copy
            self._worker = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        return self._worker

    def close(self) -> None:
        if self._worker is not None:
            self._worker.shutdown(wait=False, cancel_futures=True)
            self._worker = None


def parse_managers(value: str) -> frozenset[str]:
    return frozenset(part.strip() for part in value.split(",") if part.strip())
