"""A tqdm progress bar driven by the `on_start(total)` / `on_batch(done)` callbacks that long services take,
so the services themselves stay free of terminal output."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tqdm import tqdm

Callbacks = tuple[Callable[[int], None], Callable[[int], None]]


@contextmanager
def progress_bar(description: str, unit: str) -> Iterator[Callbacks]:
    """`(on_start, on_batch)` for one bar on stderr; no bar at all when there is nothing to do."""
    bars: list[tqdm] = []

    def on_start(total: int) -> None:
        if total:
            bars.append(tqdm(total=total, unit=unit, desc=description, dynamic_ncols=True))

    def on_batch(done: int) -> None:
        if bars:
            bars[0].update(done)

    try:
        yield on_start, on_batch
    finally:
        for bar in bars:
            bar.close()
