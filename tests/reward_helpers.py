"""Helpers for the pairs and reward-model tests: a tiny random BERT built on the spot (no download), synthetic
pairs with a preference it can learn (completions with "good" words beat those with "bad" words), and a campaign
with rankings inserted straight into the tables."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session, select

from storage.engine import make_sync_engine
from storage.models import Assignment, Campaign, Completion, Item, Labeler, Prompt, Ranking
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


@dataclass
class Seeded:
    campaign: str
    items: list[int] = field(default_factory=list)
    completions: dict[int, list[int]] = field(default_factory=dict)  # item id -> completion ids, position order
    texts: dict[int, str] = field(default_factory=dict)  # completion id -> text
    labelers: dict[str, str] = field(default_factory=dict)  # name -> pseudonym
    rankings: list[int] = field(default_factory=list)


def seed_campaign(url: str, *, items: int = 2, k: int = 4, trust: dict[str, float | None] | None = None) -> Seeded:
    """A campaign with `items` items of k completions and labelers a, b, c (trust as given), no rankings yet."""
    trust = trust if trust is not None else {"a": 0.9, "b": 0.2, "c": None}
    seeded = Seeded("pairs-test")
    engine = make_sync_engine(url)
    with Session(engine) as session:
        campaign = Campaign(name=seeded.campaign, criterion="helpfulness", k=k, votes=3, regions=["Asia", "Europe"])
        session.add(campaign)
        session.flush()
        for number in range(items):
            prompt = Prompt(campaign_id=campaign.id, external_id=f"p{number}", text=f"prompt {number}")
            session.add(prompt)
            session.flush()
            rows = [Completion(prompt_id=prompt.id, position=p, text=f"answer {number}.{p}", model="m")
                    for p in range(k)]
            session.add_all(rows)
            item = Item(campaign_id=campaign.id, prompt_id=prompt.id)
            session.add(item)
            session.flush()
            seeded.items.append(item.id)
            seeded.completions[item.id] = [row.id for row in rows]
            seeded.texts.update({row.id: row.text for row in rows})
        for name, value in trust.items():
            labeler = Labeler(platform="sim", workspace="w", user_id=name, trust=value, region="Asia")
            session.add(labeler)
            session.flush()
            seeded.labelers[name] = labeler.pseudonym
        session.commit()
    engine.dispose()
    return seeded


def add_ranking(url: str, seeded: Seeded, labeler: str, item: int, order: list[int], ties: list[bool] | None = None,
                flags: dict[str, str] | None = None, region: str = "Asia") -> int:
    """Store one ranking of `item`: `order` lists completion positions best first."""
    engine = make_sync_engine(url)
    with Session(engine) as session:
        campaign_id = session.get(Item, item).campaign_id
        labeler_id = session.exec(select(Labeler.id).where(Labeler.user_id == labeler)).one()
        best_first = [seeded.completions[item][p] for p in order]
        assignment = Assignment(campaign_id=campaign_id, item_id=item, labeler_id=labeler_id, region=region,
                                shown_order=best_first, state="submitted")
        session.add(assignment)
        session.flush()
        ranking = Ranking(assignment_id=assignment.id, campaign_id=campaign_id, item_id=item,
                          labeler_id=labeler_id, region=region, best_first=best_first,
                          ties=ties or [False] * len(order), flags=flags or {}, shown_order=best_first)
        session.add(ranking)
        session.commit()
        seeded.rankings.append(ranking.id)
        ranking_id = ranking.id
    engine.dispose()
    return ranking_id
