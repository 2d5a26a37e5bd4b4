"""Helpers for the ranking-engine tests: a small live campaign and labelers that finished onboarding."""

from __future__ import annotations

from bot import labelers
from bot.campaigns import CampaignSpec, create_campaign
from bot.database import Database
from bot.prompt_files import CompletionRecord, PromptRecord

STYLES = ("Sure! {n} is short.", "Certainly. Here is a formal, complete and careful answer about {n}.",
          "ok {n}", "Thank you for asking. Regarding {n}, the considered answer follows in full.",
          "{n}: yes", "Hey, {n} rocks!!", "A neutral note on {n}.", "Per policy, {n} is addressed herein.",
          "lol {n}")


async def make_campaign(database: Database, name: str = "camp", *, items: int = 6, k: int = 3, votes: int = 2,
                        regions: tuple[str, ...] = ("Africa", "Europe"), quota: str = "balanced",
                        gold_rate: float = 0.0, lease_minutes: int = 30, guidelines: str = "Rank by help.",
                        votes_min: int | None = None, stop_rule: str = "top") -> str:
    spec = CampaignSpec(name=name, criterion="helpfulness", k=k, votes=votes, regions=list(regions),
                        guidelines=guidelines, quota_policy=quota, gold_rate=gold_rate, lease_minutes=lease_minutes,
                        votes_min=votes_min, stop_rule=stop_rule)
    prompts = [PromptRecord(external_id=f"p{i}", text=f"Question number {i} about topic {i}?") for i in range(items)]
    completions = [CompletionRecord(prompt_id=f"p{i}", texts=[STYLES[j].format(n=f"topic {i}") for j in range(k)],
                                    model="test") for i in range(items)]
    async with database.session() as session:
        await create_campaign(session, spec, prompts, completions)
    return name


async def ready_labeler(database: Database, campaign: str = "camp", user: str = "u1",
                        region: str = "Africa", platform: str = "slack") -> int:
    """Register a labeler and complete onboarding for `campaign`; returns the labeler id."""
    async with database.session() as session:
        labeler = await labelers.register_labeler(session, platform, "W1", user, display_name=f"name {user}")
        state = await labelers.onboarding(session, labeler.id, campaign)
        await labelers.give_consent(session, labeler.id)
        await labelers.choose_region(session, labeler.id, campaign, region)
        await labelers.acknowledge_guidelines(session, labeler.id, campaign, state.guidelines_version)
        return labeler.id
