"""`write_report`: load a campaign's rankings, analyse them off the event loop, write the consensus table and the
report folder (report.html, summary.json, items.csv, labelers.csv, regions.csv).

labelers.csv is pseudonymous by default (`identify=True` adds platform and display name for the campaign team).
"""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sqlmodel import col, select

from bot.adaptive_votes import adaptive_stats
from bot.consensus.analysis import Analysis, analyze
from bot.consensus.campaign_data import item_texts, load_rankings, write_consensus
from bot.consensus.page import render_page
from bot.consensus.plots import figures
from bot.consensus.truth import read_truth, truth_path
from bot.database import Database
from bot.errors import InputError
from bot.quality import TRUST_THRESHOLD
from bot.settings import get_settings
from storage.models import Labeler

__all__ = ["write_report", "REPORT_FILES"]

REPORT_FILES = ("report.html", "summary.json", "items.csv", "labelers.csv", "regions.csv")


def _cell(value: object) -> object:
    if isinstance(value, float | np.floating):
        return "" if np.isnan(value) else round(float(value), 6)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows([[_cell(v) for v in row] for row in rows])


def _items_csv(path: Path, analysis: Analysis, prompt_ids: dict[int, str]) -> None:
    rs = analysis.rankings
    methods = [m for scope, m in analysis.consensus if scope == "all"]
    votes = rs.votes_per_item()
    rows = []
    for i in range(rs.n_items):
        ids = rs.completion_ids[i]
        orders = [">".join(str(ids[j]) for j in analysis.consensus[("all", m)].order[i]) if votes[i] else ""
                  for m in methods]
        rows.append([rs.item_ids[i], prompt_ids.get(int(rs.item_ids[i]), ""), int(votes[i]), analysis.item_w[i],
                     analysis.item_agreement[i] if len(analysis.item_agreement) else np.nan,
                     analysis.contest.score[i], *orders])
    _write_csv(path, ["item_id", "prompt_id", "rankings", "kendall_w", "pairwise_agreement", "contest_score",
                      *[f"{m}_best_first" for m in methods]], rows)


def _labelers_csv(path: Path, analysis: Analysis, names: dict[str, tuple[str, str, str | None]] | None) -> None:
    lab, region_names = analysis.labelers, analysis.rankings.region_names
    header = ["labeler", "region", "rankings", "agreement", "loo_tau", "trust"]
    if names is not None:
        header += ["platform", "user_id", "display_name"]
    rows = []
    for j, key in enumerate(lab["key"]):
        region = region_names[lab["region"][j]] if lab["region"][j] >= 0 else ""
        row = [key, region, lab["rankings"][j], lab["agreement"][j], lab["loo_tau"][j], lab["trust"][j]]
        if names is not None:
            row += list(names.get(str(key), ("", "", "")))
        rows.append(row)
    _write_csv(path, header, rows)


def _regions_csv(path: Path, analysis: Analysis) -> None:
    s, names = analysis.summary, list(analysis.summary["regions"])
    rows = []
    for name in names:
        r = s["regions"][name]
        ci = r["pairwise_agreement_ci"]
        rows.append([name, r["rankings"], r["labelers"], r["items"], r["pairwise_agreement"], ci[0], ci[1],
                     r["tau_with_global"], r["borrowing_weight"],
                     *[s["region_matrix"][name][other] for other in names]])
    clean = [[np.nan if v is None else v for v in row] for row in rows]
    _write_csv(path, ["region", "rankings", "labelers", "items", "pairwise_agreement", "ci_low", "ci_high",
                      "tau_with_global", "borrowing_weight", *[f"agreement_with_{n}" for n in names]], clean)


async def _identities(database: Database, keys: list[str]) -> dict[str, tuple[str, str, str | None]]:
    async with database.session() as session:
        rows = (await session.exec(select(Labeler.pseudonym, Labeler.platform, Labeler.user_id,
                                          Labeler.display_name).where(col(Labeler.pseudonym).in_(keys)))).all()
    return {p: (platform, user, name) for p, platform, user, name in rows}


async def write_report(database: Database, campaign_name: str, out_dir: Path | str, *, identify: bool = False,
                       n_boot: int = 1000, progress: bool = False, home: Path | None = None,
                       on_start: Callable[[int], None] | None = None,
                       on_batch: Callable[[int], None] | None = None) -> Path:
    """Write the report folder and the campaign's consensus rows; returns the path of report.html.

    `progress` shows the analysis steps on stderr; `on_start(total)` / `on_batch(done)` follow the consensus rows
    as they are written (see bot/progress.py)."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError("report output exists and is not a folder", file=str(out))
    async with database.session() as session:
        loaded = await load_rankings(session, campaign_name)
    truth = read_truth(truth_path(home or get_settings().home, campaign_name), loaded.rankings)
    analysis = await asyncio.to_thread(analyze, loaded.rankings, trust=loaded.trust, truth=truth, n_boot=n_boot,
                                       trust_threshold=TRUST_THRESHOLD, progress=progress,
                                       between_from_first=loaded.campaign.votes_min)
    kendall_w = {"all": analysis.item_w, **analysis.region_w}
    async with database.session() as session:
        written = await write_consensus(session, loaded.campaign.id or 0, loaded.rankings, analysis.consensus,
                                        kendall_w, on_start=on_start, on_batch=on_batch)
        texts = await item_texts(session, [int(loaded.rankings.item_ids[i]) for i in analysis.contested])
        adaptive = await adaptive_stats(session, loaded.campaign)
    pictures = await asyncio.to_thread(figures, analysis)
    names = await _identities(database, [str(k) for k in loaded.rankings.labeler_keys]) if identify else None
    summary = {"campaign": campaign_name, **analysis.summary, "consensus_rows": written, "adaptive_votes": adaptive}
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, allow_nan=False), encoding="utf-8")
    _items_csv(out / "items.csv", analysis, loaded.prompt_ids)
    _labelers_csv(out / "labelers.csv", analysis, names)
    _regions_csv(out / "regions.csv", analysis)
    page = out / "report.html"
    page.write_text(render_page(campaign_name, analysis, pictures, texts, adaptive), encoding="utf-8")
    return page
