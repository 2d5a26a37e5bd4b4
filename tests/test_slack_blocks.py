"""Block Kit builders and text helpers of the Slack adapter, without a network: escaping, cutting, Markdown to
mrkdwn, tz suggestions, status bars, and every rendered example within Slack's documented limits."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from adapters.slack.blocks import card_blocks, status_text, step_blocks
from adapters.slack.mrkdwn import SECTION_LIMIT, chunks, escape, markdown_to_mrkdwn
from adapters.slack.render_examples import LIMITS, examples, render
from bot.cards import Card, Choice, letter, order_text
from bot.chat.cards import card_view
from bot.chat.examples import STATS, example_card, example_onboarding
from bot.chat.onboarding import step_view
from bot.chat.regions import region_for_tz
from bot.chat.status import bar, status_view
from tests.slack_limits import violations

DOCS = Path(__file__).resolve().parents[1] / "docs" / "slack"


def test_escape_makes_mentions_and_links_literal() -> None:
    assert escape("<!channel> & <@U1> <http://x|y>") == "&lt;!channel&gt; &amp; &lt;@U1&gt; &lt;http://x|y&gt;"


def test_prompts_and_completions_are_plain_text_shown_as_written() -> None:
    card = example_card(answers=("*bold* _x_ `code` ~s~ <!channel> <@U1> <https://a.org|x> :smile:", "b", "c", "d"))
    blocks = card_blocks(card_view(card, LIMITS))
    (body,) = [b for b in blocks if b.get("block_id") == "choice-0"]
    assert body["text"] == {"type": "plain_text", "text": card.choices[0].text, "emoji": False}
    mrkdwn_texts = [b["text"]["text"] for b in blocks if b.get("text", {}).get("type") == "mrkdwn"]
    assert not any("<!channel>" in text or "*bold*" in text for text in mrkdwn_texts)


def test_chunks_fit_sections_and_lose_nothing() -> None:
    text = escape("word & more\n" * 900)
    pieces = chunks(text)
    assert all(len(p) <= SECTION_LIMIT for p in pieces) and len(pieces) > 1
    assert "".join(pieces).replace("\n", "") == text.replace("\n", "")
    assert not any(p.endswith("&am") or p.endswith("&") for p in pieces)


def test_markdown_becomes_mrkdwn() -> None:
    text = markdown_to_mrkdwn("# Title\n\nSome **bold**, *em*, `code` and [a link](https://a.org).\n\n"
                              "- one\n- two\n\n1. first\n2. second\n\n<!here> & co")
    assert text.splitlines()[0] == "*Title*"
    assert "Some *bold*, _em_, `code` and <https://a.org|a link>." in text
    assert "• one\n• two\n\n1. first\n2. second" in text
    assert "&lt;!here&gt; &amp; co" in text


def test_markdown_links_to_unsafe_targets_keep_only_their_label() -> None:
    assert markdown_to_mrkdwn("[x](ftp://a.org/f)") == "x"
    assert "<" not in markdown_to_mrkdwn("[x](javascript:alert)")


@pytest.mark.parametrize(("tz", "region"), [
    ("Europe/Berlin", "Europe"), ("America/Sao_Paulo", "Latin America"), ("America/New_York", "North America"),
    ("America/Argentina/Buenos_Aires", "Latin America"), ("America/Indiana/Indianapolis", "North America"),
    ("Africa/Lagos", "Africa"), ("Asia/Kolkata", "Asia"), ("Australia/Sydney", "Oceania"),
    ("Pacific/Auckland", "Oceania"), ("Atlantic/Reykjavik", "Europe"), ("US/Pacific", "North America"),
    (None, None), ("UTC", None),
])
def test_tz_suggests_a_region(tz: str | None, region: str | None) -> None:
    assert region_for_tz(tz) == region


def test_bars_and_status_per_region() -> None:
    assert bar(5, 10, 10) == "█████░░░░░" and bar(30, 10, 10) == "█" * 10 and bar(0, 0, 4) == "████"
    text = status_text(status_view(STATS))
    assert "61/120 rankings (51%)" in text
    assert "Europe         " + bar(20, 20) + "  20/20" in text


def nine_long_choices() -> Card:
    base = example_card()
    choices = tuple(Choice(index=i, letter=letter(i), completion_id=i, text="<&>" * 2000, placed_at=None, flag=None)
                    for i in range(9))
    return replace(base, choices=choices, prompt="&" * 9000, criterion="Which answer " * 30)


def test_the_largest_card_fits_slack_limits() -> None:
    card = nine_long_choices()
    payload = {"blocks": card_blocks(card_view(card, LIMITS))}
    assert violations(payload) == []
    placed = replace(card, order=tuple(range(9)), ties=(False,) * 9, can_submit=True,
                     order_text=order_text(range(9), [False] * 9))
    assert violations({"blocks": card_blocks(card_view(placed, LIMITS))}) == []


def test_card_controls_follow_the_state() -> None:
    def ids(card: Card) -> list[str]:
        return [e["action_id"] for b in card_blocks(card_view(card, LIMITS))
                for e in (b.get("elements") or []) if "action_id" in e]

    fresh = ids(example_card())
    assert "rank:42:0" in fresh and "submit:42" not in fresh and "undo:42" not in fresh
    done = ids(example_card((2, 0, 3, 1), (False,) * 4))
    assert "submit:42" in done and "tie:42" in done and not any(a.startswith("rank:") for a in done)
    closed = ids(replace(example_card(), state="expired"))
    assert closed == ["next:3"]


def test_region_step_without_a_suggestion_preselects_nothing() -> None:
    state = replace(example_onboarding(region=True, guidelines=True), suggested_region="Antarctica")
    payload = {"blocks": step_blocks(step_view(state))}
    assert violations(payload) == []
    select, confirm = payload["blocks"][-1]["elements"]
    assert "initial_option" not in select and confirm["action_id"] == "region:3"  # Confirm asks for a choice


@pytest.mark.parametrize("name", sorted(examples()))
def test_every_example_fits_slack_limits(name: str) -> None:
    assert violations(examples()[name]) == []


def test_docs_slack_examples_are_current(tmp_path: Path) -> None:
    """docs/slack/ is what `python -m adapters.slack.render_examples` writes today."""
    fresh = {path.name: path.read_text(encoding="utf-8") for path in render(tmp_path)}
    committed = {path.name: path.read_text(encoding="utf-8") for path in DOCS.glob("*.json")}
    assert committed == fresh
    assert all(json.loads(text) for text in committed.values())
