"""The ranking card: what a labeler sees of one assignment, as plain data both chat adapters render.

Frozen and platform-neutral, so an adapter only translates it into Block Kit or a discord.py view; every rule
(what is placed, what may be submitted) is decided in `bot/` before the card is built.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

__all__ = ["Card", "Choice", "letter", "order_text"]

CARD_STATES = ("open", "submitted", "skipped", "expired")


def letter(index: int) -> str:
    """0 → "A": the label of a choice in the labeler's shown order (k is at most 9)."""
    return string.ascii_uppercase[index]


def order_text(order: Sequence[int], ties: Sequence[bool]) -> str:
    """"C > A = B > D" from placed indexes (best first) and tie marks (True = tied with the previous)."""
    parts: list[str] = []
    for position, index in enumerate(order):
        if position:
            parts.append("=" if ties[position] else ">")
        parts.append(letter(index))
    return " ".join(parts)


@dataclass(frozen=True)
class Choice:
    """One completion as shown: `index` is its position in the labeler's shuffle, `placed_at` its rank so far."""

    index: int
    letter: str
    completion_id: int
    text: str
    placed_at: int | None
    flag: str | None


@dataclass(frozen=True)
class Card:
    """One assignment's card. `order` holds choice indexes best first; `ties[i]` ties order[i] with order[i-1]."""

    assignment_id: int
    campaign_id: int
    campaign: str
    criterion: str
    prompt: str
    choices: tuple[Choice, ...]
    order: tuple[int, ...]
    ties: tuple[bool, ...]
    state: str
    can_submit: bool
    expires_at: datetime
    order_text: str
    guidelines_version: int
    message_ref: str | None = None

    @property
    def is_open(self) -> bool:
        return self.state == "open"

    @property
    def unplaced(self) -> tuple[Choice, ...]:
        return tuple(choice for choice in self.choices if choice.placed_at is None)
