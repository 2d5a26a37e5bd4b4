"""Discord adapter (discord.py `Client` with an app-command tree and dynamic items): gateway interactions in,
calls into the chat layer, embeds and `discord.ui` components out.

`endpoints.point_at` moves discord.py's REST base and gateway (DISCORD_API_BASE / DISCORD_GATEWAY_URL) so the
tests run the real client against a local emulator.
"""
