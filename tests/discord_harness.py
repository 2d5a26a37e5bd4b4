"""The end-to-end rig for Discord: the emulator in the test process and the real discord.py client in its own
process (a subprocess, as `crowdrank serve --discord` runs), pointed at the emulator through DISCORD_API_BASE and
DISCORD_GATEWAY_URL. Its output goes to a log file that a failing test prints.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.discord_emulator import DiscordEmulator

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
    earlier processes) and synced its commands if it has any."""
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
