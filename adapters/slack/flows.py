"""Steps several listeners share: who is this Slack user in `bot/`, which campaign is meant, and how a card or an
onboarding step reaches the user's DM. Translation only — every decision is a call into `bot/`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks.card import card_blocks, card_text
from adapters.slack.blocks.messages import notice_blocks
from adapters.slack.blocks.onboarding import onboarding_blocks, onboarding_text
from adapters.slack.deps import PLATFORM, SlackDeps
from adapters.slack.regions import region_for_tz
from bot import assignment, campaigns, labelers, ranking_session
from bot.cards import Card
from bot.errors import InputError, NotAllowed, StateError
from bot.labelers import Onboarding

NO_UNFURL = {"unfurl_links": False, "unfurl_media": False}


async def labeler_id(deps: SlackDeps, workspace: str, user: str) -> int:
    """The `bot/` labeler id of a Slack user (registered on first sight)."""
    key = (workspace, user)
    if key not in deps.labelers:
        async with deps.database.session() as session:
            labeler = await labelers.register_labeler(session, PLATFORM, workspace, user)
        deps.labelers[key] = labeler.id or 0
    return deps.labelers[key]


async def register_with_profile(deps: SlackDeps, client: AsyncWebClient, workspace: str, user: str, *,
                                with_name: bool = False) -> int:
    """Register (or refresh) a labeler with the region their Slack `tz` suggests; their display name only once
    they have consented (`with_name`), so nothing personal beyond the Slack id is stored before that."""
    profile = (await client.users_info(user=user)).get("user") or {}
    name = profile.get("real_name") or (profile.get("profile") or {}).get("display_name") or None
    async with deps.database.session() as session:
        labeler = await labelers.register_labeler(
            session, PLATFORM, workspace, user, display_name=name if with_name else None,
            suggested_region=region_for_tz(profile.get("tz")))
    deps.labelers[(workspace, user)] = labeler.id or 0
    return labeler.id or 0


async def resolve_campaign(deps: SlackDeps, name: str | None) -> str:
    """The campaign a command means: the one named, or the only live one."""
    if name:
        return name
    async with deps.database.session() as session:
        live = [c.name for c in await campaigns.list_campaigns(session) if c.status == "live"]
    if len(live) == 1:
        return live[0]
    if not live:
        raise InputError("no campaign is live right now")
    raise InputError(f"several campaigns are live; name one: {', '.join(live)}", field="campaign")


async def is_manager(deps: SlackDeps, client: AsyncWebClient, user: str) -> bool:
    if user in deps.managers:
        return True
    profile = (await client.users_info(user=user)).get("user") or {}
    return bool(profile.get("is_admin") or profile.get("is_owner"))


async def require_manager(deps: SlackDeps, client: AsyncWebClient, user: str) -> None:
    if not await is_manager(deps, client, user):
        raise NotAllowed("only campaign managers (CROWDRANK_SLACK_MANAGERS) and workspace admins may do that")


async def open_dm(client: AsyncWebClient, user: str) -> str:
    return (await client.conversations_open(users=user))["channel"]["id"]


async def post(client: AsyncWebClient, channel: str, text: str, blocks: list[Any]) -> str:
    response = await client.chat_postMessage(channel=channel, text=text, blocks=blocks, **NO_UNFURL)
    return str(response["ts"])


async def update(client: AsyncWebClient, channel: str, ts: str, text: str, blocks: list[Any]) -> None:
    await client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)


async def show_card(client: AsyncWebClient, channel: str, card: Card, *, ts: str | None = None,
                    progress: tuple[int, int] | None = None) -> None:
    """Post a card, or re-render it in place when `ts` names its message."""
    blocks = card_blocks(card, progress=progress)
    if ts:
        await update(client, channel, ts, card_text(card), blocks)
    else:
        await post(client, channel, card_text(card), blocks)


@asynccontextmanager
async def card_change(deps: SlackDeps, client: AsyncWebClient, assignment_id: int, labeler: int, channel: str,
                      ts: str) -> AsyncIterator[None]:
    """Changes to one card, one at a time and in arrival order. A change refused because the card is closed
    (expired, skipped or submitted meanwhile) also re-renders the message closed, so its buttons go away."""
    async with deps.card_lock(assignment_id):
        try:
            yield
        except StateError:
            async with deps.database.session() as session:
                card = await ranking_session.show_card(session, assignment_id, labeler)
            if card.state != "open":
                await show_card(client, channel, card, ts=ts)
            raise


async def show_onboarding(client: AsyncWebClient, channel: str, state: Onboarding, *, ts: str | None = None) -> None:
    blocks = onboarding_blocks(state)
    if ts:
        await update(client, channel, ts, onboarding_text(state), blocks)
    else:
        await post(client, channel, onboarding_text(state), blocks)


async def serve_next(deps: SlackDeps, client: AsyncWebClient, labeler: int, campaign: str, channel: str) -> None:
    """The next step for this labeler in this campaign: an onboarding step, their next card, or "all done"."""
    async with deps.database.session() as session:
        state = await labelers.onboarding(session, labeler, campaign)
        if not state.complete:
            await show_onboarding(client, channel, state)
            return
        card = await assignment.next_card(session, labeler, campaign)
    if card is None:
        await post(client, channel, "Nothing left to rank", notice_blocks(
            ":sparkles: Nothing left for you to rank right now — thank you! Try *Next card* later.", campaign))
        return
    await show_card(client, channel, card)


def message_of(body: dict[str, Any]) -> tuple[str, str]:
    """(channel, ts) of the message an interaction came from."""
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    ts = container.get("message_ts") or (body.get("message") or {}).get("ts")
    if not channel or not ts:
        raise InputError("this action did not come from a message")
    return str(channel), str(ts)
