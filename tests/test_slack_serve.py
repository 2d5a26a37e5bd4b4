"""`crowdrank serve --slack` as a real process against the local Slack emulator, the settings it needs, and
the app manifest matching what the adapter listens to."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import yaml
from typer.testing import CliRunner

from bot.cli import app
from storage.migrate import upgrade
from tests.slack_emulator import SlackEmulator, SlackUser
from tests.slack_harness import SECRET, create_campaigns

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = yaml.safe_load((ROOT / "adapters" / "slack" / "manifest.yml").read_text(encoding="utf-8"))


def test_serve_needs_a_platform_and_slack_credentials(home: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 2 and "--slack" in result.output
    result = CliRunner().invoke(app, ["serve", "--slack"])
    assert result.exit_code == 2 and "SLACK_BOT_TOKEN is not set" in result.output
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    from bot.settings import get_settings

    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["serve", "--slack"])
    assert result.exit_code == 2 and "SLACK_SIGNING_SECRET is not set" in result.output


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_crowdrank_serve_slack_answers_signed_requests(tmp_path: Path) -> None:
    emulator = SlackEmulator()
    await emulator.start()
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    upgrade(url)
    from bot.database import Database

    database = Database(url)
    await create_campaigns(database)
    await database.dispose()
    port = free_port()
    env = {**os.environ, "SLACK_BOT_TOKEN": emulator.token, "SLACK_SIGNING_SECRET": SECRET,
           "SLACK_API_URL": emulator.api_url, "CROWDRANK_DATABASE_URL": url, "CROWDRANK_HOME": str(tmp_path),
           "CROWDRANK_SLACK_MANAGERS": "U0BOSS"}
    env.pop("SLACK_APP_TOKEN", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from bot.cli import main; main()", "serve", "--slack", "--port", str(port),
        "--host", "127.0.0.1", env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    try:
        assert process.stdout is not None
        first = await asyncio.wait_for(process.stdout.readline(), 60)
        assert f"http://127.0.0.1:{port}/slack/events" in first.decode()
        slack = SlackUser(emulator, f"http://127.0.0.1:{port}/slack/events", SECRET)
        for _ in range(200):  # uvicorn binds just after the banner
            try:
                status, _ = await slack.command("U0BOSS", "status hot-house")
                break
            except OSError:
                await asyncio.sleep(0.05)
        assert status == 200
        replies = await emulator.wait_for(lambda: emulator.ephemeral_to("U0BOSS"))
        assert "hot-house" in replies[0] and "0/6 rankings" in replies[0]
        assert (await slack.command("U0BOSS", "status", ))[0] == 200
        forged, _ = await slack.send("command=%2Fcrowdrank&text=status", "application/x-www-form-urlencoded",
                                     signature="v0=" + "f" * 64)
        assert forged == 401
    finally:
        process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), 30)
        await emulator.stop()


def test_manifest_points_every_surface_at_slack_events() -> None:
    settings = MANIFEST["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    urls = [settings["interactivity"]["request_url"], settings["event_subscriptions"]["request_url"],
            *(command["url"] for command in MANIFEST["features"]["slash_commands"])]
    assert all(url.endswith("/slack/events") for url in urls)
    assert [c["command"] for c in MANIFEST["features"]["slash_commands"]] == ["/crowdrank"]


def test_manifest_asks_for_the_scopes_the_adapter_uses_and_events_it_handles() -> None:
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    assert scopes == {"commands", "chat:write", "chat:write.public", "im:write", "users:read", "files:write"}
    adapter = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "adapters" / "slack").rglob("*.py"))
    events = set(MANIFEST["settings"]["event_subscriptions"]["bot_events"])
    for event in events:
        assert f'@app.event("{event}")' in adapter
    assert adapter.count("@app.event(") == len(events)
    assert "files_upload_v2" in adapter and "users_info" in adapter and "conversations_open" in adapter
