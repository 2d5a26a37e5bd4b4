"""CPU per click by stage, sampled inside a `crowdrank serve` process over a window of a known number of clicks.

`python bench/click_profile.py --serve OUT serve --slack …` runs `crowdrank serve …` with a sampler that SIGUSR1
starts and SIGUSR2 stops (writing OUT, JSON), so start-up (imports, the first connections) stays out. `bench/load.py
--profile` does this over its saturation window.

Why sampling and not cProfile: cProfile's cost per call is charged to the code being measured, so call-heavy code
(Block Kit objects, SQLAlchemy's expression layer) looked several times costlier than it is; with a CPU-time timer it
was worse. Here a thread looks at every other thread's Python stack every INTERVAL; a sample goes to the stage of
the innermost frame that belongs to a known layer (so `re` called from the mrkdwn escaper counts as render); a
thread waiting (epoll, a lock, a work queue: `IDLE_AT`) is idle. The GIL switch interval is shortened while
sampling so the sampler can look in the middle of running code. The busy samples give each stage's share, and the
process's CPU time over the window (minus the sampler's own) gives the milliseconds. Worker threads
(`asyncio.to_thread`) are sampled too; SQLite's queries run on the loop below storage/inline_sqlite.py's frames.

    .venv/bin/python bench/click_profile.py OUT CLICKS      # print the table of a finished window
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

INTERVAL = 0.001  # seconds between samples
# (stage, path fragments): a frame belongs to the first stage with a fragment in its file name
# a thread whose innermost Python frame is one of these waits in C (epoll, a lock, a queue): idle, not CPU
IDLE_AT = (("selectors.py", ""), ("threading.py", ""), ("queue.py", ""), ("futures/thread.py", "_worker"))
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("HTTP server + signature check", ("uvicorn", "h11", "httptools", "slack_sdk/signature")),
    ("Web API call (chat.update, REST)", ("aiohttp", "slack_sdk/web", "yarl", "multidict", "discord/http",
                                          "bolt/context/respond", "slack_sdk/webhook")),
    ("Bolt / discord.py dispatch", ("slack_bolt", "discord/")),
    ("render (view model → Block Kit / embeds)", ("adapters/slack/blocks", "adapters/slack/mrkdwn",
                                                  "adapters/slack/replies", "slack_sdk/models", "bot/chat/cards",
                                                  "bot/chat/views", "adapters/discord/render", "bot/i18n",
                                                  "bot/chat/text", "babel")),
    ("DB (SQLAlchemy, driver, queries)", ("sqlalchemy", "sqlmodel", "psycopg", "sqlite3",
                                          "bot/ranking_session", "bot/card_loader", "bot/assignment", "storage/",
                                          "bot/unit_of_work", "bot/database", "bot/labelers", "greenlet")),
    ("conversation (bot/chat) and adapter glue", ("bot/", "adapters/")),
    ("event loop (asyncio)", ("asyncio/",)),
)
OTHER = "other"


def stage_of(frame: FrameType) -> str:
    code = frame.f_code
    if any(place in code.co_filename and function in code.co_name for place, function in IDLE_AT):
        return "idle"
    walk: FrameType | None = frame
    while walk is not None:
        for stage, fragments in STAGES:
            if any(fragment in walk.f_code.co_filename for fragment in fragments):
                return stage
        walk = walk.f_back
    return OTHER


class Sampler:
    def __init__(self, out: str) -> None:
        self.out = out
        self.counts: Counter[str] = Counter()
        self.places: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._cpu = 0.0
        self._own_cpu = 0.0

    def start(self) -> None:
        self.counts.clear()
        self.places.clear()
        self._stop.clear()
        self._cpu = time.process_time()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        cpu = time.process_time() - self._cpu - self._own_cpu
        Path(self.out).write_text(json.dumps({"cpu_seconds": cpu, "stages": self.counts,
                                              "places": dict(self.places.most_common(25))}))

    def _run(self) -> None:
        # the sampler needs the GIL to look: asking for it every 0.1 ms (default 5 ms) puts samples anywhere in
        # running code, not only where a thread happens to release the GIL (socket calls)
        switching = sys.getswitchinterval()
        sys.setswitchinterval(INTERVAL / 10)
        me, started = threading.get_ident(), time.thread_time()
        while not self._stop.wait(INTERVAL):
            for ident, frame in sys._current_frames().items():
                if ident == me:
                    continue
                stage = stage_of(frame)
                self.counts[stage] += 1
                if stage != "idle":
                    code = frame.f_code
                    self.places[f"{'/'.join(Path(code.co_filename).parts[-2:])}:{code.co_name}"] += 1
        self._own_cpu = time.thread_time() - started
        sys.setswitchinterval(switching)


def stage_table(out: Path, clicks: int) -> list[str]:
    """Lines: each stage's CPU per click (ms) and share of busy samples; the busiest innermost functions."""
    data: dict[str, Any] = json.loads(out.read_text())
    busy = {stage: n for stage, n in data["stages"].items() if stage != "idle"}
    total = sum(busy.values()) or 1
    per_click = 1000 * data["cpu_seconds"] / max(clicks, 1)
    lines = [f"  {'stage':<44} {'ms CPU/click':>12} {'share':>6}"]
    for stage, n in sorted(busy.items(), key=lambda kv: -kv[1]):
        lines.append(f"  {stage:<44} {per_click * n / total:12.2f} {n / total:6.1%}")
    lines.append(f"  {'all (process CPU over the window ÷ clicks)':<44} {per_click:12.2f}")
    lines.append("  busiest innermost functions (share of busy samples):")
    lines += [f"    {n / total:6.1%}  {place}" for place, n in list(data["places"].items())[:12]]
    return lines


def serve_profiled(out: str, argv: list[str]) -> None:
    """`crowdrank <argv>` with the sampler switched on by SIGUSR1 and off (and written to `out`) by SIGUSR2."""
    sampler = Sampler(out)
    signal.signal(signal.SIGUSR1, lambda *_: sampler.start())
    signal.signal(signal.SIGUSR2, lambda *_: sampler.stop())
    from bot.cli import main as crowdrank

    sys.argv = ["crowdrank", *argv]
    crowdrank()


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--serve":
        serve_profiled(sys.argv[2], sys.argv[3:])
        return
    if len(sys.argv) != 3:
        sys.exit("usage: bench/click_profile.py OUT CLICKS")
    print("\n".join(stage_table(Path(sys.argv[1]), int(sys.argv[2]))))


if __name__ == "__main__":
    main()
