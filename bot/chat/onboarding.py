"""Onboarding as view models, one step at a time: consent, region, guidelines, then "all set".

The region is the labeler's own choice: the platform's time zone or locale only pre-selects a suggestion, and
"prefer not to say" is always offered.
"""

from __future__ import annotations

from bot.chat.actions import format_action
from bot.chat.catalog import _
from bot.chat.text import Text
from bot.chat.views import Control, Option, StepView
from bot.labelers import PREFER_NOT_TO_SAY, Onboarding

__all__ = ["step_view"]


def step_view(state: Onboarding) -> StepView:
    """The first step still open, or the "all set" message."""
    cid, name = state.campaign_id, state.campaign
    title = _("Join {campaign}", campaign=name)
    if state.needs_consent:
        return StepView(cid, "consent", title, _(
            "**Step 1 of 3 — consent.** Ranking for **{campaign}** stores your rankings, the region you choose and "
            "the time you spent, under a pseudonym. Your chat id and display name are kept to send you cards and "
            "for the campaign team; `/crowdrank forget` removes them at any time (your rankings stay, "
            "pseudonymous).", campaign=name),
            controls=(Control(_("I agree"), format_action("consent", cid), "primary"),))
    if state.needs_region:
        options = tuple(Option(_region_label(region), format_action("region", cid, index))
                        for index, region in enumerate(state.region_choices))
        wanted = state.region or state.suggested_region
        chosen = state.region_choices.index(wanted) if wanted in state.region_choices else None
        # Confirm accepts the selected suggestion; pressed with nothing selected, it asks for a choice
        confirm = Control(_("Confirm region"), options[chosen].action if chosen is not None
                          else format_action("region", cid), "primary")
        return StepView(cid, "region", title, _(
            "**Step 2 of 3 — region.** Which world region should your rankings count for? Agreement is measured "
            "within and across regions. A suggestion may be selected from your profile: change it if it is wrong, "
            "then confirm."), controls=(confirm,), options=options, chosen=chosen,
            placeholder=_("Choose your region"))
    if state.needs_guidelines:
        return StepView(cid, "guidelines", title,
                        _("**Step 3 of 3 — guidelines** (version {version})", version=state.guidelines_version),
                        controls=(Control(_("I have read them"),
                                          format_action("read", cid, state.guidelines_version), "primary"),),
                        guidelines=state.guidelines,
                        footer=_("No written guidelines: use your best judgement.") if not state.guidelines.strip()
                        else _("The **Guidelines** button on every card shows them again."))
    return StepView(cid, "done", title, _("You are all set for **{campaign}** (region: {region}). Your first card "
                                          "follows.", campaign=name, region=state.region or ""),
                    footer=_("`/crowdrank rank` or the **Next card** button brings the next one."))


def _region_label(region: str) -> Text:
    return _("prefer not to say") if region == PREFER_NOT_TO_SAY else Text("{region}", {"region": region})
