"""The jobs through the wiring users run: `crowdrank serve --slack` in its own process against the Slack
emulator, with a campaign whose retrain fell due while the bot was down; and the `crowdrank jobs` commands."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from datetime import timedelta
from pathlib import Path

from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import app
from bot.database import Database
from bot.jobs import schedules
from storage.migrate import head_revision, upgrade
from storage.models import JobRun, utcnow
from tests.job_helpers import ranked_campaign
from tests.slack_emulator import SlackEmulator
from tests.slack_harness import SECRET
from tests.test_slack_serve import free_port
from trainer.registry import list_versions

ROOT = Path(__file__).resolve().parents[1]


async def start_serve(emulator: SlackEmulator, url: str, home: Path, port: int) -> asyncio.subprocess.Process:
    """`crowdrank serve --slack` in its own process against the emulator, its output piped for the health line."""
    env = {**os.environ, "SLACK_BOT_TOKEN": emulator.token, "SLACK_SIGNING_SECRET": SECRET,
           "SLACK_API_URL": emulator.api_url, "CROWDRANK_DATABASE_URL": url, "CROWDRANK_HOME": str(home),
           "PYTHONPATH": str(ROOT)}
    env.pop("SLACK_APP_TOKEN", None)
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "serve", "--slack", "--port", str(port), "--host", "127.0.0.1", env=env,
        cwd=home, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)


async def test_serve_runs_a_due_retrain_announces_it_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    emulator = SlackEmulator()
    await emulator.start()
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    upgrade(url)
    ranked_campaign(url, retrain_schedule="0 3 * * *", announcement_channel="C0ANNOUNCE")
    database = Database(url)
    async with database.session() as session:  # an earlier serve stored the schedule, then the bot was down
        await schedules.sync(session, utcnow() - timedelta(days=2))
    port = free_port()
    process = await start_serve(emulator, url, tmp_path, port)
    try:
        assert process.stdout is not None
        health = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
        assert health.startswith("crowdrank serve: database sqlite ")
        assert f"(schema {head_revision()}; pool of 1)" in health
        assert f"adapters: slack (http://127.0.0.1:{port}/slack/events)" in health
        assert "jobs (this process runs them): " in health and "retrain:pairs-test next " in health

        def announced() -> list[str]:
            return [m.text for m in emulator.channel_messages("C0ANNOUNCE") if m.text.startswith("Reward model")]

        [text] = await emulator.wait_for(announced, timeout=180)
        [version] = list_versions(url)
        assert version.active and text.startswith(f"Reward model *{version.name}* trained on *pairs-test* from ")
        [message] = [m for m in emulator.channel_messages("C0ANNOUNCE") if m.text == text]
        assert message.blocks[0]["text"]["text"].startswith(f"Reward model *{version.name}* trained on *pairs-test*")
    finally:
        process.send_signal(signal.SIGTERM)
        output = (await asyncio.wait_for(process.communicate(), 60))[0].decode()
        await emulator.stop()
    assert process.returncode == 0, output
    async with database.session() as session:
        runs = (await session.exec(select(JobRun).where(JobRun.job == "retrain:pairs-test"))).all()
    await database.dispose()
    assert [(run.state, run.late) for run in runs] == [("ok", True)]  # the missed night, run once at start


def test_jobs_list_and_run(home: Path, tmp_path: Path) -> None:
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"prompt": "a"}\n')
    runner = CliRunner()
    created = runner.invoke(app, ["campaign", "create", "c", "--prompts", str(prompts), "--criterion", "h",
                                  "--retrain", "0 3 * * *", "--retrain-every", "50"])
    assert created.exit_code == 0, created.output
    listed = json.loads(runner.invoke(app, ["jobs", "list", "--json"]).stdout)
    assert [row["name"] for row in listed] == ["expire-leases", "reminders"]  # a draft campaign is not trained
    done = runner.invoke(app, ["jobs", "run", "expire-leases"])
    assert done.exit_code == 0 and done.stdout == "expire-leases: ok: 0 stale leases expired\n"
    rows = {row["name"]: row for row in json.loads(runner.invoke(app, ["jobs", "list", "--json"]).stdout)}
    assert rows["expire-leases"]["last_outcome"] == "ok" and rows["reminders"]["last_outcome"] is None
    text = runner.invoke(app, ["jobs", "list"]).stdout
    assert "expire-leases" in text and "ok: 0 stale leases expired" in text and "never ran" in text
    missing = runner.invoke(app, ["jobs", "run", "nope"])
    assert missing.exit_code == 2 and missing.stderr.strip() == (
        "error: no job named 'nope' (see `crowdrank jobs list`)")


async def test_a_click_acknowledged_before_sigterm_is_stored_and_its_card_updated(tmp_path: Path) -> None:
    from adapters.slack.render_examples import LIMITS
    from adapters.slack.replies import blocks_and_text
    from bot import assignment, labelers
    from bot.chat.cards import card_view
    from storage.models import Assignment
    from tests.slack_emulator import TEAM, Message, SlackUser
    from tests.slack_harness import CAMPAIGN, create_campaigns

    emulator = SlackEmulator()
    await emulator.start()
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    upgrade(url)
    database = Database(url)
    await create_campaigns(database)
    async with database.session() as session:  # a labeler holding a card, set up through the services
        labeler = await labelers.register_labeler(session, "slack", TEAM, "U0ANNA")
        await labelers.give_consent(session, labeler.id)
        await labelers.choose_region(session, labeler.id, CAMPAIGN, "Europe")
        await labelers.acknowledge_guidelines(session, labeler.id, CAMPAIGN, 1)
        card = await assignment.next_card(session, labeler.id, CAMPAIGN)
    assert card is not None
    blocks, text = blocks_and_text(card_view(card, LIMITS))
    message = Message("DU0ANNA", "1800000000.000100", text, list(blocks))
    emulator.messages[(message.channel, message.ts)] = message
    port = free_port()
    process = await start_serve(emulator, url, tmp_path, port)
    try:
        assert process.stdout is not None
        await asyncio.wait_for(process.stdout.readline(), 60)
        slack = SlackUser(emulator, f"http://127.0.0.1:{port}/slack/events", SECRET)
        emulator.rate_limit("chat.update", retry_after=2)  # the card update waits two seconds, as a busy Slack does
        emulator.expire_response_urls()  # so it goes by chat.update, not by the click's response_url
        for _ in range(200):  # uvicorn binds just after the health line
            try:
                status, _ = await slack.click("U0ANNA", message, f"rank:{card.assignment_id}:0")
                break
            except OSError:
                await asyncio.sleep(0.05)
        assert status == 200
        process.send_signal(signal.SIGTERM)  # acknowledged, but stored and re-rendered only after the ack
        output = (await asyncio.wait_for(process.communicate(), 60))[0].decode()
    finally:
        if process.returncode is None:
            process.kill()
        await emulator.stop()
    assert process.returncode == 0, output
    async with database.session() as session:
        stored = await session.get(Assignment, card.assignment_id)
    await database.dispose()
    assert stored is not None and len(stored.clicks) == 1
    assert [call.status for call in emulator.calls_to("chat.update")] == [429, 200] and len(message.history) == 1
