"""Discord text: values are escaped so they show as typed, and long texts are split under Discord's limits."""

from __future__ import annotations

from adapters.discord.limits import DESCRIPTION, pages
from adapters.discord.markdown import escape, escaped_length, plain, render
from bot.chat.cards import shares
from bot.chat.text import Text
from bot.chat.views import Limits


def test_values_cannot_format_mention_or_link() -> None:
    shown = escape("@everyone <@123> <#9> **bold** [click](https://evil.example) @here")
    assert "@everyone" not in shown and "@here" not in shown
    assert "<@" not in shown.replace("\\<@", "") and "<#" not in shown.replace("\\<#", "")
    assert "\\*\\*bold\\*\\*" in shown and "\\[click](https://evil.example)" in shown  # no masked link


def test_templates_keep_their_markup_and_values_are_escaped() -> None:
    text = Text("Thanks, **{name}**", {"name": "_x_"})
    assert render(text) == "Thanks, **\\_x\\_**"
    assert plain(Text("**Submit** " + "y" * 100)) == "Submit " + "y" * 72 + "…"


def test_escaped_length_never_undercounts_even_per_character() -> None:
    for text in ("> quote\n- item\n# head", "@everyone and @here", "[a](https://b) <@1> *x* _y_ `z`"):
        assert escaped_length(text) >= len(escape(text))
        assert sum(escaped_length(char) for char in text) >= len(escape(text))


def test_a_card_budget_keeps_short_texts_and_shares_the_rest() -> None:
    own = shares(["short", "a" * 5000, "b" * 3000], Limits(4000, len, total=5400))
    assert [limit.text for limit in own] == [5, 2698, 2697]
    assert [limit.text for limit in shares(["x", "y"], Limits(10))] == [10, 10]  # no total: the same limit


def test_pages_split_at_line_ends_and_never_after_an_escape() -> None:
    assert "".join(pages("x\n" * 5000)) == "x\n" * 5000 and all(len(p) <= DESCRIPTION for p in pages("y" * 9000))
    assert all(not page.endswith("\\") for page in pages("ab\\*" * 3000))
