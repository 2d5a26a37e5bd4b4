"""A small planted crowd written straight into the tables (campaign, labelers, assignments, rankings), for the
consensus report tests: two regions that agree with each other except on the planted contested items, where
region "East" reverses the order, plus one spammer who always ranks in shown order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlmodel import col, select

from bot import campaigns
from bot.database import Database
from bot.labelers import PREFER_NOT_TO_SAY
from bot.prompt_files import CompletionRecord, PromptRecord
from storage.models import Assignment, Completion, Item, Labeler, Ranking

REGIONS = ["West", "East", "North"]


@dataclass
class Planted:
    campaign: str
    item_ids: list[int]
    completion_ids: dict[int, list[int]]  # item id -> completion ids in true order (best first)
    contested: list[int]  # item ids where East reverses the order
    labelers: dict[str, str]  # pseudonym -> "honest" | "in_order"


async def populate(database: Database, *, name: str = "planted", items: int = 12, contested: int = 3,
                   per_region: int = 3, undisclosed: int = 0, seed: int = 0) -> Planted:
    """`per_region` honest labelers in West and East rank every item; North has nobody (a region with no votes);
    `undisclosed` honest labelers "prefer not to say" their region."""
    rng = np.random.default_rng(seed)
    k = 4
    prompts = [PromptRecord(f"p{i}", f"Prompt <b>{i}</b> & friends") for i in range(items)]
    texts = [CompletionRecord(f"p{i}", [f"answer {i}.{j} <script>x</script>" for j in range(k)], "test-model")
             for i in range(items)]
    spec = campaigns.CampaignSpec(name=name, criterion="helpfulness", k=k, votes=2 * per_region + 1,
                                  regions=REGIONS)
    async with database.session() as session:
        await campaigns.create_campaign(session, spec, prompts, texts)
    async with database.session() as session, session.begin():
        rows = (await session.exec(select(Item.id, Completion.id).join(
            Completion, col(Completion.prompt_id) == col(Item.prompt_id)).order_by(
            col(Item.id), col(Completion.position)))).all()
        completion_ids: dict[int, list[int]] = {}
        for item_id, completion_id in rows:
            completion_ids.setdefault(item_id, []).append(completion_id)
        item_ids = sorted(completion_ids)
        planted = item_ids[:contested]
        people = [(region, "honest") for region in ("West", "East") for _ in range(per_region)]
        people += [(PREFER_NOT_TO_SAY, "honest")] * undisclosed
        people.append(("West", "in_order"))
        labelers = []
        for n, (region, kind) in enumerate(people):
            labeler = Labeler(platform="sim", workspace="test", user_id=f"u{n}", region=region, trust=None)
            session.add(labeler)
            labelers.append((labeler, kind))
        await session.flush()
        campaign_id = (await campaigns.get_campaign(session, name)).id
        start = datetime(2026, 1, 1, tzinfo=UTC)
        for a, item_id in enumerate(item_ids):
            truth = completion_ids[item_id]
            for b, (labeler, kind) in enumerate(labelers):
                shown = list(rng.permutation(truth))
                if kind == "in_order":
                    order = shown
                else:
                    order = list(reversed(truth)) if labeler.region == "East" and item_id in planted else list(truth)
                    if rng.random() < 0.15:  # a little honest noise: swap two neighbours
                        j = int(rng.integers(0, k - 1))
                        order[j], order[j + 1] = order[j + 1], order[j]
                when = start + timedelta(minutes=a * len(labelers) + b)
                assignment = Assignment(campaign_id=campaign_id, item_id=item_id, labeler_id=labeler.id,
                                        region=labeler.region, shown_order=[int(c) for c in shown],
                                        state="submitted", created_at=when)
                session.add(assignment)
                await session.flush()
                session.add(Ranking(assignment_id=assignment.id, campaign_id=campaign_id, item_id=item_id,
                                    labeler_id=labeler.id, region=labeler.region, best_first=[int(c) for c in order],
                                    ties=[False] * k, shown_order=[int(c) for c in shown], seconds=20.0,
                                    created_at=when))
        kinds = {labeler.pseudonym: kind for labeler, kind in labelers}
    return Planted(name, item_ids, completion_ids, planted, kinds)
