"""Regions, tenants, memberships with roles, role-change history and sharing agreements."""
from __future__ import annotations

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.db import enum_column, BigId, IdMixin, PublicIdMixin, UTCDateTime, db, utcnow
from .owned import TenantOwned
from .policy import Owner, TenantIn, Transitions, UserIs, Visibility


class RegionLevel(enum.StrEnum):
    PROVINCE = "province"  # 광역
    MUNICIPALITY = "municipality"  # 시군구
    DONG = "dong"  # 읍면동


class Region(db.Model):
    """Reference data: an administrative area (행정구역) by its code."""

    __tablename__ = "regions"
    code: Mapped[str] = mapped_column(String(10), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[RegionLevel] = mapped_column(enum_column(RegionLevel, 20))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))

    parent: Mapped[Region | None] = relationship(remote_side=[code])

    def province(self) -> Region:
        region = self
        while region.parent is not None:
            region = region.parent
        return region


class TenantKind(enum.StrEnum):
    PROVINCE = "province"
    MUNICIPALITY = "municipality"
    DONG_CENTRE = "dong_centre"
    WELFARE_CENTRE = "welfare_centre"
    NGO = "ngo"
    PUBLIC_AGENCY = "public_agency"
    FACILITY = "facility"


TENANT_KIND_LABELS = {
    TenantKind.PROVINCE: _l("광역자치단체"),
    TenantKind.MUNICIPALITY: _l("시군구"),
    TenantKind.DONG_CENTRE: _l("읍면동 주민센터"),
    TenantKind.WELFARE_CENTRE: _l("사회복지관"),
    TenantKind.NGO: _l("민간단체"),
    TenantKind.PUBLIC_AGENCY: _l("공공기관"),
    TenantKind.FACILITY: _l("사회복지시설"),
}


class Tenant(IdMixin, db.Model):
    """An organisation (기관). Global: every tenant may know that another exists."""

    __tablename__ = "tenants"
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[TenantKind] = mapped_column(enum_column(TenantKind, 20))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    # Denormalised from the region tree so RLS policies can compare provinces cheaply.
    province_code: Mapped[str | None] = mapped_column(String(10), index=True)
    parent_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("tenants.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    region: Mapped[Region] = relationship()
    parent: Mapped[Tenant | None] = relationship(remote_side="Tenant.id")

    @property
    def kind_label(self) -> str:
        return str(TENANT_KIND_LABELS[self.kind])

    def sync_province(self) -> None:
        """Record the province of the tenant's region (read by region-scoped sharing rules)."""
        self.province_code = self.region.province().code


class Role(enum.StrEnum):
    TENANT_ADMIN = "tenant_admin"
    CASE_MANAGER = "case_manager"
    RESOURCE_REGISTRAR = "resource_registrar"
    REFERRAL_COORDINATOR = "referral_coordinator"
    INSPECTOR = "inspector"
    PILOT_COORDINATOR = "pilot_coordinator"
    PRIVACY_OFFICER = "privacy_officer"
    CAMPAIGN_ORGANISER = "campaign_organiser"  # runs resource distribution campaigns (자원배분)
    VIEWER = "viewer"


ROLE_LABELS = {
    Role.TENANT_ADMIN: _l("기관 관리자"),
    Role.CASE_MANAGER: _l("사례관리자"),
    Role.RESOURCE_REGISTRAR: _l("자원 담당자"),
    Role.REFERRAL_COORDINATOR: _l("서비스의뢰 담당자"),
    Role.INSPECTOR: _l("지도점검 담당자"),
    Role.PILOT_COORDINATOR: _l("시범사업 코디네이터"),
    Role.PRIVACY_OFFICER: _l("개인정보 보호책임자"),
    Role.CAMPAIGN_ORGANISER: _l("자원배분 담당자"),
    Role.VIEWER: _l("조회 전용"),
}


class InvitationStatus(enum.StrEnum):
    PENDING = "pending"  # offered, not answered: grants nothing
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CANCELLED = "cancelled"  # withdrawn by the tenant before an answer


INVITATION_STATUS_LABELS = {
    InvitationStatus.PENDING: _l("초대 대기"),
    InvitationStatus.ACCEPTED: _l("수락"),
    InvitationStatus.DECLINED: _l("거절"),
    InvitationStatus.CANCELLED: _l("초대 취소"),
}


def _joined_now_if_active(insert_context):
    """A membership created active (by the registry, or in a test) was joined right away; an
    invitation has not been joined until accepted."""
    return utcnow() if insert_context.get_current_parameters().get("active", True) else None


class Membership(TenantOwned, IdMixin, PublicIdMixin, db.Model):
    """A user's roles in one tenant. The user sees their own memberships from any tenant
    (for the tenant switcher and their invitations); everything else about them belongs to
    the tenant.

    Only ``active`` grants anything. A tenant admin adds people by invitation: the row waits
    with ``invitation_status`` pending (inactive) until the person accepts. Until then the
    tenant knows only the e-mail it typed (``invited_email``), never whether it had an account
    or whose it is; ``joined_at`` says the person has been a member at some point."""

    __tablename__ = "memberships"
    __visibility__ = Visibility(read=(Owner(), UserIs("user_id")))
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id"),
        UniqueConstraint("tenant_id", "public_id"),
        Index("ix_memberships_user_id_tenant_id", "user_id", "tenant_id"),
    )

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=_joined_now_if_active)
    invitation_status: Mapped[InvitationStatus | None] = mapped_column(enum_column(InvitationStatus, 20))
    invited_email: Mapped[str | None] = mapped_column(String(254))
    # No foreign key, on purpose: a second one to users would make every ``join(Membership)``
    # from users ambiguous. Users are never deleted, so the id stays valid.
    invited_by_user_id: Mapped[int | None] = mapped_column(BigId)
    invited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    tenant: Mapped[Tenant] = relationship()
    user: Mapped["User"] = relationship(back_populates="memberships")  # noqa: F821
    invited_by: Mapped["User | None"] = relationship(  # noqa: F821
        primaryjoin="foreign(Membership.invited_by_user_id) == User.id", viewonly=True)

    def has_role(self, *roles: Role) -> bool:
        return any(role.value in self.roles for role in roles)

    @property
    def is_invitation(self) -> bool:
        """An unanswered, declined or cancelled invitation: the tenant sees the e-mail only."""
        return self.invitation_status in (
            InvitationStatus.PENDING, InvitationStatus.DECLINED, InvitationStatus.CANCELLED)

    @property
    def is_pending(self) -> bool:
        return self.invitation_status is InvitationStatus.PENDING

    @property
    def invitation_label(self) -> str:
        return str(INVITATION_STATUS_LABELS[self.invitation_status]) if self.invitation_status else ""

    def make_active(self) -> None:
        """The person is a member from now on (accepted, or declared by the tenant registry)."""
        now = utcnow()
        self.active = True
        self.joined_at = self.joined_at or now
        if self.is_pending:
            self.invitation_status, self.answered_at = InvitationStatus.ACCEPTED, now

    @property
    def role_labels(self) -> list[str]:
        return [str(ROLE_LABELS[Role(r)]) for r in self.roles if r in Role._value2member_map_]


class RoleChangeAction(enum.StrEnum):
    GRANTED = "granted"
    CHANGED = "changed"
    REVOKED = "revoked"


class RoleChange(TenantOwned, IdMixin, db.Model):
    """Append-only record of every grant, change and revocation of roles in a tenant."""

    __tablename__ = "role_changes"
    __table_args__ = (Index("ix_role_changes_tenant_id_at", "tenant_id", "at"),)

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    actor_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    action: Mapped[RoleChangeAction] = mapped_column(enum_column(RoleChangeAction, 20))
    roles_before: Mapped[list[str]] = mapped_column(JSON, default=list)
    roles_after: Mapped[list[str]] = mapped_column(JSON, default=list)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped["User"] = relationship(foreign_keys=[user_id])  # noqa: F821
    actor: Mapped["User | None"] = relationship(foreign_keys=[actor_user_id])  # noqa: F821


class RecordKind(enum.StrEnum):
    CLIENT = "client"
    CASE = "case"
    RESOURCE = "resource"
    REFERRAL = "referral"


RECORD_KIND_LABELS = {
    RecordKind.CLIENT: _l("대상자"),
    RecordKind.CASE: _l("사례"),
    RecordKind.RESOURCE: _l("자원"),
    RecordKind.REFERRAL: _l("서비스의뢰"),
}

# What an agreement may cover, and so gate: 대상자 (client records shared with another tenant),
# 사례 (an organisation on a case team, which also needs 대상자), 자원 (partner-scope resources).
# REFERRAL stays readable on older rows but is no longer offered: referrals are consent-based.
AGREEABLE_RECORD_KINDS = (RecordKind.CLIENT, RecordKind.CASE, RecordKind.RESOURCE)


class AgreementStatus(enum.StrEnum):
    PROPOSED = "proposed"  # waiting for the partner's answer: shares nothing
    ACCEPTED = "accepted"  # signed by both sides: shares while within its dates
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"  # the proposer took back an unanswered proposal
    REVOKED = "revoked"
    EXPIRED = "expired"  # past valid_to; stored by the expiry job once both sides were told


AGREEMENT_STATUS_LABELS = {
    AgreementStatus.PROPOSED: _l("수락 대기"),
    AgreementStatus.ACCEPTED: _l("유효"),
    AgreementStatus.DECLINED: _l("거절됨"),
    AgreementStatus.WITHDRAWN: _l("제안 철회됨"),
    AgreementStatus.REVOKED: _l("해지됨"),
    AgreementStatus.EXPIRED: _l("기간 만료"),
}

# What the partner may write on an agreement row: its answer and a revocation. Everything else
# (purpose, kinds, dates, parties) is the proposer's and never changes after the proposal.
PARTNER_WRITABLE_COLUMNS = (
    "status", "responded_at", "responded_by_user_id", "decline_reason",
    "revoked_at", "revoked_by_user_id", "revoked_reason",
)


class SharingAgreement(TenantOwned, IdMixin, PublicIdMixin, db.Model):
    """A 협약 proposed by the owning tenant to a partner. It shares nothing until the partner's
    admin accepts it (``status``); both see it; either may revoke an accepted one."""

    __tablename__ = "sharing_agreements"
    __visibility__ = Visibility(
        read=(Owner(), TenantIn("partner_tenant_id")),
        update=(Owner(), TenantIn("partner_tenant_id")),
        participant_columns=PARTNER_WRITABLE_COLUMNS,
        # The terms both sides agreed to never change: a new agreement is proposed instead.
        fixed=("partner_tenant_id", "purpose", "record_kinds", "valid_from", "valid_to"),
        transitions=Transitions(
            "status",
            participant=(("proposed", "accepted"), ("proposed", "declined"), ("accepted", "revoked")),
            owner=(("proposed", "withdrawn"), ("accepted", "revoked"), ("accepted", "expired"))),
    )
    __table_args__ = (
        UniqueConstraint("tenant_id", "public_id"),
        UniqueConstraint("tenant_id", "registry_key"),
        Index("ix_sharing_agreements_partner_tenant_id", "partner_tenant_id"),
    )

    partner_tenant_id: Mapped[int] = mapped_column(BigId, ForeignKey("tenants.id"))
    purpose: Mapped[str] = mapped_column(Text)
    record_kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    status: Mapped[AgreementStatus] = mapped_column(enum_column(AgreementStatus, 20), default=AgreementStatus.PROPOSED)
    created_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    responded_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    decline_reason: Mapped[str | None] = mapped_column(Text)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    # Set when the agreement comes from a tenants/*.toml file, so re-applying updates it.
    registry_key: Mapped[str | None] = mapped_column(String(100))

    tenant: Mapped[Tenant] = relationship(foreign_keys="SharingAgreement.tenant_id")
    partner: Mapped[Tenant] = relationship(foreign_keys=[partner_tenant_id])

    def is_active_on(self, day: date) -> bool:
        if self.status is not AgreementStatus.ACCEPTED or self.revoked_at is not None:
            return False
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def status_on(self, day: date) -> AgreementStatus:
        """What the screens show: an accepted agreement past its end reads as expired at once,
        before the expiry job has stored it."""
        if self.status is AgreementStatus.ACCEPTED and self.valid_to is not None and self.valid_to < day:
            return AgreementStatus.EXPIRED
        return self.status

    def other_party(self, tenant_id: int) -> Tenant:
        return self.partner if self.tenant_id == tenant_id else self.tenant

    @property
    def record_kind_labels(self) -> list[str]:
        return [str(RECORD_KIND_LABELS[RecordKind(k)]) for k in self.record_kinds]


class AgreementAction(enum.StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    REVOKED = "revoked"
    EXPIRED = "expired"
    REGISTERED = "registered"  # loaded from tenants/*.toml, signed by both sides on paper


AGREEMENT_ACTION_LABELS = {
    AgreementAction.PROPOSED: _l("협약 제안"),
    AgreementAction.ACCEPTED: _l("수락"),
    AgreementAction.DECLINED: _l("거절"),
    AgreementAction.WITHDRAWN: _l("제안 철회"),
    AgreementAction.REVOKED: _l("해지"),
    AgreementAction.EXPIRED: _l("기간 만료"),
    AgreementAction.REGISTERED: _l("기관 등록부에서 체결된 협약으로 등록"),
}


class AgreementEvent(TenantOwned, IdMixin, db.Model):
    """Who did what to an agreement, when. Owned by the tenant that acted; the other party
    (``counterpart_tenant_id``) reads it too. Append-only."""

    __tablename__ = "sharing_agreement_events"
    # Nobody rewrites or deletes history, not even the tenant that acted.
    __visibility__ = Visibility(read=(Owner(), TenantIn("counterpart_tenant_id")), update=(), delete=())
    __table_args__ = (Index("ix_sharing_agreement_events_agreement_id", "agreement_id"),)

    agreement_id: Mapped[int] = mapped_column(BigId, ForeignKey("sharing_agreements.id"))
    counterpart_tenant_id: Mapped[int] = mapped_column(BigId, ForeignKey("tenants.id"))
    action: Mapped[AgreementAction] = mapped_column(enum_column(AgreementAction, 20))
    actor_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    tenant: Mapped[Tenant] = relationship(foreign_keys="AgreementEvent.tenant_id")
    actor: Mapped["User | None"] = relationship(foreign_keys=[actor_user_id])  # noqa: F821

    @property
    def action_label(self) -> str:
        return str(AGREEMENT_ACTION_LABELS[self.action])
