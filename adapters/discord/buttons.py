"""Every button and select the bot sends is one persistent `DynamicItem` whose template is the chat layer's action
grammar (`bot.chat.actions.PATTERN`): discord.py routes a click on any message ever sent — also one sent before a
restart — to `callback`, which hands the action to the client. Nothing about the action is decided here.
"""

from __future__ import annotations

import re
from typing import Any

import discord

from bot.chat.actions import PATTERN
from bot.chat.views import Control

__all__ = ["ActionItem", "button"]

STYLES = {"primary": discord.ButtonStyle.primary, "danger": discord.ButtonStyle.danger,
          None: discord.ButtonStyle.secondary}


class ActionItem(discord.ui.DynamicItem[discord.ui.Item[Any]], template=PATTERN):
    """A button or select whose custom id is an action string (`rank:12:0`, `region:3:0`, …)."""

    def __init__(self, item: discord.ui.Item[Any]) -> None:
        super().__init__(item)

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> ActionItem:
        return cls(item)

    async def callback(self, interaction: discord.Interaction) -> None:
        data: dict[str, Any] = dict(interaction.data or {})
        values = [str(value) for value in data.get("values") or []]
        await interaction.client.press(interaction, self.custom_id, values)  # type: ignore[attr-defined]  # our Client


def button(control: Control, *, label: str, row: int | None = None, disabled: bool = False) -> ActionItem:
    return ActionItem(discord.ui.Button(label=label, custom_id=control.action, style=STYLES[control.style],
                                        disabled=disabled, row=row))
