"""`crowdrank demo`: the whole loop on the bundled prompts and models, on the configured database."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import typer

from bot.database import Database, run
from bot.settings import get_settings


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        prompts_limit: Annotated[int | None, typer.Option(min=1, help="Use only the first N bundled prompts.")] = None,
        model: Annotated[str, typer.Option(help="'default' or a local HF folder or .gguf file.")] = "default",
        max_new_tokens: Annotated[int | None, typer.Option(help="Longest completion, in tokens.")] = None,
        batch_size: Annotated[int, typer.Option(help="Prompts per forward pass.")] = 8,
        labelers: Annotated[int, typer.Option(min=1, help="Size of the simulated crowd.")] = 30,
        spammers: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of spammers in the crowd.")] = 0.1,
        seed: Annotated[int, typer.Option(help="Seed for the crowd and the reward model.")] = 0,
        epochs: Annotated[int, typer.Option(min=1, help="Reward-model training epochs.")] = 3,
    ) -> None:
        """Run the whole loop: campaign 'demo' from the bundled prompts, completions from the bundled instruct
        model, a simulated crowd, labeler trust, the consensus report, pairs and a reward model."""
        from bot.demo.run import DEMO_SAMPLING, DemoOptions, run_demo

        sampling = DEMO_SAMPLING if max_new_tokens is None else replace(DEMO_SAMPLING, max_new_tokens=max_new_tokens)
        options = DemoOptions(prompts_limit=prompts_limit, model=model, sampling=sampling, batch_size=batch_size,
                              labelers=labelers, spammers=spammers, seed=seed, epochs=epochs)
        settings = get_settings()

        async def work(database: Database) -> None:
            await run_demo(database, settings.home, options, echo=typer.echo)

        typer.echo(f"crowdrank demo in {settings.home.resolve()} (database: {settings.resolved_database_url})")
        run(work)
