"""`crowdrank demo`: the whole loop on the bundled prompts, one stage after another.

Each stage is a small `async def` taking the `Demo` state; `run_demo` lists them in order, so a later stage
(simulated crowd, report, pairs, reward model) is one function and one line more. Every stage is safe to run
again: re-running the demo adds only what is missing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import col, select

from bot import campaigns, generation
from bot.database import Database
from bot.demo import GUIDELINES, PROMPTS
from bot.progress import progress_bar
from bot.prompt_files import read_prompts
from storage.models import Campaign, Completion, Prompt
from trainer.sampling import SamplingSettings

CAMPAIGN = "demo"
REGIONS = ["Africa", "Asia", "Europe", "Latin America", "North America", "Oceania"]


@dataclass
class DemoOptions:
    prompts_limit: int | None = None  # only the first N bundled prompts (quick runs)
    model: str = "default"
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    batch_size: int = 8


@dataclass
class Demo:
    """What the stages share: where to work, the options, and the outputs to point the user at."""

    database: Database
    home: Path
    options: DemoOptions
    echo: Callable[[str], None] = print
    campaign: Campaign | None = None
    outputs: dict[str, str] = field(default_factory=dict)  # what → where, printed at the end

    def stage(self, title: str) -> None:
        self.echo(f"\n== {title} ==")


async def create_campaign(demo: Demo) -> None:
    """The campaign `demo` from the bundled prompts and helpfulness guidelines (k=4, 3 votes, six regions)."""
    demo.stage("campaign")
    prompts = read_prompts(PROMPTS)[:demo.options.prompts_limit]
    spec = campaigns.CampaignSpec(name=CAMPAIGN, criterion="helpfulness", k=4, votes=3, regions=REGIONS,
                                  guidelines=GUIDELINES["helpfulness"].read_text(encoding="utf-8"))
    async with demo.database.session() as session:
        result = await campaigns.create_campaign(session, spec, prompts)
    demo.campaign = result.campaign
    verb = "created" if result.created else "found"
    demo.echo(f"{verb} campaign {CAMPAIGN!r}: {result.prompts_added} new prompts from {PROMPTS.name}")


async def generate_completions(demo: Demo) -> None:
    """k completions for every prompt that has none, from the bundled instruct model (cached after the first
    load)."""
    demo.stage("completions")
    options, cache = demo.options, demo.home / "models"
    sampling = options.sampling
    make_sampler = generation.model_sampler(options.model, cache, max_new_tokens=sampling.max_new_tokens,
                                            temperature=sampling.temperature, top_p=sampling.top_p,
                                            seed=sampling.seed)
    async with demo.database.session() as session:
        with progress_bar("generating", "prompt") as (on_start, on_batch):
            result = await generation.generate_completions(session, CAMPAIGN, make_sampler,
                                                           batch_size=options.batch_size,
                                                           on_start=on_start, on_batch=on_batch)
    if result.pending:
        demo.echo(f"{result.completions_added} completions for {result.prompts_done} prompts from "
                  f"{result.model_id}; campaign is {result.status}")
    else:
        demo.echo(f"every prompt already has its completions; campaign is {result.status}")
    demo.outputs["model cache"] = str(cache)


async def export_completions(demo: Demo) -> None:
    """Write the campaign's completions as JSONL (the `--completions` import format, plus the prompt text)."""
    path = demo.home / "demo" / "completions.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    async with demo.database.session() as session:
        campaign = await campaigns.get_campaign(session, CAMPAIGN)
        rows = (await session.exec(
            select(Prompt.external_id, Prompt.text, Completion.text, Completion.model)
            .join(Completion, col(Completion.prompt_id) == col(Prompt.id))
            .where(Prompt.campaign_id == campaign.id)
            .order_by(col(Prompt.id), col(Completion.position)))).all()
    grouped: dict[str, dict] = {}
    for external_id, prompt, text, model in rows:
        entry = grouped.setdefault(external_id, {"prompt_id": external_id, "prompt": prompt, "completions": [],
                                                 "model": model})
        entry["completions"].append(text)
    with path.open("w", encoding="utf-8") as out:
        for entry in grouped.values():
            out.write(json.dumps(entry, ensure_ascii=False) + "\n")
    demo.outputs["completions"] = str(path)
    if grouped:
        first = next(iter(grouped.values()))
        demo.echo(f"\nexample — {first['prompt']}\n  A: {_preview(first['completions'][0])}")


def _preview(text: str, width: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[:width - 1] + "…"


def print_outputs(demo: Demo) -> None:
    demo.stage("where things are")
    demo.outputs.setdefault("database", demo.database.url)
    for what, where in demo.outputs.items():
        demo.echo(f"{what:>14}: {where}")
    demo.echo(f"{'next':>14}: crowdrank campaign show {CAMPAIGN}")


async def run_demo(database: Database, home: Path, options: DemoOptions | None = None,
                   echo: Callable[[str], None] = print) -> Demo:
    """Run every demo stage in order on a migrated database; returns the shared state (for tests)."""
    demo = Demo(database=database, home=home, options=options or DemoOptions(), echo=echo)
    await create_campaign(demo)
    await generate_completions(demo)
    await export_completions(demo)
    print_outputs(demo)
    return demo
