"""Assignment policy: which item a labeler ranks next, leased so no item gets more than `votes` rankings.

Why it is fast: items carry their own counters (`submitted`, `leased`, `full`) and a random `shuffle_key`, so
the next item is a short walk of the index `ix_item_pool (campaign_id, full, shuffle_key)` from a random key
(wrapping around), never a count or `ORDER BY random()` over the pool. Why it is correct under concurrency: a
lease is the conditional `UPDATE item SET leased = leased + 1 WHERE id = ? AND submitted + leased < votes`
(a row lock on PostgreSQL, BEGIN IMMEDIATE on SQLite); the labeler's enrollment row is locked first, so one
labeler's requests run one at a time; (item, labeler) is unique in the table, and a partial unique index allows
one open assignment per labeler and campaign.

Balanced policy: among the first WINDOW candidates from the random key, items with no open or submitted
assignment from the labeler's region come first. On a small pool the window covers everything (exact); on a
large one it is a bounded sample, which keeps every request a constant amount of work.

Adaptive votes (`votes_min` set): items waiting to hear from the labeler's region (`waiting_region`) join the
items that region lacks, and items waiting for another region go after the rest; within each group the window's
items are served most unsettled first (an item short of its minimum counts as wholly unsettled) and contested
items before the rest. The priority is the item's own columns, written at submit time: no extra query here.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import bindparam, exists, false, text, true, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.card_loader import build_card, card_state, card_texts, load_card
from bot.cards import Card
from bot.errors import StateError
from bot.i18n import N_
from bot.labelers import PREFER_NOT_TO_SAY, lock_ready, release_slots
from bot.unit_of_work import transaction
from storage.models import Assignment, Campaign, Item, Labeler, utcnow

WINDOW = 32  # candidates read per request; the balanced preference picks among them
LEASE_ATTEMPTS = 4  # fresh random starts when concurrent requests took every candidate first
EXPIRY_EVERY = timedelta(seconds=10)  # per process and campaign: a slot comes back at most 10 s late

__all__ = ["next_card", "expire_leases", "campaign_of_card", "WINDOW"]

_rng = random.Random()
_last_expiry: dict[tuple[str, int], datetime] = {}


async def next_card(session: AsyncSession, labeler_id: int, campaign_name: str, *, now: datetime | None = None,
                    rng: random.Random | None = None) -> Card | None:
    """The labeler's open card in this campaign, or a newly leased one, or None when nothing is left for them.

    Optimistic on purpose: the common request (no card held) leases straight away, and a partial unique index
    (one open assignment per labeler and campaign) turns the rare "already holds a card" into an integrity error,
    after which the lease is rolled back and the held card is returned. That saves a query on every request."""
    now = now or utcnow()
    rng = rng or _rng
    for attempt in range(2):
        try:
            return await _lease_card(session, labeler_id, campaign_name, now, rng)
        except IntegrityError:
            pass  # the labeler already holds an open card here; the lease was rolled back
        async with transaction(session):
            labeler, campaign = await lock_ready(session, labeler_id, campaign_name)
            held = await _held(session, labeler_id, campaign.id or 0)
            if held is not None and card_state(held, now) == "open":
                return await load_card(session, held, campaign, now)
            if attempt == 0 and held is not None:  # its lease ran out: give the slot back, then lease anew
                await _expire(session, now, campaign.id)
    raise StateError(N_("another request for your next card is in progress; try again"))


async def _lease_card(session: AsyncSession, labeler_id: int, campaign_name: str, now: datetime,
                      rng: random.Random) -> Card | None:
    async with transaction(session):
        if session.bind.dialect.name == "postgresql":
            # A lease is soft state (it expires anyway): do not wait for the WAL fsync. A server crash may drop the
            # last fraction of a second of leases, consistently (counter and row together); rankings stay durable.
            await session.exec(text("SET LOCAL synchronous_commit = off"))
        labeler, campaign = await lock_ready(session, labeler_id, campaign_name)  # one request per labeler
        if campaign.status != "live":
            raise StateError(N_("campaign '{campaign}' is {status}; it serves no cards now"), campaign=campaign.name,
                             status=campaign.status)
        await _expire_due(session, campaign.id or 0, now)
        lease = None
        if campaign.gold_rate > 0 and rng.random() < campaign.gold_rate:
            lease = await _lease_gold(session, campaign, labeler_id, rng)
        if lease is None:
            lease = await _lease_regular(session, campaign, labeler, rng)
        if lease is None:
            held = await _held(session, labeler_id, campaign.id or 0)
            return None if held is None else await load_card(session, held, campaign, now)
        item_id, reopen = lease
        prompt, texts = await card_texts(session, item_id)
        assignment = await _open_assignment(session, campaign, labeler, item_id, reopen, list(texts), now, rng)
        return build_card(assignment, campaign, prompt, texts, now)


async def _held(session: AsyncSession, labeler_id: int, campaign_id: int) -> Assignment | None:
    return (await session.exec(select(Assignment).where(
        Assignment.labeler_id == labeler_id, Assignment.campaign_id == campaign_id,
        Assignment.state == "open"))).first()


def _not_mine(labeler_id: int):
    """No ranked, skipped or held assignment of this labeler on the item (an expired one may be re-leased)."""
    return ~exists().where(Assignment.item_id == Item.id, Assignment.labeler_id == labeler_id,
                           Assignment.state != "expired")


def _expired_mine(item_id, labeler_id: int):
    return exists().where(Assignment.item_id == item_id, Assignment.labeler_id == labeler_id,
                          Assignment.state == "expired")


def _prefers_region(campaign: Campaign, labeler: Labeler) -> bool:
    return campaign.quota_policy == "balanced" and labeler.region not in (None, PREFER_NOT_TO_SAY)


def _priority(campaign: Campaign, submitted: int, change_p: float, contested: bool) -> float:
    """Higher is served first under adaptive votes: unsettled (P(change)), plus one when regions disagree."""
    unsettled = 1.0 if submitted < (campaign.votes_min or 0) else change_p
    return unsettled + (1.0 if contested else 0.0)


def _window(after_start: bool, by_region: bool):
    """One window of the pool, built once per shape with bound parameters (campaign, labeler, region, start,
    size): a statement built afresh on every request paid SQLAlchemy's cache-key walk over its subqueries each
    time. The region and expiry checks sit in an outer query over the limited window, so the planner runs them
    once per candidate by index instead of hashing every assignment of the region (PostgreSQL does that
    otherwise)."""
    labeler_id = bindparam("labeler")
    start = col(Item.shuffle_key) >= bindparam("start") if after_start else col(Item.shuffle_key) < bindparam("start")
    inner = (select(Item.id, Item.shuffle_key, Item.submitted, Item.change_p, Item.contested, Item.waiting_region)
             .where(Item.campaign_id == bindparam("campaign"), Item.full == false(), Item.is_gold == false(),
                    _not_mine(labeler_id), start)
             .order_by(col(Item.shuffle_key)).limit(bindparam("size")).subquery())
    has_region = exists().where(Assignment.item_id == inner.c.id, Assignment.region == bindparam("region"),
                                col(Assignment.state).in_(("open", "submitted")))
    return select(inner.c.id, has_region if by_region else false(), _expired_mine(inner.c.id, labeler_id),
                  inner.c.submitted, inner.c.change_p, inner.c.contested, inner.c.waiting_region
                  ).order_by(inner.c.shuffle_key)


_WINDOWS = {(after, by_region): _window(after, by_region) for after in (True, False) for by_region in (True, False)}


async def _candidates(session: AsyncSession, campaign: Campaign, labeler: Labeler,
                      start: float) -> list[tuple[int, bool]]:
    """Up to WINDOW open items from a random key onwards (wrapping), the labeler's region lacking first (then, under
    adaptive votes, the least settled first); each with whether the labeler has an expired lease on it (that row
    is re-opened instead of inserted)."""
    connection = await session.connection()
    by_region = _prefers_region(campaign, labeler)
    values = {"campaign": campaign.id, "labeler": labeler.id or 0, "region": labeler.region, "start": start}
    rows = list((await connection.execute(_WINDOWS[True, by_region], {**values, "size": WINDOW})).all())
    if len(rows) < WINDOW:
        rows += (await connection.execute(_WINDOWS[False, by_region], {**values, "size": WINDOW - len(rows)})).all()
    if campaign.votes_min is None:
        rows.sort(key=lambda row: bool(row[1]))  # stable: random-walk order within each group
    else:
        rows.sort(key=lambda row: (bool(row[1]) and row[6] != labeler.region,  # my region is needed
                                   row[6] not in (None, labeler.region),  # another region is awaited
                                   -_priority(campaign, row[3], row[4], bool(row[5]))))
    return [(row[0], bool(row[2])) for row in rows]


async def _lease_regular(session: AsyncSession, campaign: Campaign, labeler: Labeler,
                         rng: random.Random) -> tuple[int, bool] | None:
    for _ in range(LEASE_ATTEMPTS):
        candidates = await _candidates(session, campaign, labeler, rng.random())
        if not candidates:
            return None
        for item_id, reopen in candidates:
            if await _take_slot(session, item_id, campaign.votes):
                return item_id, reopen
    return None


_TAKE_SLOT = (update(Item).where(Item.id == bindparam("item"), Item.full == false(),
                                 Item.submitted + Item.leased < bindparam("votes"))
              .values(leased=Item.leased + 1, full=(Item.submitted + Item.leased + 1) >= bindparam("votes")))


async def _take_slot(session: AsyncSession, item_id: int, votes: int) -> bool:
    """The atomic lease: succeeds only while the item is short of `votes`; keeps `full` in sync."""
    connection = await session.connection()
    return (await connection.execute(_TAKE_SLOT, {"item": item_id, "votes": votes})).rowcount == 1


async def _lease_gold(session: AsyncSession, campaign: Campaign, labeler_id: int,
                      rng: random.Random) -> tuple[int, bool] | None:
    """Gold items are checks, not votes: any labeler may get each one once, with no cap."""
    gold = (await session.exec(select(Item.id, _expired_mine(Item.id, labeler_id)).where(
        Item.campaign_id == campaign.id, Item.is_gold == true(), _not_mine(labeler_id)))).all()
    if not gold:
        return None
    item_id, reopen = rng.choice(list(gold))
    await session.exec(update(Item).where(Item.id == item_id).values(
        leased=Item.leased + 1, full=(Item.submitted + Item.leased + 1) >= campaign.votes))
    return item_id, bool(reopen)


async def _open_assignment(session: AsyncSession, campaign: Campaign, labeler: Labeler, item_id: int, reopen: bool,
                           completion_ids: list[int], now: datetime, rng: random.Random) -> Assignment:
    """A new assignment with its own shuffle, or the labeler's expired one on this item re-opened with its
    clicks kept (work done before an expiry is not lost; (item, labeler) stays unique)."""
    expires_at = now + timedelta(minutes=campaign.lease_minutes)
    if reopen:
        assignment = (await session.exec(select(Assignment).where(
            Assignment.item_id == item_id, Assignment.labeler_id == labeler.id))).one()
        assignment.state, assignment.closed_at = "open", None
        assignment.region, assignment.expires_at, assignment.first_shown_at = labeler.region, expires_at, now
        assignment.message_ref = None  # its old message shows it expired; the re-opened card is a new message
    else:
        rng.shuffle(completion_ids)
        assignment = Assignment(campaign_id=campaign.id, item_id=item_id, labeler_id=labeler.id,
                                region=labeler.region, shown_order=completion_ids, clicks=[], ties=[], flags={},
                                state="open", created_at=now, first_shown_at=now, expires_at=expires_at)
        session.add(assignment)
    await session.flush()
    return assignment


async def _expire_due(session: AsyncSession, campaign_id: int, now: datetime) -> None:
    """Expire this campaign's stale leases, at most every EXPIRY_EVERY per process (it is one more statement
    on the hot path, and a slot coming back a few seconds late changes nothing)."""
    key = (str(session.bind.url), campaign_id)
    last = _last_expiry.get(key)
    if last is not None and last <= now < last + EXPIRY_EVERY:
        return
    _last_expiry[key] = now
    await _expire(session, now, campaign_id)


async def _expire(session: AsyncSession, now: datetime, campaign_id: int | None = None) -> int:
    """Close open leases past their expiry and give their slots back (inside the caller's transaction)."""
    due = select(Assignment.id).where(Assignment.state == "open", Assignment.expires_at <= now)
    if campaign_id is not None:
        due = due.where(Assignment.campaign_id == campaign_id)
    due = due.with_for_update(skip_locked=True)  # two expirers never wait on (or deadlock over) the same rows
    statement = (update(Assignment).where(col(Assignment.id).in_(due), Assignment.state == "open")
                 .values(state="expired", closed_at=now).returning(Assignment.item_id))
    item_ids = [row[0] for row in (await session.exec(statement)).all()]
    if item_ids:
        await release_slots(session, item_ids)
    return len(item_ids)


async def expire_leases(session: AsyncSession, now: datetime | None = None) -> int:
    """Expire every lease past its time in all campaigns (a scheduled job); returns how many."""
    async with transaction(session):
        return await _expire(session, now or utcnow())


async def campaign_of_card(session: AsyncSession, assignment_id: int) -> int | None:
    """The campaign a card belongs to (one primary-key read; the rate limit asks it once per card a process did
    not deal), None for no such card."""
    return (await session.exec(select(Assignment.campaign_id).where(Assignment.id == assignment_id))).first()
