"""Onboarding in a DM, one step at a time in one message: consent, region, guidelines, then "all set".

The campaign name travels in each actions block's `block_id` (`campaign:<name>`), so a button or select needs no
server-side state to know which campaign it belongs to.
"""

from __future__ import annotations

from slack_sdk.models.blocks import ActionsBlock, Block, DividerBlock, HeaderBlock, Option, StaticSelectElement

from adapters.slack import action_ids
from adapters.slack.blocks.text import actions, button, context, plain, section
from adapters.slack.mrkdwn import chunks, escape, markdown_to_mrkdwn
from bot.labelers import Onboarding

CAMPAIGN_BLOCK = "campaign:"
GUIDELINE_SECTIONS = 40  # a message holds 50 blocks; the rest of the step needs a few


def campaign_block_id(campaign: str) -> str:
    return CAMPAIGN_BLOCK + campaign


def campaign_from_block_id(block_id: str) -> str:
    if not block_id.startswith(CAMPAIGN_BLOCK):
        raise ValueError(f"block id {block_id!r} does not name a campaign")
    return block_id[len(CAMPAIGN_BLOCK):]


def onboarding_text(state: Onboarding) -> str:
    return f"Joining {escape(state.campaign)}: " + ("all set" if state.complete else "a few steps first")


def onboarding_blocks(state: Onboarding) -> list[Block]:
    """The first step still open, or the "all set" message."""
    name = escape(state.campaign)
    head: list[Block] = [HeaderBlock(text=plain(f"Join {state.campaign}", 150))]
    if state.needs_consent:
        return [*head, section(
            f"*Step 1 of 3 — consent.* Ranking for *{name}* stores your rankings, the region you choose and the "
            "time you spent, under a pseudonym. Your Slack id and display name are kept to send you cards and "
            "for the campaign team; `/crowdrank forget` removes them at any time (your rankings stay, "
            "pseudonymous)."),
            actions(campaign_block_id(state.campaign), button("I agree", action_ids.CONSENT, style="primary"))]
    if state.needs_region:
        return [*head, section(
            "*Step 2 of 3 — region.* Which world region should your rankings count for? Agreement is measured "
            "within and across regions. The suggestion comes from your Slack time zone: change it if it is "
            "wrong, then confirm."),
            ActionsBlock(block_id=campaign_block_id(state.campaign), elements=[
                (select := _region_select(state)),
                button("Confirm region", action_ids.REGION,
                       select.initial_option.value if select.initial_option else None, style="primary")])]
    if state.needs_guidelines:
        body = markdown_to_mrkdwn(state.guidelines) or "_No written guidelines: use your best judgement._"
        pieces = chunks(body)
        blocks: list[Block] = [*head, section(f"*Step 3 of 3 — guidelines* (version {state.guidelines_version})"),
                               DividerBlock()]
        blocks += [section(piece) for piece in pieces[:GUIDELINE_SECTIONS]]
        if len(pieces) > GUIDELINE_SECTIONS:
            blocks.append(context("The guidelines go on — the *Guidelines* button on every card shows them whole."))
        blocks.append(actions(campaign_block_id(state.campaign),
                              button("I have read them", f"read:{state.guidelines_version}", style="primary")))
        return blocks
    region = escape(state.region or "")
    return [section(f":tada: You are all set for *{name}* (region: {region}). Your first card follows."),
            context("`/crowdrank rank` or the *Next card* button brings the next one.")]


def _region_select(state: Onboarding) -> StaticSelectElement:
    options = [Option(value=region, text=plain(region)) for region in state.region_choices]
    initial = next((o for o in options if o.value == (state.region or state.suggested_region)), None)
    return StaticSelectElement(action_id=action_ids.REGION_PICK, placeholder=plain("Choose your region"),
                               options=options, initial_option=initial)
