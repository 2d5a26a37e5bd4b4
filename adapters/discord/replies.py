"""The conversation's replies for one Discord interaction, carried out so that Discord hears back in time.

Discord wants one response within 3 seconds. The reply that can be that response goes first: the card that was
pressed, edited in place (type 7), or the private answer (type 4, ephemeral), or the skip form (type 9, a
modal); a press whose replies only post elsewhere is acknowledged (type 6).

A press and the skip form's submission are `bounded` writes (`Conversation.press_in_time` / `form_in_time`):
nothing goes to Discord until the conversation has stored the change, so any response to them promises a stored
click; a write that cannot be stored in time comes back as the conversation's "press again" (private), still
within Discord's 3 seconds. A command writes nothing a response promises, so when it is still working after
`DEFER_AFTER` it is deferred ("thinking…") and its replies follow as edits and follow-ups.
Then the rest, in order: other card messages edited over REST, new messages to the person (DM, or a private
thread when their DMs are closed — see `send.Reach`), channel posts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import discord

from adapters.discord.render import Draft, draw, skip_modal
from adapters.discord.send import Reach
from bot.chat.conversation import Conversation, Late
from bot.chat.messages import dms_closed
from bot.chat.people import Who
from bot.chat.views import CardView, Reply, SkipForm

__all__ = ["answer", "DEFER_AFTER"]

DEFER_AFTER = 2.0  # seconds; Discord's limit is 3, and the response itself takes a round trip
log = logging.getLogger("crowdrank.discord")


async def answer(interaction: discord.Interaction, conversation: Conversation, reach: Reach, who: Who,
                 work: Callable[[Late], Awaitable[list[Reply]]], *, bounded: bool = False) -> None:
    """Run `work` (a conversation call) and carry out its replies; a bug is logged and the person reads the
    catalog's "something went wrong". A `bounded` write is never deferred: Discord hears back only after it, and
    the replies of one that missed its deadline are carried out when it lands (`Late`)."""
    answering = _Answering(interaction, conversation, reach, who)
    try:
        task = asyncio.ensure_future(work(answering.carry_out))
        try:
            replies = await (task if bounded else asyncio.wait_for(asyncio.shield(task), DEFER_AFTER))
        except TimeoutError:
            await answering.defer()
            replies = await task
        await answering.carry_out(replies)
    except Exception:  # a bug or Discord refusing a call: logged whole, the person reads one line
        log.exception("a Discord interaction failed")
        await answering.carry_out([conversation.failure(who)])


@dataclass
class _Answering:
    interaction: discord.Interaction
    conversation: Conversation
    reach: Reach
    who: Who
    on_message: bool = False  # the response concerns the pressed message (types 6 and 7): @original is the card
    thinking: bool = False  # a deferred command: the first private reply replaces "thinking…"
    said_closed: bool = field(default=False)
    # One batch of replies at a time: a write that lands while its "press again" is still on its way to Discord
    # would otherwise see no response yet and answer the interaction a second time (40060).
    turn: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def done(self) -> bool:
        return self.interaction.response.is_done()

    async def defer(self) -> None:
        if self.done:
            return
        if self.interaction.type is discord.InteractionType.component:
            await self.interaction.response.defer()
            self.on_message = True
        else:
            await self.interaction.response.defer(ephemeral=True, thinking=True)
            self.thinking = True

    async def carry_out(self, replies: Sequence[Reply]) -> None:
        async with self.turn:
            first = next((reply for reply in replies if reply.intent == "private" or self._pressed(reply)), None)
            if first is None:
                await self.defer()  # acknowledged; what follows is posted elsewhere
            for reply in ([first] if first else []) + [reply for reply in replies if reply is not first]:
                await self._one(reply)
            if self.thinking:  # a deferred command that had nothing private to say
                await self.interaction.delete_original_response()

    def _pressed(self, reply: Reply) -> bool:
        message = self.interaction.message
        if reply.intent != "update" or message is None:
            return False
        return reply.message_ref is None or reply.message_ref == f"{message.channel.id}/{message.id}"

    async def _one(self, reply: Reply) -> None:
        if reply.intent == "private":
            await self._private(reply)
        elif reply.intent == "update":
            await self._update(reply)
        elif reply.intent == "dm":
            await self._direct(reply)
        else:
            channel = self.interaction.client.get_partial_messageable(int(reply.channel or 0))
            for draft in draw(reply.view):
                await channel.send(**draft.fields(), files=[discord.File(path) for path in reply.files])

    async def _private(self, reply: Reply) -> None:
        view = reply.view
        if isinstance(view, SkipForm):  # only ever the answer to a press, which is never deferred
            await self.interaction.response.send_modal(skip_modal(view))
            return
        for draft in draw(view):
            await self._privately(draft)

    async def _privately(self, draft: Draft) -> None:
        fields = draft.fields()
        if fields["view"] is None:
            del fields["view"]  # followups and responses refuse an explicit None view
        if not self.done:
            await self.interaction.response.send_message(**fields, ephemeral=True)
        elif self.thinking:
            self.thinking = False
            await self.interaction.edit_original_response(**fields)
        else:
            await self.interaction.followup.send(**fields, ephemeral=True)

    async def _update(self, reply: Reply) -> None:
        (draft,) = draw(reply.view)[:1]
        if self._pressed(reply):
            if not self.done:
                await self.interaction.response.edit_message(**draft.fields())
                self.on_message = True
                return
            if self.on_message:
                await self.interaction.edit_original_response(**draft.fields())
                return
        channel_id, _, message_id = (reply.message_ref or "").partition("/")
        if not message_id:
            if self.interaction.message is None:
                return
            channel_id, message_id = str(self.interaction.message.channel.id), str(self.interaction.message.id)
        channel = self.interaction.client.get_partial_messageable(int(channel_id))
        await channel.get_partial_message(int(message_id)).edit(**draft.fields())

    async def _direct(self, reply: Reply) -> None:
        """A new message to the person: DM, else their private thread, else ephemeral here."""
        for draft in draw(reply.view):
            try:
                message, left_dm = await self.reach.send(self.interaction.user, self.interaction.channel,
                                                         **draft.fields())
            except discord.Forbidden:  # DMs closed and no thread possible here: ephemeral messages instead
                await self._tell_closed()
                await self._privately(draft)
                continue
            if left_dm:
                await self._tell_closed()
            if isinstance(reply.view, CardView):
                await self.conversation.card_posted(self.who, reply.view.card_id,
                                                    f"{message.channel.id}/{message.id}")

    async def _tell_closed(self) -> None:
        if not self.said_closed:
            self.said_closed = True
            for draft in draw(dms_closed()):
                await self._privately(draft)
