"""The clubs' SQL: clubs (beekeepers' associations), their members, and the apiaries they own.

A club's joined organisers are owners of its apiaries (the view apiary_roles, which
app/web/auth.py reads). So a club must never lose its last organiser: every change of members
(a role changed, a member removed, a member leaving) takes the club's row lock first and counts
the joined organisers before it commits, as app/apiaries/queries.py does for an apiary's owners.
Giving an apiary to a club or taking it out of one takes the apiary's lock and counts its
owners (the organisers of its club among them) before it commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.apiaries.queries import Refused, _commit_if_owned, _lock, change_member
from app.models import Apiary, ApiaryRole, Club, ClubMember, ClubRole, Hive, Inspection, User
from app.web.auth import apiaries_of
from app.web.i18n import N_

LAST_ORGANISER = N_(
    "A club needs an organiser: make another member an organiser before this one leaves or"
    " steps down."
)
NO_ACCOUNT = N_("No account has this email address.")
ALREADY_IN_CLUB = N_("This person is already a member of the club, or invited.")
# How far ahead the club page looks for what is due, in days.
DUE_DAYS = 7


def joined() -> ColumnElement[bool]:
    """Members who have accepted (those only added have not)."""
    return ClubMember.joined_at.is_not(None)


# --- clubs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClubRow:
    club: Club
    role: ClubRole
    apiaries: int
    members: int


async def clubs_of_user(db: AsyncSession, user_id: int) -> list[ClubRow]:
    """The clubs the user has joined, with their role and how many apiaries and members each
    has, by name."""
    apiaries = select(func.count(Apiary.id)).where(Apiary.club_id == Club.id).scalar_subquery()
    members = (
        select(func.count())
        .select_from(ClubMember)
        .where(ClubMember.club_id == Club.id, joined())
        .correlate(Club)
        .scalar_subquery()
    )
    rows = await db.execute(
        select(Club, ClubMember.role, apiaries, members)
        .join(ClubMember, ClubMember.club_id == Club.id)
        .where(ClubMember.user_id == user_id, joined())
        .order_by(Club.name, Club.id)
    )
    return [ClubRow(*row) for row in rows]


@dataclass(frozen=True)
class ClubInvitation:
    club_id: int
    club_name: str
    invited_by: str | None


async def invitations_for(db: AsyncSession, user_id: int) -> list[ClubInvitation]:
    """The clubs the user was added to and has not yet accepted, oldest first."""
    inviter = select(User.name).where(User.id == ClubMember.invited_by).scalar_subquery()
    rows = await db.execute(
        select(Club.id, Club.name, inviter)
        .join(ClubMember, ClubMember.club_id == Club.id)
        .where(ClubMember.user_id == user_id, ClubMember.joined_at.is_(None))
        .order_by(ClubMember.created_at, Club.id)
    )
    return [ClubInvitation(*row) for row in rows]


async def create_club(db: AsyncSession, user_id: int, name: str) -> int:
    """A new club, its maker its (joined) organiser."""
    club = Club(name=name)
    db.add(club)
    await db.flush()
    db.add(
        ClubMember(
            club_id=club.id,
            user_id=user_id,
            role=ClubRole.organiser,
            invited_by=user_id,
            joined_at=datetime.now(UTC),
        )
    )
    await db.commit()
    return club.id


async def membership(db: AsyncSession, club_id: int, user_id: int) -> tuple[Club, ClubRole] | None:
    """The club and the user's role in it, if they have joined it."""
    row = (
        await db.execute(
            select(Club, ClubMember.role)
            .join(ClubMember, ClubMember.club_id == Club.id)
            .where(Club.id == club_id, ClubMember.user_id == user_id, joined())
            .execution_options(populate_existing=True)
        )
    ).first()
    return (row[0], row[1]) if row else None


# --- the club's page --------------------------------------------------------------------------


@dataclass(frozen=True)
class ClubApiary:
    id: int
    name: str
    hives: int
    archived: bool


async def apiaries_of_club(db: AsyncSession, club_id: int) -> list[ClubApiary]:
    """The club's apiaries with their number of hives: open ones first, by name."""
    hives = select(func.count(Hive.id)).where(Hive.apiary_id == Apiary.id).scalar_subquery()
    rows = await db.execute(
        select(Apiary.id, Apiary.name, hives, Apiary.archived_at.is_not(None))
        .where(Apiary.club_id == club_id)
        .order_by(Apiary.archived_at.is_not(None), Apiary.name, Apiary.id)
    )
    return [ClubApiary(*row) for row in rows]


@dataclass(frozen=True)
class ClubMemberRow:
    user_id: int
    name: str
    role: ClubRole
    joined_at: datetime | None  # None: added, not yet accepted


async def members_of_club(db: AsyncSession, club_id: int) -> list[ClubMemberRow]:
    """The club's members, organisers first, each by name; then those not yet joined."""
    rows = await db.execute(
        select(User.id, User.name, ClubMember.role, ClubMember.joined_at)
        .join(ClubMember, ClubMember.user_id == User.id)
        .where(ClubMember.club_id == club_id)
        .order_by(ClubMember.joined_at.is_(None), ClubMember.role, User.name, User.id)
    )
    return [ClubMemberRow(*row) for row in rows]


@dataclass(frozen=True)
class DueRow:
    inspection_id: int
    scheduled_for: date
    hive_name: str
    apiary_id: int
    apiary_name: str


async def due_in_club(db: AsyncSession, club_id: int, day: date) -> list[DueRow]:
    """The inspections scheduled in the club's apiaries up to DUE_DAYS after `day` and not yet
    done (the overdue ones too), soonest first."""
    rows = await db.execute(
        select(Inspection.id, Inspection.scheduled_for, Hive.name, Apiary.id, Apiary.name)
        .join(Hive, Hive.id == Inspection.hive_id)
        .join(Apiary, Apiary.id == Hive.apiary_id)
        .where(
            Apiary.club_id == club_id,
            Inspection.done_at.is_(None),
            Inspection.scheduled_for <= day + timedelta(days=DUE_DAYS),
        )
        .order_by(Inspection.scheduled_for, Apiary.name, Hive.name, Inspection.id)
        .limit(200)
    )
    return [
        DueRow(inspection, when, hive, apiary_id, apiary)
        for inspection, when, hive, apiary_id, apiary in rows
        if when is not None  # always: only scheduled inspections are asked for
    ]


# --- members ----------------------------------------------------------------------------------


async def add_member(db: AsyncSession, club_id: int, inviter_id: int, email: str) -> None:
    """Add the account with this email as a member who has yet to accept. Refused for an email
    no account has, or for someone in the club already (joined or not)."""
    user_id = await db.scalar(select(User.id).where(User.email == email.lower()))
    if user_id is None:
        raise Refused(NO_ACCOUNT)
    present = await db.scalar(select(ClubMember.user_id).where(_club_member(club_id, user_id)))
    if present is not None:
        raise Refused(ALREADY_IN_CLUB)
    db.add(
        ClubMember(club_id=club_id, user_id=user_id, role=ClubRole.member, invited_by=inviter_id)
    )
    await db.commit()


def _locked_club(club_id: int) -> Select[Any]:
    return select(Club.id).where(Club.id == club_id).with_for_update()


def _organisers(club_id: int) -> Select[Any]:
    """How many joined organisers the club has."""
    return (
        select(func.count())
        .select_from(ClubMember)
        .where(ClubMember.club_id == club_id, ClubMember.role == ClubRole.organiser, joined())
    )


def _club_member(club_id: int, user_id: int) -> ColumnElement[bool]:
    return (ClubMember.club_id == club_id) & (ClubMember.user_id == user_id)


async def change_role(db: AsyncSession, club_id: int, user_id: int, role: ClubRole) -> bool:
    """Give a member another role; False if they are no member. Refused for the last
    organiser."""
    change = update(ClubMember).where(_club_member(club_id, user_id)).values(role=role)
    return await change_member(
        db, _locked_club(club_id), change, _organisers(club_id), LAST_ORGANISER
    )


async def remove_member(db: AsyncSession, club_id: int, user_id: int) -> bool:
    """Take a member out of the club (or withdraw their invitation); False if they are no
    member. Refused for the last organiser. Used for leaving, too."""
    change = delete(ClubMember).where(_club_member(club_id, user_id))
    return await change_member(
        db, _locked_club(club_id), change, _organisers(club_id), LAST_ORGANISER
    )


async def accept(db: AsyncSession, club_id: int, user_id: int) -> bool:
    """The invited user joins the club; False if they were not invited (or joined already)."""
    accepted = await db.execute(
        update(ClubMember)
        .where(
            _club_member(club_id, user_id),
            ClubMember.joined_at.is_(None),
        )
        .values(joined_at=func.now())
    )
    await db.commit()
    return bool(accepted.rowcount)  # type: ignore[attr-defined]


async def decline(db: AsyncSession, club_id: int, user_id: int) -> bool:
    """The invited user turns the club down; False if they were not invited."""
    declined = await db.execute(
        delete(ClubMember).where(
            _club_member(club_id, user_id),
            ClubMember.joined_at.is_(None),
        )
    )
    await db.commit()
    return bool(declined.rowcount)  # type: ignore[attr-defined]


# --- the club's apiaries ----------------------------------------------------------------------


async def set_club(db: AsyncSession, apiary_id: int, club_id: int | None) -> int | None:
    """Give the apiary to a club (None: take it out of its club); the club it was in before.
    Refused if the apiary would be left without an owner (its owners were the organisers of
    the club it leaves)."""
    await _lock(db, apiary_id)
    before = await db.scalar(select(Apiary.club_id).where(Apiary.id == apiary_id))
    await db.execute(update(Apiary).where(Apiary.id == apiary_id).values(club_id=club_id))
    await _commit_if_owned(db, apiary_id)
    return before


async def organised_by(db: AsyncSession, user_id: int) -> list[tuple[int, str]]:
    """The clubs the user has joined as an organiser (id, name), by name: where they may give
    an apiary."""
    rows = await db.execute(
        select(Club.id, Club.name)
        .join(ClubMember, ClubMember.club_id == Club.id)
        .where(ClubMember.user_id == user_id, ClubMember.role == ClubRole.organiser, joined())
        .order_by(Club.name, Club.id)
    )
    return [(row[0], row[1]) for row in rows]


async def apiaries_to_give(db: AsyncSession, user_id: int, club_id: int) -> list[tuple[int, str]]:
    """The open apiaries the user owns that are not the club's (id, name), by name: what an
    organiser may give it."""
    rows = await db.execute(
        select(Apiary.id, Apiary.name)
        .where(
            Apiary.id.in_(apiaries_of(user_id, [ApiaryRole.owner])),
            Apiary.club_id.is_distinct_from(club_id),
            Apiary.archived_at.is_(None),
        )
        .order_by(Apiary.name, Apiary.id)
    )
    return [(row[0], row[1]) for row in rows]


async def readable_apiaries(db: AsyncSession, user_id: int) -> set[int]:
    """The ids of the apiaries the user may read (to link only what opens for them)."""
    return set(await db.scalars(apiaries_of(user_id)))
