"""CPU per click by stage, from a cProfile of a `crowdrank serve` process over a window of a known number of clicks.

`python bench/click_profile.py --serve PROFILE serve --slack …` runs `crowdrank serve …` with a profiler that
SIGUSR1 starts and SIGUSR2 stops and writes to PROFILE, so start-up (imports, the first connections) stays out.

Each function's own time (tottime) goes to the stage its source file belongs to, so a stage's figure is CPU spent
in that layer's code, not in what it calls. cProfile sees the event loop's thread only: on SQLite the queries run in
aiosqlite's thread and are missing here, so `bench/load.py --profile` profiles the PostgreSQL scenario, whose
driver (psycopg async) runs on the loop.

    .venv/bin/python bench/click_profile.py PROFILE CLICKS
"""

from __future__ import annotations

import cProfile
import pstats
import signal
import sys
from pathlib import Path
from typing import Any

# (stage, path fragments): the first stage whose fragment is in a function's file wins
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("HTTP + signature", ("uvicorn", "h11", "httptools", "slack_sdk/signature", "urllib/parse", "email/")),
    ("Web API call (chat.update)", ("aiohttp", "slack_sdk/web", "yarl", "multidict", "discord/http")),
    ("Bolt", ("slack_bolt",)),
    ("render", ("adapters/slack/blocks", "adapters/slack/mrkdwn", "adapters/slack/replies", "slack_sdk/models",
                "bot/chat/cards", "bot/chat/views", "adapters/discord/render", "bot/i18n", "babel", "gettext")),
    ("DB (SQLAlchemy, driver, storage)", ("sqlalchemy", "sqlmodel", "psycopg", "aiosqlite", "sqlite3",
                                         "bot/ranking_session", "bot/card_loader", "bot/assignment", "storage/",
                                         "bot/unit_of_work", "bot/database", "bot/labelers", "greenlet")),
    ("conversation (bot/chat, bot/)", ("bot/chat", "bot/", "adapters/")),
    ("JSON", ("json/",)),
    ("event loop (asyncio, selectors)", ("asyncio", "selectors", "uvloop")),
)
IDLE = "'poll' of 'select.epoll'"  # the loop waiting for work: not CPU
OTHER = "other (logging, typing, stdlib)"


def stage_of(filename: str, function: str) -> str:
    where = filename if filename != "~" else function  # C functions are listed as ("~", 0, "<built-in …>")
    if IDLE in where:
        return "idle"
    for stage, fragments in STAGES:
        if any(fragment in where for fragment in fragments):
            return stage
    return OTHER


def stage_table(profile: Path, clicks: int) -> list[str]:
    """Lines: each stage's CPU per click (ms) and share; the top functions by own time."""
    stats = pstats.Stats(str(profile))
    totals: dict[str, float] = {}
    functions = []
    for (filename, line, function), (_calls, _n, tottime, _cum, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        stage = stage_of(filename, function)
        totals[stage] = totals.get(stage, 0.0) + tottime
        functions.append((tottime, f"{Path(filename).name}:{line}({function})", stage))
    whole = sum(seconds for stage, seconds in totals.items() if stage != "idle")
    lines = [f"  {'stage':<36} {'ms CPU/click':>12} {'share':>6}"]
    for stage, seconds in sorted(totals.items(), key=lambda kv: -kv[1]):
        if stage == "idle":
            continue
        lines.append(f"  {stage:<36} {1000 * seconds / max(clicks, 1):12.2f} {seconds / whole:6.1%}")
    lines.append(f"  {'total (waiting in epoll excluded)':<36} {1000 * whole / max(clicks, 1):12.2f}")
    lines.append("  top functions by own time (ms per click):")
    for tottime, name, stage in sorted((f for f in functions if f[2] != "idle"), reverse=True)[:15]:
        lines.append(f"    {1000 * tottime / max(clicks, 1):7.3f}  {name}  [{stage}]")
    return lines


def serve_profiled(out: str, argv: list[str]) -> None:
    """`crowdrank <argv>` with the profiler switched by SIGUSR1 (on) and SIGUSR2 (off, and written to `out`)."""
    profiler = cProfile.Profile()

    def switch(number: int, _frame: Any) -> None:
        if number == signal.SIGUSR1:
            profiler.enable()
        else:
            profiler.disable()
            profiler.dump_stats(out)

    signal.signal(signal.SIGUSR1, switch)
    signal.signal(signal.SIGUSR2, switch)
    from bot.cli import main as crowdrank

    sys.argv = ["crowdrank", *argv]
    crowdrank()


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--serve":
        serve_profiled(sys.argv[2], sys.argv[3:])
        return
    if len(sys.argv) != 3:
        sys.exit("usage: bench/click_profile.py PROFILE CLICKS")
    print("\n".join(stage_table(Path(sys.argv[1]), int(sys.argv[2]))))


if __name__ == "__main__":
    main()
