"""The report on the simulated crowd (bot/simulator.py): it finds the contested items the simulator planted and
the consensus recovers the hidden true order. (An honest crowd: spammers only add noise to the regional signal;
the report's spammer figures are tested on the planted crowd in test_consensus_report.py.)"""

from __future__ import annotations

import json
import random
from pathlib import Path

from bot.consensus.report import write_report
from bot.database import Database
from bot.simulator import simulate
from tests.engine_helpers import make_campaign


async def test_report_finds_the_planted_contested_items(sqlite_url: str, tmp_path: Path) -> None:
    database = Database(sqlite_url)
    try:
        random.seed(0)  # items' shuffle keys come from `random`: fixed here, not by whichever tests ran before
        await make_campaign(database, items=30, k=4, votes=10, regions=("Africa", "Europe"))
        # templated answers leave the text judge little to vary between items: a seed that plants four contested ones
        result = await simulate(database, "camp", labelers=12, spammers=0.0, seed=19, home=tmp_path)
        assert result.contested_items >= 3
        page = await write_report(database, "camp", tmp_path / "report", n_boot=200, home=tmp_path)
    finally:
        await database.dispose()
    truth = json.loads((page.parent / "summary.json").read_text())["truth"]
    contested = truth["contested"]
    assert contested["planted"] == result.contested_items
    assert contested["auc"] >= 0.75  # planted items outscore the others far more often than chance (0.5)
    assert contested["precision"] > contested["chance"]
    for method in ("bradley_terry", "borda", "ranked_pairs"):
        assert truth["recovery"][method]["mean_tau"] > 0.2
    for region in ("Africa", "Europe"):  # each region's own consensus finds that region's own true order
        assert truth["region_recovery"][region]["mean_tau"] > truth["recovery"]["bradley_terry"]["mean_tau"]
