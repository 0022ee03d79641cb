"""Inspection screens (지도점검): planning from a facility, the plan, starting, conducting (the
checklist by area with a result, a note and photos per item, extra items, findings with their
corrective actions), completing, cancelling, follow-ups from open findings, the facility's list,
upcoming inspections, and the printable report. Routes stay thin: parse, call ``inspections``,
render.

Who (declared on each route, ``oversight.access``): the supervising municipality's inspectors
(``Role.INSPECTOR``) write and read; its province and the facility (once an inspection is disclosed
to it) read; the municipality's other staff get 403. Anyone else gets 404 from the loaders. A refused step rolls back what it touched and shows the page as it is now with
the reason: 403 (wrong side), 409 (wrong state or a stale page), 422 (input), the typed values kept.
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..core import clock, idempotency, uploads
from ..core.access import tenant_member
from ..core.db import db
from ..core.forms import parse_form
from ..core.rules import RuleViolation
from ..referrals.service import MAX_ATTACHMENT_BYTES
from ..referrals.views import content_disposition
from ..tenancy.models import Role
from . import checklists, files, inspections, states
from .access import reads_lists, reads_record, writes_record
from .inspection_schemas import (
    CancelForm, CompleteForm, FindingForm, FollowUpForm, ItemForm, PlanForm, StartForm, parse_checklist,
)
from .models import (
    AREA_LABELS, INSPECTION_KIND_LABELS, INSPECTION_STATUS_LABELS, ITEM_RESULT_LABELS, Area, ChecklistTemplate,
    FileKind, Inspection,
    InspectionKind, InspectionStatus, ItemResult,
)
from .service import get_facility_or_404, link, side_of
from .states import Side

bp = Blueprint("inspections", __name__, url_prefix="/oversight/inspections")

WRITE = (Role.INSPECTOR,)


def is_inspector() -> bool:
    membership = g.get("membership")
    return bool(membership and membership.has_role(*WRITE))


def refusal_status(violation: RuleViolation) -> int:
    """403 for the wrong side, 409 for the wrong state or a stale page, 422 for input."""
    return getattr(violation, "status", 422)


def uploaded(name: str) -> list[tuple[str, bytes]]:
    """The files chosen in input ``name``, each read up to one byte over the limit (enough to refuse it)."""
    return [uploads.read(f, MAX_ATTACHMENT_BYTES) for f in request.files.getlist(name) if f and f.filename]


def send_stored(stored) -> Response:
    response = Response(stored.content, mimetype=stored.content_type)
    response.headers["Content-Disposition"] = content_disposition(stored.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _labels() -> dict:
    return {
        "kind_labels": INSPECTION_KIND_LABELS, "status_labels": INSPECTION_STATUS_LABELS,
        "result_labels": ITEM_RESULT_LABELS, "area_labels": AREA_LABELS,
        "result_options": [(r.value, ITEM_RESULT_LABELS[r]) for r in ItemResult],
        "area_options": [(a.value, AREA_LABELS[a]) for a in Area],
        "kind_options": [(k.value, INSPECTION_KIND_LABELS[k]) for k in (InspectionKind.REGULAR, InspectionKind.SPECIAL)],
        "action_labels": {name: t.label for name, t in states.INSPECTION_TRANSITIONS.items()},
        "photo_accept": uploads.accept(uploads.PHOTOS),
        "max_file_mb": MAX_ATTACHMENT_BYTES // (1024 * 1024), "max_files": files.MAX_FILES,
        "facility_link": lambda facility: link("facility", facility.public_id),
    }


def _plan_options(facility) -> dict:
    return {"inspector_options": [(u.public_id, u.display_name) for u in inspections.eligible_inspectors()],
            "template_options": [(t.public_id, t.name) for t in checklists.list_templates(
                facility.facility_type.value, active_only=True)]}


# -- lists ---------------------------------------------------------------------------------------------

@bp.get("")
@tenant_member(check=reads_lists)
def index():
    """Upcoming inspections (the next 30 days, and plans whose day has passed) and those under way."""
    return render_template("oversight/inspections.html", upcoming=inspections.upcoming(),
                           running=inspections.in_progress(), today=clock.today(), **_labels())


@bp.get("/facility/<public_id>")
@tenant_member(check=reads_record, subject=get_facility_or_404)
def of_facility(public_id):
    facility = get_facility_or_404(public_id)
    return render_template("oversight/inspection_list.html", facility=facility,
                           rows=inspections.inspections_of(facility), today=clock.today(),
                           can_plan=is_inspector() and side_of(facility) is Side.INSPECTOR
                           and facility.closed_on is None, **_labels())


# -- planning ------------------------------------------------------------------------------------------

def _plan_page(facility, form, errors=None, status=200, inspection=None):
    return render_template("oversight/inspection_form.html", facility=facility, form=form, errors=errors or {},
                           inspection=inspection, **_plan_options(facility), **_labels()), status


@bp.get("/facility/<public_id>/new")
@tenant_member(*WRITE, check=writes_record, subject=get_facility_or_404)
def new(public_id):
    facility = get_facility_or_404(public_id)
    templates = checklists.list_templates(facility.facility_type.value, active_only=True)
    return _plan_page(facility, {"kind": InspectionKind.REGULAR.value, "planned_on": "",
                                 "inspectors": [current_user.public_id],
                                 "template": templates[0].public_id if len(templates) == 1 else ""})


@bp.post("/facility/<public_id>/new")
@tenant_member(*WRITE, check=writes_record, subject=get_facility_or_404)
def create(public_id):
    facility = get_facility_or_404(public_id)
    previous = idempotency.previous_result()
    if previous:
        return redirect(previous, code=303)
    data, errors = parse_form(PlanForm())
    inspection, status = None, 422
    if not errors:
        if not idempotency.claim():
            return redirect(url_for(".of_facility", public_id=public_id), code=303)
        try:
            inspection = inspections.plan(facility, data, current_user)
        except RuleViolation as violation:
            errors, status = violation.as_errors(), refusal_status(violation)
    if errors:
        db.session.rollback()
        return _plan_page(get_facility_or_404(public_id), request.form, errors, status)
    target = url_for(".show", public_id=inspection.public_id)
    idempotency.record_result(target)
    if inspection.kind is InspectionKind.SPECIAL:
        flash(_("특별 점검을 계획했습니다. 시설은 점검을 시작할 때 알게 됩니다."), "success")
    else:
        flash(_("%(kind)s을 계획했습니다. 시설에 일정을 알렸습니다.", kind=inspection.kind_label), "success")
    return redirect(target, code=303)


@bp.get("/<public_id>/edit")
@tenant_member(*WRITE, check=writes_record, subject=inspections.get_inspection_or_404)
def edit(public_id):
    inspection = inspections.get_inspection_or_404(public_id)
    if inspection.status is not InspectionStatus.PLANNED:
        return _refused(public_id, "edit", {"_form": [_("계획 단계의 점검만 고칠 수 있습니다.")]}, 409)
    template = db.session.get(ChecklistTemplate, inspection.template_id) if inspection.template_id else None
    form = {"planned_on": inspection.planned_on.isoformat(), "version": inspection.version,
            "inspectors": [u.public_id for u in inspections.inspectors(inspection)],
            "template": template.public_id if template else ""}
    return _plan_page(inspection.facility, form, inspection=inspection)


@bp.post("/<public_id>/edit")
@tenant_member(*WRITE, check=writes_record, subject=inspections.get_inspection_or_404)
def update(public_id):
    inspection = inspections.get_inspection_or_404(public_id)
    data, errors = parse_form(PlanForm())
    status = 422
    if not errors:
        values = {k: data[k] for k in ("planned_on", "inspectors", "template", "version")}
        try:
            inspections.update_plan(inspection, values, current_user)
        except RuleViolation as violation:
            errors, status = violation.as_errors(), refusal_status(violation)
    if errors:
        db.session.rollback()
        inspection = inspections.get_inspection_or_404(public_id)
        if status == 409:
            return _refused(public_id, "edit", errors, status)
        return _plan_page(inspection.facility, request.form, errors, status, inspection=inspection)
    flash(_("점검 계획을 고쳤습니다."), "success")
    return _to_inspection(inspection)


# -- the inspection page --------------------------------------------------------------------------------

def _grouped(items) -> list[tuple[Area, list]]:
    by_area: dict[Area, list] = {}
    for item in items:
        by_area.setdefault(item.area, []).append(item)
    return [(area, by_area[area]) for area in Area if area in by_area]


def _context(inspection: Inspection, failed=None, errors=None, form=None) -> dict:
    side = side_of(inspection)
    writer = side is Side.INSPECTOR and is_inspector()
    items = inspections.items(inspection)
    findings = inspections.findings(inspection)
    running = inspection.status is InspectionStatus.IN_PROGRESS
    open_findings = [f for f in findings if f.action is not None and f.action.is_open]
    context = {
        "inspection": inspection, "facility": inspection.facility, "side": side.value if side else None,
        "writer": writer, "actions": inspections.available_actions(inspection) if writer else [],
        "running": running, "items": items, "areas": _grouped(items),
        "answered": sum(1 for i in items if i.result is not None),
        "photos": inspections.photos(inspection), "findings": findings, "open_findings": open_findings,
        "inspectors": inspections.inspectors(inspection),
        "item_options": [(i.position, f"{i.position}. {i.text}") for i in items],
        "finding_options": [(f.public_id, f"{f.area_label} · {f.description}") for f in open_findings],
        "follow_up_of": db.session.get(Inspection, inspection.follow_up_of_id) if inspection.follow_up_of_id else None,
        "can_follow_up": writer and inspection.status is InspectionStatus.COMPLETED and bool(open_findings),
        "failed": failed, "errors": errors or {}, "form": form if form is not None else {},
        "today": clock.today(), **_labels(),
    }
    if context["can_follow_up"]:
        context.update(_plan_options(inspection.facility))
    return context


def _page(inspection: Inspection, status=200, **kwargs):
    return render_template("oversight/inspection.html", **_context(inspection, **kwargs)), status


@bp.get("/<public_id>")
@tenant_member(check=reads_record, subject=inspections.get_inspection_or_404)
def show(public_id):
    return _page(inspections.get_inspection_or_404(public_id))


def _to_inspection(inspection: Inspection, anchor: str = ""):
    return redirect(url_for(".show", public_id=inspection.public_id) + anchor, code=303)


def _refused(public_id: str, failed: str, errors: dict, status: int):
    """Undo whatever the refused attempt changed and show the inspection as it is now."""
    db.session.rollback()
    return _page(inspections.get_inspection_or_404(public_id), status, failed=failed, errors=errors,
                 form=request.form)


def _step(public_id: str, failed: str, schema, call, done: str, anchor: str = ""):
    """A write on the inspection page (its route's rule checked role and side: 403): load, parse
    (422), then the service."""
    inspection = inspections.get_inspection_or_404(public_id)
    data, errors = parse_form(schema)
    if errors:
        return _refused(public_id, failed, errors, 422)
    try:
        call(inspection, data)
    except RuleViolation as violation:
        return _refused(public_id, failed, violation.as_errors(), refusal_status(violation))
    flash(done, "success")
    return _to_inspection(inspection, anchor)


@bp.post("/<public_id>/start")
@tenant_member(*WRITE, check=writes_record, subject=inspections.get_inspection_or_404)
def start(public_id):
    return _step(public_id, "start", StartForm(),
                 lambda inspection, data: inspections.start(inspection, data, current_user),
                 _("점검을 시작했습니다. 항목마다 결과를 입력하세요."), "#checklist")


@bp.post("/<public_id>/complete")
@tenant_member(*WRITE, check=writes_record, subject=inspections.get_inspection_or_404)
def complete(public_id):
    return _step(public_id, "complete", CompleteForm(),
                 lambda inspection, data: inspections.complete(inspection, data, current_user),
                 _("점검을 완료했습니다. 시설에 결과를 알렸습니다."))


@bp.post("/<public_id>/cancel")
@tenant_member(*WRITE, check=writes_record, subject=inspections.get_inspection_or_404)
def cancel(public_id):
    return _step(public_id, "cancel", CancelForm(),
                 lambda inspection, data: inspections.cancel(inspection, data["reason"], current_user,
                                                             data["version"]),
                 _("점검을 취소했습니다."))


@bp.post("/<public_id>/checklist")
@tenant_member(*WRITE, check=writes_record, subject=inspections.get_inspection_or_404)
def save_checklist(public_id):
    """Every item's result and note, and the photos chosen for any of them, in one save."""
    inspection = inspections.get_inspection_or_404(public_id)
    previous = idempotency.previous_result()
    if previous:
        return redirect(previous, code=303)
    positions = [i.position for i in inspections.items(inspection)]
    results, errors = parse_checklist(request.form, positions)
    photos = {p: uploaded(f"photo-{p}") for p in positions}
    status = 422
    if not errors:
        if not idempotency.claim():
            return _to_inspection(inspection, "#checklist")
        try:
            inspections.record_results(inspection, results, current_user)
            _add_photos(inspection, photos)
        except RuleViolation as violation:
            errors, status = violation.as_errors(), refusal_status(violation)
    if errors:
        chosen = [f"photo-{p}" for p, chosen in photos.items() if chosen and f"photo-{p}" not in errors]
        for name in chosen:
            errors[name] = [_("보안을 위해 고른 사진은 다시 골라야 합니다.")]
        return _refused(public_id, "checklist", errors, status)
    idempotency.record_result(url_for(".show", public_id=public_id) + "#checklist")
    answered = sum(1 for r in results.values() if r["result"])
    flash(_("점검 결과를 저장했습니다 (결과를 입력한 항목 %(n)s / %(total)s개).", n=answered, total=len(positions)),
          "success")
    return _to_inspection(inspection, "#checklist")


def _add_photos(inspection: Inspection, photos: dict[int, list]) -> None:
    for position, chosen in photos.items():
        for filename, content in chosen:
            try:
                inspections.add_photo(inspection, position, filename, content, current_user)
            except RuleViolation as violation:
                if violation.field != "file":
                    raise
                raise RuleViolation(violation.message, field=f"photo-{position}") from None


@bp.post("/<public_id>/items")
@tenant_member(*WRITE, check=writes_record, subject=inspections.get_inspection_or_404)
def add_item(public_id):
    """An item added on the spot, e.g. what a complaint behind a special inspection was about."""
    inspection = inspections.get_inspection_or_404(public_id)
    previous = idempotency.previous_result()
    if previous:
        return redirect(previous, code=303)
    data, errors = parse_form(ItemForm())
    status = 422
    if not errors:
        if not idempotency.claim():
            return _to_inspection(inspection, "#checklist")
        try:
            item = inspections.add_item(inspection, data, current_user)
        except RuleViolation as violation:
            errors, status = violation.as_errors(), refusal_status(violation)
    if errors:
        return _refused(public_id, "item", errors, status)
    target = url_for(".show", public_id=public_id) + f"#item-{item.position}"
    idempotency.record_result(target)
    flash(_("점검 항목 %(n)s번을 더했습니다.", n=item.position), "success")
    return redirect(target, code=303)


@bp.post("/<public_id>/findings")
@tenant_member(*WRITE, check=writes_record, subject=inspections.get_inspection_or_404)
def add_finding(public_id):
    """A finding from a checklist item (which becomes 부적합) or an area, with its corrective action."""
    inspection = inspections.get_inspection_or_404(public_id)
    previous = idempotency.previous_result()
    if previous:
        return redirect(previous, code=303)
    data, errors = parse_form(FindingForm())
    if not errors and data["item"] is not None and data["item"] not in {i.position for i in inspections.items(inspection)}:
        errors = {"item": [_("목록에 있는 점검 항목을 고르세요.")]}
    if not errors and data["item"] is None and not data["area"]:
        errors = {"area": [_("점검 항목이나 영역을 고르세요.")]}
    status = 422
    if not errors:
        if not idempotency.claim():
            return _to_inspection(inspection, "#findings")
        try:
            finding = inspections.add_finding(inspection, data, current_user)
        except RuleViolation as violation:
            errors, status = violation.as_errors(), refusal_status(violation)
    if errors:
        return _refused(public_id, "finding", errors, status)
    target = url_for(".show", public_id=public_id) + "#findings"
    idempotency.record_result(target)
    if finding.action is not None:
        flash(_("지적사항을 기록했습니다. 시정 요구 기한: %(due)s", due=finding.action.due_on.isoformat()), "success")
    else:
        flash(_("지적사항을 기록했습니다."), "success")
    return redirect(target, code=303)


@bp.post("/<public_id>/follow-up")
@tenant_member(*WRITE, check=writes_record, subject=inspections.get_inspection_or_404)
def follow_up(public_id):
    """후속 점검 of this completed inspection's open findings (those ticked)."""
    inspection = inspections.get_inspection_or_404(public_id)
    previous = idempotency.previous_result()
    if previous:
        return redirect(previous, code=303)
    data, errors = parse_form(FollowUpForm())
    status = 422
    if not errors:
        if not idempotency.claim():
            return _to_inspection(inspection, "#follow-up")
        try:
            planned = inspections.plan_follow_up(inspection, data, current_user)
        except RuleViolation as violation:
            errors, status = violation.as_errors(), refusal_status(violation)
    if errors:
        return _refused(public_id, "follow_up", errors, status)
    target = url_for(".show", public_id=planned.public_id)
    idempotency.record_result(target)
    flash(_("후속 점검을 계획했습니다 (%(date)s). 시설에 일정을 알렸습니다.", date=planned.planned_on.isoformat()), "success")
    return redirect(target, code=303)


# -- the report and photos ------------------------------------------------------------------------------

@bp.get("/<public_id>/report")
@tenant_member(check=reads_record, subject=inspections.get_inspection_or_404)
def report(public_id):
    """점검 결과서: a page of its own, without the menus, laid out for printing (or saving as PDF
    from the browser's print dialog)."""
    inspection = inspections.get_inspection_or_404(public_id)
    data = inspections.report(inspection)
    return render_template("oversight/report.html", report=data, inspection=inspection,
                           open_count=sum(1 for f in data.findings if f.action is not None and f.action.is_open),
                           today=clock.today(), **_labels())


@bp.get("/<public_id>/photos/<file_id>")
@tenant_member(check=reads_record, subject=inspections.get_inspection_or_404)
def photo(public_id, file_id):
    inspection = inspections.get_inspection_or_404(public_id)
    stored = files.get_file_or_404(file_id)
    if stored.kind is not FileKind.PHOTO or stored.inspection_id != inspection.id \
            or stored.tenant_id != inspection.tenant_id:
        abort(404)
    return send_stored(stored)
