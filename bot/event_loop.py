"""The event loop a serving process runs on: uvloop's where it is installed (Linux and macOS), asyncio's otherwise.

A click is a few dozen trips through the loop (the HTTP request, each database round trip, the card update), and
the loop's own work was a tenth to a fifth of a click's CPU under `bench/load.py`; uvloop does the same work in C.
The baselines the load bench compares against (a bare Bolt app, a bare discord.py client) run on this loop too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["run"]


def run(work: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(work)` on the fastest loop available."""
    try:
        import uvloop
    except ImportError:  # Windows: uvloop does not build there
        return asyncio.run(work)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(work)
