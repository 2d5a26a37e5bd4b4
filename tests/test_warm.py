"""Warm-up at serve start, through what can be observed: connections left open in the pool, every campaign's rate
limit cached (the first click does not read them), a card drawn through the renderer, and no row written."""

from __future__ import annotations

from typing import Any

import pytest

from bot import campaigns
from bot.chat.views import CardView
from bot.chat.warm import WARM_CONNECTIONS, warm
from bot.database import Database
from tests.test_chat_conversation import fresh, onboard, person, setup
from tests.test_chat_pace import row_counts


def count_limit_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    reads: list[int] = []
    original = campaigns.rate_limits

    async def counted(session: Any) -> dict[int, tuple[int, float]]:
        reads.append(1)
        return await original(session)

    monkeypatch.setattr(campaigns, "rate_limits", counted)
    return reads


async def test_warm_opens_connections_caches_limits_and_draws_a_card_without_writing(
        database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    dealt = await setup(database)
    card = await onboard(dealt, person("UANA"))
    conversation = fresh(database)  # as a new process has it: nothing cached, no connection open
    before = await row_counts(database)
    await database.engine.dispose()
    drawn: list[object] = []
    await warm(database, [(conversation, drawn.append)])
    assert database.engine.pool.checkedin() >= min(WARM_CONNECTIONS, database.pool_size)  # type: ignore[attr-defined]
    assert len(drawn) == 1 and isinstance(drawn[0], CardView)
    assert await row_counts(database) == before
    reads = count_limit_reads(monkeypatch)
    replies = await conversation.press(person("UANA"), f"rank:{card.card_id}:0", delivery="first")
    assert replies[0].intent == "update" and reads == []


async def test_without_warm_up_the_first_click_reads_the_limits(database: Database,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The counterpart of the test above: what warm-up saves is real."""
    dealt = await setup(database)
    card = await onboard(dealt, person("UANA"))
    conversation = fresh(database)
    reads = count_limit_reads(monkeypatch)
    await conversation.press(person("UANA"), f"rank:{card.card_id}:0", delivery="first")
    assert reads == [1]
