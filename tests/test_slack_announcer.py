"""`SlackAnnouncer` against the Slack emulator: catalog markup becomes mrkdwn, values stay literal text, controls
become buttons carrying the chat layer's actions, a nudge goes to the labeler's DM, files are uploaded."""

from __future__ import annotations

from pathlib import Path

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.announcer import SlackAnnouncer
from adapters.slack.app import configure_client
from bot.chat.announcer import LabelerAddress
from bot.reminders import nudge_notice
from bot.settings import Settings
from tests.slack_emulator import TEAM, SlackEmulator, action_ids
from tests.slack_harness import PING


async def test_notices_are_posted_as_mrkdwn_with_buttons_and_nudges_go_to_the_dm(tmp_path: Path) -> None:
    emulator = SlackEmulator()
    await emulator.start()
    try:
        client = configure_client(AsyncWebClient(token=emulator.token), Settings(SLACK_API_URL=emulator.api_url))
        announcer = SlackAnnouncer(client)
        await announcer.direct(LabelerAddress("slack", TEAM, "U0ANNA"), nudge_notice(PING, 7))
        [message] = emulator.channel_messages("DU0ANNA")
        section = message.blocks[0]["text"]["text"]
        assert section.startswith("Hello! Cards are waiting for you in *&lt;!channel&gt; &amp; &lt;@U0ALICE&gt;")
        assert action_ids(message.blocks) == ["next:7", "remind-off:7"]
        assert [e["text"]["text"] for e in message.blocks[1]["elements"]] == ["Next card", "No more reminders"]
        assert emulator.calls_to("conversations.open")[0].args["users"] == "U0ANNA"

        report = tmp_path / "report.html"
        report.write_text("<html></html>")
        await announcer.announce("C0MANAGERS", nudge_notice("c", 1), [report])
        (upload,) = emulator.calls_to("files.completeUploadExternal")  # the notice is the files' comment
        assert upload.args["initial_comment"].startswith("Hello! Cards are waiting for you in *c*.")
    finally:
        await emulator.stop()
