"""Rules for tenants, memberships, roles and sharing agreements. Callers commit."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import abort
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased, contains_eager, joinedload

from ..core import clock
from ..core.db import db, utcnow
from ..core.rules import RuleViolation
from . import context
from .models import (
    AgreementAction,
    AgreementEvent,
    AgreementStatus,
    InvitationStatus,
    Membership,
    Region,
    RegionLevel,
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


def active_member_count() -> int:
    """How many active members the active tenant has (counted, not loaded: the home page of a
    tenant with thousands of members shows just the number)."""
    return db.session.scalar(select(func.count(Membership.id)).where(
        Membership.tenant_id == context.current_tenant_id(), Membership.active.is_(True))) or 0


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
#
# An agreement is proposed by one tenant's admin and shares nothing until the partner's admin
# accepts it. The partner may decline (with a reason); the proposer may withdraw an unanswered
# proposal; either side may revoke an accepted one. Both sides are told of every step, and every
# step is recorded with its actor (AgreementEvent).

def agreements_of_active_tenant() -> list[SharingAgreement]:
    """Agreements this tenant made or is a partner in (the policy decides which)."""
    return list(
        db.session.scalars(
            select(SharingAgreement)
            .options(joinedload(SharingAgreement.tenant), joinedload(SharingAgreement.partner))
            .order_by(SharingAgreement.created_at.desc())
        )
    )


def proposals_awaiting_answer(agreements: list[SharingAgreement] | None = None) -> list[SharingAgreement]:
    """Proposals addressed to the active tenant that its admin has yet to answer (among
    ``agreements`` when the caller has them already)."""
    tenant_id = context.current_tenant_id()
    return [a for a in (agreements_of_active_tenant() if agreements is None else agreements)
            if a.partner_tenant_id == tenant_id and a.status is AgreementStatus.PROPOSED]


def get_agreement_or_404(public_id: str) -> SharingAgreement:
    agreement = db.session.scalar(select(SharingAgreement).where(SharingAgreement.public_id == public_id))
    if agreement is None:
        abort(404)
    return agreement


def history_of(agreement: SharingAgreement) -> list[AgreementEvent]:
    return list(db.session.scalars(
        select(AgreementEvent).options(joinedload(AgreementEvent.actor), joinedload(AgreementEvent.tenant))
        .where(AgreementEvent.agreement_id == agreement.id)
        .order_by(AgreementEvent.at, AgreementEvent.id)
    ))


def _record(agreement: SharingAgreement, action: AgreementAction, actor, note: str | None = None) -> None:
    acting_tenant = context.current_tenant_id()
    counterpart = agreement.partner_tenant_id if acting_tenant == agreement.tenant_id else agreement.tenant_id
    db.session.add(AgreementEvent(agreement_id=agreement.id, counterpart_tenant_id=counterpart, action=action,
                                  actor_user_id=actor.id if actor else None, note=note))
    db.session.flush()


NOTICES = {
    AgreementAction.PROPOSED: ("agreement_proposed", _l("%(owner)s에서 %(partner)s에 정보공유 협약을 제안했습니다.")),
    AgreementAction.ACCEPTED: ("agreement_answered", _l("%(partner)s에서 %(owner)s의 협약 제안을 수락했습니다. 협약이 발효됩니다.")),
    AgreementAction.DECLINED: ("agreement_answered", _l("%(partner)s에서 %(owner)s의 협약 제안을 거절했습니다.")),
    AgreementAction.WITHDRAWN: ("agreement_answered", _l("%(owner)s에서 %(partner)s에 보낸 협약 제안을 철회했습니다.")),
    AgreementAction.REVOKED: ("agreement_ended", _l("%(owner)s와 %(partner)s의 협약이 해지되었습니다.")),
    AgreementAction.EXPIRED: ("agreement_ended", _l("%(owner)s와 %(partner)s의 협약 기간이 끝났습니다.")),
}


def _notify_both_sides(agreement: SharingAgreement, action: AgreementAction) -> None:
    """The same notice in each party's inbox (tenant names only: it is e-mailed)."""
    from ..notifications.service import notify

    kind, title = NOTICES[action]
    text = str(title % {"owner": agreement.tenant.name, "partner": agreement.partner.name})
    link = f"/agreements/{agreement.public_id}"
    for tenant_id in (agreement.tenant_id, agreement.partner_tenant_id):
        notify(tenant_id, kind=kind, title=text, link=link,
               dedupe_key=f"agreement-{action.value}:{agreement.public_id}")


def propose_agreement(partner: Tenant, purpose, record_kinds, valid_from, valid_to, actor) -> SharingAgreement:
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
        status=AgreementStatus.PROPOSED,
        created_by_user_id=actor.id if actor else None,
    )
    db.session.add(agreement)
    db.session.flush()
    _record(agreement, AgreementAction.PROPOSED, actor)
    _notify_both_sides(agreement, AgreementAction.PROPOSED)
    return agreement


REFUSALS = {
    AgreementStatus.ACCEPTED: _l("이미 수락된 협약입니다."),
    AgreementStatus.DECLINED: _l("상대 기관이 이미 거절한 제안입니다."),
    AgreementStatus.WITHDRAWN: _l("제안한 기관이 이미 철회한 제안입니다."),
    AgreementStatus.REVOKED: _l("이미 해지된 협약입니다."),
    AgreementStatus.EXPIRED: _l("기간이 끝난 협약입니다."),
    AgreementStatus.PROPOSED: _l("상대 기관이 아직 답하지 않은 제안입니다. 해지 대신 제안을 철회하세요."),
}


def _locked(agreement: SharingAgreement, *allowed: AgreementStatus) -> None:
    """Re-read the row under a lock, so two admins answering at once are served one after the
    other, and refuse with the reason when it is no longer in an ``allowed`` status."""
    db.session.refresh(agreement, with_for_update=True)
    if agreement.status not in allowed:
        raise RuleViolation(REFUSALS[agreement.status])


def _require_partner(agreement: SharingAgreement) -> None:
    if agreement.partner_tenant_id != context.current_tenant_id():
        raise RuleViolation(_l("협약 제안을 받은 기관의 관리자만 수락하거나 거절할 수 있습니다."))


def accept_agreement(agreement: SharingAgreement, actor) -> None:
    _require_partner(agreement)
    _locked(agreement, AgreementStatus.PROPOSED)
    if agreement.valid_to is not None and agreement.valid_to < clock.today():
        raise RuleViolation(_l("제안된 기간이 이미 지났습니다. 거절하고 새 기간으로 다시 제안받으세요."))
    agreement.status = AgreementStatus.ACCEPTED
    agreement.responded_at, agreement.responded_by_user_id = utcnow(), actor.id
    db.session.flush()
    _record(agreement, AgreementAction.ACCEPTED, actor)
    _notify_both_sides(agreement, AgreementAction.ACCEPTED)


def decline_agreement(agreement: SharingAgreement, reason: str, actor) -> None:
    _require_partner(agreement)
    if not (reason or "").strip():
        raise RuleViolation(_l("거절 사유를 적어 주세요."), field="reason")
    _locked(agreement, AgreementStatus.PROPOSED)
    agreement.status = AgreementStatus.DECLINED
    agreement.responded_at, agreement.responded_by_user_id = utcnow(), actor.id
    agreement.decline_reason = reason.strip()
    db.session.flush()
    _record(agreement, AgreementAction.DECLINED, actor, reason.strip())
    _notify_both_sides(agreement, AgreementAction.DECLINED)


def withdraw_agreement(agreement: SharingAgreement, actor) -> None:
    if agreement.tenant_id != context.current_tenant_id():
        raise RuleViolation(_l("제안한 기관만 제안을 철회할 수 있습니다."))
    _locked(agreement, AgreementStatus.PROPOSED)
    agreement.status = AgreementStatus.WITHDRAWN
    db.session.flush()
    _record(agreement, AgreementAction.WITHDRAWN, actor)
    _notify_both_sides(agreement, AgreementAction.WITHDRAWN)


def revoke_agreement(agreement: SharingAgreement, reason: str, actor) -> None:
    _locked(agreement, AgreementStatus.ACCEPTED)
    agreement.status = AgreementStatus.REVOKED
    agreement.revoked_at = utcnow()
    agreement.revoked_by_user_id = actor.id
    agreement.revoked_reason = reason
    db.session.flush()
    _record(agreement, AgreementAction.REVOKED, actor, reason)
    _notify_both_sides(agreement, AgreementAction.REVOKED)


def expire_agreements(today: date | None = None) -> int:
    """As the proposing tenant (the row's owner): mark its accepted agreements past their end as
    expired and tell both sides, once — an expired agreement is no longer ``accepted``."""
    today = today or clock.today()
    due = list(db.session.scalars(select(SharingAgreement).where(
        SharingAgreement.tenant_id == context.current_tenant_id(),
        SharingAgreement.status == AgreementStatus.ACCEPTED,
        SharingAgreement.valid_to < today,
    )))
    for agreement in due:
        agreement.status = AgreementStatus.EXPIRED
        db.session.flush()
        _record(agreement, AgreementAction.EXPIRED, None)
        _notify_both_sides(agreement, AgreementAction.EXPIRED)
    return len(due)


def tenants_with_active_agreement(record_kind: str, day: date | None = None) -> set[int]:
    """Partner tenant ids with which the active tenant shares ``record_kind`` today."""
    day = day or clock.today()
    tenant_id = context.current_tenant_id()
    partners = set()
    for agreement in agreements_of_active_tenant():
        if agreement.is_active_on(day) and record_kind in agreement.record_kinds:
            partners.add(agreement.other_party(tenant_id).id)
    return partners


def agreement_covers(other_tenant_id: int, *record_kinds: str, day: date | None = None) -> bool:
    """Has the active tenant an accepted agreement in force with ``other_tenant_id`` covering
    every one of ``record_kinds`` (a single agreement, either direction)?"""
    day = day or clock.today()
    tenant_id = context.current_tenant_id()
    return any(
        agreement.is_active_on(day) and agreement.other_party(tenant_id).id == other_tenant_id
        and set(record_kinds) <= set(agreement.record_kinds)
        for agreement in agreements_of_active_tenant()
    )


def partners_sharing(*record_kinds: str, day: date | None = None) -> list[Tenant]:
    """Active partners with an accepted agreement in force that covers every one of ``record_kinds``
    (see :func:`agreement_covers`), by name: the only tenants worth offering for such sharing."""
    day = day or clock.today()
    tenant_id = context.current_tenant_id()
    partners = {agreement.other_party(tenant_id) for agreement in agreements_of_active_tenant()
                if agreement.is_active_on(day) and set(record_kinds) <= set(agreement.record_kinds)}
    return sorted((t for t in partners if t.active and t.id != tenant_id), key=lambda t: (t.name, t.id))


# -- tenants (global) ----------------------------------------------------------------------------

def all_tenants() -> list[Tenant]:
    return list(db.session.scalars(select(Tenant).order_by(Tenant.name)))


def find_tenants(text: str, limit: int = 30) -> list[Tenant]:
    """Active tenants whose name contains ``text``, by name: a form searches them instead of
    listing every tenant of the country."""
    text = (text or "").strip()
    if not text:
        return []
    return list(db.session.scalars(select(Tenant).where(Tenant.active.is_(True), Tenant.name.contains(text, autoescape=True))
                                   .order_by(Tenant.name, Tenant.id).limit(limit)))


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


# -- regions (reference data) ---------------------------------------------------------------------

def region_names(codes) -> dict[str, str]:
    """{code: name} of just these regions: pages name the few regions they show instead of loading
    all ~3,750 of the country."""
    codes = {c for c in codes if c}
    if not codes:
        return {}
    return dict(db.session.execute(select(Region.code, Region.name).where(Region.code.in_(codes))).all())


def regions_at(level: RegionLevel, parent_code: str | None = None) -> list[tuple[str, str]]:
    """(code, name) of the regions of one level (of one parent), by code."""
    statement = select(Region.code, Region.name).where(Region.level == level)
    if parent_code is not None:
        statement = statement.where(Region.parent_code == parent_code)
    return [tuple(row) for row in db.session.execute(statement.order_by(Region.code))]


@dataclass(frozen=True)
class DongChoice:
    """A dong field in two steps: the country's ~230 municipalities (시군구), then the dongs of the
    chosen one — a form never carries the country's ~3,000 dongs."""

    municipality: str | None
    municipality_options: list[tuple[str, str]]
    dong_options: list[tuple[str, str]]


def dong_choice(dong_code: str | None, near_region_code: str | None = None) -> DongChoice:
    """The choice showing ``dong_code``'s municipality, else that of ``near_region_code`` (e.g. the
    active tenant's region, where most of its clients live), else none yet."""
    municipality = _municipality_of(dong_code) or _municipality_of(near_region_code)
    province = aliased(Region)
    rows = db.session.execute(
        select(Region.code, Region.name, Region.level, province.name)
        .outerjoin(province, province.code == Region.parent_code)
        .where(or_(Region.level == RegionLevel.MUNICIPALITY,
                   (Region.level == RegionLevel.DONG) & (Region.parent_code == municipality)))
        .order_by(Region.code)).all()
    return DongChoice(
        municipality=municipality,
        municipality_options=[(code, f"{parent} {name}" if parent else name)
                              for code, name, level, parent in rows if level is RegionLevel.MUNICIPALITY],
        dong_options=[(code, name) for code, name, level, _parent in rows if level is RegionLevel.DONG],
    )


@dataclass(frozen=True)
class AreaChoice:
    """Service areas (municipalities and dongs) without listing the country's ~3,300: the chosen
    ones, and one municipality's areas offered to add (another's are fetched on demand)."""

    chosen: list[tuple[str, str]]
    municipality: str | None
    municipality_options: list[tuple[str, str]]
    offered: list[tuple[str, str]]


def area_choice(chosen_codes, near_region_code: str | None = None) -> AreaChoice:
    """The choice with ``chosen_codes`` ticked (unknown ones dropped), offering the areas of the
    municipality of ``near_region_code`` (e.g. the tenant's region)."""
    dongs = dong_choice(None, near_region_code)
    labels = _area_labels(chosen_codes)
    chosen = [(code, labels[code]) for code in dict.fromkeys(chosen_codes) if code in labels]
    taken = {code for code, _name in chosen}
    return AreaChoice(chosen=chosen, municipality=dongs.municipality,
                      municipality_options=dongs.municipality_options,
                      offered=[area for area in areas_of(dongs.municipality) if area[0] not in taken])


def _area_labels(codes) -> dict[str, str]:
    """{code: label} of the municipalities ("제주시 전체") and dongs ("제주시 한림읍": many dongs share a
    name) among ``codes``; other codes are left out."""
    codes = {c for c in codes if c}
    if not codes:
        return {}
    parent = aliased(Region)
    rows = db.session.execute(
        select(Region.code, Region.name, Region.level, parent.name).outerjoin(parent, parent.code == Region.parent_code)
        .where(Region.code.in_(codes), Region.level.in_((RegionLevel.MUNICIPALITY, RegionLevel.DONG))))
    return {code: str(_l("%(name)s 전체", name=name)) if level is RegionLevel.MUNICIPALITY else f"{parent_name} {name}"
            for code, name, level, parent_name in rows}


def areas_of(municipality_code: str | None) -> list[tuple[str, str]]:
    """A municipality as one area (all of it), then its dongs: what an area choice offers."""
    municipality = region(municipality_code)
    if municipality is None or municipality.level is not RegionLevel.MUNICIPALITY:
        return []
    return [(municipality.code, str(_l("%(name)s 전체", name=municipality.name)))] + dongs_of(municipality.code)


def known_areas(codes) -> set[str]:
    """Which of ``codes`` are municipalities or dongs (what a service area may be)."""
    codes = {c for c in codes if c}
    if not codes:
        return set()
    return set(db.session.scalars(select(Region.code).where(
        Region.code.in_(codes), Region.level.in_((RegionLevel.MUNICIPALITY, RegionLevel.DONG)))))


def dongs_of(municipality_code: str | None) -> list[tuple[str, str]]:
    """(code, name) of one municipality's dongs; none for anything that is not a municipality."""
    if not municipality_code:
        return []
    return regions_at(RegionLevel.DONG, municipality_code)


def _municipality_of(code: str | None) -> str | None:
    if not code:
        return None
    found = db.session.execute(select(Region.level, Region.parent_code).where(Region.code == code)).first()
    if found is None or found.level is RegionLevel.PROVINCE:
        return None
    return code if found.level is RegionLevel.MUNICIPALITY else found.parent_code


def region(code: str | None) -> Region | None:
    return db.session.get(Region, code) if code else None
