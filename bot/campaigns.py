"""Campaigns: create (with prompts and optional imported completions, in one transaction), look up, list,
change status, and the progress figures that `campaign show`, `/crowdrank status` and scripts read (with adaptive
votes, how many items stopped early and why)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.adaptive_votes import adaptive_stats, done_clause
from bot.errors import InputError, NotFound, StateError
from bot.i18n import N_
from bot.plain_text import CAMPAIGN_NAME, CHANNEL, CRITERION, GUIDELINES, REGION, check_name, check_text
from bot.prompt_files import CompletionRecord, PromptRecord
from bot.quiet_hours import check_zone, parse_quiet_hours
from bot.settledness import STOP_RULES
from storage.models import Campaign, Completion, Enrollment, Item, Prompt, Ranking, utcnow

K_RANGE = range(2, 10)
QUOTA_POLICIES = ("balanced", "none")
# Which status changes each command may make: {command: ({from...}, to)}
TRANSITIONS: dict[str, tuple[set[str], str]] = {
    "pause": ({"live"}, "paused"),
    "resume": ({"paused"}, "live"),
    "close": ({"draft", "generating", "live", "paused"}, "closed"),
}


# settings a re-run of `campaign create` may change (a value left out keeps the stored one)
UPDATABLE = ("retrain_schedule", "announcement_channel", "retrain_every", "remind_after_hours", "quiet_hours",
             "quiet_timezone", "rate_burst", "rate_per_second")
MAX_RATE_BURST = 1000
MAX_RATE_PER_SECOND = 1000.0


def retrain_trigger(expression: str) -> CronTrigger:
    """A UTC cron trigger from five-field crontab syntax, or one clear line saying why not."""
    try:
        return CronTrigger.from_crontab(expression, timezone="UTC")
    except ValueError as exc:
        raise InputError(f"retrain schedule {expression!r} is not a crontab expression ({exc})",
                         field="retrain") from exc


@dataclass
class CampaignSpec:
    name: str
    criterion: str
    k: int
    votes: int  # fixed votes per item, or the most an item may take when `votes_min` is set
    regions: list[str]
    guidelines: str = ""
    votes_min: int | None = None  # adaptive votes: VOTES_MIN..votes, an item stops once settled
    stop_rule: str = "top"
    stop_threshold: float = 0.05
    quota_policy: str = "balanced"
    lease_minutes: int = 30
    gold_rate: float = 0.0
    retrain_schedule: str | None = None
    announcement_channel: str | None = None
    retrain_every: int | None = None
    remind_after_hours: int | None = None
    quiet_hours: str | None = None  # None: the default window (22-8), or what the campaign has
    quiet_timezone: str | None = None
    rate_burst: int | None = None  # per labeler: clicks at once, then `rate_per_second` (None: stored or default)
    rate_per_second: float | None = None

    def validate(self) -> None:
        self._check_plain_text()
        if not self.name.strip():
            raise InputError("campaign name is empty", field="name")
        if self.k not in K_RANGE:
            raise InputError(f"k must be between 2 and 9, got {self.k}", field="k")
        if self.votes < 1:
            raise InputError(f"votes must be at least 1, got {self.votes}", field="votes")
        if self.votes_min is not None and not 1 <= self.votes_min <= self.votes:
            raise InputError(f"votes MIN..MAX needs 1 <= MIN <= MAX, got {self.votes_min}..{self.votes}",
                             field="votes")
        if self.stop_rule not in STOP_RULES:
            raise InputError(f"stop rule must be one of {', '.join(STOP_RULES)}, got {self.stop_rule!r}",
                             field="stop")
        if not 0.0 < self.stop_threshold < 1.0:
            raise InputError(f"stop threshold must be in (0, 1), got {self.stop_threshold}", field="stop_below")
        if not self.criterion.strip():
            raise InputError("criterion is empty", field="criterion")
        if self.quota_policy not in QUOTA_POLICIES:
            raise InputError(f"quota policy must be one of {', '.join(QUOTA_POLICIES)}", field="quota")
        if len(set(self.regions)) != len(self.regions) or any(not r.strip() for r in self.regions):
            raise InputError("regions must be distinct and non-empty", field="regions")
        if not 0.0 <= self.gold_rate < 1.0:
            raise InputError("gold rate must be in [0, 1)", field="gold_rate")
        if self.retrain_schedule is not None:
            retrain_trigger(self.retrain_schedule)
        if self.retrain_every is not None and self.retrain_every < 1:
            raise InputError(f"retrain-every must be at least 1 ranking, got {self.retrain_every}",
                             field="retrain-every")
        if self.remind_after_hours is not None and self.remind_after_hours < 1:
            raise InputError(f"remind-after must be at least 1 hour, got {self.remind_after_hours}",
                             field="remind-after")
        if self.quiet_hours is not None:
            parse_quiet_hours(self.quiet_hours)
        if self.quiet_timezone is not None:
            check_zone(self.quiet_timezone, "quiet-timezone")
        if self.rate_burst is not None and not 1 <= self.rate_burst <= MAX_RATE_BURST:
            raise InputError(f"rate burst must be between 1 and {MAX_RATE_BURST}, got {self.rate_burst}",
                             field="rate-burst")
        if self.rate_per_second is not None and not 0 < self.rate_per_second <= MAX_RATE_PER_SECOND:
            raise InputError(f"rate per second must be above 0 and at most {MAX_RATE_PER_SECOND}, got "
                             f"{self.rate_per_second}", field="rate-per-second")

    def _check_plain_text(self) -> None:
        """Caps and control characters first, before anything parses or stores these texts."""
        check_name(self.name, "campaign name", CAMPAIGN_NAME, field="name")
        check_text(self.criterion, "criterion", CRITERION, field="criterion")
        check_text(self.guidelines, "guidelines", GUIDELINES, field="guidelines")
        for region in self.regions:
            check_name(region, "region", REGION, field="regions")
        if self.announcement_channel is not None:
            check_name(self.announcement_channel, "announcement channel", CHANNEL, field="announce")


@dataclass
class CreateResult:
    campaign: Campaign
    created: bool
    prompts_added: int = 0
    completions_added: int = 0
    notes: list[str] = field(default_factory=list)


async def get_campaign(session: AsyncSession, name: str) -> Campaign:
    campaign = (await session.exec(select(Campaign).where(Campaign.name == name))).first()
    if campaign is None:
        raise NotFound(N_("no campaign named '{name}'"), name=name)
    return campaign


async def campaign_name(session: AsyncSession, campaign_id: int) -> str:
    """The name of the campaign a button names by id (buttons carry ids, never free text)."""
    name = (await session.exec(select(Campaign.name).where(Campaign.id == campaign_id))).first()
    if name is None:
        raise NotFound(N_("this campaign no longer exists"))
    return name


async def rate_limits(session: AsyncSession) -> dict[int, tuple[int, float]]:
    """Every campaign's per-labeler limit, {id: (burst, per second)}, in one query (the chat layer caches it)."""
    rows = (await session.exec(select(Campaign.id, Campaign.rate_burst, Campaign.rate_per_second))).all()
    return {campaign_id: (burst, per_second) for campaign_id, burst, per_second in rows if campaign_id is not None}


async def list_campaigns(session: AsyncSession) -> list[Campaign]:
    return list((await session.exec(select(Campaign).order_by(col(Campaign.id)))).all())


async def create_campaign(
    session: AsyncSession,
    spec: CampaignSpec,
    prompts: list[PromptRecord],
    completions: list[CompletionRecord] | None = None,
    *,
    completions_file: str | None = None,
) -> CreateResult:
    """Create the campaign or add to the one of that name; all or nothing, and idempotent on a re-run."""
    spec.validate()
    async with session.begin():
        campaign = (await session.exec(select(Campaign).where(Campaign.name == spec.name))).first()
        result = CreateResult(campaign=campaign, created=False) if campaign else None
        if campaign is None:
            campaign = Campaign(**{key: value for key, value in spec.__dict__.items() if value is not None})
            session.add(campaign)
            await session.flush()
            result = CreateResult(campaign=campaign, created=True)
        else:
            _check_same_shape(campaign, spec)
            if spec.guidelines and spec.guidelines != campaign.guidelines:
                campaign.guidelines = spec.guidelines
                campaign.guidelines_version += 1
                campaign.updated_at = utcnow()
                result.notes.append(f"guidelines updated to version {campaign.guidelines_version}")
            for name in UPDATABLE:
                value = getattr(spec, name)
                if value is not None and value != getattr(campaign, name):
                    setattr(campaign, name, value)
                    campaign.updated_at = utcnow()
                    result.notes.append(f"{name.replace('_', ' ')} set to {value!r}")
        assert result is not None
        by_external = await _add_prompts(session, campaign, prompts, result)
        for record in completions or []:
            prompt = by_external.get(record.prompt_id)
            if prompt is None:
                raise InputError(f"unknown prompt id {record.prompt_id!r}", file=completions_file,
                                 line=record.line, field="prompt_id")
            if await _completion_count(session, prompt.id) > 0:
                continue  # already has completions from an earlier run
            await store_completions(session, campaign, prompt, record.texts, record.model, {"source": "import"})
            result.completions_added += len(record.texts)
        await _refresh_status(session, campaign)
    return result


def _check_same_shape(campaign: Campaign, spec: CampaignSpec) -> None:
    for name in ("k", "votes", "votes_min", "stop_rule", "stop_threshold", "criterion"):
        if getattr(campaign, name) != getattr(spec, name):
            raise InputError(
                f"campaign {campaign.name!r} exists with {name}={getattr(campaign, name)!r}; "
                f"use another name to change it", field=name)
    if sorted(campaign.regions) != sorted(spec.regions):
        raise InputError(f"campaign {campaign.name!r} exists with regions {','.join(campaign.regions)}",
                         field="regions")


async def _add_prompts(session: AsyncSession, campaign: Campaign, records: list[PromptRecord],
                       result: CreateResult) -> dict[str, Prompt]:
    existing = {p.external_id: p for p in (await session.exec(
        select(Prompt).where(Prompt.campaign_id == campaign.id))).all()}
    for record in records:
        if record.external_id in existing:
            continue
        prompt = Prompt(campaign_id=campaign.id, external_id=record.external_id, text=record.text, meta=record.meta)
        session.add(prompt)
        existing[record.external_id] = prompt
        result.prompts_added += 1
    await session.flush()
    return existing


async def _completion_count(session: AsyncSession, prompt_id: int | None) -> int:
    return (await session.exec(select(func.count()).select_from(Completion)
                               .where(Completion.prompt_id == prompt_id))).one()


def shuffle_key(campaign: Campaign, prompt: Prompt) -> float:
    """An item's place in the pool walk: uniform in [0, 1) like a random draw, but fixed by the campaign and the
    prompt's id, so a seeded simulation (the demo, the benchmarks) walks the pool the same way on every run."""
    return zlib.crc32(f"{campaign.name}\x1f{prompt.external_id}".encode()) / 2**32


async def store_completions(session: AsyncSession, campaign: Campaign, prompt: Prompt, texts: list[str],
                            model: str, settings: dict[str, Any]) -> Item:
    """Add a prompt's k completions and the item that makes it rankable (inside the caller's transaction)."""
    if len(texts) != campaign.k:
        raise InputError(f"expected {campaign.k} completions for prompt {prompt.external_id!r}, got {len(texts)}")
    for position, text in enumerate(texts):
        session.add(Completion(prompt_id=prompt.id, position=position, text=text, model=model, settings=settings))
    item = Item(campaign_id=campaign.id, prompt_id=prompt.id, shuffle_key=shuffle_key(campaign, prompt))
    session.add(item)
    await session.flush()
    return item


async def _refresh_status(session: AsyncSession, campaign: Campaign) -> None:
    """A draft or generating campaign goes live once every prompt has its completions."""
    if campaign.status not in ("draft", "generating"):
        return
    prompts = (await session.exec(select(func.count()).select_from(Prompt)
                                  .where(Prompt.campaign_id == campaign.id))).one()
    items = (await session.exec(select(func.count()).select_from(Item)
                                .where(Item.campaign_id == campaign.id))).one()
    if prompts and items == prompts:
        campaign.status = "live"
        campaign.updated_at = utcnow()


async def mark_generated(session: AsyncSession, campaign: Campaign) -> None:
    """Called by generation when it finishes: live if complete (own transaction)."""
    async with session.begin():
        await session.refresh(campaign)
        await _refresh_status(session, campaign)


async def change_status(session: AsyncSession, name: str, command: str) -> Campaign:
    allowed, target = TRANSITIONS[command]
    async with session.begin():
        campaign = await get_campaign(session, name)
        if campaign.status not in allowed:
            raise StateError(N_("cannot {command} campaign '{name}': it is {status}"), command=command, name=name,
                             status=campaign.status)
        campaign.status = target
        campaign.updated_at = utcnow()
    return campaign


async def campaign_stats(session: AsyncSession, campaign: Campaign) -> dict[str, Any]:
    """Progress figures for one campaign (the `campaign show --json` contract)."""

    async def count(statement: Any) -> int:
        return int((await session.exec(statement)).one())

    cid = campaign.id
    prompts = await count(select(func.count()).select_from(Prompt).where(Prompt.campaign_id == cid))
    completions = await count(select(func.count()).select_from(Completion).join(Prompt)
                              .where(Prompt.campaign_id == cid))
    items = await count(select(func.count()).select_from(Item).where(Item.campaign_id == cid))
    complete = await count(select(func.count()).select_from(Item)
                           .where(Item.campaign_id == cid, done_clause(campaign)))
    rankings = await count(select(func.count()).select_from(Ranking).where(Ranking.campaign_id == cid))
    labelers = await count(select(func.count(func.distinct(Ranking.labeler_id))).where(Ranking.campaign_id == cid))
    joined = await count(select(func.count()).select_from(Enrollment).where(Enrollment.campaign_id == cid))
    by_region_rows = (await session.exec(select(Ranking.region, func.count()).where(Ranking.campaign_id == cid)
                                         .group_by(Ranking.region))).all()
    return {
        "name": campaign.name,
        "status": campaign.status,
        "criterion": campaign.criterion,
        "k": campaign.k,
        "votes": campaign.votes,  # the most per item under adaptive votes (then see adaptive_votes)
        "regions": campaign.regions,
        "quota_policy": campaign.quota_policy,
        "guidelines_version": campaign.guidelines_version,
        "retrain_schedule": campaign.retrain_schedule,
        "announcement_channel": campaign.announcement_channel,
        "retrain_every": campaign.retrain_every,
        "remind_after_hours": campaign.remind_after_hours,
        "quiet_hours": f"{campaign.quiet_hours} {campaign.quiet_timezone}",
        "rate_burst": campaign.rate_burst,  # per labeler: clicks at once, then rate_per_second
        "rate_per_second": campaign.rate_per_second,
        "prompts": prompts,
        "completions": completions,
        "items": items,
        "items_complete": complete,
        "rankings": rankings,
        "rankings_by_region": {region or "unknown": n for region, n in by_region_rows},
        "labelers": labelers,  # who has ranked at least once
        "joined": joined,  # who finished onboarding (some may not have ranked yet)
        "votes_needed": items * campaign.votes,  # at most, under adaptive votes
        "adaptive_votes": await adaptive_stats(session, campaign),
    }
