"""Block Kit from the chat layer's view models: mechanical, every decision was made in `bot/chat/`.

Prompts and completions are `plain_text` objects: Slack parses no mention, link or `*bold*` in them, so they show
as the model wrote them. Other user values inside catalog texts (campaign names, what someone typed) are escaped
into verbatim mrkdwn, whose `**bold**` becomes Slack's `*bold*`. Every button's action id is the chat layer's
action string.

Blocks and views are built as Block Kit JSON (dicts), not slack_sdk's model objects: a card is rendered on every
click, and building the objects and turning them back into dicts (with their validation) was about a tenth of a
click's CPU. The limits slack_sdk checked are kept here (`plain` cuts labels) and checked by the tests against
Slack's documented limits (tests/slack_limits.py).
"""

from __future__ import annotations

from typing import Any

from adapters.slack.mrkdwn import chunks, escape, markdown_to_mrkdwn, mrkdwn
from bot.chat.text import Text
from bot.chat.views import (
    CardView,
    ChoiceView,
    Control,
    FullText,
    GuidelinesView,
    HomeView,
    Notice,
    SkipForm,
    StatusView,
    StepView,
)

PLAIN_LIMIT = 75  # button labels
HEADER_LIMIT = 150
TITLE_LIMIT = 24  # modal titles
MESSAGE_SECTIONS = 40  # a message holds 50 blocks; the rest of a step needs a few
MODAL_BLOCK_LIMIT = 100
REGION_SELECT = "region_pick"  # moving the select only moves it: Slack sends its state with the Confirm click
SKIP_VIEW = "skip_view"
KIND_ICONS = {"info": "", "refusal": ":no_entry: ", "failure": ":warning: ", "unconfirmed": ":hourglass: "}


Json = dict[str, Any]


def plain(text: Text | str, limit: int = PLAIN_LIMIT) -> Json:
    value = text.plain() if isinstance(text, Text) else text
    return {"type": "plain_text", "text": value if len(value) <= limit else value[: limit - 1] + "…", "emoji": True}


def _mrkdwn_text(text: str) -> Json:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _as_written(text: str) -> Json:
    return {"type": "plain_text", "text": text, "emoji": False}


def section(text: str, **kwargs: Any) -> Json:
    return {"type": "section", "text": _mrkdwn_text(text), **kwargs}


def context(text: str) -> Json:
    return {"type": "context", "elements": [_mrkdwn_text(text)]}


def literal(text: str, **kwargs: Any) -> Json:
    """A prompt or completion exactly as written: plain text, emoji codes included."""
    return {"type": "section", "text": _as_written(text or " "), **kwargs}


def header(text: Text | str) -> Json:
    return {"type": "header", "text": plain(text, HEADER_LIMIT)}


DIVIDER: Json = {"type": "divider"}


def button(control: Control) -> Json:
    element = {"type": "button", "text": plain(control.label), "action_id": control.action}
    if control.style:
        element["style"] = control.style
    return element


def actions(block_id: str, controls: tuple[Control, ...]) -> Json:
    return {"type": "actions", "block_id": block_id, "elements": [button(control) for control in controls]}


def option(label: Text, value: str) -> Json:
    return {"text": plain(label), "value": value}


# ---- cards ---------------------------------------------------------------------------------------------------------
def card_blocks(view: CardView) -> list[Json]:
    if not view.is_open:
        line = mrkdwn(view.closed) if view.closed else ""
        if view.progress:
            line += "\n" + mrkdwn(view.progress)
        preview = {"type": "context", "elements": [_mrkdwn_text(f"{mrkdwn(view.prompt_label)}:"),
                                                   _as_written(view.prompt)]}
        return [section(line), preview, actions("next", view.controls)]
    blocks: list[Json] = [header(view.title), context(mrkdwn(view.intro)),
                          section(f"*{mrkdwn(view.prompt_label)}*"), literal(view.prompt), DIVIDER]
    for position, choice in enumerate(view.choices):
        blocks += _choice(view, choice, position)
    blocks += [DIVIDER, section(mrkdwn(view.order) if view.order else "")]
    if view.place:
        blocks.append(actions("place", view.place))
    if view.full_text:
        blocks.append(actions("full", view.full_text))
    blocks.append(actions("controls", view.controls))
    if view.flag_hint:
        blocks.append(context(mrkdwn(view.flag_hint)))
    return blocks


def _choice(view: CardView, choice: ChoiceView, position: int) -> list[Json]:
    label = f"*{choice.letter}*" + (f"  ·  _{mrkdwn(choice.status)}_" if choice.status else "")
    menu = {"type": "overflow", "action_id": f"flags-{view.card_id}-{position}",
            "options": [option(control.label, control.action) for control in choice.flags]}
    return [context(label), literal(choice.text, block_id=f"choice-{position}", accessory=menu)]


# ---- onboarding, notices, status -----------------------------------------------------------------------------------
def step_blocks(view: StepView) -> list[Json]:
    blocks: list[Json] = [] if view.step == "done" else [header(view.title)]
    blocks.append(section(mrkdwn(view.text)))
    if view.guidelines is not None:
        pieces = chunks(markdown_to_mrkdwn(view.guidelines)) if view.guidelines.strip() else []
        blocks.append(DIVIDER)
        blocks += [section(piece) for piece in pieces[:MESSAGE_SECTIONS]]
    if view.footer:
        blocks.append(context(mrkdwn(view.footer)))
    if view.options:
        options = [option(choice.label, choice.action) for choice in view.options]
        select: Json = {"type": "static_select", "action_id": REGION_SELECT,
                        "placeholder": plain(view.placeholder or ""), "options": options}
        if view.chosen is not None:
            select["initial_option"] = options[view.chosen]
        blocks.append({"type": "actions", "block_id": "onboarding",
                       "elements": [select, *map(button, view.controls)]})
    elif view.controls:
        blocks.append(actions("onboarding", view.controls))
    return blocks


def notice_blocks(view: Notice) -> list[Json]:
    blocks: list[Json] = [section(KIND_ICONS[view.kind] + mrkdwn(view.text))]
    if view.controls:
        blocks.append(actions("notice", view.controls))
    return blocks


def status_text(view: StatusView) -> str:
    adaptive = "\n" + mrkdwn(view.adaptive) if view.adaptive else ""
    return mrkdwn(view.head) + "\n```\n" + escape(view.table) + "\n```" + adaptive


def home_view(view: HomeView) -> Json:
    """App Home: a line about the bot, then each live campaign with its Join button."""
    blocks: list[Json] = [header("crowdrank"), context(mrkdwn(view.intro))]
    blocks += [section(mrkdwn(notice.text), accessory=button(notice.controls[0])) for notice in view.campaigns]
    if not view.campaigns:
        blocks.append(section(mrkdwn(view.empty)))
    return {"type": "home", "blocks": blocks[:100]}


# ---- modals --------------------------------------------------------------------------------------------------------
def text_modal(title: Text, close: Text, body: str, *, as_written: bool = False) -> Json:
    """A read-only modal holding long text in as many sections as it needs (up to Slack's 100 blocks): mrkdwn, or
    plain text shown as written."""
    make = literal if as_written else section
    return {"type": "modal", "title": plain(title, TITLE_LIMIT), "close": plain(close),
            "blocks": [make(piece) for piece in chunks(body)[:MODAL_BLOCK_LIMIT]]}


def full_text_modal(view: FullText) -> Json:
    return text_modal(view.title, view.close, view.text, as_written=True)


def guidelines_modal(view: GuidelinesView) -> Json:
    body = markdown_to_mrkdwn(view.markdown) or f"_{mrkdwn(view.empty)}_"
    return text_modal(view.title, view.close, f"{mrkdwn(view.head)}\n\n{body}")


def skip_modal(view: SkipForm, private_metadata: str) -> Json:
    reason = {"type": "plain_text_input", "action_id": "reason", "placeholder": plain(view.placeholder),
              "multiline": True, "max_length": view.max_length}
    return {"type": "modal", "callback_id": SKIP_VIEW, "private_metadata": private_metadata,
            "title": plain(view.title), "submit": plain(view.submit), "close": plain(view.cancel),
            "blocks": [section(mrkdwn(view.text)),
                       {"type": "input", "block_id": "reason", "label": plain(view.label), "element": reason,
                        "optional": True}]}
