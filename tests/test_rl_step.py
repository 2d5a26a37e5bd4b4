"""The RL step consuming crowd preferences: a real `trl.GRPOTrainer` runs two steps on the bundled SmolLM2 with
`crowd_reward` twice, in this process and through the HTTP service, which must agree on every completion it
generated. Plus `crowd_reward` on plain and conversational input."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import torch

from tests.reward_helpers import tiny_backbone
from trainer.backbone import default_backbone
from trainer.rewards import crowd_reward
from trainer.score import RewardModel
from trainer.serving.app import create_app
from trainer.serving.server import running, service_for

PROMPT = "My house is too hot. What can I do?"
REPLIES = ["Open the windows at night and close the blinds by day.", "Buy a new house."]


def test_crowd_reward_scores_plain_and_conversational_completions_alike(tmp_path: Path) -> None:
    model = RewardModel.load(tiny_backbone(tmp_path / "bert"))
    expected = model.score("question topic1", ["kind clear answer", "rude wrong"])
    local = crowd_reward(model=model)
    plain = local(prompts=["question topic1"] * 2, completions=["kind clear answer", "rude wrong"])
    chat = local(prompts=[[{"role": "system", "content": "be brief"}, {"role": "user", "content": "question topic1"}]]
                 * 2, completions=[[{"role": "assistant", "content": "kind clear answer"}],
                                   [{"role": "assistant", "content": "rude wrong"}]], trainer_state=None)
    assert plain == pytest.approx(expected, abs=1e-6) and chat == pytest.approx(expected, abs=1e-6)
    with running(create_app(service_for(model))) as base:
        remote = crowd_reward(url=base)(prompts=["question topic1"] * 2, completions=["kind clear answer",
                                                                                       "rude wrong"])
    assert remote == pytest.approx(expected, abs=1e-5)
    with pytest.raises(ValueError, match="not both"):
        crowd_reward(model=model, url="http://127.0.0.1:9")


@pytest.mark.slow
def test_grpo_steps_on_smollm2_with_crowd_rewards_local_and_over_http(tmp_path: Path) -> None:
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from trainer.instruct_model import load_instruct_model

    torch.manual_seed(0)  # the reward head on all-MiniLM-L6-v2 is new: the same seed, the same rewards
    reward_model = RewardModel.load(default_backbone())
    policy = load_instruct_model("default", cache_dir=tmp_path / "models")  # de-quantized once, saved plain
    dataset = Dataset.from_dict({"prompt": [[{"role": "user", "content": PROMPT}],
                                            [{"role": "user", "content": "How do I boil an egg?"}]]})
    config = GRPOConfig(output_dir=str(tmp_path / "grpo"), max_steps=2, per_device_train_batch_size=4,
                        num_generations=2, max_completion_length=8, learning_rate=1e-5, logging_steps=1,
                        use_cpu=True, bf16=False, report_to="none", save_strategy="no", seed=0)
    service = service_for(reward_model)
    with running(create_app(service)) as base:
        trainer = GRPOTrainer(model=str(policy.folder), processing_class=policy.tokenizer, args=config,
                              train_dataset=dataset,
                              reward_funcs=[crowd_reward(model=reward_model), crowd_reward(url=base)])
        trainer.train()
        served = httpx.get(f"{base}/healthz").json()
    assert trainer.state.global_step == 2 and served["batches"] >= 2
    logged = [entry for entry in trainer.state.log_history if "rewards/crowd_reward/mean" in entry]
    assert len(logged) == 2
    for entry in logged:  # the service scored every generated completion exactly as the local function did
        assert entry["rewards/crowd_reward_remote/mean"] == pytest.approx(entry["rewards/crowd_reward/mean"],
                                                                           abs=1e-4)
        assert entry["rewards/crowd_reward/std"] > 0  # real, different completions got different rewards
