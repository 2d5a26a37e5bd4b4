"""Every Slack surface, each translated into one conversation call: buttons and menus (`press`), the skip modal
(`form`), `/crowdrank` (`command`), the App Home. Listeners ack first and do the work after (Bolt's listener/ack
pattern); a bug is logged and the user reads the catalog's "something went wrong".

Why errors are handled here rather than left to Bolt: when a listener raises within Bolt's 10 ms ack poll, Bolt
resets the acknowledgement and Slack gets a 404 after three seconds (slack_bolt 1.30 AsyncioListenerRunner).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import REGION_SELECT, SKIP_VIEW, home_view
from adapters.slack.replies import Origin, deliver
from bot.chat.conversation import Conversation, split_words
from bot.chat.people import Details, Who
from bot.chat.regions import region_for_tz
from bot.errors import CrowdrankError

PLATFORM = "slack"
CHANNEL = re.compile(r"^<#([CG][A-Z0-9]+)(?:\|[^>]*)?>$|^([CG][A-Z0-9]+)$")
log = logging.getLogger("crowdrank.slack")


def channel_of(word: str) -> str | None:
    """A channel as Slack writes it in a command (`<#C0123|name>`), or a bare channel id."""
    match = CHANNEL.match(word)
    return (match.group(1) or match.group(2)) if match else None


def delivery_key(body: dict[str, Any]) -> tuple[str, ...] | None:
    """What identifies one delivery: the event id, or the user and timestamp of a click."""
    if body.get("type") == "event_callback" and body.get("event_id"):
        return ("event", str(body["event_id"]))
    if body.get("type") == "block_actions" and body.get("actions"):
        action = body["actions"][0]
        return ("action", str((body.get("user") or {}).get("id")), str(action.get("action_ts")),
                str(action.get("action_id")))
    return None


def who(client: AsyncWebClient, team: str, user: str) -> Who:
    """The person, with their Slack profile fetched only when the conversation needs it."""

    async def details() -> Details:
        profile = (await client.users_info(user=user)).get("user") or {}
        return Details(display_name=profile.get("real_name") or (profile.get("profile") or {}).get("display_name"),
                       suggested_region=region_for_tz(profile.get("tz")),
                       admin=bool(profile.get("is_admin") or profile.get("is_owner")), tz=profile.get("tz"))

    return Who(PLATFORM, team, user, details=details)


def pressed(body: dict[str, Any], action: dict[str, Any]) -> str:
    """The action string: a menu's chosen option, the region select's state when its Confirm is pressed, or the
    button's own action id."""
    if "selected_option" in action:
        return str(action["selected_option"]["value"])
    state = ((body.get("state") or {}).get("values") or {}).get(action.get("block_id") or "") or {}
    picked = (state.get(REGION_SELECT) or {}).get("selected_option")
    return str(picked["value"]) if picked else str(action["action_id"])


def register(app: AsyncApp, conversation: Conversation) -> None:
    async def run(body: dict[str, Any], client: AsyncWebClient, person: Who, origin: Origin,
                  work: Callable[[], Awaitable[list[Any]]]) -> None:
        try:
            await deliver(client, conversation, person, origin, await work())
        except Exception:  # a bug or Slack refusing a call: logged whole, the user reads one line
            log.exception("a Slack interaction failed")
            await deliver(client, conversation, person, origin, [conversation.failure(person)])

    @app.middleware
    async def ignore_repeats(body: dict[str, Any], request: AsyncBoltRequest,
                             next: Callable[[], Awaitable[None]]) -> BoltResponse | None:
        """Slack re-delivers what it thinks was lost (`x-slack-retry-num`); a delivery this process has seen is
        acknowledged and ignored (card changes are also refused by the database after a restart)."""
        key = delivery_key(body)
        if key is not None and not conversation.first_delivery(key):
            return BoltResponse(status=200, body="", headers={"x-slack-no-retry": "1"})
        await next()
        return None

    @app.action(re.compile(".+"))
    async def press(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                    context: AsyncBoltContext) -> None:
        await ack()
        if action.get("action_id") == REGION_SELECT:
            return  # moving the select only moves it; Confirm sends its state
        person = who(client, context["team_id"], context["user_id"])
        container = body.get("container") or {}
        origin = Origin(container.get("channel_id"), container.get("message_ts"), context.respond,
                        body.get("trigger_id"))
        delivery = f"slack:{context['user_id']}:{action.get('action_ts')}:{action.get('action_id')}"
        await run(body, client, person, origin,
                  lambda: conversation.press(person, pressed(body, action), delivery=delivery))

    @app.view(SKIP_VIEW)
    async def skip(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient,
                   context: AsyncBoltContext) -> None:
        await ack()
        person = who(client, context["team_id"], context["user_id"])
        value = str(json.loads(view.get("private_metadata") or "{}").get("action", ""))
        reason = ((view["state"]["values"].get("reason") or {}).get("reason") or {}).get("value") or ""
        await run(body, client, person, Origin(),
                  lambda: conversation.form(person, value, reason, delivery=f"slack:view:{view.get('id')}"))

    @app.command("/crowdrank")
    async def command(ack: AsyncAck, body: dict[str, Any], command: dict[str, Any], client: AsyncWebClient,
                      context: AsyncBoltContext) -> None:
        await ack()
        person = who(client, command["team_id"], command["user_id"])
        origin = Origin(command.get("channel_id"), None, context.respond, command.get("trigger_id"))

        async def work() -> list[Any]:
            try:
                words = split_words(command.get("text") or "")
            except CrowdrankError as error:
                return [conversation.refusal(error)]
            return await conversation.command(person, words, here=command.get("channel_id"))

        await run(body, client, person, origin, work)

    @app.event("app_home_opened")
    async def publish_home(event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext) -> None:
        if event.get("tab", "home") == "home":
            view = await conversation.home(who(client, context["team_id"], event["user"]))
            await client.views_publish(user_id=event["user"], view=home_view(view))
