"""Socket Mode (SLACK_APP_TOKEN set): the same app, no public URL; envelopes over a websocket from the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.slack.app import build_app
from adapters.slack.server import SlackSocketMode
from bot.database import Database
from bot.settings import Settings
from tests.slack_emulator import SlackEmulator, SlackUser, action_ids
from tests.slack_harness import CAMPAIGN, create_campaigns, texts

pytestmark = pytest.mark.timeout(60)


async def test_socket_mode_serves_commands_and_clicks_without_a_public_url(sqlite_url: str, tmp_path: Path) -> None:
    emulator = SlackEmulator()
    await emulator.start()
    database = Database(sqlite_url)
    await create_campaigns(database)
    settings = Settings(SLACK_BOT_TOKEN=emulator.token, SLACK_APP_TOKEN=emulator.app_token,
                        SLACK_API_URL=emulator.api_url, CROWDRANK_HOME=str(tmp_path))
    assert not settings.slack_signing_secret  # Socket Mode needs none
    app, deps = build_app(settings, database)
    socket = SlackSocketMode(app, emulator.app_token)
    await socket.start()
    try:
        assert emulator.calls_to("apps.connections.open")
        slack = SlackUser(emulator, "http://unused.invalid/slack/events", "unused")
        emulator.add_user("U0SAM", tz="Africa/Lagos")
        command = await emulator.send_envelope("slash_commands", slack.command_form("U0SAM", f"join {CAMPAIGN}"))
        await emulator.wait_for(lambda: any(a.get("envelope_id") == command for a in emulator.socket_acks))

        steps = await emulator.wait_for(lambda: [m for m in emulator.channel_messages("DU0SAM")
                                                 if any(a.startswith("consent:") for a in action_ids(m.blocks))])
        await emulator.send_envelope("interactive", slack.click_payload("U0SAM", steps[0], "consent"))
        await emulator.wait_for(lambda: steps[0].history)
        select = next(e for b in steps[0].blocks for e in b.get("elements", []) if e.get("action_id") == "region_pick")
        assert select["initial_option"]["text"]["text"] == "Africa"
        assert "Join hot-house" in texts(steps[0].blocks)
        # Bolt sends the ack when its 10 ms poll sees ack(); the card update may land before that
        await emulator.wait_for(lambda: len(emulator.socket_acks) == 2)
    finally:
        await socket.stop()
        await deps.close()
        await database.dispose()
        await emulator.stop()
