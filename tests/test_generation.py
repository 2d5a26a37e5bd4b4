"""Generation without a real model: the de-duplicating sampler, the resumable service on SQLite and PostgreSQL,
and model paths that must fail at once. The real model is exercised in test_generation_model.py."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlmodel import func, select

from bot import campaigns, generation
from bot.database import Database
from bot.errors import InputError, ModelError, StateError
from bot.prompt_files import PromptRecord
from storage.models import Completion, Item, Prompt
from trainer import instruct_model
from trainer.sampling import CompletionSampler, SamplingSettings


class FakeTokenizer:
    chat_template = "{{ messages }}"
    pad_token_id = None
    eos_token = "<eos>"
    padding_side = "right"

    @property
    def pad_token(self) -> str | None:
        return None if self.pad_token_id is None else self.eos_token

    @pad_token.setter
    def pad_token(self, token: str) -> None:
        self.pad_token_id = 0


class ScriptedSampler(CompletionSampler):
    """The real de-duplication around a scripted `sample_raw`: each call returns the next scripted answers."""

    def __init__(self, script: list[dict[str, list[str]]], **kwargs: Any) -> None:
        super().__init__(None, FakeTokenizer(), "fake-model", SamplingSettings(), **kwargs)
        self.script, self.calls = script, []

    def sample_raw(self, prompts: list[str], n: int, *, seed: int) -> list[list[str]]:
        self.calls.append((list(prompts), n, seed))
        answers = self.script[min(len(self.calls), len(self.script)) - 1]
        return [answers[p][:n] for p in prompts]


def test_sampler_pads_on_the_left_with_a_pad_token() -> None:
    sampler = ScriptedSampler([])
    assert sampler.tokenizer.padding_side == "left"
    assert sampler.tokenizer.pad_token_id == 0


def test_a_model_without_chat_template_is_refused_before_sampling() -> None:
    tokenizer = FakeTokenizer()
    tokenizer.chat_template = None
    with pytest.raises(ModelError, match="model plain-lm has no chat template"):
        CompletionSampler(None, tokenizer, "plain-lm", SamplingSettings())


def test_empty_and_repeated_completions_are_sampled_again_for_those_prompts_only() -> None:
    sampler = ScriptedSampler([
        {"hot": ["Open windows.", "Open  windows. ", "  ", "Fans help."], "rain": ["a", "b", "c", "d"]},
        {"hot": ["Fans help.", "Close the blinds."]},
        {"hot": ["Drink water."]},
    ])
    result = sampler.sample(["hot", "rain"], 4)
    assert result == [["Open windows.", "Fans help.", "Close the blinds.", "Drink water."], ["a", "b", "c", "d"]]
    assert [(prompts, n) for prompts, n, _ in sampler.calls] == [(["hot", "rain"], 4), (["hot"], 2), (["hot"], 1)]
    assert len({seed for _, _, seed in sampler.calls}) == 3  # a re-sample draws with another seed


def test_a_model_that_keeps_repeating_itself_gives_a_clear_error_after_bounded_tries() -> None:
    sampler = ScriptedSampler([{"hot": ["Same.", "Same.", "Same.", "Same."]}], max_attempts=3)
    with pytest.raises(ModelError, match=r"only 1 distinct non-empty completions of 4 .*'hot' after 3 attempts"):
        sampler.sample(["hot"], 4)
    assert len(sampler.calls) == 3


def test_batch_seed_depends_on_seed_prompts_and_attempt_only() -> None:
    sampler = ScriptedSampler([])
    assert sampler.batch_seed(["a", "b"], 0) == ScriptedSampler([]).batch_seed(["a", "b"], 0)
    assert len({sampler.batch_seed(["a", "b"], 0), sampler.batch_seed(["a", "b"], 1),
                sampler.batch_seed(["a"], 0), sampler.batch_seed(["b", "a"], 0)}) == 4


@pytest.mark.parametrize(("settings", "field"), [
    ({"max_new_tokens": 0}, "max_new_tokens"), ({"temperature": 0.0}, "temperature"),
    ({"top_p": 0.0}, "top_p"), ({"top_p": 1.5}, "top_p")])
def test_bad_sampling_settings_name_their_field(settings: dict, field: str) -> None:
    with pytest.raises(InputError, match=f"field '{field}'"):
        SamplingSettings(**settings)


def test_settings_record_names_model_and_every_setting() -> None:
    record = SamplingSettings(max_new_tokens=12, temperature=0.5, top_p=0.8, seed=3).record("m")
    assert record == {"model": "m", "max_new_tokens": 12, "temperature": 0.5, "top_p": 0.8, "seed": 3,
                      "system": None}


# --- model paths that must fail fast, naming the path ---------------------------------------------------------

@pytest.mark.parametrize("spec", ["HuggingFaceTB/SmolLM2-135M-Instruct", "/no/such/model", "gpt2"])
def test_a_missing_path_or_hub_id_fails_at_once_naming_it(spec: str, tmp_path: Path) -> None:
    started = time.perf_counter()
    with pytest.raises(ModelError) as error:
        instruct_model.load_instruct_model(spec, cache_dir=tmp_path)
    assert time.perf_counter() - started < 1.0
    message = str(error.value)
    assert spec in message and "never downloads" in message and "\n" not in message
    assert not list(tmp_path.iterdir())


def test_a_folder_without_config_or_a_file_that_is_not_gguf_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="has no config.json"):
        instruct_model.resolve(str(tmp_path))
    other = tmp_path / "weights.bin"
    other.write_bytes(b"x")
    with pytest.raises(ModelError, match="is not a .gguf file"):
        instruct_model.resolve(str(other))


def test_the_default_model_is_found_inside_the_installed_package() -> None:
    path = instruct_model.default_gguf()
    assert path.is_file() and path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert instruct_model.resolve("default") == path


def test_the_cache_folder_changes_when_the_gguf_file_changes(tmp_path: Path) -> None:
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"one")
    first = instruct_model.cache_folder(gguf, tmp_path / "models")
    gguf.write_bytes(b"longer")
    assert instruct_model.cache_folder(gguf, tmp_path / "models") != first
    assert first.parent == tmp_path / "models" and first.name.startswith("tiny-")


class Writer:
    """Stands in for a model or tokenizer whose `save_pretrained` writes config.json, then maybe fails."""

    def __init__(self, fail: bool = False) -> None:
        self.fail, self.hf_quantizer = fail, object()
        self.config = SimpleNamespace(quantization_config="gguf")

    def save_pretrained(self, path: Path) -> None:
        Path(path).mkdir(parents=True, exist_ok=True)
        (Path(path) / "config.json").write_text('{"written": "now"}')
        if self.fail:
            raise OSError("No space left on device")


def test_a_failed_cache_write_leaves_nothing_a_later_load_would_trust(tmp_path: Path) -> None:
    folder = tmp_path / "models" / "model-abc"
    with pytest.raises(ModelError, match="cannot write the model cache .*model-abc: No space left on device"):
        instruct_model._save_atomically(Writer(fail=True), Writer(), tmp_path / "m.gguf", folder)
    assert list((tmp_path / "models").iterdir()) == []


def test_a_cache_written_meanwhile_by_another_process_is_kept(tmp_path: Path) -> None:
    folder = tmp_path / "models" / "model-abc"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text('{"written": "first"}')
    model = Writer()
    instruct_model._save_atomically(model, Writer(), tmp_path / "m.gguf", folder)
    assert [p.name for p in (tmp_path / "models").iterdir()] == ["model-abc"]
    assert (folder / "config.json").read_text() == '{"written": "first"}'
    assert model.hf_quantizer is None and not hasattr(model.config, "quantization_config")


# --- the resumable service, on SQLite and PostgreSQL ----------------------------------------------------------

class FakeSampler:
    model_id = "fake-model"
    record = {"model": "fake-model", "max_new_tokens": 5, "temperature": 0.7, "top_p": 0.9, "seed": 0}

    def __init__(self, fail_on_call: int | None = None) -> None:
        self.fail_on_call, self.calls = fail_on_call, []

    def sample(self, prompts: list[str], k: int) -> list[list[str]]:
        self.calls.append(list(prompts))
        if len(self.calls) == self.fail_on_call:
            raise RuntimeError("interrupted")
        return [[f"{prompt}: answer {j}" for j in range(k)] for prompt in prompts]


async def make_campaign(database: Database, prompts: int, name: str = "gen") -> None:
    spec = campaigns.CampaignSpec(name=name, criterion="helpfulness", k=2, votes=1, regions=["Europe"])
    records = [PromptRecord(external_id=f"p{i}", text=f"prompt {i}") for i in range(prompts)]
    async with database.session() as session:
        await campaigns.create_campaign(session, spec, records)


async def counts(database: Database) -> tuple[int, int, int, str]:
    async with database.session() as session:
        completions = (await session.exec(select(func.count()).select_from(Completion))).one()
        items = (await session.exec(select(func.count()).select_from(Item))).one()
        per_prompt = max((await session.exec(select(func.count()).select_from(Completion)
                                             .group_by(Completion.prompt_id))).all(), default=0)
        status = (await campaigns.get_campaign(session, "gen")).status
    return completions, items, per_prompt, status


async def test_an_interrupted_run_keeps_its_batches_and_a_rerun_finishes_without_duplicates(
        database: Database) -> None:
    await make_campaign(database, prompts=5)
    broken = FakeSampler(fail_on_call=2)
    async with database.session() as session:
        with pytest.raises(RuntimeError, match="interrupted"):
            await generation.generate_completions(session, "gen", lambda: broken, batch_size=2)
    assert await counts(database) == (4, 2, 2, "generating")

    healthy, batches = FakeSampler(), []
    async with database.session() as session:
        result = await generation.generate_completions(session, "gen", lambda: healthy, batch_size=2,
                                                       on_start=batches.append, on_batch=batches.append)
    assert healthy.calls == [["prompt 2", "prompt 3"], ["prompt 4"]]
    assert batches == [3, 2, 1]
    assert (result.pending, result.prompts_done, result.completions_added, result.status) == (3, 3, 6, "live")
    assert await counts(database) == (10, 5, 2, "live")
    async with database.session() as session:
        rows = (await session.exec(select(Completion.prompt_id, Completion.model, Completion.settings))).all()
    assert len(rows) == 10 and len({row[0] for row in rows}) == 5
    assert all(model == "fake-model" and settings == FakeSampler.record for _, model, settings in rows)


async def test_nothing_to_do_never_loads_the_model(database: Database) -> None:
    await make_campaign(database, prompts=2)
    async with database.session() as session:
        await generation.generate_completions(session, "gen", FakeSampler)

    def must_not_load() -> FakeSampler:
        raise AssertionError("the model was loaded with nothing to generate")

    async with database.session() as session:
        result = await generation.generate_completions(session, "gen", must_not_load)
    assert (result.pending, result.completions_added, result.status) == (0, 0, "live")


async def test_a_closed_campaign_and_a_bad_batch_size_are_refused(database: Database) -> None:
    await make_campaign(database, prompts=1)
    async with database.session() as session:
        with pytest.raises(InputError, match="batch_size"):
            await generation.generate_completions(session, "gen", FakeSampler, batch_size=0)
        await campaigns.change_status(session, "gen", "close")
        with pytest.raises(StateError, match="closed"):
            await generation.generate_completions(session, "gen", FakeSampler)


def test_a_bad_model_fails_before_the_campaign_is_touched(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="/no/such/model"):
        generation.model_sampler("/no/such/model", tmp_path, max_new_tokens=8, temperature=0.7, top_p=0.9, seed=0)


async def test_a_model_that_fails_to_load_leaves_the_campaign_as_it_was(database: Database) -> None:
    await make_campaign(database, prompts=2)

    def unloadable() -> FakeSampler:
        raise ModelError("cannot load model folder /models/broken: bad config")

    async with database.session() as session:
        with pytest.raises(ModelError, match="broken"):
            await generation.generate_completions(session, "gen", unloadable)
    assert await counts(database) == (0, 0, 0, "draft")


async def test_a_prompt_completed_meanwhile_by_another_run_is_not_duplicated(database: Database, db_url: str) -> None:
    await make_campaign(database, prompts=2)

    class Racing(FakeSampler):
        def sample(self, prompts: list[str], k: int) -> list[list[str]]:
            asyncio.run(store_elsewhere())  # another run stores prompt p1 while this one samples
            return super().sample(prompts, k)

    async def store_elsewhere() -> None:
        other = Database(db_url)
        try:
            async with other.session() as session, session.begin():
                campaign = await campaigns.get_campaign(session, "gen")
                prompt = (await session.exec(select(Prompt).where(Prompt.external_id == "p1"))).one()
                await campaigns.store_completions(session, campaign, prompt, ["x", "y"], "other-run", {})
        finally:
            await other.dispose()

    async with database.session() as session:
        result = await generation.generate_completions(session, "gen", Racing)
    assert (result.prompts_done, result.completions_added, result.status) == (2, 2, "live")
    assert await counts(database) == (4, 2, 2, "live")
    async with database.session() as session:
        models = (await session.exec(select(Prompt.external_id, Completion.model).join(Completion)
                                     .order_by(Prompt.external_id))).all()
    assert sorted(set(models)) == [("p0", "fake-model"), ("p1", "other-run")]
