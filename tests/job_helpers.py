"""Helpers for the job tests: a clock the test moves, an announcer that records what it was asked to post, a
campaign with rankings to train on, and work for the worker process that crashes it."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, select

from bot.chat.announcer import LabelerAddress
from bot.chat.views import Notice
from storage.engine import make_sync_engine
from storage.models import Campaign
from tests.reward_helpers import add_ranking, seed_campaign


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def at(text: str) -> datetime:
    """`"2026-12-01 03:00"` as an aware UTC time."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass
class RecordingAnnouncer:
    platform: str = "slack"
    posts: list[tuple[str, Notice, tuple[Path, ...]]] = field(default_factory=list)
    directs: list[tuple[LabelerAddress, Notice]] = field(default_factory=list)

    async def announce(self, channel: str, notice: Notice, files: Sequence[Path] = ()) -> None:
        self.posts.append((channel, notice, tuple(files)))

    async def direct(self, labeler: LabelerAddress, notice: Notice) -> None:
        self.directs.append((labeler, notice))

    def texts(self) -> list[str]:
        return [notice.text.plain() for _, notice, _ in self.posts]


def crash_training(url: str, home: str, campaign: str) -> dict:
    """Work for the worker process that dies the way a killed training does."""
    os._exit(3)


def set_campaign(url: str, name: str, **values: object) -> None:
    engine = make_sync_engine(url)
    with Session(engine) as session:
        campaign = session.exec(select(Campaign).where(Campaign.name == name)).one()
        for key, value in values.items():
            setattr(campaign, key, value)
        session.add(campaign)
        session.commit()
    engine.dispose()


def ranked_campaign(url: str, items: int = 4, **settings: object) -> str:
    """A live campaign (`pairs-test`) with two consistent rankings per item: enough pairs of enough prompts to
    train and validate on."""
    seeded = seed_campaign(url, items=items)
    for item in seeded.items:
        add_ranking(url, seeded, "a", item, [0, 1, 2, 3])
        add_ranking(url, seeded, "b", item, [0, 2, 1, 3], region="Europe")
    set_campaign(url, seeded.campaign, status="live", **settings)
    return seeded.campaign
