"""One short transaction per service call, on a session the caller may keep for a long time."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSessionTransaction
from sqlmodel.ext.asyncio.session import AsyncSession


def transaction(session: AsyncSession) -> AsyncSessionTransaction:
    """Begin a transaction with an empty identity map: sessions keep objects after commit
    (expire_on_commit=False), and a long-lived session must not serve rows another process has changed since."""
    session.expunge_all()
    return session.begin()
