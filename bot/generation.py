"""Generate a campaign's completions: every prompt without completions gets k of them from an instruct model.

Resumable by construction: each batch of prompts is stored in its own transaction, so an interrupted run keeps
every batch it finished, and a re-run only asks the model about prompts that still have no completions. The
model is loaded only when there is something to generate. Sampling is CPU-heavy sync code and runs in a worker
thread, off the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import exists
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import campaigns
from bot.errors import InputError, StateError
from storage.models import Campaign, Completion, Prompt, utcnow


class Sampler(Protocol):
    """What generation needs from a model (trainer.sampling.CompletionSampler is the real one)."""

    model_id: str

    @property
    def record(self) -> dict[str, Any]: ...

    def sample(self, prompts: list[str], k: int) -> list[list[str]]: ...


@dataclass(frozen=True)
class PendingPrompt:
    id: int
    text: str


@dataclass
class GenerationResult:
    campaign: str
    status: str
    pending: int  # prompts without completions when the run started
    prompts_done: int = 0
    completions_added: int = 0
    model_id: str | None = None


def model_sampler(model: str, cache_dir: Path, *, max_new_tokens: int, temperature: float, top_p: float,
                  seed: int, system: str | None = None) -> Callable[[], Sampler]:
    """Check the settings and the model path now (bad input fails before anything is written); load the model
    only when the factory is called."""
    from trainer.instruct_model import resolve
    from trainer.sampling import SamplingSettings

    settings = SamplingSettings(max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p, seed=seed,
                                system=system)
    resolve(model)

    def make() -> Sampler:
        from trainer.instruct_model import load_instruct_model
        from trainer.sampling import sampler_for

        return sampler_for(load_instruct_model(model, cache_dir=cache_dir), settings)

    return make


async def pending_prompts(session: AsyncSession, campaign: Campaign) -> list[PendingPrompt]:
    """The campaign's prompts that have no completion yet, in the order they were added."""
    has_completion = exists().where(col(Completion.prompt_id) == col(Prompt.id))
    rows = (await session.exec(select(Prompt.id, Prompt.text)
                               .where(Prompt.campaign_id == campaign.id, ~has_completion)
                               .order_by(col(Prompt.id)))).all()
    return [PendingPrompt(id=row[0], text=row[1]) for row in rows]


async def generate_completions(
    session: AsyncSession,
    campaign_name: str,
    make_sampler: Callable[[], Sampler],
    *,
    batch_size: int = 8,
    on_start: Callable[[int], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> GenerationResult:
    """Write k completions for every prompt of the campaign that has none, `batch_size` prompts at a time.

    A draft campaign is `generating` while this runs and `live` once every prompt has its completions; a live
    or paused campaign that got new prompts keeps its status, so labelers go on ranking what exists.
    `on_start(pending)` and `on_batch(prompts_done)` drive a progress bar.
    """
    if batch_size < 1:
        raise InputError(f"must be at least 1, got {batch_size}", field="batch_size")
    async with session.begin():
        campaign = await campaigns.get_campaign(session, campaign_name)
        if campaign.status == "closed":
            raise StateError(f"campaign {campaign_name!r} is closed; nothing is generated for it")
        todo = await pending_prompts(session, campaign)
        campaign_id, k = campaign.id, campaign.k
    result = GenerationResult(campaign=campaign_name, status=campaign.status, pending=len(todo))
    if on_start:
        on_start(len(todo))
    if todo:
        sampler = await asyncio.to_thread(make_sampler)  # a model that fails to load leaves the campaign as it was
        result.model_id = sampler.model_id
        await _mark_generating(session, campaign)
        for start in range(0, len(todo), batch_size):
            batch = todo[start:start + batch_size]
            texts = await asyncio.to_thread(sampler.sample, [p.text for p in batch], k)
            result.completions_added += await _store_batch(session, campaign_id, batch, texts, sampler)
            result.prompts_done += len(batch)
            if on_batch:
                on_batch(len(batch))
    await campaigns.mark_generated(session, campaign)
    result.status = campaign.status
    return result


async def _mark_generating(session: AsyncSession, campaign: Campaign) -> None:
    async with session.begin():
        await session.refresh(campaign)
        if campaign.status == "draft":
            campaign.status = "generating"
            campaign.updated_at = utcnow()


async def _store_batch(session: AsyncSession, campaign_id: int | None, batch: list[PendingPrompt],
                       texts: list[list[str]], sampler: Sampler) -> int:
    """One transaction per batch. A prompt that got completions meanwhile (another run) is left as it is."""
    added = 0
    async with session.begin():
        campaign = await session.get(Campaign, campaign_id)
        assert campaign is not None
        for pending, completions in zip(batch, texts, strict=True):
            already = (await session.exec(select(Completion.id).where(Completion.prompt_id == pending.id)
                                          .limit(1))).first()
            prompt = await session.get(Prompt, pending.id)
            if already is not None or prompt is None:
                continue
            await campaigns.store_completions(session, campaign, prompt, completions, sampler.model_id,
                                              sampler.record)
            added += len(completions)
    return added
