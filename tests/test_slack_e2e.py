"""End to end through the real slack-bolt AsyncApp and HTTP server, against the local Slack emulator."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.assignment import expire_leases
from bot.labelers import get_labeler
from tests.slack_emulator import action_ids
from tests.slack_harness import CAMPAIGN, Rig, card_id, order_line, start_rig, texts
from tests.slack_harness import labeler_id as labeler_id_of

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def rig(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Rig]:
    rig = await start_rig(sqlite_url, tmp_path / "home")
    yield rig
    await rig.stop()
    await rig.emulator.stop()


async def test_onboarding_in_a_dm(rig: Rig) -> None:
    rig.emulator.add_user("U0ALICE", tz="America/Sao_Paulo", name="Alice")
    status, _ = await rig.slack.command("U0ALICE", f"join {CAMPAIGN}")
    assert status == 200
    steps = await rig.wait_message("DU0ALICE", "consent")
    assert "consent" in texts(steps.blocks)
    await rig.emulator.wait_for(lambda: rig.emulator.ephemeral_to("U0ALICE"))
    assert "direct message" in rig.emulator.ephemeral_to("U0ALICE")[0]

    labeler_id = await labeler_id_of(rig.database, "U0ALICE")
    async with rig.database.session() as session:
        assert (await get_labeler(session, labeler_id)).display_name is None  # nothing personal before consent
    await rig.slack.click("U0ALICE", steps, "consent")
    await rig.wait_update(steps, 1)
    async with rig.database.session() as session:
        assert (await get_labeler(session, labeler_id)).display_name == "Alice"
    select = next(e for b in steps.blocks for e in b.get("elements", []) if e.get("action_id") == "region_pick")
    assert select["type"] == "static_select"
    assert select["initial_option"]["text"]["text"] == "Latin America"  # suggested by tz, not imposed
    assert [o["text"]["text"] for o in select["options"]][-1] == "prefer not to say"

    status, _ = await rig.slack.click("U0ALICE", steps, "region_pick", option="Africa")  # moving the select
    assert status == 200 and len(steps.history) == 1  # ... changes nothing until Confirm
    await rig.slack.click("U0ALICE", steps, "region", selections={"region_pick": "Africa"})
    await rig.wait_update(steps, 2)
    guidelines = texts(steps.blocks)
    assert "*Rules*" in guidelines and "*most helpful*" in guidelines and "• Prefer correct" in guidelines
    assert "<https://example.org/handbook|the handbook>" in guidelines

    await rig.slack.click("U0ALICE", steps, next(a for a in action_ids(steps.blocks) if a.startswith("read:")))
    card = await rig.wait_message("DU0ALICE", r"rank:")
    assert "all set" in texts(steps.blocks) and "Africa" in texts(steps.blocks)
    assert len([a for a in action_ids(card.blocks) if a.startswith("rank:")]) == 4
    assert all(c.args.get("unfurl_links") is False for c in rig.emulator.calls_to("chat.postMessage"))


async def test_a_full_ranking_with_undo_then_submit_serves_the_next_card(rig: Rig) -> None:
    card = await rig.onboard("U0BOB")
    assignment = action_ids(card.blocks)[0]
    ranks = [a for a in action_ids(card.blocks) if a.startswith("rank:")]
    a_id = ranks[0].split(":")[1]

    await rig.slack.click("U0BOB", card, f"rank:{a_id}:2")
    await rig.wait_update(card, 1)
    assert order_line(card) == "C"
    assert f"rank:{a_id}:2" not in action_ids(card.blocks)  # a placed button disappears
    await rig.slack.click("U0BOB", card, f"rank:{a_id}:0")
    await rig.wait_update(card, 2)
    assert order_line(card) == "C > A"
    await rig.slack.click("U0BOB", card, f"undo:{a_id}")
    await rig.wait_update(card, 3)
    assert order_line(card) == "C"
    await rig.slack.click("U0BOB", card, f"rank:{a_id}:3")
    await rig.wait_update(card, 4)
    await rig.slack.click("U0BOB", card, f"tie:{a_id}")
    await rig.wait_update(card, 5)
    assert order_line(card) == "C = D"
    await rig.slack.click("U0BOB", card, f"rank:{a_id}:1")  # the last one places itself
    await rig.wait_update(card, 6)
    assert order_line(card) == "C = D > B > A"
    assert f"submit:{a_id}" in action_ids(card.blocks)

    await rig.slack.click("U0BOB", card, f"submit:{a_id}")
    await rig.wait_update(card, 7)
    assert "Thank you" in texts(card.blocks) and "C = D &gt; B &gt; A" in texts(card.blocks)  # mrkdwn for >
    assert "1 ranked" in texts(card.blocks)
    following = await rig.wait_message("DU0BOB", r"rank:", after=card)
    assert following.ts != card.ts
    assert assignment
    # the DM channel was asked for once (conversations.open is rate-limited too), not once per message
    assert [c.args["users"] for c in rig.emulator.calls_to("conversations.open")].count("U0BOB") == 1


async def test_skip_asks_a_reason_in_a_modal_and_flag_marks_a_completion(rig: Rig) -> None:
    card = await rig.onboard("U0CARA")
    a_id = card_id(card)
    await rig.slack.click("U0CARA", card, f"flags-{a_id}-1", option=f"flag:{a_id}:1:harmful")
    await rig.wait_update(card, 1)
    assert "flagged harmful" in texts(card.blocks) and "Remove the 'harmful' flag" in texts(card.blocks)
    await rig.slack.click("U0CARA", card, f"flags-{a_id}-1", option=f"flag:{a_id}:1:harmful")  # the same flag again
    await rig.wait_update(card, 2)
    assert "flagged" not in texts(card.blocks)

    await rig.slack.click("U0CARA", card, f"skip:{a_id}")
    (opened,) = await rig.emulator.wait_calls("views.open", 1)
    view = opened.args["view"]
    assert view["callback_id"] == "skip_view"
    status, _ = await rig.slack.submit_view("U0CARA", view, {"reason": {"reason": "not my topic"}})
    assert status == 200
    await rig.wait_update(card, 3)
    assert "Skipped" in texts(card.blocks)
    nxt = await rig.wait_message("DU0CARA", r"rank:", after=card)
    assert nxt.ts != card.ts


async def test_a_forged_signature_and_a_stale_timestamp_are_refused_and_change_nothing(rig: Rig) -> None:
    card = await rig.onboard("U0DAN")
    a_id = card_id(card)
    before = len(rig.emulator.calls)
    status, _ = await rig.slack.click("U0DAN", card, f"rank:{a_id}:0", signature="v0=" + "0" * 64)
    assert status == 401
    status, _ = await rig.slack.click("U0DAN", card, f"rank:{a_id}:0", timestamp=int(time.time()) - 6 * 60)
    assert status == 401
    assert len(rig.emulator.calls) == before and not card.history  # refused before anything was read or drawn
    status, _ = await rig.slack.command("U0DAN", f"rank {CAMPAIGN}")  # a good request still works: it redraws
    assert status == 200                                               # the open card rather than posting a copy
    await rig.wait_update(card, 1)
    assert order_line(card).startswith("nothing placed") and len(rig.emulator.channel_messages("DU0DAN")) == 2


async def test_a_click_on_another_labelers_card_is_refused_privately(rig: Rig) -> None:
    card = await rig.onboard("U0ERIN")
    await rig.onboard("U0FRED")
    a_id = card_id(card)
    await rig.slack.click("U0FRED", card, f"rank:{a_id}:0")
    refusal = await rig.emulator.wait_for(lambda: rig.emulator.ephemeral_to("U0FRED")[1:])
    assert "not yours" in refusal[-1]
    await rig.slack.click("U0ERIN", card, f"rank:{a_id}:1")  # the owner's own click still lands first
    await rig.wait_update(card, 1)
    assert order_line(card) == "B"


async def test_a_retried_delivery_has_one_effect(rig: Rig) -> None:
    event = {"type": "app_home_opened", "user": "U0GINA", "channel": "DU0GINA", "tab": "home",
             "event_ts": f"{time.time():.6f}"}
    assert (await rig.slack.event(event, event_id="Ev001"))[0] == 200
    await rig.emulator.wait_calls("views.publish", 1)
    assert (await rig.slack.event(event, event_id="Ev001", retry=1))[0] == 200
    assert (await rig.slack.event(event, event_id="Ev001", retry=2))[0] == 200
    home = rig.emulator.calls_to("views.publish")[0].args["view"]
    assert "hot-house" in texts(home["blocks"])

    card = await rig.onboard("U0GINA")
    a_id = card_id(card)
    payload = rig.slack.click_payload("U0GINA", card, f"rank:{a_id}:3")
    assert (await rig.slack.send_payload(payload))[0] == 200
    assert (await rig.slack.send_payload(payload))[0] == 200  # the same delivery again: it only redraws the card
    await rig.wait_update(card, 2)
    assert order_line(card) == "D"
    await rig.slack.click("U0GINA", card, f"rank:{a_id}:0")
    await rig.wait_update(card, 3)
    assert order_line(card) == "D > A"
    assert len(rig.emulator.calls_to("views.publish")) == 1
    assert len(card.history) == 3


async def test_a_restart_between_two_clicks_loses_nothing(rig: Rig) -> None:
    card = await rig.onboard("U0HUGO")
    a_id = card_id(card)
    await rig.slack.click("U0HUGO", card, f"rank:{a_id}:1")
    await rig.wait_update(card, 1)
    await rig.restart()
    await rig.slack.click("U0HUGO", card, f"rank:{a_id}:2")  # the old message's button, new process
    await rig.wait_update(card, 2)
    assert order_line(card) == "B > C"


async def test_a_completion_cannot_ping_or_link_and_long_text_is_cut(rig: Rig) -> None:
    card = await rig.onboard("U0IVY", "pings")
    sections = [b for b in card.blocks if b["type"] == "section"]
    markup = "\n".join(s["text"]["text"] for s in sections if s["text"]["type"] == "mrkdwn")
    as_written = [s["text"] for s in sections if s["text"]["type"] == "plain_text"]
    assert "<!channel>" not in markup and "<@U0ALICE>" not in markup and "<https://evil" not in markup
    assert all(s["text"]["verbatim"] is True for s in sections if s["text"]["type"] == "mrkdwn")
    assert any(t["text"] == "<!channel> & <@U0ALICE> <https://evil.example|click me>" and t["emoji"] is False
               for t in as_written)  # plain text: Slack parses no mention or link in it
    assert all(len(s["text"]["text"]) <= 3000 for s in sections)
    a_id = card_id(card)
    await rig.slack.click("U0IVY", card, f"full:{a_id}")
    (opened,) = await rig.emulator.wait_calls("views.open", 1)
    whole = "".join(b["text"]["text"] for b in opened.args["view"]["blocks"])
    assert whole.count("x") == 3500


async def test_a_click_updates_its_card_through_its_response_url_not_chat_update(rig: Rig) -> None:
    """chat.update is Tier 3 (about 50 a minute per workspace): a card must not spend it on every click."""
    card = await rig.onboard("U0KIT")
    a_id = card_id(card)
    updates_before = len(rig.emulator.calls_to("chat.update"))
    await rig.slack.click("U0KIT", card, f"rank:{a_id}:1")
    await rig.wait_update(card, 1)
    assert order_line(card) == "B"
    assert len(rig.emulator.calls_to("chat.update")) == updates_before
    replaced = rig.emulator.calls_to("response_url")[-1]
    assert replaced.args["replace_original"] and replaced.args["blocks"] == card.blocks


async def test_a_used_up_response_url_falls_back_to_chat_update(rig: Rig) -> None:
    card = await rig.onboard("U0LEO")
    a_id = card_id(card)
    rig.emulator.expire_response_urls()
    await rig.slack.click("U0LEO", card, f"rank:{a_id}:0")
    await rig.wait_update(card, 1)
    assert order_line(card) == "A"
    assert [c.status for c in rig.emulator.calls_to("response_url")][-1] == 404
    assert rig.emulator.calls_to("chat.update")[-1].status == 200


async def test_a_rate_limited_update_is_retried_after_retry_after(rig: Rig) -> None:
    card = await rig.onboard("U0JACK")
    a_id = card_id(card)
    rig.emulator.expire_response_urls()  # the click's response_url fails, so chat.update carries the update
    rig.emulator.rate_limit("chat.update", times=2, retry_after=1)
    started = time.monotonic()
    await rig.slack.click("U0JACK", card, f"rank:{a_id}:0")
    await rig.wait_update(card, 1)
    assert time.monotonic() - started >= 2.0  # honoured Retry-After twice
    assert [c.status for c in rig.emulator.calls_to("chat.update")][-3:] == [429, 429, 200]
    assert order_line(card) == "A"


@pytest.fixture
async def pg_rig(pg_url: str, tmp_path: Path) -> AsyncIterator[Rig]:
    rig = await start_rig(pg_url, tmp_path / "home")
    yield rig
    await rig.stop()
    await rig.emulator.stop()


async def test_on_postgresql_a_card_survives_a_restart_and_is_submitted(pg_rig: Rig) -> None:
    card = await pg_rig.onboard("U0KAI")
    a_id = card_id(card)
    await pg_rig.slack.click("U0KAI", card, f"rank:{a_id}:3")
    await pg_rig.wait_update(card, 1)
    await pg_rig.restart()
    await pg_rig.slack.click("U0KAI", card, f"rank:{a_id}:1")
    await pg_rig.wait_update(card, 2)
    await pg_rig.slack.click("U0KAI", card, f"rank:{a_id}:0")
    await pg_rig.wait_update(card, 3)
    assert order_line(card) == "D > B > A > C"
    await pg_rig.slack.click("U0KAI", card, f"submit:{a_id}")
    await pg_rig.wait_update(card, 4)
    assert "Thank you" in texts(card.blocks)
    await pg_rig.wait_message("DU0KAI", r"rank:", after=card)


async def test_show_full_guidelines_next_card_forget_and_help(rig: Rig) -> None:
    card = await rig.onboard("U0LIV", "pings")
    a_id = card_id(card)
    long_block = next(b for b in card.blocks if b.get("block_id", "").startswith("choice-") and "yyy" in str(b))
    long_choice, index = long_block["text"]["text"], int(long_block["block_id"].removeprefix("choice-"))
    await rig.slack.click("U0LIV", card, f"full:{a_id}:{index}")  # a visible button, like a cut prompt's
    (full,) = await rig.emulator.wait_calls("views.open", 1)
    assert full.args["view"]["title"]["text"] == f"Completion {'AB'[index]}"
    assert "".join(b["text"]["text"] for b in full.args["view"]["blocks"]).count("y") == 3200
    assert long_choice.count("y") < 3200

    await rig.slack.click("U0LIV", card, f"guidelines:{a_id}")
    opened = await rig.emulator.wait_calls("views.open", 2)
    assert opened[1].args["view"]["title"]["text"] == "Guidelines"
    assert "no written guidelines" in texts(opened[1].args["view"]["blocks"])

    await rig.slack.click("U0LIV", card, f"rank:{a_id}:1")  # with k = 2 the other one places itself
    await rig.wait_update(card, 1)
    assert order_line(card) == "B > A"
    await rig.slack.click("U0LIV", card, f"submit:{a_id}")
    done = await rig.wait_message("DU0LIV", "^next:", after=card)
    assert "Nothing left" in texts(done.blocks)
    await rig.slack.click("U0LIV", done, "next")
    await rig.emulator.wait_for(lambda: len(rig.emulator.channel_messages("DU0LIV")) >= 4)
    assert "Nothing left" in texts(rig.emulator.last_message("DU0LIV").blocks)

    await rig.slack.command("U0LIV", "forget")
    await rig.slack.command("U0LIV", "nonsense")
    private = rig.emulator.ephemeral_to
    replies = await rig.emulator.wait_for(lambda: len(private("U0LIV")) >= 3 and private("U0LIV")[1:])
    assert any("pseudonym lab_" in r for r in replies) and any("/crowdrank join" in r for r in replies)


async def test_an_error_quoting_what_the_user_typed_cannot_ping(rig: Rig) -> None:
    rig.emulator.add_user("U0MIA")
    await rig.slack.command("U0MIA", "join <!channel>")
    (reply,) = await rig.emulator.wait_for(lambda: rig.emulator.ephemeral_to("U0MIA"))
    assert reply.startswith(":no_entry: no campaign named") and "&lt;!channel&gt;" in reply
    assert "<!channel>" not in reply


async def test_a_click_on_an_expired_card_closes_it_and_offers_the_next(rig: Rig) -> None:
    card = await rig.onboard("U0NIA")
    a_id = card_id(card)
    async with rig.database.session() as session:
        assert await expire_leases(session, now=datetime.now(UTC) + timedelta(days=1)) >= 1
    await rig.slack.click("U0NIA", card, f"rank:{a_id}:0")
    await rig.wait_update(card, 1)
    assert [a.split(":")[0] for a in action_ids(card.blocks)] == ["next"] and "expired" in texts(card.blocks)
    refusal = await rig.emulator.wait_for(lambda: rig.emulator.ephemeral_to("U0NIA")[1:])
    assert "expired" in refusal[0]
    await rig.slack.click("U0NIA", card, "next")
    fresh = await rig.wait_message("DU0NIA", r"rank:", after=card)  # a new, open card in a new message
    assert order_line(fresh).startswith("nothing placed")


async def test_confirming_no_region_asks_to_choose_one(rig: Rig) -> None:
    rig.emulator.add_user("U0OTTO", tz="Antarctica/Troll")  # no suggestion for this zone
    await rig.slack.command("U0OTTO", f"join {CAMPAIGN}")
    steps = await rig.wait_message("DU0OTTO", "consent")
    await rig.slack.click("U0OTTO", steps, "consent")
    await rig.wait_update(steps, 1)
    await rig.slack.click("U0OTTO", steps, "region")
    replies = await rig.emulator.wait_for(lambda: rig.emulator.ephemeral_to("U0OTTO")[1:])
    assert "choose a region in the list first" in replies[0] and len(steps.history) == 1
    await rig.slack.click("U0OTTO", steps, "region", selections={"region_pick": "prefer not to say"})
    await rig.wait_update(steps, 2)
    assert "guidelines" in texts(steps.blocks)
