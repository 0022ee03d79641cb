"""Rules for tenants, memberships, roles and sharing agreements. Callers commit."""
from __future__ import annotations

from datetime import date

from flask import abort
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import contains_eager, joinedload

from ..core import clock
from ..core.db import db, utcnow
from ..core.rules import RuleViolation
from . import context
from .models import (
    InvitationStatus,
    Membership,
    Role,
    RoleChange,
    RoleChangeAction,
    SharingAgreement,
    Tenant,
)


# -- memberships and the active tenant -------------------------------------------------------

def memberships_and_invitations_of(user) -> tuple[list[Membership], list[Membership]]:
    """The user's own active memberships and pending invitations in active tenants, visible
    from any tenant, in one query (every page shows both in its header)."""
    with context.acting_as(context.current_tenant_id(), user.id):
        rows = db.session.scalars(
            select(Membership)
            .join(Membership.tenant)
            .options(contains_eager(Membership.tenant))
            .where(
                Membership.user_id == user.id,
                Tenant.active.is_(True),
                or_(Membership.active.is_(True), Membership.invitation_status == InvitationStatus.PENDING),
            )
            .order_by(Tenant.name)
        ).all()
    return [m for m in rows if m.active], [m for m in rows if not m.active]


def memberships_of(user) -> list[Membership]:
    """The user's own active memberships in active tenants: only these grant anything."""
    return memberships_and_invitations_of(user)[0]


def active_membership(user, tenant_id: int | None) -> Membership | None:
    """The membership to act under: the requested tenant's if still valid, else the first."""
    return pick_membership(memberships_of(user), tenant_id)


def landing_membership(user) -> Membership | None:
    """Where a sign-in lands: the tenant the user last switched to, while they are still a
    member there, else their first membership. Accepting an invitation never changes it."""
    return active_membership(user, user.last_tenant_id)


def remember_tenant(user, membership: Membership) -> None:
    """The user switched to (works in) ``membership``'s tenant: their next sign-in lands there."""
    user.last_tenant_id = membership.tenant_id


def pick_membership(memberships: list[Membership], tenant_id: int | None) -> Membership | None:
    for membership in memberships:
        if membership.tenant_id == tenant_id:
            return membership
    return memberships[0] if memberships else None


def membership_in(user, tenant_code: str) -> Membership | None:
    for membership in memberships_of(user):
        if membership.tenant.code == tenant_code:
            return membership
    return None


def members_of_active_tenant() -> list[Membership]:
    return list(
        db.session.scalars(
            select(Membership)
            .options(joinedload(Membership.user))
            .where(Membership.tenant_id == context.current_tenant_id())
            .order_by(Membership.active.desc(), Membership.created_at)
        )
    )


def get_membership_or_404(public_id: str) -> Membership:
    """A membership of the active tenant (not the user's own elsewhere), else 404."""
    membership = db.session.scalar(
        select(Membership).where(
            Membership.public_id == public_id, Membership.tenant_id == context.current_tenant_id()
        )
    )
    if membership is None:
        abort(404)
    return membership


def record_role_change(membership, action, before, actor) -> None:
    db.session.add(
        RoleChange(
            user_id=membership.user_id,
            actor_user_id=actor.id if actor else None,
            action=action,
            roles_before=list(before),
            roles_after=list(membership.roles) if membership.active else [],
        )
    )


def validated_roles(roles) -> list[str]:
    values = sorted({Role(r).value for r in roles})
    if not values:
        raise RuleViolation(_l("역할을 하나 이상 고르세요."), field="roles")
    return values


def change_roles(membership, roles, actor) -> None:
    roles = validated_roles(roles)
    if not membership.active:
        raise RuleViolation(_l("비활성화된 구성원의 역할은 바꿀 수 없습니다."))
    if membership.user_id == actor.id and Role.TENANT_ADMIN.value not in roles:
        _refuse_last_admin_removal(membership)
    before = list(membership.roles)
    if before == roles:
        return
    membership.roles = roles
    record_role_change(membership, RoleChangeAction.CHANGED, before, actor)
    db.session.flush()


def revoke_membership(membership, actor) -> None:
    if not membership.active:
        raise RuleViolation(_l("이미 비활성화된 구성원입니다."))
    _refuse_last_admin_removal(membership)
    before = list(membership.roles)
    membership.active = False
    record_role_change(membership, RoleChangeAction.REVOKED, before, actor)
    db.session.flush()


def _refuse_last_admin_removal(membership) -> None:
    if Role.TENANT_ADMIN.value not in membership.roles:
        return
    admins = [m for m in members_of_active_tenant() if m.active and m.has_role(Role.TENANT_ADMIN)]
    if len(admins) <= 1:
        raise RuleViolation(_l("기관 관리자가 한 명은 남아 있어야 합니다."), field="roles")


def role_changes_of_active_tenant(limit: int = 200) -> list[RoleChange]:
    return list(
        db.session.scalars(
            select(RoleChange)
            .options(joinedload(RoleChange.user), joinedload(RoleChange.actor))
            .where(RoleChange.tenant_id == context.current_tenant_id())
            .order_by(RoleChange.at.desc(), RoleChange.id.desc())
            .limit(limit)
        )
    )


# -- sharing agreements ------------------------------------------------------------------------

def agreements_of_active_tenant() -> list[SharingAgreement]:
    """Agreements this tenant made or is a partner in (the policy decides which)."""
    return list(
        db.session.scalars(
            select(SharingAgreement)
            .options(joinedload(SharingAgreement.tenant), joinedload(SharingAgreement.partner))
            .order_by(SharingAgreement.created_at.desc())
        )
    )


def get_agreement_or_404(public_id: str) -> SharingAgreement:
    agreement = db.session.scalar(select(SharingAgreement).where(SharingAgreement.public_id == public_id))
    if agreement is None:
        abort(404)
    return agreement


def create_agreement(partner: Tenant, purpose, record_kinds, valid_from, valid_to, actor) -> SharingAgreement:
    tenant_id = context.current_tenant_id()
    if partner.id == tenant_id:
        raise RuleViolation(_l("자기 기관과는 협약을 맺을 수 없습니다."), field="partner")
    if valid_to is not None and valid_to < valid_from:
        raise RuleViolation(_l("종료일은 시작일 이후여야 합니다."), field="valid_to")
    agreement = SharingAgreement(
        partner_tenant_id=partner.id,
        purpose=purpose,
        record_kinds=sorted(set(record_kinds)),
        valid_from=valid_from,
        valid_to=valid_to,
        created_by_user_id=actor.id if actor else None,
    )
    db.session.add(agreement)
    db.session.flush()
    return agreement


def revoke_agreement(agreement: SharingAgreement, reason: str, actor) -> None:
    if agreement.revoked_at is not None:
        raise RuleViolation(_l("이미 해지된 협약입니다."))
    agreement.revoked_at = utcnow()
    agreement.revoked_by_user_id = actor.id
    agreement.revoked_reason = reason
    db.session.flush()


def tenants_with_active_agreement(record_kind: str, day: date | None = None) -> set[int]:
    """Partner tenant ids with which the active tenant shares ``record_kind`` today."""
    day = day or clock.today()
    tenant_id = context.current_tenant_id()
    partners = set()
    for agreement in agreements_of_active_tenant():
        if agreement.is_active_on(day) and record_kind in agreement.record_kinds:
            partners.add(agreement.other_party(tenant_id).id)
    return partners


# -- tenants (global) ----------------------------------------------------------------------------

def all_tenants() -> list[Tenant]:
    return list(db.session.scalars(select(Tenant).order_by(Tenant.name)))


def tenant_by_code(code: str) -> Tenant | None:
    return db.session.scalar(select(Tenant).where(Tenant.code == code))


def create_tenant(code, name, kind, region, parent) -> Tenant:
    if tenant_by_code(code) is not None:
        raise RuleViolation(_l("이미 쓰이는 기관 코드입니다."), field="code")
    tenant = Tenant(code=code, name=name, kind=kind, region=region, parent=parent)
    tenant.sync_province()
    db.session.add(tenant)
    db.session.flush()
    return tenant
