"""Small text-object helpers shared by the block builders: user text is always verbatim mrkdwn (no auto-parsed
mentions or channel names) and escaped before it gets here."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

BUTTON_TEXT_LIMIT = 75


def md(text: str) -> MarkdownTextObject:
    """Verbatim mrkdwn: Slack does not auto-link names or parse `@here` in it; callers escape user text."""
    return MarkdownTextObject(text=text, verbatim=True)


def plain(text: str, limit: int = BUTTON_TEXT_LIMIT) -> PlainTextObject:
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return PlainTextObject(text=text, emoji=True)


def section(text: str, **kwargs: object) -> SectionBlock:
    return SectionBlock(text=md(text), **kwargs)  # type: ignore[arg-type]


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[md(text)])


def button(text: str, action_id: str, value: str | None = None, style: str | None = None) -> ButtonElement:
    return ButtonElement(text=plain(text), action_id=action_id, value=value, style=style)


def actions(block_id: str, *elements: ButtonElement) -> ActionsBlock:
    return ActionsBlock(block_id=block_id, elements=list(elements))
