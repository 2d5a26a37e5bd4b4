"""Long jobs a manager starts from Slack: reward-model retraining and the campaign report.

The heavy part runs in the worker process (`deps.worker`), never on the event loop that answers clicks; the
loop only awaits it, then posts the outcome (or the one-line error) back to the channel the command came from.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.deps import SlackDeps
from adapters.slack.mrkdwn import escape
from bot.database import Database
from bot.errors import CrowdrankError


def retrain_in_worker(url: str, home: str, campaign: str) -> dict[str, Any]:
    """Runs in the worker process: train on the campaign's pairs and register a reward-model version."""
    from trainer.retrain import train_reward_model  # torch is imported in the worker only

    version = train_reward_model(url, home, campaign=campaign, progress=False)
    return {"name": version.name, "active": version.active, "accepted": version.accepted,
            "metrics": version.metrics, "note": version.note}


def report_in_worker(url: str, home: str, campaign: str) -> list[str]:
    """Runs in the worker process: the consensus report (`crowdrank report`) into a fresh folder under home."""
    from bot.consensus.report import REPORT_FILES, write_report

    out = Path(home) / "reports" / f"{_safe(campaign)}-{datetime.now(UTC):%Y%m%dT%H%M%S}"

    async def work() -> None:
        database = Database(url)
        try:
            await write_report(database, campaign, out, home=Path(home))
        finally:
            await database.dispose()

    asyncio.run(work())
    return [str(out / name) for name in REPORT_FILES]


def _safe(name: str) -> str:
    return "".join(char if char.isalnum() or char in "-_" else "_" for char in name)


def _spawn(deps: SlackDeps, client: AsyncWebClient, channel: str, what: str,
           work: Callable[[], Awaitable[None]]) -> None:
    async def guarded() -> None:
        try:
            await work()
        except CrowdrankError as error:
            await client.chat_postMessage(channel=channel, text=f":no_entry: {escape(what)} failed: "
                                                                f"{escape(str(error))}")
        except Exception as error:  # a bug: logged whole, reported in one line
            deps.logger.exception("%s failed", what)
            await client.chat_postMessage(channel=channel, text=f":warning: {escape(what)} failed: "
                                                                f"{escape(str(error))}")

    task = asyncio.get_running_loop().create_task(guarded())
    deps.tasks.add(task)
    task.add_done_callback(deps.tasks.discard)


async def retrain_summary(deps: SlackDeps, campaign: str) -> str:
    """Retrain in the worker process; the outcome as one mrkdwn line."""
    loop = asyncio.get_running_loop()
    result = await loop.run_in_executor(deps.worker, retrain_in_worker, deps.database.url, str(deps.home), campaign)
    metrics = result["metrics"]
    state = "now active" if result["active"] else "kept inactive"
    return (f"Reward model *{escape(result['name'])}* trained on *{escape(campaign)}*: validation accuracy "
            f"{metrics['val_accuracy']:.3f} ± {metrics['val_interval95']:.3f} on {metrics['val_pairs']} pairs; "
            f"{state}. {escape(result['note'] or '')}").strip()


def start_retrain(deps: SlackDeps, client: AsyncWebClient, campaign: str, channel: str) -> None:
    async def work() -> None:
        await client.chat_postMessage(channel=channel, text=await retrain_summary(deps, campaign))

    _spawn(deps, client, channel, f"retraining on {campaign}", work)


async def scheduled_retrain(deps: SlackDeps, client: AsyncWebClient, campaign: str, channel: str | None) -> None:
    """The scheduler's retrain job: posted to the campaign's announcement channel, or logged when it has none."""
    if channel:
        start_retrain(deps, client, campaign, channel)
        return
    try:
        deps.logger.info("scheduled retrain: %s", await retrain_summary(deps, campaign))
    except CrowdrankError as error:
        deps.logger.warning("scheduled retrain of %s failed: %s", campaign, error)


def start_report(deps: SlackDeps, client: AsyncWebClient, campaign: str, channel: str) -> None:
    async def work() -> None:
        loop = asyncio.get_running_loop()
        paths = await loop.run_in_executor(deps.worker, report_in_worker, deps.database.url, str(deps.home),
                                           campaign)
        uploads = [{"file": path, "filename": Path(path).name, "title": Path(path).name} for path in paths]
        await client.files_upload_v2(channel=channel, file_uploads=uploads,
                                     initial_comment=f"Agreement report for *{escape(campaign)}*")

    _spawn(deps, client, channel, f"the report for {campaign}", work)
