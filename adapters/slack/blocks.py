"""Block Kit from the chat layer's view models: mechanical, every decision was made in `bot/chat/`.

Prompts and completions are `plain_text` objects: Slack parses no mention, link or `*bold*` in them, so they show
as the model wrote them. Other user values inside catalog texts (campaign names, what someone typed) are escaped
into verbatim mrkdwn, whose `**bold**` becomes Slack's `*bold*`. Every button's action id is the chat layer's
action string.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    OverflowMenuElement,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

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


def plain(text: Text | str, limit: int = PLAIN_LIMIT) -> PlainTextObject:
    value = text.plain() if isinstance(text, Text) else text
    return PlainTextObject(text=value if len(value) <= limit else value[: limit - 1] + "…", emoji=True)


def section(text: str, **kwargs: Any) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=text, verbatim=True), **kwargs)


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=text, verbatim=True)])


def literal(text: str, **kwargs: Any) -> SectionBlock:
    """A prompt or completion exactly as written: plain text, emoji codes included."""
    return SectionBlock(text=PlainTextObject(text=text or " ", emoji=False), **kwargs)


def button(control: Control) -> ButtonElement:
    return ButtonElement(text=plain(control.label), action_id=control.action, style=control.style)


def actions(block_id: str, controls: tuple[Control, ...]) -> ActionsBlock:
    return ActionsBlock(block_id=block_id, elements=[button(control) for control in controls])


# ---- cards ---------------------------------------------------------------------------------------------------------
def card_blocks(view: CardView) -> list[Block]:
    if not view.is_open:
        line = mrkdwn(view.closed) if view.closed else ""
        if view.progress:
            line += "\n" + mrkdwn(view.progress)
        preview = ContextBlock(elements=[MarkdownTextObject(text=f"{mrkdwn(view.prompt_label)}:", verbatim=True),
                                         PlainTextObject(text=view.prompt, emoji=False)])
        return [section(line), preview, actions("next", view.controls)]
    blocks: list[Block] = [HeaderBlock(text=plain(view.title, HEADER_LIMIT)), context(mrkdwn(view.intro)),
                           section(f"*{mrkdwn(view.prompt_label)}*"), literal(view.prompt), DividerBlock()]
    for position, choice in enumerate(view.choices):
        blocks += _choice(view, choice, position)
    blocks += [DividerBlock(), section(mrkdwn(view.order) if view.order else "")]
    if view.place:
        blocks.append(actions("place", view.place))
    if view.full_text:
        blocks.append(actions("full", view.full_text))
    blocks.append(actions("controls", view.controls))
    if view.flag_hint:
        blocks.append(context(mrkdwn(view.flag_hint)))
    return blocks


def _choice(view: CardView, choice: ChoiceView, position: int) -> list[Block]:
    label = f"*{choice.letter}*" + (f"  ·  _{mrkdwn(choice.status)}_" if choice.status else "")
    menu = OverflowMenuElement(action_id=f"flags-{view.card_id}-{position}", options=[
        Option(value=control.action, text=plain(control.label)) for control in choice.flags])
    return [context(label), literal(choice.text, block_id=f"choice-{position}", accessory=menu)]


# ---- onboarding, notices, status -----------------------------------------------------------------------------------
def step_blocks(view: StepView) -> list[Block]:
    blocks: list[Block] = [] if view.step == "done" else [HeaderBlock(text=plain(view.title, HEADER_LIMIT))]
    blocks.append(section(mrkdwn(view.text)))
    if view.guidelines is not None:
        pieces = chunks(markdown_to_mrkdwn(view.guidelines)) if view.guidelines.strip() else []
        blocks.append(DividerBlock())
        blocks += [section(piece) for piece in pieces[:MESSAGE_SECTIONS]]
    if view.footer:
        blocks.append(context(mrkdwn(view.footer)))
    if view.options:
        options = [Option(value=option.action, text=plain(option.label)) for option in view.options]
        select = StaticSelectElement(action_id=REGION_SELECT, placeholder=plain(view.placeholder or ""),
                                     options=options,
                                     initial_option=options[view.chosen] if view.chosen is not None else None)
        blocks.append(ActionsBlock(block_id="onboarding", elements=[select, *map(button, view.controls)]))
    elif view.controls:
        blocks.append(actions("onboarding", view.controls))
    return blocks


def notice_blocks(view: Notice) -> list[Block]:
    blocks: list[Block] = [section(KIND_ICONS[view.kind] + mrkdwn(view.text))]
    if view.controls:
        blocks.append(actions("notice", view.controls))
    return blocks


def status_text(view: StatusView) -> str:
    adaptive = "\n" + mrkdwn(view.adaptive) if view.adaptive else ""
    return mrkdwn(view.head) + "\n```\n" + escape(view.table) + "\n```" + adaptive


def home_view(view: HomeView) -> View:
    """App Home: a line about the bot, then each live campaign with its Join button."""
    blocks: list[Block] = [HeaderBlock(text=plain("crowdrank")), context(mrkdwn(view.intro))]
    blocks += [section(mrkdwn(notice.text), accessory=button(notice.controls[0])) for notice in view.campaigns]
    if not view.campaigns:
        blocks.append(section(mrkdwn(view.empty)))
    return View(type="home", blocks=blocks[:100])


# ---- modals --------------------------------------------------------------------------------------------------------
def text_modal(title: Text, close: Text, body: str, *, as_written: bool = False) -> View:
    """A read-only modal holding long text in as many sections as it needs (up to Slack's 100 blocks): mrkdwn, or
    plain text shown as written."""
    make = literal if as_written else section
    blocks: list[Block] = [make(piece) for piece in chunks(body)[:MODAL_BLOCK_LIMIT]]
    return View(type="modal", title=plain(title, TITLE_LIMIT), close=plain(close), blocks=blocks)


def full_text_modal(view: FullText) -> View:
    return text_modal(view.title, view.close, view.text, as_written=True)


def guidelines_modal(view: GuidelinesView) -> View:
    body = markdown_to_mrkdwn(view.markdown) or f"_{mrkdwn(view.empty)}_"
    return text_modal(view.title, view.close, f"{mrkdwn(view.head)}\n\n{body}")


def skip_modal(view: SkipForm, private_metadata: str) -> View:
    reason = PlainTextInputElement(action_id="reason", multiline=True, max_length=view.max_length,
                                   placeholder=plain(view.placeholder))
    return View(type="modal", callback_id=SKIP_VIEW, private_metadata=private_metadata, title=plain(view.title),
                submit=plain(view.submit), close=plain(view.cancel),
                blocks=[section(mrkdwn(view.text)),
                        InputBlock(block_id="reason", label=plain(view.label), element=reason, optional=True)])
