"""The Discord side of `bot.chat.announcer.Announcer`: job results (with the report's files) posted in a channel,
notices sent to a labeler's DM."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import discord

from adapters.discord.render import draw
from adapters.discord.send import Reach
from bot.chat.announcer import LabelerAddress
from bot.chat.views import Notice

__all__ = ["DiscordAnnouncer", "MAX_FILES"]

MAX_FILES = 10  # attachments per message


class DiscordAnnouncer:
    platform = "discord"

    def __init__(self, client: discord.Client, reach: Reach) -> None:
        self.client, self.reach = client, reach

    async def announce(self, channel: str, notice: Notice, files: Sequence[Path] = ()) -> None:
        target = self.client.get_partial_messageable(int(channel))
        (draft,) = draw(notice)
        fields = {k: v for k, v in draft.fields().items() if v is not None}
        batches = [list(files[i:i + MAX_FILES]) for i in range(0, len(files), MAX_FILES)] or [[]]
        for number, batch in enumerate(batches):
            await target.send(**(fields if number == 0 else {"allowed_mentions": fields["allowed_mentions"]}),
                              files=[discord.File(path) for path in batch])

    async def direct(self, labeler: LabelerAddress, notice: Notice) -> None:
        dm = await self.reach.dm(discord.Object(int(labeler.user_id)))
        (draft,) = draw(notice)
        await dm.send(**{k: v for k, v in draft.fields().items() if v is not None})
