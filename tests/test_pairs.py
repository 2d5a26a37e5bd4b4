"""Pairs from stored rankings: counts, labels, ties, flags, trust, consensus margins, both file formats and
both backends; bad pair files name file, line and field."""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from bot.cli import app
from bot.errors import InputError, NotFound, StateError
from bot.settings import get_settings
from storage.engine import make_sync_engine
from storage.migrate import upgrade
from storage.models import Consensus, Item
from tests.reward_helpers import Seeded, add_ranking, seed_campaign
from trainer.pair_files import read_pairs, write_pairs
from trainer.pairs import export_pairs, vote_margin


def read(path: Path) -> list:
    return list(read_pairs(path))


def test_raw_pairs_are_every_k_choose_2_in_ranked_order(db_url: str, tmp_path: Path) -> None:
    seeded = seed_campaign(db_url)
    item0, item1 = seeded.items
    first = add_ranking(db_url, seeded, "a", item0, [2, 0, 3, 1])
    add_ranking(db_url, seeded, "b", item1, [0, 1, 2, 3], region="Europe")
    result = export_pairs(db_url, seeded.campaign, tmp_path / "pairs.jsonl")
    pairs = read(tmp_path / "pairs.jsonl")
    assert result.pairs == len(pairs) == 2 * 6
    mine = [p for p in pairs if p.ranking_id == first]
    expected = [(f"answer 0.{x}", f"answer 0.{y}") for x, y in combinations([2, 0, 3, 1], 2)]
    assert [(p.chosen, p.rejected) for p in mine] == expected
    assert {(p.prompt, p.item_id, p.labeler, p.region, p.margin, p.tie) for p in mine} == {
        ("prompt 0", item0, seeded.labelers["a"], "Asia", 0.0, False)}
    assert {p.region for p in pairs if p.ranking_id != first} == {"Europe"}


def test_ties_give_no_pair_by_default_or_a_flagged_margin_0_pair(db_url: str, tmp_path: Path) -> None:
    seeded = seed_campaign(db_url, items=1)
    # 1 = 3 > 0 > 2: positions 0 and 1 tie
    add_ranking(db_url, seeded, "a", seeded.items[0], [1, 3, 0, 2], ties=[False, True, False, False])
    export_pairs(db_url, seeded.campaign, tmp_path / "plain.jsonl")
    plain = read(tmp_path / "plain.jsonl")
    assert len(plain) == 5
    assert ("answer 0.1", "answer 0.3") not in {(p.chosen, p.rejected) for p in plain}
    export_pairs(db_url, seeded.campaign, tmp_path / "ties.jsonl", keep_ties=True)
    with_ties = read(tmp_path / "ties.jsonl")
    assert len(with_ties) == 6
    tied = [p for p in with_ties if p.tie]
    assert [(p.chosen, p.rejected, p.margin) for p in tied] == [("answer 0.1", "answer 0.3", 0.0)]


def test_a_three_way_tie_and_an_unrankable_flag(db_url: str, tmp_path: Path) -> None:
    seeded = seed_campaign(db_url, items=1)
    item = seeded.items[0]
    add_ranking(db_url, seeded, "a", item, [0, 1, 2, 3], ties=[False, True, True, False])
    export_pairs(db_url, seeded.campaign, tmp_path / "tie3.jsonl")
    assert len(read(tmp_path / "tie3.jsonl")) == 3  # only the three pairs against position 3
    flagged = {str(seeded.completions[item][3]): "unrankable"}
    add_ranking(db_url, seeded, "b", item, [3, 2, 1, 0], flags=flagged)
    export_pairs(db_url, seeded.campaign, tmp_path / "flag.jsonl")
    by_b = [p for p in read(tmp_path / "flag.jsonl") if p.labeler == seeded.labelers["b"]]
    assert len(by_b) == 3 and all("answer 0.3" not in (p.chosen, p.rejected) for p in by_b)


def test_min_trust_leaves_out_low_and_unknown_trust(db_url: str, tmp_path: Path) -> None:
    seeded = seed_campaign(db_url, items=1)
    for labeler in ("a", "b", "c"):
        add_ranking(db_url, seeded, labeler, seeded.items[0], [0, 1, 2, 3])
    export_pairs(db_url, seeded.campaign, tmp_path / "all.jsonl")
    assert len(read(tmp_path / "all.jsonl")) == 18
    export_pairs(db_url, seeded.campaign, tmp_path / "trusted.jsonl", min_trust=0.5)
    trusted = read(tmp_path / "trusted.jsonl")
    assert len(trusted) == 6 and {p.labeler for p in trusted} == {seeded.labelers["a"]}


def test_binary_format_is_balanced_seeded_and_reads_back_as_the_same_pairs(db_url: str, tmp_path: Path) -> None:
    seeded = seed_campaign(db_url, items=2, k=6)
    for item in seeded.items:
        for labeler in ("a", "b"):
            add_ranking(db_url, seeded, labeler, item, [5, 4, 3, 2, 1, 0])
    export_pairs(db_url, seeded.campaign, tmp_path / "trl.jsonl")
    export_pairs(db_url, seeded.campaign, tmp_path / "bin.jsonl", fmt="binary", seed=7)
    export_pairs(db_url, seeded.campaign, tmp_path / "bin.parquet", fmt="binary", seed=7)
    rows = [json.loads(line) for line in (tmp_path / "bin.jsonl").read_text().splitlines()]
    labels = [row["label"] for row in rows]
    assert set(rows[0]) >= {"prompt", "completion_a", "completion_b", "label"}
    assert len(labels) == 60 and 20 <= sum(labels) <= 40  # a fair coin, not all one side
    assert read(tmp_path / "bin.jsonl") == read(tmp_path / "trl.jsonl") == read(tmp_path / "bin.parquet")
    export_pairs(db_url, seeded.campaign, tmp_path / "again.jsonl", fmt="binary", seed=7)
    assert (tmp_path / "again.jsonl").read_text() == (tmp_path / "bin.jsonl").read_text()


def test_consensus_pairs_follow_the_stored_order_with_vote_margins(db_url: str, tmp_path: Path) -> None:
    seeded = seed_campaign(db_url, items=1, k=3)
    item = seeded.items[0]
    add_ranking(db_url, seeded, "a", item, [0, 1, 2])
    add_ranking(db_url, seeded, "b", item, [0, 2, 1])
    add_ranking(db_url, seeded, "c", item, [0, 1, 2])
    ids = seeded.completions[item]
    engine = make_sync_engine(db_url)
    with Session(engine) as session:
        campaign_id = session.get(Item, item).campaign_id
        session.add(Consensus(campaign_id=campaign_id, item_id=item, best_first=[ids[0], ids[1], ids[2]],
                              scores={str(i): 0.0 for i in ids}, n_rankings=3))
        session.commit()
    engine.dispose()
    export_pairs(db_url, seeded.campaign, tmp_path / "consensus.parquet", mode="consensus")
    pairs = read(tmp_path / "consensus.parquet")
    assert [(p.chosen, p.rejected) for p in pairs] == [
        ("answer 0.0", "answer 0.1"), ("answer 0.0", "answer 0.2"), ("answer 0.1", "answer 0.2")]
    margins = [p.margin for p in pairs]
    assert margins[0] == margins[1] == pytest.approx(vote_margin(3, 0))
    assert margins[2] == pytest.approx(vote_margin(2, 1)) and 0 < margins[2] < margins[0]
    assert all(p.ranking_id is None for p in pairs)


def test_nothing_to_export_leaves_an_older_file_alone(db_url: str, tmp_path: Path) -> None:
    seeded = seed_campaign(db_url, items=1)
    out = tmp_path / "old.jsonl"
    out.write_text("keep me\n")
    with pytest.raises(StateError):
        export_pairs(db_url, seeded.campaign, out)
    with pytest.raises(StateError):
        export_pairs(db_url, seeded.campaign, out, mode="consensus")
    with pytest.raises(NotFound):
        export_pairs(db_url, "no-such-campaign", out)
    assert out.read_text() == "keep me\n"


def test_a_failed_write_leaves_no_file(tmp_path: Path) -> None:
    def pairs_then_crash():
        yield from read_pairs_fixture(tmp_path)
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        write_pairs(pairs_then_crash(), tmp_path / "out.parquet")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.jsonl"]


def read_pairs_fixture(tmp_path: Path):
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps({"prompt": "p", "chosen": "a", "rejected": "b"}) + "\n")
    return read_pairs(good)


@pytest.mark.parametrize(("line", "field", "text"), [
    ('{"prompt": "p", "chosen": "a", "rejected": "b", "margin": "big"}', "margin", "finite number"),
    ('{"prompt": "p", "rejected": "b"}', "chosen", "missing"),
    ('{"prompt": "p", "chosen": "", "rejected": "b"}', "chosen", "non-empty"),
    ('{"prompt": "p", "completion_a": "a", "completion_b": "b", "label": 2}', "label", "0 or 1"),
    ('{"prompt": "p", "chosen": "a", "rejected": "b", "item_id": "x"}', "item_id", "integer"),
    ('{"prompt": 3, "chosen": "a", "rejected": "b"}', "prompt", "string"),
    ('{"prompt": "p", "chosen": "a", "rejected": "b", "tie": "yes"}', "tie", "true or false"),
])
def test_bad_rows_name_file_line_and_field(tmp_path: Path, line: str, field: str, text: str) -> None:
    path = tmp_path / "bad.jsonl"
    good = json.dumps({"prompt": "p", "chosen": "a", "rejected": "b"})
    path.write_text(f"{good}\n\n{line}\n")
    with pytest.raises(InputError) as caught:
        read(path)
    assert (caught.value.line, caught.value.field) == (3, field)
    assert str(caught.value).startswith(f"{path}:3 field '{field}'") and text in str(caught.value)


def test_broken_json_and_wrong_suffix(tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text('{"prompt": "p", "chosen": "a", "rejected": "b"}\n{"prompt": \n')
    with pytest.raises(InputError, match=r"broken.jsonl:2: not valid JSON"):
        read(path)
    with pytest.raises(InputError, match="must end in .jsonl or .parquet"):
        read(tmp_path / "pairs.csv")


def cli_campaign(home: Path) -> tuple[str, Seeded]:
    url = get_settings().resolved_database_url
    home.mkdir(parents=True, exist_ok=True)
    upgrade(url)
    seeded = seed_campaign(url, items=1)
    add_ranking(url, seeded, "a", seeded.items[0], [3, 2, 1, 0])
    return url, seeded


def test_cli_pairs_writes_the_file_and_reports_bad_input(home: Path, tmp_path: Path) -> None:
    _, seeded = cli_campaign(home)
    runner = CliRunner()
    out = tmp_path / "cli.parquet"
    result = runner.invoke(app, ["pairs", seeded.campaign, "--out", str(out), "--format", "binary"])
    assert result.exit_code == 0, result.output
    assert "wrote 6 raw pairs (binary)" in result.output and len(read(out)) == 6
    bad = runner.invoke(app, ["pairs", seeded.campaign, "--out", str(tmp_path / "x.csv")])
    assert bad.exit_code == 2 and "field 'out'" in bad.output
    missing = runner.invoke(app, ["pairs", "nope", "--out", str(out)])
    assert missing.exit_code == 2 and "no campaign named 'nope'" in missing.output


def test_bad_parquet_files_name_file_row_and_field(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"not parquet at all")
    with pytest.raises(InputError, match=r"garbage.parquet: not a Parquet file"):
        read(garbage)
    table = pa.table({"prompt": ["p", "p"], "chosen": ["a", "b"], "rejected": ["b", None]})
    pq.write_table(table, tmp_path / "nulls.parquet")
    with pytest.raises(InputError, match=r"nulls.parquet:2 field 'rejected': must be a non-empty string"):
        read(tmp_path / "nulls.parquet")
