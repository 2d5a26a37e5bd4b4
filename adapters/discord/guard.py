"""The gate in front of discord.py's INTERACTION_CREATE parser.

Why here: discord.py parses a gateway event inside its receive loop, so an exception while parsing (a missing
`user`, a string where an object belongs) leaves `Client.connect` and stops the bot; and a payload that parses can
still fail later in a handler, unanswered. `Guard` checks an interaction's shape and sizes before discord.py sees
it: a malformed one is dropped with one log line and, when its id and token are usable, answered with the chat
layer's one-line refusal (ephemeral). It never reaches the conversation, so nothing is stored. Whatever discord.py
still cannot parse is dropped the same way.
"""

from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
from collections.abc import Callable
from typing import Any

import discord
from discord.http import Route

from adapters.discord.render import draw
from bot.chat.actions import PATTERN
from bot.chat.views import Notice, Reply

__all__ = ["Guard", "Malformed", "check"]

log = logging.getLogger("crowdrank.discord")

SNOWFLAKE = re.compile(r"[0-9]{1,20}")
TOKEN = re.compile(r"[A-Za-z0-9._-]{1,500}")
TYPES = (2, 3, 4, 5)  # command, component, autocomplete, modal submit (a PING never comes over the gateway)
COMPONENTS = (2, 3)  # a button and a string select: the only components crowdrank sends
TEXT_INPUT = 4
AUTOCOMPLETE = 4
MAX_CUSTOM_ID = 100  # Discord's own limits
MAX_VALUES = 25
MAX_INPUT = 4000  # a text input's value
MAX_OPTION = 6000  # a string option
MAX_NAME = 100  # user names, nicks, locales, command and option names
MAX_CHARS = 100_000  # all strings of one interaction together: a card message with its embeds is ~10,000
MAX_DEPTH = 16
TEXT_CONTROLS = "\t\n\r"

Refusal = Callable[[str, str | None], Reply]  # (what is wrong, locale) → the chat layer's private refusal


class Malformed(ValueError):
    """One line saying what is wrong with an interaction."""


def check(data: Any) -> None:
    """Raise `Malformed` unless `data` is an interaction crowdrank can read safely."""
    if not isinstance(data, dict):
        raise Malformed("the interaction is not an object")
    _size(data, 0, [0])
    kind = data.get("type")
    if type(kind) is not int or kind not in TYPES:
        raise Malformed(f"unknown interaction type {kind!r:.40}")
    for key in ("id", "application_id"):
        _snowflake(data, key)
    for key in ("guild_id", "channel_id"):
        if data.get(key) is not None:
            _snowflake(data, key)
    if not isinstance(data.get("token"), str) or not TOKEN.fullmatch(data["token"]):
        raise Malformed("token is missing or not a token")
    if type(data.get("version")) is not int:
        raise Malformed("version is not a number")
    _text(data, "locale", MAX_NAME, required=False)
    _person(data)
    inner = data.get("data")
    if not isinstance(inner, dict):
        raise Malformed("data is not an object")
    if kind == 3:
        _component(inner, data.get("message"))
    elif kind == 5:
        _modal(inner)
    else:
        _text(inner, "name", MAX_NAME)
        _options(inner.get("options", []), 0)


def _size(value: Any, depth: int, total: list[int]) -> None:
    if depth > MAX_DEPTH:
        raise Malformed(f"nested deeper than {MAX_DEPTH}")
    if isinstance(value, str):
        total[0] += len(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            total[0] += len(key)
            _size(item, depth + 1, total)
    elif isinstance(value, list):
        for item in value:
            _size(item, depth + 1, total)
    if total[0] > MAX_CHARS:
        raise Malformed(f"more than {MAX_CHARS} characters")


def _snowflake(data: dict[str, Any], key: str, where: str = "") -> None:
    value = data.get(key)
    if not isinstance(value, str) or not SNOWFLAKE.fullmatch(value):
        raise Malformed(f"{where}{key} is not a Discord id")


def _text(data: dict[str, Any], key: str, limit: int, *, required: bool = True, empty: bool = False) -> None:
    value = data.get(key)
    if value is not None or required:
        _string(value, key, limit, empty=empty)


def _string(value: Any, name: str, limit: int, *, empty: bool = False) -> None:
    """Text of at most `limit` characters, without control characters (PostgreSQL refuses a NUL in text)."""
    if not isinstance(value, str):
        raise Malformed(f"{name} is not text")
    if len(value) > limit or (not value and not empty):
        raise Malformed(f"{name} has {len(value)} characters (1 to {limit})")
    if any(unicodedata.category(char) == "Cc" and char not in TEXT_CONTROLS for char in value):
        raise Malformed(f"{name} contains control characters")


def _person(data: dict[str, Any]) -> None:
    """A guild interaction names a member (with its user), a DM one a user."""
    member = data.get("member")
    if member is not None:
        if not isinstance(member, dict):
            raise Malformed("member is not an object")
        _text(member, "nick", MAX_NAME, required=False)
        roles = member.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(r, str) and SNOWFLAKE.fullmatch(r) for r in roles):
            raise Malformed("member.roles is not a list of ids")
        if not isinstance(member.get("permissions", "0"), str) or not str(member.get("permissions", "0")).isdigit():
            raise Malformed("member.permissions is not a number")
    user = member.get("user") if isinstance(member, dict) else data.get("user")
    if not isinstance(user, dict):
        raise Malformed("the interaction names no user")
    _snowflake(user, "id", "user.")
    _text(user, "username", MAX_NAME)
    _text(user, "global_name", MAX_NAME, required=False)


def _component(inner: dict[str, Any], message: Any) -> None:
    """A button or select on one of crowdrank's messages: the pressed component must be on that message."""
    _custom_id(inner)
    component_type = inner.get("component_type")
    if type(component_type) is not int or component_type not in COMPONENTS:
        raise Malformed(f"unknown component type {component_type!r:.40}")
    values = inner.get("values", [])
    if not isinstance(values, list) or len(values) > MAX_VALUES:
        raise Malformed(f"values is not a list of at most {MAX_VALUES}")
    for value in values:
        _string(value, "a selected value", MAX_CUSTOM_ID)
    if not isinstance(message, dict):
        raise Malformed("a component interaction without its message")
    _snowflake(message, "id", "message.")
    rows = message.get("components")
    shown = [(c.get("custom_id"), c.get("type")) for c in _children(rows)] if isinstance(rows, list) else []
    if (inner["custom_id"], component_type) not in shown:
        raise Malformed("the pressed component is not on its message")


def _children(rows: list[Any]) -> list[dict[str, Any]]:
    return [c for row in rows if isinstance(row, dict) and isinstance(row.get("components"), list)
            for c in row["components"] if isinstance(c, dict)]


def _modal(inner: dict[str, Any]) -> None:
    """The skip form: rows of text inputs with bounded, printable values."""
    _custom_id(inner)
    rows = inner.get("components")
    if not isinstance(rows, list) or not all(isinstance(r, dict) and isinstance(r.get("components"), list)
                                             for r in rows):
        raise Malformed("data.components is not a list of rows")
    for field in (field for row in rows for field in row["components"]):
        if not isinstance(field, dict) or field.get("type") != TEXT_INPUT:
            raise Malformed("a modal field is not a text input")
        _text(field, "custom_id", MAX_CUSTOM_ID)
        _text(field, "value", MAX_INPUT, empty=True)


def _custom_id(inner: dict[str, Any]) -> None:
    _text(inner, "custom_id", MAX_CUSTOM_ID)
    if not PATTERN.fullmatch(inner["custom_id"]):
        raise Malformed("custom_id is not a crowdrank action")


def _options(options: Any, depth: int) -> None:
    """A command's options: subcommands nest them, at most three levels deep."""
    if not isinstance(options, list) or len(options) > 25 or depth > 3:
        raise Malformed("options is not a list of at most 25")
    for option in options:
        if not isinstance(option, dict) or type(option.get("type")) is not int:
            raise Malformed("an option is not an object with a type")
        _text(option, "name", MAX_NAME)
        value = option.get("value")
        if isinstance(value, str):
            _text(option, "value", MAX_OPTION, empty=True)
        elif value is not None and not isinstance(value, int | float):
            raise Malformed("an option's value is not text or a number")
        if "options" in option:
            _options(option["options"], depth + 1)


class Guard:
    """Wraps the client's INTERACTION_CREATE parser (`install`); `refusal` is the chat layer's one-line answer."""

    def __init__(self, client: discord.Client, refusal: Refusal) -> None:
        self.client, self.refusal = client, refusal
        self._answers: set[asyncio.Task[None]] = set()

    def install(self) -> None:
        parsers = self.client._connection.parsers
        parse = parsers["INTERACTION_CREATE"]

        def guarded(data: Any) -> None:
            try:
                check(data)
                parse(data)
            except Exception as error:  # anything raised here would leave discord.py's receive loop
                problem = str(error) if isinstance(error, Malformed) else f"{type(error).__name__}: {error}"
                self.drop(data, problem[:200])

        parsers["INTERACTION_CREATE"] = guarded

    def drop(self, data: Any, problem: str) -> None:
        """One log line; the private refusal when the interaction's id and token allow an answer."""
        log.warning("dropped a malformed Discord interaction: %s", problem.replace("\n", " "))
        if not isinstance(data, dict):
            return
        ident, token, kind, locale = data.get("id"), data.get("token"), data.get("type"), data.get("locale")
        if not (isinstance(ident, str) and SNOWFLAKE.fullmatch(ident) and isinstance(token, str)
                and TOKEN.fullmatch(token) and type(kind) is int and kind in TYPES):
            return  # nothing Discord would take an answer for
        task = asyncio.ensure_future(self._refuse(ident, token, kind, problem,
                                                  locale if isinstance(locale, str) else None))
        self._answers.add(task)
        task.add_done_callback(self._answers.discard)

    async def _refuse(self, ident: str, token: str, kind: int, problem: str, locale: str | None) -> None:
        """An autocomplete is answered with no choices, anything else with the refusal only its sender sees."""
        view = self.refusal(problem, locale).view
        assert isinstance(view, Notice)
        (draft,) = draw(view)
        answer: dict[str, Any] = {"type": 8, "data": {"choices": []}} if kind == AUTOCOMPLETE else {
            "type": 4, "data": {"content": draft.content, "flags": discord.MessageFlags(ephemeral=True).value,
                                "allowed_mentions": {"parse": []}}}
        route = Route("POST", "/interactions/{interaction_id}/{interaction_token}/callback", interaction_id=ident,
                      interaction_token=token)
        try:
            await self.client.http.request(route, json=answer)
        except discord.HTTPException as error:  # e.g. an id and token Discord does not know
            log.warning("could not refuse a malformed interaction: %s", str(error).replace("\n", " "))
