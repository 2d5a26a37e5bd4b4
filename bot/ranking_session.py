"""One assignment's card: clicks, undo, reset, ties, flags, skip and submit, each persisted in its own short
transaction so a restart of the bot resumes the card exactly where the labeler left it.

Every call locks the assignment row (FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on SQLite) and checks who and
when before changing anything: another labeler's card is NotAllowed; a submitted, skipped or expired card and a
double click are StateError, and nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, false, func, insert, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.adaptive_votes import update_item
from bot.card_loader import aware, build_card, card_state, card_texts, load_card
from bot.cards import Card
from bot.errors import Duplicate, InputError, NotAllowed, NotFound, StateError
from bot.i18n import N_
from bot.labelers import release_slots
from bot.unit_of_work import transaction
from storage.models import FLAGS, Assignment, Campaign, Delivery, Enrollment, Item, Labeler, Ranking, utcnow

MAX_SKIP_REASON = 500

__all__ = ["Submitted", "show_card", "click", "undo", "reset", "tie", "flag", "skip", "submit", "progress",
           "remember_message"]


@dataclass(frozen=True)
class Submitted:
    ranking_id: int
    done: int  # rankings this labeler has in the campaign
    remaining: int  # items still open to them
    card: Card


@dataclass
class _Marks:
    """Mutable copies of the card's clicks, ties and flags; written back whole (JSON columns)."""

    k: int
    shown_order: list[int]
    clicks: list[int]
    ties: list[bool]
    flags: dict[str, str]

    def check_index(self, index: int) -> None:
        if not 0 <= index < self.k:
            raise InputError(N_("choice {choice} is not on this card"), field="index", choice=index + 1)


def _check_open(owner: int, labeler_id: int, state: str, campaign: str, status: str) -> None:
    """Who and when, before anything changes: the card must be the presser's, open, in a live campaign."""
    if owner != labeler_id:
        raise NotAllowed(N_("this card is not yours"))
    if state != "open":
        raise StateError(N_("this card is {state}; ask for the next one"), state=state)
    if status != "live":
        raise StateError(N_("campaign '{campaign}' is {status}; your clicks are kept for later"),
                         campaign=campaign, status=status)


@dataclass
class _Lease:
    """The columns of a card that a click reads and writes: plain values, no ORM object to track and flush
    (a click is the hottest write there is: with the statements below built once, its Python calls fell by a third)."""

    id: int
    labeler_id: int
    item_id: int
    state: str
    expires_at: datetime
    shown_order: list[int]
    clicks: list[int]
    ties: list[bool]
    flags: dict[str, str]
    message_ref: str | None
    first_shown_at: datetime | None
    created_at: datetime


@dataclass
class _CampaignPart:
    id: int
    name: str
    criterion: str
    guidelines_version: int
    status: str
    votes_min: int | None


_LEASE = (Assignment.id, Assignment.labeler_id, Assignment.item_id, Assignment.state, Assignment.expires_at,
          Assignment.shown_order, Assignment.clicks, Assignment.ties, Assignment.flags, Assignment.message_ref,
          Assignment.first_shown_at, Assignment.created_at)
_CAMPAIGN = (Campaign.id, Campaign.name, Campaign.criterion, Campaign.guidelines_version, Campaign.status,
             Campaign.votes_min)
# Statements built once with bound parameters: executing the same statement object skips SQLAlchemy's cache-key
# walk and result adaptation, which a freshly built statement pays on every click.
_WRITE_MARKS = (update(Assignment).where(Assignment.id == bindparam("card"))
                .values(clicks=bindparam("clicks"), ties=bindparam("ties"), flags=bindparam("flags")))
_RECORD_DELIVERY = {dialect: dialect_insert(Delivery).values(key=bindparam("key"), created_at=bindparam("at"))
                    .on_conflict_do_nothing(index_elements=["key"]).returning(Delivery.key)
                    for dialect, dialect_insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))}
# what a submit stores beside the marks: the labeler's region, whether the item is gold, the guidelines version
_FACTS = (select(Labeler.region).where(Labeler.id == bindparam("labeler")).scalar_subquery(),
          select(Item.is_gold).where(Item.id == Assignment.item_id).scalar_subquery(),
          select(Enrollment.guidelines_version).where(Enrollment.labeler_id == bindparam("labeler"),
                                                      Enrollment.campaign_id == Campaign.id)
          .limit(1).scalar_subquery())


@cache
def _lock_statement(record_delivery: bool, facts: bool) -> Select[Any]:
    """The card's row locked with its campaign's columns; with `facts` (a submit) the three facts it stores; with
    `record_delivery` (PostgreSQL) the delivery key inserted by the same statement, a data-modifying WITH, so a
    click is one round trip fewer (its last column counts the rows inserted: 0 is a delivery already applied)."""
    columns: list[Any] = [*_LEASE, *_CAMPAIGN, *(_FACTS if facts else ())]
    if record_delivery:
        fresh = _RECORD_DELIVERY["postgresql"].cte("fresh")
        columns.append(select(func.count()).select_from(fresh).scalar_subquery())
    return (select(*columns).join(Campaign, Campaign.id == Assignment.campaign_id)
            .where(Assignment.id == bindparam("card")).with_for_update(of=Assignment))


async def _locked_lease(connection: AsyncConnection, assignment_id: int, labeler_id: int, now: datetime,
                        delivery: str | None, *, facts: bool = False) -> tuple[_Lease, _CampaignPart, tuple[Any, ...]]:
    """Inside the change's transaction: record the platform's delivery key (a re-sent click changes nothing, even
    after a restart; a refused change rolls the key back with it), then lock the card and check who and when.
    Returns the card's columns, its campaign's, and the submit's facts when asked."""
    values: dict[str, Any] = {"card": assignment_id, "labeler": labeler_id}
    in_statement = delivery is not None and connection.dialect.name == "postgresql"
    if in_statement:
        values |= {"key": delivery[:200], "at": utcnow()}
    elif delivery is not None:
        # RETURNING, not rowcount: psycopg's async cursor reports -1 for INSERT … ON CONFLICT DO NOTHING
        inserted = await connection.execute(_RECORD_DELIVERY[connection.dialect.name], {"key": delivery[:200],
                                                                                         "at": utcnow()})
        if inserted.first() is None:
            raise Duplicate(N_("that click was already applied"))
    row = (await connection.execute(_lock_statement(in_statement, facts), values)).first()
    if row is None:
        raise NotFound(N_("there is no card {card}"), card=assignment_id)
    if in_statement and row[-1] == 0:
        raise Duplicate(N_("that click was already applied"))
    lease = _Lease(*row[:len(_LEASE)])
    campaign = _CampaignPart(*row[len(_LEASE):len(_LEASE) + len(_CAMPAIGN)])
    _check_open(lease.labeler_id, labeler_id, card_state(lease, now), campaign.name, campaign.status)
    return lease, campaign, tuple(row[len(_LEASE) + len(_CAMPAIGN):len(row) - in_statement])


async def _change(session: AsyncSession, assignment_id: int, labeler_id: int, now: datetime | None,
                  mutate: Callable[[_Marks], None], delivery: str | None) -> Card:
    now = now or utcnow()
    async with transaction(session):
        connection = await session.connection()
        lease, campaign, _ = await _locked_lease(connection, assignment_id, labeler_id, now, delivery)
        marks = _Marks(k=len(lease.shown_order), shown_order=list(lease.shown_order),
                       clicks=list(lease.clicks), ties=list(lease.ties), flags=dict(lease.flags))
        mutate(marks)  # raises before anything is written
        await connection.execute(_WRITE_MARKS, {"card": assignment_id, "clicks": marks.clicks, "ties": marks.ties,
                                                "flags": marks.flags})
        lease.clicks, lease.ties, lease.flags = marks.clicks, marks.ties, marks.flags
        prompt, texts = await card_texts(session, lease.item_id)
        return build_card(lease, campaign, prompt, texts, now)


async def show_card(session: AsyncSession, assignment_id: int, labeler_id: int, *,
                    now: datetime | None = None) -> Card:
    """The card as it stands (any state); the first display starts the clock used for `seconds`."""
    now = now or utcnow()
    async with transaction(session):
        assignment = await session.get(Assignment, assignment_id)
        if assignment is None:
            raise NotFound(N_("there is no card {card}"), card=assignment_id)
        if assignment.labeler_id != labeler_id:
            raise NotAllowed(N_("this card is not yours"))
        if assignment.first_shown_at is None:
            assignment.first_shown_at = now
        campaign = await session.get(Campaign, assignment.campaign_id)
        assert campaign is not None
        return await load_card(session, assignment, campaign, now)


def _click(index: int) -> Callable[[_Marks], None]:
    def mutate(marks: _Marks) -> None:
        marks.check_index(index)
        if index in marks.clicks:
            raise StateError(N_("that choice is already placed"))
        marks.clicks.append(index)
        marks.ties.append(False)
        if len(marks.clicks) == marks.k - 1:  # the last one places itself
            marks.clicks.append(next(i for i in range(marks.k) if i not in marks.clicks))
            marks.ties.append(False)
    return mutate


async def click(session: AsyncSession, assignment_id: int, labeler_id: int, index: int, *,
                now: datetime | None = None, delivery: str | None = None) -> Card:
    """Place the choice shown at `index` next (best first)."""
    return await _change(session, assignment_id, labeler_id, now, _click(index), delivery)


def _undo(marks: _Marks) -> None:
    if not marks.clicks:
        raise StateError(N_("nothing to undo"))
    del marks.clicks[-1], marks.ties[-1]
    if marks.clicks and len(marks.clicks) == marks.k - 1:  # the one that placed itself goes with it
        del marks.clicks[-1], marks.ties[-1]


async def undo(session: AsyncSession, assignment_id: int, labeler_id: int, *, now: datetime | None = None,
               delivery: str | None = None) -> Card:
    return await _change(session, assignment_id, labeler_id, now, _undo, delivery)


def _reset(marks: _Marks) -> None:
    marks.clicks.clear()
    marks.ties.clear()


async def reset(session: AsyncSession, assignment_id: int, labeler_id: int, *,
                now: datetime | None = None, delivery: str | None = None) -> Card:
    """Clear the order (flags stay)."""
    return await _change(session, assignment_id, labeler_id, now, _reset, delivery)


def _tie(marks: _Marks) -> None:
    if len(marks.clicks) < 2:
        raise StateError(N_("place two choices before tying them"))
    marks.ties[-1] = not marks.ties[-1]


async def tie(session: AsyncSession, assignment_id: int, labeler_id: int, *, now: datetime | None = None,
              delivery: str | None = None) -> Card:
    """Toggle: the last placed choice ties with the one before it."""
    return await _change(session, assignment_id, labeler_id, now, _tie, delivery)


def _flag(index: int, kind: str) -> Callable[[_Marks], None]:
    def mutate(marks: _Marks) -> None:
        marks.check_index(index)
        if kind not in FLAGS:
            raise InputError(N_("a flag must be one of {kinds}, not {kind}"), field="kind",
                             kinds=", ".join(FLAGS), kind=kind)
        key = str(marks.shown_order[index])
        if marks.flags.get(key) == kind:
            del marks.flags[key]
        else:
            marks.flags[key] = kind
    return mutate


async def flag(session: AsyncSession, assignment_id: int, labeler_id: int, index: int, kind: str, *,
               now: datetime | None = None, delivery: str | None = None) -> Card:
    """Toggle a flag (harmful or unrankable) on one choice."""
    return await _change(session, assignment_id, labeler_id, now, _flag(index, kind), delivery)


async def skip(session: AsyncSession, assignment_id: int, labeler_id: int, reason: str = "", *,
               now: datetime | None = None, delivery: str | None = None) -> Card:
    """Give the card back: its slot returns to the pool and the item is never served to this labeler again."""
    now = now or utcnow()
    async with transaction(session):
        connection = await session.connection()
        lease, campaign, _ = await _locked_lease(connection, assignment_id, labeler_id, now, delivery)
        await connection.execute(_SKIP_LEASE, {"card": assignment_id, "now": now,
                                               "reason": reason.strip()[:MAX_SKIP_REASON] or None})
        await release_slots(session, [lease.item_id])
        lease.state = "skipped"
        prompt, texts = await card_texts(session, lease.item_id)
        return build_card(lease, campaign, prompt, texts, now)


async def submit(session: AsyncSession, assignment_id: int, labeler_id: int, *,
                 now: datetime | None = None, delivery: str | None = None) -> Submitted:
    """Store the ranking (once per assignment) and move the lease to `submitted` in the same transaction."""
    now = now or utcnow()
    async with transaction(session):
        connection = await session.connection()
        lease, campaign, facts = await _locked_lease(connection, assignment_id, labeler_id, now, delivery,
                                                     facts=True)
        k = len(lease.shown_order)
        if len(lease.clicks) != k:
            raise StateError(N_("place every choice before submitting ({placed} of {k} placed)"),
                             placed=len(lease.clicks), k=k)
        region, is_gold, guidelines_version = facts
        started = aware(lease.first_shown_at or lease.created_at)
        ranking = {
            "assignment_id": lease.id, "campaign_id": campaign.id, "item_id": lease.item_id,
            "labeler_id": labeler_id, "region": region,
            "best_first": [lease.shown_order[index] for index in lease.clicks], "ties": list(lease.ties),
            "flags": dict(lease.flags), "shown_order": list(lease.shown_order),
            "seconds": max(0.0, (now - started).total_seconds()), "is_gold": is_gold,
            "guidelines_version": guidelines_version, "created_at": now}
        ranking_id = (await connection.execute(_STORE_RANKING, {f"r_{column}": value
                                                                for column, value in ranking.items()})).scalar_one()
        await connection.execute(_CLOSE_LEASE, {"card": assignment_id, "now": now})
        submitted = (await connection.execute(_COUNT_SUBMITTED, {"item": lease.item_id})).scalar_one()
        if campaign.votes_min is not None and not is_gold:
            adaptive = await session.get(Campaign, campaign.id)
            assert adaptive is not None
            await update_item(session, adaptive, lease.item_id, submitted)
        done, remaining = await _progress(connection, campaign.id, labeler_id)
        lease.state = "submitted"
        prompt, texts = await card_texts(session, lease.item_id)
        return Submitted(ranking_id=ranking_id, done=done, remaining=remaining,
                         card=build_card(lease, campaign, prompt, texts, now))


async def progress(session: AsyncSession, assignment_id: int, labeler_id: int) -> tuple[int, int]:
    """(rankings done, items still open) for the labeler in the card's campaign: the thank-you line of a submitted
    card, however often it is drawn again."""
    campaign_id = (await session.exec(select(Assignment.campaign_id).where(Assignment.id == assignment_id))).one()
    return await _progress(await session.connection(), campaign_id, labeler_id)


async def remember_message(session: AsyncSession, assignment_id: int, labeler_id: int, message_ref: str) -> None:
    """Store where the card's message is (the adapter tells after posting it); later updates go there."""
    async with transaction(session):
        connection = await session.connection()
        await connection.execute(_REMEMBER_MESSAGE, {"card": assignment_id, "labeler": labeler_id,
                                                     "ref": message_ref[:200]})


async def _progress(connection: AsyncConnection, campaign_id: int, labeler_id: int) -> tuple[int, int]:
    """Rankings the labeler has in the campaign, and items still open to them (one statement)."""
    done, open_items, touched = (await connection.execute(_PROGRESS, {"campaign": campaign_id,
                                                                      "labeler": labeler_id})).one()
    return int(done), int(open_items) - int(touched)


_REMEMBER_MESSAGE = (update(Assignment).where(Assignment.id == bindparam("card"),
                                             Assignment.labeler_id == bindparam("labeler"))
                     .values(message_ref=bindparam("ref")))
_STORE_RANKING = insert(Ranking).values({column: bindparam(f"r_{column}") for column in (
    "assignment_id", "campaign_id", "item_id", "labeler_id", "region", "best_first", "ties", "flags", "shown_order",
    "seconds", "is_gold", "guidelines_version", "created_at")}).returning(Ranking.id)
_CLOSE_LEASE = (update(Assignment).where(Assignment.id == bindparam("card"))
                .values(state="submitted", closed_at=bindparam("now")))
_SKIP_LEASE = (update(Assignment).where(Assignment.id == bindparam("card"))
               .values(state="skipped", closed_at=bindparam("now"), skip_reason=bindparam("reason")))
_COUNT_SUBMITTED = (update(Item).where(Item.id == bindparam("item"))
                    .values(submitted=Item.submitted + 1, leased=Item.leased - 1).returning(Item.submitted))
_PROGRESS = select(
    select(func.count()).select_from(Ranking).where(
        Ranking.campaign_id == bindparam("campaign"), Ranking.labeler_id == bindparam("labeler")).scalar_subquery(),
    select(func.count()).select_from(Item).where(
        Item.campaign_id == bindparam("campaign"), Item.full == false(), Item.is_gold == false()).scalar_subquery(),
    select(func.count()).select_from(Assignment).join(Item, Item.id == Assignment.item_id).where(
        Assignment.labeler_id == bindparam("labeler"), Assignment.campaign_id == bindparam("campaign"),
        Assignment.state != "expired", Item.full == false(), Item.is_gold == false()).scalar_subquery())
