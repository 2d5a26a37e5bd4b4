"""Text for Slack's mrkdwn: user text escaped so it can never ping or link, cut to Slack's limits, and the
campaign guidelines turned from Markdown into mrkdwn.

Slack parses `<!channel>`, `<@U123>` and `<https://…|…>` in mrkdwn; escaping `&`, `<` and `>` (Slack's own three
entities) makes such text literal. Cutting counts the *escaped* length, so an entity is never split.
"""

from __future__ import annotations

from markdown_it import MarkdownIt

from bot.chat.text import Text

SECTION_LIMIT = 3000  # Slack: section text at most 3,000 characters
CUT_AT = 3000  # what a card shows of one prompt or completion in place (a plain-text section holds 3,000)

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def escape(text: str) -> str:
    """Make text literal in mrkdwn: no mention, channel ping or link survives."""
    return "".join(_ENTITIES.get(char, char) for char in text)


def mrkdwn(text: Text) -> str:
    """A catalog text in Slack's mrkdwn: `**bold**` becomes `*bold*`, values are escaped."""
    return text.render(escape, lambda template: template.replace("**", "*"))


def chunks(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Split already-formatted mrkdwn into pieces of at most `limit` characters, preferring line breaks."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        split = rest.rfind("\n", 0, limit)
        if split <= 0:
            split = rest.rfind(" ", 0, limit)
        if split <= 0:
            split = limit
        amp = rest.rfind("&", max(0, split - 5), split)
        if amp > 0 and ";" not in rest[amp:split]:
            split = amp  # never split an entity such as &amp;
        pieces.append(rest[:split])
        rest = rest[split:].lstrip("\n")
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def markdown_to_mrkdwn(markdown: str) -> str:
    """Render the Markdown subset guidelines use (headings, emphasis, lists, links, code, quotes) as mrkdwn."""
    tokens = MarkdownIt("commonmark").parse(markdown)
    lines: list[str] = []
    lists: list[list[int]] = []  # a stack of [ordered?, counter]
    quote = 0
    for token in tokens:
        kind = token.type
        if kind == "bullet_list_open":
            lists.append([0, 0])
        elif kind == "ordered_list_open":
            lists.append([1, int(token.attrGet("start") or 1) - 1])
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
            if not lists:
                lines.append("")
        elif kind == "blockquote_open":
            quote += 1
        elif kind == "blockquote_close":
            quote -= 1
        elif kind == "list_item_open":
            ordered, _ = lists[-1]
            lists[-1][1] += 1
            marker = f"{lists[-1][1]}." if ordered else "•"
            lines.append("    " * (len(lists) - 1) + marker + " ")
        elif kind == "inline":
            text = _inline(token.children or [])
            prefix = "> " * quote
            if lines and lines[-1].endswith(" ") and lines[-1].strip() and lines[-1].strip()[-1] in "•.":
                lines[-1] += text  # the first paragraph of a list item goes on the marker's line
            elif _heading_open(tokens, token):
                lines.append(f"{prefix}*{text}*")
            else:
                lines.append(prefix + text)
        elif kind == "html_block":  # raw HTML (or text like "<!here>") is shown, never interpreted
            lines.append(escape(token.content.rstrip("\n")))
        elif kind in ("fence", "code_block"):
            lines.append("```\n" + escape(token.content.rstrip("\n")) + "\n```")
        elif kind == "hr":
            lines.append("───")
        elif kind in ("paragraph_close", "heading_close") and not lists:
            lines.append("")
    return "\n".join(lines).strip()


def _heading_open(tokens: list, inline: object) -> bool:
    position = tokens.index(inline)
    return position > 0 and tokens[position - 1].type == "heading_open"


def _inline(children: list) -> str:
    out: list[str] = []
    link: list[str | None] = []
    for child in children:
        kind = child.type
        if kind == "text":
            out.append(escape(child.content))
        elif kind in ("strong_open", "strong_close"):
            out.append("*")
        elif kind in ("em_open", "em_close"):
            out.append("_")
        elif kind in ("s_open", "s_close"):
            out.append("~")
        elif kind == "code_inline":
            out.append("`" + escape(child.content) + "`")
        elif kind in ("softbreak", "hardbreak"):
            out.append("\n")
        elif kind == "link_open":
            link.append(child.attrGet("href"))
            out.append("\x00")
        elif kind == "link_close":
            href = link.pop()
            start = len(out) - 1 - out[::-1].index("\x00")
            label = "".join(out[start + 1:])
            del out[start:]
            safe = href and href.startswith(("http://", "https://", "mailto:")) and not any(c in href for c in "<>|")
            out.append(f"<{href}|{label}>" if safe else label)
        elif kind == "image":
            out.append(escape(child.content or child.attrGet("src") or ""))
        elif kind in ("html_inline",):
            out.append(escape(child.content))
    return "".join(out)
