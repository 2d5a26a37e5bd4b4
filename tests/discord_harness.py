"""The end-to-end rig for Discord: the emulator in the test process and the real discord.py client in its own
process (a subprocess, as `crowdrank serve --discord` runs), pointed at the emulator through DISCORD_API_BASE and
DISCORD_GATEWAY_URL. Its output goes to a log file that a failing test prints.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bot import campaigns
from bot.database import Database
from bot.prompt_files import CompletionRecord, PromptRecord
from tests.discord_emulator import DiscordEmulator, Interaction, Message, iter_components
from tests.slack_harness import CAMPAIGN, GUIDELINES, REGIONS, completion_records, prompt_records

ROOT = Path(__file__).resolve().parent.parent


def bot_env(emulator: DiscordEmulator, **extra: str) -> dict[str, str]:
    """The environment of a bot process: the worktree on PYTHONPATH and the emulator's endpoints."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           "DISCORD_TOKEN": emulator.token, "DISCORD_API_BASE": emulator.api_base,
           "DISCORD_GATEWAY_URL": emulator.gateway_url, "PYTHONUNBUFFERED": "1", "OMP_WAIT_POLICY": "PASSIVE"}
    env.update(extra)
    return env


@dataclass
class BotProcess:
    """One bot process; `stop()` sends SIGTERM (then SIGKILL) and `log()` returns what it printed."""

    process: asyncio.subprocess.Process
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def stop(self, *, kill: bool = False) -> None:
        if self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), 10)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


async def start_bot(emulator: DiscordEmulator, args: list[str], log_path: Path, *, identifies: int = 1,
                    **env: str) -> BotProcess:
    """Run `python <args>` and wait until it identified with the gateway (`identifies` in total, counting
    earlier processes) and got READY and GUILD_CREATE."""
    log = log_path.open("ab")
    process = await asyncio.create_subprocess_exec(sys.executable, *args, cwd=ROOT, env=bot_env(emulator, **env),
                                                   stdout=log, stderr=log)
    log.close()
    bot = BotProcess(process, log_path)
    try:
        await emulator.wait_for(lambda: process.returncode is not None or _identified(emulator, identifies),
                                timeout=60)
    except AssertionError as exc:
        await bot.stop(kill=True)
        raise AssertionError(f"the bot did not connect:\n{bot.log()}") from exc
    if process.returncode is not None:
        raise AssertionError(f"the bot exited with {process.returncode}:\n{bot.log()}")
    return bot


def _identified(emulator: DiscordEmulator, count: int) -> bool:
    current = emulator._current
    return sum(op == 2 for op, _ in emulator.gateway_ops) >= count and current is not None \
        and current.socket is not None and len(current.events) >= 2  # READY and GUILD_CREATE sent


# ---- crowdrank itself: `python -m bot.cli serve --discord` over a seeded database ------------------------------
PING = "@everyone look <@123> and <@&456>, **bold** [click me](https://evil.example) https://evil.example"


async def seed(database: Database) -> None:
    """`hot-house` (3 prompts, k=4, 2 votes) and `pings` (one long prompt; completions that try to ping, format
    and link, and one longer than an embed can hold)."""
    async with database.session() as session:
        await campaigns.create_campaign(
            session, campaigns.CampaignSpec(name=CAMPAIGN, criterion="helpfulness", k=4, votes=2, regions=REGIONS,
                                            guidelines=GUIDELINES),
            prompt_records(3), completion_records(3, 4))
    async with database.session() as session:
        await campaigns.create_campaign(
            session, campaigns.CampaignSpec(name="pings", criterion="harmlessness", k=2, votes=1, regions=REGIONS),
            [PromptRecord(external_id="q", text="Tell me about heat. " + "x" * 3000)],
            [CompletionRecord(prompt_id="q", model="test", texts=[PING, "@here a long one. " + "y" * 7000])])


@dataclass
class Rig:
    """The emulator, a seeded database and crowdrank serving Discord in its own process."""

    emulator: DiscordEmulator
    db_url: str
    home: Path
    log_path: Path
    bot: BotProcess
    _last_press: dict[int, float] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return {"CROWDRANK_DATABASE_URL": self.db_url, "CROWDRANK_HOME": str(self.home)}

    async def restart(self) -> None:
        """Stop the bot (SIGTERM) and start a new process on the same database."""
        identified = sum(op == 2 for op, _ in self.emulator.gateway_ops)
        await self.bot.stop()
        self.bot = await start_bot(self.emulator, SERVE, self.log_path, identifies=identified + 1, **self.env)

    # ---- walking through Discord like a person -------------------------------------------------------------------
    async def wait_message(self, user: int, has: str, *, after: Message | None = None) -> Message:
        """The newest message `user` can see (DM, their thread, their ephemerals) with an enabled component whose
        custom id matches `has` (a regex), newer than `after`."""
        pattern = re.compile(has)

        def ready() -> Message | None:
            found = [m for m in self.emulator.seen_by(user) if any(pattern.match(c) for c in m.enabled_ids())
                     and (after is None or m.id > after.id)]
            return found[-1] if found else None

        return await self.emulator.wait_for(ready)

    async def press(self, user: int, message: Message, has: str, values: list[str] | None = None) -> Interaction:
        """Click the first enabled component of `message` whose custom id matches `has`; wait for the answer."""
        custom_id = next((c for c in message.enabled_ids() if re.match(has, c)), None)
        assert custom_id is not None, f"no {has!r} on the message; it has {message.enabled_ids()}"
        await self._pace(user)
        versions = len(message.history)
        interaction = await self.emulator.answered(await self.emulator.click(user, message, custom_id, values))
        assert not interaction.errors, interaction.errors
        if interaction.response == 7:
            await self.emulator.wait_for(lambda: len(message.history) > versions)
        return interaction

    async def _pace(self, user: int) -> None:
        """Click no faster than a person can: the conversation refuses more than 5 clicks a second per person
        (`bot.chat.throttle`), and these tests are about what a person sees."""
        wait = self._last_press.get(user, 0.0) + PACE - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        self._last_press[user] = time.monotonic()

    async def onboard(self, user: int, campaign: str = CAMPAIGN) -> Message:
        """/crowdrank join, consent, confirm the suggested region, read the guidelines: returns the first card."""
        await self.emulator.answered(await self.emulator.slash(user, "crowdrank join", campaign=campaign))
        steps = await self.wait_message(user, r"consent:")
        await self.press(user, steps, r"consent:")
        confirm = next(c["custom_id"] for c in iter_components(steps.components) if c.get("label") == "Confirm region")
        await self.press(user, steps, re.escape(confirm) + "$")
        await self.press(user, steps, r"read:")
        return await self.wait_message(user, r"rank:")


SERVE = ["-m", "bot.cli", "serve", "--discord"]
PACE = 0.25  # seconds between one person's clicks


async def start_rig(db_url: str, home: Path) -> Rig:
    emulator = DiscordEmulator()
    await emulator.start()
    database = Database(db_url)
    await seed(database)
    await database.dispose()
    env = {"CROWDRANK_DATABASE_URL": db_url, "CROWDRANK_HOME": str(home)}
    log_path = home.parent / "bot.log"
    bot = await start_bot(emulator, SERVE, log_path, **env)
    return Rig(emulator, db_url, home, log_path, bot)


def order_of(message: Message) -> str:
    line = next((line for line in message.content.splitlines() if line.startswith("**Your order:**")), "")
    return line.removeprefix("**Your order:** ")
