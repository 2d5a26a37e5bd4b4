"""SQLModel tables: one per word of the design (campaign, prompt, completion, item, labeler, assignment,
ranking, comparison, consensus, reward model version), plus enrollment (a labeler's onboarding in one campaign).

Lists and mappings (regions, shown orders, flags) are JSON columns: they are read and written whole, never
queried inside. Counters on `item` keep assignment to one indexed lookup instead of a count per request.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

CAMPAIGN_STATUSES = ("draft", "generating", "live", "paused", "closed")
ASSIGNMENT_STATES = ("open", "submitted", "skipped", "expired")
FLAGS = ("harmful", "unrankable")


def utcnow() -> datetime:
    """Aware UTC: SQLModel stores it as UTC on both databases and returns it aware."""
    return datetime.now(UTC)


def new_pseudonym() -> str:
    return "lab_" + secrets.token_hex(6)


def json_column(nullable: bool = False) -> Any:
    return Field(default=None, sa_column=Column(JSON, nullable=nullable))


class Campaign(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=200)
    criterion: str = Field(sa_column=Column(Text, nullable=False))
    guidelines: str = Field(default="", sa_column=Column(Text, nullable=False))
    guidelines_version: int = 1
    k: int
    votes: int  # rankings per item; with adaptive votes (`votes_min` set) the most an item may take
    votes_min: int | None = None  # adaptive votes: an item may stop once it has this many and is settled
    stop_rule: str = "top"  # adaptive votes: top | order — what must be unlikely to change for an item to stop
    stop_threshold: float = 0.05  # stop once P(one more ranking changes it) falls below this
    regions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    quota_policy: str = "balanced"  # balanced | none
    status: str = Field(default="draft", index=True)
    gold_rate: float = 0.0
    lease_minutes: int = 30
    retrain_schedule: str | None = None  # cron expression, e.g. "0 3 * * *"
    retrain_every: int | None = None  # retrain after this many new rankings
    announcement_channel: str | None = None
    remind_after_hours: int | None = None  # nudge a labeler idle this long; None: no reminders
    quiet_hours: str = Field(default="22-8", sa_column_kwargs={"server_default": "22-8"})  # when no tz is known
    quiet_timezone: str = Field(default="UTC", sa_column_kwargs={"server_default": "UTC"})
    rate_burst: int = Field(default=10, sa_column_kwargs={"server_default": "10"})  # a labeler's clicks at once
    rate_per_second: float = Field(default=5.0, sa_column_kwargs={"server_default": "5"})  # then this many a second
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Prompt(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("campaign_id", "external_id"),)
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    external_id: str = Field(max_length=200)
    text: str = Field(sa_column=Column(Text, nullable=False))
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class Completion(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("prompt_id", "position"),)
    id: int | None = Field(default=None, primary_key=True)
    prompt_id: int = Field(foreign_key="prompt.id", index=True)
    position: int  # 0..k-1, the canonical (unshuffled) order
    text: str = Field(sa_column=Column(Text, nullable=False))
    model: str = Field(max_length=500)
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class Item(SQLModel, table=True):
    """A prompt with its k completions, ready to rank. `settled or submitted + leased >= votes` sets `full`.

    `change_p` (P(one more ranking changes the consensus)) and `contested` (regions disagree) are updated at
    submit time from the item's own rankings; assignment serves unsettled and contested items first."""

    __table_args__ = (Index("ix_item_pool", "campaign_id", "full", "shuffle_key"),)
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    prompt_id: int = Field(foreign_key="prompt.id", unique=True)
    is_gold: bool = False
    gold_order: list[int] | None = json_column(nullable=True)  # completion ids, best first
    submitted: int = 0
    leased: int = 0
    full: bool = False
    settled: bool = False  # stopped early under the campaign's stop rule (adaptive votes)
    change_p: float = 1.0
    contested: bool = False
    waiting_region: str | None = Field(default=None, max_length=100)  # a region not heard yet (adaptive votes)
    shuffle_key: float = 0.0  # random, fixed at creation: a cheap random walk over the pool
    created_at: datetime = Field(default_factory=utcnow)


class Labeler(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("platform", "workspace", "user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)  # slack | discord | sim | cli
    workspace: str = Field(max_length=100)
    user_id: str = Field(max_length=100)
    pseudonym: str = Field(default_factory=new_pseudonym, unique=True, max_length=40)
    display_name: str | None = None
    region: str | None = None  # self-chosen; None until onboarding, "prefer not to say" allowed
    suggested_region: str | None = None  # from Slack tz or Discord locale, only a suggestion
    consent_at: datetime | None = None
    trust: float | None = None
    status: str = "active"  # active | blocked | forgotten
    tz: str | None = None  # IANA zone when the platform tells it (Slack `tz`): reminders keep its quiet hours
    reminders_off_at: datetime | None = None  # "no more reminders", honoured for good
    last_reminded_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Enrollment(SQLModel, table=True):
    """A labeler's onboarding in one campaign: which guidelines version they acknowledged."""

    __table_args__ = (UniqueConstraint("labeler_id", "campaign_id"),)
    id: int | None = Field(default=None, primary_key=True)
    labeler_id: int = Field(foreign_key="labeler.id", index=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    guidelines_version: int | None = None
    joined_at: datetime = Field(default_factory=utcnow)


class Assignment(SQLModel, table=True):
    """A lease of one item to one labeler. Unique per (item, labeler): nobody gets an item twice."""

    __table_args__ = (
        UniqueConstraint("item_id", "labeler_id"),
        Index("ix_assignment_labeler_state", "labeler_id", "campaign_id", "state"),
        Index("ix_assignment_item_region", "item_id", "region", "state"),
        Index("ix_assignment_state_expiry", "state", "expires_at"),
        # at most one open card per labeler and campaign, enforced by the database itself
        Index("ux_assignment_one_open", "labeler_id", "campaign_id", unique=True,
              sqlite_where=text("state = 'open'"), postgresql_where=text("state = 'open'")),
    )
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id")
    item_id: int = Field(foreign_key="item.id")
    labeler_id: int = Field(foreign_key="labeler.id")
    region: str | None = None  # the labeler's region when leased
    shown_order: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    clicks: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    ties: list[bool] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    flags: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: str = "open"
    skip_reason: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    first_shown_at: datetime | None = None
    expires_at: datetime = Field(default_factory=utcnow)
    closed_at: datetime | None = None
    # where the card's message is, as the adapter stored it when it posted the card ("<channel>/<message>"): card
    # updates go there, never to a location a payload claims
    message_ref: str | None = Field(default=None, max_length=200)


class Ranking(SQLModel, table=True):
    """A submitted order, best first. `ties[i]` is true when position i ties with position i-1."""

    __table_args__ = (Index("ix_ranking_campaign_item", "campaign_id", "item_id"),)
    id: int | None = Field(default=None, primary_key=True)
    assignment_id: int = Field(foreign_key="assignment.id", unique=True)
    campaign_id: int = Field(foreign_key="campaign.id")
    item_id: int = Field(foreign_key="item.id")
    labeler_id: int = Field(foreign_key="labeler.id", index=True)
    region: str | None = Field(default=None, index=True)
    best_first: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    ties: list[bool] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    flags: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    shown_order: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    seconds: float = 0.0
    is_gold: bool = False
    guidelines_version: int | None = None  # the version the labeler had acknowledged when they submitted
    created_at: datetime = Field(default_factory=utcnow, index=True)


class Delivery(SQLModel, table=True):
    """A platform delivery already applied (Slack action_ts, Discord interaction id), written in the same transaction
    as its change: a re-sent click, even after a restart, finds its key here and changes nothing."""

    key: str = Field(primary_key=True, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, index=True)


class Comparison(SQLModel, table=True):
    """One pair: `chosen` preferred over `rejected` (label 1 means completion_a = chosen)."""

    __table_args__ = (Index("ix_comparison_campaign_mode", "campaign_id", "mode"),)
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id")
    item_id: int = Field(foreign_key="item.id")
    chosen_id: int = Field(foreign_key="completion.id")
    rejected_id: int = Field(foreign_key="completion.id")
    label: int = 1
    margin: float = 0.0
    mode: str = "raw"  # raw | consensus
    ranking_id: int | None = Field(default=None, foreign_key="ranking.id")
    labeler_id: int | None = Field(default=None, foreign_key="labeler.id")
    region: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Consensus(SQLModel, table=True):
    """Aggregate order of one item for one method and scope (`all` or a region)."""

    __table_args__ = (UniqueConstraint("item_id", "method", "scope"),)
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    item_id: int = Field(foreign_key="item.id")
    method: str = "bradley_terry"
    scope: str = "all"
    best_first: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    scores: dict[str, float] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    n_rankings: int = 0
    kendall_w: float | None = None
    computed_at: datetime = Field(default_factory=utcnow)


class RewardModelVersion(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=100)  # e.g. "rm-0003"
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id")
    backbone: str = Field(max_length=500)
    data_snapshot: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    metrics: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    path: str = Field(max_length=1000)
    active: bool = False
    accepted: bool = False
    note: str = ""
    created_at: datetime = Field(default_factory=utcnow)


class Job(SQLModel, table=True):
    """A stored schedule: what runs (`kind`, campaign), when next (`next_run_at`), how it last went."""

    name: str = Field(primary_key=True, max_length=300)  # e.g. "retrain:hot-house", "reminders"
    kind: str = Field(max_length=40)
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id")
    trigger: str = Field(max_length=300)  # "cron 0 3 * * *", "every 50 rankings", both joined by " or "
    next_run_at: datetime | None = None  # None: only the rankings trigger fires it
    last_started_at: datetime | None = None
    last_finished_at: datetime | None = None
    last_outcome: str | None = None  # ok | failed | crashed | interrupted
    last_message: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class JobRun(SQLModel, table=True):
    """One occurrence of a job. Unique per (job, scheduled_for): two runners can never both claim it."""

    __table_args__ = (UniqueConstraint("job", "scheduled_for"),)
    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=300, index=True)
    scheduled_for: datetime
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    runner: str = Field(max_length=100)
    state: str = "running"  # running | ok | failed | crashed | interrupted
    late: bool = False  # fell due while no runner was up: ran once at start
    message: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class RunnerLease(SQLModel, table=True):
    """Who runs the jobs: one row per lease name, held by one process until `expires_at` unless renewed."""

    name: str = Field(primary_key=True, max_length=40)
    holder: str = Field(max_length=100)
    expires_at: datetime
