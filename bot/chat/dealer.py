"""One new card message per labeler and campaign at a time.

A card goes out in two steps: the conversation returns it as a new message, and the adapter, once the platform
has posted it, calls `card_posted` with where it went. Between the two, a repeated `/crowdrank rank` (twenty in
one second) would find the card without a message and post a copy. The dealer serializes the requests of one
labeler in one campaign and remembers the card being posted: a request that finds it waits briefly for the post,
then redraws the card where it is. A post that never reports back (the platform refused it) stops counting after
EXPIRES seconds, so the next request posts the card again.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from weakref import WeakValueDictionary

__all__ = ["Dealer", "WAIT_SECONDS", "EXPIRES_SECONDS"]

WAIT_SECONDS = 1.5  # how long a repeated request waits for the post (commands must answer within 3 s)
EXPIRES_SECONDS = 10.0


@dataclass
class _Posting:
    since: float
    posted: asyncio.Event = field(default_factory=asyncio.Event)


class Dealer:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic, wait: float = WAIT_SECONDS,
                 expires: float = EXPIRES_SECONDS) -> None:
        self.clock, self.wait, self.expires = clock, wait, expires
        self._locks: WeakValueDictionary[tuple[int, str], asyncio.Lock] = WeakValueDictionary()
        self._posting: OrderedDict[int, _Posting] = OrderedDict()  # card id → its post in flight, oldest first

    def lock(self, labeler: int, campaign: str) -> asyncio.Lock:
        """Held while one labeler's next step in one campaign is decided."""
        key = (labeler, campaign)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    def dealing(self, card_id: int) -> None:
        """The card goes out as a new message now."""
        self._forget_expired()
        self._posting[card_id] = _Posting(self.clock())

    def posted(self, card_id: int) -> None:
        """The adapter reported where the card's message is."""
        posting = self._posting.pop(card_id, None)
        if posting is not None:
            posting.posted.set()

    def in_flight(self, card_id: int) -> bool:
        posting = self._posting.get(card_id)
        return posting is not None and self.clock() - posting.since < self.expires

    async def wait_posted(self, card_id: int) -> bool:
        """True once a post in flight for this card has reported back (within WAIT_SECONDS of its start);
        False at once when none is in flight."""
        posting = self._posting.get(card_id)
        if posting is None or not self.in_flight(card_id):
            return False
        left = posting.since + self.wait - self.clock()
        if left > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(posting.posted.wait(), left)
        return posting.posted.is_set()

    def _forget_expired(self) -> None:
        while self._posting:
            card_id, posting = next(iter(self._posting.items()))
            if self.clock() - posting.since < self.expires:
                return
            del self._posting[card_id]
