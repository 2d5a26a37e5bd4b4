"""The message catalog: every text a labeler or manager reads comes from it, so a translation is a file someone
adds. Checked under a pseudo-locale (every catalog text marked ⟦…⟧) over every example view and a whole
conversation, and against the extracted template `bot/chat/locale/crowdrank.pot`."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.chat import catalog
from bot.chat.catalog import PSEUDO, _, use_locale
from bot.chat.examples import REGIONS, example_views
from bot.chat.text import Text
from bot.chat.views import Limits, Reply
from bot.database import Database
from tests.test_chat_conversation import onboard, person, setup

ROOT = Path(__file__).resolve().parents[1]
POT = ROOT / "bot" / "chat" / "locale" / "crowdrank.pot"
# what a person reads that is not ours to translate: names, campaign data, identifiers
NAMES = ["hot-house", "kind-words", "heat", "helpfulness", "harmlessness", "crowdrank", "prefer not to say",
         *REGIONS, "UTC"]


def texts_in(view: object) -> Iterator[Text]:
    """Every `Text` a view holds, however deep (controls, options, choices)."""
    if isinstance(view, Text):
        yield view
    elif dataclasses.is_dataclass(view):
        for field in dataclasses.fields(view):
            yield from texts_in(getattr(view, field.name))
    elif isinstance(view, tuple | list):
        for item in view:
            yield from texts_in(item)


def unmarked(text: Text) -> str:
    """What is left of the visible text once catalog marks, names, letters, numbers and symbols are removed."""
    visible = text.plain()
    while (stripped := re.sub(r"⟦[^⟦⟧]*⟧", "", visible)) != visible:
        visible = stripped
    for name in NAMES:
        visible = visible.replace(name, "")
    visible = re.sub(r"\blab_[0-9a-f]+\b|\b[A-I]\b|\d+", "", visible)  # pseudonyms, choice letters, figures
    return re.sub(r"[\W_]+", "", visible)


def msgids() -> set[str]:
    with POT.open("rb") as handle:
        return {message.id for message in read_po(handle) if message.id}


def test_the_shipped_template_is_what_extraction_makes_today(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", str(ROOT / "babel.cfg"),
                    "-k", "_", "-k", "N_", "--no-location", "--omit-header", "--sort-output", "-o", str(fresh),
                    str(ROOT / "bot")], check=True, capture_output=True)
    with fresh.open("rb") as handle:
        assert {m.id for m in read_po(handle) if m.id} == msgids(), "run `make catalog` and commit the .pot"


def test_every_example_view_is_marked_under_the_pseudo_locale() -> None:
    with use_locale(PSEUDO):
        views = example_views(Limits(2800))
    leaks = {name: unmarked(text) for name, view in views.items() for text in texts_in(view) if unmarked(text)}
    assert leaks == {}


async def test_a_whole_conversation_is_marked_and_comes_from_the_catalog(database: Database) -> None:
    conversation = await setup(database)
    replies: list[Reply] = []
    ana = person("UANA")
    card = await onboard(conversation, ana)
    for value in (f"rank:{card.card_id}:1", f"rank:{card.card_id}:1", f"tie:{card.card_id}", f"undo:{card.card_id}",
                  f"flag:{card.card_id}:0:harmful", f"full:{card.card_id}", f"guidelines:{card.card_id}",
                  f"skip:{card.card_id}", f"rank:{card.card_id}:0", f"submit:{card.card_id}", "rank:１:0"):
        replies += await conversation.press(ana, value)
    replies += await conversation.press(person("UEVE"), f"undo:{card.card_id}")
    for words in (["help"], ["rank", "nope"], ["status"], ["x" * 3000], ["forget"]):
        replies += await conversation.command(ana, words)
        replies += await conversation.command(person("UBOSS"), words)
    shown = [text for reply in replies for text in texts_in(reply.view)]
    known = msgids()
    placeholders = re.compile(r"^(\{\w+\})+$")
    assert [t.template for t in shown if not placeholders.match(t.template) and t.template not in known] == []

    pseudo = dataclasses.replace(ana, locale=PSEUDO)
    marked = await conversation.press(pseudo, f"undo:{card.card_id}") + await conversation.command(pseudo, ["help"])
    assert [unmarked(text) for reply in marked for text in texts_in(reply.view) if unmarked(text)] == []


def test_a_translation_is_a_file_someone_adds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    french = Catalog(locale="fr", domain=catalog.DOMAIN)
    french.add("Next card", "Carte suivante")
    folder = tmp_path / "fr" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / f"{catalog.DOMAIN}.mo").open("wb") as handle:
        write_mo(handle, french)
    monkeypatch.setattr(catalog, "LOCALE_DIR", tmp_path)
    catalog._translations.cache_clear()
    try:
        with use_locale("fr"):
            assert _("Next card").plain() == "Carte suivante"
            assert _("Skip").plain() == "Skip"  # not translated yet: English
        with use_locale("fr-CA"):  # Discord's locale names a region: its language's file serves it
            assert _("Next card").plain() == "Carte suivante"
        with use_locale("pt-BR"):  # no file for the language: English, no error
            assert _("Next card").plain() == "Next card"
    finally:
        catalog._translations.cache_clear()
