"""The apiaries' SQL: apiaries, their members and the invitations into them.

Who may see an apiary is app/web/auth.py's `apiary_for` (its members; owners to run it). Every
change of members (a role changed, a member removed, a member leaving) takes the apiary's row
lock first and counts the owners before it commits: two owners demoting each other at the same
moment are served one after the other, and the second is refused, so an apiary never loses its
last owner. An invitation is taken under its own row lock, so a link is used once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Executable, Select, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.apiaries.schemas import ApiaryForm, InvitationForm
from app.geo import point
from app.models import (
    Apiary,
    ApiaryInvitation,
    ApiaryMember,
    ApiaryRole,
    Hive,
    User,
    apiary_roles,
)
from app.web.i18n import N_

LAST_OWNER = N_(
    "An apiary needs an owner: make another member an owner before this one leaves or steps down."
)
NO_ACCOUNT = N_("No account has this email address. Send them a link instead.")
ALREADY_MEMBER = N_("This person is already a member of the apiary.")
HAS_HIVES = N_("The apiary still has hives. Move or delete them first, or archive the apiary.")


class Refused(Exception):
    """A change that would break a rule; `message` (marked with N_) says which."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def token_hash(token: str) -> str:
    """What is kept of an invitation link's secret: a database reader cannot use it."""
    return hashlib.sha256(token.encode()).hexdigest()


# --- apiaries ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiaryRow:
    apiary: Apiary
    role: ApiaryRole
    hives: int


async def apiaries_of_user(db: AsyncSession, user_id: int) -> list[ApiaryRow]:
    """The user's apiaries with their role and number of hives: open ones first, by name."""
    hives = select(func.count(Hive.id)).where(Hive.apiary_id == Apiary.id).scalar_subquery()
    # A member, or an organiser of the club that owns it (the higher role, if both).
    roles = (
        select(apiary_roles.c.apiary_id, func.min(apiary_roles.c.role).label("role"))
        .where(apiary_roles.c.user_id == user_id)
        .group_by(apiary_roles.c.apiary_id)
        .subquery()
    )
    rows = await db.execute(
        select(Apiary, roles.c.role, hives)
        .join(roles, roles.c.apiary_id == Apiary.id)
        .order_by(Apiary.archived_at.is_not(None), Apiary.name, Apiary.id)
    )
    return [ApiaryRow(apiary, role, count) for apiary, role, count in rows]


async def create_apiary(db: AsyncSession, user_id: int, form: ApiaryForm) -> int:
    apiary_id = await add_apiary(db, user_id, form)
    await db.commit()
    return apiary_id


async def add_apiary(db: AsyncSession, user_id: int, form: ApiaryForm) -> int:
    """A new apiary, its maker its owner, in the caller's transaction."""
    apiary = Apiary(**_values(form))
    db.add(apiary)
    await db.flush()
    db.add(ApiaryMember(apiary_id=apiary.id, user_id=user_id, role=ApiaryRole.owner))
    await db.flush()
    return apiary.id


async def update_apiary(db: AsyncSession, apiary_id: int, form: ApiaryForm) -> None:
    """Rename, move or describe an apiary (its hives stay where they stand)."""
    await db.execute(update(Apiary).where(Apiary.id == apiary_id).values(**_values(form)))
    await db.commit()


def _values(form: ApiaryForm) -> dict[str, object]:
    values = form.model_dump(exclude={"latitude", "longitude"})
    values["location"] = point(form.latitude, form.longitude)
    return values


async def set_archived(db: AsyncSession, apiary_id: int, archived: bool) -> None:
    when = func.now() if archived else None
    await db.execute(update(Apiary).where(Apiary.id == apiary_id).values(archived_at=when))
    await db.commit()


async def delete_apiary(db: AsyncSession, apiary_id: int) -> None:
    """Delete an apiary without hives (Refused while it has some: they would be lost)."""
    await _lock(db, apiary_id)
    if await db.scalar(select(func.count(Hive.id)).where(Hive.apiary_id == apiary_id)):
        await db.rollback()
        raise Refused(HAS_HIVES)
    await db.execute(delete(Apiary).where(Apiary.id == apiary_id))
    await db.commit()


async def hives_in(db: AsyncSession, apiary_id: int) -> list[Hive]:
    return list(
        await db.scalars(select(Hive).where(Hive.apiary_id == apiary_id).order_by(Hive.name))
    )


async def location_of(db: AsyncSession, apiary_id: int) -> tuple[float, float]:
    """The apiary's latitude and longitude."""
    row = (
        await db.execute(
            select(func.ST_Y(Apiary.location), func.ST_X(Apiary.location)).where(
                Apiary.id == apiary_id
            )
        )
    ).one()
    return float(row[0]), float(row[1])


# --- members ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberRow:
    user_id: int
    name: str
    email: str
    role: ApiaryRole
    added_at: datetime


async def members_of(db: AsyncSession, apiary_id: int) -> list[MemberRow]:
    """The apiary's members: owners first, then keepers, then viewers, each by name."""
    rows = await db.execute(
        select(User.id, User.name, User.email, ApiaryMember.role, ApiaryMember.added_at)
        .join(ApiaryMember, ApiaryMember.user_id == User.id)
        .where(ApiaryMember.apiary_id == apiary_id)
        .order_by(ApiaryMember.role, User.name, User.id)
    )
    return [MemberRow(*row) for row in rows]


# The members of an apiary and of a club change alike: one row at a time, under the group's
# row lock (so the changes of one group happen one after another), and never so that no one is
# left in charge (an owner; a club's joined organiser).


async def change_member(
    db: AsyncSession, lock: Select[Any], change: Executable, in_charge: Select[Any], refusal: str
) -> bool:
    """`change` (an update or delete of one member's row) under the group's `lock`: False, with
    nothing changed, if there is no such member; refused with `refusal`, with nothing changed,
    if `in_charge` (a count) finds no one left in charge."""
    await db.execute(lock)
    changed = await db.execute(change)
    if not changed.rowcount:  # type: ignore[attr-defined]
        await db.rollback()
        return False
    await commit_if_in_charge(db, in_charge, refusal)
    return True


async def commit_if_in_charge(db: AsyncSession, in_charge: Select[Any], refusal: str) -> None:
    """Commit, unless `in_charge` (a count) finds no one left in charge: then nothing changes."""
    if not await db.scalar(in_charge):
        await db.rollback()
        raise Refused(refusal)
    await db.commit()


def _locked(apiary_id: int) -> Select[Any]:
    return select(Apiary.id).where(Apiary.id == apiary_id).with_for_update()


def _owners(apiary_id: int) -> Select[Any]:
    """How many owners the apiary has. The joined organisers of the club that owns it count as
    owners (the view apiary_roles): a club always keeps one (app/apiaries/clubs.py)."""
    return (
        select(func.count())
        .select_from(apiary_roles)
        .where(apiary_roles.c.apiary_id == apiary_id, apiary_roles.c.role == ApiaryRole.owner)
    )


async def _lock(db: AsyncSession, apiary_id: int) -> None:
    await db.execute(_locked(apiary_id))


async def _commit_if_owned(db: AsyncSession, apiary_id: int) -> None:
    await commit_if_in_charge(db, _owners(apiary_id), LAST_OWNER)


def _member(apiary_id: int, user_id: int) -> ColumnElement[bool]:
    return (ApiaryMember.apiary_id == apiary_id) & (ApiaryMember.user_id == user_id)


async def change_role(db: AsyncSession, apiary_id: int, user_id: int, role: ApiaryRole) -> bool:
    """Give a member another role; False if they are no member. Refused for the last owner."""
    change = update(ApiaryMember).where(_member(apiary_id, user_id)).values(role=role)
    return await change_member(db, _locked(apiary_id), change, _owners(apiary_id), LAST_OWNER)


async def remove_member(db: AsyncSession, apiary_id: int, user_id: int) -> bool:
    """Take a member out of the apiary (what they recorded stays, in their name); False if they
    are no member. Refused for the last owner. Used for leaving, too."""
    change = delete(ApiaryMember).where(_member(apiary_id, user_id))
    return await change_member(db, _locked(apiary_id), change, _owners(apiary_id), LAST_OWNER)


# --- invitations ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenInvitation:
    invitation: ApiaryInvitation
    invitee: str | None  # the invited account's name, for one addressed to an account


async def open_invitations(db: AsyncSession, apiary_id: int) -> list[OpenInvitation]:
    """The apiary's invitations that can still be accepted, the newest first."""
    rows = await db.execute(
        select(ApiaryInvitation, User.name)
        .outerjoin(User, User.id == ApiaryInvitation.invitee_id)
        .where(ApiaryInvitation.apiary_id == apiary_id, _usable())
        .order_by(ApiaryInvitation.created_at.desc(), ApiaryInvitation.id.desc())
    )
    return [OpenInvitation(invitation, name) for invitation, name in rows]


def _usable() -> ColumnElement[bool]:
    """An invitation that can still be accepted: not used, not revoked, not expired."""
    return (
        ApiaryInvitation.used_at.is_(None)
        & ApiaryInvitation.revoked_at.is_(None)
        & (ApiaryInvitation.expires_at > func.now())
    )


async def invite(
    db: AsyncSession, apiary_id: int, inviter_id: int, form: InvitationForm
) -> tuple[ApiaryInvitation, str | None]:
    """An invitation as the form asks: a link, whose secret is returned with it (shown once,
    only its hash kept), or, with an email, one addressed to that account (no secret). Refused
    for an email no account has, or a member's."""
    expires = datetime.now(UTC) + timedelta(days=form.days)
    invitation = ApiaryInvitation(
        apiary_id=apiary_id, role=form.role, invited_by=inviter_id, expires_at=expires
    )
    token = None
    if form.email is None:
        token = secrets.token_urlsafe(32)
        invitation.token_hash = token_hash(token)
    else:
        invitee = await db.scalar(select(User.id).where(User.email == form.email.lower()))
        if invitee is None:
            raise Refused(NO_ACCOUNT)
        member = await db.scalar(select(ApiaryMember.user_id).where(_member(apiary_id, invitee)))
        if member is not None:
            raise Refused(ALREADY_MEMBER)
        invitation.invitee_id = invitee
    db.add(invitation)
    await db.commit()
    return invitation, token


async def revoke(db: AsyncSession, apiary_id: int, invitation_id: int) -> bool:
    revoked = await db.execute(
        update(ApiaryInvitation)
        .where(
            ApiaryInvitation.id == invitation_id,
            ApiaryInvitation.apiary_id == apiary_id,
            ApiaryInvitation.used_at.is_(None),
            ApiaryInvitation.revoked_at.is_(None),
        )
        .values(revoked_at=func.now())
    )
    await db.commit()
    return bool(revoked.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Invitation:
    """An invitation that can be accepted, with what its reader is shown."""

    id: int
    apiary_id: int
    apiary_name: str
    role: ApiaryRole
    invited_by: str | None
    expires_at: datetime


def _invitation_query() -> Select[int, int, str, ApiaryRole, str | None, datetime]:
    inviter = select(User.name).where(User.id == ApiaryInvitation.invited_by).scalar_subquery()
    return (
        select(
            ApiaryInvitation.id,
            Apiary.id,
            Apiary.name,
            ApiaryInvitation.role,
            inviter,
            ApiaryInvitation.expires_at,
        )
        .join(Apiary, Apiary.id == ApiaryInvitation.apiary_id)
        .where(_usable(), Apiary.archived_at.is_(None))
    )


async def invitation_by_token(db: AsyncSession, token: str) -> Invitation | None:
    """The link's invitation if it can still be accepted; None for an expired, revoked, used
    or forged one, all alike."""
    row = (
        await db.execute(
            _invitation_query().where(ApiaryInvitation.token_hash == token_hash(token))
        )
    ).first()
    return Invitation(*row) if row else None


async def invitations_for(db: AsyncSession, user_id: int) -> list[Invitation]:
    """The invitations addressed to the user's account that they can accept."""
    rows = await db.execute(
        _invitation_query()
        .where(ApiaryInvitation.invitee_id == user_id)
        .order_by(ApiaryInvitation.created_at)
    )
    return [Invitation(*row) for row in rows]


async def invitation_for_user(
    db: AsyncSession, invitation_id: int, user_id: int
) -> Invitation | None:
    row = (
        await db.execute(
            _invitation_query().where(
                ApiaryInvitation.id == invitation_id, ApiaryInvitation.invitee_id == user_id
            )
        )
    ).first()
    return Invitation(*row) if row else None


async def accept(db: AsyncSession, invitation_id: int, user_id: int) -> int | None:
    """Take the invitation for `user_id`: they become a member with its role (a member already
    keeps the higher of the two roles). Once: the invitation's row is locked and checked again,
    so two tabs accepting one link make one member and the second finds it used. The apiary's
    id, or None if it can no longer be accepted (nothing changed)."""
    invitation = await db.scalar(
        select(ApiaryInvitation)
        .where(ApiaryInvitation.id == invitation_id, _usable())
        .with_for_update()
    )
    if invitation is None:
        await db.rollback()
        return None
    await _lock(db, invitation.apiary_id)
    current = await db.scalar(select(ApiaryMember).where(_member(invitation.apiary_id, user_id)))
    order = list(ApiaryRole)  # owner, keeper, viewer: the higher role first
    if current is None:
        db.add(ApiaryMember(apiary_id=invitation.apiary_id, user_id=user_id, role=invitation.role))
    elif order.index(invitation.role) < order.index(current.role):
        current.role = invitation.role
    invitation.used_at = datetime.now(UTC)
    invitation.used_by = user_id
    apiary_id: int = invitation.apiary_id
    await db.commit()
    return apiary_id


async def decline(db: AsyncSession, invitation_id: int, user_id: int) -> None:
    """Turn down an invitation addressed to the user's account."""
    await db.execute(
        update(ApiaryInvitation)
        .where(
            ApiaryInvitation.id == invitation_id,
            ApiaryInvitation.invitee_id == user_id,
            ApiaryInvitation.used_at.is_(None),
        )
        .values(revoked_at=func.now())
    )
    await db.commit()
