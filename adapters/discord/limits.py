"""Discord's message limits (https://discord.com/developers/docs/resources/message#create-message): what a card
fits into, and how a long text is split over several embeds and messages for "Show full" and the guidelines.
"""

from __future__ import annotations

__all__ = ["DESCRIPTION", "MESSAGE_EMBEDS", "EMBEDS", "CONTENT", "TITLE", "CARD_TEXT", "CARD_TEXTS", "pages"]

DESCRIPTION = 4096  # one embed's description
MESSAGE_EMBEDS = 6000  # all embeds of one message together (titles, descriptions, fields, footers)
EMBEDS = 10
CONTENT = 2000
TITLE = 256
# a card's prompt and completions share the embeds' 6,000 characters; the rest is kept for the embed titles
# ("B · placed 2nd · flagged harmful"), at most 10 of them
CARD_TEXT = 4000
CARD_TEXTS = 5400


def pages(text: str, size: int = DESCRIPTION) -> list[str]:
    """`text` in pieces of at most `size` characters, split at a line end where there is one in the second half,
    and never right after a Markdown escape (`\\`)."""
    out: list[str] = []
    while len(text) > size:
        split = text.rfind("\n", size // 2, size)
        split = split if split > 0 else size
        while split > 1 and text[split - 1] == "\\":
            split -= 1
        out.append(text[:split])
        text = text[split:]
    return [*out, text]
