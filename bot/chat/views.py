"""View models: everything a platform renders, decided here once. An adapter draws them (Block Kit,
`discord.ui`) and decides nothing: which controls a card shows, their labels and actions, the texts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.chat.text import Text

Style = Literal["primary", "danger"] | None

__all__ = ["Control", "Notice", "Style"]


@dataclass(frozen=True)
class Control:
    """A button: its label, the action string it sends back (see `bot.chat.actions`), and its emphasis."""

    label: Text
    action: str
    style: Style = None


@dataclass(frozen=True)
class Notice:
    """A short message: text and the controls under it (e.g. "Next card", "No more reminders")."""

    text: Text
    controls: tuple[Control, ...] = ()
