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

    .venv/bin/python bench/adaptive_votes.py --oracle --seed 1   # fixed-9 only, then how much it could have saved

`--oracle` runs only the fixed-9 arm (the other arms do not enter the oracle; fixed-9 is the same campaign with the
same crowd and seed as in the default run) and takes each item's 9 rankings in the order they arrived (ranking id).
"Order" is the Bradley-Terry order, the consensus the accuracy figures use, computed per prefix for all items at
once. Printed, each as rankings spent and saving against all 9:
  1. overall order alone: per item the shortest prefix from which the overall order equals the full-9 order and
     stays equal for every longer prefix;
  2. whole items, every region kept: the same, but the overall order and every region's own order (from that
     region's rankings in the prefix alone; a region with none there is not equal) must all stay equal;
  3. each region stopping on its own: per item and region the fewest of that region's rankings, in its own arrival
     order, after which its order stays at its full value; summed over regions. An upper bound on the saving of
     any rule that keeps every region's order: it needs steering which region ranks an item next;
  4. the current rule replayed: the first prefix n >= 3 at which `bot.settledness.stop_decision` says stop, and
     its accuracy minus fixed-9's on the same rankings with the paired interval (the crowd's sampling noise cancels:
     identical rankings, only the stop differs).
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
from bot.consensus.data import RankingSet  # noqa: E402
from bot.consensus.metrics import rowwise_tau_b  # noqa: E402
from bot.consensus.truth import Truth, read_truth, truth_path  # noqa: E402
from bot.database import Database  # noqa: E402
from bot.prompt_files import CompletionRecord, PromptRecord  # noqa: E402
from bot.settledness import stop_decision  # noqa: E402
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


async def load(database: Database, arm: Arm, home: Path) -> tuple[RankingSet, Truth]:
    async with database.session() as session:
        loaded = await load_rankings(session, arm.name)
    truth = read_truth(truth_path(home, arm.name), loaded.rankings)
    assert truth is not None
    return loaded.rankings, truth


def accuracy(rs: RankingSet, truth: Truth) -> dict:
    """How well the Bradley-Terry consensus of these rankings recovers the hidden order, overall and per region
    (each region's consensus from its rankings alone, against that region's hidden order)."""
    consensus = ranks_of(bradley_terry(rs).order)
    tau = rowwise_tau_b(-consensus, -truth.true_ranks)
    top = consensus.argmin(axis=1) == truth.true_ranks.argmin(axis=1)
    regions = {}
    for r, name in enumerate(rs.region_names):
        part = rs.subset(rs.region == r)
        seen = np.bincount(part.item, minlength=rs.n_items) > 0
        region_tau = rowwise_tau_b(-ranks_of(bradley_terry(part).order)[seen], -truth.region_ranks[name][seen])
        per_item = np.full(rs.n_items, np.nan)
        per_item[seen] = region_tau
        regions[name] = {"tau": float(np.nanmean(region_tau)), "items": int(seen.sum()), "per_item": per_item}
    return {"rankings": rs.n, "tau": float(np.nanmean(tau)), "tau_se": float(np.nanstd(tau) / np.sqrt(len(tau))),
            "top": float(top.mean()), "top_se": float(top.std() / np.sqrt(len(top))), "regions": regions,
            "per_item": {"tau": tau, "top": top.astype(float)}}


async def measure(database: Database, arm: Arm, home: Path) -> dict:
    rs, truth = await load(database, arm, home)
    result = accuracy(rs, truth)
    analysis = analyze(rs, n_boot=50)
    for name, region in result["regions"].items():
        region["agreement"] = analysis.summary["regions"][name]["pairwise_agreement"]
    return result


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


def arrival(key: np.ndarray, ranking_ids: np.ndarray) -> np.ndarray:
    """Each ranking's place (0 = first) among the rankings with the same key, in submission order (ranking id:
    the simulator submits one ranking at a time, so id order is arrival order)."""
    order = np.lexsort((ranking_ids, key))
    ordered = key[order]
    place = np.empty(len(key), dtype=np.int64)
    place[order] = np.arange(len(key)) - np.searchsorted(ordered, ordered)
    return place


def orders(rs: RankingSet, mask: np.ndarray) -> np.ndarray:
    """Per item the Bradley-Terry order of the rankings in `mask` (the bench's consensus); -1s for an item with
    none of them, so a region without a ranking never equals a region with one."""
    consensus = bradley_terry(rs.subset(mask))
    return np.where(consensus.n[:, None] > 0, consensus.order, -1)


def first_stable(same: np.ndarray) -> np.ndarray:
    """(prefix lengths 1..max, items) "equals the full value" -> per item the shortest prefix from which it stays
    equal for every longer prefix (the last row, the full prefix, is equal by definition)."""
    stays = np.flip(np.logical_and.accumulate(np.flip(same, axis=0), axis=0), axis=0)
    return stays.argmax(axis=0) + 1


def replay(rs: RankingSet, place: np.ndarray, arm: Arm) -> np.ndarray:
    """Per item the rankings the adaptive arm's stop rule keeps of these, walked in arrival order: the first n >=
    MIN at which `stop_decision` (the submit path's own rule) says stop, else all."""
    names = np.array([None, *rs.region_names], dtype=object)[rs.region + 1]
    kept = rs.votes_per_item()
    for i in range(rs.n_items):
        rows = np.flatnonzero(rs.item == i)
        rows = rows[np.argsort(place[rows])]
        for n in range(arm.votes_min or 1, len(rows)):
            _, stops = stop_decision(rs.k - rs.ranks[rows[:n]], list(names[rows[:n]]), n, campaign_regions=REGIONS,
                                     votes=arm.votes, votes_min=arm.votes_min, rule=CampaignSpec.stop_rule,
                                     threshold=CampaignSpec.stop_threshold)  # the arms' campaigns take the defaults
            if stops:
                kept[i] = n
                break
    return kept


def oracle(rs: RankingSet, truth: Truth) -> None:
    """How many of fixed-9's own rankings each item needed, given the order they arrived in, for its consensus
    orders to reach their full-9 values and stay there; and the current stop rule replayed on the same rankings."""
    full_n, most = rs.votes_per_item(), int(rs.votes_per_item().max())
    place = arrival(rs.item, rs.ranking_ids)
    region_place = arrival(rs.item * (rs.n_regions + 1) + rs.region + 1, rs.ranking_ids)
    overall_full = orders(rs, np.ones(rs.n, dtype=bool))
    region_full = [orders(rs, rs.region == r) for r in range(rs.n_regions)]

    def kept(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per item: overall order equal to its full value; and every region's too."""
        overall = (orders(rs, mask) == overall_full).all(axis=1)
        every = overall & np.all([(orders(rs, mask & (rs.region == r)) == full).all(axis=1)
                                  for r, full in enumerate(region_full)], axis=0)
        return overall, every

    prefixes = [kept(place < n) for n in range(1, most + 1)]
    overall_n = np.minimum(first_stable(np.array([overall for overall, _ in prefixes])), full_n)
    every_n = np.minimum(first_stable(np.array([every for _, every in prefixes])), full_n)
    own_n, own_mask = np.zeros(rs.n_items, dtype=np.int64), np.zeros(rs.n, dtype=bool)
    for r, full in enumerate(region_full):  # rankings without a region serve no region's order: left out here
        mine = rs.region == r
        same = [(orders(rs, mine & (region_place < m)) == full).all(axis=1) for m in range(1, most + 1)]
        need = np.minimum(first_stable(np.array(same)), np.bincount(rs.item[mine], minlength=rs.n_items))
        own_n += need
        own_mask |= mine & (region_place < need[rs.item])
    rule_n = replay(rs, place, Arm("adaptive-3..9", 9, 3))
    bounds = [("1 overall order alone", overall_n, place < overall_n[rs.item]),
              ("2 whole items, every region kept", every_n, place < every_n[rs.item]),
              ("3 each region stopping on its own", own_n, own_mask),
              ("4 current rule replayed", rule_n, place < rule_n[rs.item])]
    print(f"\n  oracle on fixed-9's own {rs.n} rankings of {rs.n_items} items, each item's in arrival order; "
          "order = Bradley-Terry order, as for accuracy")
    print(f"  {'bound':<36} {'rankings':>8} {'saving':>7}   items whose order equals full-9's: overall / overall and "
          "every region")
    for label, n, mask in bounds:
        overall, every = kept(mask)
        print(f"  {label:<36} {int(n.sum()):>8} {1 - n.sum() / full_n.sum():>7.1%}   {overall.mean():.3f} / "
              f"{every.mean():.3f}")
    full = accuracy(rs, truth)
    replayed = accuracy(rs.subset(bounds[3][2]), truth)
    for label, r in (("fixed-9, all", full), ("rule replayed", replayed)):
        regions = "  ".join(f"{region} {v['tau']:.3f}" for region, v in r["regions"].items())
        print(f"  {label:<15} {r['rankings']:>5} rankings  tau {r['tau']:.3f} ± {r['tau_se']:.3f}  top right "
              f"{r['top']:.3f} ± {r['top_se']:.3f}  per region tau: {regions}")
    print("\n  rule replayed - fixed-9 on the same rankings, 95% interval from resampling items:")
    report_pairs(replayed, full)


async def run(items: int, labelers: int, seed: int, with_oracle: bool = False) -> dict[str, dict]:
    """Every arm, measured; with `with_oracle` only fixed-9, and the oracle printed instead."""
    arms = [Arm("fixed-3", 3), Arm("fixed-5", 5), Arm("fixed-7", 7), Arm("fixed-9", 9), Arm("adaptive-3..9", 9, 3)]
    if with_oracle:
        arms = [arm for arm in arms if arm.name == "fixed-9"]
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        upgrade(url)
        database = Database(url)
        try:
            for arm in tqdm(arms, desc="arms", unit="arm"):
                await make_arm(database, arm, items, seed)
                await simulate(database, arm.name, labelers=labelers, spammers=0.1, seed=seed, home=Path(folder))
                if with_oracle:
                    oracle(*await load(database, arm, Path(folder)))
                else:
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
    report_pairs(adaptive, strongest)


def report_pairs(adaptive: dict, strongest: dict) -> None:
    """`adaptive` minus `strongest` per item (overall and per region) with the paired interval, one line each."""
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
    parser.add_argument("--oracle", action="store_true",
                        help="run fixed-9 only and print how much its own rankings could have been cut (see oracle)")
    args = parser.parse_args()
    print(f"{args.items} items, k={K}, regions {', '.join(REGIONS)}, {args.labelers} simulated labelers (10% "
          f"spammers), seed {args.seed}; adaptive: 3..9 votes, stop when P(one more ranking changes the top) < 0.05 "
          "and every region is heard")
    if args.oracle:
        asyncio.run(run(args.items, args.labelers, args.seed, with_oracle=True))
    else:
        report(asyncio.run(run(args.items, args.labelers, args.seed)))


if __name__ == "__main__":
    main()
