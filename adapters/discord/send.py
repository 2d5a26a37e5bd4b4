"""How a message reaches one labeler on Discord: their DM, or — when their DMs are closed (403, code 50007) —
a private thread in the channel they used, which only they and the bot see. Every send here passes
`AllowedMentions.none()`, so no text the bot posts can ping anyone, whatever it contains.
"""

from __future__ import annotations

import logging
from typing import Any

import discord

__all__ = ["QUIET", "Reach", "DMS_CLOSED"]

QUIET = discord.AllowedMentions.none()
DMS_CLOSED = 50007
ARCHIVE_MINUTES = 24 * 60  # a private thread archives after a day without messages

log = logging.getLogger("crowdrank.discord")


class Reach:
    """Remembers, per (guild, user), the private thread that stands in for a closed DM (in memory: after a
    restart the next fallback opens a new thread, and the DM is tried first again)."""

    def __init__(self) -> None:
        self.threads: dict[int, discord.Thread] = {}

    async def send(self, user: discord.abc.User, channel: discord.abc.Messageable | None, **message: Any) \
            -> discord.Message:
        """Send to `user`'s DM; if closed, to their private thread under `channel` (a guild text channel)."""
        message["allowed_mentions"] = QUIET
        thread = self.threads.get(user.id)
        if thread is None:
            try:
                return await user.send(**message)
            except discord.Forbidden as exc:
                if exc.code != DMS_CLOSED or not isinstance(channel, discord.TextChannel):
                    raise
                log.info("DMs closed for %s: using a private thread in #%s", user.id, channel.name)
                thread = await self._open_thread(user, channel)
        return await thread.send(**message)

    async def _open_thread(self, user: discord.abc.User, channel: discord.TextChannel) -> discord.Thread:
        thread = await channel.create_thread(name=f"crowdrank · {user.display_name}"[:100],
                                             type=discord.ChannelType.private_thread, invitable=False,
                                             auto_archive_duration=ARCHIVE_MINUTES)
        await thread.add_user(user)
        self.threads[user.id] = thread
        return thread
