"""Channel and DM messages around the card: the campaign invitation, the manager's status with text bars, the
App Home, and short notices."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import Block, HeaderBlock
from slack_sdk.models.views import View

from adapters.slack.blocks.text import actions, button, context, plain, section
from adapters.slack.mrkdwn import escape

BAR_WIDTH = 20


def invitation_blocks(campaign: str, criterion: str) -> list[Block]:
    return [
        section(f":wave: *Help rank model answers for {escape(campaign)}*\n"
                f"Criterion: _{escape(criterion)}_. Each card shows a prompt and a few answers; click them best "
                "first. A card takes about a minute, you can stop at any time."),
        actions("join", button("Join", "join", campaign, style="primary")),
    ]


def bar(value: int, target: int, width: int = BAR_WIDTH) -> str:
    """`█████░░░░░` filled in proportion to value / target (full and no more when the target is met)."""
    filled = width if target <= 0 else min(width, math.floor(width * value / target))
    return "█" * filled + "░" * (width - filled)


def status_text(stats: dict[str, Any]) -> str:
    """Progress per region as text bars, from `bot.campaigns.campaign_stats`."""
    needed = int(stats["votes_needed"])
    done = int(stats["rankings"])
    regions = list(stats["regions"]) or ["all"]
    by_region = dict(stats["rankings_by_region"])
    share = math.ceil(needed / len(regions)) if stats["quota_policy"] == "balanced" and stats["regions"] else needed
    rows = [name for name in regions] + [name for name in by_region if name not in regions and name != "all"]
    width = max(len(name) for name in rows)
    lines = [f"{name:<{width}}  {bar(by_region.get(name, 0), share)}  {by_region.get(name, 0)}/{share}"
             for name in rows]
    percent = 100 * done / needed if needed else 100.0
    head = (f"*{escape(stats['name'])}* — {stats['status']} · {done}/{needed} rankings ({percent:.0f}%) · "
            f"{stats['items_complete']}/{stats['items']} items complete · {stats['labelers']} labelers")
    return head + "\n```\n" + escape("\n".join(lines)) + "\n```"


def home_view(campaigns: Sequence[tuple[str, str]]) -> View:
    """App Home: the live campaigns, each with a Join button (`campaigns` = (name, criterion) pairs)."""
    blocks: list[Block] = [HeaderBlock(text=plain("crowdrank")),
                           context("Rank model answers for RLHF campaigns. `/crowdrank help` lists commands.")]
    for number, (name, criterion) in enumerate(campaigns):
        blocks.append(section(f"*{escape(name)}*\n_{escape(criterion)}_",
                              accessory=button("Join", f"join:{number}", name, style="primary")))
    if not campaigns:
        blocks.append(section("No campaign is live right now."))
    return View(type="home", blocks=blocks[:100])


def notice_blocks(text: str, campaign: str | None = None) -> list[Block]:
    """A one-line notice, with a "Next card" button when it makes sense to try again."""
    blocks: list[Block] = [section(text)]
    if campaign is not None:
        blocks.append(actions("next", button("Next card", "next", campaign)))
    return blocks
