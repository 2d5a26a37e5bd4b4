"""Labelers: idempotent registration, onboarding per campaign, new guidelines asked again, region changes that
keep past rankings' region, and forgetting a person while keeping their rankings pseudonymous."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from bot import labelers
from bot.assignment import next_card
from bot.campaigns import CampaignSpec, create_campaign
from bot.cli import app
from bot.commands.labeler import parse_identity
from bot.database import Database
from bot.errors import InputError, NotAllowed, NotFound, StateError
from bot.ranking_session import click, submit
from storage.models import Assignment, Item, Labeler, Ranking
from tests.engine_helpers import make_campaign, ready_labeler


async def test_registration_is_idempotent_and_keeps_the_pseudonym(database: Database) -> None:
    async with database.session() as session:
        first = await labelers.register_labeler(session, "slack", "T1", "U1", display_name="Ada")
        again = await labelers.register_labeler(session, "slack", "T1", "U1", suggested_region="Europe")
        other = await labelers.register_labeler(session, "discord", "T1", "U1")
    assert first.id == again.id != other.id
    assert again.pseudonym == first.pseudonym and again.display_name == "Ada"
    assert again.suggested_region == "Europe"


async def test_concurrent_registration_makes_one_labeler(database: Database) -> None:
    async def register() -> int:
        async with database.session() as session:
            return (await labelers.register_labeler(session, "slack", "T1", "U9")).id or 0

    ids = await asyncio.gather(*(register() for _ in range(4)))
    assert len(set(ids)) == 1


async def test_registration_rejects_unknown_platform(database: Database) -> None:
    async with database.session() as session:
        with pytest.raises(InputError, match="platform"):
            await labelers.register_labeler(session, "irc", "T1", "U1")


async def test_onboarding_steps_then_complete(database: Database) -> None:
    await make_campaign(database)
    async with database.session() as session:
        lab = await labelers.register_labeler(session, "slack", "T1", "U1", suggested_region="Africa")
        state = await labelers.onboarding(session, lab.id, "camp")
        assert (state.needs_consent, state.needs_region, state.needs_guidelines, state.complete) == (
            True, True, True, False)
        assert state.region_choices == ("Africa", "Europe", labelers.PREFER_NOT_TO_SAY)
        assert state.suggested_region == "Africa" and state.guidelines == "Rank by help."
        with pytest.raises(StateError, match="consent, region, guidelines"):
            await next_card(session, lab.id, "camp")
        await labelers.give_consent(session, lab.id)
        with pytest.raises(InputError, match="unknown region"):
            await labelers.choose_region(session, lab.id, "camp", "Mars")
        state = await labelers.choose_region(session, lab.id, "camp", labelers.PREFER_NOT_TO_SAY)
        assert not state.needs_region and state.needs_guidelines
        with pytest.raises(StateError, match="version 1"):
            await labelers.acknowledge_guidelines(session, lab.id, "camp", 0)
        state = await labelers.acknowledge_guidelines(session, lab.id, "camp", state.guidelines_version)
        assert state.complete
        assert await next_card(session, lab.id, "camp") is not None


async def test_new_guidelines_version_asks_again(database: Database) -> None:
    await make_campaign(database)
    lab = await ready_labeler(database)
    spec = CampaignSpec(name="camp", criterion="helpfulness", k=3, votes=2, regions=["Africa", "Europe"],
                        guidelines="Rank by help. New: flag anything unsafe.")
    async with database.session() as session:
        await create_campaign(session, spec, [])
        state = await labelers.onboarding(session, lab, "camp")
        assert state.needs_guidelines and not state.needs_consent and state.guidelines_version == 2
        with pytest.raises(StateError, match="guidelines"):
            await next_card(session, lab, "camp")
        await labelers.acknowledge_guidelines(session, lab, "camp", 2)
        assert (await labelers.onboarding(session, lab, "camp")).complete


async def test_guidelines_are_acknowledged_per_campaign(database: Database) -> None:
    await make_campaign(database, "one")
    await make_campaign(database, "two")
    lab = await ready_labeler(database, "one")
    async with database.session() as session:
        state = await labelers.onboarding(session, lab, "two")
    assert state.needs_guidelines and not state.needs_consent and not state.needs_region


async def _rank_one(database: Database, lab: int) -> int:
    async with database.session() as session:
        card = await next_card(session, lab, "camp")
        assert card is not None
        await click(session, card.assignment_id, lab, 0)
        await click(session, card.assignment_id, lab, 1)
        return (await submit(session, card.assignment_id, lab)).ranking_id


async def test_region_change_keeps_past_rankings_region(database: Database) -> None:
    await make_campaign(database)
    lab = await ready_labeler(database, region="Africa")
    first = await _rank_one(database, lab)
    async with database.session() as session:
        await labelers.choose_region(session, lab, "camp", "Europe")
    second = await _rank_one(database, lab)
    async with database.session() as session:
        regions = {r.id: r.region for r in (await session.exec(select(Ranking))).all()}
    assert regions == {first: "Africa", second: "Europe"}


async def test_forget_removes_personal_data_and_keeps_rankings(database: Database) -> None:
    await make_campaign(database)
    lab = await ready_labeler(database, user="U77")
    ranking = await _rank_one(database, lab)
    async with database.session() as session:
        card = await next_card(session, lab, "camp")  # an open card: its slot must come back
        assert card is not None
        forgotten = await labelers.forget_labeler(session, "slack", "W1", "U77")
        assert forgotten.status == "forgotten" and forgotten.user_id.startswith("forgotten-")
    async with database.session() as session:
        row = await session.get(Labeler, lab)
        assert row is not None
        assert (row.display_name, row.region, row.suggested_region, row.consent_at) == (None, None, None, None)
        kept = await session.get(Ranking, ranking)
        assert kept is not None and kept.labeler_id == lab and kept.region == "Africa"
        held = await session.get(Assignment, card.assignment_id)
        assert held is not None and held.state == "expired"
        assert sum(i.leased for i in (await session.exec(select(Item))).all()) == 0
    async with database.session() as session:
        with pytest.raises(NotAllowed, match="forgotten"):
            await next_card(session, lab, "camp")
        with pytest.raises(NotFound):
            await labelers.forget_labeler(session, "slack", "W1", "U77")
        again = await labelers.register_labeler(session, "slack", "W1", "U77")  # a fresh start, not the old one
        assert again.id != lab


def test_parse_identity() -> None:
    assert parse_identity("slack:T1:U:2") == ("slack", "T1", "U:2")
    with pytest.raises(InputError, match="PLATFORM:WORKSPACE:USER"):
        parse_identity("slack:T1")


def test_cli_forget_and_list(home: Path) -> None:
    runner = CliRunner()

    async def setup() -> None:
        database = Database.from_settings()
        database.upgrade()
        await make_campaign(database)
        labs = [await ready_labeler(database, user=f"U{i}") for i in range(3)]
        for _ in range(3):
            for lab in labs:
                await _rank_one(database, lab)
        await database.dispose()

    asyncio.run(setup())
    listed = runner.invoke(app, ["labeler", "list", "camp"])
    assert listed.exit_code == 0, listed.output
    assert "trust" in listed.stdout and "of 3 labelers under trust 0.5" in listed.stdout
    forgot = runner.invoke(app, ["labeler", "forget", "slack:W1:U1"])
    assert forgot.exit_code == 0, forgot.output
    assert "rankings kept as lab_" in forgot.stdout
    missing = runner.invoke(app, ["labeler", "forget", "slack:W1:U1"])
    assert missing.exit_code == 2 and "no labeler" in missing.output
    bad = runner.invoke(app, ["labeler", "forget", "nonsense"])
    assert bad.exit_code == 2
