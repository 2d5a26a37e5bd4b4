"""`crowdrank train CAMPAIGN | --pairs FILE`: train a reward model and register it as a new version."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.settings import get_settings


def register(app: typer.Typer) -> None:
    @app.command("train")
    def train(
        campaign: Annotated[str | None, typer.Argument(help="Campaign whose raw pairs to train on.")] = None,
        pairs: Annotated[Path | None, typer.Option(help="Train on a pair file (.jsonl/.parquet) instead.")] = None,
        backbone: Annotated[str, typer.Option(help="'default' (all-MiniLM-L6-v2) or a local model folder.")]
        = "default",
        epochs: Annotated[int, typer.Option(help="Passes over the training prompts.")] = 2,
        lr: Annotated[float, typer.Option(help="AdamW learning rate.")] = 3e-5,
        batch_prompts: Annotated[int, typer.Option(help="Prompts per step (all their pairs together).")] = 8,
        max_length: Annotated[int, typer.Option(help="Tokens per (prompt, completion) input.")] = 256,
        seed: Annotated[int, typer.Option(help="Seed of the split, the batch order and the weights.")] = 0,
        tolerance: Annotated[float, typer.Option(help="Activate the new version unless its validation accuracy "
                                                      "is more than this below the active one's.")] = 0.01,
        min_trust: Annotated[float | None, typer.Option(help="Leave out labelers with trust below X.")] = None,
        identity_pooler: Annotated[bool | None, typer.Option(
            "--identity-pooler/--no-identity-pooler",
            help="Start the backbone's BERT pooler as the identity (it ships untrained in sentence-embedding "
                 "models). Default: on for the default backbone, off for others.")] = None,
        foreign_negatives: Annotated[int, typer.Option(help="Per training prompt, answers written for other "
                                                            "prompts ranked below its own.")] = 0,
        progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    ) -> None:
        """Train a reward model on a campaign's rankings or a pair file; register it as rm-NNNN."""
        from storage.migrate import upgrade
        from trainer.distributed import launched_ranks
        from trainer.retrain import TrainConfig, train_reward_model

        settings = get_settings()
        settings.home.mkdir(parents=True, exist_ok=True)
        ranks = launched_ranks()
        if ranks.main:  # under `accelerate launch` one process migrates; the others wait for it, then read
            upgrade(settings.resolved_database_url)
        ranks.barrier()
        config = TrainConfig(backbone=backbone, epochs=epochs, lr=lr, batch_prompts=batch_prompts,
                             max_length=max_length, seed=seed, identity_pooler=identity_pooler,
                             foreign_negatives=foreign_negatives)
        version = train_reward_model(settings.resolved_database_url, settings.home, campaign=campaign,
                                     pairs=pairs, config=config, tolerance=tolerance, min_trust=min_trust,
                                     progress=progress)
        if version is None:  # another process of `accelerate launch`: the main one reports
            return
        metrics = version.metrics
        typer.echo(f"{version.name}: validation accuracy {metrics['val_accuracy']:.3f} "
                   f"± {metrics['val_interval95']:.3f} on {metrics['val_pairs']} pairs; {version.note}")
        typer.echo(f"saved to {version.path}")
