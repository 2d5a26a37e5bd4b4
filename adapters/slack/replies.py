"""Replies from the conversation service, carried out with the Slack Web API: private text (the interaction's
response_url, else a DM), modals (with the interaction's trigger_id), updates of a stored message, DMs and
channel posts. A card posted as a new message has its location stored right after, so later updates go there.
A click's own card is updated through the click's response_url, other messages with chat.update.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import (
    KIND_ICONS,
    card_blocks,
    full_text_modal,
    guidelines_modal,
    notice_blocks,
    skip_modal,
    status_text,
    step_blocks,
)
from adapters.slack.mrkdwn import escape, markdown_to_mrkdwn, mrkdwn
from bot.chat.conversation import Conversation
from bot.chat.people import Who
from bot.chat.views import CardView, FullText, GuidelinesView, Notice, Reply, SkipForm, StatusView, StepView, View

log = logging.getLogger("crowdrank.slack")
REPLACE_TIMEOUT = aiohttp.ClientTimeout(total=10)


@dataclass(frozen=True)
class Origin:
    """Where an interaction came from: its message (channel, ts), Bolt's `respond` (the response_url) and the
    trigger_id for a modal, when it has them."""

    channel: str | None = None
    ts: str | None = None
    respond: AsyncRespond | None = None
    trigger_id: str | None = None


def blocks_and_text(view: View) -> tuple[list[Any], str]:
    if isinstance(view, CardView):
        return card_blocks(view), view.summary.plain()
    if isinstance(view, StepView):
        return step_blocks(view), view.title.plain()
    if isinstance(view, StatusView):
        return [], status_text(view)
    if isinstance(view, Notice):
        return notice_blocks(view), KIND_ICONS[view.kind] + mrkdwn(view.text)
    raise TypeError(f"{type(view).__name__} is not a message")


async def deliver(client: AsyncWebClient, conversation: Conversation, who: Who, origin: Origin,
                  replies: Sequence[Reply]) -> None:
    for reply in replies:
        view = reply.view
        if reply.intent == "private":
            await _private(client, who, origin, view)
        elif reply.intent == "update":
            channel, ts = reply.message_ref.split("/", 1) if reply.message_ref else (origin.channel, origin.ts)
            if channel and ts:
                blocks, text = blocks_and_text(view)
                if not (origin.respond is not None and (channel, ts) == (origin.channel, origin.ts)
                        and await _replace_original(client, origin.respond.response_url, text, blocks)):
                    await client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        elif reply.intent == "dm":
            channel = await dm_channel(client, who.workspace, who.user_id)
            ts = await post(client, channel, view)
            if isinstance(view, CardView):
                await conversation.card_posted(who, view.card_id, f"{channel}/{ts}")
        else:
            await post(client, reply.channel or "", view)


async def _replace_original(client: AsyncWebClient, response_url: str | None, text: str,
                            blocks: list[Any]) -> bool:
    """Update the message a click came from through the click's own response_url: not a Web API method, so not
    counted against chat.update's Tier 3 limit (about 50 a minute per workspace, where 200 labelers click about
    100 times a second), and no slack_sdk call to build. False when it did not take (no URL or session, a used
    or expired URL, a network error): the caller falls back to chat.update, which waits out a 429."""
    if not response_url or client.session is None:
        return False
    try:
        async with client.session.post(response_url, json={"replace_original": True, "text": text, "blocks": blocks},
                                       timeout=REPLACE_TIMEOUT) as response:
            return response.status == 200
    except (aiohttp.ClientError, TimeoutError) as error:
        log.info("response_url update failed (%s); updating with chat.update", type(error).__name__)
        return False


_DM_CHANNELS: OrderedDict[tuple[str, str, str], str] = OrderedDict()
DM_CHANNELS_KEPT = 10_000


async def dm_channel(client: AsyncWebClient, workspace: str, user_id: str) -> str:
    """The direct-message channel with a user. Slack gives the same one every time, so it is asked once per
    process, bot token and user: conversations.open is Tier 3 too, and every new card was one more call."""
    key = (client.token or "", workspace, user_id)
    channel = _DM_CHANNELS.get(key)
    if channel is None:
        channel = _DM_CHANNELS[key] = (await client.conversations_open(users=user_id))["channel"]["id"]
        if len(_DM_CHANNELS) > DM_CHANNELS_KEPT:
            _DM_CHANNELS.popitem(last=False)
    return channel


async def post(client: AsyncWebClient, channel: str, view: View) -> str:
    blocks, text = blocks_and_text(view)
    response = await client.chat_postMessage(channel=channel, text=text, blocks=blocks or None,
                                             unfurl_links=False, unfurl_media=False)
    return str(response["ts"])


def private_text(view: View) -> str:
    """A private reply as text (where no modal can be opened: a command's reply, a view without trigger_id)."""
    if isinstance(view, StatusView):
        return status_text(view)
    if isinstance(view, Notice):
        return KIND_ICONS[view.kind] + mrkdwn(view.text)
    if isinstance(view, FullText):
        return f"*{mrkdwn(view.title)}*\n{escape(view.text)}"
    if isinstance(view, GuidelinesView):
        return f"{mrkdwn(view.head)}\n\n{markdown_to_mrkdwn(view.markdown) or mrkdwn(view.empty)}"
    raise TypeError(f"{type(view).__name__} is not a private reply")


async def _private(client: AsyncWebClient, who: Who, origin: Origin, view: View) -> None:
    if isinstance(view, FullText | GuidelinesView | SkipForm) and origin.trigger_id:
        if isinstance(view, SkipForm):
            metadata = json.dumps({"action": view.action})
            modal = skip_modal(view, metadata)
        else:
            modal = full_text_modal(view) if isinstance(view, FullText) else guidelines_modal(view)
        await client.views_open(trigger_id=origin.trigger_id, view=modal)
        return
    text = private_text(view)
    if origin.respond is not None:
        await origin.respond(text=text, response_type="ephemeral", replace_original=False)
    else:
        await client.chat_postMessage(channel=who.user_id, text=text, unfurl_links=False, unfurl_media=False)
