"""The resource and service registry (자원): what organisations offer, shaped after HSDS 3.0
(organization → service → location, eligibility, schedule, need categories), with a sharing
scope the registrant chooses per resource."""
from __future__ import annotations

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.db import BigId, IdMixin, PublicIdMixin, UTCDateTime, db, enum_column, utcnow
from ..tenancy.owned import TenantOwned
from ..tenancy.policy import AgreementPartner, AnyTenant, Everyone, Owner, SameProvince, Visibility, When


class Scope(enum.StrEnum):
    PRIVATE = "private"  # the registrant only
    PARTNERS = "partners"  # tenants with a sharing agreement covering resources, in force today
    REGION = "region"  # tenants of the same province
    PLATFORM = "platform"  # every tenant
    PUBLIC = "public"  # every tenant and the anonymous directory


SCOPE_LABELS = {
    Scope.PRIVATE: _l("우리 기관만"), Scope.PARTNERS: _l("협약 기관"), Scope.REGION: _l("같은 광역 지역"),
    Scope.PLATFORM: _l("하나로 전체 기관"), Scope.PUBLIC: _l("누구나 (공개 목록)"),
}
# Widening order: a resource's staff-only fields never reach further than the resource itself.
SCOPE_ORDER = [Scope.PRIVATE, Scope.PARTNERS, Scope.REGION, Scope.PLATFORM, Scope.PUBLIC]


def scope_rules(column: str):
    """Who may read a row whose sharing scope is in ``column``."""
    return (
        Owner(),
        When(column, Scope.PARTNERS.value, AgreementPartner("resource")),
        When(column, Scope.REGION.value, SameProvince()),
        When(column, Scope.PLATFORM.value, AnyTenant()),
        When(column, Scope.PUBLIC.value, Everyone()),
    )


class Capacity(enum.StrEnum):
    AVAILABLE = "available"
    WAITLIST = "waitlist"
    FULL = "full"


CAPACITY_LABELS = {Capacity.AVAILABLE: _l("이용 가능"), Capacity.WAITLIST: _l("대기"), Capacity.FULL: _l("마감")}


class WaitEstimate(enum.StrEnum):
    UNDER_MONTH = "under_month"
    ONE_TO_THREE_MONTHS = "one_to_three_months"
    LONGER = "longer"


WAIT_LABELS = {
    WaitEstimate.UNDER_MONTH: _l("한 달 이내"), WaitEstimate.ONE_TO_THREE_MONTHS: _l("1~3개월"),
    WaitEstimate.LONGER: _l("3개월 이상"),
}


class ResourceKind(enum.StrEnum):
    SERVICE = "service"  # 서비스
    IN_KIND = "in_kind"  # 후원 물품


class Resource(TenantOwned, IdMixin, PublicIdMixin, db.Model):
    """One service or donated resource offered by the registrant tenant (or a partner organisation
    it names). Visible per its sharing scope; ``staff_scope`` limits the staff-only fields."""

    __tablename__ = "resources"
    __visibility__ = Visibility(read=scope_rules("scope"))
    __table_args__ = (
        UniqueConstraint("tenant_id", "public_id"),
        Index("ix_resources_scope_province", "scope", "province_code"),
        Index("ix_resources_tenant_id_updated", "tenant_id", "updated_at"),
        Index("ix_resources_scope_name", "scope", "name", "id"),  # the public directory's order
    )

    kind: Mapped[ResourceKind] = mapped_column(enum_column(ResourceKind), default=ResourceKind.SERVICE)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    organization_name: Mapped[str | None] = mapped_column(String(200))  # None: the registrant itself
    need_domains: Mapped[list[str]] = mapped_column(JSON, default=list)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Eligibility
    min_age: Mapped[int | None] = mapped_column(Integer)
    max_age: Mapped[int | None] = mapped_column(Integer)
    household_conditions: Mapped[str | None] = mapped_column(Text)
    income_note: Mapped[str | None] = mapped_column(Text)
    eligibility_note: Mapped[str | None] = mapped_column(Text)
    # Where and when
    service_area_codes: Mapped[list[str]] = mapped_column(JSON, default=list)  # 읍면동/시군구 codes
    address: Mapped[str | None] = mapped_column(String(300))
    schedule: Mapped[list[dict]] = mapped_column(JSON, default=list)  # [{"weekday": 0-6, "opens": "09:00", "closes": "18:00"}]
    how_to_apply: Mapped[str | None] = mapped_column(Text)
    required_documents: Mapped[str | None] = mapped_column(Text)
    cost: Mapped[str | None] = mapped_column(String(200))
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    public_phone: Mapped[str | None] = mapped_column(String(20))
    # Capacity
    capacity: Mapped[Capacity] = mapped_column(enum_column(Capacity), default=Capacity.AVAILABLE)
    wait_estimate: Mapped[WaitEstimate | None] = mapped_column(enum_column(WaitEstimate, 30))
    remaining_slots: Mapped[int | None] = mapped_column(Integer)  # staff-only
    # In-kind
    quantity: Mapped[int | None] = mapped_column(Integer)
    quantity_unit: Mapped[str | None] = mapped_column(String(20))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    # Staff-only contact
    contact_person: Mapped[str | None] = mapped_column(String(100))
    direct_phone: Mapped[str | None] = mapped_column(String(20))
    # Sharing
    scope: Mapped[Scope] = mapped_column(enum_column(Scope), default=Scope.PRIVATE)
    staff_scope: Mapped[Scope] = mapped_column(enum_column(Scope), default=Scope.PRIVATE)
    province_code: Mapped[str | None] = mapped_column(String(10))  # the registrant's, for region scope
    # Freshness
    last_verified_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    created_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))

    tenant: Mapped["Tenant"] = relationship(foreign_keys="Resource.tenant_id")  # noqa: F821
    # Kept in line with the resource before every flush (resources.search.index).
    # One way only: a back reference would make each resource and its terms a reference cycle, kept
    # in the session's identity map until the garbage collector runs, instead of released at once.
    terms: Mapped[list["ResourceTerm"]] = relationship(cascade="all, delete-orphan", passive_deletes=True)

    @property
    def scope_label(self) -> str:
        return str(SCOPE_LABELS[self.scope])

    @property
    def capacity_label(self) -> str:
        return str(CAPACITY_LABELS[self.capacity])


class ResourceTerm(TenantOwned, IdMixin, db.Model):
    """One character bigram of a resource's searchable text (see resources.search), with copies of
    the resource's sharing scope and of what search filters and orders by.

    Search finds a word's resources here first, in the order of a page, and reads only those
    resources: ``term = '돌봄'`` is leakproof, so PostgreSQL may use the index before the policy,
    which it may not for an array ``@>`` on the resources themselves. The copied scope, owner and
    province give the row the resource's own visibility, so a term never reveals what its
    resource would not. PostgreSQL indexes (migration 0023): (term, available DESC,
    last_verified_on DESC, name, resource_id) for resource search, and (term, name, resource_id)
    of public rows for the directory."""

    __tablename__ = "resource_terms"
    __visibility__ = Visibility(read=scope_rules("scope"))
    __table_args__ = (UniqueConstraint("resource_id", "term", "tenant_id"),)

    resource_id: Mapped[int] = mapped_column(BigId, ForeignKey("resources.id", ondelete="CASCADE"))
    term: Mapped[str] = mapped_column(String(2))
    scope: Mapped[Scope] = mapped_column(enum_column(Scope))
    province_code: Mapped[str | None] = mapped_column(String(10))
    capacity: Mapped[Capacity] = mapped_column(enum_column(Capacity))
    available: Mapped[bool] = mapped_column(Boolean)  # capacity is available: the first key of search's order
    last_verified_on: Mapped[date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(200))
    min_age: Mapped[int | None] = mapped_column(Integer)
    max_age: Mapped[int | None] = mapped_column(Integer)


class ResourceChange(TenantOwned, IdMixin, db.Model):
    """Editing history: who changed which fields of a resource, when. Owner only."""

    __tablename__ = "resource_changes"
    __table_args__ = (Index("ix_resource_changes_resource_id_at", "resource_id", "at"),)

    resource_id: Mapped[int] = mapped_column(BigId, ForeignKey("resources.id"))
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    action: Mapped[str] = mapped_column(String(20))  # created | updated | verified | scope
    changes: Mapped[dict] = mapped_column(JSON, default=dict)  # field -> [before, after]

    user: Mapped["User | None"] = relationship()  # noqa: F821
