"""How a message reaches one person on Discord: their DM, or — when their DMs are closed (403, code 50007) —
a private thread in the channel they used (only they and the bot see it). Every send passes
`AllowedMentions.none()`, so nothing the bot posts can ping anyone, whatever the text contains.

Each person's DM channel id is remembered here. discord.py caches only 128 DM channels, first in first out, so
with more labelers than that almost every card opened the DM again (`POST /users/@me/channels`). That route has
no major parameter, so every user's request waits in one discord.py rate-limit bucket (one at a time until
Discord's headers allow more; Discord limits the route too): one slow answer there held up every next card
behind it — the bursts of slow Submit→next card in `bench/load.py`.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any, Literal

import discord

__all__ = ["Reach", "DMS_CLOSED"]

DMS_CLOSED = 50007
ARCHIVE_MINUTES: Literal[1440] = 1440  # a private thread archives after a day without messages
DM_CHANNELS_KEPT = 100_000  # user id → DM channel id pairs remembered (two ints each), least recently used dropped

log = logging.getLogger("crowdrank.discord")


class Reach:
    """Remembers, per user, their DM channel and the private thread that stands in for a closed DM (in memory:
    after a restart the DM is opened and tried first again, and a press inside the thread reuses that thread)."""

    def __init__(self, client: discord.Client) -> None:
        self.client = client
        self.threads: dict[int, discord.abc.Messageable] = {}
        self._dms: OrderedDict[int, int] = OrderedDict()  # user id → DM channel id, most recently used last

    async def dm(self, user: discord.abc.Snowflake) -> discord.abc.Messageable:
        """The user's DM channel, opened over REST only the first time."""
        channel_id = self._dms.get(user.id)
        if channel_id is None:
            channel_id = (await self.client.create_dm(user)).id
        self._dms[user.id] = channel_id
        self._dms.move_to_end(user.id)
        if len(self._dms) > DM_CHANNELS_KEPT:
            self._dms.popitem(last=False)
        return self.client.get_partial_messageable(channel_id, type=discord.ChannelType.private)

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
            return await (await self.dm(user)).send(**message), False
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
