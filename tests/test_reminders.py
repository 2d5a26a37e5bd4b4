"""Reminders through the reminders job with a moved clock: idle labelers get one nudge a day with "Next card" and
"No more reminders", never in their night (their own zone, or the campaign's window when none is known), and
never again after opting out; `labeler list` shows who opted out."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from bot import reminders
from bot.cli import app
from bot.database import Database
from bot.jobs import job_kinds
from bot.jobs.context import JobContext
from bot.jobs.runner import JobRunner
from storage.models import Campaign, utcnow
from tests.engine_helpers import make_campaign, ready_labeler
from tests.job_helpers import Clock, RecordingAnnouncer, set_campaign


def next_utc_hour(after: datetime, hour: int) -> datetime:
    """The first moment at `hour`:00 UTC at least `after`."""
    moment = after.replace(hour=hour, minute=0, second=0, microsecond=0)
    return moment if moment >= after else moment + timedelta(days=1)


async def setup(database: Database, db_url: str, *, tz: str | None, platform: str = "slack",
                **campaign: object) -> tuple[int, int]:
    await make_campaign(database, "camp")
    set_campaign(db_url, "camp", remind_after_hours=2, **campaign)
    labeler = await ready_labeler(database, "camp", platform=platform)
    if tz:
        async with database.session() as session:
            await reminders.record_timezone(session, labeler, tz)
    async with database.session() as session:
        campaign_id = (await session.exec(select(Campaign.id).where(Campaign.name == "camp"))).one()
    return labeler, campaign_id


def runner_at(database: Database, tmp_path: Path, clock: Clock, announcer: RecordingAnnouncer) -> JobRunner:
    return JobRunner(JobContext(database, tmp_path, {announcer.platform: announcer}, clock=clock), job_kinds())


async def test_an_idle_labeler_gets_one_nudge_a_day_with_its_two_controls(database: Database, db_url: str,
                                                                         tmp_path: Path) -> None:
    labeler, campaign_id = await setup(database, db_url, tz="Europe/Paris")
    announcer = RecordingAnnouncer()
    clock = Clock(next_utc_hour(utcnow() + timedelta(hours=3), 12))  # 13:00 or 14:00 in Paris
    runner = runner_at(database, tmp_path, clock, announcer)
    assert (await runner.run_now("reminders")).message == "1 reminders sent"
    [(address, notice)] = announcer.directs
    assert (address.platform, address.workspace, address.user_id) == ("slack", "W1", "u1")
    assert "Cards are waiting for you in camp" in notice.text.plain()
    assert [(c.label.plain(), c.action) for c in notice.controls] == [
        ("Next card", f"next:{campaign_id}"), ("No more reminders", f"remind-off:{campaign_id}")]
    clock.advance(hours=23, minutes=50)
    assert (await runner.run_now("reminders")).message == "0 reminders sent"  # the daily cap
    clock.advance(minutes=15)
    assert (await runner.run_now("reminders")).message == "1 reminders sent"  # a day later, still idle


async def test_a_labeler_idle_less_than_the_setting_is_left_alone(database: Database, db_url: str,
                                                                 tmp_path: Path) -> None:
    labeler, _ = await setup(database, db_url, tz=None)
    set_campaign(db_url, "camp", remind_after_hours=5)
    announcer = RecordingAnnouncer()
    clock = Clock(utcnow() + timedelta(hours=4))
    runner = runner_at(database, tmp_path, clock, announcer)
    for hours, sent in ((4, 0), (6, 1)):
        clock.now = utcnow() + timedelta(hours=hours)
        async with database.session() as session:  # midday wherever the labeler is: never quiet
            await reminders.record_timezone(session, labeler, noon_zone(clock.now))
        assert (await runner.run_now("reminders")).message == f"{sent} reminders sent"


def noon_zone(moment: datetime) -> str:
    """A fixed-offset zone where `moment` falls between 12:00 and 13:00."""
    offset = (12 - moment.hour) % 24
    offset = offset - 24 if offset > 14 else offset
    return f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"  # POSIX signs: Etc/GMT-2 is UTC+2


@pytest.mark.parametrize(("tz", "platform", "utc_hour", "sent"), [
    ("Asia/Tokyo", "slack", 3, 1),  # 12:00 in Tokyo
    ("America/New_York", "slack", 3, 0),  # 22:00 or 23:00 in New York
    ("Europe/Paris", "slack", 6, 0),  # 07:00 in Paris in January: still night
    (None, "discord", 12, 0),  # no zone known: the campaign's 22-8 in Los Angeles, 04:00 there
    (None, "discord", 20, 1),  # 12:00 in Los Angeles
])
async def test_quiet_hours_follow_the_labelers_zone_or_the_campaigns_window(
        database: Database, db_url: str, tmp_path: Path, tz: str | None, platform: str, utc_hour: int,
        sent: int) -> None:
    await setup(database, db_url, tz=tz, platform=platform, quiet_timezone="America/Los_Angeles")
    announcer = RecordingAnnouncer(platform=platform)
    clock = Clock(next_utc_hour(utcnow() + timedelta(hours=3), utc_hour).replace(month=1, day=15, year=2027))
    runner = runner_at(database, tmp_path, clock, announcer)
    assert (await runner.run_now("reminders")).message == f"{sent} reminders sent"


async def test_no_more_reminders_is_honoured_for_good_and_listed(home: Path, tmp_path: Path) -> None:
    from bot.settings import get_settings

    database = Database.from_settings(get_settings())
    database.upgrade()
    try:
        labeler, _ = await setup(database, get_settings().resolved_database_url, tz="UTC")
        async with database.session() as session:
            first = (await reminders.opt_out(session, labeler)).reminders_off_at
            assert (await reminders.opt_out(session, labeler)).reminders_off_at == first
        announcer = RecordingAnnouncer()
        clock = Clock(next_utc_hour(utcnow() + timedelta(hours=3), 12))
        runner = runner_at(database, tmp_path, clock, announcer)
        for _ in range(3):
            assert (await runner.run_now("reminders")).message == "0 reminders sent"
            clock.advance(days=2)
    finally:
        await database.dispose()
    listed = await asyncio.to_thread(CliRunner().invoke, app, ["labeler", "list", "camp"])  # the CLI runs its own loop
    assert listed.exit_code == 0, listed.output
    assert "no rankings in 'camp' yet; 1 asked for no more reminders: lab_" in listed.stdout
