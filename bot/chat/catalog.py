"""The message catalog: every text a labeler or manager reads goes through `_()` here (gettext, extracted with
Babel: `pybabel extract -F babel.cfg -k _ -k N_ -o bot/chat/locale/crowdrank.pot bot`).

A translation is a file someone adds (`bot/chat/locale/<lang>/LC_MESSAGES/crowdrank.mo`), never a code change.
English is the source language, so it needs no file. `PSEUDO` marks every catalog text (⟦…⟧), which lets a test
find visible text that bypassed the catalog.
"""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

from bot.chat.text import Text, Value
from bot.errors import CrowdrankError
from bot.i18n import N_

__all__ = ["_", "N_", "gettext_", "error_text", "use_locale", "PSEUDO", "DOMAIN", "LOCALE_DIR"]

DOMAIN = "crowdrank"
LOCALE_DIR = Path(__file__).parent / "locale"
PSEUDO = "x-pseudo"


class _Pseudo(gettext.NullTranslations):
    """Wraps each text in ⟦…⟧: what a translated text would look like, without a translator."""

    def gettext(self, message: str) -> str:
        return f"⟦{message}⟧"


@lru_cache(maxsize=32)
def _translations(locale: str | None) -> gettext.NullTranslations:
    if locale == PSEUDO:
        return _Pseudo()
    if not locale:
        return gettext.NullTranslations()
    # "pt-BR" (Discord) and "pt_BR" (gettext) name the same catalog; a missing one falls back to English
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[locale.replace("-", "_")], fallback=True)


_locale: ContextVar[str | None] = ContextVar("crowdrank_locale", default=None)


@contextmanager
def use_locale(locale: str | None) -> Iterator[None]:
    """Texts built inside come from `locale`'s catalog (the labeler's language, when a platform tells it)."""
    token = _locale.set(locale)
    try:
        yield
    finally:
        _locale.reset(token)


def gettext_(message: str) -> str:
    """The translated template, for places that need a bare string."""
    return _translations(_locale.get()).gettext(message)


def _(message: str, **values: Value) -> Text:
    """A catalog text with its values kept apart (adapters escape them): `_("Thanks, **{name}**", name=...)`."""
    return Text(gettext_(message), values)


def error_text(error: CrowdrankError) -> Text:
    """What a refusal says: the error's catalog template, translated, with its values kept apart (no field names,
    no file positions: those are for the command line)."""
    return Text(gettext_(error.template), error.values)
