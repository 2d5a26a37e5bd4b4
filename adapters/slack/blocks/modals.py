"""Modals: the whole text behind "Show full", the guidelines, and the optional reason asked before a skip."""

from __future__ import annotations

import json

from slack_sdk.models.blocks import Block, InputBlock, PlainTextInputElement
from slack_sdk.models.views import View

from adapters.slack import action_ids
from adapters.slack.blocks.text import context, plain, section
from adapters.slack.mrkdwn import chunks, escape, markdown_to_mrkdwn

MODAL_BLOCK_LIMIT = 100
TITLE_LIMIT = 24


def text_modal(title: str, mrkdwn: str) -> View:
    """A read-only modal holding long mrkdwn in as many sections as it needs (up to Slack's 100 blocks)."""
    pieces = chunks(mrkdwn)
    blocks: list[Block] = [section(piece) for piece in pieces[: MODAL_BLOCK_LIMIT - 1]]
    if len(pieces) >= MODAL_BLOCK_LIMIT:
        left = sum(len(piece) for piece in pieces[MODAL_BLOCK_LIMIT - 1:])
        blocks.append(context(f"… {left:,} more characters are not shown (Slack allows 100 blocks per modal)."))
    return View(type="modal", title=plain(title, TITLE_LIMIT), close=plain("Close"), blocks=blocks)


def full_text_modal(label: str, text: str) -> View:
    """`label` is "Prompt" or "Completion B"; the text is escaped, so it stays literal."""
    return text_modal(label, escape(text) or "_(empty)_")


def guidelines_modal(campaign: str, guidelines_markdown: str, version: int) -> View:
    body = markdown_to_mrkdwn(guidelines_markdown) or "_This campaign has no written guidelines._"
    view = text_modal("Guidelines", f"*{escape(campaign)}* · version {version}\n\n{body}")
    return view


def skip_modal(assignment_id: int, channel: str, message_ts: str) -> View:
    """Skip asks for an optional reason; the card's message is named in private_metadata to update it after."""
    metadata = json.dumps({"assignment": assignment_id, "channel": channel, "ts": message_ts})
    reason = PlainTextInputElement(action_id="reason", multiline=True, max_length=500,
                                   placeholder=plain("e.g. I do not know this topic"))
    return View(
        type="modal", callback_id=action_ids.SKIP_VIEW, private_metadata=metadata,
        title=plain("Skip this card"), submit=plain("Skip"), close=plain("Back"),
        blocks=[
            section("Skipped cards are not counted and go back to the pool for someone else."),
            InputBlock(block_id="reason", label=plain("Why? (optional)"), element=reason, optional=True),
        ],
    )
