"""Crowd preferences as a TRL reward function: `crowd_reward(model=...)` scores in this process,
`crowd_reward(url=...)` asks the reward model service. Either returns `f(prompts, completions, **kwargs)`, TRL's
signature (GRPOTrainer, RLOOTrainer), one float per completion.

TRL passes plain text, or for a conversational dataset lists of {"role", "content"} messages. The reward model
was trained on (prompt text, reply text), so a conversation becomes that: the prompt is its non-system messages'
text (one user turn in the usual case), the completion its assistant messages' text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from trainer.score import RewardModel

Text = str | Sequence[dict[str, Any]]
REQUEST_ITEMS = 256  # completions per request to the service: well under its default bound of 512


def as_text(value: Text, *, roles: tuple[str, ...]) -> str:
    """Plain text as it is; messages reduced to the text of those with one of `roles`."""
    if isinstance(value, str):
        return value
    return "\n\n".join(str(m.get("content") or "") for m in value if m.get("role") in roles)


def crowd_reward(model: RewardModel | str | Path | None = None, *, url: str | None = None,
                 home: Path | None = None, db_url: str | None = None, timeout: float = 120.0,
                 batch_size: int = 32) -> Callable[..., list[float]]:
    """A TRL reward function. `model`: a loaded `RewardModel`, a version name with `home`, `active` with
    `db_url`, or a folder. `url`: the base URL of `crowdrank serve --reward-model`."""
    if (model is None) == (url is None):
        raise ValueError("crowd_reward needs a model or a url, not both and not neither")
    if url is not None:
        score = _remote(url, timeout)
    else:
        assert model is not None  # checked above: exactly one of model and url
        local = model if isinstance(model, RewardModel) else RewardModel.load(model, home=home, url=db_url)

        def score(prompts: list[str], completions: list[str]) -> list[float]:
            return local.score_rows(prompts, completions, batch_size)

    def crowd_reward(prompts: Sequence[Text], completions: Sequence[Text], **_kwargs: Any) -> list[float]:
        return score([as_text(p, roles=("user", "assistant")) for p in prompts],
                     [as_text(c, roles=("assistant",)) for c in completions])

    crowd_reward.__name__ = "crowd_reward" if url is None else "crowd_reward_remote"  # TRL's metric names
    return crowd_reward


def _remote(url: str, timeout: float) -> Callable[[list[str], list[str]], list[float]]:
    import httpx

    client = httpx.Client(base_url=url.rstrip("/"), timeout=timeout)

    def score(prompts: list[str], completions: list[str]) -> list[float]:
        scores: list[float] = []
        for start in range(0, len(completions), REQUEST_ITEMS):
            items = [{"prompt": p, "completions": [c]} for p, c in
                     zip(prompts[start:start + REQUEST_ITEMS], completions[start:start + REQUEST_ITEMS], strict=True)]
            answer = client.post("/v1/score", json=items)
            if answer.status_code != 200:
                raise RuntimeError(f"reward model service {url}: {answer.status_code} {answer.text[:200]}")
            scores += [result[0] for result in answer.json()["results"]]
        return scores

    return score
