"""Who is acting, as the platform tells it, and who may manage campaigns.

An adapter reports facts (ids, the platform's admin flag, roles, a time zone or locale) and the rule is decided
here: a manager is someone listed in the settings (Slack user ids, or a Discord role), or a platform admin
(Slack workspace admin or owner, Discord Manage Server).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.chat.catalog import N_
from bot.errors import NotAllowed

__all__ = ["Who", "Details", "Managers", "require_manager"]


@dataclass(frozen=True)
class Details:
    """What the platform knows of a person; fetched only when a step needs it (joining, manager commands)."""

    display_name: str | None = None
    suggested_region: str | None = None
    admin: bool = False
    roles: frozenset[str] = frozenset()
    tz: str | None = None  # an IANA zone, when the platform knows it: reminders keep to the person's quiet hours


async def _no_details() -> Details:
    return Details()


@dataclass(frozen=True)
class Who:
    platform: str
    workspace: str
    user_id: str
    locale: str | None = None
    details: Callable[[], Awaitable[Details]] = _no_details

    @property
    def key(self) -> tuple[str, str, str]:
        return self.platform, self.workspace, self.user_id


@dataclass(frozen=True)
class Managers:
    user_ids: frozenset[str] = frozenset()
    role: str | None = None


async def require_manager(who: Who, managers: Managers) -> None:
    if who.user_id in managers.user_ids:
        return
    details = await who.details()
    if details.admin or (managers.role is not None and managers.role in details.roles):
        return
    raise NotAllowed(N_("only campaign managers may do that (ask a workspace admin to add you)"))
