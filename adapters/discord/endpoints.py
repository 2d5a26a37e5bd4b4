"""Where discord.py connects: its REST base (`Route.BASE`) and the gateway it opens first
(`DiscordWebSocket.DEFAULT_GATEWAY`; READY's `resume_gateway_url` is used for resumes after that).

discord.py reads both from class attributes, so this sets them once per process, before the client logs in.
"""

from __future__ import annotations

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

__all__ = ["point_at"]


def point_at(api_base: str | None, gateway_url: str | None) -> None:
    """Use `api_base` (e.g. `http://127.0.0.1:8080/api/v10`) and `gateway_url` (`ws://…/gateway`) when given."""
    if api_base:
        Route.BASE = api_base.rstrip("/")
    if gateway_url:
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
