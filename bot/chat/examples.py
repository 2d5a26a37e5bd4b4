"""Every view the bot shows, built from hand-made values through the same builders the conversation uses: the
platforms render them to documentation (`docs/slack/`), and the catalog test renders them under a pseudo-locale.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from bot.cards import Card, Choice, letter, order_text
from bot.chat import messages
from bot.chat.cards import card_view
from bot.chat.onboarding import step_view
from bot.chat.status import status_view
from bot.chat.views import Limits, View
from bot.labelers import PREFER_NOT_TO_SAY, Onboarding

__all__ = ["example_card", "example_onboarding", "example_views", "STATS", "GUIDELINES", "REGIONS"]

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
    "Careful: <!channel> @everyone <@123> this text tries to ping everyone & fails.",
    "Put a bowl of ice in front of a fan for quick relief; switch off lights and appliances that make heat.",
)
STATS = {"name": "hot-house", "status": "live", "criterion": "helpfulness", "k": 4, "votes": 3,
         "regions": list(REGIONS), "quota_policy": "balanced", "guidelines_version": 2, "prompts": 40,
         "completions": 160, "items": 40, "items_complete": 9, "rankings": 61,
         "rankings_by_region": {"Africa": 14, "Asia": 11, "Europe": 20, "Latin America": 6, "North America": 8,
                                "Oceania": 2}, "labelers": 17, "joined": 21, "votes_needed": 120}


def example_card(order: tuple[int, ...] = (), ties: tuple[bool, ...] = (), *, state: str = "open",
                 flags: dict[int, str] | None = None, prompt: str = PROMPT,
                 answers: tuple[str, ...] = ANSWERS) -> Card:
    flags = flags or {}
    choices = tuple(Choice(index=i, letter=letter(i), completion_id=100 + i, text=text,
                           placed_at=order.index(i) if i in order else None, flag=flags.get(i))
                    for i, text in enumerate(answers))
    return Card(assignment_id=42, campaign_id=3, campaign="hot-house", criterion="helpfulness", prompt=prompt,
                choices=choices, order=order, ties=ties, state=state, can_submit=len(order) == len(choices),
                expires_at=datetime(2026, 11, 24, 9, 30, tzinfo=UTC), order_text=order_text(order, ties),
                guidelines_version=2)


def example_onboarding(*, suggested: str | None = "Europe", **needs: bool) -> Onboarding:
    return Onboarding(labeler_id=7, campaign_id=3, campaign="hot-house", needs_consent=needs.get("consent", False),
                      needs_region=needs.get("region", False), needs_guidelines=needs.get("guidelines", False),
                      region=None if needs.get("region") else "Europe", region_choices=(*REGIONS, PREFER_NOT_TO_SAY),
                      suggested_region=suggested, guidelines=GUIDELINES, guidelines_version=2)


def example_views(limits: Limits) -> dict[str, View]:
    """Name → view, for a platform showing `limits` of a text in place."""
    long_prompt = PROMPT + " " + "More detail about the house. " * 150
    done = (2, 0, 3, 1)
    return {
        "card-new": card_view(example_card(), limits),
        "card-two-placed": card_view(example_card((2, 0), (False, False), flags={1: "unrankable"}), limits),
        "card-complete-with-tie": card_view(example_card(done, (False, True, False, False)), limits),
        "card-long-prompt": card_view(example_card(prompt=long_prompt), limits),
        "card-submitted": card_view(replace(example_card(done, (False,) * 4), state="submitted"), limits,
                                    progress=(12, 28)),
        "card-skipped": card_view(example_card(state="skipped"), limits),
        "card-expired": card_view(example_card(state="expired"), limits),
        "onboarding-consent": step_view(example_onboarding(consent=True, region=True, guidelines=True)),
        "onboarding-region": step_view(example_onboarding(region=True, guidelines=True)),
        "onboarding-region-no-suggestion": step_view(example_onboarding(region=True, guidelines=True,
                                                                        suggested=None)),
        "onboarding-guidelines": step_view(example_onboarding(guidelines=True)),
        "onboarding-done": step_view(example_onboarding()),
        "invitation": messages.invitation(3, "hot-house", "helpfulness"),
        "status": status_view(STATS),
        "nothing-left": messages.nothing_left(3),
        "help": messages.help_notice(),
        "modal-show-full": messages.full_text(None, long_prompt),
        "modal-guidelines": messages.guidelines_view("hot-house", GUIDELINES, 2),
        "modal-skip": messages.skip_form("skip:42", 500),
        "home": messages.home([(3, "hot-house", "helpfulness"), (4, "kind-words", "harmlessness")]),
    }
