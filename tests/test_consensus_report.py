"""The report end to end on SQLite and PostgreSQL: files, summary keys, consensus rows, the hidden truth, the
contested items the planted crowd carries, HTML that is self-contained and escaped, and the CLI."""

from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import col, func, select
from typer.testing import CliRunner

from bot import campaigns
from bot.cli import app
from bot.consensus.report import REPORT_FILES, write_report
from bot.database import Database
from bot.errors import StateError
from bot.prompt_files import PromptRecord
from storage.migrate import upgrade
from storage.models import Consensus, Labeler
from tests.consensus_helpers import REGIONS, Planted, populate
from trainer.pairs import export_pairs

runner = CliRunner()
SUMMARY_KEYS = ("items", "rankings", "labelers", "pairwise_agreement", "kendall_w", "krippendorff_alpha", "regions",
                "region_matrix")


def write_truth(home: Path, planted: Planted) -> None:
    """The simulator's truth file format (notes/contracts.md) for the planted crowd."""
    path = home / "simulations" / f"{planted.campaign}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "campaign": planted.campaign, "seed": 0, "quality": {}, "region_taste": {},
        "labelers": {name: {"region": "West", "kind": kind, "noise": 0.5} for name, kind in planted.labelers.items()},
        "true_order": {str(i): planted.completion_ids[i] for i in planted.item_ids},
        "region_order": {}, "contested_items": planted.contested}), encoding="utf-8")


async def test_report_end_to_end(database: Database, tmp_path: Path) -> None:
    planted = await populate(database)
    home = tmp_path / "home"
    write_truth(home, planted)
    async with database.session() as session, session.begin():
        spam = [name for name, kind in planted.labelers.items() if kind != "honest"]
        await session.exec(update(Labeler).values(trust=0.9))  # type: ignore[call-overload]
        await session.exec(update(Labeler).where(col(Labeler.pseudonym).in_(spam))  # type: ignore[call-overload]
                           .values(trust=0.1))
    out = tmp_path / "report"
    page = await write_report(database, planted.campaign, out, n_boot=200, home=home)

    assert page == out / "report.html"
    assert sorted(p.name for p in out.iterdir()) == sorted(REPORT_FILES)
    summary = json.loads((out / "summary.json").read_text())
    for key in SUMMARY_KEYS:
        assert key in summary
    assert summary["rankings"] == len(planted.item_ids) * len(planted.labelers)
    assert summary["labelers"] == len(planted.labelers)
    assert set(summary["regions"]) == set(REGIONS)
    assert summary["regions"]["North"]["rankings"] == 0 and summary["regions"]["North"]["pairwise_agreement"] is None
    west_east = summary["region_matrix"]["West"]["East"]
    assert west_east < summary["regions"]["East"]["pairwise_agreement"]  # East disagrees on the planted items
    assert all(0 <= summary["regions"][region]["borrowing_weight"] <= 1 for region in ("West", "East"))
    with (out / "regions.csv").open() as handle:
        assert {row["region"]: row["borrowing_weight"] for row in csv.DictReader(handle)}["West"] != ""

    truth = summary["truth"]
    assert truth["spammers"]["precision"] == 1.0 and truth["spammers"]["recall"] == 1.0
    assert truth["recovery"]["bradley_terry"]["mean_tau"] > 0.5
    assert truth["contested"]["found_in_top"] == len(planted.contested)  # the report finds the planted items

    with (out / "items.csv").open() as handle:
        items = list(csv.DictReader(handle))
    by_score = sorted(items, key=lambda row: -float(row["contest_score"] or "-inf"))
    assert {int(row["item_id"]) for row in by_score[:len(planted.contested)]} == set(planted.contested)

    with (out / "labelers.csv").open() as handle:
        labelers = list(csv.DictReader(handle))
    assert {row["labeler"] for row in labelers} == set(planted.labelers)
    assert "user_id" not in labelers[0]  # pseudonymous by default

    html = page.read_text()
    assert html.count("data:image/png;base64,") >= 3
    assert "weight borrowed" in html and "pooled" in html
    assert "http://" not in html and "https://" not in html and "<script" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "Prompt &lt;b&gt;0&lt;/b&gt; &amp; friends" in html

    async with database.session() as session:
        rows = (await session.exec(select(Consensus.scope, Consensus.method, func.count())
                                   .group_by(col(Consensus.scope), col(Consensus.method)))).all()
        one = (await session.exec(select(Consensus).where(Consensus.scope == "all",
                                                          Consensus.method == "bradley_terry",
                                                          Consensus.item_id == planted.item_ids[-1]))).one()
    counts = {(scope, method): n for scope, method, n in rows}
    for method in ("bradley_terry", "borda", "ranked_pairs"):
        assert counts[("all", method)] == len(planted.item_ids)
        assert counts[("West", method)] == counts[("East", method)] == len(planted.item_ids)
        assert ("North", method) not in counts
    assert counts[("West", "bradley_terry_pooled")] == counts[("East", "bradley_terry_pooled")] == len(planted.item_ids)
    assert ("all", "bradley_terry_pooled") not in counts and ("North", "bradley_terry_pooled") not in counts
    assert one.best_first == planted.completion_ids[planted.item_ids[-1]]  # an uncontested item: the true order
    assert set(one.scores) == {str(c) for c in one.best_first} and one.n_rankings == len(planted.labelers)

    # the contract with trainer/: `crowdrank pairs --mode consensus` reads these rows, globally and per region
    exported = export_pairs(database.url, planted.campaign, tmp_path / "pairs.jsonl", mode="consensus")
    assert exported.pairs == len(planted.item_ids) * 6  # k = 4: six pairs per item
    east = export_pairs(database.url, planted.campaign, tmp_path / "east.jsonl", mode="consensus", scope="East",
                        method="ranked_pairs")
    assert east.pairs == len(planted.item_ids) * 6
    east_pooled = export_pairs(database.url, planted.campaign, tmp_path / "east-pooled.jsonl", mode="consensus",
                               scope="East", method="bradley_terry_pooled")
    assert east_pooled.pairs == len(planted.item_ids) * 6

    await write_report(database, planted.campaign, out, n_boot=50, home=home)  # a re-run replaces, never adds
    async with database.session() as session:
        total = (await session.exec(select(func.count()).select_from(Consensus))).one()
    assert total == sum(counts.values())


def test_cli_report_and_errors(home: Path, tmp_path: Path) -> None:
    home.mkdir(parents=True)
    url = f"sqlite:///{home / 'crowdrank.db'}"
    upgrade(url)

    async def fill() -> Planted:
        database = Database(url)
        try:
            return await populate(database, items=6, contested=1, per_region=2, undisclosed=1)
        finally:
            await database.dispose()

    planted = asyncio.run(fill())
    out = tmp_path / "cli-report"
    result = runner.invoke(app, ["report", planted.campaign, "--out", str(out), "--resamples", "50", "--identify"])
    assert result.exit_code == 0, result.output
    assert "pairwise agreement" in result.output and str(out / "report.html") in result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["rankings_without_region"] == 6  # "prefer not to say" counts overall, in no region
    assert set(summary["regions"]) == set(REGIONS) and summary["rankings"] == 6 * len(planted.labelers)
    with (out / "labelers.csv").open() as handle:
        assert {row["user_id"] for row in csv.DictReader(handle)} == {f"u{n}" for n in range(len(planted.labelers))}

    missing = runner.invoke(app, ["report", "no-such-campaign", "--out", str(out)])
    assert missing.exit_code == 2 and "no campaign named" in missing.output


async def test_campaign_without_rankings_is_a_state_error(database: Database, tmp_path: Path) -> None:
    spec = campaigns.CampaignSpec(name="quiet", criterion="helpfulness", k=2, votes=1, regions=["A"])
    async with database.session() as session:
        await campaigns.create_campaign(session, spec, [PromptRecord("p", "hello")])
    with pytest.raises(StateError, match="no rankings yet"):
        await write_report(database, "quiet", tmp_path / "out", home=tmp_path)
    assert not (tmp_path / "out").exists()
