"""`crowdrank score --model VERSION|PATH --prompt TEXT --completion TEXT...`: rewards of completions."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from bot.errors import InputError
from bot.settings import get_settings


def register(app: typer.Typer) -> None:
    @app.command("score")
    def score(
        model: Annotated[str, typer.Option(help="Version name (rm-0003), 'active', or a model folder.")],
        prompt: Annotated[str, typer.Option(help="The prompt.")],
        completion: Annotated[list[str], typer.Option(help="A completion to score (repeat the option).")],
        as_json: Annotated[bool, typer.Option("--json", help="A JSON list of scores, in the given order.")]
        = False,
    ) -> None:
        """Score completions of one prompt with a reward model (higher is better)."""
        from storage.migrate import upgrade
        from trainer.score import RewardModel

        if not completion:
            raise InputError("give at least one --completion", field="completion")
        settings = get_settings()
        settings.home.mkdir(parents=True, exist_ok=True)
        upgrade(settings.resolved_database_url)
        reward_model = RewardModel.load(model, home=settings.home, url=settings.resolved_database_url)
        scores = reward_model.score(prompt, completion)
        if as_json:
            typer.echo(json.dumps(scores))
            return
        for rank, index in enumerate(sorted(range(len(scores)), key=lambda i: -scores[i]), start=1):
            typer.echo(f"{rank}. {scores[index]:+.4f}  {completion[index][:80]}")
