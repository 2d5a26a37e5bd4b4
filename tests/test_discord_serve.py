"""`crowdrank serve --discord` needs its token; `crowdrank serve --slack --discord` serves both platforms from one
process over one database (a Slack manager sees the ranking a Discord labeler just made)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app
from bot.database import Database
from tests.discord_emulator import DiscordEmulator
from tests.discord_harness import Rig as DiscordRig
from tests.discord_harness import start_bot
from tests.slack_emulator import SlackEmulator, SlackUser
from tests.slack_harness import SECRET, create_campaigns
from tests.test_slack_serve import free_port


def test_serve_discord_needs_the_token(home: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    result = CliRunner().invoke(app, ["serve", "--discord"])
    assert result.exit_code == 2 and "DISCORD_TOKEN is not set" in result.output


async def test_slack_and_discord_in_one_process(sqlite_url: str, tmp_path: Path) -> None:
    slack, discord = SlackEmulator(), DiscordEmulator()
    await slack.start()
    await discord.start()
    database = Database(sqlite_url)
    await create_campaigns(database)
    await database.dispose()
    port = free_port()
    env = {"SLACK_BOT_TOKEN": slack.token, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.api_url,
           "CROWDRANK_SLACK_MANAGERS": "U0BOSS", "CROWDRANK_DATABASE_URL": sqlite_url,
           "CROWDRANK_HOME": str(tmp_path / "home")}
    bot = await start_bot(discord, ["-m", "bot.cli", "serve", "--slack", "--discord", "--host", "127.0.0.1",
                                    "--port", str(port)], tmp_path / "bot.log", **env)
    try:
        rig = DiscordRig(discord, sqlite_url, tmp_path / "home", tmp_path / "bot.log", bot)
        labeler = discord.add_member("Lou")
        card = await rig.onboard(labeler)
        for choice in ("0", "1", "2"):
            await rig.press(labeler, card, rf"rank:\d+:{choice}$")
        await rig.press(labeler, card, r"submit:")

        user = SlackUser(slack, f"http://127.0.0.1:{port}/slack/events", SECRET)
        for _ in range(200):  # uvicorn binds a moment after the gateway connects
            try:
                status, _ = await user.command("U0BOSS", "status hot-house")
                break
            except OSError:
                await asyncio.sleep(0.05)
        assert status == 200
        replies = await slack.wait_for(lambda: slack.ephemeral_to("U0BOSS"))
        assert re.search(r"1/6 rankings", replies[0]), replies[0]  # the Discord ranking, seen from Slack
    finally:
        await bot.stop()
        await discord.stop()
        await slack.stop()
