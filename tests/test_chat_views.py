"""What a labeler or manager sees, decided once in the view models (no platform, no database)."""

from __future__ import annotations

from dataclasses import replace

from bot.chat.cards import card_view, cut
from bot.chat.examples import STATS, example_card, example_onboarding
from bot.chat.onboarding import step_view
from bot.chat.status import region_share, status_view
from bot.chat.views import Limits

WIDE = Limits(2800)


def actions(controls) -> list[str]:  # type: ignore[no-untyped-def]  # any tuple of Controls
    return [control.action for control in controls]


def test_controls_follow_the_card() -> None:
    fresh = card_view(example_card(), WIDE)
    assert actions(fresh.place) == ["rank:42:0", "rank:42:1", "rank:42:2", "rank:42:3"]
    assert actions(fresh.controls) == ["skip:42", "guidelines:42"]  # nothing to undo, tie, reset or submit yet
    one = card_view(example_card((2,), (False,)), WIDE)
    assert actions(one.controls) == ["undo:42", "reset:42", "skip:42", "guidelines:42"]  # Tie needs two placed
    two = card_view(example_card((2, 0), (False, True)), WIDE)
    assert "tie:42" in actions(two.controls)
    assert [c.label.plain() for c in two.controls if c.action == "tie:42"] == ["Untie last two"]
    done = card_view(example_card((2, 0, 3, 1), (False,) * 4), WIDE)
    assert done.place == () and actions(done.controls)[:4] == ["undo:42", "tie:42", "reset:42", "submit:42"]
    assert done.order is not None and done.order.plain() == "Your order: C > A > D > B"


def test_a_cut_completion_and_a_cut_prompt_both_get_a_visible_full_text_button() -> None:
    card = example_card(prompt="p" * 100, answers=("short", "a" * 100, "b", "c"))
    view = card_view(card, Limits(50))
    assert actions(view.full_text) == ["full:42", "full:42:1"]
    assert [c.label.plain() for c in view.full_text] == ["Full prompt", "Full B"]
    assert view.prompt.endswith("…") and len(view.prompt) <= 50 and view.choices[1].cut and not view.choices[0].cut


def test_cut_counts_the_way_the_platform_counts() -> None:
    slack_like = Limits(15, lambda text: len(text.replace("&", "&amp;")))
    assert cut("&&&", slack_like) == ("&&&", False)
    assert cut("&&&&", slack_like) == ("&&…", True)


def test_flags_are_toggles_with_their_own_labels() -> None:
    view = card_view(example_card(flags={1: "harmful"}), WIDE)
    labels = [c.label.plain() for c in view.choices[1].flags]
    assert labels == ["Remove the 'harmful' flag from B", "Flag B as cannot rank"]
    assert actions(view.choices[1].flags) == ["flag:42:1:harmful", "flag:42:1:unrankable"]
    assert view.choices[1].status is not None and view.choices[1].status.plain() == "flagged harmful"


def test_a_submitted_card_always_carries_its_progress_line() -> None:
    submitted = replace(example_card((2, 0, 3, 1), (False,) * 4), state="submitted")
    view = card_view(submitted, WIDE, progress=(3, 9))
    assert not view.is_open and view.progress is not None
    assert view.progress.plain() == "3 ranked in hot-house so far · 9 still open to you"
    assert actions(view.controls) == ["next:3"] and view.closed is not None and "Thank you" in view.closed.plain()


def test_user_text_is_a_value_never_markup() -> None:
    card = example_card(answers=("**bold** _x_ `code` {campaign}", "b", "c", "d"))
    view = card_view(card, WIDE)
    assert view.choices[0].text == "**bold** _x_ `code` {campaign}"  # raw: each adapter escapes it
    assert view.summary.values["campaign"] == "hot-house" and "hot-house" not in view.summary.template


def test_onboarding_steps_in_order_and_region_is_only_suggested() -> None:
    consent = step_view(example_onboarding(consent=True, region=True, guidelines=True))
    assert consent.step == "consent" and actions(consent.controls) == ["consent:3"]
    region = step_view(example_onboarding(region=True, guidelines=True))
    assert region.step == "region" and region.chosen == 2  # Europe suggested, not chosen
    assert region.options[-1].label.plain() == "prefer not to say"
    assert actions(region.controls) == ["region:3:2"]
    unknown = step_view(example_onboarding(region=True, guidelines=True, suggested=None))
    assert unknown.chosen is None and actions(unknown.controls) == ["region:3"]  # Confirm asks for a choice
    guidelines = step_view(example_onboarding(guidelines=True))
    assert guidelines.step == "guidelines" and actions(guidelines.controls) == ["read:3:2"]
    assert guidelines.guidelines is not None and "most helpful" in guidelines.guidelines
    assert step_view(example_onboarding()).step == "done"


def test_status_counts_who_joined_and_who_ranked_and_each_region_share() -> None:
    view = status_view(STATS)
    assert "21 joined, 17 ranked" in view.head.plain() and "61/120 rankings (51%)" in view.head.plain()
    assert region_share(STATS) == 20 and "Europe         " + "█" * 20 + "  20/20" in view.table
    assert region_share({**STATS, "quota_policy": "none"}) == 120


def test_status_says_how_many_items_stopped_early_under_adaptive_votes() -> None:
    adaptive = {"votes_min": 3, "votes_max": 9, "stop_rule": "top", "stop_threshold": 0.05, "items_stopped_early": 7,
                "items_at_max": 2, "items_contested": 1}
    view = status_view({**STATS, "adaptive_votes": adaptive})
    assert view.adaptive is not None
    assert "7 items stopped early" in view.adaptive.plain() and "top choice" in view.adaptive.plain()
    assert status_view(STATS).adaptive is None  # fixed votes: nothing to say
