"""What a job gets: the database, the data folder, the announcers (one per platform served), the clock and the
worker that runs heavy work. Tests swap the clock; everything else is what `crowdrank serve` uses."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.chat.announcer import Announcer, split_channel
from bot.chat.views import Notice
from bot.database import Database
from bot.jobs.worker import run_in_worker
from storage.models import utcnow

__all__ = ["JobContext"]
log = logging.getLogger("crowdrank.jobs")


@dataclass
class JobContext:
    database: Database
    home: Path
    announcers: dict[str, Announcer] = field(default_factory=dict)  # platform → announcer; adapters add theirs
    clock: Callable[[], datetime] = utcnow
    worker: Callable[..., Awaitable[Any]] = run_in_worker

    def announcer(self, platform: str | None) -> Announcer | None:
        """The platform's announcer; a bare channel id goes to the first one served."""
        if platform is None:
            return next(iter(self.announcers.values()), None)
        return self.announcers.get(platform)

    async def announce(self, channel: str | None, notice: Notice, files: Sequence[Path] = ()) -> bool:
        """Post to a campaign's announcement channel; False (and a log line) when there is none to post to."""
        platform, channel_id = split_channel(channel) if channel else (None, "")
        announcer = self.announcer(platform) if channel else None
        if announcer is None:
            log.info("no channel to announce in: %s", notice.text.plain())
            return False
        await announcer.announce(channel_id, notice, files)
        return True
