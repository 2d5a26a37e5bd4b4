"""Discord text: values are escaped so they show as typed, and long texts are cut under Discord's limits."""

from __future__ import annotations

from adapters.discord.limits import DESCRIPTION, MESSAGE_EMBEDS, cut, fit, pages
from adapters.discord.markdown import escape, plain, render
from bot.chat.text import Text


def test_values_cannot_format_mention_or_link() -> None:
    shown = escape("@everyone <@123> <#9> **bold** [click](https://evil.example) @here")
    assert "@everyone" not in shown and "@here" not in shown
    assert "<@" not in shown.replace("\\<@", "") and "<#" not in shown.replace("\\<#", "")
    assert "\\*\\*bold\\*\\*" in shown and "\\[click](https://evil.example)" in shown  # no masked link


def test_templates_keep_their_markup_and_values_are_escaped() -> None:
    text = Text("Thanks, **{name}**", {"name": "_x_"})
    assert render(text) == "Thanks, **\\_x\\_**"
    assert plain(Text("**Submit** " + "y" * 100)) == "Submit " + "y" * 72 + "…"


def test_fit_keeps_short_texts_and_shares_the_rest() -> None:
    texts = ["short", "a" * 5000, "b" * 3000]
    out = fit(texts, MESSAGE_EMBEDS - 100)
    assert out[0] == "short"
    assert sum(map(len, out)) <= MESSAGE_EMBEDS - 100 and all(len(t) <= DESCRIPTION for t in out)
    assert out[1].endswith("…") and out[2].endswith("…") and abs(len(out[1]) - len(out[2])) <= 1


def test_cut_never_leaves_half_an_escape() -> None:
    assert not cut("ab\\*" * 10, 8).rstrip(" …").endswith("\\")
    assert "".join(pages("x\n" * 5000)) == "x\n" * 5000 and all(len(p) <= DESCRIPTION for p in pages("y" * 9000))
