"""The Slack side of `bot.chat.announcer.Announcer`: job results and reminders posted with the Web API."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.mrkdwn import mrkdwn
from adapters.slack.replies import dm_channel, post
from bot.chat.announcer import LabelerAddress
from bot.chat.views import Notice


class SlackAnnouncer:
    platform = "slack"

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def announce(self, channel: str, notice: Notice, files: Sequence[Path] = ()) -> None:
        if not files:
            await post(self.client, channel, notice)
            return
        uploads = [{"file": str(path), "filename": path.name, "title": path.name} for path in files]
        await self.client.files_upload_v2(channel=channel, file_uploads=uploads, initial_comment=mrkdwn(notice.text))

    async def direct(self, labeler: LabelerAddress, notice: Notice) -> None:
        channel = await dm_channel(self.client, labeler.workspace, labeler.user_id)
        await post(self.client, channel, notice)
