"""Benchmark: fixed votes against adaptive votes, on the simulator with its hidden truth, same items, same crowd,
same seed, same run. For each arm: the rankings it spends, how well the consensus (Bradley-Terry) recovers the
hidden order (mean Kendall tau, share of items whose top choice is right), and per region how well the region's
consensus recovers that region's hidden order, beside the report's within-region agreement.

    .venv/bin/python bench/adaptive_votes.py            # 120 items, k = 4, 3 regions, 30 labelers
    .venv/bin/python bench/adaptive_votes.py --items 60 # quicker

Goal: adaptive votes (3..9) reach the accuracy of fixed votes at the maximum (9) on at least 30% fewer rankings,
with per-region estimates no worse. Printed: the rankings ratio against every fixed arm and the accuracy
differences in that arm's standard errors, so a reader also sees where accuracy already saturates; then adaptive
minus fixed-9 over the same items with a 95% bootstrap interval, because the per-region figures rest on a third of
the rankings each and move by several hundredths between seeds.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.campaigns import CampaignSpec, create_campaign  # noqa: E402
from bot.consensus.aggregate import bradley_terry  # noqa: E402
from bot.consensus.analysis import analyze  # noqa: E402
from bot.consensus.campaign_data import load_rankings  # noqa: E402
from bot.consensus.metrics import rowwise_tau_b  # noqa: E402
from bot.consensus.truth import read_truth, truth_path  # noqa: E402
from bot.database import Database  # noqa: E402
from bot.prompt_files import CompletionRecord, PromptRecord  # noqa: E402
from bot.simulator import simulate  # noqa: E402
from storage.migrate import upgrade  # noqa: E402

K = 4
REGIONS = ["Africa", "Asia", "Europe"]
BOOTSTRAP = 2000  # resamples of the items for the paired intervals
TOPICS = ["keeping a house cool", "boiling an egg", "tracking monthly bills", "learning to swim", "growing tomatoes",
          "writing a cover letter", "fixing a flat bicycle tyre", "sleeping better", "saving for a holiday",
          "training a puppy", "cleaning a cast-iron pan", "starting to run", "planning a small wedding",
          "learning a language", "storing fresh herbs"]
OPENERS = ["Here is what works for {t}.", "For {t}, start simple.", "Sure! {t} is easier than it looks.",
           "Thank you for asking about {t}; I would recommend the following.", "ok so {t}, lol, here goes."]
ON = ["Pick one small step for {t} and do it today.", "Most people get {t} right by being patient.",
      "A short plan makes {t} much easier.", "Ask someone who has done {t} before.",
      "Write down what you tried for {t} and what happened."]


@dataclass(frozen=True)
class Arm:
    name: str
    votes: int
    votes_min: int | None = None


def texts_for(i: int, rng: np.random.Generator) -> tuple[str, list[str]]:
    """A prompt and k completions that differ in what the simulated crowd's judge reads: on or off topic,
    complete or cut, repeated, refused; and in length and formality, which regions weigh differently."""
    topic = TOPICS[i % len(TOPICS)]
    other = TOPICS[(i + 1 + int(rng.integers(len(TOPICS) - 1))) % len(TOPICS)]
    out = []
    for _ in range(K):
        subject = topic if rng.random() < 0.7 else other
        sentences = [rng.choice(OPENERS).format(t=subject)]
        sentences += [rng.choice(ON).format(t=subject) for _ in range(int(rng.integers(1, 4)))]
        text = " ".join(sentences)
        if rng.random() < 0.2:
            text = "I'm sorry, but I can't help with that."
        elif rng.random() < 0.25:
            text += "\n…"
        out.append(text)
    for j in range(K):  # k distinct answers
        if out[j] in out[:j]:
            out[j] += f" (Variant {j}.)"
    return f"How do I get better at {topic}? (question {i})", out


async def make_arm(database: Database, arm: Arm, items: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    prompts, completions = [], []
    for i in range(items):
        prompt, texts = texts_for(i, rng)
        prompts.append(PromptRecord(external_id=f"p{i}", text=prompt))
        completions.append(CompletionRecord(prompt_id=f"p{i}", texts=texts, model="bench"))
    spec = CampaignSpec(name=arm.name, criterion="helpfulness", k=K, votes=arm.votes, votes_min=arm.votes_min,
                        regions=REGIONS)
    async with database.session() as session:
        await create_campaign(session, spec, prompts, completions)


def ranks_of(order: np.ndarray) -> np.ndarray:
    ranks = np.empty_like(order, dtype=np.float64)
    ranks[np.arange(len(order))[:, None], order] = np.arange(1, order.shape[1] + 1)
    return ranks


async def measure(database: Database, arm: Arm, home: Path) -> dict:
    async with database.session() as session:
        loaded = await load_rankings(session, arm.name)
    rs = loaded.rankings
    truth = read_truth(truth_path(home, arm.name), rs)
    assert truth is not None
    consensus = ranks_of(bradley_terry(rs).order)
    tau = rowwise_tau_b(-consensus, -truth.true_ranks)
    top = consensus.argmin(axis=1) == truth.true_ranks.argmin(axis=1)
    analysis = analyze(rs, n_boot=50)
    regions = {}
    for r, name in enumerate(rs.region_names):
        part = rs.subset(rs.region == r)
        seen = np.bincount(part.item, minlength=rs.n_items) > 0
        region_tau = rowwise_tau_b(-ranks_of(bradley_terry(part).order)[seen], -truth.region_ranks[name][seen])
        per_item = np.full(rs.n_items, np.nan)
        per_item[seen] = region_tau
        regions[name] = {"tau": float(np.nanmean(region_tau)), "items": int(seen.sum()), "per_item": per_item,
                         "agreement": analysis.summary["regions"][name]["pairwise_agreement"]}
    return {"rankings": rs.n, "tau": float(np.nanmean(tau)), "tau_se": float(np.nanstd(tau) / np.sqrt(len(tau))),
            "top": float(top.mean()), "top_se": float(top.std() / np.sqrt(len(top))), "regions": regions,
            "per_item": {"tau": tau, "top": top.astype(float)}}


def paired_interval(a: np.ndarray, b: np.ndarray, n_boot: int = BOOTSTRAP) -> tuple[float, float, float]:
    """Mean of a minus mean of b over the same items, with a 95% interval from resampling items (both arms rank
    the same prompts, so an item's difficulty cancels out); NaN entries (a region that never ranked the item) are
    left out of either mean."""
    rng = np.random.default_rng(0)
    draws = rng.integers(len(a), size=(n_boot, len(a)))
    with np.errstate(invalid="ignore"):
        diffs = np.nanmean(a[draws], axis=1) - np.nanmean(b[draws], axis=1)
    low, high = np.nanpercentile(diffs, [2.5, 97.5])
    return float(np.nanmean(a) - np.nanmean(b)), float(low), float(high)


async def run(items: int, labelers: int, seed: int) -> dict[str, dict]:
    arms = [Arm("fixed-3", 3), Arm("fixed-5", 5), Arm("fixed-7", 7), Arm("fixed-9", 9), Arm("adaptive-3..9", 9, 3)]
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        upgrade(url)
        database = Database(url)
        try:
            for arm in tqdm(arms, desc="arms", unit="arm"):
                await make_arm(database, arm, items, seed)
                await simulate(database, arm.name, labelers=labelers, spammers=0.1, seed=seed, home=Path(folder))
                results[arm.name] = await measure(database, arm, Path(folder))
        finally:
            await database.dispose()
    return results


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def report(results: dict[str, dict]) -> None:
    print(f"\n  {'arm':<15} {'rankings':>8} {'mean tau':>15} {'top right':>15}   per region: tau with its hidden "
          f"order / within-region agreement")
    for name, r in results.items():
        regions = "  ".join(f"{region} {v['tau']:.3f}/{_num(v['agreement'])}" for region, v in r["regions"].items())
        print(f"  {name:<15} {r['rankings']:>8} {r['tau']:>7.3f} ± {r['tau_se']:.3f} {r['top']:>7.3f} ± "
              f"{r['top_se']:.3f}   {regions}")
    adaptive = results["adaptive-3..9"]
    print("\n  adaptive against each fixed arm: rankings ratio; accuracy difference (adaptive - fixed), in the fixed "
          "arm's standard errors")
    for name, r in results.items():
        if name.startswith("fixed"):
            tau, top = adaptive["tau"] - r["tau"], adaptive["top"] - r["top"]
            print(f"  {name:<15} {adaptive['rankings'] / r['rankings']:5.2f}x   tau {tau:+.3f} "
                  f"({tau / r['tau_se']:+.1f} s.e.)   top right {top:+.3f} ({top / r['top_se']:+.1f} s.e.)")
    strongest = results["fixed-9"]
    saving = 1 - adaptive["rankings"] / strongest["rankings"]
    same = (strongest["tau"] - adaptive["tau"] <= 2 * strongest["tau_se"]
            and strongest["top"] - adaptive["top"] <= 2 * strongest["top_se"])
    print(f"  against fixed-9 (the maximum): {saving:.0%} fewer rankings, accuracy within 2 s.e.: "
          f"{'yes' if same else 'NO'} (goal: >= 30% fewer at the same accuracy: "
          f"{'met' if saving >= 0.3 and same else 'MISSED'})")
    worse = [region for region, v in adaptive["regions"].items()
             if v["tau"] < strongest["regions"][region]["tau"] - 0.05]
    print(f"  per-region tau with the hidden regional order no worse than fixed-9 (within 0.05): "
          f"{'yes' if not worse else 'NO: ' + ', '.join(worse)}")
    print("\n  adaptive - fixed-9 over the same items, 95% interval from resampling items (an interval wholly below 0 "
          "is worse beyond sampling noise):")
    pairs = [("mean tau", adaptive["per_item"]["tau"], strongest["per_item"]["tau"]),
             ("top right", adaptive["per_item"]["top"], strongest["per_item"]["top"])]
    pairs += [(f"{region} tau", v["per_item"], strongest["regions"][region]["per_item"])
              for region, v in adaptive["regions"].items()]
    for label, a, b in pairs:
        diff, low, high = paired_interval(a, b)
        verdict = "worse beyond noise" if high < 0 else "better beyond noise" if low > 0 else "within noise"
        print(f"  {label:<15} {diff:+.3f}  [{low:+.3f}, {high:+.3f}]  {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=120)
    parser.add_argument("--labelers", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"{args.items} items, k={K}, regions {', '.join(REGIONS)}, {args.labelers} simulated labelers (10% "
          f"spammers), seed {args.seed}; adaptive: 3..9 votes, stop when P(one more ranking changes the top) < 0.05 "
          "and every region is heard")
    report(asyncio.run(run(args.items, args.labelers, args.seed)))


if __name__ == "__main__":
    main()
