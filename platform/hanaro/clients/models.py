"""Clients (대상자), households, consents (정보제공 동의) and the access grants consents allow."""
from __future__ import annotations

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.db import enum_column, BigId, IdMixin, PublicIdMixin, UTCDateTime, db, utcnow
from ..tenancy.owned import TenantOwned
from ..tenancy.policy import MemberOf, Owner, TenantIn, Transitions, Visibility

# A client row is visible to its owner and to tenants holding an active, unexpired access grant
# (given when a consent-covered case invitation is accepted, or a referral is received).
GRANTED_CLIENT = MemberOf(
    "client_access_grants", parent_column="id", membership_parent_column="client_id",
    member_column="grantee_tenant_id", statuses=("active",), expires_column="expires_at",
)


class Household(TenantOwned, IdMixin, PublicIdMixin, db.Model):
    __tablename__ = "households"
    __table_args__ = (UniqueConstraint("tenant_id", "public_id"),)

    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(300))
    dong_code: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    members: Mapped[list[Client]] = relationship(back_populates="household", order_by="Client.birth_date")


class Sex(enum.StrEnum):
    MALE = "M"
    FEMALE = "F"


SEX_LABELS = {Sex.MALE: _l("남"), Sex.FEMALE: _l("여")}


class VitalStatus(enum.StrEnum):
    ALIVE = "alive"
    DECEASED = "deceased"
    MOVED_OUT = "moved_out"


VITAL_STATUS_LABELS = {VitalStatus.ALIVE: _l("생존"), VitalStatus.DECEASED: _l("사망"), VitalStatus.MOVED_OUT: _l("전출")}


class Relationship(enum.StrEnum):
    HEAD = "head"
    SPOUSE = "spouse"
    CHILD = "child"
    PARENT = "parent"
    SIBLING = "sibling"
    GRANDCHILD = "grandchild"
    GRANDPARENT = "grandparent"
    OTHER = "other"


RELATIONSHIP_LABELS = {
    Relationship.HEAD: _l("가구주"), Relationship.SPOUSE: _l("배우자"), Relationship.CHILD: _l("자녀"),
    Relationship.PARENT: _l("부모"), Relationship.SIBLING: _l("형제자매"), Relationship.GRANDCHILD: _l("손자녀"),
    Relationship.GRANDPARENT: _l("조부모"), Relationship.OTHER: _l("기타"),
}


class Client(TenantOwned, IdMixin, PublicIdMixin, db.Model):
    __tablename__ = "clients"
    __visibility__ = Visibility(read=(Owner(), GRANTED_CLIENT))
    __table_args__ = (
        UniqueConstraint("tenant_id", "public_id"),
        # Unique per tenant only: a global key would reveal another tenant's client.
        UniqueConstraint("tenant_id", "rrn_blind_index"),
        Index("ix_clients_tenant_id_name", "tenant_id", "name", "id"),  # the list's order
        Index("ix_clients_rrn_blind_index", "rrn_blind_index"),
    )

    name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[Sex] = mapped_column(enum_column(Sex, 1))
    phone: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(300))
    dong_code: Mapped[str | None] = mapped_column(String(10), index=True)
    household_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("households.id"))
    household_relationship: Mapped[Relationship | None] = mapped_column(
        enum_column(Relationship, 20)
    )
    rrn_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    rrn_blind_index: Mapped[str | None] = mapped_column(String(64))
    rrn_masked: Mapped[str | None] = mapped_column(String(14))
    vital_status: Mapped[VitalStatus] = mapped_column(
        enum_column(VitalStatus, 20), default=VitalStatus.ALIVE
    )
    vital_status_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))

    household: Mapped[Household | None] = relationship(back_populates="members")
    consents: Mapped[list[Consent]] = relationship(back_populates="client", order_by="Consent.granted_on.desc()")

    @property
    def sex_label(self) -> str:
        return str(SEX_LABELS[self.sex])

    @property
    def vital_status_label(self) -> str:
        return str(VITAL_STATUS_LABELS[self.vital_status])

    def age_on(self, day: date) -> int:
        return day.year - self.birth_date.year - ((day.month, day.day) < (self.birth_date.month, self.birth_date.day))


class ConsentScope(enum.StrEnum):
    TENANTS = "tenants"  # the tenants listed
    CASE_TEAM = "case_team"  # whichever tenants join the client's case team
    REGION = "region"  # any tenant of the client owner's province


class ConsentPurpose(enum.StrEnum):
    CASE_COLLABORATION = "case_collaboration"
    REFERRAL = "referral"
    CAMPAIGN = "campaign"


CONSENT_SCOPE_LABELS = {
    ConsentScope.TENANTS: _l("지정한 기관"),
    ConsentScope.CASE_TEAM: _l("사례관리 팀에 참여하는 기관"),
    ConsentScope.REGION: _l("같은 광역 지역의 모든 기관"),
}
CONSENT_PURPOSE_LABELS = {
    ConsentPurpose.CASE_COLLABORATION: _l("통합사례관리 협업"),
    ConsentPurpose.REFERRAL: _l("서비스의뢰"),
    ConsentPurpose.CAMPAIGN: _l("자원배분 추천"),
}


class Consent(TenantOwned, IdMixin, PublicIdMixin, db.Model):
    """정보제공 동의: which tenants may receive the client's data, for which purposes, until when."""

    __tablename__ = "consents"
    __table_args__ = (UniqueConstraint("tenant_id", "public_id"), Index("ix_consents_client_id", "client_id"))

    client_id: Mapped[int] = mapped_column(BigId, ForeignKey("clients.id"))
    scope: Mapped[ConsentScope] = mapped_column(enum_column(ConsentScope, 20))
    tenant_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    purposes: Mapped[list[str]] = mapped_column(JSON, default=list)
    includes_health: Mapped[bool] = mapped_column(Boolean, default=False)
    granted_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
    recorded_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    evidence_reference: Mapped[str | None] = mapped_column(String(300))
    evidence_filename: Mapped[str | None] = mapped_column(String(200))
    evidence_content_type: Mapped[str | None] = mapped_column(String(100))
    evidence_content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)

    client: Mapped[Client] = relationship(back_populates="consents")

    @property
    def scope_label(self) -> str:
        return str(CONSENT_SCOPE_LABELS[self.scope])

    @property
    def purpose_labels(self) -> list[str]:
        return [str(CONSENT_PURPOSE_LABELS[ConsentPurpose(p)]) for p in self.purposes]

    def is_valid_on(self, day: date) -> bool:
        return self.withdrawn_at is None and self.granted_on <= day and (self.expires_on is None or day <= self.expires_on)


class GrantReason(enum.StrEnum):
    CASE = "case"
    REFERRAL = "referral"


class GrantStatus(enum.StrEnum):
    PENDING = "pending"  # invitation sent, not yet accepted
    ACTIVE = "active"
    REVOKED = "revoked"


class ClientAccessGrant(TenantOwned, IdMixin, db.Model):
    """Another tenant's access to one client, backed by a consent. Owned by the client's tenant;
    the grantee sees it and may only accept or give it up."""

    __tablename__ = "client_access_grants"
    __visibility__ = Visibility(
        read=(Owner(), TenantIn("grantee_tenant_id")),
        update=(Owner(), TenantIn("grantee_tenant_id")),
        grants_on=("client_id",), grantee_column="grantee_tenant_id",
        participant_columns=("status", "revoked_at", "revoked_reason"),
        transitions=Transitions("status", participant=(("pending", "active"), ("pending", "revoked"),
                                                       ("active", "revoked"))),
    )
    __table_args__ = (
        Index("ix_client_access_grants_client_id_grantee", "client_id", "grantee_tenant_id"),
        Index("ix_client_access_grants_grantee_tenant_id", "grantee_tenant_id"),
    )

    client_id: Mapped[int] = mapped_column(BigId, ForeignKey("clients.id"))
    grantee_tenant_id: Mapped[int] = mapped_column(BigId, ForeignKey("tenants.id"))
    consent_id: Mapped[int] = mapped_column(BigId, ForeignKey("consents.id"))
    reason: Mapped[GrantReason] = mapped_column(enum_column(GrantReason, 20))
    case_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("cases.id"))
    status: Mapped[GrantStatus] = mapped_column(enum_column(GrantStatus, 20))
    includes_health: Mapped[bool] = mapped_column(Boolean, default=False)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_reason: Mapped[str | None] = mapped_column(String(200))

    client: Mapped[Client] = relationship()
    consent: Mapped[Consent] = relationship()
