"""The smaller views the conversation sends: invitation, "nothing left", guidelines, full text, the skip form,
help and the home list. Built here so the conversation, the examples and the catalog tests share one builder."""

from __future__ import annotations

from collections.abc import Sequence

from bot.chat.actions import format_action
from bot.chat.catalog import N_, _
from bot.chat.views import Control, FullText, GuidelinesView, HomeView, Notice, SkipForm

__all__ = ["invitation", "nothing_left", "dms_closed", "guidelines_view", "full_text", "skip_form", "help_notice",
           "home"]

HELP = N_("""**crowdrank** — rank model answers for RLHF campaigns
• `/crowdrank join [campaign]` — join a campaign (onboarding in a direct message)
• `/crowdrank rank [campaign]` — your next card, in a direct message
• `/crowdrank forget` — remove your chat id and region (your rankings stay, pseudonymous)
Managers: `/crowdrank status [campaign]`, `invite <campaign> [#channel]`, `pause <campaign>`,
`resume <campaign>`, `retrain <campaign>`, `report <campaign>`, `guidelines <campaign>`""")


def join_control(campaign_id: int) -> Control:
    return Control(_("Join"), format_action("join", campaign_id), "primary")


def invitation(campaign_id: int, campaign: str, criterion: str) -> Notice:
    return Notice(_("**Help rank model answers for {campaign}**\nCriterion: _{criterion}_. Each card shows a prompt "
                    "and a few answers; click them best first. A card takes about a minute, you can stop at any "
                    "time.", campaign=campaign, criterion=criterion), (join_control(campaign_id),))


def nothing_left(campaign_id: int) -> Notice:
    again = Control(_("Next card"), format_action("next", campaign_id))
    return Notice(_("Nothing left for you to rank right now — thank you! Try **Next card** later."), (again,))


def dms_closed() -> Notice:
    """Said once when a platform cannot reach the person privately (their direct messages are closed)."""
    return Notice(_("I cannot send you direct messages (your privacy settings block them), so we continue here, "
                    "where only you can see it."))


def guidelines_view(campaign: str, markdown: str, version: int) -> GuidelinesView:
    return GuidelinesView(title=_("Guidelines"), head=_("**{campaign}** · version {version}", campaign=campaign,
                                                        version=version),
                          markdown=markdown, empty=_("This campaign has no written guidelines."), close=_("Close"))


def full_text(letter: str | None, text: str) -> FullText:
    """The whole prompt (`letter` None) or completion."""
    title = _("Prompt") if letter is None else _("Completion {letter}", letter=letter)
    return FullText(title, text, _("Close"))


def skip_form(action: str, max_length: int) -> SkipForm:
    return SkipForm(action=action, title=_("Skip this card"),
                    text=_("Skipped cards are not counted and go back to the pool for someone else."),
                    label=_("Why? (optional)"), placeholder=_("e.g. I do not know this topic"),
                    submit=_("Skip"), cancel=_("Back"), max_length=max_length)


def help_notice() -> Notice:
    return Notice(_(HELP))


def home(live: Sequence[tuple[int, str, str]]) -> HomeView:
    """`live` = (campaign id, name, criterion) of each live campaign."""
    return HomeView(intro=_("Rank model answers for RLHF campaigns. `/crowdrank help` lists commands."),
                    campaigns=tuple(Notice(_("**{campaign}**\n_{criterion}_", campaign=name, criterion=criterion),
                                           (join_control(cid),)) for cid, name, criterion in live),
                    empty=_("No campaign is live right now."))
