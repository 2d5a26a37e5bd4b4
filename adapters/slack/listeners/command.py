"""`/crowdrank <subcommand> [args]`: one callback that acks at once, then hands the words to the labeler or
manager subcommand and replies privately. Manager subcommands check the caller first."""

from __future__ import annotations

import shlex
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import flows
from adapters.slack.deps import SlackDeps
from adapters.slack.listeners import labeler_commands, manager_commands
from adapters.slack.listeners.errors import reported

HELP = """*crowdrank* — rank model answers for RLHF campaigns
• `/crowdrank join [campaign]` — join a campaign (onboarding in a DM)
• `/crowdrank rank [campaign]` — your next card, in a DM
• `/crowdrank forget` — remove your Slack id and region (your rankings stay, pseudonymous)
Managers: `/crowdrank status [campaign]`, `invite <campaign> [#channel]`, `pause <campaign>`,
`resume <campaign>`, `retrain <campaign>`, `report <campaign>`"""


def words(text: str) -> list[str]:
    """Split like a shell (quotes keep a campaign name with spaces together); unbalanced quotes split on spaces."""
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def register(app: AsyncApp, deps: SlackDeps) -> None:
    @app.command("/crowdrank")
    async def crowdrank(ack: AsyncAck, body: dict[str, Any], command: dict[str, Any], respond: AsyncRespond,
                        client: AsyncWebClient, context: AsyncBoltContext) -> None:
        await ack()
        async with reported(body, context):
            verb, *args = words(command.get("text") or "") or ["help"]
            verb = verb.lower()
            if verb in labeler_commands.COMMANDS:
                reply = await labeler_commands.COMMANDS[verb](deps, client, command, args)
            elif verb in manager_commands.COMMANDS:
                await flows.require_manager(deps, client, command["user_id"])
                reply = await manager_commands.COMMANDS[verb](deps, client, command, args)
            else:
                reply = HELP
            await respond(text=reply, response_type="ephemeral")
