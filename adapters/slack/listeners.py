"""Every Slack surface, each translated into one conversation call: buttons and menus (`press`), the skip modal
(`form`), `/crowdrank` (`command`), the App Home.

Clicks and submits are answered only once they are stored: the listener runs `press_in_time` / `form_in_time`
(the write, bounded by the conversation's 2 s deadline, or a "press again" reply when it is late), hands the
replies to `Deliveries` (card updates go out after the answer and never hold it up), then acks — or, when the
write was late, answers 503. A 200 therefore promises a stored change, even if the process dies next.
Commands ack first and work after: their 200 promises nothing (they store nothing a labeler was told about until
their reply arrives), and a command may take longer than 3 s.

Why the app runs with `process_before_response=True` (slack_bolt 1.30 `AsyncioListenerRunner.run`): by default
Bolt starts the listener as a task and polls `ack.response` every 10 ms for at most `ack_timeout` (3 s, counted
from when the runner starts); an ack after that gets no answer at all, a listener that raises before acking
gets a 500, and every waiting request costs a poll. With `process_before_response=True` Bolt awaits the
listener and answers with what `ack()` set the moment the listener returns, however long that took, so keeping
Slack's 3 s is ours: the write deadline (2 s) leaves the rest for the answer. Listeners therefore never raise (a
bug is logged and the user reads the catalog's "something went wrong") and never wait for Web API calls after
acking: those run in `Deliveries`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import REGION_SELECT, SKIP_VIEW, home_view
from adapters.slack.replies import Origin, deliver
from bot.chat.conversation import Conversation, Late, split_words
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
    """What identifies one event delivery. Clicks have none here: a click sent again goes through, so one that
    was answered 503 (not stored in time) is answered 200 only once it is stored, and the database's delivery
    key makes it change nothing twice."""
    if body.get("type") == "event_callback" and body.get("event_id"):
        return ("event", str(body["event_id"]))
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


def skip_value(view: dict[str, Any]) -> str:
    """The action the skip modal was opened for, from its private metadata ("" when it is not ours)."""
    try:
        metadata = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return ""
    return str(metadata.get("action", "")) if isinstance(metadata, dict) else ""


class Deliveries:
    """Web API calls made after Slack was answered, each in its own task, kept until done."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def finish(self, timeout: float = 10.0) -> None:
        """Wait (up to `timeout`) for the replies already handed over."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)


def register(app: AsyncApp, conversation: Conversation) -> Deliveries:
    deliveries = Deliveries()

    async def send(client: AsyncWebClient, person: Who, origin: Origin, replies: list[Any]) -> None:
        try:
            await deliver(client, conversation, person, origin, replies)
        except Exception:  # Slack refusing a call, or a bug: logged whole, the user reads one line
            log.exception("a Slack reply failed")
            await deliver(client, conversation, person, origin, [conversation.failure(person)])

    async def answer(ack: AsyncAck, client: AsyncWebClient, person: Who, origin: Origin,
                     write: Callable[[Late], Awaitable[list[Any]]]) -> BoltResponse | None:
        """Store, then answer Slack, then deliver the replies. A write that missed its deadline, or found no free
        database connection, is answered 503, never 200 (a 200 promises a stored click, even if this process dies
        next); the person reads "press again" or "busy", and the replies of a late write are delivered if it
        lands."""

        async def late(replies: list[Any]) -> None:
            await send(client, person, origin, replies)

        try:
            replies = await write(late)
        except Exception:
            log.exception("a Slack interaction failed")
            replies = [conversation.failure(person)]
        deliveries.start(send(client, person, origin, replies))
        if conversation.unconfirmed(replies):
            return BoltResponse(status=503, body="not stored in time; press again")
        await ack()
        return None

    async def later(client: AsyncWebClient, person: Who, origin: Origin,
                    work: Callable[[], Awaitable[list[Any]]]) -> None:
        """Work whose 200 promises nothing: done after the answer."""
        try:
            replies = await work()
        except Exception:
            log.exception("a Slack interaction failed")
            replies = [conversation.failure(person)]
        await send(client, person, origin, replies)

    @app.middleware
    async def ignore_repeats(body: dict[str, Any], request: AsyncBoltRequest,
                             next: Callable[[], Awaitable[None]]) -> BoltResponse | None:
        """Slack re-delivers events it thinks were lost (`x-slack-retry-num`); an event this process has seen is
        acknowledged and ignored."""
        key = delivery_key(body)
        if key is not None and not conversation.first_delivery(key):
            return BoltResponse(status=200, body="", headers={"x-slack-no-retry": "1"})
        await next()
        return None

    @app.action(re.compile(".+"))
    async def press(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                    context: AsyncBoltContext) -> BoltResponse | None:
        if action.get("action_id") == REGION_SELECT:
            await ack()
            return None  # moving the select only moves it; Confirm sends its state
        person = who(client, context["team_id"], context["user_id"])
        container = body.get("container") or {}
        origin = Origin(container.get("channel_id"), container.get("message_ts"), context.respond,
                        body.get("trigger_id"))
        delivery = f"slack:{context['user_id']}:{action.get('action_ts')}:{action.get('action_id')}"
        return await answer(ack, client, person, origin,
                            lambda late: conversation.press_in_time(person, pressed(body, action), delivery=delivery,
                                                             late=late))

    @app.view(SKIP_VIEW)
    async def skip(ack: AsyncAck, view: dict[str, Any], client: AsyncWebClient,
                   context: AsyncBoltContext) -> BoltResponse | None:
        person = who(client, context["team_id"], context["user_id"])
        reason = ((view["state"]["values"].get("reason") or {}).get("reason") or {}).get("value") or ""
        return await answer(ack, client, person, Origin(),
                            lambda late: conversation.form_in_time(person, skip_value(view), reason,
                                                            delivery=f"slack:view:{view.get('id')}", late=late))

    @app.command("/crowdrank")
    async def command(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient,
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

        deliveries.start(later(client, person, origin, work))

    @app.event("app_home_opened")
    async def publish_home(event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext) -> None:
        async def publish() -> None:
            try:
                view = await conversation.home(who(client, context["team_id"], event["user"]))
                await client.views_publish(user_id=event["user"], view=home_view(view))
            except Exception:
                log.exception("publishing the App Home failed")

        if event.get("tab", "home") == "home" and event.get("user"):
            deliveries.start(publish())

    return deliveries
