"""Every view drawn for Discord fits Discord's limits (checked by the emulator's own rules), every component's
custom id is an action of the grammar and unique in its message, and a k = 9 card with every text too long still
fits in 5 rows and 6,000 characters."""

from __future__ import annotations

from dataclasses import replace

import pytest

from adapters.discord.render import draw
from adapters.discord.serve import LIMITS, channel_of
from bot.cards import Choice, letter
from bot.chat.actions import PATTERN
from bot.chat.cards import card_view
from bot.chat.examples import example_card, example_views
from tests.discord_emulator import DiscordEmulator, iter_components

CHECK = DiscordEmulator()


def body(view) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    return [{"content": d.content, "embeds": [e.to_dict() for e in d.embeds],
             "components": d.view.to_components() if d.view else []} for d in draw(view)]


@pytest.mark.parametrize("name", sorted(set(example_views(LIMITS)) - {"home"}))  # Slack's App Home only
def test_every_example_view_fits_and_speaks_the_grammar(name: str) -> None:
    for message in body(example_views(LIMITS)[name]):
        assert CHECK._check(message) is None, CHECK._check(message)
        ids = [c["custom_id"] for c in iter_components(message["components"]) if "custom_id" in c]
        assert len(ids) == len(set(ids)) and all(PATTERN.fullmatch(i) for i in ids)


@pytest.mark.parametrize("placed", [(), (4, 2), (0, 1, 2, 3, 4, 5, 6, 7, 8)])
def test_a_nine_completion_card_with_long_texts_fits(placed: tuple[int, ...]) -> None:
    card = example_card(placed, (False,) * len(placed), prompt="p" * 9000, answers=tuple(c * 5000 for c in "abcdefghi"))
    card = replace(card, choices=tuple(Choice(i, letter(i), 100 + i, c.text, c.placed_at, "harmful" if i % 2 else None)
                                       for i, c in enumerate(card.choices)))
    view = card_view(card, LIMITS)
    assert len(view.full_text) == 10  # every text was cut, and each has its Show full
    (message,) = body(view)
    assert CHECK._check(message) is None, CHECK._check(message)
    assert len(message["components"]) <= 5 and len(message["embeds"]) == 10
    reachable = {c.get("custom_id") for c in iter_components(message["components"])}
    reachable |= {o["value"] for c in iter_components(message["components"]) for o in c.get("options", [])}
    wanted = {c.action for c in (*view.place, *view.controls, *view.full_text)}
    wanted |= {c.action for choice in view.choices for c in choice.flags}
    assert wanted <= reachable  # buttons, or options of a select when ten buttons would not fit


def test_channels_are_read_from_an_id_or_a_mention() -> None:
    assert channel_of("<#123456789012345678>") == channel_of("123456789012345678") == "123456789012345678"
    assert channel_of("general") is None and channel_of("<@123456789012345678>") is None
