"""The reward model: grouped loss equals the naive per-pair sum, training learns a synthetic preference,
determinism, split by prompt, checkpoints, scoring and accuracy, the CLI (exit 2 on bad pair files), and the
demo's two training aids (answers to other prompts as negatives, an identity pooler)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from bot.cli import app
from bot.errors import InputError, ModelError, StateError
from tests.reward_helpers import add_ranking, seed_campaign, synthetic_file, synthetic_pairs, tiny_backbone
from trainer.backbone import identity_pooler, load_reward_model
from trainer.model import build_groups, collate, grouped_loss, naive_pair_losses, with_foreign_negatives
from trainer.pair_files import Pair
from trainer.score import RewardModel
from trainer.train import TrainConfig, split_by_prompt, train

FAST = dict(epochs=3, lr=3e-3, max_length=32, batch_prompts=8, validation_fraction=0.25)


@pytest.fixture(scope="module")
def backbone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_backbone(tmp_path_factory.mktemp("tiny") / "bert")


def test_grouped_loss_equals_the_sum_of_naive_per_pair_losses(backbone: Path) -> None:
    model, tokenizer = load_reward_model(backbone)
    model.eval()  # dropout off: both ways see the same network
    pairs = synthetic_pairs(3, k=4, seed=1) + synthetic_pairs(2, k=3, seed=2)
    pairs = [Pair(p.prompt, p.chosen, p.rejected, margin=0.25 * (n % 3)) for n, p in enumerate(pairs)]
    groups, left_out = build_groups(pairs)
    batch = collate(groups, tokenizer, max_length=32)
    assert left_out == 0 and batch.pairs == len(pairs) == 3 * 6 + 2 * 3
    assert batch.inputs["input_ids"].shape[0] == 3 * 4 + 2 * 3  # each completion encoded once
    with torch.no_grad():
        grouped, _ = grouped_loss(model, batch, reduction="sum")
        naive = naive_pair_losses(model, tokenizer, pairs, max_length=32)
    assert float(grouped) == pytest.approx(float(naive.sum()), rel=1e-5)
    with torch.no_grad():
        mean, _ = grouped_loss(model, batch)
    assert float(mean) == pytest.approx(float(naive.mean()), rel=1e-5)


def test_ties_and_self_pairs_are_left_out_of_training_groups() -> None:
    pairs = [Pair("p", "a", "b"), Pair("p", "b", "c", tie=True), Pair("p", "a", "a"), Pair("q", "x", "y")]
    groups, left_out = build_groups(pairs)
    assert left_out == 2
    assert [(g.prompt, g.completions, g.pairs) for g in groups] == [("p", ["a", "b"], [(0, 1, 0.0)]),
                                                                      ("q", ["x", "y"], [(0, 1, 0.0)])]


def test_split_is_by_prompt_never_by_pair() -> None:
    groups, _ = build_groups(synthetic_pairs(30))
    train_groups, val_groups = split_by_prompt(groups, 0.2, seed=3)
    assert len(val_groups) == 6 and len(train_groups) == 24
    assert not {g.prompt for g in train_groups} & {g.prompt for g in val_groups}
    assert split_by_prompt(groups, 0.2, seed=3)[1] == val_groups
    with pytest.raises(StateError):
        split_by_prompt(groups[:1], 0.2, seed=3)


def run_training(backbone: Path, tmp_path: Path, seed: int = 0, checkpoint: Path | None = None):
    groups, _ = build_groups(synthetic_pairs(80, seed=11))
    config = TrainConfig(backbone=str(backbone), seed=seed, **FAST)
    train_groups, val_groups = split_by_prompt(groups, config.validation_fraction, config.seed)
    model, tokenizer = load_reward_model(backbone)
    metrics = train(model, tokenizer, train_groups, val_groups, config, checkpoint=checkpoint, progress=False)
    return model, metrics


def test_a_tiny_model_learns_a_synthetic_preference_deterministically(backbone: Path, tmp_path: Path) -> None:
    untrained, tokenizer = load_reward_model(backbone)
    groups, _ = build_groups(synthetic_pairs(80, seed=11))
    _, val_groups = split_by_prompt(groups, 0.25, 0)
    from trainer.train import evaluate

    chance = evaluate(untrained, tokenizer, val_groups, TrainConfig(**FAST), "cpu")["accuracy"]
    model, metrics = run_training(backbone, tmp_path, checkpoint=tmp_path / "ck.pt")
    assert metrics["val_pairs"] == 20 * 6
    assert metrics["val_accuracy"] >= 0.85 > chance + 0.2
    again, metrics_again = run_training(backbone, tmp_path / "other")
    assert metrics_again["val_loss"] == metrics["val_loss"]
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values(),
                                                  strict=True))
    state = torch.load(tmp_path / "ck.pt", weights_only=False)
    assert state["step"] == metrics["steps"] and state["epoch"] == FAST["epochs"]
    assert state["config"]["lr"] == FAST["lr"] and state["optimizer"]["state"]


def test_resume_from_a_checkpoint_equals_an_uninterrupted_run(backbone: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import trainer.train as train_module

    groups, _ = build_groups(synthetic_pairs(40, seed=5))
    config = TrainConfig(backbone=str(backbone), **{**FAST, "epochs": 2})
    train_groups, val_groups = split_by_prompt(groups, 0.25, 0)
    straight, tokenizer = load_reward_model(backbone)
    full = train(straight, tokenizer, train_groups, val_groups, config, progress=False)

    class Stop(Exception):
        pass

    real_save = train_module.save_checkpoint

    def save_then_stop(*args, **kwargs):  # the process "dies" right after the first epoch's checkpoint
        real_save(*args, **kwargs)
        raise Stop

    monkeypatch.setattr(train_module, "save_checkpoint", save_then_stop)
    checkpoint = tmp_path / "run.pt"
    with pytest.raises(Stop):
        train(load_reward_model(backbone)[0], tokenizer, train_groups, val_groups, config, checkpoint=checkpoint,
              progress=False)
    monkeypatch.setattr(train_module, "save_checkpoint", real_save)
    assert torch.load(checkpoint, weights_only=False)["epoch"] == 1
    resumed = load_reward_model(backbone)[0]
    result = train(resumed, tokenizer, train_groups, val_groups, config, checkpoint=checkpoint, progress=False)
    assert result["steps"] == full["steps"] and result["val_loss"] == full["val_loss"]
    assert all(torch.equal(a, b) for a, b in zip(straight.state_dict().values(), resumed.state_dict().values(),
                                                  strict=True))


def test_score_api_and_accuracy_on_a_pair_file(backbone: Path, tmp_path: Path) -> None:
    model, _ = run_training(backbone, tmp_path)
    _, tokenizer = load_reward_model(backbone)
    reward_model = RewardModel(model, tokenizer, max_length=32)
    scores = reward_model.score("question topic3", ["kind clear helpful answer", "rude wrong lazy answer",
                                                    "the reply is polite"], batch_size=2)
    assert len(scores) == 3 and scores[0] > scores[1]
    held_out = synthetic_file(tmp_path / "held.parquet", 20, seed=99, fmt="binary")
    result = reward_model.accuracy(held_out)
    assert result.pairs == 120 and result.accuracy >= 0.85 and 0 <= result.interval95 < 0.1


def test_a_causal_lm_without_pad_token_works_as_a_backbone(tmp_path: Path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2ForSequenceClassification, PreTrainedTokenizerFast

    words = ["<unk>", "<eos>", "good", "bad", "question", "answer"]
    core = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, unk_token="<unk>", eos_token="<eos>")
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(words), n_embd=16, n_layer=1, n_head=2, n_positions=32, num_labels=1)
    GPT2ForSequenceClassification(config).save_pretrained(tmp_path / "gpt")
    tokenizer.save_pretrained(tmp_path / "gpt")
    model, loaded = load_reward_model(tmp_path / "gpt")
    assert loaded.pad_token == "<eos>" and model.config.pad_token_id == 1
    scores = RewardModel(model, loaded, max_length=16).score("question", ["good answer", "bad", "answer good bad"])
    assert len(scores) == 3 and len(set(scores)) == 3


def test_cli_train_from_a_pair_file_then_score_json(home: Path, backbone: Path, tmp_path: Path) -> None:
    pairs = synthetic_file(tmp_path / "pairs.jsonl", 60, seed=4)
    runner = CliRunner()
    result = runner.invoke(app, ["train", "--pairs", str(pairs), "--backbone", str(backbone), "--epochs", "3",
                                 "--lr", "3e-3", "--max-length", "32", "--identity-pooler", "--foreign-negatives",
                                 "1", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "rm-0001: validation accuracy" in result.output and "first accepted version: active" in result.output
    card = json.loads((home / "reward_models" / "rm-0001" / "metrics.json").read_text())
    assert card["settings"]["max_length"] == 32 and card["data_snapshot"]["pairs"] == 360
    assert card["settings"]["identity_pooler"] is True and card["settings"]["foreign_negatives"] == 1
    for model in ("rm-0001", "active", str(home / "reward_models" / "rm-0001")):
        scored = runner.invoke(app, ["score", "--model", model, "--prompt", "question topic1", "--completion",
                                     "kind clear helpful", "--completion", "rude wrong vague", "--json"])
        assert scored.exit_code == 0, scored.output
        values = json.loads(scored.stdout)
        assert len(values) == 2 and values[0] > values[1]
    missing = runner.invoke(app, ["score", "--model", "rm-0042", "--prompt", "p", "--completion", "c"])
    assert missing.exit_code == 2 and "no reward model version rm-0042" in missing.output


@pytest.mark.parametrize(("content", "where"), [
    ('{"prompt": "p", "chosen": "a", "rejected": "b"}\n{"prompt": "p", "chosen": "a"}\n', ":2 field 'rejected'"),
    ('{"prompt": "p", "chosen": "a", "rejected": "b", "margin": null}\n[1, 2]\n', ":2: expected a JSON object"),
    ('{"prompt": "p", "completion_a": "a", "completion_b": "b", "label": "1"}\n', ":1 field 'label'"),
])
def test_cli_train_exits_2_on_a_bad_pair_file(home: Path, tmp_path: Path, content: str, where: str) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(content)
    result = CliRunner().invoke(app, ["train", "--pairs", str(bad), "--no-progress"])
    assert result.exit_code == 2
    assert f"error: {bad}{where}" in result.output
    assert not (home / "reward_models").exists() or not any((home / "reward_models").glob("rm-*"))


def test_train_arguments_are_checked(home: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    both = runner.invoke(app, ["train", "camp", "--pairs", str(tmp_path / "x.jsonl")])
    assert both.exit_code == 2 and "not both" in both.output
    bad_lr = runner.invoke(app, ["train", "--pairs", str(tmp_path / "x.jsonl"), "--lr", "0"])
    assert bad_lr.exit_code == 2 and "field 'lr'" in bad_lr.output
    no_model = runner.invoke(app, ["train", "--pairs", str(tmp_path / "x.jsonl"), "--backbone", str(tmp_path)])
    assert no_model.exit_code == 2 and "is not a local Hugging Face model folder" in no_model.output
    negative = runner.invoke(app, ["train", "--pairs", str(tmp_path / "x.jsonl"), "--foreign-negatives", "-1"])
    assert negative.exit_code == 2 and "field 'foreign-negatives'" in negative.output


def test_the_pooler_starts_as_the_identity_by_default_only_for_the_default_backbone() -> None:
    assert TrainConfig().resolved().identity_pooler is True  # all-MiniLM-L6-v2 ships its pooler untrained
    assert TrainConfig(backbone="./my-model").resolved().identity_pooler is False
    assert TrainConfig(identity_pooler=False).resolved().identity_pooler is False
    assert TrainConfig(backbone="./my-model", identity_pooler=True).resolved().identity_pooler is True


@pytest.mark.slow
def test_train_a_campaign_with_the_default_backbone_then_score_the_active_version(sqlite_url: str,
                                                                                  tmp_path: Path) -> None:
    """The one real-backbone test: all-MiniLM-L6-v2 from its package, a campaign's rankings from the tables."""
    from trainer.registry import list_versions
    from trainer.retrain import train_reward_model

    seeded = seed_campaign(sqlite_url, items=6, k=3)
    for item in seeded.items:
        add_ranking(sqlite_url, seeded, "a", item, [0, 1, 2])
        add_ranking(sqlite_url, seeded, "b", item, [0, 2, 1], ties=[False, False, True])
    version = train_reward_model(sqlite_url, tmp_path / "home", campaign=seeded.campaign, progress=False,
                                 config=TrainConfig(epochs=1, max_length=32, batch_prompts=4))
    assert (version.name, version.active, version.backbone) == ("rm-0001", True, "all-MiniLM-L6-v2")
    (row,) = list_versions(sqlite_url)
    assert row.campaign_id is not None and row.data_snapshot["source"] == f"campaign {seeded.campaign}"
    assert row.data_snapshot["pairs"] == 6 * 3 + 6 * 2 and row.data_snapshot["ties_or_self_pairs_left_out"] == 0
    assert not list((tmp_path / "home" / "reward_models" / ".checkpoints").glob("*.pt"))
    scores = RewardModel.load("active", home=tmp_path / "home", url=sqlite_url).score("prompt 0", [
        "answer 0.0", "answer 0.1", "answer 0.2"])
    assert len(scores) == 3 and all(isinstance(s, float) for s in scores)


def test_disable_dropout_turns_every_dropout_off(backbone: Path) -> None:
    groups, _ = build_groups(synthetic_pairs(8))
    model, tokenizer = load_reward_model(backbone)
    assert any(m.p > 0 for m in model.modules() if isinstance(m, torch.nn.Dropout))
    config = TrainConfig(backbone=str(backbone), disable_dropout=True, **{**FAST, "epochs": 1})
    train(model, tokenizer, groups[:6], groups[6:], config, progress=False)
    assert all(m.p == 0 for m in model.modules() if isinstance(m, torch.nn.Dropout))


def test_foreign_negatives_rank_answers_to_other_prompts_below_every_own_answer() -> None:
    groups, _ = build_groups(synthetic_pairs(10, k=4, seed=3))
    before = [(g.prompt, list(g.completions), list(g.pairs)) for g in groups]
    widened = with_foreign_negatives(groups, 2, seed=0)
    assert [(g.prompt, g.completions, g.pairs) for g in groups] == before  # the inputs are left alone
    assert with_foreign_negatives(groups, 2, seed=0) == widened and with_foreign_negatives(groups, 0, 0) == groups
    for group, original in zip(widened, groups, strict=True):
        own, foreign = group.completions[:4], group.completions[4:]
        assert own == original.completions and len(foreign) == 2
        others = {c for g in groups if g.prompt != group.prompt for c in g.completions}
        assert set(foreign) <= others
        assert group.pairs == original.pairs + [(mine, theirs, 0.0) for theirs in (4, 5) for mine in range(4)]
    with pytest.raises(InputError):
        TrainConfig(foreign_negatives=-1).validate()


def test_identity_pooler_passes_cls_through_tanh_and_saves_as_a_standard_model(backbone: Path,
                                                                              tmp_path: Path) -> None:
    model, tokenizer = load_reward_model(backbone)
    model.eval()
    identity_pooler(model)
    inputs = tokenizer(["question"], ["kind answer"], return_tensors="pt")
    with torch.no_grad():
        out = model.bert(**inputs)
    assert torch.allclose(out.pooler_output, torch.tanh(out.last_hidden_state[:, 0]))
    model.save_pretrained(tmp_path / "rm")
    tokenizer.save_pretrained(tmp_path / "rm")
    loaded, _ = load_reward_model(tmp_path / "rm")
    assert type(loaded) is type(model)
    assert torch.equal(loaded.bert.pooler.dense.weight, torch.eye(model.config.hidden_size))
    from transformers import GPT2Config, GPT2ForSequenceClassification

    with pytest.raises(ModelError, match="no square pooler"):
        identity_pooler(GPT2ForSequenceClassification(GPT2Config(n_embd=8, n_layer=1, n_head=2, num_labels=1)))


def test_a_seed_draws_the_same_fresh_reward_head(backbone: Path, tmp_path: Path) -> None:
    model, tokenizer = load_reward_model(backbone)
    model.bert.save_pretrained(tmp_path / "headless")  # a backbone without a reward head, like MiniLM's
    tokenizer.save_pretrained(tmp_path / "headless")
    first, _ = load_reward_model(tmp_path / "headless", seed=7)
    torch.rand(5)  # whatever ran before in the process
    second, _ = load_reward_model(tmp_path / "headless", seed=7)
    other, _ = load_reward_model(tmp_path / "headless", seed=8)
    assert torch.equal(first.classifier.weight, second.classifier.weight)
    assert not torch.equal(first.classifier.weight, other.classifier.weight)
