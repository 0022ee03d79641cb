"""Inspections (지도점검): planned (계획) → conducted (실시) → completed (완료), or cancelled (취소),
by the supervising municipality, through ``states.INSPECTION_TRANSITIONS``. Callers commit.

* **Planning** names the kind (정기 / 특별; 후속 only from a completed inspection's open findings),
  the date, the inspectors (members of the municipality holding the inspector role) and a
  checklist template. The facility is told of regular and follow-up inspections; a special one
  stays hidden from it until it starts (the visibility policy, ``models.DISCLOSED_TO_FACILITY``).
* **Starting** copies the template's items into the inspection (and, for a follow-up, one item per
  finding to confirm), so later template edits never reach it and nothing of an unannounced
  inspection exists before the inspectors arrive.
* While it runs the inspectors record a result per item (적합 / 부적합 / 해당없음) with notes and
  photos, and findings (지적사항), each optionally requiring a corrective action by a due date.
* **Completing** needs a result on every item; the facility is told the outcome.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import NotFound

from ..accounts.models import User
from ..core import clock
from ..core.db import db, utcnow
from ..core.rules import RuleViolation
from ..tenancy import context
from ..tenancy.models import Membership, Role
from . import files, states
from .models import (
    OPEN_ACTION_STATES, ActionEvent, ActionState, Area, ChecklistTemplate, CorrectiveAction, Facility, FileKind,
    Finding, Inspection, InspectionItem, InspectionKind, InspectionStatus, ItemResult, OversightFile,
)
from .service import link, notify_facility, part_of, require, side_of
from .states import Conflict, Side


# -- loading ------------------------------------------------------------------------------------------------

def get_inspection_or_404(public_id: str) -> Inspection:
    """An inspection the active tenant may see (its municipality, its province, the facility once
    it is disclosed to it); anyone else gets 404."""
    inspection = db.session.scalar(select(Inspection).options(selectinload(Inspection.facility))
                                   .where(Inspection.public_id == public_id).limit(1))
    if inspection is None:
        raise NotFound()
    return inspection


def get_finding_or_404(public_id: str) -> Finding:
    finding = db.session.scalar(select(Finding).options(selectinload(Finding.action))
                                .where(Finding.public_id == public_id).limit(1))
    if finding is None:
        raise NotFound()
    return finding


def get_item_or_404(inspection: Inspection, position: int) -> InspectionItem:
    item = db.session.scalar(select(InspectionItem).where(part_of(InspectionItem, inspection, "inspection_id"),
                                                          InspectionItem.position == position).limit(1))
    if item is None:
        raise NotFound()
    return item


def available_actions(inspection: Inspection) -> list[str]:
    return states.available("inspection", inspection.status, side_of(inspection))


# -- planning -----------------------------------------------------------------------------------------------

def eligible_inspectors() -> list[User]:
    """Active members of the active tenant holding the inspector role."""
    memberships = db.session.scalars(select(Membership).options(selectinload(Membership.user)).where(
        Membership.tenant_id == context.current_tenant_id(), Membership.active.is_(True)))
    users = [m.user for m in memberships if m.has_role(Role.INSPECTOR) and m.user.active]
    return sorted(users, key=lambda u: u.display_name)


def _inspectors(public_ids) -> list[int]:
    eligible = {u.public_id: u.id for u in eligible_inspectors()}
    chosen = list(dict.fromkeys(public_ids or []))
    if not chosen:
        raise RuleViolation(_l("점검할 담당자를 한 명 이상 고르세요."), field="inspectors")
    if any(public_id not in eligible for public_id in chosen):
        raise RuleViolation(_l("우리 기관의 지도점검 담당자만 고를 수 있습니다."), field="inspectors")
    return [eligible[public_id] for public_id in chosen]


def _template(public_id: str | None, facility: Facility) -> ChecklistTemplate | None:
    if not public_id:
        return None
    template = db.session.scalar(select(ChecklistTemplate).where(
        ChecklistTemplate.public_id == public_id, ChecklistTemplate.tenant_id == facility.tenant_id,
        ChecklistTemplate.active.is_(True)).limit(1))
    if template is None:
        raise RuleViolation(_l("사용 중인 우리 기관 점검표를 고르세요."), field="template")
    if template.facility_type is not facility.facility_type:
        raise RuleViolation(_l("시설 유형(%(type)s)에 맞는 점검표를 고르세요.", type=facility.type_label),
                            field="template")
    return template


def _planned_on(value) -> date:
    if value is None:
        raise RuleViolation(_l("점검 예정일을 입력하세요."), field="planned_on")
    return value


def plan(facility: Facility, values: dict, actor) -> Inspection:
    """A regular or special inspection of ``facility``: ``kind``, ``planned_on``, ``inspectors``
    (user public ids), ``template`` (a template public id, optional)."""
    require(facility, Side.INSPECTOR)
    if facility.closed_on is not None:
        raise Conflict(_l("폐지된 시설은 점검을 계획할 수 없습니다."))
    try:
        kind = InspectionKind(values.get("kind"))
    except ValueError:
        raise RuleViolation(_l("점검 종류를 고르세요."), field="kind") from None
    if kind is InspectionKind.FOLLOW_UP:
        raise RuleViolation(_l("후속 점검은 완료된 점검의 미이행 지적사항에서 계획합니다."), field="kind")
    inspection = Inspection(
        tenant_id=facility.tenant_id, facility_id=facility.id, kind=kind,
        planned_on=_planned_on(values.get("planned_on")),
        inspector_user_ids=_inspectors(values.get("inspectors")), created_by_user_id=actor.id if actor else None,
    )
    template = _template(values.get("template"), facility)
    inspection.template_id = template.id if template else None
    db.session.add(inspection)
    db.session.flush()
    _announce(inspection, facility)
    return inspection


def _announce(inspection: Inspection, facility: Facility) -> None:
    if inspection.kind is InspectionKind.SPECIAL:
        return  # unannounced: the facility learns of it when the inspectors start
    notify_facility(facility, "oversight_inspection",
                    str(_l("%(kind)s 일정이 잡혔습니다 (%(date)s, %(tenant)s)", kind=inspection.kind_label,
                           date=inspection.planned_on.isoformat(), tenant=facility.tenant.name)),
                    link("inspection", inspection.public_id))


def update_plan(inspection: Inspection, values: dict, actor) -> None:
    """Change a planned inspection's date, inspectors or template."""
    require(inspection, Side.INSPECTOR)
    if inspection.status is not InspectionStatus.PLANNED:
        raise Conflict(_l("계획 단계의 점검만 고칠 수 있습니다."))
    check_version(inspection, values)
    facility = db.session.get(Facility, inspection.facility_id)
    moved = "planned_on" in values and values["planned_on"] != inspection.planned_on
    if "planned_on" in values:
        inspection.planned_on = _planned_on(values["planned_on"])
    if "inspectors" in values:
        inspection.inspector_user_ids = _inspectors(values["inspectors"])
    if "template" in values:
        template = _template(values["template"], facility)
        inspection.template_id = template.id if template else None
    _flush(inspection)
    if moved:
        _announce(inspection, facility)


def plan_follow_up(inspection: Inspection, values: dict, actor) -> Inspection:
    """A follow-up inspection (후속 점검) of a completed inspection's open findings (all of them, or
    those named in ``values["findings"]``), with ``planned_on``, ``inspectors`` and an optional
    ``template``."""
    require(inspection, Side.INSPECTOR)
    if inspection.status is not InspectionStatus.COMPLETED:
        raise Conflict(_l("완료된 점검에서만 후속 점검을 계획할 수 있습니다."))
    facility = db.session.get(Facility, inspection.facility_id)
    candidates = [f for f in findings(inspection) if f.action is not None and f.action.is_open]
    chosen = values.get("findings")
    if chosen:
        candidates = [f for f in candidates if f.public_id in set(chosen)]
        if len(candidates) != len(set(chosen)):
            raise RuleViolation(_l("이 점검의 미이행 지적사항만 고를 수 있습니다."), field="findings")
    if not candidates:
        raise RuleViolation(_l("후속 점검할 미이행 지적사항이 없습니다."), field="findings")
    follow_up = Inspection(
        tenant_id=inspection.tenant_id, facility_id=inspection.facility_id, kind=InspectionKind.FOLLOW_UP,
        planned_on=_planned_on(values.get("planned_on")), inspector_user_ids=_inspectors(values.get("inspectors")),
        follow_up_of_id=inspection.id, source_finding_ids=[f.id for f in candidates],
        created_by_user_id=actor.id if actor else None,
    )
    template = _template(values.get("template"), facility)
    follow_up.template_id = template.id if template else None
    db.session.add(follow_up)
    db.session.flush()
    _announce(follow_up, facility)
    return follow_up


# -- conducting ---------------------------------------------------------------------------------------------

def start(inspection: Inspection, values: dict, actor) -> None:
    """실시: the day it is conducted (not in the future); the checklist is copied now."""
    states.check("inspection", inspection.status, side_of(inspection), "start")
    check_version(inspection, values)
    conducted_on = values.get("conducted_on")
    if conducted_on is None:
        raise RuleViolation(_l("점검 실시일을 입력하세요."), field="conducted_on")
    if conducted_on > clock.today():
        raise RuleViolation(_l("점검 실시일은 오늘 이후일 수 없습니다."), field="conducted_on")
    inspection.conducted_on = conducted_on
    inspection.status = InspectionStatus.IN_PROGRESS
    inspection.started_at = utcnow()
    _flush(inspection)
    _copy_checklist(inspection)


def _copy_checklist(inspection: Inspection) -> None:
    """The template's items as they are today, then one item per finding a follow-up confirms."""
    rows = []
    if inspection.template_id is not None:
        template = db.session.get(ChecklistTemplate, inspection.template_id)
        inspection.checklist_name = template.name
        rows += [(i.area, i.text, i.guidance, None) for i in template.items]
    if inspection.source_finding_ids:
        confirmed = db.session.scalars(select(Finding).where(Finding.id.in_(inspection.source_finding_ids))
                                       .order_by(Finding.id))
        rows += [(f.area, str(_l("지적사항 이행 확인: %(finding)s", finding=f.description))[:500], None, f.id)
                 for f in confirmed]
    for position, (area, text, guidance, finding_id) in enumerate(rows, 1):
        db.session.add(InspectionItem(tenant_id=inspection.tenant_id, facility_id=inspection.facility_id,
                                      inspection_id=inspection.id, area=area, position=position, text=text,
                                      guidance=guidance, source_finding_id=finding_id))
    db.session.flush()


def _require_running(inspection: Inspection) -> None:
    require(inspection, Side.INSPECTOR)
    if inspection.status is not InspectionStatus.IN_PROGRESS:
        raise Conflict(_l("실시 중인 점검에만 결과를 기록할 수 있습니다."))


def _result(value, field_name: str) -> ItemResult | None:
    if value in (None, ""):
        return None
    try:
        return ItemResult(value)
    except ValueError:
        raise RuleViolation(_l("적합, 부적합, 해당없음 가운데 고르세요."), field=field_name) from None


def record_results(inspection: Inspection, results: dict[int, dict], actor) -> None:
    """Results of several items at once ({position: {result, note}}), e.g. the whole checklist form.
    Refused as a whole when one is invalid (``field``: ``item-<position>``)."""
    _require_running(inspection)
    by_position = {i.position: i for i in items(inspection)}
    for position, values in results.items():
        item = by_position.get(position)
        if item is None:
            raise NotFound()
        item.result = _result(values.get("result"), f"item-{position}")
        item.note = (values.get("note") or "").strip() or None
    db.session.flush()


def record_item(inspection: Inspection, position: int, values: dict, actor) -> InspectionItem:
    """One item's result and note (the htmx row)."""
    record_results(inspection, {position: values}, actor)
    return get_item_or_404(inspection, position)


def add_item(inspection: Inspection, values: dict, actor) -> InspectionItem:
    """An item added on the spot (a special inspection often checks what the complaint was about)."""
    _require_running(inspection)
    try:
        area = Area(values.get("area"))
    except ValueError:
        raise RuleViolation(_l("영역을 고르세요."), field="area") from None
    text = (values.get("text") or "").strip()
    if not text:
        raise RuleViolation(_l("점검 내용을 입력하세요."), field="text")
    item = InspectionItem(tenant_id=inspection.tenant_id, facility_id=inspection.facility_id,
                          inspection_id=inspection.id, area=area, position=len(items(inspection)) + 1,
                          text=text[:500], result=_result(values.get("result"), "result"),
                          note=(values.get("note") or "").strip() or None)
    db.session.add(item)
    db.session.flush()
    return item


def add_photo(inspection: Inspection, position: int, filename: str, content: bytes, actor) -> OversightFile:
    """A photo (JPG/PNG, 5MB, 10 per item) for a checklist item of a running inspection."""
    _require_running(inspection)
    item = get_item_or_404(inspection, position)
    files.check_count(len(photos(inspection).get(item.id, [])))
    return files.add(FileKind.PHOTO, inspection, filename, content, actor, inspection_id=inspection.id,
                     item_id=item.id)


def photos(inspection: Inspection) -> dict[int, list[OversightFile]]:
    """{item id: its photos} (content not loaded)."""
    grouped: dict[int, list[OversightFile]] = {}
    for photo in db.session.scalars(select(OversightFile).where(
            part_of(OversightFile, inspection, "inspection_id"), OversightFile.kind == FileKind.PHOTO.value)
            .order_by(OversightFile.at, OversightFile.id)):
        grouped.setdefault(photo.item_id, []).append(photo)
    return grouped


# -- findings and the corrective actions they require --------------------------------------------------------

def add_finding(inspection: Inspection, values: dict, actor) -> Finding:
    """A finding: ``description``, ``area`` (or the item's), ``item`` (position, optional; the item
    becomes 부적합), ``requires_action`` with ``requirement`` and ``due_on`` (not before the
    inspection day) for a corrective action."""
    _require_running(inspection)
    item = get_item_or_404(inspection, int(values["item"])) if values.get("item") else None
    description = (values.get("description") or "").strip()
    if not description:
        raise RuleViolation(_l("지적 내용을 입력하세요."), field="description")
    area = item.area if item is not None and not values.get("area") else _area(values.get("area"))
    finding = Finding(tenant_id=inspection.tenant_id, facility_id=inspection.facility_id, inspection_id=inspection.id,
                      item_id=item.id if item else None, area=area, description=description,
                      created_by_user_id=actor.id if actor else None)
    requirement = _requirement(inspection, values) if values.get("requires_action") else None
    if item is not None:
        item.result = ItemResult.NON_COMPLIANT
    db.session.add(finding)
    db.session.flush()
    if requirement is not None:
        _request_action(inspection, finding, *requirement, actor)
    return finding


def _area(value) -> Area:
    try:
        return Area(value)
    except ValueError:
        raise RuleViolation(_l("영역을 고르세요."), field="area") from None


def _requirement(inspection: Inspection, values: dict) -> tuple[str, date]:
    requirement = (values.get("requirement") or "").strip()
    if not requirement:
        raise RuleViolation(_l("시정할 내용을 입력하세요."), field="requirement")
    due_on = values.get("due_on")
    if due_on is None:
        raise RuleViolation(_l("조치 기한을 입력하세요."), field="due_on")
    if due_on < inspection.conducted_on:
        raise RuleViolation(_l("조치 기한은 점검일 이후여야 합니다."), field="due_on")
    return requirement, due_on


def _request_action(inspection: Inspection, finding: Finding, requirement: str, due_on: date, actor) -> None:
    action = CorrectiveAction(tenant_id=inspection.tenant_id, facility_id=inspection.facility_id,
                              finding_id=finding.id, inspection_id=inspection.id, requirement=requirement,
                              due_on=due_on)
    db.session.add(action)
    db.session.flush()
    db.session.add(ActionEvent(tenant_id=action.tenant_id, facility_id=action.facility_id, action_id=action.id,
                               action="request", from_state=None, to_state=ActionState.REQUESTED, note=requirement,
                               due_on=due_on, actor_tenant_id=context.current_tenant_id(),
                               actor_user_id=actor.id if actor else None))
    db.session.flush()


def update_finding(finding: Finding, values: dict, actor) -> None:
    """While the inspection runs: its description and area, and its corrective action's requirement
    and due date (adding one when ``requires_action`` is newly set)."""
    inspection = db.session.get(Inspection, finding.inspection_id)
    _require_running(inspection)
    if "description" in values:
        description = (values.get("description") or "").strip()
        if not description:
            raise RuleViolation(_l("지적 내용을 입력하세요."), field="description")
        finding.description = description
    if values.get("area"):
        finding.area = _area(values["area"])
    action = finding.action
    if action is not None and ("requirement" in values or "due_on" in values):
        action.requirement, action.due_on = _requirement(
            inspection, {"requirement": action.requirement, "due_on": action.due_on, **values})
    elif action is None and values.get("requires_action"):
        _request_action(inspection, finding, *_requirement(inspection, values), actor)
    db.session.flush()


def findings(inspection: Inspection) -> list[Finding]:
    return list(db.session.scalars(select(Finding).options(selectinload(Finding.action))
                                   .where(part_of(Finding, inspection, "inspection_id")).order_by(Finding.id)))


def open_findings(facility: Facility) -> list[Finding]:
    """The facility's findings whose corrective action is not yet accepted (or cancelled)."""
    return list(db.session.scalars(
        select(Finding).join(CorrectiveAction, and_(CorrectiveAction.tenant_id == Finding.tenant_id,
                                                  CorrectiveAction.finding_id == Finding.id))
        .options(selectinload(Finding.action))
        .where(part_of(Finding, facility),
               CorrectiveAction.state.in_([s.value for s in OPEN_ACTION_STATES]))
        .order_by(CorrectiveAction.due_on, Finding.id)))


# -- completing and cancelling --------------------------------------------------------------------------------

def complete(inspection: Inspection, values: dict, actor) -> None:
    """완료: every item has a result; ``summary`` (총평) optional. The facility is told."""
    states.check("inspection", inspection.status, side_of(inspection), "complete")
    check_version(inspection, values)
    unanswered = [i.position for i in items(inspection) if i.result is None]
    if unanswered:
        raise RuleViolation(_l("결과를 입력하지 않은 점검 항목이 %(n)s개 있습니다 (%(positions)s번).",
                               n=len(unanswered), positions=", ".join(map(str, unanswered[:10]))), field="items")
    inspection.summary = (values.get("summary") or "").strip() or inspection.summary
    inspection.status = InspectionStatus.COMPLETED
    inspection.completed_at = utcnow()
    _flush(inspection)
    facility = db.session.get(Facility, inspection.facility_id)
    actions = [f.action for f in findings(inspection) if f.action is not None]
    notify_facility(facility, "oversight_result",
                    str(_l("지도점검 결과가 통보되었습니다 (%(tenant)s, %(date)s, 시정 요구 %(n)s건)",
                           tenant=facility.tenant.name, date=inspection.conducted_on.isoformat(), n=len(actions))),
                    link("inspection", inspection.public_id))


def cancel(inspection: Inspection, reason: str | None, actor, version: int | None = None) -> None:
    states.check("inspection", inspection.status, side_of(inspection), "cancel")
    check_version(inspection, {"version": version})
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation(_l("취소 사유를 입력하세요."), field="reason")
    disclosed = inspection.kind is not InspectionKind.SPECIAL or inspection.status is InspectionStatus.IN_PROGRESS
    open_actions = [f.action for f in findings(inspection) if f.action is not None and f.action.is_open]
    if open_actions:
        raise Conflict(_l("시정 요구가 있는 점검은 취소할 수 없습니다. 시정 요구를 먼저 취소하세요."))
    inspection.cancel_reason = reason
    inspection.status = InspectionStatus.CANCELLED
    inspection.cancelled_at = utcnow()
    _flush(inspection)
    if disclosed:
        facility = db.session.get(Facility, inspection.facility_id)
        notify_facility(facility, "oversight_inspection",
                        str(_l("%(kind)s 일정이 취소되었습니다 (%(date)s, %(tenant)s)", kind=inspection.kind_label,
                               date=inspection.planned_on.isoformat(), tenant=facility.tenant.name)),
                        link("inspection", inspection.public_id))


def check_version(inspection: Inspection, values: dict) -> None:
    """``values["version"]``, when given, is the version the user's page showed: a step taken on a
    stale page is refused like a concurrent one."""
    if values.get("version") not in (None, "") and int(values["version"]) != inspection.version:
        raise Conflict(_stale())


def _stale() -> str:
    return str(_l("다른 사람이 방금 이 점검을 바꾸었습니다. 화면을 새로 고쳐 지금 상태를 확인하세요."))


def _flush(inspection: Inspection) -> None:
    """The version column turns a concurrent change of the same inspection into a refusal."""
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise Conflict(_stale()) from None


# -- reading --------------------------------------------------------------------------------------------------

def items(inspection: Inspection) -> list[InspectionItem]:
    return list(db.session.scalars(select(InspectionItem).where(part_of(InspectionItem, inspection, "inspection_id"))
                                   .order_by(InspectionItem.position)))


def inspectors(inspection: Inspection) -> list[User]:
    by_id = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(inspection.inspector_user_ids or [])))}
    return [by_id[i] for i in inspection.inspector_user_ids or [] if i in by_id]


def inspections_of(facility: Facility) -> list[Inspection]:
    return list(db.session.scalars(select(Inspection).where(part_of(Inspection, facility))
                                   .order_by(Inspection.planned_on.desc(), Inspection.id.desc())))


def upcoming(days: int = 30, today: date | None = None) -> list[Inspection]:
    """Planned inspections in the next ``days`` days (and overdue plans), soonest first."""
    today = today or clock.today()
    return list(db.session.scalars(
        select(Inspection).options(selectinload(Inspection.facility))
        .where(Inspection.status == InspectionStatus.PLANNED.value,
               Inspection.planned_on <= today + timedelta(days=days))
        .order_by(Inspection.planned_on, Inspection.id)))


def in_progress() -> list[Inspection]:
    """Inspections being conducted now, oldest start first."""
    return list(db.session.scalars(
        select(Inspection).options(selectinload(Inspection.facility))
        .where(Inspection.status == InspectionStatus.IN_PROGRESS.value)
        .order_by(Inspection.conducted_on, Inspection.id)))


@dataclass
class Report:
    """Everything the printable inspection report (점검 결과서) shows."""

    inspection: Inspection
    facility: Facility
    inspectors: list[User]
    items_by_area: list[tuple[Area, list[InspectionItem]]]
    findings: list[Finding]
    photo_counts: dict[int, int] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        results = [i.result for _area, group in self.items_by_area for i in group]
        return {r.value: results.count(r) for r in ItemResult}


def report(inspection: Inspection) -> Report:
    grouped: dict[Area, list[InspectionItem]] = {}
    for item in items(inspection):
        grouped.setdefault(item.area, []).append(item)
    return Report(inspection, db.session.get(Facility, inspection.facility_id), inspectors(inspection),
                  [(area, grouped[area]) for area in Area if area in grouped], findings(inspection),
                  {item_id: len(p) for item_id, p in photos(inspection).items()})
