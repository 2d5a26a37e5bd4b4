"""`crowdrank campaign create|list|show|pause|resume|close`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from bot import campaigns
from bot.adaptive_votes import parse_votes
from bot.database import Database, run
from bot.errors import InputError
from bot.prompt_files import read_completions, read_prompts


def parse_regions(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def votes_text(stats: dict) -> str:
    """`3` for fixed votes, `3..9 (stop: top < 0.05)` for adaptive ones."""
    adaptive = stats.get("adaptive_votes")
    if not adaptive:
        return str(stats["votes"])
    return f"{adaptive['votes_min']}..{adaptive['votes_max']} (stop: {adaptive['stop_rule']} < " \
           f"{adaptive['stop_threshold']:g})"


def read_guidelines(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read guidelines ({exc.__class__.__name__})", file=str(path)) from exc


def register(app: typer.Typer) -> None:
    from bot.cli import new_app

    group = new_app("Create and manage ranking campaigns.")
    app.add_typer(group, name="campaign")

    @group.command("create")
    def create(
        name: Annotated[str, typer.Argument(help="Campaign name (unique).")],
        prompts: Annotated[Path, typer.Option(help="Prompt file: JSONL or CSV.")],
        criterion: Annotated[str, typer.Option(help="helpfulness, harmlessness, or a custom question.")],
        k: Annotated[int, typer.Option(help="Completions per prompt (2-9).")] = 4,
        votes: Annotated[str, typer.Option(
            help="Rankings per item: a number (fixed), or MIN..MAX such as 3..9 (adaptive: an item stops taking "
                 "rankings once it has MIN and its consensus is settled, and never takes more than MAX).")] = "3",
        stop: Annotated[str, typer.Option(
            help="Adaptive votes: what must be settled for an item to stop, 'top' (the top choice) or 'order' "
                 "(the whole order).")] = "top",
        stop_below: Annotated[float, typer.Option(
            help="Adaptive votes: stop once P(one more ranking changes it) is below this.")] = 0.05,
        regions: Annotated[str, typer.Option(help="Comma-separated regions, e.g. 'Africa,Europe,Asia'.")] = "",
        guidelines: Annotated[Path | None, typer.Option(help="Guidelines in Markdown.")] = None,
        completions: Annotated[Path | None, typer.Option(help="JSONL of completions made elsewhere.")] = None,
        quota: Annotated[str, typer.Option(help="Region quota policy: balanced or none.")] = "balanced",
        lease_minutes: Annotated[int, typer.Option(help="Minutes a labeler may hold a card.")] = 30,
        retrain: Annotated[str | None, typer.Option(
            help="Retrain the reward model on this UTC crontab schedule while `crowdrank serve` runs, "
                 "e.g. '0 3 * * *'.")] = None,
        retrain_every: Annotated[int | None, typer.Option(
            help="Also retrain once this many new rankings arrived since the last retrain.")] = None,
        announce: Annotated[str | None, typer.Option(
            help="Chat channel for retraining announcements and the daily digest, e.g. slack:C0123.")] = None,
        remind_after: Annotated[int | None, typer.Option(
            help="Nudge a labeler idle this many hours (at most once a day, never at night).")] = None,
        quiet_hours: Annotated[str | None, typer.Option(
            help="No nudges in this window, e.g. 22-8, for labelers whose time zone is unknown.")] = None,
        quiet_timezone: Annotated[str | None, typer.Option(
            help="Time zone of --quiet-hours, e.g. Europe/Paris (default UTC).")] = None,
        rate_burst: Annotated[int | None, typer.Option(
            help="Clicks one labeler may send at once before being told to slow down (default 10).")] = None,
        rate_per_second: Annotated[float | None, typer.Option(
            help="Clicks per second one labeler may sustain after the burst (default 5).")] = None,
    ) -> None:
        """Create a campaign from a prompt file (re-running it adds only what is new)."""
        votes_min, votes_max = parse_votes(votes)
        spec = campaigns.CampaignSpec(
            name=name, criterion=criterion, k=k, votes=votes_max, votes_min=votes_min, stop_rule=stop,
            stop_threshold=stop_below, regions=parse_regions(regions),
            guidelines=read_guidelines(guidelines), quota_policy=quota, lease_minutes=lease_minutes,
            retrain_schedule=retrain, announcement_channel=announce, retrain_every=retrain_every,
            remind_after_hours=remind_after, quiet_hours=quiet_hours, quiet_timezone=quiet_timezone,
            rate_burst=rate_burst, rate_per_second=rate_per_second)
        spec.validate()
        prompt_records = read_prompts(prompts)
        completion_records = read_completions(completions, k) if completions else None

        async def work(database: Database) -> campaigns.CreateResult:
            async with database.session() as session:
                return await campaigns.create_campaign(
                    session, spec, prompt_records, completion_records,
                    completions_file=str(completions) if completions else None)

        result = run(work)
        verb = "created" if result.created else "updated"
        typer.echo(f"{verb} campaign {name!r} ({result.campaign.status}): {result.prompts_added} prompts, "
                   f"{result.completions_added} completions added")
        for note in result.notes:
            typer.echo(note)

    @group.command("list")
    def list_() -> None:
        """List campaigns with status and progress."""

        async def work(database: Database) -> list[dict]:
            async with database.session() as session:
                return [await campaigns.campaign_stats(session, c) for c in await campaigns.list_campaigns(session)]

        rows = run(work)
        if not rows:
            typer.echo("no campaigns yet: crowdrank campaign create NAME --prompts FILE --criterion TEXT")
        for row in rows:
            typer.echo(f"{row['name']:<24} {row['status']:<10} k={row['k']} votes={votes_text(row)} "
                       f"items {row['items_complete']}/{row['items']} complete, {row['rankings']} rankings")

    @group.command("show")
    def show(
        name: str,
        as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
    ) -> None:
        """Show one campaign's settings and progress."""

        async def work(database: Database) -> dict:
            async with database.session() as session:
                return await campaigns.campaign_stats(session, await campaigns.get_campaign(session, name))

        stats = run(work)
        if as_json:
            typer.echo(json.dumps(stats))
            return
        adaptive = stats.pop("adaptive_votes")
        stats["votes"] = votes_text({**stats, "adaptive_votes": adaptive})
        for key, value in stats.items():
            typer.echo(f"{key:>18}: {value}")
        if adaptive:
            typer.echo(f"{'stopped early':>18}: {adaptive['items_stopped_early']} items "
                       f"({adaptive['rankings_of_items_stopped_early']} rankings)")
            for why, count in adaptive["stopped_early_why"].items():
                typer.echo(f"{'':>18}  {count}: {why}")
            typer.echo(f"{'at the maximum':>18}: {adaptive['items_at_max']} items")
            typer.echo(f"{'contested':>18}: {adaptive['items_contested']} items (regions pull apart)")

    def status_command(command: str) -> None:
        @group.command(command)
        def change(name: str) -> None:
            async def work(database: Database) -> str:
                async with database.session() as session:
                    return (await campaigns.change_status(session, name, command)).status

            typer.echo(f"campaign {name!r} is now {run(work)}")

        change.__doc__ = f"{command.capitalize()} a campaign."

    for command in campaigns.TRANSITIONS:
        status_command(command)
