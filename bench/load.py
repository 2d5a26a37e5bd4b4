"""Load through the real adapters: N labelers (default 200) rank at once, Slack over signed HTTP into `crowdrank
serve --slack` and Discord over the emulator's gateway into `crowdrank serve --discord`, each serve in its own
process, against the local emulators in tests/. Then the database is checked against what labelers were told.

Scenarios (`--scenarios`, comma-separated):
  slack-sqlite     Slack, SQLite, 1 serve process
  slack-pg         Slack, PostgreSQL, 1 serve process
  slack-pg2        Slack, PostgreSQL, 2 serve processes on two ports; labeler i talks to port i mod 2 (a Slack app
                   has one Request URL, so in production a load balancer spreads requests; the generator plays it)
  slack-pg2-kill   as slack-pg2, and half-way through each mode serve #1 gets `kill -9` and is started again on its
                   port; requests that fail meanwhile are re-sent unchanged with X-Slack-Retry-Num, as Slack does
  discord-sqlite   Discord, SQLite, 1 serve process
  discord-pg       Discord, PostgreSQL, 1 serve process (one gateway session gets every DM interaction; several
                   processes would mean sharding by guild, which does not spread one guild's DMs)

Each scenario runs two modes on one database: saturation (every labeler clicks as soon as its card changed) and
human pace (a pause of ~2 s, ±50 %, before each click). A labeler behaves like a person looking at the card: it
presses the first completion still offered, Submit once all are placed, and moves to the next card the bot sends.

Measured per scenario and mode: interactions/s; the platform's answer (HTTP 200 / interaction response);
click→stored (a poller thread reads the click's delivery key from the `delivery` table, written in the click's own
transaction, every POLL seconds); click→updated card (the emulator saw the card replaced, through the click's
response_url or chat.update, or for Submit the next card). Told stored = answered and not refused ("slow down",
"press again", "something went wrong").
The check at the end: every click told stored is in the database (lost), no card holds a choice twice and no
ranking is doubled (doubled), no item has more rankings than its votes (over). All three must be 0.

The ceiling, same generator, same run: a bare Bolt AsyncApp that only acks (Slack) and a bare discord.py client
that only acknowledges (Discord), at saturation, on the same seated labelers.
In slack-pg2, between the two, the floor: a minimal Bolt app that stores each click (one INSERT) before its ack
and then updates the card (FLOOR_APP), in 1 and 2 processes. The ratios at the end put crowdrank against both:
how far crowdrank is from the bare ceiling, and how much of that distance any bot that stores and updates pays.
Click→card is also printed by press: a rank press (the card redrawn) and Submit (the next card posted).

`--profile` samples the serve process of the 1-process Slack scenarios over their saturation mode and prints CPU
per click by stage (bench/click_profile.py).

    .venv/bin/python bench/load.py [--quick] [--labelers 200] [--seconds 20] [--scenarios a,b] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import psycopg  # noqa: E402
from aiohttp import web  # noqa: E402
from slack_sdk.signature import SignatureVerifier  # noqa: E402
from tqdm import tqdm  # noqa: E402

from adapters.discord.render import draw  # noqa: E402
from adapters.discord.serve import LIMITS as DISCORD_LIMITS  # noqa: E402
from adapters.slack.render_examples import LIMITS as SLACK_LIMITS  # noqa: E402
from adapters.slack.replies import blocks_and_text  # noqa: E402
from adapters.slack.server import EVENTS_PATH  # noqa: E402
from bench.click_profile import stage_table  # noqa: E402
from bench.slack_clicks import BARE_APP, database_url, free_port, percentile  # noqa: E402
from bot import assignment, labelers, ranking_session  # noqa: E402
from bot.chat.cards import card_view  # noqa: E402
from bot.database import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from tests.discord_emulator import DiscordEmulator  # noqa: E402
from tests.discord_emulator import Message as DiscordMessage  # noqa: E402
from tests.discord_harness import SERVE as DISCORD_SERVE  # noqa: E402
from tests.discord_harness import BotProcess, start_bot  # noqa: E402
from tests.slack_emulator import BOT_USER, TEAM, Message, SlackEmulator, action_ids  # noqa: E402
from tests.slack_harness import CAMPAIGN, GUIDELINES, SECRET, completion_records, prompt_records  # noqa: E402

SCENARIOS = ("slack-sqlite", "slack-pg", "slack-pg2", "slack-pg2-kill", "discord-sqlite", "discord-pg")
VOTES = 3
POLL = 0.01  # seconds between two reads of the delivery table
UPDATE_WAIT = 5.0  # how long a labeler looks at the card for its change before clicking again
DRAIN = 30.0  # seconds the load waits, after its last click, for clicks told stored to become readable
RETRY_EVERY = 0.25  # a request that got no answer is re-sent after this long (same payload: same delivery key)
BARE_DISCORD = ["-m", "tests.discord_bare_client"]

# The floor between the two: the least a bot can do and still keep "acknowledged means stored" and update the card.
# Bolt as crowdrank runs it (process_before_response), one autocommitted INSERT of the click's delivery key on a
# pooled psycopg connection, then the ack; the card update goes out after the answer (chat.update for a rank press,
# chat.postMessage of the next card after Submit), padded to the size of crowdrank's card. No session, no checks,
# no assignment: what the platform, Bolt, one database round trip and one Web API call cost on this machine.
# argv: token, signing secret, API URL, port, PostgreSQL URL, card bytes.
FLOOR_APP = """
import asyncio, re, sys
import psycopg
from slack_bolt.async_app import AsyncApp
from adapters.slack.app import configure_client
from adapters.slack.server import SlackHttpServer
from bot.settings import Settings
from bot import event_loop

token, secret, api, port, url, size = sys.argv[1:7]
app = AsyncApp(token=token, signing_secret=secret, process_before_response=True)
configure_client(app.client, Settings(SLACK_API_URL=api))
pool = asyncio.Queue()
updates = set()

def card(action_id):
    buttons = [{"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": "A"}}]
    padding = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * min(2900, int(size) - start)}}
               for start in range(0, int(size), 2900)]
    return [*padding, {"type": "actions", "block_id": "b", "elements": buttons}]

async def update(client, body):
    verb, number, *rest = body["actions"][0]["action_id"].split(":")
    channel, ts = body["container"]["channel_id"], body["container"]["message_ts"]
    if verb == "submit":
        await client.chat_postMessage(channel=channel, text="card", blocks=card(f"rank:{int(number) + 10**9}:0"))
    else:
        following = f"rank:{number}:{int(rest[0]) + 1}" if int(rest[0]) < 2 else f"submit:{number}"
        await client.chat_update(channel=channel, ts=ts, text="card", blocks=card(following))

@app.action(re.compile(".*"))
async def store_then_update(ack, body, client):
    action = body["actions"][0]
    connection = await pool.get()
    try:
        await connection.execute("INSERT INTO floor_click (key) VALUES (%s) ON CONFLICT DO NOTHING",
                                 (f"{body['user']['id']}:{action['action_ts']}:{action['action_id']}",))
    finally:
        pool.put_nowait(connection)
    await ack()
    task = asyncio.get_running_loop().create_task(update(client, body))
    updates.add(task)
    task.add_done_callback(updates.discard)

async def main():
    for _ in range(10):
        pool.put_nowait(await psycopg.AsyncConnection.connect(url, autocommit=True))
    connection = await pool.get()
    await connection.execute("CREATE TABLE IF NOT EXISTS floor_click (key text PRIMARY KEY)")
    pool.put_nowait(connection)
    print("serving", flush=True)
    await SlackHttpServer(app, secret, host="127.0.0.1", port=int(port), log_level="warning").serve_forever()

event_loop.run(main())
"""

# ---- the one place to adapt to the per-campaign rate limit (issue 12, `bot/chat/throttle.py`) ----------------------
# The load must measure the click path, not the limiter: its campaign is created with limits no labeler reaches.
# `crowdrank campaign create --rate-burst N --rate-per-second X` sets them once that option exists; until then the
# process-wide default applies and a refused click ("slow down") is counted and pressed again after 0.2 s.
RATE_LIMIT_OPTIONS = ["--rate-burst", "1000", "--rate-per-second", "1000"]


# ---- measurements --------------------------------------------------------------------------------------------------
@dataclass
class Tally:
    """One mode of one scenario (or the bare baseline)."""

    seconds: float = 0.0
    answered: int = 0  # interactions the platform got its answer for
    answers: list[float] = field(default_factory=list)  # click → HTTP 200 / interaction response
    stored: list[float] = field(default_factory=list)  # click → its delivery key readable in the database
    cards: list[float] = field(default_factory=list)  # click → the card changed (or the next card arrived)
    refused: int = 0  # answered with a refusal: not told stored, pressed again
    unanswered: int = 0  # re-sends after a failed request (kill -9, connection reset)
    no_card: int = 0  # told stored, but the card did not change within UPDATE_WAIT
    by_press: dict[str, list[float]] = field(default_factory=dict)  # `cards`, split: rank presses, Submit

    def card_changed(self, seconds: float, submit: bool) -> None:
        self.cards.append(seconds)
        self.by_press.setdefault("Submit→next card" if submit else "rank→card", []).append(seconds)

    def rate(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0


def ms(values: list[float], q: float) -> str:
    return f"{1000 * percentile(values, q):7.1f}" if values else "      -"


def describe(name: str, tally: Tally) -> str:
    line = f"  {name:<34} {tally.rate():6.0f} interactions/s   answer p50 {ms(tally.answers, 0.5)} ms"
    if tally.stored:
        line += f"   click→stored p50/p95/p99 {ms(tally.stored, .5)} {ms(tally.stored, .95)} {ms(tally.stored, .99)} ms"
    if tally.cards:
        line += f"   click→card p50/p95/p99 {ms(tally.cards, .5)} {ms(tally.cards, .95)} {ms(tally.cards, .99)} ms"
    extras = [f"{tally.refused} refused" if tally.refused else "", f"{tally.no_card} cards not updated"
              if tally.no_card else "", f"{tally.unanswered} re-sent" if tally.unanswered else ""]
    line += "".join("   " + extra for extra in extras if extra)
    for press, values in sorted(tally.by_press.items(), reverse=True):
        line += f"\n    {press:<17} p50/p95/p99 {ms(values, .5)} {ms(values, .95)} {ms(values, .99)} ms ({len(values)})"
    return line


class StoredPoller:
    """Reads the `delivery` table from a thread every POLL seconds for the keys clicks are waiting on, and notes
    when each first became readable (committed)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.pending: dict[str, float] = {}  # key → when its click was sent (monotonic)
        self.seen: dict[str, float] = {}  # key → seconds from click to readable
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def expect(self, key: str, sent: float) -> None:
        with self._lock:
            self.pending[key] = sent

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _connect(self) -> Any:
        if self.url.startswith("sqlite"):
            return sqlite3.connect(self.url.split("///", 1)[1], check_same_thread=False, isolation_level=None)
        return psycopg.connect(self.url.replace("+psycopg", ""), autocommit=True)

    def _run(self) -> None:
        connection = self._connect()
        mark = "?" if self.url.startswith("sqlite") else "%s"
        try:
            while not self._stop.wait(POLL):
                with self._lock:
                    keys = list(self.pending)
                for start in range(0, len(keys), 500):
                    chunk = keys[start:start + 500]
                    try:
                        rows = connection.execute(f"SELECT key FROM delivery WHERE key IN "
                                                  f"({','.join([mark] * len(chunk))})", chunk).fetchall()
                    except (sqlite3.OperationalError, psycopg.OperationalError):
                        continue  # a locked SQLite file or a restarting server: read again next time
                    now = time.monotonic()
                    with self._lock:
                        for (key,) in rows:
                            sent = self.pending.pop(key, None)
                            if sent is not None:
                                self.seen[key] = now - sent
        finally:
            connection.close()


# ---- the database: campaign, labelers, the final check -----------------------------------------------------------
def create_campaign(url: str, prompts: int, home: Path) -> None:
    """Through the command line a manager uses (so the rate-limit options apply once they exist)."""
    folder = Path(tempfile.mkdtemp(prefix="crowdrank-load-"))
    (folder / "prompts.jsonl").write_text("".join(json.dumps({"id": r.external_id, "prompt": r.text}) + "\n"
                                                  for r in prompt_records(prompts)))
    (folder / "completions.jsonl").write_text("".join(
        json.dumps({"prompt_id": r.prompt_id, "model": r.model, "completions": r.texts}) + "\n"
        for r in completion_records(prompts, 4)))
    (folder / "guide.md").write_text(GUIDELINES)
    env = {**os.environ, "CROWDRANK_DATABASE_URL": url, "CROWDRANK_HOME": str(home), "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "bot.cli", "campaign", "create", CAMPAIGN, "--prompts", str(folder / "prompts.jsonl"),
            "--completions", str(folder / "completions.jsonl"), "--criterion", "helpfulness", "--k", "4",
            "--votes", str(VOTES), "--regions", "Europe,Asia", "--guidelines", str(folder / "guide.md")]
    help_text = subprocess.run([*argv[:5], "--help"], env=env, cwd=ROOT, capture_output=True, text=True).stdout
    if "--rate-burst" in help_text:
        argv += RATE_LIMIT_OPTIONS
    subprocess.run(argv, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


async def seat(database: Database, platform: str, workspace: str, user: str) -> Any:
    """An onboarded labeler holding an open card (set up through the services, untimed)."""
    async with database.session() as session:
        labeler = await labelers.register_labeler(session, platform, workspace, user)
        await labelers.give_consent(session, labeler.id)
        await labelers.choose_region(session, labeler.id, CAMPAIGN, "Europe")
        await labelers.acknowledge_guidelines(session, labeler.id, CAMPAIGN, 1)
        card = await assignment.next_card(session, labeler.id, CAMPAIGN)
    assert card is not None, "the campaign ran out of cards while seating"
    return labeler.id, card


async def remember(database: Database, labeler_id: int, card_id: int, ref: str) -> None:
    async with database.session() as session:
        await ranking_session.remember_message(session, card_id, labeler_id, ref)


def already_placed(key: str, placed: set[tuple[int, int]]) -> bool:
    """A Slack press with no delivery row of its own whose choice the card holds: the labeler pressed again on a
    card that had not changed yet (its update was lost with a killed process), was shown the card redrawn with
    the choice placed by the earlier press, and the "already placed" refusal that follows the redraw did not
    get out. What the labeler saw is what is stored, so it is not lost."""
    match = re.fullmatch(r"slack:[^:]+:[^:]+:rank:(\d+):(\d+)", key)
    return match is not None and (int(match[1]), int(match[2])) in placed


def check(url: str, told: set[str], submits: set[int]) -> tuple[int, int, int]:
    """(lost, doubled, over): clicks told stored that are missing, cards or rankings holding a choice twice or one
    assignment ranked twice, items with more rankings than their votes."""
    plain = url.replace("+psycopg", "")
    connection: Any = sqlite3.connect(plain.split("///", 1)[1]) if url.startswith("sqlite") else psycopg.connect(plain)
    with contextlib.closing(connection):
        keys = {row[0] for row in connection.execute("SELECT key FROM delivery").fetchall()}
        ranked = {row[0] for row in connection.execute("SELECT assignment_id FROM ranking").fetchall()}
        cards = connection.execute("SELECT clicks FROM assignment").fetchall()
        placed = {(card, index) for card, clicks in connection.execute("SELECT id, clicks FROM assignment")
                  for index in (clicks if isinstance(clicks, list) else json.loads(clicks))}
        lost = sum(not already_placed(key, placed) for key in told - keys) + len(submits - ranked)
        orders = connection.execute("SELECT best_first FROM ranking").fetchall()
        decoded = [value if isinstance(value, list) else json.loads(value) for (value,) in cards + orders]
        twice = connection.execute("SELECT COUNT(*) FROM (SELECT assignment_id FROM ranking GROUP BY assignment_id "
                                   "HAVING COUNT(*) > 1) AS t").fetchone()[0]
        doubled = sum(len(set(order)) != len(order) for order in decoded) + twice
        over = connection.execute("SELECT COUNT(*) FROM (SELECT item_id FROM ranking GROUP BY item_id HAVING "
                                  f"COUNT(*) > {VOTES}) AS t").fetchone()[0]
    return lost, doubled, over


# ---- Slack ---------------------------------------------------------------------------------------------------------
class LoadSlackEmulator(SlackEmulator):
    """The test emulator, also keeping each response_url's private replies (refusals, "press again") under its key
    (which click they answer); a post that replaces the card is the card's update, not a reply."""

    def __init__(self) -> None:
        super().__init__()
        self.replies: dict[str, list[dict[str, Any]]] = {}

    async def _respond(self, request: web.Request) -> web.Response:
        body = await request.json()
        if not body.get("replace_original"):
            self.replies.setdefault(request.match_info["key"], []).append(body)
        return await super()._respond(request)


@dataclass
class SlackLabeler:
    user: str
    message: Message
    url: str = ""


class SlackServes:
    """`crowdrank serve --slack` (or the bare app) in `count` processes, each on its own port."""

    def __init__(self, kind: str, emulator: SlackEmulator, url: str, home: Path, count: int,
                 profile: Path | None = None, card_bytes: int = 0) -> None:
        self.kind, self.emulator, self.url, self.home, self.profile = kind, emulator, url, home, profile
        self.card_bytes = card_bytes
        self.ports = [free_port() for _ in range(count)]
        self.processes: list[asyncio.subprocess.Process | None] = [None] * count

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}{EVENTS_PATH}" for port in self.ports]

    async def start(self, number: int) -> None:
        env = {**os.environ, "SLACK_BOT_TOKEN": self.emulator.token, "SLACK_SIGNING_SECRET": SECRET,
               "SLACK_API_URL": self.emulator.api_url, "CROWDRANK_DATABASE_URL": self.url, "PYTHONPATH": str(ROOT),
               "CROWDRANK_HOME": str(self.home), "CROWDRANK_SERVE_PROCESSES": str(len(self.ports))}
        env.pop("SLACK_APP_TOKEN", None)
        port = str(self.ports[number])
        if self.kind == "bare":
            argv = ["-c", BARE_APP, self.emulator.token, SECRET, self.emulator.api_url, port]
        elif self.kind == "floor":
            argv = ["-c", FLOOR_APP, self.emulator.token, SECRET, self.emulator.api_url, port, self.url,
                    str(self.card_bytes)]
        else:
            run = [str(ROOT / "bench" / "click_profile.py"), "--serve", str(self.profile)] if self.profile and \
                number == 0 else ["-m", "bot.cli"]
            argv = [*run, "serve", "--slack", "--host", "127.0.0.1", "--port", port]
        with (self.home / f"serve-{number}.log").open("ab") as log:  # uvicorn's and crowdrank's log lines
            process = await asyncio.create_subprocess_exec(sys.executable, *argv, env=env, cwd=ROOT,
                                                           stdout=asyncio.subprocess.PIPE, stderr=log)
        assert process.stdout is not None
        await asyncio.wait_for(process.stdout.readline(), 90)
        self.processes[number] = process
        for _ in range(600):  # uvicorn binds just after the health line
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.ports[number])
                writer.close()
                return
            except OSError:
                await asyncio.sleep(0.05)
        raise RuntimeError(f"serve #{number} did not listen on {port}")

    def signal(self, number: int, which: int) -> None:
        process = self.processes[number]
        assert process is not None
        process.send_signal(which)

    async def kill(self, number: int) -> None:
        process = self.processes[number]
        assert process is not None
        process.send_signal(signal.SIGKILL)
        await process.wait()

    async def stop(self) -> None:
        for process in self.processes:
            if process is not None and process.returncode is None:
                process.terminate()
                await process.wait()


class SlackLoad:
    """Signed block_actions for each labeler's card; what each answer and reply meant."""

    def __init__(self, emulator: LoadSlackEmulator, poller: StoredPoller | None) -> None:
        self.emulator, self.poller = emulator, poller
        self.told: set[str] = set()
        self.submits: set[int] = set()
        self.reply_key: dict[str, str] = {}  # delivery key → the response_url key of its click
        self.http: aiohttp.ClientSession | None = None
        self._ts = itertools.count(1)
        self.signer = SignatureVerifier(SECRET)

    def payload(self, user: str, message: Message, action_id: str, respond_key: str) -> dict[str, Any]:
        action = {"action_id": action_id, "block_id": "b", "type": "button", "text": {"type": "plain_text", "text":
                  "x"}, "action_ts": f"{time.time():.6f}{next(self._ts)}"}
        return {"type": "block_actions", "team": {"id": TEAM, "domain": "crowd"},
                "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM},
                "api_app_id": "A0CROWD", "token": "legacy-verification-token", "trigger_id": f"{uuid.uuid4().int}",
                "container": {"type": "message", "message_ts": message.ts, "channel_id": message.channel},
                "channel": {"id": message.channel, "name": "directmessage"},
                "message": {"type": "message", "user": BOT_USER, "ts": message.ts, "text": message.text},
                "state": {"values": {}}, "response_url": f"{self.emulator.base}/respond/{respond_key}",
                "actions": [action]}

    async def post(self, url: str, body: str, retry: int) -> int:
        assert self.http is not None
        stamp = str(int(time.time()))
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": stamp,
                   "X-Slack-Signature": self.signer.generate_signature(timestamp=stamp, body=body)}
        if retry:
            headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_error"}
        async with self.http.post(url, data=body.encode(), headers=headers) as response:
            await response.read()
            return response.status

    async def click(self, who: SlackLabeler, tally: Tally, *, bare: bool = False) -> None:
        """One press, answered; then (unless bare) wait for the card to change or a private reply."""
        ids = action_ids(who.message.blocks)
        action_id = next((a for a in ids if a.startswith("rank:")), None) or \
            next((a for a in ids if a.startswith("submit:")), None)
        if action_id is None:
            await asyncio.sleep(0.2)  # a closed card: its successor is on the way
            self._adopt_newest(who)
            return
        key = uuid.uuid4().hex
        self.emulator._response_urls[key] = (who.user, who.message.channel, who.message.ts)
        payload = self.payload(who.user, who.message, action_id, key)
        delivery = f"slack:{who.user}:{payload['actions'][0]['action_ts']}:{action_id}"
        self.reply_key[delivery] = key
        body = urlencode({"payload": json.dumps(payload)})
        versions, sent = len(who.message.history), time.monotonic()
        if self.poller and not bare:
            self.poller.expect(delivery, sent)
        for retry in itertools.count():
            try:
                status = await self.post(who.url, body, retry)
            except (aiohttp.ClientError, OSError):
                status = 0
            if status == 200:
                break
            tally.unanswered += 1
            await asyncio.sleep(RETRY_EVERY)
        tally.answers.append(time.monotonic() - sent)
        tally.answered += 1
        if bare:
            return
        submit = action_id.startswith("submit:")
        try:
            await self.emulator.wait_for(lambda: self.emulator.replies.get(key) or (
                self._newer_card(who) if submit else len(who.message.history) > versions), UPDATE_WAIT)
        except AssertionError:
            pass
        if self.emulator.replies.get(key):
            tally.refused += 1
            await asyncio.sleep(0.2)
            return
        self.told.add(delivery)
        if submit:
            self.submits.add(int(action_id.split(":")[1]))
        newer = self._newer_card(who) if submit else (len(who.message.history) > versions and who.message)
        if newer:
            tally.card_changed(time.monotonic() - sent, submit)
            who.message = newer
        else:
            tally.no_card += 1

    def refused_late(self) -> set[str]:
        """Clicks counted as told stored whose refusal ("something went wrong", "press again") came later than
        UPDATE_WAIT: the labeler was told after all, so they are not counted as lost."""
        return {key for key in self.told if self.emulator.replies.get(self.reply_key[key])}

    def _newer_card(self, who: SlackLabeler) -> Message | None:
        cards = [m for m in self.emulator.channel_messages(who.message.channel)
                 if float(m.ts) > float(who.message.ts) and any(a.startswith("rank:") for a in action_ids(m.blocks))]
        return cards[-1] if cards else None

    def _adopt_newest(self, who: SlackLabeler) -> None:
        newer = self._newer_card(who)
        if newer is not None:
            who.message = newer


async def slack_labelers(database: Database, emulator: SlackEmulator, n: int) -> list[SlackLabeler]:
    seated = []
    for number in range(n):
        user = f"U{number:06d}"
        labeler_id, card = await seat(database, "slack", TEAM, user)
        channel, ts = "D" + user, f"{1600000000 + number}.000100"
        blocks, text = blocks_and_text(card_view(card, SLACK_LIMITS))
        emulator.messages[(channel, ts)] = Message(channel, ts, text, list(blocks))
        await remember(database, labeler_id, card.assignment_id, f"{channel}/{ts}")
        seated.append(SlackLabeler(user, emulator.messages[(channel, ts)]))
    return seated


# ---- Discord -------------------------------------------------------------------------------------------------------
@dataclass
class DiscordLabeler:
    user: int
    message: DiscordMessage


class DiscordLoad:
    def __init__(self, emulator: DiscordEmulator, poller: StoredPoller | None) -> None:
        self.emulator, self.poller = emulator, poller
        self.told: set[str] = set()
        self.submits: set[int] = set()
        self.token_of: dict[str, str] = {}  # delivery key → its interaction's token

    def refused_late(self) -> set[str]:
        """Clicks counted as told stored that were deferred and then answered with a follow-up (a private reply:
        "something went wrong", "press again"): the labeler was told after all, so they are not counted as lost."""
        followed = {call.path.rsplit("/", 1)[-1] for call in self.emulator.calls
                    if call.method == "POST" and call.path.startswith("/webhooks/")}
        return {key for key in self.told if self.token_of[key] in followed}

    async def click(self, who: DiscordLabeler, tally: Tally, *, bare: bool = False) -> None:
        ids = who.message.enabled_ids()
        custom_id = next((c for c in ids if c.startswith("rank:")), None) or \
            next((c for c in ids if c.startswith("submit:")), None)
        if custom_id is None:
            await asyncio.sleep(0.2)
            who.message = self._newer_card(who) or who.message
            return
        versions = len(who.message.history)
        interaction = await self.emulator.click(who.user, who.message, custom_id)
        delivery = f"discord:{interaction.id}"
        self.token_of[delivery] = interaction.token
        if self.poller and not bare:
            self.poller.expect(delivery, interaction.created)
        submit = custom_id.startswith("submit:")
        try:
            await self.emulator.wait_for(lambda: interaction.errors or interaction.answered, 30)
        except AssertionError:
            tally.unanswered += 1
            return
        tally.answers.append(interaction.answered - interaction.created if interaction.answered else 30.0)
        tally.answered += 1
        if bare:
            return
        if interaction.errors or interaction.response == 4:  # a private reply: a refusal of some kind
            tally.refused += 1
            await asyncio.sleep(0.2)
            return
        self.told.add(delivery)
        if submit:
            self.submits.add(int(custom_id.split(":")[1]))
        with contextlib.suppress(AssertionError):
            await self.emulator.wait_for(lambda: self._newer_card(who) if submit
                                         else len(who.message.history) > versions, UPDATE_WAIT)
        newer = self._newer_card(who) if submit else (len(who.message.history) > versions and who.message)
        if newer:
            tally.card_changed(time.monotonic() - interaction.created, submit)
            who.message = newer
        else:
            tally.no_card += 1

    def _newer_card(self, who: DiscordLabeler) -> DiscordMessage | None:
        cards = [m for m in self.emulator.seen_by(who.user) if m.id > who.message.id
                 and any(c.startswith("rank:") for c in m.enabled_ids())]
        return cards[-1] if cards else None


async def discord_labelers(database: Database, emulator: DiscordEmulator, n: int) -> list[DiscordLabeler]:
    seated = []
    for number in range(n):
        user = emulator.add_member(f"Labeler{number}")
        labeler_id, card = await seat(database, "discord", str(emulator.app_id), str(user))
        (draft,) = draw(card_view(card, DISCORD_LIMITS))
        assert draft.view is not None
        message = DiscordMessage(emulator.new_id(), emulator.dm_channel(user), draft.content,
                                 [embed.to_dict() for embed in draft.embeds], draft.view.to_components())
        emulator.messages[message.id] = message
        await remember(database, labeler_id, card.assignment_id, f"{message.channel_id}/{message.id}")
        seated.append(DiscordLabeler(user, message))
    return seated


# ---- driving -------------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def quiet_collector() -> Any:
    """No garbage collection in this process while a mode is measured. The generator and the emulators keep every
    card version they saw, so a full collection here grew to 200-860 ms late in a run, and every click in flight
    was timed through it: the slow human-pace clicks came in bursts at exactly those pauses. Collected before and
    after instead, outside the measurement."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


async def drive(labelers_: list[Any], click: Callable[..., Any], seconds: float, think: float, label: str,
                *, bare: bool = False, halfway: Callable[[], Any] | None = None) -> Tally:
    """Every labeler clicks until `seconds` are up (its last click finishes); `halfway` runs in the middle."""
    tally, rng = Tally(), random.Random(7)
    start = time.monotonic()
    deadline = start + seconds

    async def one(who: Any) -> None:
        while time.monotonic() < deadline:
            if think:
                await asyncio.sleep(think * rng.uniform(0.5, 1.5))
            await click(who, tally, bare=bare)

    async def ticker(bar: tqdm) -> None:
        fired = False
        while True:
            await asyncio.sleep(0.5)
            bar.n = min(seconds, round(time.monotonic() - start, 1))
            bar.set_postfix_str(f"{tally.answered} answered", refresh=False)
            if halfway and not fired and time.monotonic() > start + seconds / 2:
                fired = True
                await halfway()

    with tqdm(total=seconds, desc=label, unit="s", file=sys.stderr, leave=False,
              bar_format="{desc}: {bar} {n:.0f}/{total:.0f} s {postfix}") as bar, quiet_collector():
        ticking = asyncio.get_running_loop().create_task(ticker(bar))
        try:
            await asyncio.gather(*(one(who) for who in labelers_))
        finally:
            ticking.cancel()
    tally.seconds = time.monotonic() - start
    return tally


async def drain(poller: StoredPoller, told: set[str]) -> str:
    """After a mode: wait (up to DRAIN seconds) until every click told stored is readable, so the next mode does
    not start behind a backlog and "lost" counts what never arrives, not what was still queued."""
    start = time.monotonic()
    while time.monotonic() - start < DRAIN:
        with poller._lock:
            waiting = told & poller.pending.keys()
        if not waiting:
            break
        await asyncio.sleep(0.1)
    return (f"    then {len(waiting)} clicks told stored still unreadable after {time.monotonic() - start:.1f} s "
            f"(waited at most {DRAIN:g} s)")


def collect(tally: Tally, poller: StoredPoller | None, mark: int) -> None:
    """The click→stored figures the poller saw for this mode's clicks (those after `mark`)."""
    if poller is not None:
        tally.stored = list(poller.seen.values())[mark:]


@dataclass
class Options:
    labelers: int
    seconds: float
    think: float
    profile: bool


MODES = (("saturation", 0.0), ("human pace", 1.0))


async def floor(seated: list[SlackLabeler], load: SlackLoad, url: str, home: Path, count: int,
                seconds: float) -> str:
    """The minimal store+update app (FLOOR_APP) in `count` processes, at saturation, on the seated labelers; then
    their cards are put back as they were, and the cards it posted are removed, for crowdrank's run."""
    emulator = load.emulator
    kept = [(who.message, who.message.text, list(who.message.blocks), list(who.message.history)) for who in seated]
    before = set(emulator.messages)
    serves = SlackServes("floor", emulator, url, home, count, card_bytes=len(json.dumps(seated[0].message.blocks)))
    for number in range(count):
        await serves.start(number)
    for index, who in enumerate(seated):
        who.url = serves.urls[index % count]
    label = f"minimal store+update, {count} process{'es' if count > 1 else ''}"
    run = SlackLoad(emulator, None)
    run.http = load.http
    try:
        return describe(label, await drive(seated, run.click, seconds, 0.0, label))
    finally:
        await serves.stop()
        for who, (message, text, blocks, history) in zip(seated, kept, strict=True):
            who.message, message.text, message.blocks, message.history = message, text, blocks, history
        for key in set(emulator.messages) - before:
            del emulator.messages[key]


async def run_slack(name: str, url: str, options: Options) -> list[str]:
    processes = 2 if "pg2" in name else 1
    home = Path(tempfile.mkdtemp(prefix="crowdrank-load-home-"))
    create_campaign(url, options.labelers * 12, home)
    emulator = LoadSlackEmulator()
    await emulator.start()
    database = Database(url)
    seated = await slack_labelers(database, emulator, options.labelers)
    await database.dispose()
    lines = [f"{name}: {options.labelers} labelers, {processes} serve process(es), "
             f"{'SQLite' if 'sqlite' in name else 'PostgreSQL'}; load average {os.getloadavg()[0]:.1f}"]
    load = SlackLoad(emulator, None)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as load.http:
        if name == "slack-pg2":  # the ceiling, once per run: the bare app, same generator, saturation
            bare = SlackServes("bare", emulator, url, home, 1)
            await bare.start(0)
            for who in seated:
                who.url = bare.urls[0]
            try:
                lines.append(describe("bare Bolt ack-only", await drive(
                    seated, load.click, options.seconds / 2, 0.0, "bare Bolt ack-only", bare=True)))
            finally:
                await bare.stop()
            for count in (1, 2):
                lines.append(await floor(seated, load, url, home, count, options.seconds / 2))
        profile = home / "serve-profile.json" if options.profile and name in ("slack-sqlite", "slack-pg") else None
        serves = SlackServes("crowdrank", emulator, url, home, processes, profile)
        for number in range(processes):
            await serves.start(number)
        for index, who in enumerate(seated):
            who.url = serves.urls[index % processes]
        poller = StoredPoller(url)
        load.poller = poller
        poller.start()

        async def kill_and_restart() -> None:
            await serves.kill(0)
            lines.append(f"  (kill -9 of serve #0 at {time.strftime('%H:%M:%S')}; restarted)")
            await serves.start(0)

        try:
            for mode, think in MODES:
                mark = len(poller.seen)
                if profile and not think:
                    serves.signal(0, signal.SIGUSR1)
                tally = await drive(seated, load.click, options.seconds, think * options.think,
                                    f"{name} {mode}", halfway=kill_and_restart if "kill" in name else None)
                if profile and not think:
                    serves.signal(0, signal.SIGUSR2)
                    profiled = tally.answered
                await asyncio.sleep(3 * POLL)
                collect(tally, poller, mark)
                lines += [describe(f"crowdrank, {mode}", tally), await drain(poller, load.told)]
        finally:
            poller.stop()
            await serves.stop()
            late = load.refused_late()
            await emulator.stop()
    lost, doubled, over = check(url, load.told - late, load.submits)
    lines.append(f"  check: {len(load.told - late)} clicks told stored ({len(load.submits)} submits; {len(late)} "
                 f"more refused after the labeler stopped waiting): lost {lost}, doubled {doubled}, items over their "
                 f"votes {over}")
    if profile is not None:
        lines += [f"  CPU per click by stage (serve sampled over the saturation mode, {profiled} clicks):",
                  *stage_table(profile, profiled)]
    return lines


async def run_discord(name: str, url: str, options: Options) -> list[str]:
    home = Path(tempfile.mkdtemp(prefix="crowdrank-load-home-"))
    create_campaign(url, options.labelers * 12, home)
    emulator = DiscordEmulator()
    await emulator.start()
    database = Database(url)
    seated = await discord_labelers(database, emulator, options.labelers)
    await database.dispose()
    lines = [f"{name}: {options.labelers} labelers, 1 serve process, "
             f"{'SQLite' if 'sqlite' in name else 'PostgreSQL'}; load average {os.getloadavg()[0]:.1f}"]
    load = DiscordLoad(emulator, None)
    env = {"CROWDRANK_DATABASE_URL": url, "CROWDRANK_HOME": str(home)}

    async def connect(args: list[str]) -> BotProcess:
        identified = sum(op == 2 for op, _ in emulator.gateway_ops)
        return await start_bot(emulator, args, home / "bot.log", identifies=identified + 1, **env)

    try:
        if name == "discord-sqlite":  # the ceiling, once per run
            bare = await connect(BARE_DISCORD)
            try:
                lines.append(describe("bare discord.py (ack only)", await drive(
                    seated, load.click, options.seconds / 2, 0.0, "bare discord.py", bare=True)))
            finally:
                await bare.stop()
        bot = await connect(DISCORD_SERVE)
        poller = StoredPoller(url)
        load.poller = poller
        poller.start()
        try:
            for mode, think in MODES:
                mark = len(poller.seen)
                tally = await drive(seated, load.click, options.seconds, think * options.think, f"{name} {mode}")
                await asyncio.sleep(3 * POLL)
                collect(tally, poller, mark)
                lines += [describe(f"crowdrank, {mode}", tally), await drain(poller, load.told)]
        finally:
            poller.stop()
            await bot.stop()
    finally:
        await emulator.stop()
    late = load.refused_late()
    lost, doubled, over = check(url, load.told - late, load.submits)
    lines.append(f"  check: {len(load.told - late)} clicks told stored ({len(load.submits)} submits; {len(late)} "
                 f"more refused by a later follow-up): lost {lost}, doubled {doubled}, items over their votes {over}")
    return lines


@contextlib.contextmanager
def fresh_database(backend: str) -> Any:
    with database_url(backend) as url:
        upgrade(url)
        yield url


def ratios(outputs: dict[str, list[str]]) -> list[str]:
    """Saturation rate of each scenario ÷ the bare ceiling of its platform measured in this run."""
    def rate(line: str) -> float:
        return float(line.split("interactions/s")[0].split()[-1])

    ceilings = {platform: next((rate(line) for lines in outputs.values() for line in lines
                                if line.strip().startswith(f"bare {kind}")), None)
                for platform, kind in (("slack", "Bolt"), ("discord", "discord.py"))}
    found = []
    floors = {line.split(",")[1].split()[0]: (line.split("  ")[1].strip(), rate(line))
              for lines in outputs.values() for line in lines if line.strip().startswith("minimal store+update")}
    if ceilings["slack"]:
        found += [f"  {label} ÷ bare ack-only = {r:.0f} / {ceilings['slack']:.0f} = {r / ceilings['slack']:.2f}"
                  for label, r in floors.values()]
    for name, lines in outputs.items():
        ceiling = ceilings[name.split("-")[0]]
        ours = next((rate(line) for line in lines if "crowdrank, saturation" in line), None)
        if ceiling and ours is not None:
            found.append(f"  {name:<16} saturation ÷ bare ack-only = {ours:.0f} / {ceiling:.0f} = {ours / ceiling:.2f}")
            if name == "slack-pg2" and "2" in floors:
                found.append(f"  {name:<16} saturation ÷ minimal store+update, 2 processes = {ours:.0f} / "
                             f"{floors['2'][1]:.0f} = {ours / floors['2'][1]:.2f}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labelers", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each mode")
    parser.add_argument("--think", type=float, default=2.0, help="mean pause before a click at human pace")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"any of {', '.join(SCENARIOS)}")
    parser.add_argument("--quick", action="store_true", help="30 labelers, 6 s a mode")
    parser.add_argument("--profile", action="store_true", help="CPU per click by stage (slack-sqlite, slack-pg)")
    args = parser.parse_args()
    chosen = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario {sorted(unknown)[0]!r}; choose from {', '.join(SCENARIOS)}")
    if args.profile and not {"slack-sqlite", "slack-pg"} & set(chosen):
        chosen.append("slack-pg")
    options = Options(30 if args.quick else args.labelers, 6.0 if args.quick else args.seconds, args.think,
                      args.profile)
    # the ceilings are measured inside these two scenarios
    for needed in ("slack-pg2", "discord-sqlite"):
        if any(s.startswith(needed.split("-")[0]) for s in chosen) and needed not in chosen:
            chosen.insert(0, needed)
    order = [s for s in SCENARIOS if s in chosen]
    print(f"bench/load.py: {options.labelers} labelers, {options.seconds:g} s per mode, human pace ~"
          f"{options.think:g} s between clicks; 2 cores; {time.strftime('%Y-%m-%d %H:%M:%S')}", flush=True)
    outputs: dict[str, list[str]] = {}
    for name in order:
        runner = run_slack if name.startswith("slack") else run_discord
        with fresh_database("sqlite" if "sqlite" in name else "postgresql") as url:
            outputs[name] = asyncio.run(runner(name, url, options))
        print("\n".join(outputs[name]), flush=True)
    print("ratios (the goal: ≥ 0.5 on slack-pg2):")
    print("\n".join(ratios(outputs)))


if __name__ == "__main__":
    main()
