"""The conversation service every chat adapter calls: `press` (a button or menu), `form` (the skip reason),
`command` (`/crowdrank …`), and `card_posted` (where a card's message went). Each returns `Reply`s — view models
with an intent — and never raises a `CrowdrankError`: a refusal is a private reply in the catalog's words.

It owns what is per process: the labeler-id cache (the database answers after a restart), one lock per card
(clicks on one card apply and re-render in arrival order), the rate limits (`throttle.py`), the dealer (one new
card message at a time, `dealer.py`), and a bounded filter of deliveries already seen. What must survive a
restart — that a re-sent click changes nothing — is in the database (`Delivery`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shlex
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Hashable, Sequence
from typing import Any, NoReturn
from weakref import WeakValueDictionary

from sqlmodel.ext.asyncio.session import AsyncSession

from bot import assignment, campaigns, labelers, ranking_session, reminders
from bot.cards import Card
from bot.chat import messages
from bot.chat.actions import Action, BadAction, parse
from bot.chat.cards import card_view
from bot.chat.catalog import N_, _, error_text, use_locale
from bot.chat.dealer import Dealer
from bot.chat.long_jobs import LongJobs
from bot.chat.onboarding import step_view
from bot.chat.people import Managers, Who, require_manager
from bot.chat.status import status_view
from bot.chat.throttle import Throttle
from bot.chat.views import (
    CardView,
    FullText,
    GuidelinesView,
    HomeView,
    Limits,
    Notice,
    Reply,
    SkipForm,
)
from bot.database import Database
from bot.errors import Busy, CrowdrankError, Duplicate, InputError, NotAllowed, NotFound, NotJoined, StateError
from bot.plain_text import DELIVERY, check_name, check_text
from bot.ranking_session import MAX_SKIP_REASON

__all__ = ["Conversation", "Late", "split_words", "MAX_COMMAND_CHARS", "LABELER_COMMANDS", "MANAGER_COMMANDS"]

log = logging.getLogger("crowdrank.chat")
Late = Callable[[list[Reply]], Awaitable[None]]
MAX_COMMAND_CHARS = 2000
SEEN_LIMIT = 10_000
WRITE_DEADLINE = 2.0  # seconds: the write must be stored before the platform's 3 s answer, with room to answer
CARD_POSTED_PATIENCE = 10.0  # seconds `card_posted` waits for a connection (the platform was answered already)
CARD_POSTED_RETRY = 0.1  # seconds between two tries (each already waited the pool's timeout)
MAX_LATE = 64  # writes past their deadline in one process; beyond, new presses are refused before the database
LABELER_COMMANDS = ("join", "rank", "forget", "help")
MANAGER_COMMANDS = ("status", "invite", "pause", "resume", "retrain", "report", "guidelines")



def split_words(text: str) -> list[str]:
    """Split like a shell (quotes keep a campaign name with spaces together); unbalanced quotes split on spaces.
    The size is checked first, so a huge command never reaches the parser; control characters (a NUL that
    PostgreSQL refuses in text) are refused too."""
    check_command(text)
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def check_command(text: str) -> None:
    check_text(text, "that command", MAX_COMMAND_CHARS)


def check_delivery(delivery: str | None) -> None:
    """A platform's delivery key is stored as given: it must fit its column (a tampered payload may say anything)."""
    if delivery is not None:
        check_name(delivery, "delivery id", DELIVERY)


def private(view: Notice | GuidelinesView | FullText | SkipForm) -> Reply:
    return Reply("private", view)


class Conversation:
    def __init__(self, database: Database, *, platform: str, limits: Limits, managers: Managers = Managers(),
                 jobs: LongJobs | None = None,
                 channel_of: Callable[[str], str | None] = lambda word: word or None,
                 throttle: Throttle | None = None) -> None:
        """`channel_of` reads a channel the way the platform writes one in a command (`<#C0123|name>` on Slack),
        None when the word is not a channel."""
        self.database, self.platform, self.limits, self.managers = database, platform, limits, managers
        self.jobs, self.channel_of = jobs, channel_of
        self.throttle = throttle or Throttle(database)
        self.dealer = Dealer()
        self._labelers: dict[tuple[str, str, str], int] = {}
        self._locks: WeakValueDictionary[int, asyncio.Lock] = WeakValueDictionary()
        self._seen: OrderedDict[Hashable, None] = OrderedDict()
        self._late: set[asyncio.Future[None]] = set()
        self._writing: dict[str, asyncio.Future[list[Reply]]] = {}  # delivery → its write, while it runs

    # ---- entry points ------------------------------------------------------------------------------------------
    async def press(self, who: Who, value: str, *, delivery: str | None = None) -> list[Reply]:
        """A button or menu choice sent back by the platform (`value` in the grammar of `bot.chat.actions`)."""
        with use_locale(who.locale):
            try:
                action = parse(value)
                check_delivery(delivery)
                if not await self.throttle.allow_press(who.key, action):
                    return [self._slow_down()]
                if action.on_card:
                    return await self._card_press(who, action, delivery)
                return await self._campaign_press(who, action)
            except CrowdrankError as error:
                return [self.refusal(error)]

    async def form(self, who: Who, value: str, reason: str, *, delivery: str | None = None) -> list[Reply]:
        """The skip form, sent with its optional reason."""
        with use_locale(who.locale):
            try:
                action = parse(value)
                if action.verb != "skip":
                    raise BadAction(value)
                reason = check_text(reason[:MAX_SKIP_REASON], "the reason", MAX_SKIP_REASON)
                check_delivery(delivery)
                if not await self.throttle.allow_press(who.key, action):
                    return [self._slow_down()]
                labeler = await self._owner(who, action.target)
                async with self._lock(action.target):
                    try:
                        async with self.database.session() as session:
                            card = await ranking_session.skip(session, action.target, labeler,
                                                              reason=reason, delivery=delivery)
                    except StateError as error:
                        return await self._refused_change(action.target, labeler, error)
                return [await self._update(card, labeler), *await self._next_step(labeler, card.campaign)]
            except CrowdrankError as error:
                return [self.refusal(error)]

    async def press_in_time(self, who: Who, value: str, *, delivery: str | None = None,
                            deadline: float = WRITE_DEADLINE, late: Late | None = None) -> list[Reply]:
        """`press`, bounded so the adapter can answer the platform only once the click is stored. `late`
        carries out the replies of a write that finished after the deadline (the card still updates)."""
        return await self._in_time(who, delivery, lambda: self.press(who, value, delivery=delivery), deadline, late)

    async def form_in_time(self, who: Who, value: str, reason: str, *, delivery: str | None = None,
                           deadline: float = WRITE_DEADLINE, late: Late | None = None) -> list[Reply]:
        """`form`, bounded the same way."""
        return await self._in_time(who, delivery, lambda: self.form(who, value, reason, delivery=delivery),
                                   deadline, late)

    async def _in_time(self, who: Who, delivery: str | None, write: Callable[[], Coroutine[Any, Any, list[Reply]]],
                       deadline: float, late: Late | None) -> list[Reply]:
        """The replies of the write if it finishes within `deadline`; otherwise "press again". The late write is
        left to finish rather than cancelled (a cancelled commit may or may not have happened), and its replies go
        to `late` when it does. Load is shed, not queued: a delivery sent again while its write is running waits
        for that write instead of starting another, and with MAX_LATE writes already past their deadline a new
        press is answered "press again" at once, before any database work."""
        task = self._writing.get(delivery) if delivery is not None else None
        first = task is None
        if task is None:
            if len(self._late) >= MAX_LATE:
                return self._press_again(who)
            task = asyncio.ensure_future(write())
            if delivery is not None:
                self._writing[delivery] = task
                task.add_done_callback(lambda _: self._writing.pop(delivery, None))
        done, _pending = await asyncio.wait({task}, timeout=deadline)
        if done:
            return task.result()
        if first:
            self._keep(self._finish_late(task, late))
        return self._press_again(who)

    def _press_again(self, who: Who) -> list[Reply]:
        with use_locale(who.locale):
            busy = _("crowdrank is busy and could not confirm that in time; the card changes once it is stored. "
                     "If it has not changed in a moment, press again.")
            return [private(Notice(busy, kind="unconfirmed"))]

    async def _finish_late(self, task: asyncio.Future[list[Reply]], late: Late | None) -> None:
        try:
            replies = await task
            if late is not None:
                await late(replies)
        except Exception:
            log.exception("a write that finished after its deadline failed")

    def _keep(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._late.add(task)
        task.add_done_callback(self._late.discard)

    async def command(self, who: Who, words: Sequence[str], *, here: str | None = None) -> list[Reply]:
        """`/crowdrank <verb> [args]`; `here` is the channel it was typed in (invitations and job results go
        there unless another channel is named)."""
        with use_locale(who.locale):
            if not self.throttle.allow_command(who.key):
                return [private(Notice(_("You are sending commands faster than crowdrank can keep up; wait a "
                                         "moment, then try again."), kind="refusal"))]
            try:
                for word in words:  # typed options (Discord) arrive split already
                    check_command(word)
                verb, args = (words[0].lower(), list(words[1:])) if words else ("help", [])
                if verb in MANAGER_COMMANDS:
                    await require_manager(who, self.managers)
                    return await self._manage(who, verb, args, here)
                if verb == "join":
                    name = await self._resolve(args)
                    replies = await self._next_step(await self._register(who), name)
                    return [*replies, private(Notice(_("Welcome! I have sent you a direct message to get started "
                                                       "with **{campaign}**.", campaign=name)))]
                if verb == "rank":
                    name = await self._resolve(args)
                    replies = await self._next_step(await self._register(who), name)
                    return [*replies, private(Notice(_("Your next card is in your direct messages with me.")))]
                if verb == "forget":
                    return [await self._forget(who)]
                return [private(messages.help_notice())]
            except CrowdrankError as error:
                return [self.refusal(error)]

    async def home(self, who: Who) -> HomeView:
        """The live campaigns, each with its Join button."""
        with use_locale(who.locale):
            async with self.database.session() as session:
                live = [(c.id or 0, c.name, c.criterion) for c in await campaigns.list_campaigns(session)
                        if c.status == "live"]
            return messages.home(live)

    async def card_posted(self, who: Who, card_id: int, message_ref: str) -> None:
        """Remember where a card's message is: later updates go there, whatever a payload says.

        The platform was answered before the card went out, so a busy pool is waited out (up to
        CARD_POSTED_PATIENCE) instead of refused: the person has their card either way, and saying "something went
        wrong" under it would be false. A place never remembered costs little: the card's presses carry their own
        message, and asking for the card again posts it anew."""
        give_up = asyncio.get_running_loop().time() + CARD_POSTED_PATIENCE
        try:
            while True:
                try:
                    labeler = await self._known(who)
                    if labeler is not None:
                        async with self.database.session() as session:
                            await ranking_session.remember_message(session, card_id, labeler, message_ref)
                    return
                except Busy:
                    if asyncio.get_running_loop().time() >= give_up:
                        log.warning("card %s: still no database connection after %.0f s; where its message went "
                                    "(%s) is not remembered", card_id, CARD_POSTED_PATIENCE, message_ref)
                        return
                    await asyncio.sleep(CARD_POSTED_RETRY)
        finally:
            self.dealer.posted(card_id)

    def first_delivery(self, key: Hashable) -> bool:
        """False for a delivery this process has already seen (a platform retry); bounded, oldest forgotten."""
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > SEEN_LIMIT:
            self._seen.popitem(last=False)
        return True

    def _slow_down(self) -> Reply:
        return private(Notice(_("You are clicking faster than crowdrank can keep up; that click was not counted. "
                                "Wait a moment, then go on."), kind="refusal"))

    @staticmethod
    def unconfirmed(replies: Sequence[Reply]) -> bool:
        """Whether these replies say the change was not stored in time (`press_in_time`'s "press again")."""
        return any(isinstance(reply.view, Notice) and reply.view.kind == "unconfirmed" for reply in replies)

    def refusal(self, error: CrowdrankError) -> Reply:
        """A refusal said privately. `Busy` (no database connection came free) is a change not stored, worth
        repeating: it is `unconfirmed`, like "press again", so no platform is answered as if it were stored (on
        Slack a 200 sent before the refusal's own message would look like a stored click if the process died in
        between)."""
        return private(Notice(error_text(error), kind="unconfirmed" if isinstance(error, Busy) else "refusal"))

    def failure(self, who: Who | None = None) -> Reply:
        """What a person reads when something broke on our side (the adapter logs the error itself)."""
        with use_locale(who.locale if who else None):
            return private(Notice(_("Something went wrong on our side; the error was logged. Please try again."),
                                  kind="failure"))

    def unreadable(self, problem: str, locale: str | None = None) -> Reply:
        """What a person reads when the platform sent something the adapter could not read (`problem`, in English,
        says what); nothing was stored."""
        with use_locale(locale):
            return private(Notice(_("crowdrank could not read that ({problem}), so nothing was changed. Use the "
                                    "newest card, or type the command again.", problem=problem), kind="refusal"))

    # ---- cards -------------------------------------------------------------------------------------------------
    async def _card_press(self, who: Who, action: Action, delivery: str | None) -> list[Reply]:
        labeler = await self._owner(who, action.target)
        card_id = action.target
        if action.verb in ("guidelines", "full", "skip"):
            async with self.database.session() as session:
                card = await ranking_session.show_card(session, card_id, labeler)
            return [private(await self._shown(card, action, labeler))]
        async with self._lock(card_id):
            try:
                async with self.database.session() as session:
                    if action.verb == "submit":
                        result = await ranking_session.submit(session, card_id, labeler, delivery=delivery)
                        submitted = card_view(result.card, self.limits, progress=(result.done, result.remaining))
                        return [self._at(result.card, submitted), *await self._next_step(labeler, result.card.campaign)]
                    card = await self._change(session, action, labeler, delivery)
            except Duplicate:
                return await self._refused_change(card_id, labeler, None)
            except (StateError, InputError) as error:
                return await self._refused_change(card_id, labeler, error)
        return [await self._update(card, labeler)]

    async def _change(self, session: AsyncSession, action: Action, labeler: int, delivery: str | None) -> Card:
        card_id = action.target
        if action.verb == "rank":
            return await ranking_session.click(session, card_id, labeler, action.arg or 0,
                                               delivery=delivery)
        if action.verb == "flag":
            return await ranking_session.flag(session, card_id, labeler, action.arg or 0,
                                              action.kind or "", delivery=delivery)
        edit = {"undo": ranking_session.undo, "tie": ranking_session.tie, "reset": ranking_session.reset}
        return await edit[action.verb](session, card_id, labeler, delivery=delivery)

    async def _shown(self, card: Card, action: Action, labeler: int) -> GuidelinesView | FullText | SkipForm:
        if action.verb == "guidelines":
            async with self.database.session() as session:
                state = await labelers.onboarding(session, labeler, card.campaign)
            return messages.guidelines_view(card.campaign, state.guidelines, state.guidelines_version)
        if action.verb == "skip":
            return messages.skip_form(str(action), MAX_SKIP_REASON)
        if action.arg is None:
            return messages.full_text(None, card.prompt)
        shown = next((choice for choice in card.choices if choice.index == action.arg), None)
        if shown is None:
            raise BadAction(str(action))
        return messages.full_text(shown.letter, shown.text)

    async def _refused_change(self, card_id: int, labeler: int, error: CrowdrankError | None) -> list[Reply]:
        """Any press re-renders the card from what is stored, so a card that drifted (a failed update, a stale
        button) repairs itself; the refusal, if any, is said privately."""
        async with self.database.session() as session:
            card = await ranking_session.show_card(session, card_id, labeler)
        replies = [await self._update(card, labeler)]
        return replies + ([self.refusal(error)] if error is not None else [])

    async def _update(self, card: Card, labeler: int) -> Reply:
        progress = None
        if card.state == "submitted":  # a thank-you drawn again keeps its progress line
            async with self.database.session() as session:
                progress = await ranking_session.progress(session, card.assignment_id, labeler)
        return self._at(card, card_view(card, self.limits, progress=progress))

    def _at(self, card: Card, view: CardView) -> Reply:
        self.throttle.saw_card(card.assignment_id, card.campaign_id)
        return Reply("update", view, message_ref=card.message_ref)

    async def _owner(self, who: Who, card_id: int) -> int:
        """The presser's labeler id when the card is theirs; otherwise a refusal that creates nothing."""
        labeler = await self._known(who)
        if labeler is None:
            await self._not_yours(card_id)
        return labeler

    async def _not_yours(self, card_id: int) -> NoReturn:
        async with self.database.session() as session:
            status = await labelers.card_owner_status(session, card_id)
        if status is None:
            raise NotFound(N_("this card no longer exists"))
        if status == "forgotten":
            raise NotAllowed(N_("you asked crowdrank to forget you, so this card was closed; `/crowdrank join` "
                                "starts again"))
        raise NotAllowed(N_("this card is not yours"))

    def _lock(self, card_id: int) -> asyncio.Lock:
        lock = self._locks.get(card_id)
        if lock is None:
            lock = self._locks[card_id] = asyncio.Lock()
        return lock

    # ---- joining -----------------------------------------------------------------------------------------------
    async def _campaign_press(self, who: Who, action: Action) -> list[Reply]:
        async with self.database.session() as session:
            name = await campaigns.campaign_name(session, action.target)
        if action.verb in ("join", "next"):
            return await self._next_step(await self._register(who), name)
        if action.verb == "remind-off":
            labeler = await self._known(who)
            if labeler is not None:
                async with self.database.session() as session:
                    await reminders.opt_out(session, labeler)
            return [private(Notice(_("Done: crowdrank will send you no more reminders. Your cards stay available "
                                     "with `/crowdrank rank`.")))]
        labeler = await self._register(who)
        async with self.database.session() as session:
            if action.verb == "consent":
                await labelers.give_consent(session, labeler)
                await self._register(who, with_name=True)
            elif action.verb == "region":
                choices = (await labelers.onboarding(session, labeler, name)).region_choices
                if action.arg is None:
                    raise InputError(N_("choose a region in the list first"))
                if action.arg >= len(choices):
                    raise BadAction(str(action))
                await labelers.choose_region(session, labeler, name, choices[action.arg])
            elif action.verb == "read":
                await labelers.acknowledge_guidelines(session, labeler, name, action.arg or 0)
            else:
                raise BadAction(str(action))
            state = await labelers.onboarding(session, labeler, name)
        step = Reply("update", step_view(state))
        return [step, *await self._next_step(labeler, name)] if state.complete else [step]

    async def _next_step(self, labeler: int, name: str) -> list[Reply]:
        """The next thing for this labeler in this campaign, as a new message: an onboarding step, their next
        card, or "nothing left". A card already out is shown again where it is, never as a copy, and a card
        whose message is being posted (`Dealer`) is waited for instead of posted twice."""
        async with self.dealer.lock(labeler, name):
            async with self.database.session() as session:
                try:  # next_card checks that the labeler has joined: the onboarding state is read only when not
                    card = await assignment.next_card(session, labeler, name)
                except NotJoined:
                    return [Reply("dm", step_view(await labelers.onboarding(session, labeler, name)))]
                if card is None:
                    campaign = await campaigns.get_campaign(session, name)
                    return [Reply("dm", messages.nothing_left(campaign.id or 0))]
            if card.message_ref is None and await self.dealer.wait_posted(card.assignment_id):
                async with self.database.session() as session:
                    card = await ranking_session.show_card(session, card.assignment_id, labeler)
            if card.message_ref is not None:
                return [await self._update(card, labeler)]
            if self.dealer.in_flight(card.assignment_id):
                return [private(Notice(_("Your card is on its way to your direct messages with me.")))]
            self.dealer.dealing(card.assignment_id)
            self.throttle.saw_card(card.assignment_id, card.campaign_id)
            return [Reply("dm", card_view(card, self.limits))]

    async def _known(self, who: Who) -> int | None:
        labeler = self._labelers.get(who.key)
        if labeler is None:
            async with self.database.session() as session:
                labeler = await labelers.find_labeler(session, *who.key)
            if labeler is not None:
                self._labelers[who.key] = labeler
        return labeler

    async def _register(self, who: Who, *, with_name: bool = False) -> int:
        """Find or create the labeler, with the region the platform suggests; their display name only once they
        have consented (`with_name`), so nothing personal beyond the chat id is stored before that."""
        known = await self._known(who)
        if known is not None and not with_name:
            return known
        details = await who.details()
        async with self.database.session() as session:
            labeler = await labelers.register_labeler(
                session, *who.key, display_name=details.display_name if with_name else None,
                suggested_region=details.suggested_region)
            if details.tz and labeler.tz != details.tz:
                with contextlib.suppress(InputError):  # a zone this machine does not know: quiet hours fall back
                    await reminders.record_timezone(session, labeler.id or 0, details.tz)
        self._labelers[who.key] = labeler.id or 0
        return labeler.id or 0

    async def _forget(self, who: Who) -> Reply:
        if await self._known(who) is None:
            raise NotFound(N_("crowdrank has nothing stored about you"))
        async with self.database.session() as session:
            labeler = await labelers.forget_labeler(session, *who.key)
        self._labelers.pop(who.key, None)
        return private(Notice(_("Done: your chat id and region are removed. Your rankings stay under the pseudonym "
                                "{pseudonym}.", pseudonym=labeler.pseudonym)))

    async def _resolve(self, args: list[str]) -> str:
        """The campaign a command means: the one named, or the only live one (and why there is none). A named
        campaign is checked here, before anyone is registered, so a refused join stores no labeler."""
        if args:
            async with self.database.session() as session:
                campaign = await campaigns.get_campaign(session, " ".join(args))
            if campaign.status != "live":
                raise StateError(N_("campaign '{campaign}' is {status}; it serves no cards now"),
                                 campaign=campaign.name, status=campaign.status)
            return campaign.name
        async with self.database.session() as session:
            listed = await campaigns.list_campaigns(session)
        live = [c.name for c in listed if c.status == "live"]
        if len(live) == 1:
            return live[0]
        if live:
            raise InputError(N_("several campaigns are live; name one: {names}"), names=", ".join(live))
        paused = [c.name for c in listed if c.status == "paused"]
        if paused:
            raise StateError(N_("no campaign is live right now: {names} paused, try again later"),
                             names=", ".join(paused))
        raise StateError(N_("no campaign is live right now"))

    # ---- managers ----------------------------------------------------------------------------------------------
    async def _manage(self, who: Who, verb: str, args: list[str], here: str | None) -> list[Reply]:
        if verb == "status":
            async with self.database.session() as session:
                chosen = [await campaigns.get_campaign(session, " ".join(args))] if args else \
                    [c for c in await campaigns.list_campaigns(session) if c.status != "closed"]
                stats = [await campaigns.campaign_stats(session, c) for c in chosen]
            return [Reply("private", status_view(s)) for s in stats] or [private(Notice(_("No open campaign.")))]
        if not args:
            raise InputError(N_("usage: /crowdrank {verb} <campaign>"), verb=verb)
        name = args[0]
        async with self.database.session() as session:
            if verb in ("pause", "resume"):
                campaign = await campaigns.change_status(session, name, verb)
                return [private(Notice(_("Campaign **{campaign}** is now {status}.", campaign=campaign.name,
                                         status=campaign.status)))]
            campaign = await campaigns.get_campaign(session, name)
        if verb == "invite":
            channel = self.channel_of(args[1]) if len(args) > 1 else here
            if not channel:
                raise InputError(N_("not a channel: {word} (pick one with #)"), word=args[1] if len(args) > 1 else "")
            invitation = messages.invitation(campaign.id or 0, campaign.name, campaign.criterion)
            return [Reply("channel", invitation, channel=channel),
                    private(Notice(_("Invitation to **{campaign}** posted.", campaign=campaign.name)))]
        if verb == "guidelines":
            return [private(messages.guidelines_view(campaign.name, campaign.guidelines,
                                                     campaign.guidelines_version))]
        if self.jobs is None or not here:
            raise StateError(N_("long jobs are not available here; use the command line (`crowdrank {verb}`)"),
                             verb=verb)
        if verb == "retrain":
            self.jobs.start_retrain(f"{self.platform}:{here}", campaign.name)
            return [private(Notice(_("Retraining the reward model on **{campaign}** started; I will post the result "
                                     "here.", campaign=campaign.name)))]
        self.jobs.start_report(f"{self.platform}:{here}", campaign.name)
        return [private(Notice(_("Building the report for **{campaign}**; the files will appear here.",
                                 campaign=campaign.name)))]
