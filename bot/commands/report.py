"""`crowdrank report CAMPAIGN --out DIR`: agreement within and across regions, consensus orders, the report folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from bot.database import Database, run
from bot.progress import progress_bar


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report(
        campaign: Annotated[str, typer.Argument(help="Campaign name.")],
        out: Annotated[Path, typer.Option(help="Folder for report.html, summary.json and the CSV files.")]
        = Path("report"),
        identify: Annotated[bool, typer.Option(help="Add platform user ids and names to labelers.csv "
                                                    "(pseudonyms only by default).")] = False,
        resamples: Annotated[int, typer.Option(help="Bootstrap resamples of items for the 95% intervals.")] = 1000,
    ) -> None:
        """Measure agreement (overall, per region, region x region), write consensus orders to the database and
        a self-contained report.html with summary.json, items.csv, labelers.csv and regions.csv."""
        from bot.consensus.report import write_report

        async def work(database: Database) -> Path:
            database.upgrade()
            with progress_bar("consensus rows", "row") as (on_start, on_batch):
                return await write_report(database, campaign, out, identify=identify, n_boot=resamples,
                                          progress=True, on_start=on_start, on_batch=on_batch)

        page = run(work)
        summary = json.loads((page.parent / "summary.json").read_text(encoding="utf-8"))
        agreement = summary["pairwise_agreement"]
        typer.echo(f"{summary['rankings']} rankings of {summary['items_ranked']} items by {summary['labelers']} "
                   f"labelers; pairwise agreement {'n/a' if agreement is None else f'{agreement:.3f}'}")
        typer.echo(f"report: {page}")
