"""Size caps and control characters for every name and text crowdrank stores, checked before parsing or storing.

Both databases must take the same input: PostgreSQL refuses a NUL in text (a DataError that used to surface as
"something went wrong") and a lone surrogate cannot be encoded to UTF-8, while SQLite stores either silently. So
both are refused here, with one line, before any row is written. Names (one line) refuse line breaks too; texts
keep tabs and line breaks. Display names come from a platform, not from the person asking: they are cleaned and
cut instead of refused.
"""

from __future__ import annotations

import unicodedata

from bot.errors import InputError
from bot.i18n import N_

__all__ = ["check_name", "check_text", "clean_display_name", "CAMPAIGN_NAME", "CRITERION", "EXTERNAL_ID",
           "DISPLAY_NAME", "GUIDELINES", "CHAT_ID", "REGION", "CHANNEL",
           "DELIVERY"]

CAMPAIGN_NAME = 100
CRITERION = 1000
EXTERNAL_ID = 200
DISPLAY_NAME = 100
GUIDELINES = 50_000
CHAT_ID = 100  # a workspace or user id from a platform (the labeler table's column width)
REGION = 100
CHANNEL = 200  # an announcement channel, e.g. slack:C0123
DELIVERY = 200  # a platform's delivery key (the delivery table's column width)
TEXT_BREAKS = "\t\n\r"


def _bad(char: str, allowed: str) -> bool:
    """A control character (Cc) other than the allowed breaks, or a lone surrogate (Cs)."""
    category = unicodedata.category(char)
    return category == "Cs" or (category == "Cc" and char not in allowed)


def check_text(text: str, what: str, limit: int, *, field: str | None = None, breaks: bool = True) -> str:
    """`text` unchanged when it fits; otherwise InputError. The length is checked first, so a huge value is
    refused without scanning it; `breaks=False` is for one-line names."""
    if len(text) > limit:
        raise InputError(N_("{what} is too long ({size} characters; at most {limit})"), field=field, what=what,
                         size=len(text), limit=limit)
    allowed = TEXT_BREAKS if breaks else ""
    if any(_bad(char, allowed) for char in text):
        raise InputError(N_("{what} contains control characters"), field=field, what=what)
    return text


def check_name(name: str, what: str, limit: int, *, field: str | None = None) -> str:
    """A one-line name: capped, no control characters, no line breaks."""
    return check_text(name, what, limit, field=field, breaks=False)


def clean_display_name(name: str | None) -> str | None:
    """A platform's display name as stored: control characters dropped, white space collapsed, cut to
    DISPLAY_NAME; None when nothing printable is left."""
    if name is None:
        return None
    kept = "".join(" " if _bad(char, "") else char for char in name[:DISPLAY_NAME * 4])
    return " ".join(kept.split())[:DISPLAY_NAME] or None
