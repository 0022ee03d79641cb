"""Resource distribution campaigns (자원배분, Seongdong 사전관리): a welfare bureau (the organiser)
distributes a donated resource; invited agencies nominate households; the system flags duplicate
nominations, deceased or moved-out people, concentration and quota overruns before allocation.

Ownership. Every row here is owned by the **organiser** (``tenant_id``): the campaign is the
aggregate, and its nominations, household keys, flags and invitations carry the organiser's
``tenant_id`` with the nominating tenant in ``nominator_tenant_id`` (DESIGN §5: participation is
a separate column). We chose this over "owned by the nominator, organiser as participant" because

* the organiser's work (checks across all nominators, quotas, allocation, figures) reads every
  nomination of a campaign: with one owner the campaign and its nominations live together (one
  Citus shard, indexes leading with the organiser's ``tenant_id``), and the owner reads them by
  ``Owner()`` alone;
* the nominator's view stays exactly "its own": ``TenantIn("nominator_tenant_id")`` lets a
  nominator read (and the service change) only rows naming it, never another nominator's;
* unique keys lead with the organiser's ``tenant_id`` and end with the nominator, so a violation
  can only ever be about the nominator's own nomination (DESIGN §8: unique constraints bypass RLS).

Cross-nominator duplicates. A nomination stores keyed digests (:class:`NominationKey`) of its
nominee's resident number blind index, of the household members' and of the household address,
under a key derived per organiser (HMAC), so a digest means nothing without the server key and
cannot be joined to ``clients.rrn_blind_index``. A nominator learns whether a household is
already nominated elsewhere only through ``service.nominated_elsewhere`` (one yes/no answer,
computed with the organiser's authority); flags on its nominations hold no detail about the
other nomination (who, what): those the organiser reads from the keys.
"""
from __future__ import annotations

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from ..core.db import BigId, IdMixin, PublicIdMixin, UTCDateTime, db, enum_column, utcnow
from ..tenancy.owned import TenantOwned
from ..tenancy.policy import AllOf, MemberOf, Owner, TenantIn, Transitions, Visibility, When


class Category(enum.StrEnum):
    KIMJANG = "kimjang"
    HEATING = "heating"
    FOOD = "food"
    NECESSITIES = "necessities"
    HOLIDAY = "holiday"
    OTHER = "other"


CATEGORY_LABELS = {
    Category.KIMJANG: _l("김장"), Category.HEATING: _l("난방"), Category.FOOD: _l("식품"),
    Category.NECESSITIES: _l("생필품"), Category.HOLIDAY: _l("명절 지원"), Category.OTHER: _l("기타"),
}


class CampaignStatus(enum.StrEnum):
    PREPARATION = "preparation"
    OPEN = "open"
    REVIEW = "review"
    CONFIRMED = "confirmed"
    COMPLETED = "completed"


CAMPAIGN_STATUS_LABELS = {
    CampaignStatus.PREPARATION: _l("준비"), CampaignStatus.OPEN: _l("추천 접수"), CampaignStatus.REVIEW: _l("검토"),
    CampaignStatus.CONFIRMED: _l("확정"), CampaignStatus.COMPLETED: _l("지급 완료"),
}

# An invited nominating tenant, through the invitation rows of the campaign.
INVITED = MemberOf("campaign_invitations", "campaign_id", "campaign_id", member_column="nominator_tenant_id",
                   status_column=None)
NOMINATOR = TenantIn("nominator_tenant_id")
# Both sides of a campaign's rows: the organiser and the nominating tenant the row names.
BOTH_SIDES = (Owner(), NOMINATOR)


class Campaign(TenantOwned, IdMixin, PublicIdMixin, db.Model):
    """A distribution run by the organiser. Invited tenants see it once it leaves preparation."""

    __tablename__ = "campaigns"
    __visibility__ = Visibility(read=(Owner(), *[
        When("status", s.value, MemberOf("campaign_invitations", "id", "campaign_id",
                                         member_column="nominator_tenant_id", status_column=None))
        for s in CampaignStatus if s is not CampaignStatus.PREPARATION]))
    __table_args__ = (
        UniqueConstraint("tenant_id", "public_id"),
        Index("ix_campaigns_tenant_id_status", "tenant_id", "status"),
    )

    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[Category] = mapped_column(enum_column(Category))
    # A donated in-kind resource the organiser can see, or a description of the item.
    resource_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("resources.id"))
    item_description: Mapped[str | None] = mapped_column(Text)
    sponsor: Mapped[str | None] = mapped_column(String(200))  # 후원자
    quantity: Mapped[int] = mapped_column(Integer)  # units in stock to distribute
    unit: Mapped[str] = mapped_column(String(20))
    per_household: Mapped[int] = mapped_column(Integer, default=1)
    eligibility_notes: Mapped[str | None] = mapped_column(Text)
    opens_on: Mapped[date] = mapped_column(Date)
    closes_on: Mapped[date] = mapped_column(Date)
    # Allocation rules: households per dong code ({"1120051500": 10}); per nominator on invitations.
    dong_quotas: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    status: Mapped[CampaignStatus] = mapped_column(enum_column(CampaignStatus), default=CampaignStatus.PREPARATION)
    created_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Optimistic lock: two organiser staff moving the campaign at once get a clean refusal.
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    tenant: Mapped["Tenant"] = relationship(foreign_keys="Campaign.tenant_id")  # noqa: F821
    resource: Mapped["Resource | None"] = relationship()  # noqa: F821

    @property
    def status_label(self) -> str:
        return str(CAMPAIGN_STATUS_LABELS[self.status])

    @property
    def category_label(self) -> str:
        return str(CATEGORY_LABELS[self.category])


class Invitation(TenantOwned, IdMixin, db.Model):
    """A nominating tenant (추천기관) invited to a campaign, with its quota of households."""

    __tablename__ = "campaign_invitations"
    __visibility__ = Visibility(read=BOTH_SIDES, grants_on=("campaign_id",), grantee_column="nominator_tenant_id")
    __table_args__ = (
        UniqueConstraint("tenant_id", "campaign_id", "nominator_tenant_id"),
        Index("ix_campaign_invitations_campaign_id", "campaign_id"),
        Index("ix_campaign_invitations_nominator_tenant_id", "nominator_tenant_id"),
    )

    campaign_id: Mapped[int] = mapped_column(BigId, ForeignKey("campaigns.id"))
    nominator_tenant_id: Mapped[int] = mapped_column(BigId, ForeignKey("tenants.id"))
    quota: Mapped[int | None] = mapped_column(Integer)  # households; None: no limit
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    nominator: Mapped["Tenant"] = relationship(foreign_keys=[nominator_tenant_id])  # noqa: F821


class Priority(enum.StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"


PRIORITY_LABELS = {Priority.URGENT: _l("긴급"), Priority.HIGH: _l("우선"), Priority.NORMAL: _l("보통")}
PRIORITY_RANK = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2}


class NominationStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


NOMINATION_STATUS_LABELS = {
    NominationStatus.SUBMITTED: lazy_pgettext("nomination status", "접수"), NominationStatus.ACCEPTED: _l("선정"),
    NominationStatus.REJECTED: _l("제외"), NominationStatus.WITHDRAWN: _l("철회"),
}
# Nominations still in the running: checked, counted against stock and quotas.
ACTIVE_NOMINATION = (NominationStatus.SUBMITTED, NominationStatus.ACCEPTED)


class RejectReason(enum.StrEnum):
    DUPLICATE = "duplicate"
    DECEASED = "deceased"
    MOVED_OUT = "moved_out"
    CONCENTRATION = "concentration"
    OVER_QUOTA = "over_quota"
    INELIGIBLE = "ineligible"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    OTHER = "other"


REJECT_REASON_LABELS = {
    RejectReason.DUPLICATE: _l("중복 추천"), RejectReason.DECEASED: _l("사망"),
    RejectReason.MOVED_OUT: _l("전출·관외 거주"), RejectReason.CONCENTRATION: _l("편중 지원 (최근 같은 종류 지원)"),
    RejectReason.OVER_QUOTA: _l("배정 한도 초과"), RejectReason.INELIGIBLE: _l("지원 기준 미충족"),
    RejectReason.CONSENT_WITHDRAWN: _l("정보제공 동의 철회"), RejectReason.OTHER: _l("기타"),
}


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    NOT_DELIVERED = "not_delivered"


DELIVERY_STATUS_LABELS = {DeliveryStatus.PENDING: _l("지급 전"), DeliveryStatus.DELIVERED: _l("지급 완료"),
                          DeliveryStatus.NOT_DELIVERED: _l("미지급")}


class _CampaignPart(TenantOwned, IdMixin):
    """A row of a campaign about one nominating tenant: the organiser and that tenant read it."""

    __abstract__ = True
    __visibility__ = Visibility(read=BOTH_SIDES, insert=(AllOf((NOMINATOR, INVITED)),), update=BOTH_SIDES, delete=())

    campaign_id: Mapped[int] = mapped_column(BigId, ForeignKey("campaigns.id"))
    nominator_tenant_id: Mapped[int] = mapped_column(BigId, ForeignKey("tenants.id"))


class Nomination(_CampaignPart, PublicIdMixin, db.Model):
    """One household nominated by an invited tenant, through one of its own clients (the nominee,
    who receives for the household). ``snapshot`` is what the organiser sees of the nominee,
    shared under a consent covering the organiser for campaigns; ``rrn_encrypted`` (a copy of the
    client's ciphertext) is only ever decrypted to ask the resident registry."""

    __tablename__ = "campaign_nominations"
    # The nominator edits, withdraws and resubmits its own nomination; the organiser decides.
    __visibility__ = Visibility(
        read=BOTH_SIDES, insert=(AllOf((NOMINATOR, INVITED)),), update=BOTH_SIDES, delete=(),
        participant_columns=("reason", "priority", "quantity", "dong_code", "snapshot", "rrn_encrypted", "status",
                             "decision_note", "submitted_at", "withdrawn_at", "client_data_withdrawn_at",
                             "delivery_status", "delivered_on", "delivery_note", "delivery_recorded_by_user_id",
                             "updated_at", "version"),
        transitions=Transitions("status", participant=(("submitted", "withdrawn"), ("accepted", "withdrawn"),
                                                       ("withdrawn", "submitted"))))
    __table_args__ = (
        UniqueConstraint("tenant_id", "public_id"),
        # One nomination per client and campaign by a nominator; unique per organiser and nominator,
        # so it can only ever collide with the nominator's own row.
        UniqueConstraint("tenant_id", "campaign_id", "nominator_tenant_id", "client_id"),
        Index("ix_campaign_nominations_campaign_id_status", "campaign_id", "status"),
        Index("ix_campaign_nominations_nominator_tenant_id_campaign_id", "nominator_tenant_id", "campaign_id"),
        # A nomination's check reads its dong's nominations when the dong has a quota.
        Index("ix_campaign_nominations_campaign_id_dong_code", "campaign_id", "dong_code"),
    )

    client_id: Mapped[int] = mapped_column(BigId, ForeignKey("clients.id"))
    household_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("households.id"))
    consent_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("consents.id"))
    reason: Mapped[str] = mapped_column(Text)
    priority: Mapped[Priority] = mapped_column(enum_column(Priority), default=Priority.NORMAL)
    quantity: Mapped[int] = mapped_column(Integer)  # units asked for (the campaign's per-household unit)
    dong_code: Mapped[str] = mapped_column(String(10))
    snapshot: Mapped[dict | None] = mapped_column(JSON)
    rrn_encrypted: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    status: Mapped[NominationStatus] = mapped_column(enum_column(NominationStatus),
                                                     default=NominationStatus.SUBMITTED)
    reject_reason: Mapped[RejectReason | None] = mapped_column(enum_column(RejectReason, 30))
    decision_note: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    allocated_quantity: Mapped[int | None] = mapped_column(Integer)
    delivery_status: Mapped[DeliveryStatus] = mapped_column(enum_column(DeliveryStatus),
                                                            default=DeliveryStatus.PENDING)
    delivered_on: Mapped[date | None] = mapped_column(Date)
    delivery_note: Mapped[str | None] = mapped_column(Text)
    delivery_recorded_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    client_data_withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    campaign: Mapped[Campaign] = relationship()
    nominator: Mapped["Tenant"] = relationship(foreign_keys="Nomination.nominator_tenant_id")  # noqa: F821

    @property
    def status_label(self) -> str:
        return str(NOMINATION_STATUS_LABELS[self.status])

    @property
    def priority_label(self) -> str:
        return str(PRIORITY_LABELS[self.priority])

    @property
    def reject_reason_label(self) -> str | None:
        return str(REJECT_REASON_LABELS[self.reject_reason]) if self.reject_reason else None

    @property
    def delivery_status_label(self) -> str:
        return str(DELIVERY_STATUS_LABELS[self.delivery_status])

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_NOMINATION


class KeyKind(enum.StrEnum):
    PERSON = "person"  # the nominee's resident number
    MEMBER = "member"  # another household member's resident number
    ADDRESS = "address"  # the household's dong and address


class NominationKey(_CampaignPart, db.Model):
    """A keyed digest identifying the nominee or its household, for duplicate and concentration
    checks. No unique key on ``digest``: a violation would tell a nominator someone else has it."""

    __tablename__ = "campaign_nomination_keys"
    __visibility__ = Visibility(read=BOTH_SIDES, insert=(AllOf((NOMINATOR, INVITED)),), update=(),
                                delete=(NOMINATOR,))
    __table_args__ = (
        Index("ix_campaign_nomination_keys_campaign_id_digest", "campaign_id", "digest"),
        Index("ix_campaign_nomination_keys_tenant_id_digest", "tenant_id", "digest"),
        Index("ix_campaign_nomination_keys_nomination_id", "nomination_id"),
    )

    nomination_id: Mapped[int] = mapped_column(BigId, ForeignKey("campaign_nominations.id"))
    kind: Mapped[KeyKind] = mapped_column(enum_column(KeyKind))
    digest: Mapped[str] = mapped_column(String(64))


class FlagKind(enum.StrEnum):
    DUPLICATE = "duplicate"
    DECEASED = "deceased"
    MOVED_OUT = "moved_out"
    CONCENTRATION = "concentration"
    OVER_DONG_QUOTA = "over_dong_quota"
    OVER_NOMINATOR_QUOTA = "over_nominator_quota"


FLAG_KIND_LABELS = {
    FlagKind.DUPLICATE: _l("중복 추천"), FlagKind.DECEASED: _l("사망"), FlagKind.MOVED_OUT: _l("전출"),
    FlagKind.CONCENTRATION: _l("편중 지원"), FlagKind.OVER_DONG_QUOTA: _l("동별 한도 초과"),
    FlagKind.OVER_NOMINATOR_QUOTA: _l("기관별 한도 초과"),
}


class FlagStatus(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"  # the organiser dealt with it; stays resolved on every re-check
    CLEARED = "cleared"  # a re-check found it no longer applies


FLAG_STATUS_LABELS = {FlagStatus.OPEN: _l("확인 필요"), FlagStatus.RESOLVED: _l("해결"),
                      FlagStatus.CLEARED: _l("해당 없음")}


class Flag(_CampaignPart, PublicIdMixin, db.Model):
    """A finding of the checks on one nomination. ``details`` never names another nomination or
    nominator: the nominating tenant reads its flags."""

    __tablename__ = "campaign_flags"
    __visibility__ = Visibility(read=BOTH_SIDES, insert=(Owner(),), update=(Owner(),), delete=())
    __table_args__ = (
        UniqueConstraint("tenant_id", "public_id"),
        UniqueConstraint("tenant_id", "nomination_id", "kind"),
        Index("ix_campaign_flags_campaign_id_status", "campaign_id", "status"),
        Index("ix_campaign_flags_nominator_tenant_id", "nominator_tenant_id"),
    )

    nomination_id: Mapped[int] = mapped_column(BigId, ForeignKey("campaign_nominations.id"))
    kind: Mapped[FlagKind] = mapped_column(enum_column(FlagKind, 30))
    status: Mapped[FlagStatus] = mapped_column(enum_column(FlagStatus), default=FlagStatus.OPEN)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    found_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    resolution_note: Mapped[str | None] = mapped_column(Text)

    nomination: Mapped[Nomination] = relationship()

    @property
    def kind_label(self) -> str:
        return str(FLAG_KIND_LABELS[self.kind])

    @property
    def status_label(self) -> str:
        return str(FLAG_STATUS_LABELS[self.status])
