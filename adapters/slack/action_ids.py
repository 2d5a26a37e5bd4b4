"""Action ids carry everything a click needs, so a card keeps working after a restart: `rank:<assignment>:<index>`,
`undo:<assignment>`, … Campaign names travel in the button `value` (they may contain any character).

Patterns here are what the listeners match on; `parse` turns an action id back into its numbers.
"""

from __future__ import annotations

import re

RANK = re.compile(r"^rank:(\d+):(\d+)$")
EDIT = re.compile(r"^(undo|tie|reset):(\d+)$")
SUBMIT = re.compile(r"^submit:(\d+)$")
SKIP = re.compile(r"^skip:(\d+)$")
GUIDELINES = re.compile(r"^guidelines:(\d+)$")
PROMPT_FULL = re.compile(r"^full:(\d+)$")
MORE = re.compile(r"^more:(\d+):(\d+)$")  # the overflow menu of one completion: show full, flag
NEXT = re.compile(r"^next(:\d+)?$")
JOIN = re.compile(r"^join(:\d+)?$")
CONSENT = "consent"
REGION_PICK = "region_pick"  # the select: changing it only moves the choice
REGION = "region"  # the Confirm button next to it: commits the selected region
READ = re.compile(r"^read:(\d+)$")  # guidelines version acknowledged
SKIP_VIEW = "skip_view"


def rank(assignment_id: int, index: int) -> str:
    return f"rank:{assignment_id}:{index}"


def edit(verb: str, assignment_id: int) -> str:
    return f"{verb}:{assignment_id}"


def more(assignment_id: int, index: int) -> str:
    return f"more:{assignment_id}:{index}"


def numbers(pattern: re.Pattern[str], action_id: str) -> tuple[int, ...]:
    """The integers an action id carries; a malformed id is a bug in our own blocks, so it raises."""
    match = pattern.match(action_id)
    if match is None:
        raise ValueError(f"action id {action_id!r} does not match {pattern.pattern}")
    return tuple(int(group) for group in match.groups() if group and group.isdigit())
