"""`crowdrank gold CAMPAIGN --file gold.jsonl`: set the items whose best order the manager knows."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.database import Database, run
from bot.gold import read_gold, set_gold


def register(app: typer.Typer) -> None:
    @app.command("gold")
    def gold(
        campaign: Annotated[str, typer.Argument(help="Campaign name.")],
        file: Annotated[Path, typer.Option(help='JSONL: {"prompt_id": "...", "order": [positions best first]}.')],
    ) -> None:
        """Mark gold items (known best-first order), served at the campaign's gold rate to measure accuracy."""
        records = read_gold(file)

        async def work(database: Database) -> int:
            async with database.session() as session:
                return await set_gold(session, campaign, records, file=str(file))

        typer.echo(f"{run(work)} gold items set in {campaign!r}")
