"""The agreement report a manager asks for from chat: written in the worker process, posted as files to the
channel the request came from (the adapters call `post_report`)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from bot.chat.catalog import _
from bot.chat.views import Notice
from bot.database import Database
from bot.errors import CrowdrankError
from bot.jobs.context import JobContext

__all__ = ["report_in_worker", "post_report"]


def report_in_worker(url: str, home: str, campaign: str) -> list[str]:
    """Runs in the worker process: the consensus report (`crowdrank report`) into a fresh folder under home."""
    from bot.consensus.report import REPORT_FILES, write_report

    safe = "".join(char if char.isalnum() or char in "-_" else "_" for char in campaign)
    out = Path(home) / "reports" / f"{safe}-{datetime.now(UTC):%Y%m%dT%H%M%S}"

    async def work() -> None:
        database = Database(url)
        try:
            await write_report(database, campaign, out, home=Path(home))
        finally:
            await database.dispose()

    asyncio.run(work())
    return [str(out / name) for name in REPORT_FILES]


async def post_report(context: JobContext, campaign: str, channel: str) -> None:
    try:
        paths = await context.worker(report_in_worker, context.database.url, str(context.home), campaign)
    except CrowdrankError as error:
        await context.announce(channel, Notice(_("The report for **{campaign}** failed: {reason}",
                                                 campaign=campaign, reason=str(error)), kind="refusal"))
        raise
    await context.announce(channel, Notice(_("Agreement report for **{campaign}**", campaign=campaign)),
                           [Path(path) for path in paths])
