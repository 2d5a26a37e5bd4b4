"""Quiet hours: when nobody is nudged. A window is `start-end` in whole hours (`22-8`: 22:00 until 08:00), read in
an IANA time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import InputError

OWN_NIGHT = (22, 8)  # in a labeler's own zone

__all__ = ["OWN_NIGHT", "parse_quiet_hours", "zone", "check_zone", "quiet"]


def parse_quiet_hours(value: str) -> tuple[int, int]:
    """`"22-8"` → (22, 8), or one line saying why not."""
    start, sep, end = value.partition("-")
    if not (sep and start.strip().isdigit() and end.strip().isdigit()) or not (
            0 <= int(start) <= 23 and 0 <= int(end) <= 23):
        raise InputError(f"quiet hours must look like 22-8 (hours 0-23), got {value!r}", field="quiet-hours")
    return int(start), int(end)


def zone(name: str | None) -> ZoneInfo | None:
    """The IANA zone of that name, or None when there is none or it is unknown."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long to be a file name
        return None


def check_zone(name: str, field: str) -> ZoneInfo:
    found = zone(name)
    if found is None:
        raise InputError(f"unknown time zone {name!r} (an IANA name such as Europe/Paris)", field=field)
    return found


def quiet(now: datetime, where: ZoneInfo, window: tuple[int, int]) -> bool:
    hour = now.astimezone(where).hour
    start, end = window
    return (hour >= start or hour < end) if start > end else start <= hour < end
