"""Render every Block Kit message and modal the bot sends to JSON under docs/slack/, so a reader can paste them
into Slack's Block Kit Builder (https://app.slack.com/block-kit-builder) and see the bot without a workspace.

    python -m adapters.slack.render_examples [--out docs/slack]

The views come from `bot.chat.examples`, built through the same builders the conversation uses.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from adapters.slack.blocks import full_text_modal, guidelines_modal, home_view, section, skip_modal, status_text
from adapters.slack.mrkdwn import CUT_AT
from adapters.slack.replies import blocks_and_text
from bot.chat.examples import example_views
from bot.chat.views import FullText, GuidelinesView, HomeView, Limits, SkipForm, StatusView

LIMITS = Limits(CUT_AT)


def examples() -> dict[str, dict[str, Any]]:
    """File name → Block Kit payload (a message's {"blocks": …} or a view)."""
    out: dict[str, dict[str, Any]] = {}
    for name, view in example_views(LIMITS).items():
        if isinstance(view, FullText):
            out[name + ".json"] = full_text_modal(view)
        elif isinstance(view, GuidelinesView):
            out[name + ".json"] = guidelines_modal(view)
        elif isinstance(view, SkipForm):
            out[name + ".json"] = skip_modal(view, json.dumps({"action": view.action}))
        elif isinstance(view, HomeView):
            out[name + ".json"] = home_view(view)
        elif isinstance(view, StatusView):
            out[name + ".json"] = {"blocks": [section(status_text(view))]}
        else:
            out[name + ".json"] = {"blocks": blocks_and_text(view)[0]}
    return out


def render(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, payload in examples().items():
        path = out / name
        path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/slack"))
    args = parser.parse_args()
    for path in render(args.out):
        print(path)


if __name__ == "__main__":
    main()
