"""Chat-layer `Text` as Discord Markdown. The catalog's markup (`**bold**`, `_italic_`, `` `code` ``) is Discord's
own, so templates pass through; values (prompts, completions, names, what a user typed) are escaped so they show as
typed: no formatting, no masked link, no mention (`@everyone`, `<@id>`, `<#channel>` stay literal text).

Escaping is for what people read; pings are stopped separately by sending everything with
`AllowedMentions.none()` (see `send.py`), so neither layer alone is trusted with it.
"""

from __future__ import annotations

import re

import discord

from bot.chat.text import Text

__all__ = ["escape", "escaped_length", "render", "plain", "clip"]

_MENTION = re.compile(r"@(everyone|here)")


def escape(value: str) -> str:
    """`value` as literal text in a Discord message or embed."""
    text = discord.utils.escape_markdown(value, ignore_links=False)
    text = text.replace("<", "\\<")  # <@id>, <@&id>, <#id>, <t:…>, <https://…> are all markup in Discord
    return _MENTION.sub("@\u200b\\1", text)  # a zero-width space keeps @everyone from being one


def escaped_length(text: str) -> int:
    """At least the length `text` has once escaped, also when measured one character at a time (as the chat
    layer cuts): `@`, `>` and `[` may each gain a character only in context, so they always count two."""
    return len(escape(text)) + sum(text.count(char) for char in "@>[")


def render(text: Text) -> str:
    return text.render(escape)


def plain(text: Text, limit: int = 80) -> str:
    """For labels and option names (plain text, no Markdown), cut to Discord's `limit`."""
    return clip(text.plain(), limit)


def clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"
