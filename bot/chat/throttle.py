"""Per-labeler rate limits: a token bucket per person and campaign, with that campaign's own limit, so a flood of
clicks is refused before it reaches the database; `/crowdrank` commands have a bucket of their own, so a person
clicking fast can still type one.

The limits are read for all campaigns in one query and kept in the process, refreshed in the background every
REFRESH_SECONDS, so a click never waits for them (only the very first, unless `crowdrank serve` warmed them). A
card's campaign is remembered when the conversation shows the card; a card this process never showed costs one
primary-key read, once. The oldest idle buckets are dropped so the tables stay bounded however many people click.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from bot import assignment, campaigns
from bot.chat.actions import Action
from bot.database import Database

__all__ = ["Rate", "Buckets", "Throttle", "DEFAULT_RATE", "REFRESH_SECONDS"]

log = logging.getLogger("crowdrank.chat")
REFRESH_SECONDS = 5.0
COMMANDS = "commands"  # the bucket key of `/crowdrank` commands, beside each campaign's


@dataclass(frozen=True)
class Rate:
    burst: float  # this many at once
    per_second: float  # then this many a second


DEFAULT_RATE = Rate(10, 5.0)  # the campaign table's defaults, for a campaign the cache does not know yet


class Buckets:
    """Token buckets, refilled continuously; each call says the rate of its key."""

    def __init__(self, *, limit: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.clock = limit, clock
        self._buckets: OrderedDict[Hashable, tuple[float, float]] = OrderedDict()  # key → (tokens, when)

    def allow(self, key: Hashable, rate: Rate) -> bool:
        """Take one token for `key`; False when its bucket is empty (nothing else changes)."""
        now = self.clock()
        tokens, when = self._buckets.pop(key, (rate.burst, now))
        tokens = min(rate.burst, tokens + (now - when) * rate.per_second)
        allowed = tokens >= 1
        self._buckets[key] = (tokens - 1 if allowed else tokens, now)
        if len(self._buckets) > self.limit:
            self._buckets.popitem(last=False)
        return allowed


class Throttle:
    def __init__(self, database: Database, *, commands: Rate = DEFAULT_RATE, refresh: float = REFRESH_SECONDS,
                 limit: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.database, self.commands, self.refresh, self.limit, self.clock = database, commands, refresh, limit, clock
        self.buckets = Buckets(limit=limit, clock=clock)
        self._rates: dict[int, Rate] = {}
        self._fresh_until: float | None = None  # None: never loaded
        self._refreshing: asyncio.Task[None] | None = None
        self._cards: OrderedDict[int, int] = OrderedDict()  # card id → campaign id

    @property
    def loaded(self) -> bool:
        return self._fresh_until is not None

    async def load(self) -> None:
        """Read every campaign's limit now (warm-up, and the background refresh)."""
        async with self.database.session() as session:
            limits = await campaigns.rate_limits(session)
        self._rates = {campaign: Rate(burst, per_second) for campaign, (burst, per_second) in limits.items()}
        self._fresh_until = self.clock() + self.refresh

    def saw_card(self, card_id: int, campaign_id: int) -> None:
        """Remember a card's campaign (the conversation calls this whenever it shows a card)."""
        self._cards[card_id] = campaign_id
        if len(self._cards) > self.limit:
            self._cards.popitem(last=False)

    async def allow_press(self, who: Hashable, action: Action) -> bool:
        """Whether this person may press now, in the bucket of the campaign the button belongs to."""
        campaign = await self._campaign_of(action)
        return self.buckets.allow((who, campaign), await self._rate(campaign))

    def allow_command(self, who: Hashable) -> bool:
        return self.buckets.allow((who, COMMANDS), self.commands)

    async def _campaign_of(self, action: Action) -> int | None:
        if not action.on_card:
            return action.target  # join, consent, region … name their campaign by id
        campaign = self._cards.get(action.target)
        if campaign is None:
            async with self.database.session() as session:
                campaign = await assignment.campaign_of_card(session, action.target)
            if campaign is not None:
                self.saw_card(action.target, campaign)
        return campaign

    async def _rate(self, campaign: int | None) -> Rate:
        if self._fresh_until is None:
            await self.load()
        elif self.clock() >= self._fresh_until and self._refreshing is None:
            self._refreshing = asyncio.ensure_future(self._refresh())
        return self._rates.get(campaign, DEFAULT_RATE) if campaign is not None else DEFAULT_RATE

    async def _refresh(self) -> None:
        try:
            await self.load()
        except Exception:  # the database busy or away: keep the limits we have, try again after `refresh`
            log.warning("could not refresh the campaigns' rate limits", exc_info=True)
            self._fresh_until = self.clock() + self.refresh
        finally:
            self._refreshing = None
