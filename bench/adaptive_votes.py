"""Benchmark: fixed votes against adaptive votes, on the simulator with its hidden truth, same items, same crowd,
same seed, same run. For each arm: the rankings it spends, how well the consensus (Bradley-Terry) recovers the
hidden order (mean Kendall tau, share of items whose top choice is right), and per region how well the region's
estimate recovers that region's hidden order: the report's pooled estimate (`pooled_region_consensus`, other
regions' rankings at the weight they earn) and, beside it, the region's rankings alone.

    .venv/bin/python bench/adaptive_votes.py                        # seeds 0-3, 120 items each, k = 4, 3 regions
    .venv/bin/python bench/adaptive_votes.py --seeds 0 --items 60   # quicker
    .venv/bin/python bench/adaptive_votes.py --agreement-reference  # also each region's agreement against a dense arm

Goal: adaptive votes (3..9) reach the accuracy of fixed votes at the maximum (9) on at least 30% fewer rankings,
with per-region estimates no worse. Every arm runs once per seed (another crowd and other prompts each); the goal
is judged on all seeds' items together, adaptive minus fixed-9 item by item with a 95% bootstrap interval: "no
worse" means no interval wholly below 0. One seed's per-region figures rest on a third of 120 items' rankings and
move by several hundredths between seeds; four seeds halve the interval.

The agreement reference (`dense`: every labeler ranks every item) shows what the per-region agreement figures of
the report cost: an adaptive arm can measure agreement within a region only on items that took two rankings or
more from it, the ones its first rankings left unsettled, so its figure reads lower.

    .venv/bin/python bench/adaptive_votes.py --oracle --seeds 1  # fixed-9 only, then how much it could have saved

`--oracle` runs only the fixed-9 arm, once per seed (the other arms do not enter the oracle; fixed-9 is the same
campaign with the same crowd and seed as in the default run) and takes each item's 9 rankings in the order they
arrived (ranking id). "Order" is the Bradley-Terry order, the consensus the accuracy figures use, computed per
prefix for all items at once. Printed, each as rankings spent and saving against all 9:
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
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.campaigns import CampaignSpec, create_campaign  # noqa: E402
from bot.consensus.aggregate import bradley_terry  # noqa: E402
from bot.consensus.campaign_data import load_rankings  # noqa: E402
from bot.consensus.data import RankingSet  # noqa: E402
from bot.consensus.metrics import rowwise_tau_b  # noqa: E402
from bot.consensus.regions import arrival, pooled_region_consensus, region_matrix  # noqa: E402
from bot.consensus.truth import Truth, read_truth, truth_path  # noqa: E402
from bot.database import Database  # noqa: E402
from bot.prompt_files import CompletionRecord, PromptRecord  # noqa: E402
from bot.settledness import STOP_RULES, stop_decision  # noqa: E402
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
    stop_rule: str = CampaignSpec.stop_rule
    stop_threshold: float = CampaignSpec.stop_threshold


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
                        stop_rule=arm.stop_rule, stop_threshold=arm.stop_threshold,
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
    """How well the Bradley-Terry consensus of these rankings recovers the hidden order, overall and per region,
    each region's against that region's hidden order: its consensus from its own rankings alone ("own"), and the
    report's pooled one, which counts other regions' rankings at the weight they earn (`pooled_region_consensus`)."""
    consensus = ranks_of(bradley_terry(rs).order)
    tau = rowwise_tau_b(-consensus, -truth.true_ranks)
    top = consensus.argmin(axis=1) == truth.true_ranks.argmin(axis=1)
    regions: dict[str, dict[str, np.ndarray]] = {}
    for r, name in enumerate(rs.region_names):
        seen = np.bincount(rs.item[rs.region == r], minlength=rs.n_items) > 0
        estimates = {"own": bradley_terry(rs.subset(rs.region == r)), "pooled": pooled_region_consensus(rs, r)[0]}
        regions[name] = {}
        for label, orders in estimates.items():
            per_item = np.full(rs.n_items, np.nan)
            per_item[seen] = rowwise_tau_b(-ranks_of(orders.order)[seen], -truth.region_ranks[name][seen])
            regions[name][label] = per_item
    return {"rankings": rs.n, "tau": tau, "top": top.astype(float), "regions": regions}


def summary(per_item: np.ndarray) -> tuple[float, float]:
    """Mean over items and its standard error (items without a value left out)."""
    values = per_item[~np.isnan(per_item)]
    return float(values.mean()), float(values.std() / np.sqrt(len(values)))


async def measure(database: Database, arm: Arm, home: Path) -> dict:
    """The arm's accuracy, and the agreement within and between regions as the report computes it (`region_matrix`;
    an adaptive arm counts only each item's first MIN rankings between regions, as its report does)."""
    rs, truth = await load(database, arm, home)
    result = accuracy(rs, truth)
    result["agreement"] = region_matrix(rs, arm.votes_min).agreement
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
                                     votes=arm.votes, votes_min=arm.votes_min, rule=arm.stop_rule,
                                     threshold=arm.stop_threshold)
            if stops:
                kept[i] = n
                break
    return kept


def oracle(rs: RankingSet, truth: Truth) -> None:
    """How many of fixed-9's own rankings each item needed, given the order they arrived in, for its consensus
    orders to reach their full-9 values and stay there; and the current stop rule replayed on the same rankings."""
    full_n, most = rs.votes_per_item(), int(rs.votes_per_item().max())
    place = arrival(rs)  # the simulator submits one ranking at a time: ranking id order is arrival order
    region_place = arrival(rs, rs.item * (rs.n_regions + 1) + rs.region + 1)
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
    whole = accuracy(rs, truth)
    replayed = accuracy(rs.subset(bounds[3][2]), truth)
    print_arms({"fixed-9, all": whole, "rule replayed": replayed})
    print("\n  rule replayed - fixed-9 on the same rankings, 95% interval from resampling items:")
    report_pairs(replayed, whole)


FIXED = [Arm("fixed-3", 3), Arm("fixed-5", 5), Arm("fixed-7", 7), Arm("fixed-9", 9)]
ADAPTIVE = "adaptive-3..9"
REFERENCE = "dense"  # the arm in which every labeler ranks every item (10 a region): agreement's reference


async def run(items: int, labelers: int, seed: int, arms: list[Arm], with_oracle: bool = False) -> dict[str, dict]:
    """These arms for one seed, measured; with `with_oracle` the oracle is printed for each instead."""
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        upgrade(url)
        database = Database(url)
        try:
            for arm in tqdm(arms, desc=f"seed {seed}", unit="arm", leave=False):
                await make_arm(database, arm, items, seed)
                await simulate(database, arm.name, labelers=labelers, spammers=0.1, seed=seed, home=Path(folder))
                if with_oracle:
                    oracle(*await load(database, arm, Path(folder)))
                else:
                    results[arm.name] = await measure(database, arm, Path(folder))
        finally:
            await database.dispose()
    return results


def pool(per_seed: list[dict[str, dict]]) -> dict[str, dict]:
    """Each arm's results over all seeds as one: rankings summed, per-item arrays joined (a seed's items are
    other prompts with another crowd), agreement matrices kept per seed."""
    pooled = {}
    for name, first in per_seed[0].items():
        runs = [results[name] for results in per_seed]
        pooled[name] = {
            "rankings": sum(r["rankings"] for r in runs),
            "tau": np.concatenate([r["tau"] for r in runs]), "top": np.concatenate([r["top"] for r in runs]),
            "regions": {region: {label: np.concatenate([r["regions"][region][label] for r in runs])
                                 for label in estimates} for region, estimates in first["regions"].items()},
            "agreement": np.array([r["agreement"] for r in runs])}
    return pooled


def print_arms(results: dict[str, dict]) -> None:
    print(f"  {'arm':<15} {'rankings':>8} {'mean tau':>15} {'top right':>15}   per region tau with its hidden order: "
          "pooled estimate (own rankings alone)")
    for name, r in results.items():
        (tau, tau_se), (top, top_se) = summary(r["tau"]), summary(r["top"])
        regions = "  ".join(f"{region} {summary(v['pooled'])[0]:.3f} ({summary(v['own'])[0]:.3f})"
                            for region, v in r["regions"].items())
        print(f"  {name:<15} {r['rankings']:>8} {tau:>7.3f} ± {tau_se:.3f} {top:>7.3f} ± {top_se:.3f}   {regions}")


def report(per_seed: list[dict[str, dict]], seeds: list[int]) -> None:
    for seed, results in zip(seeds, per_seed, strict=True):
        print(f"\nseed {seed}")
        print_arms(results)
    results = pool(per_seed)
    adaptive, strongest = results[ADAPTIVE], results["fixed-9"]
    print(f"\nseeds {', '.join(map(str, seeds))} together ({len(strongest['tau'])} items an arm)")
    print_arms(results)
    print("\n  adaptive against each fixed arm: rankings ratio; accuracy difference (adaptive - fixed), in the fixed "
          "arm's standard errors")
    for name, r in results.items():
        if name.startswith("fixed"):
            tau, top = (summary(adaptive[key])[0] - summary(r[key])[0] for key in ("tau", "top"))
            print(f"  {name:<15} {adaptive['rankings'] / r['rankings']:5.2f}x   tau {tau:+.3f} "
                  f"({tau / summary(r['tau'])[1]:+.1f} s.e.)   top right {top:+.3f} ({top / summary(r['top'])[1]:+.1f} "
                  "s.e.)")
    print("\n  adaptive - fixed-9 over the same items, 95% interval from resampling items (an interval wholly below 0 "
          "is worse beyond sampling noise):")
    verdicts = report_pairs(adaptive, strongest)
    saving = 1 - adaptive["rankings"] / strongest["rankings"]
    same = not (verdicts["mean tau"] or verdicts["top right"])
    regions_worse = [region for region in adaptive["regions"] if verdicts[f"{region} pooled"]]
    print(f"\n  against fixed-9 (the maximum): {saving:.0%} fewer rankings; accuracy not worse beyond noise: "
          f"{'yes' if same else 'NO'}; per-region estimates (pooled) not worse beyond noise: "
          f"{'yes' if not regions_worse else 'NO: ' + ', '.join(regions_worse)}")
    print(f"  goal (>= 30% fewer at the same accuracy, per-region estimates no worse): "
          f"{'met' if saving >= 0.3 and same and not regions_worse else 'MISSED'}")
    report_agreement(results)


def report_pairs(adaptive: dict, strongest: dict) -> dict[str, bool]:
    """`adaptive` minus `strongest` per item (overall, and per region both estimates) with the paired interval, one
    line each; returns which are worse beyond noise."""
    pairs = [("mean tau", adaptive["tau"], strongest["tau"]), ("top right", adaptive["top"], strongest["top"])]
    pairs += [(f"{region} {label}", v[label], strongest["regions"][region][label])
              for region, v in adaptive["regions"].items() for label in ("pooled", "own")]
    worse = {}
    for label, a, b in pairs:
        diff, low, high = paired_interval(a, b)
        verdict = "worse beyond noise" if high < 0 else "better beyond noise" if low > 0 else "within noise"
        print(f"  {label:<15} {diff:+.3f}  [{low:+.3f}, {high:+.3f}]  {verdict}")
        worse[label] = high < 0
    return worse


def _num(value: float) -> str:
    return "n/a" if np.isnan(value) else f"{value:.3f}"


def report_agreement(results: dict[str, dict]) -> None:
    """Each region's agreement within, and each pair of regions' between, as the report computes them, mean over
    seeds; against the dense reference arm when it ran. An adaptive arm measures agreement within a region only on
    the items that took two rankings or more from it, the ones its first rankings left unsettled."""
    reference = results.get(REFERENCE)
    names = list(next(iter(results.values()))["regions"])
    upper = np.triu_indices(len(names), 1)
    print("\n  agreement as the report computes it, mean over seeds: within each region; between each pair of regions"
          + (f"; mean |difference| from {REFERENCE}'s, over seeds and regions (pairs)" if reference else ""))
    for name, r in results.items():
        within, between = np.diagonal(r["agreement"], axis1=1, axis2=2), r["agreement"][:, upper[0], upper[1]]
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an arm too small for pairs in one region: n/a
            line = "  ".join(f"{region} {_num(value)}" for region, value in zip(names, np.nanmean(within, axis=0),
                                                                                strict=True))
            line += "  |  " + "  ".join(f"{names[a][:2]}-{names[b][:2]} {_num(value)}"
                                        for a, b, value in zip(*upper, np.nanmean(between, axis=0), strict=True))
            if reference is not None and r is not reference:
                dense = reference["agreement"]
                line += (f"   |difference| {np.nanmean(np.abs(within - np.diagonal(dense, axis1=1, axis2=2))):.3f} / "
                         f"{np.nanmean(np.abs(between - dense[:, upper[0], upper[1]])):.3f}")
        print(f"  {name:<15} {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=120)
    parser.add_argument("--labelers", type=int, default=30)
    parser.add_argument("--seeds", default="0,1,2,3", help="comma-separated; the arms run once per seed")
    parser.add_argument("--agreement-reference", action="store_true",
                        help=f"also run {REFERENCE} (every labeler ranks every item) for each seed, and print "
                             "how far each arm's within-region agreement is from it")
    parser.add_argument("--stop", choices=sorted(STOP_RULES), default=CampaignSpec.stop_rule,
                        help="the adaptive arm's stop rule (campaign create --stop)")
    parser.add_argument("--stop-below", type=float, default=CampaignSpec.stop_threshold,
                        help="the adaptive arm's threshold (campaign create --stop-below)")
    parser.add_argument("--oracle", action="store_true",
                        help="run fixed-9 only and print how much its own rankings could have been cut (see oracle)")
    args = parser.parse_args()
    seeds = [int(seed) for seed in args.seeds.split(",")]
    print(f"{args.items} items, k={K}, regions {', '.join(REGIONS)}, {args.labelers} simulated labelers (10% "
          f"spammers), seeds {args.seeds}; adaptive: 3..9 votes, stop when P(one more ranking changes the "
          f"{'top' if args.stop == 'top' else 'whole order'}) < {args.stop_below:g} "
          "and every region is heard")
    adaptive = Arm(ADAPTIVE, 9, 3, args.stop, args.stop_below)
    arms = [arm for arm in FIXED if arm.name == "fixed-9"] if args.oracle else [*FIXED, adaptive]
    if args.agreement_reference and not args.oracle:
        arms.append(Arm(REFERENCE, args.labelers))
    per_seed = [asyncio.run(run(args.items, args.labelers, seed, arms, with_oracle=args.oracle))
                for seed in tqdm(seeds, desc="seeds", unit="seed")]
    if not args.oracle:
        report(per_seed, seeds)


if __name__ == "__main__":
    main()
