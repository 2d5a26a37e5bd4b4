"""How a message reaches one person on Discord: their DM, or — when their DMs are closed (403, code 50007) —
a private thread in the channel they used (only they and the bot see it). Every send passes
`AllowedMentions.none()`, so nothing the bot posts can ping anyone, whatever the text contains.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import discord

__all__ = ["Reach", "DMS_CLOSED"]

DMS_CLOSED = 50007
ARCHIVE_MINUTES: Literal[1440] = 1440  # a private thread archives after a day without messages

log = logging.getLogger("crowdrank.discord")


class Reach:
    """Remembers, per user, the private thread that stands in for their closed DM (in memory: after a restart the
    DM is tried first again, and a press inside the thread reuses that thread)."""

    def __init__(self) -> None:
        self.threads: dict[int, discord.abc.Messageable] = {}

    async def send(self, user: discord.User | discord.Member, here: Any,
                   **message: Any) -> tuple[discord.Message, bool]:
        """Send to `user` privately; `here` is the channel they acted in. Returns the message and whether this
        call had to leave the DM for a thread (so the caller can say so once). Raises `Forbidden` when there is
        no private way (DMs closed, and `here` is neither a guild text channel nor a private thread)."""
        message["allowed_mentions"] = discord.AllowedMentions.none()
        thread = self.threads.get(user.id)
        if thread is not None:
            return await thread.send(**message), False
        try:
            return await user.send(**message), False
        except discord.Forbidden as exc:
            if exc.code != DMS_CLOSED:
                raise
            thread = await self._thread_for(user, here, exc)
        return await thread.send(**message), True

    async def _thread_for(self, user: discord.User | discord.Member, here: Any, refused: discord.Forbidden) \
            -> discord.abc.Messageable:
        if isinstance(here, discord.Thread) and here.type is discord.ChannelType.private_thread:
            thread: discord.abc.Messageable = here
        elif isinstance(here, discord.TextChannel):
            log.info("DMs closed for user %s: opening a private thread in #%s", user.id, here.name)
            created = await here.create_thread(name=f"crowdrank · {user.display_name}"[:100],
                                               type=discord.ChannelType.private_thread, invitable=False,
                                               auto_archive_duration=ARCHIVE_MINUTES)
            await created.add_user(user)
            thread = created
        else:
            raise refused
        self.threads[user.id] = thread
        return thread
