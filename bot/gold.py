"""Gold items: prompts whose best-first order the manager knows, mixed into labelers' cards at the campaign's
gold rate to measure accuracy. A gold item is a check, not a vote: every labeler may get it once.

File (JSONL): `{"prompt_id": "<the prompt's id>", "order": [2, 0, 3, 1]}` — completion positions (0-based, in
the order the completions were stored), best first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.campaigns import get_campaign
from bot.errors import InputError
from bot.prompt_files import jsonl_objects
from bot.unit_of_work import transaction
from storage.models import Completion, Item, Prompt

__all__ = ["GoldRecord", "read_gold", "set_gold"]


@dataclass(frozen=True)
class GoldRecord:
    prompt_id: str
    order: list[int]
    line: int = 0


def read_gold(path: Path) -> list[GoldRecord]:
    records = []
    for number, data in jsonl_objects(path):
        if not isinstance(data.get("prompt_id"), str | int):
            raise InputError("expected an object with a prompt_id", file=str(path), line=number, field="prompt_id")
        order = data.get("order")
        if not isinstance(order, list) or not all(isinstance(p, int) and not isinstance(p, bool) for p in order):
            raise InputError("order must be a list of completion positions", file=str(path), line=number,
                             field="order")
        records.append(GoldRecord(prompt_id=str(data["prompt_id"]), order=order, line=number))
    if not records:
        raise InputError("no gold records", file=str(path))
    return records


async def set_gold(session: AsyncSession, campaign_name: str, records: list[GoldRecord], *,
                   file: str | None = None) -> int:
    """Mark the listed prompts' items as gold with their known order; all or nothing."""
    async with transaction(session):
        campaign = await get_campaign(session, campaign_name)
        items = {external_id: item for external_id, item in (await session.exec(
            select(Prompt.external_id, Item).join(Item, Item.prompt_id == Prompt.id)
            .where(Prompt.campaign_id == campaign.id))).all()}
        for record in records:
            item = items.get(record.prompt_id)
            if item is None:
                raise InputError(f"no item for prompt {record.prompt_id!r} in {campaign.name!r}", file=file,
                                 line=record.line, field="prompt_id")
            if sorted(record.order) != list(range(campaign.k)):
                raise InputError(f"order must list each of the positions 0..{campaign.k - 1} once", file=file,
                                 line=record.line, field="order")
            ids = list((await session.exec(select(Completion.id).where(Completion.prompt_id == item.prompt_id)
                                           .order_by(col(Completion.position)))).all())
            item.is_gold = True
            item.gold_order = [ids[position] for position in record.order]
            session.add(item)
    return len(records)
