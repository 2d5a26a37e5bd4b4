"""Campaign names to offer while someone types one (Discord autocomplete): the campaigns a command can act on,
live ones first, then paused; closed campaigns are never offered. Matching ignores case."""

from __future__ import annotations

from bot import campaigns
from bot.database import Database

__all__ = ["campaign_names", "MAX_SUGGESTIONS"]

MAX_SUGGESTIONS = 25  # Discord shows at most 25 choices
ORDER = {"live": 0, "paused": 1}


async def campaign_names(database: Database, typed: str, *, limit: int = MAX_SUGGESTIONS) -> list[str]:
    needle = typed.strip().casefold()
    async with database.session() as session:
        listed = await campaigns.list_campaigns(session)
    offered = sorted((c for c in listed if c.status in ORDER and needle in c.name.casefold()),
                     key=lambda c: (ORDER[c.status], c.name))
    return [c.name for c in offered][:limit]
