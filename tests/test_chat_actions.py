"""The action grammar: every value a button or menu sends back, parsed once (no platform, no database)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.chat.actions import MAX_ID, Action, BadAction, format_action, parse


@pytest.mark.parametrize(("value", "expected"), [
    ("rank:12:3", Action("rank", 12, 3)),
    ("undo:12", Action("undo", 12)),
    ("flag:12:0:harmful", Action("flag", 12, 0, "harmful")),
    ("full:12", Action("full", 12)),
    ("full:12:8", Action("full", 12, 8)),
    ("join:4", Action("join", 4)),
    ("region:4:6", Action("region", 4, 6)),
    ("region:4", Action("region", 4)),
    ("read:4:2", Action("read", 4, 2)),
    ("remind-off:4", Action("remind-off", 4)),
    (f"submit:{MAX_ID}", Action("submit", MAX_ID)),
])
def test_values_parse_and_format_back(value: str, expected: Action) -> None:
    assert parse(value) == expected and str(expected) == value


@pytest.mark.parametrize("value", [
    "rank:１:２",  # fullwidth digits: int() would read them
    "rank:٣:0",  # Arabic-Indic digits
    "rank:2147483648:0",  # past PostgreSQL's integer
    "rank:9223372036854775808:0",  # past SQLite's integer
    "rank:0:0", "rank:12", "rank:12:9", "rank:12:-1", "undo:12:1", "flag:12:0", "flag:12:0:boring",
    "join:4:1", "read:4", "read:4:0", "region:4:100", "RANK:1:1", "rank:1:1 ", " rank:1:1", "rank:+1:1",
    "rank:1:1\n", "", "next", "join", "rank:" + "1" * 200, "drop:1",
])
def test_anything_else_is_a_clean_refusal(value: str) -> None:
    with pytest.raises(BadAction) as refused:
        parse(value)
    assert "not one crowdrank understands" in str(refused.value) and "\n" not in str(refused.value)


@given(st.text(max_size=120))
def test_no_input_escapes_the_grammar(value: str) -> None:
    """Whatever arrives is either an action whose ids fit the database or a BadAction, never another error."""
    try:
        action = parse(value)
    except BadAction:
        return
    assert 1 <= action.target <= MAX_ID and format_action(action.verb, action.target, action.arg, action.kind) == value
