"""A bare discord.py client for the emulator tests and the click benchmark's baseline: it connects, and answers
every interaction at once — a component click with a deferred update (type 6, acknowledge only), anything else
with a short message naming the guilds and channels it learnt from GUILD_CREATE.

Run as `python -m tests.discord_bare_client`; reads DISCORD_TOKEN, DISCORD_API_BASE, DISCORD_GATEWAY_URL.
"""

from __future__ import annotations

import os

import discord

from adapters.discord.endpoints import point_at
from bot import event_loop


class BareClient(discord.Client):
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if interaction.type is discord.InteractionType.component:
            await interaction.response.defer()
            return
        channels = ",".join(sorted(c.name for g in self.guilds for c in g.text_channels))
        await interaction.response.send_message(f"pong guilds={len(self.guilds)} channels={channels}",
                                                ephemeral=True)


def main() -> None:
    point_at(os.environ.get("DISCORD_API_BASE"), os.environ.get("DISCORD_GATEWAY_URL"))
    client = BareClient(intents=discord.Intents.none() | discord.Intents(guilds=True))
    event_loop.run(client.start(os.environ["DISCORD_TOKEN"]))  # the loop `crowdrank serve` runs on


if __name__ == "__main__":
    main()
