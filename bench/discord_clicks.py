"""Discord click path end to end: INTERACTION_CREATE over the emulator's gateway → `crowdrank serve --discord`
(the real discord.py client, its own process) → `bot.ranking_session.click` → the card edited in place (response
type 7) on the emulator's REST side. Baseline, measured in the same run: a bare discord.py client, in its own
process, that only acknowledges each click (response type 6, `tests/discord_bare_client.py`).

Every labeler holds one card in their DM and clicks like a person who waits to see it change: place, place, place
(the fourth places itself), Reset, for `rounds`. Two phases: all labelers back to back (saturation:
interactions/s) and at a human pace (a pause of `--think` seconds, ±50 %, before each click). Latency runs from
the emulator sending INTERACTION_CREATE to it receiving the edited card (crowdrank) or the acknowledgement (bare).
The conversation refuses more than 5 clicks a second from one person (`bot.chat.throttle`); back to back, a
refused click is counted and retried after 0.2 s, as a person would.

    .venv/bin/python bench/discord_clicks.py [--quick] [--labelers N] [--rounds R] [--think S]
                                             [--backend sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.discord.render import draw  # noqa: E402
from adapters.discord.serve import LIMITS  # noqa: E402
from bench.slack_clicks import database_url, percentile  # noqa: E402
from bot import assignment, campaigns, labelers  # noqa: E402
from bot.chat.cards import card_view  # noqa: E402
from bot.database import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from tests.discord_emulator import DiscordEmulator, Message  # noqa: E402
from tests.discord_harness import SERVE, start_bot  # noqa: E402
from tests.slack_harness import CAMPAIGN, GUIDELINES, REGIONS, completion_records, prompt_records  # noqa: E402

CLICKS = ("rank:{a}:0", "rank:{a}:1", "rank:{a}:2", "reset:{a}")
BARE = ["-m", "tests.discord_bare_client"]


@dataclass
class Run:
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    firsts: list[float] = field(default_factory=list)
    refused: int = 0  # clicks the conversation's per-person throttle refused (retried after 0.2 s)


async def seat_labelers(database: Database, emulator: DiscordEmulator, n: int) -> list[tuple[int, int, Message]]:
    """n onboarded labelers, each with an open card in their DM, drawn as the adapter draws it (untimed set-up)."""
    seated = []
    for number in range(n):
        user = emulator.add_member(f"Labeler{number}")
        async with database.session() as session:
            labeler = await labelers.register_labeler(session, "discord", str(emulator.app_id), str(user))
            await labelers.give_consent(session, labeler.id)
            await labelers.choose_region(session, labeler.id, CAMPAIGN, "Europe")
            await labelers.acknowledge_guidelines(session, labeler.id, CAMPAIGN, 1)
            card = await assignment.next_card(session, labeler.id, CAMPAIGN)
        assert card is not None
        (draft,) = draw(card_view(card, LIMITS))
        assert draft.view is not None
        message = Message(emulator.new_id(), emulator.dm_channel(user), draft.content,
                          [embed.to_dict() for embed in draft.embeds], draft.view.to_components())
        emulator.messages[message.id] = message
        seated.append((user, card.assignment_id, message))
    return seated


async def drive(emulator: DiscordEmulator, seated: list[tuple[int, int, Message]], rounds: int, think: float,
                edits: bool) -> Run:
    """Every labeler clicks its card rounds × 4 times, all labelers at once; `edits`: wait for the edited card
    (crowdrank) rather than the acknowledgement (bare)."""
    run, rng = Run(), random.Random(7)

    async def one(user: int, card: int, message: Message) -> None:
        first = True
        for _ in range(rounds):
            for template in CLICKS:
                if think:
                    await asyncio.sleep(think * rng.uniform(0.5, 1.5))
                # the bare client never changes the card, so it is clicked on a button the first render has
                while True:
                    custom_id = (template if edits else CLICKS[0]).format(a=card)
                    interaction = await emulator.click(user, message, custom_id)
                    done = await emulator.wait_for(
                        lambda i=interaction: i.errors or (i.edited if edits else i.answered) or i.response == 4,
                        timeout=120)
                    assert not interaction.errors, interaction.errors
                    if interaction.response != 4:
                        break
                    run.refused += 1  # the per-person throttle (5 clicks/s) said "too fast": like a person, wait
                    await asyncio.sleep(0.2)
                (run.firsts if first else run.latencies).append(done - interaction.created)
                first = False

    start = time.perf_counter()
    await asyncio.gather(*(one(*labeler) for labeler in seated))
    run.seconds = time.perf_counter() - start
    return run


def describe(name: str, clicks: int, run: Run) -> str:
    return (f"  {name:<24} {clicks / run.seconds:6.0f} interactions/s   INTERACTION_CREATE → "
            f"{'edited card' if name == 'crowdrank' else 'acknowledged'} p50 "
            f"{1000 * statistics.median(run.latencies):6.1f} ms  p99 {1000 * percentile(run.latencies, 0.99):6.1f} ms"
            f"   (first click per labeler p50 {1000 * statistics.median(run.firsts):6.1f} ms)"
            + (f"   {run.refused} refused by the per-person throttle and retried" if run.refused else ""))


async def measure(url: str, n: int, rounds: int, think: float, backend: str) -> None:
    emulator = DiscordEmulator()
    await emulator.start()
    database = Database(url)
    async with database.session() as session:  # a card for every labeler
        await campaigns.create_campaign(
            session, campaigns.CampaignSpec(name=CAMPAIGN, criterion="helpfulness", k=4, votes=2, regions=REGIONS,
                                            guidelines=GUIDELINES), prompt_records(2 * n), completion_records(2 * n, 4))
    seated = await seat_labelers(database, emulator, n)
    await database.dispose()
    clicks = n * rounds * len(CLICKS)
    print(f"{n} labelers × {rounds} rounds × {len(CLICKS)} clicks = {clicks} interactions per client and phase; "
          f"{backend}; each client in its own process, gateway and REST over loopback", flush=True)
    home = Path(tempfile.mkdtemp(prefix="crowdrank-bench-home-"))
    for phase, pause in (("back to back", 0.0), (f"human pace, ~{think:g} s between clicks", think)):
        results = {}
        for name, args in (("bare discord.py (ack only)", BARE), ("crowdrank", SERVE)):
            identified = sum(op == 2 for op, _ in emulator.gateway_ops)
            bot = await start_bot(emulator, args, home / "bot.log", identifies=identified + 1,
                                  CROWDRANK_DATABASE_URL=url, CROWDRANK_HOME=str(home))
            try:
                results[name] = await drive(emulator, seated, rounds, pause, name == "crowdrank")
            finally:
                await bot.stop()
        print(f" {phase}:")
        for name, run in results.items():
            print(describe(name, clicks, run))
        base, ours = (clicks / run.seconds for run in results.values())
        print(f"  crowdrank interactions/s ÷ bare = {ours / base:.2f}", flush=True)
    await emulator.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 labelers × 2 rounds, 0.5 s pauses")
    parser.add_argument("--labelers", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--think", type=float, default=2.0, help="mean pause before each click, human phase")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    n, r, think = (20, 2, 0.5) if args.quick else (args.labelers, args.rounds, args.think)
    with database_url(args.backend) as url:
        upgrade(url)
        asyncio.run(measure(url, n, r, think, args.backend))


if __name__ == "__main__":
    main()
