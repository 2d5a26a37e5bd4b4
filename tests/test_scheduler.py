"""The scheduler follows the campaigns' retrain schedules and fires the adapter's retrain callback; it also
expires stale leases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from bot import campaigns
from bot.assignment import next_card
from bot.cli import app
from bot.scheduler import CampaignScheduler, job_id
from storage.models import Assignment, Campaign
from tests.engine_helpers import make_campaign, ready_labeler


async def set_schedule(database, name: str, cron: str | None, channel: str | None = None) -> None:  # type: ignore[no-untyped-def]
    async with database.session() as session, session.begin():
        campaign = (await session.exec(select(Campaign).where(Campaign.name == name))).one()
        campaign.retrain_schedule, campaign.announcement_channel = cron, channel


async def test_retrain_jobs_follow_the_database(database) -> None:  # type: ignore[no-untyped-def]
    await make_campaign(database, "a")
    await make_campaign(database, "b")
    await set_schedule(database, "a", "0 3 * * *", "C1")
    calls: list[tuple[str, str | None]] = []

    async def retrain(campaign: str, channel: str | None) -> None:
        calls.append((campaign, channel))

    scheduler = CampaignScheduler(database, retrain)
    await scheduler.sync()
    job = scheduler.scheduler.get_job(job_id("a"))
    assert job is not None and job.args == ("a", "C1")
    assert str(job.trigger) == "cron[month='*', day='*', day_of_week='*', hour='3', minute='0']"
    assert scheduler.scheduler.get_job(job_id("b")) is None

    await set_schedule(database, "b", "*/15 * * * *")
    await set_schedule(database, "a", "30 1 * * 1", "C2")
    await scheduler.sync()
    assert scheduler.scheduler.get_job(job_id("a")).args == ("a", "C2")
    assert "minute='30'" in str(scheduler.scheduler.get_job(job_id("a")).trigger)
    assert scheduler.scheduler.get_job(job_id("b")).args == ("b", None)

    async with database.session() as session:
        await campaigns.change_status(session, "a", "close")
    await scheduler.sync()
    assert scheduler.scheduler.get_job(job_id("a")) is None and scheduler.scheduler.get_job(job_id("b"))
    assert calls == []


async def test_a_due_retrain_calls_the_adapter_with_the_campaign_channel(database) -> None:  # type: ignore[no-untyped-def]
    await make_campaign(database, "a")
    await set_schedule(database, "a", "0 3 * * *", "C42")
    fired = asyncio.Event()
    calls: list[tuple[str, str | None]] = []

    async def retrain(campaign: str, channel: str | None) -> None:
        calls.append((campaign, channel))
        fired.set()

    scheduler = CampaignScheduler(database, retrain)
    await scheduler.start()
    try:
        scheduler.scheduler.modify_job(job_id("a"), next_run_time=datetime.now(UTC))
        await asyncio.wait_for(fired.wait(), timeout=10)
    finally:
        scheduler.shutdown()
    assert calls == [("a", "C42")]


async def test_stale_leases_are_swept(database) -> None:  # type: ignore[no-untyped-def]
    await make_campaign(database, "a", lease_minutes=1)
    labeler = await ready_labeler(database, "a")
    async with database.session() as session:
        card = await next_card(session, labeler, "a", now=datetime.now(UTC) - timedelta(minutes=5))
    assert card is not None
    await CampaignScheduler(database, lambda c, ch: asyncio.sleep(0)).sweep_leases()
    async with database.session() as session:
        assignment = await session.get(Assignment, card.assignment_id)
    assert assignment.state == "expired"


@pytest.mark.parametrize("cron", ["every night", "61 * * * *"])
def test_a_bad_retrain_schedule_is_refused_in_one_line(home: Path, tmp_path: Path, cron: str) -> None:
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"prompt": "a"}\n')
    result = CliRunner().invoke(app, ["campaign", "create", "c", "--prompts", str(prompts), "--criterion", "h",
                                      "--retrain", cron])
    assert result.exit_code == 2
    assert "field 'retrain': retrain schedule" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_rerun_create_sets_the_schedule_and_channel(home: Path, tmp_path: Path) -> None:
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"prompt": "a"}\n')
    runner = CliRunner()
    args = ["campaign", "create", "c", "--prompts", str(prompts), "--criterion", "h"]
    assert runner.invoke(app, args).exit_code == 0
    again = runner.invoke(app, [*args, "--retrain", "0 4 * * *", "--announce", "C9"])
    assert again.exit_code == 0, again.output
    assert "retrain schedule set to '0 4 * * *'" in again.stdout
    shown = runner.invoke(app, ["campaign", "show", "c", "--json"]).stdout
    assert '"retrain_schedule": "0 4 * * *"' in shown and '"announcement_channel": "C9"' in shown
