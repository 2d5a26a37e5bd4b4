"""How long jobs (retrain, report, digest, reminders) speak without knowing a platform: each adapter implements
`Announcer` and the jobs pick one by the platform a channel or labeler belongs to.

A campaign's announcement channel is written `platform:channel` (`slack:C0123`, `discord:9876`); a bare
channel id goes to the first announcer served.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bot.chat.views import Notice

__all__ = ["Announcer", "LabelerAddress", "split_channel"]


@dataclass(frozen=True)
class LabelerAddress:
    """Where a labeler is reached: their platform, workspace (Slack team / Discord guild) and user id."""

    platform: str
    workspace: str
    user_id: str


class Announcer(Protocol):
    platform: str

    async def announce(self, channel: str, notice: Notice, files: Sequence[Path] = ()) -> None:
        """Post `notice` (and attach `files`) in a channel of this platform."""

    async def direct(self, labeler: LabelerAddress, notice: Notice) -> None:
        """Send `notice` to one labeler privately (a DM, or the platform's fallback when DMs are closed)."""


def split_channel(channel: str) -> tuple[str | None, str]:
    """`"slack:C0123"` → `("slack", "C0123")`; a bare id → `(None, id)`."""
    platform, sep, rest = channel.partition(":")
    if sep and platform in ("slack", "discord"):
        return platform, rest
    return None, channel
