"""Discord's message limits, and fitting long texts under them: 4,096 characters per embed description, 6,000
across a message's embeds, 10 embeds. A text cut to fit ends in "…" and its whole version is one "Show full"
click away (an ephemeral message, split over as many messages as it needs).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["DESCRIPTION", "MESSAGE_EMBEDS", "EMBEDS", "fit", "cut", "pages"]

DESCRIPTION = 4096
MESSAGE_EMBEDS = 6000
EMBEDS = 10
CONTENT = 2000
ELLIPSIS = " …"


def cut(text: str, size: int) -> str:
    """`text` within `size` characters, marked as cut; never ends inside a Markdown escape (`\\`)."""
    if len(text) <= size:
        return text
    head = text[: max(0, size - len(ELLIPSIS))]
    while head.endswith("\\"):
        head = head[:-1]
    return head + ELLIPSIS


def fit(texts: Sequence[str], budget: int, each: int = DESCRIPTION) -> list[str]:
    """Cut `texts` so that together they stay within `budget` and each within `each`: short texts keep all of
    theirs, the long ones share what is left equally (water-filling)."""
    sizes = [min(len(t), each) for t in texts]
    if sum(sizes) > budget:
        left, waiting = budget, sorted(range(len(texts)), key=lambda i: sizes[i])
        while waiting:
            share = left // len(waiting)
            index = waiting.pop(0)
            sizes[index] = min(sizes[index], share)
            left -= sizes[index]
    return [cut(text, size) for text, size in zip(texts, sizes, strict=True)]


def pages(text: str, size: int = DESCRIPTION) -> list[str]:
    """`text` in pieces of at most `size` characters, split at line ends where possible."""
    out: list[str] = []
    while len(text) > size:
        split = text.rfind("\n", size // 2, size)
        split = split if split > 0 else size
        while text[:split].endswith("\\"):
            split -= 1
        out.append(text[:split])
        text = text[split:]
    return [*out, text]
