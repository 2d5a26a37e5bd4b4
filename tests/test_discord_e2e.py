"""End to end: crowdrank serving Discord (`python -m bot.cli serve --discord`, its own process, the real
discord.py client) against the local Discord emulator. Every test also checks, on the way out, that each
interaction was answered once and within Discord's 3 seconds."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.consensus.report import REPORT_FILES
from bot.database import Database
from bot.labelers import find_labeler
from tests.discord_emulator import EPHEMERAL, iter_components
from tests.discord_harness import CAMPAIGN, Rig, order_of, start_rig

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
async def rig(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Rig]:
    rig = await start_rig(sqlite_url, tmp_path / "home")
    yield rig
    await rig.bot.stop()
    await rig.emulator.stop()
    late = [i for i in rig.emulator.interactions.values() if i.errors or (i.response_delay or 0) > 3]
    assert not late, [(i.type, i.errors) for i in late]


def labels(message) -> list[str]:  # type: ignore[no-untyped-def]
    return [c.get("label") or c.get("placeholder") for c in iter_components(message.components)]


async def test_the_bot_connects_without_privileged_intents_and_syncs_one_command_group(rig: Rig) -> None:
    identify = next(d for op, d in rig.emulator.gateway_ops if op == 2)
    assert identify["intents"] == 1  # guilds only
    (group,) = rig.emulator.commands[None]
    assert group["name"] == "crowdrank"
    subcommands = {o["name"] for o in group["options"]}
    assert subcommands == {"join", "rank", "forget", "help", "status", "invite", "pause", "resume", "retrain",
                           "report", "guidelines"}
    join = next(o for o in group["options"] if o["name"] == "join")
    assert join["options"][0]["autocomplete"] is True


async def test_onboarding_in_a_dm_with_the_region_the_locale_suggests(rig: Rig) -> None:
    alice = rig.emulator.add_member("Alice", locale="pt-BR")
    typed = await rig.emulator.answered(await rig.emulator.slash(alice, "crowdrank join", focused="campaign",
                                                                 campaign="hot"))
    assert typed.response == 8 and [c["value"] for c in typed.choices or []] == [CAMPAIGN]

    joined = await rig.emulator.answered(await rig.emulator.slash(alice, "crowdrank join", campaign=CAMPAIGN))
    assert joined.response == 4
    (welcome,) = rig.emulator.channel_messages(rig.emulator.general, visible_to=alice)
    assert welcome.flags & EPHEMERAL and "direct message" in welcome.content
    steps = await rig.wait_message(alice, r"consent:")
    assert steps.channel_id == rig.emulator.dm_channel(alice) and "Step 1 of 3" in steps.content
    async with Database(rig.db_url).session() as session:
        assert await find_labeler(session, "discord", str(rig.emulator.app_id), str(alice)) is not None

    await rig.press(alice, steps, r"consent:")
    select = next(c for c in iter_components(steps.components) if c["type"] == 3)
    suggested = next(o for o in select["options"] if o.get("default"))
    assert suggested["label"] == "Latin America"  # pt-BR suggests it; the labeler still chooses
    europe = next(o["value"] for o in select["options"] if o["label"] == "Europe")
    chose = await rig.press(alice, steps, re.escape(select["custom_id"]) + "$", values=[europe])
    assert chose.response == 7 and "Step 3 of 3" in steps.content
    assert "Rank the **most helpful** answer first" in steps.text()  # the manager's Markdown, as written

    await rig.press(alice, steps, r"read:")
    assert "all set" in steps.content and "Europe" in steps.content
    card = await rig.wait_message(alice, r"rank:")
    assert card.channel_id == rig.emulator.dm_channel(alice)
    assert labels(card)[:4] == ["A", "B", "C", "D"] and len(card.embeds) == 5


async def test_a_full_ranking_with_undo_tie_flag_submit_and_skip(rig: Rig) -> None:
    bob = rig.emulator.add_member("Bob")
    card = await rig.onboard(bob)
    assert {"Skip", "Guidelines"} <= set(labels(card))

    assert (await rig.press(bob, card, r"rank:\d+:2$")).response == 7
    assert order_of(card) == "C" and "C" not in labels(card)[:3]  # a placed button goes away
    await rig.press(bob, card, r"rank:\d+:0$")
    assert order_of(card) == "C > A"
    await rig.press(bob, card, r"undo:")
    assert order_of(card) == "C"
    await rig.press(bob, card, r"rank:\d+:3$")
    await rig.press(bob, card, r"tie:")
    assert order_of(card) == "C = D"
    flag_select = next(c for c in iter_components(card.components) if c["type"] == 3)
    harmful_b = next(o["value"] for o in flag_select["options"] if o["label"] == "Flag B as harmful")
    await rig.press(bob, card, re.escape(flag_select["custom_id"]) + "$", values=[harmful_b])
    assert "B · flagged harmful" in [e["title"] for e in card.embeds]
    await rig.press(bob, card, r"rank:\d+:1$")  # the last one places itself
    assert order_of(card) == "C = D > B > A" and "Submit" in labels(card)

    guidelines = await rig.press(bob, card, r"guidelines:")
    assert guidelines.response == 4 and "most helpful" in rig.emulator.messages[guidelines.original_id].text()

    await rig.press(bob, card, r"submit:")
    assert "Thank you" in card.content and "C = D > B > A" in card.content and "1 ranked" in card.content
    following = await rig.wait_message(bob, r"rank:", after=card)

    skip = await rig.press(bob, following, r"skip:")
    assert skip.response == 9 and skip.modal is not None  # asks for an optional reason
    submitted = await rig.emulator.answered(await rig.emulator.submit_modal(bob, skip, {"reason": "not my topic"}))
    assert submitted.response == 7
    assert "Skipped" in following.content
    third = await rig.wait_message(bob, r"rank:", after=following)
    assert third.id != following.id


async def test_a_click_on_someone_elses_card_is_refused_privately(rig: Rig) -> None:
    alice, mallory = rig.emulator.add_member("Alice"), rig.emulator.add_member("Mallory")
    card = await rig.onboard(alice)
    versions = len(card.history)
    refused = await rig.emulator.answered(await rig.emulator.click(mallory, card, next(
        c for c in card.enabled_ids() if c.startswith("rank:"))))
    assert refused.response == 4
    answer = rig.emulator.messages[refused.original_id]
    assert answer.visible_to == mallory and answer.ephemeral and "not yours" in answer.content
    assert len(card.history) == versions and "nothing placed" in order_of(card)


async def test_a_restart_between_two_clicks_on_the_same_card(rig: Rig) -> None:
    cara = rig.emulator.add_member("Cara")
    card = await rig.onboard(cara)
    await rig.press(cara, card, r"rank:\d+:1$")
    await rig.restart()
    again = await rig.press(cara, card, r"rank:\d+:3$")  # the persistent items answer in the new process
    assert again.response == 7 and order_of(card) == "B > D"


async def test_a_gateway_drop_and_a_rate_limited_post_lose_nothing(rig: Rig) -> None:
    dan = rig.emulator.add_member("Dan")
    card = await rig.onboard(dan)
    await rig.emulator.drop_gateway()
    click = await rig.emulator.click(dan, card, next(c for c in card.enabled_ids() if c.endswith(":0")))
    await rig.emulator.answered(click)  # replayed after the RESUME
    assert click.response == 7 and order_of(card) == "A"
    assert any(op == 6 for op, _ in rig.emulator.gateway_ops)

    rig.emulator.rate_limit("POST", rf"/channels/{rig.emulator.dm_channel(dan)}/messages", retry_after=0.3)
    for choice in ("1", "2"):
        await rig.press(dan, card, rf"rank:\d+:{choice}$")
    await rig.press(dan, card, r"submit:")
    following = await rig.wait_message(dan, r"rank:", after=card)  # the next card got through after the 429
    posts = rig.emulator.calls_to("POST", rf"/channels/{rig.emulator.dm_channel(dan)}/messages")
    assert [c.status for c in posts][-2:] == [429, 200] and following.id != card.id


async def test_a_completion_that_tries_to_ping_format_and_link_is_shown_as_text(rig: Rig) -> None:
    eve = rig.emulator.add_member("Eve")
    card = await rig.onboard(eve, "pings")
    assert all(rig.emulator.pings(m) == [] for m in rig.emulator.messages.values())
    assert all(c.status != 400 for c in rig.emulator.calls)  # every message within Discord's limits
    shown = "\n".join(e["description"] for e in card.embeds)
    assert "@everyone" not in shown and not re.search(r"(?<!\\)[<\[]", shown)  # no mention, no masked link
    assert "@\u200beveryone" in shown and "\\<@123>" in shown and "\\*\\*bold\\*\\*" in shown
    assert sum(len(e.get("title", "")) + len(e["description"]) for e in card.embeds) <= 6000

    long_letter = next(e["title"][0] for e in card.embeds[1:] if e["description"].endswith("…"))
    full = await rig.press(eve, card, rf"full:\d+:{'AB'.index(long_letter)}$")

    def pieces() -> list:  # type: ignore[type-arg]
        return [m for m in rig.emulator.messages.values() if m.visible_to == eve and m.id >= (full.original_id or 0)]

    await rig.emulator.wait_for(lambda: "".join(e["description"] for m in pieces() for e in m.embeds).count("y")
                                == 7000)  # over two ephemeral messages: 4,096 characters per embed
    assert len(pieces()) == 2 and all(m.ephemeral for m in pieces())


async def test_a_labeler_whose_dms_are_closed_continues_in_a_private_thread(rig: Rig) -> None:
    fay = rig.emulator.add_member("Fay")
    rig.emulator.close_dms(fay)
    await rig.emulator.answered(await rig.emulator.slash(fay, "crowdrank join", campaign=CAMPAIGN))
    steps = await rig.wait_message(fay, r"consent:")
    thread = rig.emulator.channels[steps.channel_id]
    assert thread["type"] == 12 and thread["parent_id"] == str(rig.emulator.general)  # private
    assert rig.emulator.calls_to("PUT", rf"/channels/{steps.channel_id}/thread-members/{fay}")
    await rig.emulator.wait_for(lambda: any("cannot send you direct messages" in m.content and m.ephemeral for m in
                                            rig.emulator.channel_messages(rig.emulator.general, visible_to=fay)))
    await rig.press(fay, steps, r"consent:")
    confirm = next(c["custom_id"] for c in iter_components(steps.components) if c.get("label") == "Confirm region")
    await rig.press(fay, steps, re.escape(confirm) + "$")
    await rig.press(fay, steps, r"read:")
    card = await rig.wait_message(fay, r"rank:")
    assert card.channel_id == steps.channel_id
    assert (await rig.press(fay, card, r"rank:\d+:0$")).response == 7 and order_of(card) == "A"


async def test_manager_commands_need_the_role_or_manage_server(rig: Rig) -> None:
    emulator = rig.emulator
    member, manager, admin = (emulator.add_member("Gus"), emulator.add_member("Hal", manager=True),
                              emulator.add_member("Ida", manage_guild=True))
    for command, options in (("status", {}), ("pause", {"campaign": CAMPAIGN}), ("invite", {"campaign": CAMPAIGN})):
        refused = await emulator.answered(await emulator.slash(member, f"crowdrank {command}", **options))
        assert "only campaign managers" in emulator.messages[refused.original_id].content
    assert not [m for m in emulator.channel_messages(emulator.general) if "Join" in labels(m)]

    status = await emulator.answered(await emulator.slash(manager, "crowdrank status", campaign=CAMPAIGN))
    assert "```" in emulator.messages[status.original_id].content
    paused = await emulator.answered(await emulator.slash(admin, "crowdrank pause", campaign=CAMPAIGN))
    assert "paused" in emulator.messages[paused.original_id].content
    await emulator.answered(await emulator.slash(admin, "crowdrank resume", campaign=CAMPAIGN))

    await emulator.answered(await emulator.slash(manager, "crowdrank invite", campaign=CAMPAIGN))
    invitation = await rig.wait_message(member, r"join:")
    assert invitation.channel_id == emulator.general and not invitation.ephemeral
    await rig.press(member, invitation, r"join:")  # the Join button starts onboarding in a DM
    await rig.wait_message(member, r"consent:")


async def test_the_report_command_attaches_the_report_files(rig: Rig) -> None:
    manager, bob = rig.emulator.add_member("Jo", manager=True), rig.emulator.add_member("Kim")
    card = await rig.onboard(bob)
    for choice in ("0", "1", "2"):
        await rig.press(bob, card, rf"rank:\d+:{choice}$")
    await rig.press(bob, card, r"submit:")
    started = await rig.emulator.answered(await rig.emulator.slash(manager, "crowdrank report", campaign=CAMPAIGN))
    assert "report" in rig.emulator.messages[started.original_id].content
    posted = await rig.emulator.wait_for(lambda: [m for m in rig.emulator.channel_messages(rig.emulator.general)
                                                  if m.attachments], timeout=120)
    assert posted[0].visible_to is None and "Agreement report" in posted[0].content
    assert {a["filename"] for m in posted for a in m.attachments} == set(REPORT_FILES)
    assert all(size for _, size in ((a["filename"], a["size"]) for m in posted for a in m.attachments))


async def test_asking_for_a_card_again_redraws_the_one_already_out(rig: Rig) -> None:
    ola = rig.emulator.add_member("Ola")
    card = await rig.onboard(ola)
    await rig.press(ola, card, r"rank:\d+:1$")
    versions = len(card.history)
    asked = await rig.emulator.answered(await rig.emulator.slash(ola, "crowdrank rank", campaign=CAMPAIGN))
    assert asked.response == 4  # the private "your card is in your DMs"
    await rig.emulator.wait_for(lambda: len(card.history) > versions)  # edited where it is, over REST
    assert order_of(card) == "B" and len([m for m in rig.emulator.seen_by(ola) if "rank:" in str(m.custom_ids())]) == 1
    assert rig.emulator.calls_to("PATCH", rf"/channels/{card.channel_id}/messages/{card.id}")
