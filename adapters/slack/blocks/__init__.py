"""Block Kit builders: `bot/` results in, typed `slack_sdk.models.blocks` out. No I/O, no rules."""
