"""`crowdrank labeler list|forget`: see labelers' trust, and remove a person's data on request."""

from __future__ import annotations

from typing import Annotated

import typer

from bot import labelers, quality, reminders
from bot.database import Database, run
from bot.errors import InputError


def parse_identity(value: str) -> tuple[str, str, str]:
    """PLATFORM:WORKSPACE:USER → its three parts (the user id may itself contain colons)."""
    parts = value.split(":", 2)
    if len(parts) != 3 or not all(parts):
        raise InputError(f"expected PLATFORM:WORKSPACE:USER, got {value!r}", field="labeler")
    return parts[0], parts[1], parts[2]


def register(app: typer.Typer) -> None:
    from bot.cli import new_app

    group = new_app("Labelers: trust and low-trust flags, forgetting a person.")
    app.add_typer(group, name="labeler")

    @group.command("list")
    def list_(
        campaign: Annotated[str, typer.Argument(help="Campaign name.")],
        threshold: Annotated[float, typer.Option(help="Trust below this is flagged.")] = quality.TRUST_THRESHOLD,
    ) -> None:
        """Recompute trust for a campaign's labelers and list them; low-trust labelers are flagged, and who asked
        for no more reminders is shown."""

        async def work(database: Database) -> tuple[list[quality.LabelerQuality], list[str]]:
            async with database.session() as session:
                rows = await quality.assess_campaign(session, campaign, threshold=threshold)
                return rows, await reminders.opted_out(session, campaign)

        rows, silenced = run(work)
        off = f"{len(silenced)} asked for no more reminders" + (f": {', '.join(silenced)}" if silenced else "")
        if not rows:
            typer.echo(f"no rankings in {campaign!r} yet; {off}")
            return
        typer.echo(f"{'labeler':<18} {'region':<18} {'rankings':>8} {'gold':>6} {'agree':>6} {'fast':>5} "
                   f"{'trust':>6} {'reminders':>9}")
        for row in sorted(rows, key=lambda r: (r.trust is None, r.trust or 0.0)):
            typer.echo(f"{row.pseudonym:<18} {(row.region or '-')[:18]:<18} {row.rankings:>8} "
                       f"{_fmt(row.gold_accuracy):>6} {_fmt(row.agreement):>6} {row.too_fast:>5.0%} "
                       f"{_fmt(row.trust):>6}{'  LOW TRUST' if row.flagged else ''}")
        flagged = [row.pseudonym for row in rows if row.flagged]
        typer.echo(f"{len(flagged)} of {len(rows)} labelers under trust {threshold:g}"
                   + (f": {', '.join(flagged)}" if flagged else ""))
        typer.echo(off)

    @group.command("forget")
    def forget(
        identity: Annotated[str, typer.Argument(help="PLATFORM:WORKSPACE:USER, e.g. slack:T0123:U0456.")],
    ) -> None:
        """Remove a labeler's personal data; their rankings stay under a pseudonym."""
        platform, workspace, user = parse_identity(identity)

        async def work(database: Database) -> str:
            async with database.session() as session:
                return (await labelers.forget_labeler(session, platform, workspace, user)).pseudonym

        typer.echo(f"forgot {identity}: rankings kept as {run(work)}")


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
