"""`crowdrank pairs CAMPAIGN --out FILE`: export a campaign's rankings as pairwise comparisons."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.settings import get_settings


def register(app: typer.Typer) -> None:
    @app.command("pairs")
    def pairs(
        campaign: Annotated[str, typer.Argument(help="Campaign name.")],
        out: Annotated[Path, typer.Option(help="Output file: .jsonl or .parquet.")],
        mode: Annotated[str, typer.Option(help="raw: every ranking's K-choose-2 pairs; consensus: the pairs of "
                                               "each item's consensus order, margin from vote strength.")] = "raw",
        format: Annotated[str, typer.Option("--format", help="trl (prompt, chosen, rejected, margin + "
                                                             "provenance) or binary (completion_a/b, label).")] = "trl",
        min_trust: Annotated[float | None, typer.Option(help="Leave out labelers whose trust is below X "
                                                             "(or not yet known).")] = None,
        ties: Annotated[bool, typer.Option("--ties", help="Keep tied pairs with margin 0 and tie=true "
                                                          "(raw mode).")] = False,
        method: Annotated[str, typer.Option(help="Consensus method (consensus mode).")] = "bradley_terry",
        seed: Annotated[int, typer.Option(help="Seed of the binary format's side coin.")] = 0,
    ) -> None:
        """Export pairs of a campaign (streamed; the file appears whole or not at all)."""
        from storage.migrate import upgrade
        from trainer.pairs import export_pairs

        settings = get_settings()
        settings.home.mkdir(parents=True, exist_ok=True)
        upgrade(settings.resolved_database_url)
        result = export_pairs(settings.resolved_database_url, campaign, out, mode=mode, fmt=format,
                              min_trust=min_trust, keep_ties=ties, method=method, seed=seed)
        typer.echo(f"wrote {result.pairs} {result.mode} pairs ({result.format}) to {result.path}")
