"""Render every Block Kit message and modal the bot sends to JSON under docs/slack/, so a reader can paste them
into Slack's Block Kit Builder (https://app.slack.com/block-kit-builder) and see the bot without a workspace.

    python -m adapters.slack.render_examples [--out docs/slack]

The examples are built from hand-made `Card` / `Onboarding` values through the same builders the bot uses.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapters.slack.blocks.card import card_blocks
from adapters.slack.blocks.messages import home_view, invitation_blocks, notice_blocks, status_text
from adapters.slack.blocks.modals import full_text_modal, guidelines_modal, skip_modal
from adapters.slack.blocks.onboarding import onboarding_blocks
from adapters.slack.blocks.text import section
from bot.cards import Card, Choice, letter, order_text
from bot.labelers import PREFER_NOT_TO_SAY, Onboarding

REGIONS = ("Africa", "Asia", "Europe", "Latin America", "North America", "Oceania")
GUIDELINES = """# How to rank

Put the **most helpful** answer first. Read *every* answer before you click.

- Correct beats long; a confident wrong answer is worse than a careful one.
- Flag an answer as *harmful* if it could hurt someone, *cannot rank* if it is empty or broken.

See [the handbook](https://example.org/handbook) for worked examples.
"""
PROMPT = "My house is too hot in summer and I have no air conditioning. What can I do tonight?"
ANSWERS = (
    "Open windows on opposite sides after sunset to get a cross-breeze, close them and the blinds in the morning.",
    "Buy an air conditioner.",
    "Hang a damp sheet in front of a fan, drink water, and sleep on the lowest floor — heat rises. "
    "Careful: <!channel> this text tries to ping everyone & fails.",
    "Put a bowl of ice in front of a fan for quick relief; switch off lights and appliances that make heat.",
)


def example_card(order: tuple[int, ...] = (), ties: tuple[bool, ...] = (), *, state: str = "open",
                 flags: dict[int, str] | None = None, prompt: str = PROMPT) -> Card:
    flags = flags or {}
    choices = tuple(Choice(index=i, letter=letter(i), completion_id=100 + i, text=text,
                           placed_at=order.index(i) if i in order else None, flag=flags.get(i))
                    for i, text in enumerate(ANSWERS))
    return Card(assignment_id=42, campaign="hot-house", criterion="helpfulness", prompt=prompt, choices=choices,
                order=order, ties=ties, state=state, can_submit=len(order) == len(choices),
                expires_at=datetime(2026, 11, 24, 9, 30, tzinfo=UTC), order_text=order_text(order, ties),
                guidelines_version=2)


def example_onboarding(**needs: bool) -> Onboarding:
    return Onboarding(labeler_id=7, campaign="hot-house", needs_consent=needs.get("consent", False),
                      needs_region=needs.get("region", False), needs_guidelines=needs.get("guidelines", False),
                      region=None if needs.get("region") else "Europe", region_choices=(*REGIONS, PREFER_NOT_TO_SAY),
                      suggested_region="Europe", guidelines=GUIDELINES, guidelines_version=2)


STATS = {"name": "hot-house", "status": "live", "criterion": "helpfulness", "k": 4, "votes": 3,
         "regions": list(REGIONS), "quota_policy": "balanced", "guidelines_version": 2, "prompts": 40,
         "completions": 160, "items": 40, "items_complete": 9, "rankings": 61,
         "rankings_by_region": {"Africa": 14, "Asia": 11, "Europe": 20, "Latin America": 6, "North America": 8,
                                "Oceania": 2}, "labelers": 17, "votes_needed": 120}


def message(blocks: list[Any]) -> dict[str, Any]:
    return {"blocks": [block.to_dict() for block in blocks]}


def examples() -> dict[str, dict[str, Any]]:
    """File name → Block Kit payload (a message's {"blocks": …} or a view)."""
    long_prompt = PROMPT + " " + "More detail about the house. " * 150
    return {
        "card-new.json": message(card_blocks(example_card())),
        "card-two-placed.json": message(card_blocks(example_card((2, 0), (False, False), flags={1: "unrankable"}))),
        "card-complete-with-tie.json": message(card_blocks(example_card((2, 0, 3, 1), (False, True, False, False)))),
        "card-long-prompt.json": message(card_blocks(example_card(prompt=long_prompt))),
        "card-submitted.json": message(card_blocks(
            replace(example_card((2, 0, 3, 1), (False, False, False, False)), state="submitted"),
            progress=(12, 28))),
        "card-skipped.json": message(card_blocks(example_card(state="skipped"))),
        "card-expired.json": message(card_blocks(example_card(state="expired"))),
        "onboarding-consent.json": message(onboarding_blocks(example_onboarding(consent=True, region=True,
                                                                                guidelines=True))),
        "onboarding-region.json": message(onboarding_blocks(example_onboarding(region=True, guidelines=True))),
        "onboarding-guidelines.json": message(onboarding_blocks(example_onboarding(guidelines=True))),
        "onboarding-done.json": message(onboarding_blocks(example_onboarding())),
        "invitation.json": message(invitation_blocks("hot-house", "helpfulness")),
        "status.json": message([section(status_text(STATS))]),
        "nothing-left.json": message(notice_blocks(":sparkles: Nothing left for you to rank right now.",
                                                   "hot-house")),
        "modal-show-full.json": full_text_modal("Prompt", long_prompt).to_dict(),
        "modal-guidelines.json": guidelines_modal("hot-house", GUIDELINES, 2).to_dict(),
        "modal-skip.json": skip_modal(42, "D0123", "1700000001.000100").to_dict(),
        "home.json": home_view([("hot-house", "helpfulness"), ("kind-words", "harmlessness")]).to_dict(),
    }


def render(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, payload in examples().items():
        path = out / name
        path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/slack"))
    args = parser.parse_args()
    for path in render(args.out):
        print(path)


if __name__ == "__main__":
    main()
