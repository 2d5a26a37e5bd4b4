"""Sample k distinct completions per prompt from an instruct model, several prompts per forward pass.

Batching is the speed: prompts are wrapped in the model's chat template, left-padded into one batch, and each
is expanded to k samples with `num_return_sequences`, so one `generate` call writes k × len(prompts) answers.
A ranking needs k *different* answers, so empty or repeated ones are sampled again (a bounded number of times).
An answer the token budget cut off (no end-of-text token) is trimmed to its last full sentence and marked with
CUT_MARK, so a labeler never reads a sentence that stops in the middle without being told.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import asdict, dataclass
from typing import Any

from bot.errors import InputError, ModelError

MAX_ATTEMPTS = 4  # first try + re-samples for empty or repeated completions
CUT_MARK = "…"
SENTENCE_END = re.compile(r"(?:(?<!\d)\.|[!?])[\"')\]*]*(?=\s|$)")  # not the "3." of a numbered list
MIN_KEPT = 0.3  # trim to the last sentence only if that keeps this share of the text; else mark the cut as is


@dataclass(frozen=True)
class SamplingSettings:
    """How completions are sampled; stored with each completion together with the model id."""

    max_new_tokens: int = 96
    temperature: float = 0.7
    top_p: float = 0.9
    seed: int = 0
    system: str | None = None  # a system turn before each prompt (the demo asks for short, whole answers)

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise InputError(f"must be at least 1, got {self.max_new_tokens}", field="max_new_tokens")
        if not self.temperature > 0:
            raise InputError(f"must be above 0, got {self.temperature}", field="temperature")
        if not 0 < self.top_p <= 1:
            raise InputError(f"must be in (0, 1], got {self.top_p}", field="top_p")

    def record(self, model_id: str) -> dict[str, Any]:
        return {"model": model_id, **asdict(self)}


def end_at_sentence(text: str) -> str:
    """A cut-off answer ended at its last full sentence, then CUT_MARK on a line of its own."""
    text = text.rstrip()
    ends = [match.end() for match in SENTENCE_END.finditer(text)]
    if ends and ends[-1] >= MIN_KEPT * len(text):
        text = text[:ends[-1]]
    return f"{text}\n{CUT_MARK}" if text else text


def normalized(text: str) -> str:
    """What makes two completions "identical": the same words, whatever the spacing."""
    return " ".join(text.split())


class CompletionSampler:
    """Turns prompts into k distinct, non-empty completions each.

    `sample_raw` is the one place that runs the model; `sample` adds the de-duplication around it.
    """

    def __init__(self, model: Any, tokenizer: Any, model_id: str, settings: SamplingSettings,
                 *, max_attempts: int = MAX_ATTEMPTS) -> None:
        self.model, self.tokenizer, self.model_id, self.settings = model, tokenizer, model_id, settings
        self.max_attempts = max_attempts
        if not getattr(tokenizer, "chat_template", None):
            raise ModelError(f"model {model_id} has no chat template; use an instruct (chat) model")
        self.tokenizer.padding_side = "left"  # generation continues from the right end of every row
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token

    @property
    def record(self) -> dict[str, Any]:
        return self.settings.record(self.model_id)

    def chat_text(self, prompt: str) -> str:
        """The prompt as the model was trained to see a user turn, ending where the assistant's answer starts."""
        system = [{"role": "system", "content": self.settings.system}] if self.settings.system else []
        return self.tokenizer.apply_chat_template([*system, {"role": "user", "content": prompt}], tokenize=False,
                                                  add_generation_prompt=True)

    def sample(self, prompts: list[str], k: int) -> list[list[str]]:
        """k distinct non-empty completions for each prompt, in prompt order; `ModelError` if the model keeps
        repeating itself or answering with nothing."""
        kept: list[list[str]] = [[] for _ in prompts]
        seen: list[set[str]] = [set() for _ in prompts]
        for attempt in range(self.max_attempts):
            short = [i for i in range(len(prompts)) if len(kept[i]) < k]
            if not short:
                break
            wanted = max(k - len(kept[i]) for i in short)
            outputs = self.sample_raw([prompts[i] for i in short], wanted,
                                      seed=self.batch_seed([prompts[i] for i in short], attempt))
            for i, texts in zip(short, outputs, strict=True):
                for text in texts:
                    key = normalized(text)
                    if key and key not in seen[i] and len(kept[i]) < k:
                        seen[i].add(key)
                        kept[i].append(text.strip())
        for prompt, texts in zip(prompts, kept, strict=True):
            if len(texts) < k:
                raise ModelError(
                    f"model {self.model_id} gave only {len(texts)} distinct non-empty completions of {k} for "
                    f"prompt {prompt[:60]!r} after {self.max_attempts} attempts; raise --temperature or "
                    f"--max-new-tokens")
        return kept

    def batch_seed(self, prompts: list[str], attempt: int) -> int:
        """A seed fixed by the settings' seed, the batch's prompts and the attempt: the same run gives the same
        completions, and a re-sample does not draw the same ones again."""
        key = "\x1f".join([str(self.settings.seed), str(attempt), *prompts]).encode()
        return zlib.crc32(key)

    def sample_raw(self, prompts: list[str], n: int, *, seed: int) -> list[list[str]]:
        """One `generate` call: n samples for each prompt, decoded, with no checks."""
        import torch

        torch.manual_seed(seed)
        batch = self.tokenizer([self.chat_text(p) for p in prompts], return_tensors="pt", padding=True,
                               add_special_tokens=False)
        with torch.inference_mode():
            output = self.model.generate(
                **batch, do_sample=True, temperature=self.settings.temperature, top_p=self.settings.top_p,
                max_new_tokens=self.settings.max_new_tokens, num_return_sequences=n,
                pad_token_id=self.tokenizer.pad_token_id)
        generated = output[:, batch["input_ids"].shape[1]:]
        texts = self.tokenizer.batch_decode(generated, skip_special_tokens=True)
        stops = self.model.generation_config.eos_token_id
        stops = torch.tensor(stops if isinstance(stops, list) else [stops] if stops is not None else [])
        finished = torch.isin(generated, stops).any(dim=1).tolist()
        texts = [text if done else end_at_sentence(text) for text, done in zip(texts, finished, strict=True)]
        return [texts[i * n:(i + 1) * n] for i in range(len(prompts))]


def sampler_for(loaded: Any, settings: SamplingSettings) -> CompletionSampler:
    """A sampler over an `InstructModel` (see trainer.instruct_model)."""
    return CompletionSampler(loaded.model, loaded.tokenizer, loaded.model_id, settings)
