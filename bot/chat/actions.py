"""The action grammar: every button, menu and modal value a platform sends back, parsed and formatted here once.

An action is `verb:target[:arg[:kind]]`: `rank:<card>:<choice>`, `undo:<card>`, `flag:<card>:<choice>:harmful`,
`join:<campaign>`, `region:<campaign>:<region index>`, … Targets are database ids (cards are assignment ids,
campaigns campaign ids), so a button keeps working after a restart and never carries free text. Parsing accepts
ASCII digits only, within the database's integer range; anything else is a `BadAction`, a one-line refusal.
Strings stay under Discord's 100-character `custom_id` limit (Slack allows 255).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from bot.errors import InputError
from bot.i18n import N_

__all__ = ["Action", "BadAction", "parse", "format_action", "CARD_VERBS", "CAMPAIGN_VERBS", "FLAG_KINDS",
           "PATTERN", "MAX_ID"]

MAX_ID = 2**31 - 1  # PostgreSQL `integer`; SQLite would take more, but one range for both
MAX_CHOICE = 8  # k is at most 9
MAX_LENGTH = 100
FLAG_KINDS = ("harmful", "unrankable")

Verb = Literal["rank", "undo", "tie", "reset", "submit", "skip", "guidelines", "full", "flag",
               "join", "next", "consent", "region", "read", "remind-off"]

# verb → what follows the target: None, a choice index, a region index, a guidelines version, a choice + flag kind
CARD_VERBS: dict[str, str | None] = {
    "rank": "choice", "undo": None, "tie": None, "reset": None, "submit": None, "skip": None,
    "guidelines": None, "full": "optional-choice", "flag": "choice+kind",
}
CAMPAIGN_VERBS: dict[str, str | None] = {
    "join": None, "next": None, "consent": None, "region": "optional-region", "read": "version", "remind-off": None,
}
_VERBS = "|".join(re.escape(verb) for verb in (*CARD_VERBS, *CAMPAIGN_VERBS))
# ASCII only: `\d` would accept fullwidth and other Unicode digits, which int() then reads
PATTERN = re.compile(rf"^({_VERBS}):([0-9]{{1,10}})(?::([0-9]{{1,10}}))?(?::([a-z]{{1,20}}))?$", re.ASCII)


class BadAction(InputError):
    """A button value that is not ours (tampered, truncated, from another version of the bot)."""

    def __init__(self, value: str) -> None:
        shown = value if len(value) <= 40 else value[:40] + "…"
        super().__init__(N_("this button is not one crowdrank understands ({value}); use the newest card"),
                         value=repr(shown))


@dataclass(frozen=True)
class Action:
    """A parsed action. `target` is an assignment id for card verbs and a campaign id for the others; `arg` a
    choice index, region index or guidelines version; `kind` a flag kind."""

    verb: str
    target: int
    arg: int | None = None
    kind: str | None = None

    @property
    def on_card(self) -> bool:
        return self.verb in CARD_VERBS

    def __str__(self) -> str:
        return format_action(self.verb, self.target, self.arg, self.kind)


def format_action(verb: str, target: int, arg: int | None = None, kind: str | None = None) -> str:
    parts = [verb, str(target)] + ([str(arg)] if arg is not None else []) + ([kind] if kind else [])
    return ":".join(parts)


def _in_range(number: int, low: int, high: int) -> bool:
    return low <= number <= high


def parse(value: str) -> Action:
    """The action a platform sent back, or `BadAction`."""
    if not isinstance(value, str) or len(value) > MAX_LENGTH:
        raise BadAction(str(value)[:MAX_LENGTH])
    match = PATTERN.fullmatch(value)  # `$` alone would let a trailing newline through
    if match is None:
        raise BadAction(value)
    verb, target_text, arg_text, kind = match.groups()
    target = int(target_text)
    arg = int(arg_text) if arg_text is not None else None
    shape = CARD_VERBS.get(verb, CAMPAIGN_VERBS.get(verb))
    if not _in_range(target, 1, MAX_ID) or not _fits(shape, arg, kind):
        raise BadAction(value)
    return Action(verb, target, arg, kind)


def _fits(shape: str | None, arg: int | None, kind: str | None) -> bool:
    if shape is None:
        return arg is None and kind is None
    if shape == "choice":
        return arg is not None and _in_range(arg, 0, MAX_CHOICE) and kind is None
    if shape == "optional-choice":
        return (arg is None or _in_range(arg, 0, MAX_CHOICE)) and kind is None
    if shape == "choice+kind":
        return arg is not None and _in_range(arg, 0, MAX_CHOICE) and kind in FLAG_KINDS
    if shape == "optional-region":  # without a region: "Confirm" pressed with nothing selected
        return (arg is None or _in_range(arg, 0, 99)) and kind is None
    return arg is not None and _in_range(arg, 1, MAX_ID) and kind is None  # a guidelines version
