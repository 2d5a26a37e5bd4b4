"""Which reward model answers: a fixed one, or the registry's active version, followed as it changes.

`ServedModel.watch()` reads the active pointer once every `poll` seconds (one small query; it works whoever
activates a version: `crowdrank train`, a scheduled retrain, a manual switch). A new version is loaded in a thread
while the old one keeps answering, then one reference is swapped: a batch already running finishes on the old
model, the next batch takes the new one. No request is dropped or failed, and each answer names its version.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from bot.errors import CrowdrankError
from trainer.registry import active_version
from trainer.score import RewardModel

log = logging.getLogger("crowdrank.serving")


class ServedModel:
    """Holds the model that scores the next batch; `follow` the registry's active version (at `url`) or not."""

    def __init__(self, model: RewardModel, *, url: str | None = None, follow: bool = False, poll: float = 1.0,
                 device: str | None = None) -> None:
        self.model, self.url, self.poll, self.device = model, url, poll, device
        self.follows_active = follow and url is not None
        self.swaps = 0
        self._warned = ""

    def current(self) -> RewardModel:
        return self.model

    async def watch(self) -> None:
        """Poll the active pointer until cancelled; swap to a newly activated version once it is loaded."""
        failed: str | None = None  # a version that would not load is not retried on every poll
        if self.url is None:
            return  # nothing to follow
        url = self.url
        while True:
            await asyncio.sleep(self.poll)
            try:
                row = await asyncio.to_thread(active_version, url)
            except (CrowdrankError, SQLAlchemyError) as error:
                self._warn(error)
                continue
            if row.name in (self.model.name, failed):
                continue
            try:
                model = await asyncio.to_thread(RewardModel.load, Path(row.path), device=self.device)
            except (CrowdrankError, OSError) as error:
                failed = row.name
                self._warn(error)
                continue
            log.info("reward model service: %s replaces %s", model.name, self.model.name)
            self.model, failed, self._warned = model, None, ""
            self.swaps += 1

    def _warn(self, error: Exception) -> None:
        line = str(error).splitlines()[0] if str(error) else error.__class__.__name__
        if line != self._warned:  # once per distinct problem, not once a second
            log.warning("reward model service: still serving %s; %s", self.model.name, line)
            self._warned = line
