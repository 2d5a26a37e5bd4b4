"""Campaigns: create from JSONL/CSV, idempotent re-runs, imported completions, all-or-nothing bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot import campaigns
from bot.cli import app
from bot.errors import InputError, StateError
from bot.prompt_files import read_completions, read_prompts

runner = CliRunner()
REGIONS = "Africa,Europe,Asia"


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def jsonl(path: Path, rows: list[dict]) -> Path:
    return write(path, [json.dumps(row) for row in rows])


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    return jsonl(tmp_path / "prompts.jsonl", [
        {"prompt": "My house is too hot", "id": "hot"},
        {"prompt": "Write a haiku about rain", "id": "rain", "metadata": {"topic": "poetry"}},
        {"prompt": "How do I boil an egg?"},
    ])


def create(*args: str) -> object:
    return runner.invoke(app, ["campaign", "create", *args])


def show(name: str) -> dict:
    result = runner.invoke(app, ["campaign", "show", name, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_create_show_and_rerun_without_duplicates(home: Path, prompts: Path, tmp_path: Path) -> None:
    completions = jsonl(tmp_path / "c.jsonl", [{"prompt_id": "hot", "completions": ["Open a window.", "Fan."],
                                                "model": "human"}])
    args = ["demo", "--prompts", str(prompts), "--criterion", "helpfulness", "--k", "2", "--votes", "3",
            "--regions", REGIONS, "--completions", str(completions)]
    first = create(*args)
    assert first.exit_code == 0, first.output
    again = create(*args)
    assert again.exit_code == 0, again.output
    assert "0 prompts, 0 completions added" in again.stdout
    stats = show("demo")
    assert {key: stats[key] for key in ("name", "status", "k", "votes", "prompts", "completions", "labelers",
                                        "rankings", "items_complete")} == {
        "name": "demo", "status": "draft", "k": 2, "votes": 3, "prompts": 3, "completions": 2, "labelers": 0,
        "rankings": 0, "items_complete": 0}
    assert stats["regions"] == ["Africa", "Europe", "Asia"]


def test_campaign_goes_live_when_every_prompt_has_completions(home: Path, tmp_path: Path) -> None:
    prompts = jsonl(tmp_path / "p.jsonl", [{"prompt": "a", "id": 1}, {"prompt": "b", "id": 2}])
    completions = jsonl(tmp_path / "c.jsonl", [
        {"prompt_id": 1, "completions": ["x", "y", "z"], "model": "m"},
        {"prompt_id": "2", "completions": ["u", "v", "w"]},
    ])
    result = create("c", "--prompts", str(prompts), "--criterion", "harmlessness", "--k", "3",
                     "--completions", str(completions))
    assert result.exit_code == 0, result.output
    assert show("c")["status"] == "live"
    assert runner.invoke(app, ["campaign", "pause", "c"]).exit_code == 0
    assert show("c")["status"] == "paused"
    refused = runner.invoke(app, ["campaign", "pause", "c"])
    assert refused.exit_code == 2 and "it is paused" in refused.stderr
    assert runner.invoke(app, ["campaign", "resume", "c"]).exit_code == 0
    assert runner.invoke(app, ["campaign", "close", "c"]).exit_code == 0
    assert show("c")["status"] == "closed"


def test_csv_prompts_keep_other_columns_as_metadata(tmp_path: Path) -> None:
    path = write(tmp_path / "p.csv", ["id,prompt,topic", "a,Cool a room,home", "b,\"Plan a trip, cheaply\","])
    records = read_prompts(path)
    assert [(r.external_id, r.text, r.meta) for r in records] == [
        ("a", "Cool a room", {"topic": "home"}), ("b", "Plan a trip, cheaply", {})]


def test_prompt_ids_from_text_are_stable(tmp_path: Path) -> None:
    one = read_prompts(jsonl(tmp_path / "a.jsonl", [{"prompt": "Same text"}]))
    two = read_prompts(jsonl(tmp_path / "b.jsonl", [{"prompt": "  Same text "}]))
    assert one[0].external_id == two[0].external_id


BAD_PROMPTS = [
    ("malformed JSON", ['{"prompt": "ok"}', '{"prompt": 3'], "p.jsonl:2: malformed JSON"),
    ("missing field", ['{"prompt": "ok"}', '{"text": "no"}'], "p.jsonl:2 field 'prompt': missing field"),
    ("empty prompt", ['{"prompt": "   "}'], "p.jsonl:1 field 'prompt': empty prompt"),
    ("duplicate id", ['{"prompt": "a", "id": "x"}', '{"prompt": "b", "id": "x"}'],
     "p.jsonl:2 field 'id': duplicate id 'x'"),
    ("not an object", ['["prompt"]'], "p.jsonl:1: each line must be a JSON object"),
    ("bad metadata", ['{"prompt": "a", "metadata": [1]}'], "p.jsonl:1 field 'metadata'"),
]


@pytest.mark.parametrize(("case", "lines", "message"), BAD_PROMPTS, ids=[c[0] for c in BAD_PROMPTS])
def test_bad_prompt_files_exit_2_with_file_line_field(home: Path, tmp_path: Path, case: str, lines: list[str],
                                                      message: str) -> None:
    path = write(tmp_path / "p.jsonl", lines)
    result = create("bad", "--prompts", str(path), "--criterion", "helpfulness")
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert runner.invoke(app, ["campaign", "show", "bad"]).exit_code == 2  # nothing imported


def test_bad_arguments_and_files_exit_2(home: Path, prompts: Path, tmp_path: Path) -> None:
    missing = create("x", "--prompts", str(tmp_path / "nope.jsonl"), "--criterion", "h")
    assert missing.exit_code == 2 and "nope.jsonl: file not found" in missing.stderr
    k_out = create("x", "--prompts", str(prompts), "--criterion", "h", "--k", "10")
    assert k_out.exit_code == 2 and "field 'k'" in k_out.stderr
    binary = tmp_path / "bin.jsonl"
    binary.write_bytes(b"\xff\xfe\x00bad")
    unreadable = create("x", "--prompts", str(binary), "--criterion", "h")
    assert unreadable.exit_code == 2 and "cannot read file" in unreadable.stderr


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"prompt_id": "hot", "completions": ["only one"]}, "c.jsonl:1 field 'completions': expected 2"),
        ({"prompt_id": "hot", "completions": ["same", "same"]}, "identical completions"),
        ({"prompt_id": "hot", "completions": ["a", ""]}, "empty completion"),
        ({"completions": ["a", "b"]}, "c.jsonl:1 field 'prompt_id': missing field"),
        ({"prompt_id": "nope", "completions": ["a", "b"]}, "c.jsonl:1 field 'prompt_id': unknown prompt id"),
    ],
)
def test_bad_completions_import_nothing(home: Path, prompts: Path, tmp_path: Path, row: dict,
                                        message: str) -> None:
    completions = jsonl(tmp_path / "c.jsonl", [row])
    result = create("x", "--prompts", str(prompts), "--criterion", "h", "--k", "2",
                    "--completions", str(completions))
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert runner.invoke(app, ["campaign", "show", "x"]).exit_code == 2  # the campaign was rolled back too


def test_changing_a_campaigns_shape_is_refused(home: Path, prompts: Path) -> None:
    assert create("c", "--prompts", str(prompts), "--criterion", "h", "--k", "3").exit_code == 0
    result = create("c", "--prompts", str(prompts), "--criterion", "h", "--k", "4")
    assert result.exit_code == 2 and "exists with k=3" in result.stderr


async def test_new_guidelines_make_a_new_version(database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    records = read_prompts(jsonl(tmp_path / "p.jsonl", [{"prompt": "a"}]))
    spec = campaigns.CampaignSpec(name="g", criterion="h", k=2, votes=1, regions=[], guidelines="v1")
    async with database.session() as session:
        await campaigns.create_campaign(session, spec, records)
    spec.guidelines = "v2"
    async with database.session() as session:
        result = await campaigns.create_campaign(session, spec, records)
    assert result.campaign.guidelines_version == 2 and result.prompts_added == 0


async def test_unknown_completion_prompt_rolls_back_everything(database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    records = read_prompts(jsonl(tmp_path / "p.jsonl", [{"prompt": "a", "id": "a"}]))
    completions = read_completions(jsonl(tmp_path / "c.jsonl", [
        {"prompt_id": "a", "completions": ["x", "y"]}, {"prompt_id": "zz", "completions": ["x", "y"]}]), k=2)
    spec = campaigns.CampaignSpec(name="r", criterion="h", k=2, votes=1, regions=["A"])
    async with database.session() as session:
        with pytest.raises(InputError, match="unknown prompt id 'zz'"):
            await campaigns.create_campaign(session, spec, records, completions)
    async with database.session() as session:
        assert await campaigns.list_campaigns(session) == []


async def test_status_changes_follow_the_lifecycle(database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    records = read_prompts(jsonl(tmp_path / "p.jsonl", [{"prompt": "a"}]))
    spec = campaigns.CampaignSpec(name="s", criterion="h", k=2, votes=1, regions=[])
    async with database.session() as session:
        await campaigns.create_campaign(session, spec, records)
    async with database.session() as session:
        with pytest.raises(StateError, match="cannot resume campaign 's': it is draft"):
            await campaigns.change_status(session, "s", "resume")
    async with database.session() as session:
        assert (await campaigns.change_status(session, "s", "close")).status == "closed"


def test_an_items_pool_key_is_fixed_by_campaign_and_prompt() -> None:
    from types import SimpleNamespace

    from bot.campaigns import shuffle_key

    def key(campaign: str, prompt: str) -> float:
        return shuffle_key(SimpleNamespace(name=campaign), SimpleNamespace(external_id=prompt))  # type: ignore[arg-type]

    keys = [key("demo", f"demo-{i:02d}") for i in range(200)]
    assert keys == [key("demo", f"demo-{i:02d}") for i in range(200)]  # the same on every run
    assert all(0 <= k < 1 for k in keys) and len(set(keys)) == 200
    assert 0.4 < sum(keys) / len(keys) < 0.6 and key("other", "demo-01") != keys[1]
