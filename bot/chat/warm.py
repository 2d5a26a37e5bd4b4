"""Warm-up at `crowdrank serve` start: what the first click after a start would otherwise pay (2-5 s measured in
issue 12) is paid before the first person clicks.

That is: database connections opened (PostgreSQL's connect and authentication, SQLite's WAL set-up), the click
path's queries compiled once (SQLAlchemy caches them per statement shape, so a lookup that finds nothing compiles
the same SQL a real click runs), every campaign's rate limit cached, the message catalog loaded and a card drawn
through each platform's renderer. Nothing here writes a row.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

from sqlalchemy import text

from bot import assignment, campaigns, labelers, ranking_session
from bot.chat import messages
from bot.chat.cards import card_view
from bot.chat.catalog import use_locale
from bot.chat.conversation import Conversation
from bot.chat.examples import example_card
from bot.chat.views import CardView
from bot.database import Database
from bot.errors import Busy, CrowdrankError

__all__ = ["warm", "WARM_CONNECTIONS"]

WARM_CONNECTIONS = 4  # opened at start (at most the pool's size); more open as load needs them
NOBODY = -1  # an id no row has: the lookups below find nothing and so change nothing

Renderer = Callable[[CardView], object]


async def warm(database: Database, served: Sequence[tuple[Conversation, Renderer | None]]) -> None:
    """Warm the database, each platform's conversation and its card renderer (`crowdrank serve` calls this once,
    before it takes requests)."""
    await _open_connections(database, min(WARM_CONNECTIONS, database.pool_size))
    async with database.session() as session:
        await campaigns.list_campaigns(session)
        await labelers.find_labeler(session, "slack", "-", "-")
        await labelers.card_owner_status(session, NOBODY)
        await assignment.campaign_of_card(session, NOBODY)
    with contextlib.suppress(CrowdrankError):
        async with database.session() as session:
            await ranking_session.show_card(session, NOBODY, NOBODY)
    for conversation, render in served:
        await conversation.throttle.load()
        with use_locale(None):
            view = card_view(example_card(), conversation.limits)
            conversation.refusal(Busy("warm-up"))
            messages.help_notice()
        if render is not None:
            render(view)


async def _open_connections(database: Database, count: int) -> None:
    """Hold `count` connections at once, then give them back to the pool, which keeps them open."""
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(count):
            connection = await stack.enter_async_context(database.engine.connect())
            await connection.execute(text("SELECT 1"))
