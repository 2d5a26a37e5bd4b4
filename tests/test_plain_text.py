"""Size caps and control characters on every stored name and text: one line saying what is wrong, the same on both
databases (a NUL used to be a DataError on PostgreSQL only), and no row created."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import func, select

from bot import campaigns, labelers
from bot.database import Database
from bot.errors import InputError
from bot.plain_text import CAMPAIGN_NAME, CRITERION, DISPLAY_NAME, check_name, check_text, clean_display_name
from bot.prompt_files import PromptRecord, read_completions, read_prompts
from storage.models import Campaign, Labeler, Prompt
from tests.test_chat_conversation import onboard, person, setup, texts

PROMPTS = [PromptRecord(external_id="p0", text="Too hot?")]


def spec(**changes: object) -> campaigns.CampaignSpec:
    values: dict = {"name": "heat", "criterion": "helpfulness", "k": 2, "votes": 1, "regions": ["Europe"]}
    return campaigns.CampaignSpec(**{**values, **changes})


async def count(database: Database, table: type) -> int:
    async with database.session() as session:
        return int((await session.exec(select(func.count()).select_from(table))).one())


@pytest.mark.parametrize(("changes", "says"), [
    ({"name": "he\x00at"}, "campaign name contains control characters"),
    ({"name": "two\nlines"}, "campaign name contains control characters"),
    ({"name": "x" * (CAMPAIGN_NAME + 1)}, "campaign name is too long (101 characters; at most 100)"),
    ({"criterion": "helpful\x00ness"}, "criterion contains control characters"),
    ({"criterion": "y" * (CRITERION + 1)}, "criterion is too long"),
    ({"regions": ["Eu\x00rope"]}, "region contains control characters"),
    ({"guidelines": "Read \ud800 this"}, "guidelines contains control characters"),
    ({"announcement_channel": "slack:\x07C1"}, "announcement channel contains control characters"),
])
async def test_a_campaign_with_bad_text_is_refused_with_one_line_and_no_row(
        database: Database, changes: dict, says: str) -> None:
    with pytest.raises(InputError) as refused:
        async with database.session() as session:
            await campaigns.create_campaign(session, spec(**changes), PROMPTS)
    assert says in str(refused.value) and "\n" not in str(refused.value)
    assert await count(database, Campaign) == 0 and await count(database, Prompt) == 0


async def test_names_at_their_limit_and_multi_line_texts_are_stored(database: Database) -> None:
    name = "n" * CAMPAIGN_NAME
    async with database.session() as session:
        await campaigns.create_campaign(session, spec(name=name, criterion="line one\n\tline two"), PROMPTS)
    async with database.session() as session:
        assert (await campaigns.get_campaign(session, name)).criterion == "line one\n\tline two"


@pytest.mark.parametrize(("line", "says"), [
    ({"id": "i" * 201, "prompt": "hi"}, "id is too long (201 characters; at most 200)"),
    ({"id": "a\x00b", "prompt": "hi"}, "id contains control characters"),
    ({"prompt": "hi\x00there"}, "prompt contains control characters"),
])
def test_a_prompt_file_with_bad_text_names_file_line_and_field(tmp_path: Path, line: dict, says: str) -> None:
    path = tmp_path / "prompts.jsonl"
    path.write_text(json.dumps({"prompt": "fine"}) + "\n" + json.dumps(line) + "\n")
    with pytest.raises(InputError) as refused:
        read_prompts(path)
    assert str(refused.value).startswith(f"{path}:2 field ") and says in str(refused.value)


def test_a_completion_file_with_a_nul_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "completions.jsonl"
    path.write_text(json.dumps({"prompt_id": "p0", "completions": ["a", "b\x00"]}) + "\n")
    with pytest.raises(InputError, match="field 'completions': completion contains control characters"):
        read_completions(path, 2)


@pytest.mark.parametrize(("workspace", "user"), [("T1", "U\x00"), ("T" * 101, "U1"), ("T1", "U\ud800")])
async def test_tampered_chat_ids_are_refused_before_any_query(database: Database, workspace: str, user: str) -> None:
    async with database.session() as session:
        with pytest.raises(InputError):
            await labelers.find_labeler(session, "slack", workspace, user)
    async with database.session() as session:
        with pytest.raises(InputError):
            await labelers.register_labeler(session, "slack", workspace, user)
    assert await count(database, Labeler) == 0


async def test_a_display_name_from_the_platform_is_cleaned_and_cut(database: Database) -> None:
    async with database.session() as session:
        labeler = await labelers.register_labeler(session, "slack", "T1", "U1",
                                                  display_name="  Ana\x00\x1b[31m\n Lima " + "z" * 500)
    assert labeler.display_name is not None and labeler.display_name.startswith("Ana [31m Lima z")
    assert len(labeler.display_name) == DISPLAY_NAME


async def test_in_chat_a_nul_in_a_skip_reason_or_a_huge_delivery_id_is_refused(database: Database) -> None:
    conversation = await setup(database)
    ana = person("UANA")
    card = await onboard(conversation, ana)
    reason = await conversation.form(ana, f"skip:{card.card_id}", "no\x00idea")
    assert "the reason contains control characters" in texts(reason)
    huge = await conversation.press(ana, f"rank:{card.card_id}:0", delivery="d" * 201)
    assert "delivery id is too long" in texts(huge)
    stranger = await conversation.press(person("U\x00X"), f"rank:{card.card_id}:0")
    assert "user id contains control characters" in texts(stranger)
    assert await count(database, Labeler) == 1


@settings(derandomize=True, deadline=None, max_examples=60,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_a_checked_name_is_either_refused_or_plain_and_short(name: str) -> None:
    try:
        kept = check_name(name, "name", CAMPAIGN_NAME)
    except InputError:
        return
    assert kept == name and len(name) <= CAMPAIGN_NAME
    assert not any(unicodedata.category(char) in ("Cc", "Cs") for char in name)
    assert check_text(name, "name", CAMPAIGN_NAME) == name  # a name is also a valid text


@settings(derandomize=True, deadline=None, max_examples=60,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.text(max_size=600))
def test_a_cleaned_display_name_always_passes_the_name_check(name: str) -> None:
    cleaned = clean_display_name(name)
    assert cleaned is None or check_name(cleaned, "display name", DISPLAY_NAME) == cleaned
