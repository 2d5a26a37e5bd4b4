"""The retrain job: train on the campaign's pairs in the worker process, register a version (active only if it
is not worse than the active one), and announce the outcome in the campaign's announcement channel.

A failed or crashed training registers nothing, so the active version stays active; the channel reads the
one-line reason, and the run is tried again at the job's next occurrence.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.chat.catalog import _, gettext_
from bot.chat.views import Notice
from bot.errors import CrowdrankError
from bot.jobs.context import JobContext
from bot.jobs.figures import campaign_figures, number
from storage.models import Campaign, Job

__all__ = ["retrain", "retrain_campaign", "retrain_in_worker", "retrain_notice", "failure_notice"]


def retrain_in_worker(url: str, home: str, campaign: str) -> dict[str, Any]:
    """Runs in the worker process: the active version before, the training, the new version's figures."""
    from trainer.registry import list_versions
    from trainer.retrain import train_reward_model  # torch is imported in the worker only

    before = next((row for row in list_versions(url) if row.active), None)
    version = train_reward_model(url, home, campaign=campaign, progress=False)
    assert version is not None  # one process: the main one, which registers the version
    row = next(row for row in list_versions(url) if row.name == version.name)
    try:
        figures = campaign_figures(url, campaign)
    except CrowdrankError:  # no figure to quote yet (e.g. too few rankings): the version still counts
        figures = {"agreement": None, "interval": None}
    return {"name": version.name, "active": version.active, "note": version.note,
            "val_accuracy": version.metrics["val_accuracy"], "pairs": row.data_snapshot.get("pairs"),
            "previous": before.name if before else None,
            "previous_accuracy": before.metrics.get("val_accuracy") if before else None,
            "agreement": figures["agreement"], "interval": figures["interval"]}


def retrain_notice(campaign: str, result: dict[str, Any]) -> Notice:
    low, high = result["interval"] or (None, None)
    values = dict(name=result["name"], campaign=campaign, pairs=result["pairs"] or 0,
                  accuracy=number(result["val_accuracy"]), previous=result["previous"] or gettext_("none"),
                  previous_accuracy=number(result["previous_accuracy"]), agreement=number(result["agreement"]),
                  low=number(low), high=number(high))
    if result["active"]:
        text = _("Reward model **{name}** trained on **{campaign}** from {pairs} pairs: validation accuracy "
                 "{accuracy} (previous version {previous}: {previous_accuracy}); agreement so far {agreement} "
                 "(95% interval {low}–{high}). It is now the active version.", **values)
    else:
        text = _("Reward model **{name}** trained on **{campaign}** from {pairs} pairs: validation accuracy "
                 "{accuracy} (previous version {previous}: {previous_accuracy}); agreement so far {agreement} "
                 "(95% interval {low}–{high}). It was not activated: {previous} stays active.", **values)
    return Notice(text)


def failure_notice(campaign: str, reason: str) -> Notice:
    return Notice(_("Retraining on **{campaign}** failed: {reason}. The active reward model is unchanged; the "
                    "next scheduled retrain tries again.", campaign=campaign, reason=reason), kind="refusal")


async def retrain_campaign(context: JobContext, campaign: str, channel: str | None,
                           train: Callable[..., dict[str, Any]] = retrain_in_worker) -> str:
    """Retrain on `campaign` and announce the outcome in `channel` (a manager's `retrain` command calls this with
    the channel it came from; the scheduled job with the campaign's announcement channel)."""
    try:
        result = await context.worker(train, context.database.url, str(context.home), campaign)
    except CrowdrankError as error:
        await context.announce(channel, failure_notice(campaign, str(error)))
        raise
    await context.announce(channel, retrain_notice(campaign, result))
    state = "active" if result["active"] else "not activated"
    return f"{result['name']} ({state}), validation accuracy {number(result['val_accuracy'])}"


async def retrain(context: JobContext, job: Job, train: Callable[..., dict[str, Any]] = retrain_in_worker) -> str:
    """The scheduled job."""
    async with context.database.session() as session:
        campaign = await session.get(Campaign, job.campaign_id)
    assert campaign is not None, "jobs are synced with their campaigns"
    return await retrain_campaign(context, campaign.name, campaign.announcement_channel, train)
