"""Pilot workspaces (시범사업): a region's closed-beta rollout run by coordinators, with the field's
feedback, regional care meetings (지역케어회의) and the figures for the pilot report.

A workspace belongs to the coordinating tenant (typically the province or municipality, whose
pilot coordinators run it). Participating tenants read the workspace, its phases and planners
while they take part. Feedback belongs to the submitter's tenant and is shared with the
coordinating tenant only. A care meeting belongs to the coordinating tenant and is read by its
member tenants; follow-up actions also by the tenant they are assigned to. Pilot figures are
aggregates each tenant's own job posts to the coordinating tenant (never personal data).
"""
from __future__ import annotations

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from ..core.db import BigId, IdMixin, PublicIdMixin, UTCDateTime, db, enum_column, utcnow
from ..tenancy.owned import TenantOwned
from ..tenancy.policy import AllOf, AnyOf, Matches, MemberOf, Owner, TenantIn, Visibility

# Tenants taking part now: a participant row without a leaving date.
PARTICIPANT = MemberOf("pilot_participants", "workspace_id", "workspace_id", member_column="participant_tenant_id",
                       status_column=None, revoked_column="left_on")


class WorkspaceStatus(enum.StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"


class Phase(enum.StrEnum):
    PREPARATION = "preparation"
    PILOT = "pilot"
    EVALUATION = "evaluation"
    EXPANSION = "expansion"


PHASE_LABELS = {Phase.PREPARATION: _l("준비"), Phase.PILOT: _l("시범운영"), Phase.EVALUATION: _l("평가"),
                Phase.EXPANSION: _l("확대")}
WORKSPACE_STATUS_LABELS = {WorkspaceStatus.ACTIVE: _l("운영 중"), WorkspaceStatus.CLOSED: _l("종료")}


class Workspace(TenantOwned, IdMixin, PublicIdMixin, db.Model):
    __tablename__ = "pilot_workspaces"
    __visibility__ = Visibility(read=(Owner(), MemberOf("pilot_participants", "id", "workspace_id",
                                                        member_column="participant_tenant_id", status_column=None,
                                                        revoked_column="left_on")))
    __table_args__ = (UniqueConstraint("tenant_id", "public_id"), UniqueConstraint("code"))

    code: Mapped[str] = mapped_column(String(64))  # stable key in tenants/*.toml
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    region_codes: Mapped[list[str]] = mapped_column(JSON, default=list)  # the pilot's 읍면동 / 시군구
    status: Mapped[WorkspaceStatus] = mapped_column(enum_column(WorkspaceStatus), default=WorkspaceStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    tenant: Mapped["Tenant"] = relationship(foreign_keys="Workspace.tenant_id")  # noqa: F821


class _WorkspacePart(TenantOwned, IdMixin):
    """Rows of a workspace its participants read (owned by the coordinating tenant)."""

    __abstract__ = True
    __visibility__ = Visibility(read=(Owner(), PARTICIPANT))

    workspace_id: Mapped[int] = mapped_column(BigId, ForeignKey("pilot_workspaces.id"), index=True)


class Participant(TenantOwned, IdMixin, db.Model):
    """A tenant taking part in a workspace, from ``joined_on`` until ``left_on``."""

    __tablename__ = "pilot_participants"
    __visibility__ = Visibility(read=(Owner(), TenantIn("participant_tenant_id")),
                                grants_on=("workspace_id",), grantee_column="participant_tenant_id")
    __table_args__ = (UniqueConstraint("workspace_id", "participant_tenant_id"),
                      Index("ix_pilot_participants_participant_tenant_id", "participant_tenant_id"))

    workspace_id: Mapped[int] = mapped_column(BigId, ForeignKey("pilot_workspaces.id"))
    participant_tenant_id: Mapped[int] = mapped_column(BigId, ForeignKey("tenants.id"))
    joined_on: Mapped[date] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)

    participant: Mapped["Tenant"] = relationship(foreign_keys=[participant_tenant_id])  # noqa: F821


class PhasePeriod(_WorkspacePart, db.Model):
    __tablename__ = "pilot_phases"

    phase: Mapped[Phase] = mapped_column(enum_column(Phase))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)


class VillagePlanner(_WorkspacePart, db.Model):
    """마을복지플래너: a resident volunteer or worker attached to a dong (named; optionally a user)."""

    __tablename__ = "pilot_planners"

    name: Mapped[str] = mapped_column(String(100))
    dong_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))


class SwitchState(enum.StrEnum):
    OFF = "off"
    PILOT = "pilot"  # the workspace's participating tenants only (closed beta)
    EVERYONE = "everyone"


class FeatureSwitch(IdMixin, db.Model):
    """Whether a capability is on for a workspace's tenants only, for everyone, or off. Global:
    the switch itself holds no tenant data; who participates is read under the tenancy rules."""

    __tablename__ = "feature_switches"
    __table_args__ = (UniqueConstraint("key"),)

    key: Mapped[str] = mapped_column(String(50))
    state: Mapped[SwitchState] = mapped_column(enum_column(SwitchState), default=SwitchState.OFF)
    workspace_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("pilot_workspaces.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    changed_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))


# -- feedback from the field ---------------------------------------------------------------------

class FeedbackCategory(enum.StrEnum):
    DISCOMFORT = "discomfort"
    BUG = "bug"
    SUGGESTION = "suggestion"
    POLICY = "policy"


FEEDBACK_CATEGORY_LABELS = {FeedbackCategory.DISCOMFORT: _l("불편사항"), FeedbackCategory.BUG: _l("오류"),
                            FeedbackCategory.SUGGESTION: _l("개선 제안"), FeedbackCategory.POLICY: _l("제도 보완 필요")}


class Severity(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


SEVERITY_LABELS = {Severity.LOW: _l("낮음"), Severity.MEDIUM: _l("보통"), Severity.HIGH: _l("높음")}


class FeedbackStatus(enum.StrEnum):
    RECEIVED = "received"
    REVIEWING = "reviewing"
    PLANNED = "planned"
    DONE = "done"
    REJECTED = "rejected"


FEEDBACK_STATUS_LABELS = {FeedbackStatus.RECEIVED: lazy_pgettext("feedback status", "접수"), FeedbackStatus.REVIEWING: _l("검토 중"),
                          FeedbackStatus.PLANNED: _l("반영 예정"), FeedbackStatus.DONE: _l("반영 완료"),
                          FeedbackStatus.REJECTED: _l("반려")}

# The submitter's tenant and the coordinating tenant, nobody else.
FEEDBACK_SIDES = (Owner(), TenantIn("coordinator_tenant_id"))


class Feedback(TenantOwned, IdMixin, PublicIdMixin, db.Model):
    __tablename__ = "pilot_feedback"
    # Sent to the workspace's own coordinating tenant, never to one the submitter names.
    __visibility__ = Visibility(read=FEEDBACK_SIDES,
                                insert=(AllOf((Owner(), Matches("pilot_workspaces", "workspace_id",
                                                                "coordinator_tenant_id"))),),
                                update=(TenantIn("coordinator_tenant_id"),),
                                delete=(), participant_columns=("status", "status_changed_at", "assignee_user_id",
                                                                "tags", "merged_into_id", "version"))
    __table_args__ = (UniqueConstraint("tenant_id", "public_id"),
                      # The board: each column (status) of a workspace newest first (feedback.board_columns).
                      Index("ix_pilot_feedback_workspace_status_created", "workspace_id", "status", "created_at", "id",
                            postgresql_include=["coordinator_tenant_id", "tenant_id"]),
                      Index("ix_pilot_feedback_coordinator_tenant_id", "coordinator_tenant_id"))

    workspace_id: Mapped[int] = mapped_column(BigId, ForeignKey("pilot_workspaces.id"))
    coordinator_tenant_id: Mapped[int] = mapped_column(BigId, ForeignKey("tenants.id"))
    submitter_user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    category: Mapped[FeedbackCategory] = mapped_column(enum_column(FeedbackCategory))
    severity: Mapped[Severity] = mapped_column(enum_column(Severity), default=Severity.MEDIUM)
    description: Mapped[str] = mapped_column(Text)
    page_url: Mapped[str | None] = mapped_column(String(500))  # path only, personal data stripped
    page_title: Mapped[str | None] = mapped_column(String(200))
    capability: Mapped[str | None] = mapped_column(String(50))  # from the page's path (cases, referrals …)
    dong_code: Mapped[str | None] = mapped_column(String(10))  # the submitter tenant's region
    phase: Mapped[Phase | None] = mapped_column(enum_column(Phase))
    screenshot_type: Mapped[str | None] = mapped_column(String(50))
    screenshot: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    status: Mapped[FeedbackStatus] = mapped_column(enum_column(FeedbackStatus), default=FeedbackStatus.RECEIVED)
    assignee_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    merged_into_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("pilot_feedback.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    tenant: Mapped["Tenant"] = relationship(foreign_keys="Feedback.tenant_id")  # noqa: F821
    submitter: Mapped["User"] = relationship(foreign_keys=[submitter_user_id])  # noqa: F821
    assignee: Mapped["User | None"] = relationship(foreign_keys=[assignee_user_id])  # noqa: F821


class FeedbackComment(TenantOwned, IdMixin, db.Model):
    """A comment or a recorded change of status (``status_to``) on a feedback item; both sides."""

    __tablename__ = "pilot_feedback_comments"
    # A comment belongs with its feedback item: the item's owner and coordinator.
    __visibility__ = Visibility(read=FEEDBACK_SIDES,
                                insert=(AllOf((AnyOf(FEEDBACK_SIDES),
                                               Matches("pilot_feedback", "feedback_id", "tenant_id"),
                                               Matches("pilot_feedback", "feedback_id", "coordinator_tenant_id",
                                                       "coordinator_tenant_id"))),),
                                update=(), delete=(), writer_columns=("author_tenant_id",))
    __table_args__ = (Index("ix_pilot_feedback_comments_feedback_id", "feedback_id"),)

    feedback_id: Mapped[int] = mapped_column(BigId, ForeignKey("pilot_feedback.id"))
    coordinator_tenant_id: Mapped[int] = mapped_column(BigId, ForeignKey("tenants.id"))
    author_tenant_id: Mapped[int] = mapped_column(BigId, ForeignKey("tenants.id"))
    author_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    body: Mapped[str | None] = mapped_column(Text)
    status_to: Mapped[FeedbackStatus | None] = mapped_column(enum_column(FeedbackStatus))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    author: Mapped["User | None"] = relationship(foreign_keys=[author_user_id])  # noqa: F821
    author_tenant: Mapped["Tenant"] = relationship(foreign_keys=[author_tenant_id])  # noqa: F821


# -- regional care meetings (지역케어회의) ------------------------------------------------------------

MEETING_MEMBER = MemberOf("care_meeting_members", "meeting_id", "meeting_id", member_column="member_tenant_id",
                          status_column=None)


class CareMeeting(TenantOwned, IdMixin, PublicIdMixin, db.Model):
    __tablename__ = "care_meetings"
    __visibility__ = Visibility(read=(Owner(), MemberOf("care_meeting_members", "id", "meeting_id",
                                                        member_column="member_tenant_id", status_column=None)))
    __table_args__ = (UniqueConstraint("tenant_id", "public_id"),)

    workspace_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("pilot_workspaces.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    held_on: Mapped[date] = mapped_column(Date)
    location: Mapped[str | None] = mapped_column(String(200))
    minutes: Mapped[str | None] = mapped_column(Text)
    # Who attends, as names, for every member to read (members see only their own member row).
    roster: Mapped[list[dict]] = mapped_column(JSON, default=list, server_default="[]")
    created_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class _MeetingPart(TenantOwned, IdMixin):
    __abstract__ = True
    __visibility__ = Visibility(read=(Owner(), MEETING_MEMBER))

    meeting_id: Mapped[int] = mapped_column(BigId, ForeignKey("care_meetings.id"), index=True)


class CareMeetingMember(TenantOwned, IdMixin, db.Model):
    """A member tenant (``member_tenant_id``) or an external expert by name."""

    __tablename__ = "care_meeting_members"
    __visibility__ = Visibility(read=(Owner(), TenantIn("member_tenant_id")),
                                grants_on=("meeting_id",), grantee_column="member_tenant_id")
    __table_args__ = (Index("ix_care_meeting_members_meeting_id", "meeting_id"),
                      Index("ix_care_meeting_members_member_tenant_id", "member_tenant_id"))

    meeting_id: Mapped[int] = mapped_column(BigId, ForeignKey("care_meetings.id"))
    member_tenant_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("tenants.id"))
    external_name: Mapped[str | None] = mapped_column(String(100))
    external_affiliation: Mapped[str | None] = mapped_column(String(200))

    member_tenant: Mapped["Tenant | None"] = relationship(foreign_keys=[member_tenant_id])  # noqa: F821


class AgendaKind(enum.StrEnum):
    CASE = "case"
    POLICY = "policy"


class AgendaItem(_MeetingPart, db.Model):
    """A case (shown to each viewer only as far as the case's own rules allow) or a policy issue."""

    __tablename__ = "care_meeting_items"

    kind: Mapped[AgendaKind] = mapped_column(enum_column(AgendaKind))
    title: Mapped[str] = mapped_column(String(200))
    case_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("cases.id"))
    discussion: Mapped[str | None] = mapped_column(Text)
    decision: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)


class ActionStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    DROPPED = "dropped"


ACTION_STATUS_LABELS = {ActionStatus.OPEN: _l("진행 중"), ActionStatus.DONE: _l("완료"), ActionStatus.DROPPED: _l("취소")}


class MeetingAction(TenantOwned, IdMixin, PublicIdMixin, db.Model):
    """A follow-up action assigned to a tenant; on the assignee's task list until done."""

    __tablename__ = "care_meeting_actions"
    __visibility__ = Visibility(read=(Owner(), MEETING_MEMBER, TenantIn("assignee_tenant_id")),
                                update=(Owner(), TenantIn("assignee_tenant_id")),
                                participant_columns=("status", "status_note", "updated_at"))
    __table_args__ = (UniqueConstraint("tenant_id", "public_id"),
                      Index("ix_care_meeting_actions_meeting_id", "meeting_id"),
                      Index("ix_care_meeting_actions_assignee_tenant_id_status", "assignee_tenant_id", "status"))

    meeting_id: Mapped[int] = mapped_column(BigId, ForeignKey("care_meetings.id"))
    item_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("care_meeting_items.id"))
    assignee_tenant_id: Mapped[int] = mapped_column(BigId, ForeignKey("tenants.id"))
    description: Mapped[str] = mapped_column(Text)
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[ActionStatus] = mapped_column(enum_column(ActionStatus), default=ActionStatus.OPEN)
    status_note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    assignee: Mapped["Tenant"] = relationship(foreign_keys=[assignee_tenant_id])  # noqa: F821


# -- pilot figures ------------------------------------------------------------------------------------

class MetricFigure(TenantOwned, IdMixin, db.Model):
    """One aggregate a tenant's own job reports to a workspace's coordinating tenant: a count or a
    duration for one metric, week and dong. Owned by the coordinating tenant; the reporting tenant
    may write and read back its own figures. Never personal data."""

    __tablename__ = "pilot_metric_figures"
    __visibility__ = Visibility(read=(Owner(), TenantIn("reporter_tenant_id")),
                                insert=(TenantIn("reporter_tenant_id"),), update=(TenantIn("reporter_tenant_id"),),
                                delete=(TenantIn("reporter_tenant_id"),), participant_columns=("value", "computed_at"),
                                unread_references=("workspace_id",))
    __table_args__ = (UniqueConstraint("workspace_id", "reporter_tenant_id", "metric", "week_start", "dong_code",
                                       "dimension"),
                      Index("ix_pilot_metric_figures_workspace_id_metric", "workspace_id", "metric"))

    workspace_id: Mapped[int] = mapped_column(BigId, ForeignKey("pilot_workspaces.id"))
    reporter_tenant_id: Mapped[int] = mapped_column(BigId, ForeignKey("tenants.id"))
    metric: Mapped[str] = mapped_column(String(50))
    week_start: Mapped[date] = mapped_column(Date)
    dong_code: Mapped[str] = mapped_column(String(10), default="")
    dimension: Mapped[str] = mapped_column(String(50), default="")  # e.g. a state, a category
    in_pilot: Mapped[bool] = mapped_column(Boolean, default=True)  # the reporter participates
    value: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
