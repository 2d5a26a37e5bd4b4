"""Building and running the reward model service: from a version name, `active` (followed as it changes) or a
folder, on uvicorn. `running(app)` serves on a free loopback port in a thread, for tests, benchmarks and a
notebook that wants the service beside its trainer."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from trainer.score import RewardModel
from trainer.serving.app import Service, create_app
from trainer.serving.batcher import Batcher
from trainer.serving.limits import Limits
from trainer.serving.versions import ServedModel


def build_service(model: str, *, home: Path, url: str, limits: Limits | None = None, max_rows: int = 128,
                  max_wait: float = 0.005, poll: float = 1.0, device: str | None = None) -> Service:
    """`model` is `active` (follow the registry's active version), a version name or a model folder."""
    loaded = RewardModel.load(model, home=home, url=url, device=device)
    return service_for(loaded, url=url, follow=model == "active", limits=limits, max_rows=max_rows,
                       max_wait=max_wait, poll=poll)


def service_for(model: RewardModel, *, url: str | None = None, follow: bool = False, limits: Limits | None = None,
                max_rows: int = 128, max_wait: float = 0.005, poll: float = 1.0) -> Service:
    """A service around a model already loaded (a notebook, a benchmark); `follow` needs the registry's `url`."""
    served = ServedModel(model, url=url, follow=follow, poll=poll, device=model.device)
    return Service(served, Batcher(served.current, max_rows=max_rows, max_wait=max_wait), limits or Limits())


def serve(service: Service, host: str, port: int) -> None:
    """Run until interrupted; the app logs one health line when it is ready."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(message)s")
    uvicorn.run(create_app(service), host=host, port=port, log_level="info")


@contextmanager
def running(app: FastAPI) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 at a free port in a background thread; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="reward-service")
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the reward model service did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
