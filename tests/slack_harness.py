"""The end-to-end rig for the Slack adapter: the emulator, a migrated database with live campaigns, the real Bolt
`AsyncApp` served by uvicorn on loopback, and helpers that walk a labeler through Slack like a person would."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import select

from adapters.slack.app import SlackBot, build_app
from adapters.slack.server import EVENTS_PATH, SlackHttpServer
from bot import campaigns, labelers
from bot.database import Database
from bot.prompt_files import CompletionRecord, PromptRecord
from bot.settings import Settings
from storage.models import Assignment, Delivery, Enrollment, Labeler, Ranking
from tests.slack_emulator import TEAM, Message, SlackEmulator, SlackUser, action_ids

SECRET = "test-signing-secret"
MANAGER = "U0MANAGER"
CAMPAIGN = "hot-house"
REGIONS = ["Africa", "Asia", "Europe", "Latin America", "North America", "Oceania"]
GUIDELINES = """# Rules

Rank the **most helpful** answer first. Read *all* answers before clicking.

- Prefer correct over long
- Flag anything harmful

See [the handbook](https://example.org/handbook).
"""
PING = "<!channel> & <@U0ALICE> <https://evil.example|click me>"


def prompt_records(n: int, prefix: str = "p") -> list[PromptRecord]:
    return [PromptRecord(external_id=f"{prefix}{i}", text=f"My house is too hot ({i}). What should I do?")
            for i in range(n)]


def completion_records(n: int, k: int, prefix: str = "p") -> list[CompletionRecord]:
    return [CompletionRecord(prompt_id=f"{prefix}{i}", model="test",
                             texts=[f"Answer {j} to prompt {i}: open the windows at night." for j in range(k)])
            for i in range(n)]


async def create_campaigns(database: Database, prompts: list[PromptRecord] | None = None) -> None:
    """`hot-house` (3 prompts unless given, k=4) and `pings` (one prompt whose completions try to ping and link)."""
    prompts = prompts or prompt_records(3)
    async with database.session() as session:
        await campaigns.create_campaign(
            session, campaigns.CampaignSpec(name=CAMPAIGN, criterion="helpfulness", k=4, votes=2, regions=REGIONS,
                                            guidelines=GUIDELINES),
            prompts, completion_records(len(prompts), 4))
    async with database.session() as session:
        long_prompt = "Tell me about heat. " + "x" * 3500
        await campaigns.create_campaign(
            session, campaigns.CampaignSpec(name="pings", criterion="harmlessness", k=2, votes=1, regions=REGIONS),
            [PromptRecord(external_id="q", text=long_prompt)],
            [CompletionRecord(prompt_id="q", model="test", texts=[PING, "@here a long one. " + "y" * 3200])])


@dataclass
class Walker:
    """Slack's side of a running bot (in this process or another): walks a labeler through it like a person."""

    emulator: SlackEmulator
    slack: SlackUser

    def dm(self, user: str) -> str:
        return "D" + user

    async def wait_message(self, channel: str, has_action: str, *, after: Message | None = None) -> Message:
        """The latest message in `channel` (posted after `after`) offering an element `has_action` (regex)."""
        pattern = re.compile(has_action)

        def ready() -> Message | None:
            matching = [m for m in self.emulator.channel_messages(channel)
                        if any(pattern.match(a) for a in action_ids(m.blocks))
                        and (after is None or float(m.ts) > float(after.ts))]
            return matching[-1] if matching else None

        return await self.emulator.wait_for(ready)

    async def wait_update(self, message: Message, versions: int) -> Message:
        """Wait until `message` was updated `versions` times in total."""
        await self.emulator.wait_for(lambda: len(message.history) >= versions)
        return message

    async def onboard(self, user: str, campaign: str = CAMPAIGN, *, tz: str = "Europe/Paris") -> Message:
        """Join by slash command, agree, confirm the suggested region, read the guidelines: returns the card."""
        self.emulator.add_user(user, tz=tz, name=user.title())
        status, _ = await self.slack.command(user, f"join {campaign}")
        assert status == 200
        steps = await self.wait_message(self.dm(user), "consent:")
        await self.slack.click(user, steps, "consent")
        await self.wait_update(steps, 1)
        await self.slack.click(user, steps, "region")  # confirm the region Slack's tz suggested
        await self.wait_update(steps, 2)
        read = next(a for a in action_ids(steps.blocks) if a.startswith("read:"))
        await self.slack.click(user, steps, read)
        return await self.wait_message(self.dm(user), r"rank:")


@dataclass
class Rig(Walker):
    """The bot served in this process (a real uvicorn + Bolt app on loopback) with its database."""

    db_url: str
    home: Path
    database: Database
    deps: SlackBot
    server: SlackHttpServer

    @property
    def settings(self) -> Settings:
        return settings_for(self.emulator, self.home)

    async def restart(self) -> None:
        """Stop the server, drop the app and the database handle, and start fresh ones on the same database."""
        await self.stop()
        self.database = Database(self.db_url)
        app, self.deps = build_app(self.settings, self.database)
        self.server = SlackHttpServer(app, SECRET, host="127.0.0.1", port=0, log_level="warning")
        await self.server.start()
        self.slack.app_url = f"http://127.0.0.1:{self.server.port}{EVENTS_PATH}"

    async def stop(self) -> None:
        await self.server.stop()
        await self.deps.close()
        await self.database.dispose()


def settings_for(emulator: SlackEmulator, home: Path) -> Settings:
    """Settings pointing at the emulator; `home` keeps reports and reward models out of the working tree."""
    return Settings(SLACK_BOT_TOKEN=emulator.token, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=emulator.api_url,
                    CROWDRANK_SLACK_MANAGERS=MANAGER, CROWDRANK_HOME=str(home))


async def start_rig(db_url: str, home: Path) -> Rig:
    emulator = SlackEmulator()
    await emulator.start()
    database = Database(db_url)
    await create_campaigns(database)
    app, deps = build_app(settings_for(emulator, home), database)
    server = SlackHttpServer(app, SECRET, host="127.0.0.1", port=0, log_level="warning")
    await server.start()
    slack = SlackUser(emulator, f"http://127.0.0.1:{server.port}{EVENTS_PATH}", SECRET)
    return Rig(emulator, slack, db_url, home, database, deps, server)


def texts(blocks: list[dict[str, Any]]) -> str:
    """All visible text of rendered blocks, joined (for assertions on what the user reads)."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                out.append(node["text"])
            for value in node.values():
                if isinstance(value, dict | list):
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return "\n".join(out)


async def labeler_id(database: Database, user: str) -> int:
    """The labeler id of a Slack user in TEAM (asked of the database, as the conversation does after a restart)."""
    async with database.session() as session:
        found = await labelers.find_labeler(session, "slack", TEAM, user)
    assert found is not None, f"{user} is not a labeler"
    return found


def card_id(message: Message) -> str:
    """The card (assignment) id a card message's buttons carry."""
    return next(a for a in action_ids(message.blocks) if a.startswith("rank:")).split(":")[1]


def order_line(message: Message) -> str:
    """The order line as Slack shows it (`&gt;` is how mrkdwn writes `>`)."""
    line = next(t for t in texts(message.blocks).splitlines() if t.startswith("*Your order:*"))
    return line.removeprefix("*Your order:* ").replace("&gt;", ">")


async def row_counts(database: Database) -> dict[str, int]:
    """How many labelers, enrollments, cards (assignments), rankings and deliveries are stored."""
    counts = {}
    async with database.session() as session:
        for table in (Labeler, Enrollment, Assignment, Ranking, Delivery):
            counts[table.__name__] = (await session.exec(select(func.count()).select_from(table))).one()
    return counts
