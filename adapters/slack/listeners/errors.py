"""The one place where an error becomes what the user reads: a `CrowdrankError` is a private reply with its one
line; anything else is a bug, logged with its traceback, and the user is told something went wrong.

Listeners ack first and then run their work inside `reported(body, context)`. Why not let exceptions reach Bolt's
error handler: when a listener raises within Bolt's 10 ms ack poll, Bolt resets the acknowledgement and Slack
gets a 404 after three seconds (slack_bolt 1.30 AsyncioListenerRunner). `@app.error` stays for anything raised
before an ack (Bolt's own middleware, argument injection).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext

from adapters.slack.deps import SlackDeps
from adapters.slack.mrkdwn import escape
from bot.errors import CrowdrankError


async def tell_user(error: Exception, body: dict[str, Any], context: AsyncBoltContext) -> None:
    if isinstance(error, CrowdrankError):
        text = f":no_entry: {escape(str(error))}"  # errors may quote what the user typed
    else:
        context.logger.error("listener failed", exc_info=error)
        text = ":warning: Something went wrong on our side; the error was logged. Please try again."
    user = (body.get("user") or {}).get("id") or body.get("user_id") or (body.get("event") or {}).get("user")
    if context.respond is not None and body.get("response_url"):
        await context.respond(text=text, response_type="ephemeral", replace_original=False)
    elif user:
        await context.client.chat_postMessage(channel=user, text=text)


@asynccontextmanager
async def reported(body: dict[str, Any], context: AsyncBoltContext) -> AsyncIterator[None]:
    """Run a listener's work after its ack; an error goes to the user (and the log), not back into Bolt."""
    try:
        yield
    except Exception as error:
        await tell_user(error, body, context)


def register(app: AsyncApp, deps: SlackDeps) -> None:
    @app.error
    async def reply_privately(error: Exception, body: dict[str, Any], context: AsyncBoltContext) -> None:
        await tell_user(error, body, context)
