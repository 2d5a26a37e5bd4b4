"""The chat layer's view models drawn as Discord messages: text in `content`, prompts and completions in embeds
(escaped, so they show as typed), controls as persistent buttons and selects whose custom ids are the actions.

Discord allows 5 rows of 5 buttons, a select filling a row: the card's place and control buttons come first; the
per-completion flags become one "Flag…" select (Discord has no overflow menu); "Show full" buttons become a
select too when they would not fit. A select needs a custom id matching the grammar and unique in the message,
so it takes one of its own options' actions; what the person picked arrives in `values` and is what is pressed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import discord

from adapters.discord.buttons import ActionItem, button
from adapters.discord.limits import CONTENT, DESCRIPTION, EMBEDS, MESSAGE_EMBEDS, TITLE, pages
from adapters.discord.markdown import clip, escape, plain, render
from bot.chat.views import (
    CardView,
    Control,
    FullText,
    GuidelinesView,
    Notice,
    Option,
    SkipForm,
    StatusView,
    StepView,
    View,
)

__all__ = ["Draft", "draw", "skip_modal"]

ROWS, PER_ROW, OPTIONS = 5, 5, 25
COLOURS = {"info": discord.Colour.blurple(), "refusal": discord.Colour.red(), "failure": discord.Colour.orange(),
           "unconfirmed": discord.Colour.gold()}
ICONS = {"info": "", "refusal": "⛔ ", "failure": "⚠️ ", "unconfirmed": "⏳ "}


@dataclass
class Draft:
    """One Discord message: what `send`, `edit` and the interaction responses take."""

    content: str = ""
    embeds: list[discord.Embed] = field(default_factory=list)
    view: discord.ui.View | None = None

    def fields(self) -> dict[str, Any]:
        return {"content": clip(self.content, CONTENT) or None, "embeds": self.embeds, "view": self.view,
                "allowed_mentions": discord.AllowedMentions.none()}


def draw(view: View) -> list[Draft]:
    """The message(s) that show `view`; long texts (full text, guidelines) take as many messages as they need."""
    if isinstance(view, CardView):
        return [_card(view)]
    if isinstance(view, StepView):
        return _step(view)
    if isinstance(view, Notice):
        return [Draft(ICONS[view.kind] + render(view.text), view=_buttons([view.controls]))]
    if isinstance(view, StatusView):
        adaptive = "\n" + render(view.adaptive) if view.adaptive else ""
        return [Draft(render(view.head) + "\n```\n" + view.table.replace("`", "ˋ") + "\n```" + adaptive)]
    if isinstance(view, FullText):
        return _long(render(view.title), escape(view.text))
    if isinstance(view, GuidelinesView):
        head = f"**{render(view.title)}** · {render(view.head)}"
        return _long(head, view.markdown) if view.markdown.strip() else [Draft(f"{head}\n{render(view.empty)}")]
    if isinstance(view, SkipForm):
        return [Draft(render(view.text))]  # the conversation asks for it as a modal (`skip_modal`); this is its text
    raise TypeError(f"{type(view).__name__} is not a Discord message")


def skip_modal(form: SkipForm) -> discord.ui.Modal:
    """The skip form; its custom id is the skip action, answered in `client.on_interaction` (also after a restart)."""
    modal = discord.ui.Modal(title=plain(form.title, 45), custom_id=form.action, timeout=None)
    modal.add_item(discord.ui.TextInput(label=plain(form.label, 45), placeholder=plain(form.placeholder, 100),
                                        custom_id="reason", style=discord.TextStyle.paragraph, required=False,
                                        max_length=min(form.max_length, 4000)))
    return modal


def _card(card: CardView) -> Draft:
    lines = [f"**{render(card.title)}**", render(card.intro)]
    if not card.is_open:
        lines += [render(line) for line in (card.closed, card.progress) if line is not None]
        embed = discord.Embed(title=plain(card.prompt_label, TITLE), description=escape(card.prompt) or "\u200b")
        return Draft("\n".join(lines), [embed], _buttons([card.controls]))
    if card.order is not None:
        lines.append(render(card.order))
    embeds = [discord.Embed(title=plain(card.prompt_label, TITLE), description=escape(card.prompt) or "\u200b",
                            colour=COLOURS["info"])]
    for choice in card.choices:
        title = choice.letter + (f" · {choice.status.plain()}" if choice.status else "")
        embeds.append(discord.Embed(title=clip(title, TITLE), description=escape(choice.text) or "\u200b"))
    flags = [control for choice in card.choices for control in choice.flags]
    selects = [_select(flags, card.flag_hint.plain() if card.flag_hint else "…")] if flags else []
    groups: list[Sequence[Control]] = [card.place, card.controls]
    if _rows([*groups, card.full_text]) + len(selects) <= ROWS:
        groups.append(card.full_text)
    else:
        selects.append(_select(card.full_text, "…"))
    return Draft("\n".join(lines), embeds[:EMBEDS], _buttons(groups, selects))


def _step(step: StepView) -> list[Draft]:
    """One message, edited in place step after step; guidelines longer than a message can hold are cut there
    (the card's Guidelines button shows them whole, over several messages)."""
    text = f"**{render(step.title)}**\n{render(step.text)}"
    if step.footer is not None and not step.guidelines:
        text += f"\n-# {render(step.footer)}"
    selects = []
    if step.options:
        confirm = {control.action for control in step.controls}
        selects.append(_select(step.options, plain(step.placeholder) if step.placeholder else "…",
                               chosen=step.chosen, avoid=confirm))
    draft = Draft(text, view=_buttons([step.controls], selects))
    if step.guidelines:
        footer = plain(step.footer, 300) if step.footer is not None else ""
        room = MESSAGE_EMBEDS - len(footer) - 10
        body = step.guidelines if len(step.guidelines) <= room else step.guidelines[: room - 2] + " …"
        draft.embeds = [discord.Embed(description=part) for part in pages(body)][:EMBEDS]
        if footer:
            draft.embeds[-1].set_footer(text=footer)
    return [draft]


def _long(head: str, body: str) -> list[Draft]:
    """`body` in embeds of at most 4,096 characters, at most 10 embeds and 6,000 characters per message."""
    per_message = max(1, min(EMBEDS, MESSAGE_EMBEDS // DESCRIPTION))
    parts = pages(body, min(DESCRIPTION, MESSAGE_EMBEDS // per_message))
    drafts = []
    for start in range(0, len(parts), per_message):
        embeds = [discord.Embed(description=part) for part in parts[start:start + per_message]]
        drafts.append(Draft(head if start == 0 else "", embeds))
    return drafts


def _rows(groups: Sequence[Sequence[Any]]) -> int:
    return sum(-(-len(group) // PER_ROW) for group in groups)


def _buttons(groups: Sequence[Sequence[Control]], selects: Sequence[ActionItem] = ()) -> discord.ui.View | None:
    """Each group of controls starts a row; selects take a row each, below the buttons."""
    view = discord.ui.View(timeout=None)
    row = 0
    for group in groups:
        for start in range(0, len(group), PER_ROW):
            for control in group[start:start + PER_ROW]:
                view.add_item(button(control, label=plain(control.label), row=row))
            row += 1
    for select in selects:
        select.row = row
        view.add_item(select)
        row += 1
    return view if view.children else None


def _select(choices: Sequence[Control | Option], placeholder: str, *, chosen: int | None = None,
            avoid: frozenset[str] | set[str] = frozenset()) -> ActionItem:
    """A select whose options send their actions; its own custom id is an option's action not used elsewhere."""
    choices = list(choices)[:OPTIONS]
    own = next(choice.action for choice in choices if choice.action not in avoid)
    options = [discord.SelectOption(label=plain(choice.label, 100), value=choice.action, default=index == chosen)
               for index, choice in enumerate(choices)]
    return ActionItem(discord.ui.Select(custom_id=own, placeholder=clip(placeholder, 150), options=options,
                                        min_values=1, max_values=1))
