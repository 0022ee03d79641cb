"""Facility oversight (기관 관리감독): facilities, their status reports, checklist templates,
inspections (지도점검) with per-item results, findings and corrective actions, administrative
sanctions (행정처분) and service evaluations (사회서비스평가).

Every row belongs to the **supervising municipality** (``tenant_id``), which writes it. The
facility's own tenant, when the facility is on the platform (``Facility.facility_tenant_id``),
reads its facility's records through the facility row (``FACILITY_TENANT``), answers corrective
actions and reports its status; an unannounced special inspection stays hidden from it until the
inspectors start it. The province (광역) reads everything its municipalities keep
(``ProvinceOfOwner``). Nobody else sees any of it.

Checklist templates are the municipality's own (not shared): an inspection copies the template's
items when it starts, so later template edits never change a past inspection. Sanctions are
append-only (``oversight.guard`` and a PostgreSQL trigger, migration 0010).
"""
from __future__ import annotations

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON, BigInteger, Boolean, Date, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from ..core.db import BigId, IdMixin, PublicIdMixin, UTCDateTime, db, enum_column, utcnow
from ..tenancy.owned import TenantOwned
from ..tenancy.policy import Owner, ParentTenant, ProvinceOfOwner, TenantIn, Transitions, Visibility, When

# The facility's own tenant, through the facility row the record belongs to.
FACILITY_TENANT = ParentTenant("oversight_facilities", "facility_id", "facility_tenant_id")
# What the facility writes (status reports, answers' events and evidence) goes into its supervising
# municipality's records: the row's owner is the facility row's owner.
FACILITY_TENANT_WRITES = ParentTenant("oversight_facilities", "facility_id", "facility_tenant_id", same_owner=True)
PROVINCE = ProvinceOfOwner()
READERS = (Owner(), PROVINCE, FACILITY_TENANT)


class FacilityType(enum.StrEnum):
    ELDERLY = "elderly"
    DISABLED = "disabled"
    CHILD = "child"
    HOMELESS = "homeless"
    MENTAL_HEALTH = "mental_health"
    COMMUNITY_CENTRE = "community_centre"
    WOMEN_FAMILY = "women_family"


FACILITY_TYPE_LABELS = {
    FacilityType.ELDERLY: _l("노인복지시설"), FacilityType.DISABLED: _l("장애인복지시설"),
    FacilityType.CHILD: _l("아동복지시설"), FacilityType.HOMELESS: _l("노숙인시설"),
    FacilityType.MENTAL_HEALTH: _l("정신건강증진시설"), FacilityType.COMMUNITY_CENTRE: _l("지역 사회복지관"),
    FacilityType.WOMEN_FAMILY: _l("여성·가족복지시설"),
}


class OperatorKind(enum.StrEnum):
    CORPORATION = "corporation"
    INDIVIDUAL = "individual"


OPERATOR_KIND_LABELS = {OperatorKind.CORPORATION: _l("법인"), OperatorKind.INDIVIDUAL: _l("개인")}


class Area(enum.StrEnum):
    """Areas a checklist groups its items by (and findings are counted by)."""

    OPERATIONS = "operations"
    STAFFING = "staffing"
    SAFETY = "safety"
    ACCOUNTING = "accounting"
    RIGHTS = "rights"
    MEALS = "meals"
    SERVICES = "services"


AREA_LABELS = {
    Area.OPERATIONS: _l("운영 관리"), Area.STAFFING: _l("인력"), Area.SAFETY: _l("시설안전"),
    Area.ACCOUNTING: _l("회계"), Area.RIGHTS: _l("인권"), Area.MEALS: _l("급식·위생"),
    Area.SERVICES: _l("서비스 제공"),
}


class Facility(TenantOwned, IdMixin, PublicIdMixin, db.Model):
    """A social welfare facility (시설) the owning municipality supervises."""

    __tablename__ = "oversight_facilities"
    __visibility__ = Visibility(read=(Owner(), TenantIn("facility_tenant_id"), PROVINCE), delete=())
    __table_args__ = (
        UniqueConstraint("tenant_id", "public_id"),
        UniqueConstraint("tenant_id", "licence_number"),
        Index("ix_oversight_facilities_tenant_id_facility_type", "tenant_id", "facility_type"),
        Index("ix_oversight_facilities_facility_tenant_id", "facility_tenant_id"),
    )

    # The facility's own tenant when it is on the platform.
    facility_tenant_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(String(200))
    facility_type: Mapped[FacilityType] = mapped_column(enum_column(FacilityType, 30))
    operator_kind: Mapped[OperatorKind] = mapped_column(enum_column(OperatorKind))
    operator_name: Mapped[str] = mapped_column(String(200))
    licence_number: Mapped[str] = mapped_column(String(50))  # 신고·허가 번호
    licence_date: Mapped[date] = mapped_column(Date)
    capacity: Mapped[int] = mapped_column(Integer)  # 정원
    address: Mapped[str] = mapped_column(String(300))
    dong_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))
    phone: Mapped[str | None] = mapped_column(String(30))
    closed_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    tenant: Mapped["Tenant"] = relationship(foreign_keys="Facility.tenant_id")  # noqa: F821
    facility_tenant: Mapped["Tenant | None"] = relationship(foreign_keys=[facility_tenant_id])  # noqa: F821
    dong: Mapped["Region | None"] = relationship()  # noqa: F821

    @property
    def type_label(self) -> str:
        return str(FACILITY_TYPE_LABELS[self.facility_type])

    @property
    def operator_kind_label(self) -> str:
        return str(OPERATOR_KIND_LABELS[self.operator_kind])


class _FacilityPart(TenantOwned, IdMixin):
    """A record about one facility: the supervising municipality writes it, its province and the
    facility's own tenant read it."""

    __abstract__ = True
    __visibility__ = Visibility(read=READERS, delete=())

    facility_id: Mapped[int] = mapped_column(BigId, ForeignKey("oversight_facilities.id"))


class FacilityStatus(_FacilityPart, db.Model):
    """현황정보: what the facility (or the municipality for it) reports; every report is a new row,
    the newest is current."""

    __tablename__ = "oversight_facility_statuses"
    __visibility__ = Visibility(read=READERS, insert=(Owner(), FACILITY_TENANT_WRITES), update=(), delete=(),
                                writer_columns=("reporter_tenant_id",))
    __table_args__ = (Index("ix_oversight_facility_statuses_tenant_id_facility_id", "tenant_id", "facility_id"),)

    residents: Mapped[int] = mapped_column(Integer)  # 현원
    staff_count: Mapped[int] = mapped_column(Integer)
    contact_name: Mapped[str | None] = mapped_column(String(100))
    contact_phone: Mapped[str | None] = mapped_column(String(30))
    contact_email: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    reporter_tenant_id: Mapped[int] = mapped_column(BigId, ForeignKey("tenants.id"))
    reported_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    reporter_tenant: Mapped["Tenant"] = relationship(foreign_keys=[reporter_tenant_id])  # noqa: F821
    reported_by: Mapped["User | None"] = relationship(foreign_keys=[reported_by_user_id])  # noqa: F821


# -- checklist templates (the municipality's own) --------------------------------------------------------

class ChecklistTemplate(TenantOwned, IdMixin, PublicIdMixin, db.Model):
    __tablename__ = "oversight_checklist_templates"
    __table_args__ = (UniqueConstraint("tenant_id", "public_id"),
                      Index("ix_oversight_checklist_templates_tenant_id_facility_type", "tenant_id", "facility_type"))

    name: Mapped[str] = mapped_column(String(200))
    facility_type: Mapped[FacilityType] = mapped_column(enum_column(FacilityType, 30))
    # Where the copy came from: a platform default (``checklists.DEFAULTS``) or another template.
    source_key: Mapped[str | None] = mapped_column(String(50))
    copied_from_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("oversight_checklist_templates.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    items: Mapped[list["ChecklistTemplateItem"]] = relationship(
        order_by="ChecklistTemplateItem.position", cascade="all, delete-orphan")

    @property
    def type_label(self) -> str:
        return str(FACILITY_TYPE_LABELS[self.facility_type])


class ChecklistTemplateItem(TenantOwned, IdMixin, db.Model):
    __tablename__ = "oversight_checklist_template_items"
    __table_args__ = (Index("ix_oversight_checklist_template_items_tenant_id_template_id", "tenant_id", "template_id"),)

    template_id: Mapped[int] = mapped_column(BigId, ForeignKey("oversight_checklist_templates.id"))
    area: Mapped[Area] = mapped_column(enum_column(Area))
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(500))
    guidance: Mapped[str | None] = mapped_column(Text)  # the standard and its legal basis


# -- inspections (지도점검) ---------------------------------------------------------------------------------

class InspectionKind(enum.StrEnum):
    REGULAR = "regular"
    SPECIAL = "special"
    FOLLOW_UP = "follow_up"


INSPECTION_KIND_LABELS = {InspectionKind.REGULAR: _l("정기 점검"), InspectionKind.SPECIAL: _l("특별 점검"),
                          InspectionKind.FOLLOW_UP: _l("후속 점검")}


class InspectionStatus(enum.StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


INSPECTION_STATUS_LABELS = {InspectionStatus.PLANNED: _l("계획"), InspectionStatus.IN_PROGRESS: _l("실시"),
                            InspectionStatus.COMPLETED: _l("완료"), InspectionStatus.CANCELLED: _l("취소")}

# A special inspection is often unannounced: the facility sees it once the inspectors start it.
DISCLOSED_TO_FACILITY = (
    When("kind", InspectionKind.REGULAR.value, FACILITY_TENANT),
    When("kind", InspectionKind.FOLLOW_UP.value, FACILITY_TENANT),
    When("status", InspectionStatus.IN_PROGRESS.value, FACILITY_TENANT),
    When("status", InspectionStatus.COMPLETED.value, FACILITY_TENANT),
)


class Inspection(_FacilityPart, PublicIdMixin, db.Model):
    __tablename__ = "oversight_inspections"
    __visibility__ = Visibility(read=(Owner(), PROVINCE, *DISCLOSED_TO_FACILITY), delete=())
    __table_args__ = (
        UniqueConstraint("tenant_id", "public_id"),
        Index("ix_oversight_inspections_tenant_id_facility_id", "tenant_id", "facility_id"),
        Index("ix_oversight_inspections_tenant_id_status_planned_on", "tenant_id", "status", "planned_on"),
        # The read policy's arm for the inspected facility (see ix_oversight_corrective_actions_facility_id).
        Index("ix_oversight_inspections_facility_id", "facility_id"),
    )

    kind: Mapped[InspectionKind] = mapped_column(enum_column(InspectionKind))
    status: Mapped[InspectionStatus] = mapped_column(enum_column(InspectionStatus), default=InspectionStatus.PLANNED)
    planned_on: Mapped[date] = mapped_column(Date)
    conducted_on: Mapped[date | None] = mapped_column(Date)
    template_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("oversight_checklist_templates.id"))
    checklist_name: Mapped[str | None] = mapped_column(String(200))  # the template's name when copied
    inspector_user_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    follow_up_of_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("oversight_inspections.id"))
    # A follow-up confirms these findings (their ids); each becomes a checklist item at the start.
    source_finding_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    summary: Mapped[str | None] = mapped_column(Text)  # 총평
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    created_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    facility: Mapped[Facility] = relationship()

    @property
    def kind_label(self) -> str:
        return str(INSPECTION_KIND_LABELS[self.kind])

    @property
    def status_label(self) -> str:
        return str(INSPECTION_STATUS_LABELS[self.status])


class ItemResult(enum.StrEnum):
    COMPLIANT = "compliant"
    NON_COMPLIANT = "non_compliant"
    NOT_APPLICABLE = "not_applicable"


ITEM_RESULT_LABELS = {ItemResult.COMPLIANT: _l("적합"), ItemResult.NON_COMPLIANT: _l("부적합"),
                      ItemResult.NOT_APPLICABLE: _l("해당없음")}


class InspectionItem(_FacilityPart, db.Model):
    """A checklist item copied into the inspection when it started, with its result."""

    __tablename__ = "oversight_inspection_items"
    __table_args__ = (Index("ix_oversight_inspection_items_tenant_id_inspection_id", "tenant_id", "inspection_id"),)

    inspection_id: Mapped[int] = mapped_column(BigId, ForeignKey("oversight_inspections.id"))
    area: Mapped[Area] = mapped_column(enum_column(Area))
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(500))
    guidance: Mapped[str | None] = mapped_column(Text)
    source_finding_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("oversight_findings.id"))
    result: Mapped[ItemResult | None] = mapped_column(enum_column(ItemResult))
    note: Mapped[str | None] = mapped_column(Text)

    @property
    def area_label(self) -> str:
        return str(AREA_LABELS[self.area])

    @property
    def result_label(self) -> str:
        return str(ITEM_RESULT_LABELS[self.result]) if self.result else ""


class Finding(_FacilityPart, PublicIdMixin, db.Model):
    """지적사항: what the inspectors found wrong, from a checklist item or on its own."""

    __tablename__ = "oversight_findings"
    __table_args__ = (
        UniqueConstraint("tenant_id", "public_id"),
        Index("ix_oversight_findings_tenant_id_inspection_id", "tenant_id", "inspection_id"),
        Index("ix_oversight_findings_tenant_id_facility_id", "tenant_id", "facility_id"),
    )

    inspection_id: Mapped[int] = mapped_column(BigId, ForeignKey("oversight_inspections.id"))
    item_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("oversight_inspection_items.id",
                                                                  use_alter=True))
    area: Mapped[Area] = mapped_column(enum_column(Area))
    description: Mapped[str] = mapped_column(Text)
    created_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    action: Mapped["CorrectiveAction | None"] = relationship(back_populates="finding", uselist=False)

    @property
    def area_label(self) -> str:
        return str(AREA_LABELS[self.area])


class ActionState(enum.StrEnum):
    REQUESTED = "requested"
    ANSWERED = "answered"
    RETURNED = "returned"
    ACCEPTED = "accepted"
    CANCELLED = "cancelled"


ACTION_STATE_LABELS = {
    ActionState.REQUESTED: _l("조치 요구"), ActionState.ANSWERED: _l("조치 결과 검토 중"),
    ActionState.RETURNED: _l("보완 요구"), ActionState.ACCEPTED: _l("이행 확인"), ActionState.CANCELLED: _l("취소"),
}
# The facility has to act: the due date applies (overdue is computed from it).
AWAITING_FACILITY = (ActionState.REQUESTED, ActionState.RETURNED)
OPEN_ACTION_STATES = (ActionState.REQUESTED, ActionState.ANSWERED, ActionState.RETURNED)


class CorrectiveAction(_FacilityPart, PublicIdMixin, db.Model):
    """시정 요구: what the facility must do about a finding, by when, and where that stands."""

    __tablename__ = "oversight_corrective_actions"
    __visibility__ = Visibility(
        read=READERS, insert=(Owner(),), update=(Owner(), FACILITY_TENANT), delete=(),
        participant_columns=("state", "answer", "answered_at", "answered_by_user_id", "updated_at", "version"),
        transitions=Transitions("state", participant=(("requested", "answered"), ("returned", "answered"))))
    __table_args__ = (
        UniqueConstraint("tenant_id", "public_id"),
        UniqueConstraint("tenant_id", "finding_id"),
        Index("ix_oversight_corrective_actions_tenant_id_state_due_on", "tenant_id", "state", "due_on"),
        Index("ix_oversight_corrective_actions_tenant_id_facility_id", "tenant_id", "facility_id"),
        # The read policy's third arm (actions disclosed to the facility, by facility id): without an
        # index leading with it, lists filtered only by the policy read every tenant's actions.
        Index("ix_oversight_corrective_actions_facility_id", "facility_id"),
    )

    finding_id: Mapped[int] = mapped_column(BigId, ForeignKey("oversight_findings.id"))
    inspection_id: Mapped[int] = mapped_column(BigId, ForeignKey("oversight_inspections.id"))
    requirement: Mapped[str] = mapped_column(Text)
    due_on: Mapped[date] = mapped_column(Date)
    state: Mapped[ActionState] = mapped_column(enum_column(ActionState), default=ActionState.REQUESTED)
    answer: Mapped[str | None] = mapped_column(Text)  # the latest answer; every one is an event
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    return_reason: Mapped[str | None] = mapped_column(Text)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # Optimistic lock: of two answers at once, the second gets a clean refusal.
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    finding: Mapped[Finding] = relationship(back_populates="action")
    facility: Mapped[Facility] = relationship()

    @property
    def state_label(self) -> str:
        return str(ACTION_STATE_LABELS[self.state])

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_ACTION_STATES


class ActionEvent(_FacilityPart, db.Model):
    """One step of a corrective action: who (user and tenant), when, from which state to which, why."""

    __tablename__ = "oversight_action_events"
    __visibility__ = Visibility(read=READERS, insert=(Owner(), FACILITY_TENANT_WRITES), update=(), delete=(),
                                writer_columns=("actor_tenant_id",))
    __table_args__ = (Index("ix_oversight_action_events_tenant_id_action_id", "tenant_id", "action_id"),)

    action_id: Mapped[int] = mapped_column(BigId, ForeignKey("oversight_corrective_actions.id"))
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[ActionState | None] = mapped_column(enum_column(ActionState))
    to_state: Mapped[ActionState] = mapped_column(enum_column(ActionState))
    note: Mapped[str | None] = mapped_column(Text)
    due_on: Mapped[date | None] = mapped_column(Date)  # the due date from this step on
    actor_tenant_id: Mapped[int] = mapped_column(BigId, ForeignKey("tenants.id"))
    actor_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    actor_tenant: Mapped["Tenant"] = relationship(foreign_keys=[actor_tenant_id])  # noqa: F821
    actor: Mapped["User | None"] = relationship(foreign_keys=[actor_user_id])  # noqa: F821


class FileKind(enum.StrEnum):
    PHOTO = "photo"  # taken by the inspectors for a checklist item
    EVIDENCE = "evidence"  # sent by the facility with an answer


class OversightFile(_FacilityPart, PublicIdMixin, db.Model):
    __tablename__ = "oversight_files"
    __visibility__ = Visibility(read=READERS, insert=(Owner(), FACILITY_TENANT_WRITES), update=(), delete=(),
                                writer_columns=("uploader_tenant_id",))
    __table_args__ = (
        UniqueConstraint("tenant_id", "public_id"),
        Index("ix_oversight_files_tenant_id_inspection_id", "tenant_id", "inspection_id"),
        Index("ix_oversight_files_tenant_id_action_id", "tenant_id", "action_id"),
    )

    kind: Mapped[FileKind] = mapped_column(enum_column(FileKind))
    inspection_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("oversight_inspections.id"))
    item_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("oversight_inspection_items.id"))
    action_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("oversight_corrective_actions.id"))
    event_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("oversight_action_events.id"))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    uploader_tenant_id: Mapped[int] = mapped_column(BigId, ForeignKey("tenants.id"))
    uploaded_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# -- administrative sanctions (행정처분), append-only --------------------------------------------------------

class SanctionType(enum.StrEnum):
    IMPROVEMENT_ORDER = "improvement_order"
    HEAD_REPLACEMENT = "head_replacement"
    SUSPENSION = "suspension"
    CLOSURE = "closure"
    FINE = "fine"
    SUBSIDY_RECOVERY = "subsidy_recovery"


SANCTION_TYPE_LABELS = {
    SanctionType.IMPROVEMENT_ORDER: _l("개선명령"), SanctionType.HEAD_REPLACEMENT: _l("시설장 교체"),
    SanctionType.SUSPENSION: _l("사업 정지"), SanctionType.CLOSURE: _l("시설 폐쇄"), SanctionType.FINE: _l("과태료"),
    SanctionType.SUBSIDY_RECOVERY: _l("보조금 환수"),
}


class AppealStatus(enum.StrEnum):
    NONE = "none"
    OBJECTION = "objection"
    LITIGATION = "litigation"
    UPHELD = "upheld"
    MODIFIED = "modified"
    OVERTURNED = "overturned"


APPEAL_STATUS_LABELS = {
    AppealStatus.NONE: _l("해당 없음"), AppealStatus.OBJECTION: _l("이의신청 중"),
    AppealStatus.LITIGATION: _l("행정심판·소송 중"), AppealStatus.UPHELD: _l("원처분 유지"),
    AppealStatus.MODIFIED: _l("일부 변경"), AppealStatus.OVERTURNED: _l("처분 취소"),
}

# Recorded sanctions are never changed or deleted, by anyone: corrections are new rows.
APPEND_ONLY = Visibility(read=READERS, insert=(Owner(),), update=(), delete=())


class Sanction(_FacilityPart, PublicIdMixin, db.Model):
    """One entry of a facility's sanction history. A correction is a new entry naming the one it
    corrects (``corrects_id``); each entry is corrected at most once, so the history is a chain
    whose last entry is in force (unless it ``withdraws`` the sanction)."""

    __tablename__ = "oversight_sanctions"
    __visibility__ = APPEND_ONLY
    __table_args__ = (
        UniqueConstraint("tenant_id", "public_id"),
        UniqueConstraint("tenant_id", "corrects_id"),
        Index("ix_oversight_sanctions_tenant_id_facility_id", "tenant_id", "facility_id"),
    )

    sanction_type: Mapped[SanctionType] = mapped_column(enum_column(SanctionType, 30))
    legal_basis: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(Text)
    decided_on: Mapped[date] = mapped_column(Date)
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)
    amount: Mapped[int | None] = mapped_column(BigInteger)  # 원
    appeal_status: Mapped[AppealStatus] = mapped_column(enum_column(AppealStatus), default=AppealStatus.NONE)
    corrects_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("oversight_sanctions.id"))
    correction_reason: Mapped[str | None] = mapped_column(Text)
    withdraws: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    recorded_by: Mapped["User | None"] = relationship(foreign_keys=[recorded_by_user_id])  # noqa: F821

    @property
    def type_label(self) -> str:
        return str(SANCTION_TYPE_LABELS[self.sanction_type])

    @property
    def appeal_label(self) -> str:
        return str(APPEAL_STATUS_LABELS[self.appeal_status])


class SanctionFinding(_FacilityPart, db.Model):
    """A finding a sanction follows (append-only like the sanction)."""

    __tablename__ = "oversight_sanction_findings"
    __visibility__ = APPEND_ONLY
    __table_args__ = (UniqueConstraint("tenant_id", "sanction_id", "finding_id"),)

    sanction_id: Mapped[int] = mapped_column(BigId, ForeignKey("oversight_sanctions.id"))
    finding_id: Mapped[int] = mapped_column(BigId, ForeignKey("oversight_findings.id"))


APPEND_ONLY_TABLES = ("oversight_sanctions", "oversight_sanction_findings")


# -- service evaluations (사회서비스평가) ---------------------------------------------------------------------

class EvaluationCycle(TenantOwned, IdMixin, PublicIdMixin, db.Model):
    """One round of evaluation for a facility type, as the municipality records its results: the
    areas with their maximum scores (copied into each evaluation, which the facility reads)."""

    __tablename__ = "oversight_evaluation_cycles"
    __visibility__ = Visibility(read=(Owner(), PROVINCE), delete=())
    __table_args__ = (UniqueConstraint("tenant_id", "public_id"),
                      UniqueConstraint("tenant_id", "year", "facility_type"))

    year: Mapped[int] = mapped_column(Integer)
    facility_type: Mapped[FacilityType] = mapped_column(enum_column(FacilityType, 30))
    name: Mapped[str] = mapped_column(String(200))
    areas: Mapped[list[dict]] = mapped_column(JSON, default=list)  # [{code, label, max_score}]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def type_label(self) -> str:
        return str(FACILITY_TYPE_LABELS[self.facility_type])


class Evaluation(_FacilityPart, PublicIdMixin, db.Model):
    __tablename__ = "oversight_evaluations"
    __table_args__ = (
        UniqueConstraint("tenant_id", "public_id"),
        UniqueConstraint("tenant_id", "cycle_id", "facility_id"),
        Index("ix_oversight_evaluations_tenant_id_facility_id", "tenant_id", "facility_id"),
    )

    cycle_id: Mapped[int] = mapped_column(BigId, ForeignKey("oversight_evaluation_cycles.id"))
    # Copied from the cycle: the facility reads its evaluations, not the municipality's cycles.
    year: Mapped[int] = mapped_column(Integer)
    facility_type: Mapped[FacilityType] = mapped_column(enum_column(FacilityType, 30))
    scores: Mapped[list[dict]] = mapped_column(JSON, default=list)  # [{code, label, max_score, score}]
    total: Mapped[float] = mapped_column(Float)
    max_total: Mapped[float] = mapped_column(Float)
    grade: Mapped[str] = mapped_column(String(1))
    evaluated_on: Mapped[date] = mapped_column(Date)
    comment: Mapped[str | None] = mapped_column(Text)
    recorded_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    facility: Mapped[Facility] = relationship()

    @property
    def percent(self) -> float:
        """The total as a percentage of the maximum, as the grade rule reads it (``evaluations``)."""
        return round(self.total * 100 / self.max_total, 2) if self.max_total else 0.0
