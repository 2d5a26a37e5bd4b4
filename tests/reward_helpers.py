"""Helpers for the reward-model tests: a tiny random BERT built on the spot (no download) and synthetic pairs
with a preference it can learn (completions with "good" words beat those with "bad" words)."""

from __future__ import annotations

import random
from pathlib import Path

from trainer.pair_files import Pair, write_pairs

GOOD = ["kind", "clear", "helpful", "polite", "correct"]
BAD = ["rude", "wrong", "vague", "harmful", "lazy"]
FILLER = ["the", "answer", "is", "very", "quite", "and", "so", "it", "reply"]
TOPICS = [f"topic{i}" for i in range(40)]


def tiny_backbone(folder: Path) -> Path:
    """A 2-layer, 32-wide random BERT with a word-level vocabulary, saved as a local Hugging Face folder."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *GOOD, *BAD, *FILLER, *TOPICS, "question"]
    tokenizer = BertTokenizerFast(vocab={word: index for index, word in enumerate(vocab)}, do_lower_case=True)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64, num_labels=1)
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def synthetic_pairs(prompts: int, k: int = 4, seed: int = 0) -> list[Pair]:
    """K completions per prompt with 0..k-1 good words; more good words is better; all K-choose-2 pairs."""
    rng = random.Random(seed)
    pairs = []
    for number in range(prompts):
        prompt = f"question {TOPICS[number % len(TOPICS)]} {rng.choice(FILLER)}"
        completions = []
        for good in range(k):
            words = rng.sample(GOOD, good) + rng.sample(BAD, k - 1 - good) + rng.sample(FILLER, 3)
            rng.shuffle(words)
            completions.append(" ".join(words))
        for better in range(k - 1, -1, -1):
            for worse in range(better - 1, -1, -1):
                pairs.append(Pair(prompt, completions[better], completions[worse], item_id=number))
    return pairs


def synthetic_file(path: Path, prompts: int, k: int = 4, seed: int = 0, fmt: str = "trl") -> Path:
    write_pairs(synthetic_pairs(prompts, k, seed), path, fmt)
    return path
