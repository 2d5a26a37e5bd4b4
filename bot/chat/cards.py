"""The ranking card as a view model (DESIGN.md "The ranking card"): which controls exist and when, their labels,
the order line, the closed states. Tie is offered once two choices are placed (the rule `ranking_session.tie`
enforces), Submit once every choice is placed, Undo and Reset once anything is.
"""

from __future__ import annotations

from typing import Any

from bot.cards import Card, Choice
from bot.chat.actions import FLAG_KINDS, format_action
from bot.chat.catalog import N_, _
from bot.chat.text import Text
from bot.chat.views import CardView, ChoiceView, Control, Limits

__all__ = ["card_view", "cut", "shares", "ELLIPSIS", "PREVIEW_CHARS"]

ELLIPSIS = "…"
PREVIEW_CHARS = 200
FLAG_LABELS = {"harmful": N_("harmful"), "unrankable": N_("cannot rank")}
ORDINALS = (N_("1st"), N_("2nd"), N_("3rd"), N_("4th"), N_("5th"), N_("6th"), N_("7th"), N_("8th"), N_("9th"))


def cut(text: str, limits: Limits) -> tuple[str, bool]:
    """`text` shortened to what the platform shows in place (ellipsis included); True when something was cut."""
    if limits.measure(text) <= limits.text:
        return text, False
    room = limits.text - limits.measure(ELLIPSIS)
    size = 0
    for position, char in enumerate(text):
        size += limits.measure(char)
        if size > room:
            return text[:position].rstrip() + ELLIPSIS, True
    return text, False


def shares(texts: list[str], limits: Limits) -> list[Limits]:
    """Each text's own limit when `limits.total` caps them together: water-filling, shortest first, so a short
    text keeps all of itself and the long ones split what is left equally."""
    if limits.total is None:
        return [limits] * len(texts)
    sizes = [min(limits.measure(text), limits.text) for text in texts]
    left, waiting = limits.total, sorted(range(len(texts)), key=lambda i: sizes[i])
    for position, index in enumerate(waiting):
        sizes[index] = min(sizes[index], left // (len(waiting) - position))
        left -= sizes[index]
    return [Limits(size, limits.measure) for size in sizes]


def card_view(card: Card, limits: Limits, *, progress: tuple[int, int] | None = None) -> CardView:
    """The card as every platform draws it; `progress` = (done, remaining) for a submitted card."""
    own = shares([card.prompt, *(choice.text for choice in card.choices)], limits)
    prompt, prompt_cut = cut(card.prompt, own[0])
    common: dict[str, Any] = dict(
        card_id=card.assignment_id, campaign_id=card.campaign_id, title=_title(card.criterion),
        intro=_("Campaign **{campaign}** · click the completions **best first** · card expires {time} UTC",
                campaign=card.campaign, time=f"{card.expires_at:%H:%M}"),
        prompt_label=_("Prompt"), expires_at=card.expires_at)
    if card.state != "open":
        preview, _was_cut = cut(card.prompt, Limits(PREVIEW_CHARS))
        return CardView(
            **common, is_open=False, summary=_("Ranking card for {campaign}: {state}", campaign=card.campaign,
                                                   state=card.state),
            prompt=preview, prompt_cut=False, choices=(), order=None, place=(), full_text=(), flag_hint=None,
            controls=(Control(_("Next card"), format_action("next", card.campaign_id), "primary"),),
            closed=_closed_line(card), progress=_progress_line(card, progress))
    choices = tuple(_choice_view(card, choice, share) for choice, share in zip(card.choices, own[1:], strict=True))
    full = [Control(_("Full prompt"), format_action("full", card.assignment_id))] if prompt_cut else []
    full += [Control(_("Full {letter}", letter=view.letter), format_action("full", card.assignment_id, choice.index))
             for view, choice in zip(choices, card.choices, strict=True) if view.cut]
    return CardView(
        **common, is_open=True,
        summary=_("Ranking card for {campaign}: {order}", campaign=card.campaign, order=card.order_text)
        if card.order else _("Ranking card for {campaign}: click the completions best first",
                             campaign=card.campaign),
        prompt=prompt, prompt_cut=prompt_cut, choices=choices,
        order=_("**Your order:** {order}", order=card.order_text) if card.order
        else _("**Your order:** nothing placed yet — click the best completion first."),
        place=tuple(Control(Text("{letter}", {"letter": choice.letter}),
                            format_action("rank", card.assignment_id, choice.index))
                    for choice in card.unplaced),
        controls=_controls(card), full_text=tuple(full),
        flag_hint=_("Flag a completion if it is harmful or you cannot rank it; the same flag again removes it."))


def _title(criterion: str) -> Text:
    # a one-word criterion ("helpfulness") reads as "Rank by helpfulness"; a question is shown as it is
    return Text("{criterion}", {"criterion": criterion}) if " " in criterion.strip() \
        else _("Rank by {criterion}", criterion=criterion)


def _choice_view(card: Card, choice: Choice, limits: Limits) -> ChoiceView:
    text, was_cut = cut(choice.text, limits)
    status: list[str] = []
    if choice.placed_at is not None:
        status.append(_("placed {ordinal}", ordinal=_(ORDINALS[choice.placed_at]).plain()).plain())
    if choice.flag:
        status.append(_("flagged {flag}", flag=_(FLAG_LABELS.get(choice.flag, choice.flag)).plain()).plain())
    flags = tuple(
        Control(_("Remove the '{flag}' flag from {letter}", flag=_(FLAG_LABELS[kind]).plain(), letter=choice.letter)
                if choice.flag == kind else
                _("Flag {letter} as {flag}", letter=choice.letter, flag=_(FLAG_LABELS[kind]).plain()),
                format_action("flag", card.assignment_id, choice.index, kind), "danger")
        for kind in FLAG_KINDS)
    return ChoiceView(letter=choice.letter, text=text, cut=was_cut,
                      status=Text("{status}", {"status": " · ".join(status)}) if status else None, flags=flags)


def _controls(card: Card) -> tuple[Control, ...]:
    a = card.assignment_id
    controls: list[Control] = []
    if card.order:
        controls.append(Control(_("Undo"), format_action("undo", a)))
    if len(card.order) >= 2:
        controls.append(Control(_("Untie last two") if card.ties[-1] else _("Tie last two"), format_action("tie", a)))
    if card.order:
        controls.append(Control(_("Reset"), format_action("reset", a)))
    if card.can_submit:
        controls.append(Control(_("Submit"), format_action("submit", a), "primary"))
    controls.append(Control(_("Skip"), format_action("skip", a)))
    controls.append(Control(_("Guidelines"), format_action("guidelines", a)))
    return tuple(controls)


def _closed_line(card: Card) -> Text:
    if card.state == "submitted":
        return _("**Thank you!** Your order for this card: **{order}**", order=card.order_text)
    if card.state == "skipped":
        return _("Skipped. Nothing from this card was counted.")
    return _("This card expired before it was submitted; its slot went back to the pool.")


def _progress_line(card: Card, progress: tuple[int, int] | None) -> Text | None:
    if card.state != "submitted" or progress is None:
        return None
    done, remaining = progress
    return _("{done} ranked in **{campaign}** so far · {remaining} still open to you", done=done,
             campaign=card.campaign, remaining=remaining)
