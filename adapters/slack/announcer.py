"""`SlackAnnouncer`: the jobs' `Announcer` on the Slack Web API — a `Notice` becomes a section (the catalog text
in mrkdwn, values escaped so they never ping or link) and a row of buttons whose action ids are the chat layer's
actions; `direct` opens the labeler's DM first."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.mrkdwn import SECTION_LIMIT, escape
from bot.chat.announcer import LabelerAddress
from bot.chat.text import Text
from bot.chat.views import Notice

__all__ = ["SlackAnnouncer", "notice_blocks"]


def mrkdwn(text: Text) -> str:
    """The catalog's `**bold**` is Slack's `*bold*`; `_italic_` and `code` are the same in both."""
    return text.render(escape, lambda template: template.replace("**", "*"))[:SECTION_LIMIT]


def notice_blocks(notice: Notice) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn(notice.text)}}]
    if notice.controls:
        buttons = []
        for control in notice.controls:
            button = {"type": "button", "text": {"type": "plain_text", "text": control.label.plain()[:75]},
                      "action_id": control.action, "value": control.action}
            if control.style:
                button["style"] = control.style
            buttons.append(button)
        blocks.append({"type": "actions", "elements": buttons})
    return blocks


class SlackAnnouncer:
    platform = "slack"

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def announce(self, channel: str, notice: Notice, files: Sequence[Path] = ()) -> None:
        await self.client.chat_postMessage(channel=channel, text=notice.text.plain(), blocks=notice_blocks(notice))
        if files:
            await self.client.files_upload_v2(channel=channel, file_uploads=[
                {"file": str(path), "filename": path.name, "title": path.name} for path in files])

    async def direct(self, labeler: LabelerAddress, notice: Notice) -> None:
        opened = await self.client.conversations_open(users=labeler.user_id)
        await self.client.chat_postMessage(channel=opened["channel"]["id"], text=notice.text.plain(),
                                           blocks=notice_blocks(notice))
