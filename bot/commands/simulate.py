"""`crowdrank simulate CAMPAIGN --labelers N`: a simulated crowd ranks through the same calls as the chat bots."""

from __future__ import annotations

from typing import Annotated

import typer
from tqdm import tqdm

from bot.database import Database, run
from bot.simulator import SimulationResult, simulate


def register(app: typer.Typer) -> None:
    @app.command("simulate")
    def simulate_command(
        campaign: Annotated[str, typer.Argument(help="Campaign name (must be live).")],
        labelers: Annotated[int, typer.Option(help="Simulated labelers, spread over the campaign's regions.")] = 30,
        spammers: Annotated[float, typer.Option(help="Fraction of spammers (random or shown-order clicks).")] = 0.0,
        seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same crowd and truth.")] = 0,
        rankings: Annotated[int | None, typer.Option(help="Stop after this many rankings.")] = None,
    ) -> None:
        """Simulate a crowd ranking the campaign; saves the hidden truth under $CROWDRANK_HOME/simulations/."""
        bars: list[tqdm] = []

        def on_start(total: int) -> None:
            bars.append(tqdm(total=total, unit="ranking", desc=f"simulating {campaign}", dynamic_ncols=True))

        async def work(database: Database) -> SimulationResult:
            try:
                return await simulate(database, campaign, labelers=labelers, spammers=spammers, seed=seed,
                                      max_rankings=rankings, on_start=on_start,
                                      on_batch=lambda n: bars[0].update(n) if bars else None)
            finally:
                for bar in bars:
                    bar.close()

        result = run(work)
        typer.echo(f"{result.rankings} rankings by {result.labelers} simulated labelers ({result.spammers} spammers) "
                   f"in {result.seconds:.1f} s: {result.items_complete}/{result.items} items have their votes; "
                   f"stopped because {result.stopped}")
        typer.echo(f"{result.contested_items} contested items planted; truth saved to {result.truth_path}")
