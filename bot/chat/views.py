"""View models: everything a platform renders, decided here once. An adapter draws them (Block Kit,
`discord.ui`) and decides nothing: which controls a card shows, their labels and actions, the texts.

Raw user text (prompts, completions, guidelines Markdown) travels as `str` fields and is escaped by the adapter;
every other visible text is a catalog `Text`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from bot.chat.text import Text

Style = Literal["primary", "danger"] | None
Intent = Literal["private", "update", "dm", "channel"]

__all__ = ["Control", "Notice", "Style", "Limits", "ChoiceView", "CardView", "Option", "StepView", "StatusView",
           "FullText", "GuidelinesView", "SkipForm", "HomeView", "View", "Reply", "Intent"]


@dataclass(frozen=True)
class Control:
    """A button: its label, the action string it sends back (see `bot.chat.actions`), and its emphasis."""

    label: Text
    action: str
    style: Style = None


@dataclass(frozen=True)
class Notice:
    """A short message: text and the controls under it (e.g. "Next card", "No more reminders"). `kind` lets a
    platform mark a refusal or a failure (an icon, a colour); `unconfirmed` says a change was not stored in time,
    so the platform must not be answered as if it were."""

    text: Text
    controls: tuple[Control, ...] = ()
    kind: Literal["info", "refusal", "failure", "unconfirmed"] = "info"


@dataclass(frozen=True)
class Limits:
    """How much text of one prompt or completion a platform shows in place; `measure` counts as the platform does
    (Slack counts escaped text, where `&` becomes `&amp;`). With `total`, the prompt and completions of a card
    share that budget: short texts keep all of theirs, the long ones split the rest equally."""

    text: int
    measure: Callable[[str], int] = len
    total: int | None = None  # all texts of one card together (Discord: 6,000 characters across a message's embeds)


@dataclass(frozen=True)
class ChoiceView:
    letter: str
    text: str  # raw, already cut to the platform's limit (an ellipsis marks the cut)
    cut: bool
    status: Text | None  # "placed 1st · flagged harmful"
    flags: tuple[Control, ...]  # one toggle per flag kind


@dataclass(frozen=True)
class CardView:
    """One ranking card. An open card has choices, buttons to place and controls; a closed one (submitted,
    skipped, expired) has `closed`, maybe `progress`, a prompt preview and the "Next card" control."""

    card_id: int
    campaign_id: int
    is_open: bool
    summary: Text  # the notification text
    title: Text
    intro: Text
    prompt_label: Text
    prompt: str
    prompt_cut: bool
    choices: tuple[ChoiceView, ...]
    order: Text | None
    place: tuple[Control, ...]
    controls: tuple[Control, ...]
    full_text: tuple[Control, ...]  # "Full prompt", "Full B": one per text that was cut
    flag_hint: Text | None
    expires_at: datetime
    closed: Text | None = None
    progress: Text | None = None


@dataclass(frozen=True)
class Option:
    label: Text
    action: str


@dataclass(frozen=True)
class StepView:
    """One onboarding step (consent, region, guidelines) or the final "all set"."""

    campaign_id: int
    step: Literal["consent", "region", "guidelines", "done"]
    title: Text
    text: Text
    controls: tuple[Control, ...] = ()
    options: tuple[Option, ...] = ()  # the region menu
    chosen: int | None = None  # the option selected at first (the suggestion)
    placeholder: Text | None = None
    guidelines: str | None = None  # Markdown, as the manager wrote it
    footer: Text | None = None


@dataclass(frozen=True)
class StatusView:
    """A campaign's progress: a head line and a monospace table of per-region bars."""

    head: Text
    table: str
    adaptive: Text | None = None  # adaptive votes: how many items stopped early, and why


@dataclass(frozen=True)
class FullText:
    """The whole of a cut prompt or completion, shown privately."""

    title: Text
    text: str
    close: Text


@dataclass(frozen=True)
class GuidelinesView:
    title: Text
    head: Text
    markdown: str
    empty: Text
    close: Text


@dataclass(frozen=True)
class SkipForm:
    """Skipping asks for an optional reason first; the form sends `action` back with the reason."""

    action: str
    title: Text
    text: Text
    label: Text
    placeholder: Text
    submit: Text
    cancel: Text
    max_length: int


@dataclass(frozen=True)
class HomeView:
    """The bot's home (Slack App Home, a Discord overview): the live campaigns, each a notice with its Join."""

    intro: Text
    campaigns: tuple[Notice, ...]
    empty: Text


View = CardView | StepView | StatusView | Notice | FullText | GuidelinesView | SkipForm | HomeView


@dataclass(frozen=True)
class Reply:
    """What to show and where. `private`: only the person who acted sees it; `update`: edit the card's stored
    message (`message_ref`), or without one the message the press came from; `dm`: a new message in the person's
    own conversation with the bot; `channel`: a new message in `channel`."""

    intent: Intent
    view: View
    message_ref: str | None = None
    channel: str | None = None
    files: tuple[Path, ...] = field(default=())
