"""CPU-heavy job work (training, consensus) in a fresh worker process, never on the event loop answering clicks.

One process per run (spawned: the bot has an event loop and database threads a fork would copy), scheduled
SCHED_IDLE (it gets a core only when the bot does not want it), kept off the first core and with one thread fewer
than the machine has cores, so a training slows clicks as little as possible (bench/serve_while_training.py:
p99 ratio 1.6–2.7× without the core affinity, 1.2–1.4× with it when the shared 2-core machine was quiet).
A fresh process also means a crash — a segfault, the OOM killer — is one failed run with its exit code, and
cancelling a run (the bot stops) kills it.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import multiprocessing
import os
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from bot.errors import CrowdrankError

POLL_SECONDS = 0.1

__all__ = ["WorkerFailed", "run_in_worker"]
log = logging.getLogger("crowdrank.jobs")


class WorkerFailed(CrowdrankError):
    """The work raised, or its process died; the message is the one-line reason."""


def _child(send: Connection, target: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    _yield_to_the_bot()  # before the work's modules load: numpy and torch size their thread pools on import
    try:
        module, _, name = target.partition(":")
        outcome = (True, getattr(importlib.import_module(module), name)(*args, **kwargs))
    except CrowdrankError as error:  # the user's one line, no traceback
        outcome = (False, str(error))
    except Exception as error:  # a bug: the whole traceback in the log, one line in the result
        traceback.print_exc()
        outcome = (False, f"{type(error).__name__}: {error}")
    send.send(outcome)
    send.close()


def _yield_to_the_bot() -> None:
    """Lowest CPU priority, and one core left free for the threads of OpenMP (torch) and OpenBLAS (numpy)."""
    threads = str(max(1, (os.cpu_count() or 1) - 1))
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(name, threads)
    if hasattr(os, "sched_setscheduler"):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) > 1:  # keep off the first core, so the bot's caches there stay warm
            os.sched_setaffinity(0, cpus[1:])
    else:  # not Linux
        os.nice(19)


async def run_in_worker(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`function(*args, **kwargs)` in a new process; its result, or `WorkerFailed`. `function` is a module-level
    function, sent by name so that its imports happen after the worker lowered its priority; the arguments and the
    result must be picklable."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    target = f"{function.__module__}:{function.__qualname__}"
    process = context.Process(target=_child, args=(send, target, args, kwargs), daemon=True)
    process.start()
    send.close()
    try:
        while not receive.poll():
            if not process.is_alive() and not receive.poll():
                raise WorkerFailed(f"the worker process died (exit code {process.exitcode})")
            await asyncio.sleep(POLL_SECONDS)
        ok, value = receive.recv()
    except EOFError as error:
        raise WorkerFailed(f"the worker process died (exit code {process.exitcode})") from error
    finally:
        if process.is_alive():
            process.kill()  # cancelled: the bot is stopping, the work is abandoned
        await asyncio.to_thread(process.join)
        receive.close()
    if not ok:
        raise WorkerFailed(value)
    return value
