"""The daily digest: its job posts progress per region, agreement with its interval, flagged labelers and the
items contested across regions to the campaign's announcement channel."""

from __future__ import annotations

from pathlib import Path

from bot.database import Database
from bot.digest import digest_notice
from bot.jobs import job_kinds
from bot.jobs.context import JobContext
from bot.jobs.runner import JobRunner
from tests.job_helpers import RecordingAnnouncer, ranked_campaign, set_campaign


async def test_the_digest_job_posts_the_campaigns_figures(sqlite_url: str, tmp_path: Path) -> None:
    ranked_campaign(sqlite_url, announcement_channel="slack:C0MANAGERS")
    database, announcer = Database(sqlite_url), RecordingAnnouncer()
    try:
        run = await JobRunner(JobContext(database, tmp_path, {"slack": announcer}), job_kinds()).run_now(
            "digest:pairs-test")
    finally:
        await database.dispose()
    assert run.state == "ok", run.message
    [(channel, notice, _)] = announcer.posts
    text = notice.text.plain()
    assert channel == "C0MANAGERS" and text.startswith("Daily digest for pairs-test\n")
    # two labelers (Asia, Europe) ranked each of 4 items; they agree on 5 of the 6 pairs of every item
    assert "Progress: 0 of 4 items complete, 8 of 12 rankings." in text
    assert "Rankings by region (agreement within): Asia 4 (n/a); Europe 4 (n/a)" in text
    assert f"Agreement so far: {5 / 6:.3f} (95% interval " in text
    assert "Flagged labelers: none" in text and "Contested across regions: p" in text


async def test_a_campaign_without_rankings_gets_a_digest_that_says_so(sqlite_url: str, tmp_path: Path) -> None:
    from tests.reward_helpers import seed_campaign

    set_campaign(sqlite_url, seed_campaign(sqlite_url).campaign, status="live", announcement_channel="C1")
    database, announcer = Database(sqlite_url), RecordingAnnouncer()
    try:
        await JobRunner(JobContext(database, tmp_path, {"slack": announcer}), job_kinds()).run_now(
            "digest:pairs-test")
    finally:
        await database.dispose()
    assert "0 of 6 rankings" in announcer.texts()[0] and "Agreement so far: n/a" in announcer.texts()[0]


def test_flagged_labelers_and_contested_items_are_named_with_values_kept_apart() -> None:
    stats = {"name": "c*", "items_complete": 1, "items": 2, "rankings": 3, "votes_needed": 4,
             "rankings_by_region": {"Asia": 3}}
    figures = {"agreement": 0.5, "interval": [0.25, 0.75], "regions": {"Asia": {"agreement": 0.5}},
               "contested": ["q7"], "flagged": ["lab_1", "lab_2"]}
    notice = digest_notice(stats, figures)
    assert "**Daily digest for {campaign}**" in notice.text.template and notice.text.values["campaign"] == "c*"
    assert "Flagged labelers: lab_1, lab_2" in notice.text.plain() and "Asia 3 (0.500)" in notice.text.plain()
    assert "Agreement so far: 0.500 (95% interval 0.250–0.750)" in notice.text.plain()


async def test_a_requested_report_is_written_in_the_worker_and_posted_with_its_files(sqlite_url: str,
                                                                                    tmp_path: Path) -> None:
    from bot.jobs.report import post_report

    ranked_campaign(sqlite_url)
    database, announcer = Database(sqlite_url), RecordingAnnouncer()
    try:
        await post_report(JobContext(database, tmp_path, {"slack": announcer}), "pairs-test", "slack:C0BOSS")
    finally:
        await database.dispose()
    [(channel, notice, files)] = announcer.posts
    assert channel == "C0BOSS" and notice.text.plain() == "Agreement report for pairs-test"
    assert files and all(path.is_file() and path.is_relative_to(tmp_path / "reports") for path in files)
