"""`app_home_opened`: publish the App Home with the live campaigns and their Join buttons."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks.messages import home_view
from adapters.slack.deps import SlackDeps
from adapters.slack.listeners.errors import reported
from bot import campaigns


def register(app: AsyncApp, deps: SlackDeps) -> None:
    @app.event("app_home_opened")
    async def publish_home(body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient,
                           context: AsyncBoltContext) -> None:
        if event.get("tab", "home") != "home":
            return
        async with reported(body, context):
            async with deps.database.session() as session:
                live = [(c.name, c.criterion) for c in await campaigns.list_campaigns(session)
                        if c.status == "live"]
            await client.views_publish(user_id=event["user"], view=home_view(live))
