"""Build a `Card` from an assignment row: one query for the prompt and its completions, the rest from the row."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cards import Card, Choice, letter, order_text
from storage.models import Assignment, Campaign, Completion, Item, Prompt

__all__ = ["load_card", "build_card", "card_texts", "aware", "card_state", "LeaseColumns", "CampaignColumns"]


class LeaseColumns(Protocol):
    """What a card is built from: an `Assignment` row, or the plain columns the click path reads."""

    @property
    def id(self) -> int | None: ...
    @property
    def state(self) -> str: ...
    @property
    def expires_at(self) -> datetime: ...
    @property
    def shown_order(self) -> Sequence[int]: ...
    @property
    def clicks(self) -> Sequence[int]: ...
    @property
    def ties(self) -> Sequence[bool]: ...
    @property
    def flags(self) -> dict[str, str]: ...
    @property
    def message_ref(self) -> str | None: ...


class CampaignColumns(Protocol):
    @property
    def id(self) -> int | None: ...
    @property
    def name(self) -> str: ...
    @property
    def criterion(self) -> str: ...
    @property
    def guidelines_version(self) -> int: ...


def aware(moment: datetime) -> datetime:
    """Datetimes read back from SQLite may be naive; every stored time is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def card_state(assignment: LeaseColumns, now: datetime) -> str:
    """An open lease past its expiry is shown as expired even before `expire_leases` has run."""
    if assignment.state == "open" and aware(assignment.expires_at) <= now:
        return "expired"
    return assignment.state


_TEXTS: OrderedDict[tuple[str, int], tuple[str, dict[int, str]]] = OrderedDict()
TEXT_CACHE_ITEMS = 4096


async def card_texts(session: AsyncSession, item_id: int) -> tuple[str, dict[int, str]]:
    """The item's prompt and its completions' texts by id. Texts never change once an item exists, so a small
    per-process cache saves a query on every click."""
    key = (str(session.bind.url), item_id)
    cached = _TEXTS.get(key)
    if cached is not None:
        _TEXTS.move_to_end(key)
        return cached
    rows = (await session.exec(
        select(Completion.id, Completion.text, Prompt.text)
        .join(Prompt, Prompt.id == Completion.prompt_id)
        .join(Item, Item.prompt_id == Prompt.id)
        .where(Item.id == item_id).order_by(col(Completion.position)))).all()
    texts = (rows[0][2] if rows else ""), {completion_id: text for completion_id, text, _ in rows}
    if rows:
        _TEXTS[key] = texts
        if len(_TEXTS) > TEXT_CACHE_ITEMS:
            _TEXTS.popitem(last=False)
    return texts


async def load_card(session: AsyncSession, assignment: Assignment, campaign: Campaign, now: datetime) -> Card:
    prompt, texts = await card_texts(session, assignment.item_id)
    return build_card(assignment, campaign, prompt, texts, now)


def build_card(assignment: LeaseColumns, campaign: CampaignColumns, prompt: str, texts: dict[int, str],
               now: datetime) -> Card:
    placed = {index: position for position, index in enumerate(assignment.clicks)}
    flags = assignment.flags or {}
    choices = tuple(
        Choice(index=index, letter=letter(index), completion_id=completion_id, text=texts.get(completion_id, ""),
               placed_at=placed.get(index), flag=flags.get(str(completion_id)))
        for index, completion_id in enumerate(assignment.shown_order))
    state = card_state(assignment, now)
    order = tuple(assignment.clicks)
    ties = tuple(assignment.ties)
    return Card(
        assignment_id=assignment.id or 0, campaign_id=campaign.id or 0, campaign=campaign.name,
        criterion=campaign.criterion, prompt=prompt,
        choices=choices, order=order, ties=ties, state=state,
        can_submit=state == "open" and len(order) == len(choices),
        expires_at=aware(assignment.expires_at), order_text=order_text(order, ties),
        guidelines_version=campaign.guidelines_version, message_ref=assignment.message_ref)
