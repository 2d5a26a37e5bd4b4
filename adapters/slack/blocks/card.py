"""The ranking card in Block Kit (DESIGN.md "The ranking card"): prompt, completions A, B, C…, one button per
completion still to place, the order so far, and Undo / Tie / Reset / Submit / Skip / Guidelines. Flags and
"Show full" sit in each completion's overflow menu. Every action id carries the assignment id, so a card keeps
working after a restart.
"""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import Block, DividerBlock, HeaderBlock, Option, OverflowMenuElement

from adapters.slack import action_ids
from adapters.slack.blocks.text import actions, button, context, plain, section
from adapters.slack.mrkdwn import cut, escape
from bot.cards import Card, Choice

FLAG_LABELS = {"harmful": "harmful", "unrankable": "cannot rank"}
ORDINALS = ("1st", "2nd", "3rd", "4th", "5th", "6th", "7th", "8th", "9th")
HEADER_LIMIT = 150


def card_text(card: Card) -> str:
    """The notification / accessibility text of a card message (shown where blocks are not)."""
    if card.state == "open":
        return f"Ranking card for {escape(card.campaign)}: {card.order_text or 'click the completions best first'}"
    return f"Ranking card for {escape(card.campaign)}: {card.state}"


def card_blocks(card: Card, *, progress: tuple[int, int] | None = None) -> list[Block]:
    """All blocks of one card message; `progress` = (done, remaining) after a submit."""
    if card.state != "open":
        return closed_blocks(card, progress)
    blocks: list[Block] = [
        HeaderBlock(text=plain(_title(card.criterion), HEADER_LIMIT)),
        context(f"Campaign *{escape(card.campaign)}* · click the completions *best first* · "
                f"card expires {_when(card.expires_at)}"),
        _prompt(card),
        DividerBlock(),
    ]
    blocks.extend(_choice(card, choice) for choice in card.choices)
    blocks.append(DividerBlock())
    blocks.append(section(f"*Your order:* {card.order_text}" if card.order
                          else "*Your order:* nothing placed yet — click the best completion first."))
    if card.unplaced:
        blocks.append(actions("place", *(
            button(choice.letter, action_ids.rank(card.assignment_id, choice.index), str(choice.index))
            for choice in card.unplaced)))
    blocks.append(actions("controls", *_controls(card)))
    return blocks


def closed_blocks(card: Card, progress: tuple[int, int] | None = None) -> list[Block]:
    """A submitted, skipped or expired card shrinks to one line and a "Next card" button."""
    if card.state == "submitted":
        line = f":white_check_mark: *Thank you!* Your order for this card: *{card.order_text}*"
        if progress is not None:
            done, remaining = progress
            line += f"\n{done} ranked in *{escape(card.campaign)}* so far · {remaining} still open to you"
    elif card.state == "skipped":
        line = ":fast_forward: Skipped. Nothing from this card was counted."
    else:
        line = ":hourglass: This card expired before it was submitted; its slot went back to the pool."
    preview, _ = cut(card.prompt, 200)
    return [
        section(line),
        context(f"Prompt: {preview}"),
        actions("next", button("Next card", "next", card.campaign, style="primary")),
    ]


def _title(criterion: str) -> str:
    return criterion if " " in criterion.strip() else f"Rank by {criterion}"


def _when(moment: datetime) -> str:
    stamp = int(moment.timestamp())
    return f"<!date^{stamp}^{{time}}|{moment:%H:%M} UTC>"


def _prompt(card: Card) -> Block:
    text, was_cut = cut(card.prompt)
    accessory = button("Show full", f"full:{card.assignment_id}", "prompt") if was_cut else None
    return section(f"*Prompt*\n{text}", accessory=accessory) if accessory else section(f"*Prompt*\n{text}")


def _choice(card: Card, choice: Choice) -> Block:
    text, was_cut = cut(choice.text)
    status = []
    if choice.placed_at is not None:
        status.append(f"placed {ORDINALS[choice.placed_at]}")
    if choice.flag:
        status.append(f":warning: flagged {FLAG_LABELS.get(choice.flag, choice.flag)}")
    label = f"*{choice.letter}*" + (f"  ·  _{', '.join(status)}_" if status else "")
    options = [Option(value="full", text=plain("Show full text"))] if was_cut else []
    options += [Option(value=f"flag:{kind}", text=plain(  # the service toggles: the same flag again removes it
        f"Remove the '{label_}' flag" if choice.flag == kind else f"Flag as {label_}"))
        for kind, label_ in FLAG_LABELS.items()]
    menu = OverflowMenuElement(action_id=action_ids.more(card.assignment_id, choice.index), options=options)
    return section(f"{label}\n{text}", block_id=f"choice-{choice.index}", accessory=menu)


def _controls(card: Card) -> list:  # type: ignore[type-arg]
    a = card.assignment_id
    elements = []
    if card.order:
        elements.append(button("Undo", action_ids.edit("undo", a)))
    if len(card.order) >= 2:
        tied = card.ties[-1]
        elements.append(button("Untie last two" if tied else "Tie last two", action_ids.edit("tie", a)))
    if card.order:
        elements.append(button("Reset", action_ids.edit("reset", a)))
    if card.can_submit:
        elements.append(button("Submit", f"submit:{a}", style="primary"))
    elements.append(button("Skip", f"skip:{a}"))
    elements.append(button("Guidelines", f"guidelines:{a}"))
    return elements


__all__ = ["card_blocks", "card_text", "closed_blocks"]
