"""Labelers: registration, onboarding per campaign (consent, region, guidelines version), region changes and
forgetting a person while keeping their rankings pseudonymous.

Region is the labeler's own choice (a platform time zone or locale is only a suggestion). Rankings copy the
region at submit time, so changing it later never rewrites the past.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.campaigns import get_campaign
from bot.errors import InputError, NotAllowed, NotFound, NotJoined, StateError
from bot.i18n import N_
from bot.plain_text import CHAT_ID, REGION, check_name, clean_display_name
from bot.unit_of_work import transaction
from storage.models import Assignment, Campaign, Enrollment, Item, Labeler, new_pseudonym, utcnow

PREFER_NOT_TO_SAY = "prefer not to say"
PLATFORMS = ("slack", "discord", "sim", "cli")

__all__ = [
    "PREFER_NOT_TO_SAY", "Onboarding", "register_labeler", "onboarding", "give_consent", "choose_region",
    "acknowledge_guidelines", "forget_labeler", "get_labeler", "find_labeler", "card_owner_status", "region_choices",
    "lock_ready",
]


@dataclass(frozen=True)
class Onboarding:
    """What a labeler still has to do before ranking in one campaign."""

    labeler_id: int
    campaign_id: int
    campaign: str
    needs_consent: bool
    needs_region: bool
    needs_guidelines: bool
    region: str | None
    region_choices: tuple[str, ...]
    suggested_region: str | None
    guidelines: str
    guidelines_version: int

    @property
    def complete(self) -> bool:
        return not (self.needs_consent or self.needs_region or self.needs_guidelines)


def region_choices(campaign: Campaign) -> tuple[str, ...]:
    return (*campaign.regions, PREFER_NOT_TO_SAY)


def insert_for(session: AsyncSession):
    """The dialect's INSERT, which has ON CONFLICT DO NOTHING on both databases."""
    return pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert


async def register_labeler(session: AsyncSession, platform: str, workspace: str, user_id: str, *,
                           display_name: str | None = None, suggested_region: str | None = None) -> Labeler:
    """Find or create the labeler for (platform, workspace, user); safe when two requests race."""
    if platform not in PLATFORMS:
        raise InputError(f"unknown platform {platform!r}; expected one of {', '.join(PLATFORMS)}",
                         field="platform")
    if not workspace or not user_id:
        raise InputError("workspace and user id must not be empty", field="user_id")
    check_chat_ids(workspace, user_id)
    display_name = clean_display_name(display_name)
    if suggested_region is not None:
        suggested_region = check_name(suggested_region, "suggested region", REGION, field="region")
    async with transaction(session):
        statement = insert_for(session)(Labeler).values(
            platform=platform, workspace=workspace, user_id=user_id, pseudonym=new_pseudonym(),
            display_name=display_name, suggested_region=suggested_region, status="active", created_at=utcnow(),
        ).on_conflict_do_nothing(index_elements=["platform", "workspace", "user_id"])
        await session.exec(statement)
        labeler = (await session.exec(select(Labeler).where(
            Labeler.platform == platform, Labeler.workspace == workspace, Labeler.user_id == user_id))).one()
        if display_name is not None and labeler.display_name != display_name:
            labeler.display_name = display_name
        if suggested_region is not None and labeler.suggested_region != suggested_region:
            labeler.suggested_region = suggested_region
    return labeler


def check_chat_ids(workspace: str, user_id: str) -> None:
    """A platform's ids fit their columns and hold no control characters (PostgreSQL refuses a NUL even in a
    lookup), whatever a tampered payload says."""
    check_name(workspace, "workspace id", CHAT_ID, field="workspace")
    check_name(user_id, "user id", CHAT_ID, field="user_id")


async def find_labeler(session: AsyncSession, platform: str, workspace: str, user_id: str) -> int | None:
    """The id of an active labeler, or None: a lookup that never creates a row (refusals must not)."""
    check_chat_ids(workspace, user_id)
    return (await session.exec(select(Labeler.id).where(
        Labeler.platform == platform, Labeler.workspace == workspace, Labeler.user_id == user_id,
        Labeler.status == "active"))).first()


async def card_owner_status(session: AsyncSession, assignment_id: int) -> str | None:
    """The status of the labeler a card belongs to (`forgotten` after `/crowdrank forget`), None for no card."""
    return (await session.exec(select(Labeler.status).join(Assignment, Assignment.labeler_id == Labeler.id)
                               .where(Assignment.id == assignment_id))).first()


async def get_labeler(session: AsyncSession, labeler_id: int, *, for_update: bool = False) -> Labeler:
    statement = select(Labeler).where(Labeler.id == labeler_id)
    if for_update:
        statement = statement.with_for_update()
    labeler = (await session.exec(statement)).first()
    if labeler is None:
        raise NotFound(N_("there is no labeler {labeler}"), labeler=labeler_id)
    if labeler.status != "active":
        raise NotAllowed(N_("labeler {pseudonym} is {status}"), pseudonym=labeler.pseudonym, status=labeler.status)
    return labeler


async def _enrollment(session: AsyncSession, labeler_id: int, campaign_id: int | None, *,
                      for_update: bool = False) -> Enrollment | None:
    statement = select(Enrollment).where(Enrollment.labeler_id == labeler_id,
                                         Enrollment.campaign_id == campaign_id)
    if for_update:
        statement = statement.with_for_update()
    return (await session.exec(statement)).first()


def _state(labeler: Labeler, campaign: Campaign, enrollment: Enrollment | None) -> Onboarding:
    choices = region_choices(campaign)
    return Onboarding(
        labeler_id=labeler.id or 0, campaign_id=campaign.id or 0, campaign=campaign.name,
        needs_consent=labeler.consent_at is None,
        needs_region=labeler.region not in choices,
        needs_guidelines=enrollment is None or enrollment.guidelines_version != campaign.guidelines_version,
        region=labeler.region, region_choices=choices, suggested_region=labeler.suggested_region,
        guidelines=campaign.guidelines, guidelines_version=campaign.guidelines_version,
    )


async def _load(session: AsyncSession, labeler_id: int, campaign_name: str) -> tuple[Labeler, Campaign]:
    return await get_labeler(session, labeler_id), await get_campaign(session, campaign_name)


async def onboarding(session: AsyncSession, labeler_id: int, campaign_name: str) -> Onboarding:
    async with transaction(session):
        labeler, campaign = await _load(session, labeler_id, campaign_name)
        return _state(labeler, campaign, await _enrollment(session, labeler_id, campaign.id))


async def give_consent(session: AsyncSession, labeler_id: int) -> Labeler:
    async with transaction(session):
        labeler = await get_labeler(session, labeler_id)
        if labeler.consent_at is None:
            labeler.consent_at = utcnow()
    return labeler


async def choose_region(session: AsyncSession, labeler_id: int, campaign_name: str, region: str) -> Onboarding:
    """Set (or change) the labeler's region; rankings already made keep the region they were made in."""
    async with transaction(session):
        labeler, campaign = await _load(session, labeler_id, campaign_name)
        if region not in region_choices(campaign):
            raise InputError(N_("unknown region '{region}'; choose one of {choices}"), field="region",
                             region=region, choices=", ".join(region_choices(campaign)))
        labeler.region = region
        return _state(labeler, campaign, await _enrollment(session, labeler_id, campaign.id))


async def acknowledge_guidelines(session: AsyncSession, labeler_id: int, campaign_name: str,
                                 version: int) -> Onboarding:
    """Record that the labeler read this guidelines version; an outdated version is refused."""
    async with transaction(session):
        labeler, campaign = await _load(session, labeler_id, campaign_name)
        if version != campaign.guidelines_version:
            raise StateError(N_("the guidelines of {campaign} are now version {version}; please read them again"),
                             campaign=campaign.name, version=campaign.guidelines_version)
        enrollment = await _enrollment(session, labeler_id, campaign.id)
        if enrollment is None:
            enrollment = Enrollment(labeler_id=labeler_id, campaign_id=campaign.id)
            session.add(enrollment)
        enrollment.guidelines_version = version
        return _state(labeler, campaign, enrollment)


async def lock_ready(session: AsyncSession, labeler_id: int, campaign_name: str) -> tuple[Labeler, Campaign]:
    """Inside a transaction: the labeler and campaign, with the labeler's enrollment row locked so one labeler's
    requests run one at a time. One statement on the hot path; the detailed refusal only when it fails."""
    row = (await session.exec(
        select(Labeler, Campaign, Enrollment)
        .join(Enrollment, Enrollment.labeler_id == Labeler.id)
        .join(Campaign, Campaign.id == Enrollment.campaign_id)
        .where(Labeler.id == labeler_id, Campaign.name == campaign_name)
        .with_for_update(of=Enrollment))).first()
    if row is None:  # not enrolled at all, or no such labeler or campaign: say which
        labeler, campaign = await get_labeler(session, labeler_id), await get_campaign(session, campaign_name)
        _check_ready(labeler, campaign, None)
        raise AssertionError("unreachable: an enrolled labeler always has a row")  # pragma: no cover
    labeler, campaign, enrollment = row
    if labeler.status != "active":
        raise NotAllowed(N_("labeler {pseudonym} is {status}"), pseudonym=labeler.pseudonym, status=labeler.status)
    _check_ready(labeler, campaign, enrollment)
    return labeler, campaign


def _check_ready(labeler: Labeler, campaign: Campaign, enrollment: Enrollment | None) -> None:
    state = _state(labeler, campaign, enrollment)
    if not state.complete:
        missing = [name for name, needed in (("consent", state.needs_consent), ("region", state.needs_region),
                                             ("guidelines", state.needs_guidelines)) if needed]
        raise NotJoined(N_("finish joining {campaign} first: {missing}"), campaign=campaign.name,
                         missing=", ".join(missing))


async def forget_labeler(session: AsyncSession, platform: str, workspace: str, user_id: str) -> Labeler:
    """Remove personal data (user id, name, region hints); rankings stay, tied only to the pseudonym.

    Open cards are closed as expired so their slots return to the pool.
    """
    async with transaction(session):
        labeler = (await session.exec(select(Labeler).where(
            Labeler.platform == platform, Labeler.workspace == workspace, Labeler.user_id == user_id)
            .with_for_update())).first()
        if labeler is None:
            raise NotFound(N_("no labeler {platform}:{workspace}:{user}"), platform=platform, workspace=workspace,
                           user=user_id)
        open_items = (await session.exec(select(Assignment.item_id).where(
            Assignment.labeler_id == labeler.id, Assignment.state == "open"))).all()
        if open_items:
            await session.exec(update(Assignment).where(
                Assignment.labeler_id == labeler.id, Assignment.state == "open")
                .values(state="expired", closed_at=utcnow()))
            await release_slots(session, list(open_items))
        labeler.user_id = f"forgotten-{labeler.pseudonym}"
        labeler.display_name = None
        labeler.suggested_region = None
        labeler.region = None
        labeler.consent_at = None
        labeler.status = "forgotten"
    return labeler


async def release_slots(session: AsyncSession, item_ids: list[int]) -> None:
    """Give back one lease per listed item (an item may be listed several times); keeps `full` in sync."""
    counts: dict[int, int] = {}
    for item_id in item_ids:
        counts[item_id] = counts.get(item_id, 0) + 1
    for item_id, n in sorted(counts.items()):  # a fixed order: no deadlock between two releasers
        votes = select(Campaign.votes).where(Campaign.id == Item.campaign_id).scalar_subquery()
        await session.exec(update(Item).where(Item.id == item_id).values(
            leased=Item.leased - n, full=or_(Item.settled, (Item.submitted + Item.leased - n) >= votes)))
