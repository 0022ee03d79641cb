"""Closed-loop service referrals (서비스의뢰): one agency sends a client to another agency's
service and both follow it to a recorded outcome.

A referral belongs to the sending tenant; the receiving tenant reads and answers it. Its events,
messages and attachments carry both tenants so either side can read and write them, and nobody
else can. The client data the receiver sees is a snapshot frozen at sending (``shared_client``),
never a live view of the sender's records.
"""
from __future__ import annotations

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from ..core.db import BigId, IdMixin, PublicIdMixin, UTCDateTime, db, enum_column, utcnow
from ..tenancy.owned import TenantOwned
from ..tenancy.policy import MemberOf, Owner, TenantIn, Transitions, Visibility, When


RECEIVER_MOVES = (
    ("sent", "accepted"), ("waitlisted", "accepted"), ("sent", "waitlisted"), ("sent", "declined"),
    ("waitlisted", "declined"), ("accepted", "in_progress"), ("accepted", "completed"), ("in_progress", "completed"),
    ("accepted", "not_completed"), ("in_progress", "not_completed"),
)


class State(enum.StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    ACCEPTED = "accepted"
    WAITLISTED = "waitlisted"
    DECLINED = "declined"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    NOT_COMPLETED = "not_completed"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


# The states share their Korean words with the buttons that lead to them (수락 is both "accept" and
# "accepted"): the context keeps the two apart in other languages.
STATE_LABELS = {
    State.DRAFT: _l("작성 중"),
    State.SENT: _l("보냄 (응답 대기)"),
    State.ACCEPTED: lazy_pgettext("referral state", "수락"),
    State.WAITLISTED: lazy_pgettext("referral state", "대기 등록"),
    State.DECLINED: lazy_pgettext("referral state", "거절"),
    State.IN_PROGRESS: _l("서비스 제공 중"),
    State.COMPLETED: lazy_pgettext("referral state", "완료"),
    State.NOT_COMPLETED: lazy_pgettext("referral state", "미완료 종결"),
    State.WITHDRAWN: lazy_pgettext("referral state", "철회"),
    State.EXPIRED: lazy_pgettext("referral state", "기한 만료"),
}
# No outcome yet: the referral stays on both sides' lists.
OPEN_STATES = (State.DRAFT, State.SENT, State.ACCEPTED, State.WAITLISTED, State.IN_PROGRESS)
FINAL_STATES = (State.DECLINED, State.COMPLETED, State.NOT_COMPLETED, State.WITHDRAWN, State.EXPIRED)


class Urgency(enum.StrEnum):
    ROUTINE = "routine"
    PRIORITY = "priority"
    URGENT = "urgent"


URGENCY_LABELS = {Urgency.ROUTINE: lazy_pgettext("urgency", "보통"), Urgency.PRIORITY: _l("우선"), Urgency.URGENT: _l("긴급")}


class DeclineReason(enum.StrEnum):
    CAPACITY = "capacity"
    INELIGIBLE = "ineligible"
    OUT_OF_AREA = "out_of_area"
    MISSING_DOCUMENTS = "missing_documents"
    CLIENT_REFUSED = "client_refused"
    OTHER = "other"


DECLINE_REASON_LABELS = {
    DeclineReason.CAPACITY: _l("정원 초과"), DeclineReason.INELIGIBLE: _l("자격 미충족"),
    DeclineReason.OUT_OF_AREA: _l("서비스 지역 외"), DeclineReason.MISSING_DOCUMENTS: _l("서류 미비"),
    DeclineReason.CLIENT_REFUSED: _l("대상자 거부"), DeclineReason.OTHER: _l("기타"),
}


# The receiver sees a referral once it is sent; a draft is the sender's alone.
SENT_TO_RECEIVER = (Owner(), *[When("state", s.value, TenantIn("receiver_tenant_id")) for s in State if s is not State.DRAFT])


class Referral(TenantOwned, IdMixin, PublicIdMixin, db.Model):
    __tablename__ = "referrals"
    __visibility__ = Visibility(
        read=SENT_TO_RECEIVER, insert=(Owner(),), update=SENT_TO_RECEIVER, delete=(),
        participant_columns=("state", "answered_at", "closed_at", "decline_reason", "answer_note", "outcome_note",
                             "handled_by_user_id", "updated_at", "version"),
        # The receiver's moves: those of referrals.states.TRANSITIONS for Side.RECEIVER (tested equal).
        transitions=Transitions("state", participant=RECEIVER_MOVES))
    __table_args__ = (
        UniqueConstraint("tenant_id", "public_id"),
        # Each box (outbox: tenant_id, inbox: receiver_tenant_id) in its list's order, whole and by
        # state; the other party is included so the per-state counts are answered from the index.
        Index("ix_referrals_tenant_id_due", "tenant_id", "response_due_on", "id"),
        Index("ix_referrals_receiver_tenant_id_due", "receiver_tenant_id", "response_due_on", "id"),
        Index("ix_referrals_tenant_id_state_due", "tenant_id", "state", "response_due_on", "id",
              postgresql_include=["receiver_tenant_id"]),
        Index("ix_referrals_receiver_tenant_id_state_due", "receiver_tenant_id", "state", "response_due_on", "id",
              postgresql_include=["tenant_id"]),
        Index("ix_referrals_client_id", "client_id"),
        Index("ix_referrals_case_id", "case_id"),
        # A declined referral's page looks for its re-sent successor; few referrals are re-sent.
        Index("ix_referrals_rerouted_from_id", "rerouted_from_id", postgresql_where=text("rerouted_from_id IS NOT NULL"),
              sqlite_where=text("rerouted_from_id IS NOT NULL")),
    )

    receiver_tenant_id: Mapped[int] = mapped_column(BigId, ForeignKey("tenants.id"))
    client_id: Mapped[int] = mapped_column(BigId, ForeignKey("clients.id"))
    case_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("cases.id"))
    resource_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("resources.id"))
    rerouted_from_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("referrals.id"))

    requested_service: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    urgency: Mapped[Urgency] = mapped_column(enum_column(Urgency), default=Urgency.ROUTINE)
    response_due_on: Mapped[date] = mapped_column(Date)

    state: Mapped[State] = mapped_column(enum_column(State), default=State.DRAFT)
    decline_reason: Mapped[DeclineReason | None] = mapped_column(enum_column(DeclineReason, 30))
    answer_note: Mapped[str | None] = mapped_column(Text)  # decline / waitlist explanation
    outcome_note: Mapped[str | None] = mapped_column(Text)
    withdraw_reason: Mapped[str | None] = mapped_column(Text)

    # What the receiver may see of the client: chosen fields, frozen when sent.
    shared_fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    shared_client: Mapped[dict | None] = mapped_column(JSON)
    consent_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("consents.id"))
    consent_expires_on: Mapped[date | None] = mapped_column(Date)
    client_data_withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    created_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    handled_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # Optimistic lock: of two people answering at once, the second gets a clean refusal.
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    tenant: Mapped["Tenant"] = relationship(foreign_keys="Referral.tenant_id")  # noqa: F821
    receiver: Mapped["Tenant"] = relationship(foreign_keys=[receiver_tenant_id])  # noqa: F821
    resource: Mapped["Resource | None"] = relationship()  # noqa: F821
    created_by: Mapped["User | None"] = relationship(foreign_keys=[created_by_user_id])  # noqa: F821

    @property
    def state_label(self) -> str:
        return str(STATE_LABELS[self.state])

    @property
    def urgency_label(self) -> str:
        return str(URGENCY_LABELS[self.urgency])

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


# The receiver reaches a referral's rows once the referral itself is sent (files attached to a
# draft stay the sender's until then).
RECEIVER_OF_SENT = MemberOf("referrals", "referral_id", "id", member_column="receiver_tenant_id",
                            status_column="state", statuses=tuple(s.value for s in State if s is not State.DRAFT),
                            ids_first=False)


class _ReferralPart(TenantOwned, IdMixin):
    """Rows of a referral both sides read and add to (owned by the referral's sender)."""

    __abstract__ = True
    __visibility__ = Visibility(read=(Owner(), RECEIVER_OF_SENT), insert=(Owner(), RECEIVER_OF_SENT),
                                update=(), delete=(), writer_columns=("actor_tenant_id",))

    referral_id: Mapped[int] = mapped_column(BigId, ForeignKey("referrals.id"))
    receiver_tenant_id: Mapped[int] = mapped_column(BigId, ForeignKey("tenants.id"))
    actor_tenant_id: Mapped[int] = mapped_column(BigId, ForeignKey("tenants.id"))
    actor_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReferralEvent(_ReferralPart, db.Model):
    """One transition: who (user and tenant), when, from which state to which, and why."""

    __tablename__ = "referral_events"
    __table_args__ = (Index("ix_referral_events_referral_id_at", "referral_id", "at"),)

    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[State | None] = mapped_column(enum_column(State))
    to_state: Mapped[State] = mapped_column(enum_column(State))
    note: Mapped[str | None] = mapped_column(Text)

    actor_tenant: Mapped["Tenant"] = relationship(foreign_keys="ReferralEvent.actor_tenant_id")  # noqa: F821
    actor: Mapped["User | None"] = relationship(foreign_keys="ReferralEvent.actor_user_id")  # noqa: F821


class ReferralMessage(_ReferralPart, db.Model):
    __tablename__ = "referral_messages"
    __table_args__ = (Index("ix_referral_messages_referral_id_at", "referral_id", "at"),)

    body: Mapped[str] = mapped_column(Text)

    actor_tenant: Mapped["Tenant"] = relationship(foreign_keys="ReferralMessage.actor_tenant_id")  # noqa: F821
    actor: Mapped["User | None"] = relationship(foreign_keys="ReferralMessage.actor_user_id")  # noqa: F821


class ReferralAttachment(_ReferralPart, PublicIdMixin, db.Model):
    __tablename__ = "referral_attachments"
    __table_args__ = (
        UniqueConstraint("tenant_id", "public_id"),
        Index("ix_referral_attachments_referral_id", "referral_id"),
    )

    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = deferred(mapped_column(LargeBinary))

    actor_tenant: Mapped["Tenant"] = relationship(foreign_keys="ReferralAttachment.actor_tenant_id")  # noqa: F821
