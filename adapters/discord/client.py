"""The discord.py client: the `/crowdrank` tree and the persistent action items are set up in `setup_hook` (before
the gateway connects), and every interaction becomes one conversation call whose replies `replies.answer`
carries out. A press and the skip form go through `press_in_time` / `form_in_time`, so Discord is answered only
once the change is stored (see `replies`). Every INTERACTION_CREATE passes `guard.Guard` first: a malformed one is
dropped with one log line instead of stopping the client. Only the `guilds` intent: interactions arrive without
any, and nothing privileged is needed.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from adapters.discord.announcer import DiscordAnnouncer
from adapters.discord.buttons import ActionItem
from adapters.discord.commands import crowdrank_group
from adapters.discord.guard import Guard
from adapters.discord.replies import answer
from adapters.discord.send import Reach
from bot.chat.conversation import Conversation
from bot.chat.people import Details, Who
from bot.chat.regions import region_for_locale
from bot.chat.views import Reply
from bot.database import Database

__all__ = ["CrowdrankClient", "PLATFORM", "INTENTS"]

PLATFORM = "discord"
INTENTS = discord.Intents(guilds=True)


class CrowdrankClient(discord.Client):
    def __init__(self, database: Database) -> None:
        # No message cache: where each card is lives in the database (cards are edited through partial messages),
        # so discord.py's 1,000 parsed messages and their components were only more for each full collection.
        super().__init__(intents=INTENTS, allowed_mentions=discord.AllowedMentions.none(), max_messages=None)
        self.database = database
        self.tree = app_commands.CommandTree(self)
        self.reach = Reach(self)
        self.announcer = DiscordAnnouncer(self, self.reach)
        self.conversation: Conversation | None = None  # set by `serve.build_client`, which needs the client first
        Guard(self, self.unreadable).install()

    async def setup_hook(self) -> None:
        self.add_dynamic_items(ActionItem)
        self.tree.add_command(crowdrank_group(self.command, self.database))
        await self.tree.sync()

    # ---- one conversation call per interaction -----------------------------------------------------------------
    async def press(self, interaction: discord.Interaction, custom_id: str, values: list[str]) -> None:
        """A button (its custom id is the action) or a select (the option picked is)."""
        who, value = self.who(interaction), values[0] if values else custom_id
        assert self.conversation is not None
        conversation = self.conversation
        await answer(interaction, conversation, self.reach, who,
                     lambda late: conversation.press_in_time(who, value, delivery=f"discord:{interaction.id}",
                                                             late=late),
                     bounded=True)

    async def command(self, interaction: discord.Interaction, words: list[str]) -> None:
        who, here = self.who(interaction), str(interaction.channel_id)
        assert self.conversation is not None
        conversation = self.conversation
        await answer(interaction, conversation, self.reach, who,
                     lambda late: conversation.command(who, words, here=here))

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """The skip form's submission (a modal: not routed to dynamic items, so handled here, also after a
        restart). `Guard` has checked its shape: an action as custom id, rows of text inputs."""
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        data: dict[str, Any] = dict(interaction.data or {})
        custom_id = str(data["custom_id"])
        inputs = [c for row in data.get("components", []) for c in row.get("components", [])]
        reason = next((str(c.get("value") or "") for c in inputs if c.get("custom_id") == "reason"), "")
        who = self.who(interaction)
        assert self.conversation is not None
        conversation = self.conversation
        await answer(interaction, conversation, self.reach, who,
                     lambda late: conversation.form_in_time(who, custom_id, reason,
                                                            delivery=f"discord:{interaction.id}", late=late),
                     bounded=True)

    def unreadable(self, problem: str, locale: str | None) -> Reply:
        assert self.conversation is not None
        return self.conversation.unreadable(problem, locale)

    @staticmethod
    def who(interaction: discord.Interaction) -> Who:
        """The person as the chat layer knows them. Discord user ids are global, so the workspace is the
        application: a labeler stays one labeler across guilds and DMs (a DM click carries no guild)."""
        user, locale = interaction.user, str(interaction.locale)

        async def details() -> Details:
            roles: frozenset[str] = frozenset()
            if isinstance(user, discord.Member):
                roles = frozenset(value for role in user.roles for value in (str(role.id), role.name))
            admin = interaction.guild_id is not None and interaction.permissions.manage_guild
            return Details(display_name=user.display_name, suggested_region=region_for_locale(locale), admin=admin,
                           roles=roles)

        return Who(PLATFORM, str(interaction.application_id), str(user.id), locale=locale, details=details)
