"""Integrated case management (통합사례관리): cases, the case team, needs assessments, service
plans, notes, case conferences and the timeline.

Every row carries the ``tenant_id`` of the case's lead tenant (the aggregate's owner), also when a
collaborator wrote it; the collaborator's own tenant is a separate column.
"""
from __future__ import annotations

import enum
from dataclasses import replace
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.db import enum_column, BigId, IdMixin, PublicIdMixin, UTCDateTime, db, utcnow
from ..tenancy.owned import TenantOwned
from ..tenancy.policy import AllOf, AnyOf, MemberOf, Owner, TenantIn, Transitions, Visibility, When

# -- reference data (global) ---------------------------------------------------------------------


class CaseType(db.Model):
    __tablename__ = "case_types"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    sector: Mapped[str] = mapped_column(String(10))  # "public" | "private"
    sort_order: Mapped[int] = mapped_column(Integer)


class NeedDomain(db.Model):
    __tablename__ = "need_domains"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    sort_order: Mapped[int] = mapped_column(Integer)
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)  # health: needs its own consent


# -- who sees what -------------------------------------------------------------------------------

# The lead tenant, and tenants on the case team (invited ones see the case header to decide).
CASE_TEAM = MemberOf("case_members", parent_column="case_id", membership_parent_column="case_id")
CASE_TEAM_OR_INVITED = MemberOf(
    "case_members", parent_column="id", membership_parent_column="case_id", statuses=("invited", "accepted")
)
TEAM_RECORD = Visibility(read=(Owner(), CASE_TEAM), insert=(Owner(), CASE_TEAM), update=(Owner(), CASE_TEAM))
# Notes and timeline events: `team` ones to the whole team, `internal` ones to the author tenant
# only. Only the lead or a team member writes them, always as itself.
AUTHORED_RECORD = Visibility(
    read=(When("visibility", "team", Owner()), When("visibility", "team", CASE_TEAM), TenantIn("author_tenant_id")),
    insert=(AllOf((TenantIn("author_tenant_id"), AnyOf((Owner(), CASE_TEAM)))),),
    update=(TenantIn("author_tenant_id"),),
    delete=(),
)


class CaseStatus(enum.StrEnum):
    INTAKE = "intake"  # 초기상담·접수
    ASSESSMENT = "assessment"  # 욕구 및 위기도 조사
    PLANNING = "planning"  # 사례회의·서비스 제공계획 수립
    IN_SERVICE = "in_service"  # 서비스 제공
    MONITORING = "monitoring"  # 점검·사후관리
    CLOSED = "closed"


CASE_STATUS_LABELS = {
    CaseStatus.INTAKE: _l("접수"), CaseStatus.ASSESSMENT: _l("욕구·위기도 조사"), CaseStatus.PLANNING: _l("계획 수립"),
    CaseStatus.IN_SERVICE: _l("서비스 제공"), CaseStatus.MONITORING: _l("점검·모니터링"), CaseStatus.CLOSED: _l("종결"),
}


class RiskLevel(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRISIS = "crisis"


RISK_LABELS = {RiskLevel.LOW: _l("낮음"), RiskLevel.MEDIUM: _l("보통"), RiskLevel.HIGH: _l("높음"), RiskLevel.CRISIS: _l("위기")}


class Case(TenantOwned, IdMixin, PublicIdMixin, db.Model):
    __tablename__ = "cases"
    __visibility__ = Visibility(read=(Owner(), CASE_TEAM_OR_INVITED))
    __table_args__ = (
        UniqueConstraint("tenant_id", "public_id"),
        Index("ix_cases_tenant_id_status_opened", "tenant_id", "status", "opened_on", "id"),
        # The lists' order (newest first) for the whole tenant and for one lead worker ("내 사례").
        Index("ix_cases_tenant_id_opened", "tenant_id", "opened_on", "id"),
        Index("ix_cases_tenant_id_lead_opened", "tenant_id", "lead_worker_user_id", "opened_on", "id"),
        # The list's 행정동 options, answered from the index (the id is what the read rule asks about).
        Index("ix_cases_tenant_id_dong", "tenant_id", "dong_code", postgresql_include=["id"]),
        Index("ix_cases_client_id", "client_id"),
    )

    client_id: Mapped[int] = mapped_column(BigId, ForeignKey("clients.id"))
    case_type_code: Mapped[str] = mapped_column(ForeignKey("case_types.code"))
    lead_worker_user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    status: Mapped[CaseStatus] = mapped_column(enum_column(CaseStatus, 20), default=CaseStatus.INTAKE)
    risk_level: Mapped[RiskLevel] = mapped_column(enum_column(RiskLevel, 20), default=RiskLevel.MEDIUM)
    dong_code: Mapped[str | None] = mapped_column(String(10))
    received_on: Mapped[date] = mapped_column(Date)  # 접수일: the procedure's deadlines count from it
    opened_on: Mapped[date] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    closure_reason: Mapped[str | None] = mapped_column(String(50))
    closure_evaluation: Mapped[str | None] = mapped_column(Text)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    client: Mapped["Client"] = relationship()  # noqa: F821
    case_type: Mapped[CaseType] = relationship()
    lead_worker: Mapped["User"] = relationship()  # noqa: F821
    tenant: Mapped["Tenant"] = relationship(foreign_keys="Case.tenant_id")  # noqa: F821
    members: Mapped[list[CaseMember]] = relationship(back_populates="case", order_by="CaseMember.invited_at")

    @property
    def status_label(self) -> str:
        return str(CASE_STATUS_LABELS[self.status])

    @property
    def risk_label(self) -> str:
        return str(RISK_LABELS[self.risk_level])


class MemberStatus(enum.StrEnum):
    INVITED = "invited"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    LEFT = "left"
    REMOVED = "removed"


MEMBER_STATUS_LABELS = {
    MemberStatus.INVITED: _l("초대됨"), MemberStatus.ACCEPTED: _l("참여 중"), MemberStatus.DECLINED: _l("거절"),
    MemberStatus.LEFT: _l("탈퇴"), MemberStatus.REMOVED: _l("제외됨"),
}


class CaseMember(TenantOwned, IdMixin, PublicIdMixin, db.Model):
    """A collaborating tenant on a case team. The invited tenant sees and answers its row."""

    __tablename__ = "case_members"
    __visibility__ = Visibility(
        read=(Owner(), TenantIn("member_tenant_id")), update=(Owner(), TenantIn("member_tenant_id")),
        grants_on=("case_id",), grantee_column="member_tenant_id",
        participant_columns=("status", "responded_at", "response_note", "worker_user_id", "ended_at"),
        transitions=Transitions("status", participant=(("invited", "accepted"), ("invited", "declined"),
                                                       ("accepted", "left"))),
    )
    __table_args__ = (
        UniqueConstraint("tenant_id", "public_id"),
        Index("ix_case_members_case_id_member", "case_id", "member_tenant_id", "status"),
        Index("ix_case_members_member_tenant_id", "member_tenant_id", "status"),
    )

    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("cases.id"))
    member_tenant_id: Mapped[int] = mapped_column(BigId, ForeignKey("tenants.id"))
    worker_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    invited_worker_name: Mapped[str | None] = mapped_column(String(100))
    consent_id: Mapped[int] = mapped_column(BigId, ForeignKey("consents.id"))
    status: Mapped[MemberStatus] = mapped_column(enum_column(MemberStatus, 20))
    message: Mapped[str | None] = mapped_column(Text)
    response_note: Mapped[str | None] = mapped_column(Text)
    invited_by_user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    case: Mapped[Case] = relationship(back_populates="members")
    member_tenant: Mapped["Tenant"] = relationship(foreign_keys=[member_tenant_id])  # noqa: F821
    worker: Mapped["User | None"] = relationship(foreign_keys=[worker_user_id])  # noqa: F821

    @property
    def status_label(self) -> str:
        return str(MEMBER_STATUS_LABELS[self.status])


class Assessment(TenantOwned, IdMixin, PublicIdMixin, db.Model):
    """One version of the needs assessment (욕구 및 위기도 조사); reassessments add versions."""

    __tablename__ = "assessments"
    __visibility__ = replace(TEAM_RECORD, participant_columns=("assessed_on", "summary"),
                             writer_columns=("author_tenant_id",))
    __table_args__ = (UniqueConstraint("tenant_id", "case_id", "version"), UniqueConstraint("tenant_id", "public_id"))

    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("cases.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    assessed_on: Mapped[date] = mapped_column(Date)
    assessed_by_user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    author_tenant_id: Mapped[int] = mapped_column(BigId, ForeignKey("tenants.id"))
    summary: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    items: Mapped[list[AssessmentItem]] = relationship(back_populates="assessment", order_by="AssessmentItem.id")
    assessed_by: Mapped["User"] = relationship()  # noqa: F821


NEED_LEVEL_LABELS = {0: _l("욕구 없음"), 1: _l("낮음"), 2: _l("보통"), 3: _l("높음"), 4: _l("위기")}


class AssessmentItem(TenantOwned, IdMixin, db.Model):
    __tablename__ = "assessment_items"
    __visibility__ = replace(TEAM_RECORD, participant_columns=("level", "notes"))
    __table_args__ = (UniqueConstraint("tenant_id", "assessment_id", "domain_code"),)

    # Indexed on its own: loading an assessment's items filters by assessment_id alone (the unique
    # key leads with tenant_id, which the visibility OR keeps the planner from using).
    assessment_id: Mapped[int] = mapped_column(BigId, ForeignKey("assessments.id"), index=True)
    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("cases.id"), index=True)
    domain_code: Mapped[str] = mapped_column(ForeignKey("need_domains.code"))
    level: Mapped[int] = mapped_column(Integer)  # 0 none … 4 crisis
    notes: Mapped[str | None] = mapped_column(Text)

    assessment: Mapped[Assessment] = relationship(back_populates="items")
    domain: Mapped[NeedDomain] = relationship()


class GoalStatus(enum.StrEnum):
    ACTIVE = "active"
    ACHIEVED = "achieved"
    DROPPED = "dropped"


class PlanGoal(TenantOwned, IdMixin, PublicIdMixin, db.Model):
    """A goal of the service plan (서비스 제공계획), per need domain."""

    __tablename__ = "plan_goals"
    __visibility__ = replace(TEAM_RECORD, participant_columns=("goal", "status"))
    __table_args__ = (UniqueConstraint("tenant_id", "public_id"),)

    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("cases.id"), index=True)
    domain_code: Mapped[str] = mapped_column(ForeignKey("need_domains.code"))
    goal: Mapped[str] = mapped_column(Text)
    status: Mapped[GoalStatus] = mapped_column(enum_column(GoalStatus, 20), default=GoalStatus.ACTIVE)
    created_by_user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    domain: Mapped[NeedDomain] = relationship()
    services: Mapped[list[PlannedService]] = relationship(back_populates="goal", order_by="PlannedService.due_on")


class ServiceStatus(enum.StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


SERVICE_STATUS_LABELS = {
    ServiceStatus.PLANNED: _l("예정"), ServiceStatus.IN_PROGRESS: _l("제공 중"),
    ServiceStatus.DONE: _l("완료"), ServiceStatus.CANCELLED: _l("취소"),
}


class PlannedService(TenantOwned, IdMixin, PublicIdMixin, db.Model):
    __tablename__ = "planned_services"
    __visibility__ = replace(TEAM_RECORD, participant_columns=(
        "description", "provider_tenant_id", "provider_name", "due_on", "status"))
    __table_args__ = (UniqueConstraint("tenant_id", "public_id"),)

    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("cases.id"), index=True)
    goal_id: Mapped[int] = mapped_column(BigId, ForeignKey("plan_goals.id"))
    description: Mapped[str] = mapped_column(Text)
    provider_tenant_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("tenants.id"))
    provider_name: Mapped[str | None] = mapped_column(String(200))
    due_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[ServiceStatus] = mapped_column(
        enum_column(ServiceStatus, 20), default=ServiceStatus.PLANNED
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    goal: Mapped[PlanGoal] = relationship(back_populates="services")
    provider_tenant: Mapped["Tenant | None"] = relationship(foreign_keys=[provider_tenant_id])  # noqa: F821


class NoteVisibility(enum.StrEnum):
    INTERNAL = "internal"  # the author's tenant only
    TEAM = "team"  # the whole case team


class CaseNote(TenantOwned, IdMixin, PublicIdMixin, db.Model):
    __tablename__ = "case_notes"
    __visibility__ = replace(AUTHORED_RECORD, participant_columns=("body", "visibility"))
    __table_args__ = (UniqueConstraint("tenant_id", "public_id"), Index("ix_case_notes_case_id_created", "case_id", "created_at"))

    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("cases.id"))
    author_tenant_id: Mapped[int] = mapped_column(BigId, ForeignKey("tenants.id"))
    author_user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    visibility: Mapped[NoteVisibility] = mapped_column(enum_column(NoteVisibility, 20))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    author: Mapped["User"] = relationship()  # noqa: F821
    author_tenant: Mapped["Tenant"] = relationship(foreign_keys=[author_tenant_id])  # noqa: F821


class Conference(TenantOwned, IdMixin, PublicIdMixin, db.Model):
    """사례회의: attendees from several tenants, agenda, decisions, follow-up tasks."""

    __tablename__ = "conferences"
    __visibility__ = replace(TEAM_RECORD, participant_columns=("held_on", "attendees", "agenda", "decisions"))
    __table_args__ = (UniqueConstraint("tenant_id", "public_id"),)

    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("cases.id"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    attendees: Mapped[list[dict]] = mapped_column(JSON, default=list)  # [{"name", "tenant"}]
    agenda: Mapped[str] = mapped_column(Text)
    decisions: Mapped[str | None] = mapped_column(Text)
    created_by_user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    tasks: Mapped[list[ConferenceTask]] = relationship(back_populates="conference", order_by="ConferenceTask.id")


class ConferenceTask(TenantOwned, IdMixin, PublicIdMixin, db.Model):
    __tablename__ = "conference_tasks"
    __visibility__ = replace(TEAM_RECORD, participant_columns=(
        "description", "assignee_tenant_id", "due_on", "done_at"))
    __table_args__ = (UniqueConstraint("tenant_id", "public_id"),)

    conference_id: Mapped[int] = mapped_column(BigId, ForeignKey("conferences.id"))
    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("cases.id"), index=True)
    description: Mapped[str] = mapped_column(Text)
    assignee_tenant_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("tenants.id"))
    due_on: Mapped[date | None] = mapped_column(Date)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    conference: Mapped[Conference] = relationship(back_populates="tasks")
    assignee_tenant: Mapped["Tenant | None"] = relationship(foreign_keys=[assignee_tenant_id])  # noqa: F821


class CaseEvent(TenantOwned, IdMixin, db.Model):
    """The timeline: one row per thing that happened on the case, newest first on screen."""

    __tablename__ = "case_events"
    __visibility__ = replace(AUTHORED_RECORD, participant_columns=("summary",))
    __table_args__ = (Index("ix_case_events_case_id_at", "case_id", "at"),)

    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("cases.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(String(300))
    author_tenant_id: Mapped[int] = mapped_column(BigId, ForeignKey("tenants.id"))
    actor_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    visibility: Mapped[NoteVisibility] = mapped_column(
        enum_column(NoteVisibility, 20), default=NoteVisibility.TEAM
    )

    actor: Mapped["User | None"] = relationship()  # noqa: F821
    author_tenant: Mapped["Tenant"] = relationship(foreign_keys=[author_tenant_id])  # noqa: F821
