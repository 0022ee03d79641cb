"""Facility oversight screens (지도점검), the facility side of them: the overview, facility pages with
their status reports, checklist templates, administrative sanctions and service evaluations. The
inspection, corrective-action and figures screens have blueprints of their own.

Who sees what follows the records' visibility (``oversight.models``): the supervising municipality's
inspectors write, the facility's own tenant reads its records and reports its status, the province
reads. Each route declares its rule (``oversight.access``): the record is loaded first, so any other
tenant gets 404 whatever its roles; then the municipality's side needs the inspector role (403
without it), and the services refuse what the organisation's side may not do (403 / 409, or 422
next to the field).
"""
from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user
from jinja2_fragments.flask import render_block
from werkzeug.datastructures import MultiDict

from ..core import clock, idempotency
from ..core.access import tenant_member
from ..core.forms import parse_form
from ..core.rules import RuleViolation
from ..core.web import fragment_target
from ..tenancy.models import Role, TenantKind
from . import actions, checklists, evaluations, inspections, sanctions, service
from .access import (
    own_record_inspector, reads_cycle, reads_lists, reads_record, reads_region, reads_region_lists, reports_status,
    supervising_inspector, writes_cycle, writes_record,
)
from .models import (
    APPEAL_STATUS_LABELS, AREA_LABELS, FACILITY_TYPE_LABELS, OPERATOR_KIND_LABELS, SANCTION_TYPE_LABELS, Area,
)
from .schemas import (
    GRADE_CHOICES, CloseForm, CorrectionForm, CycleForm, FacilityForm, FacilityListArgs, LinkForm, NewFacilityForm,
    SanctionForm, StatusForm, TemplateCopyForm, TemplateForm, evaluation_form, item_rows, scores_of,
)
from .states import Side

bp = Blueprint("oversight", __name__, url_prefix="/oversight")

SPARE_ITEM_ROWS = 3  # blank checklist rows to add items in


# -- who is asking ---------------------------------------------------------------------------------------------

def _is_inspector() -> bool:
    membership = g.get("membership")
    return bool(membership and membership.has_role(Role.INSPECTOR))


def _supervises() -> bool:
    """The active tenant keeps oversight records of its own (a 시군구, or a 광역 for its own)."""
    tenant = g.get("active_tenant")
    return tenant is not None and tenant.kind in service.SUPERVISOR_KINDS


def _side(record) -> Side:
    """The active tenant's side on a record its route's access rule let it read."""
    return service.side_of(record)


def _reads_region() -> bool:
    membership = g.get("membership")
    return membership is not None and reads_region(membership)


def _refused(violation: RuleViolation) -> tuple[dict, int]:
    """The form's errors and the status the refusal carries (403 side, 409 conflict, 422 input)."""
    return violation.as_errors(), getattr(violation, "status", 422)


def _labels() -> dict:
    return {"type_labels": FACILITY_TYPE_LABELS, "area_labels": AREA_LABELS, "sanction_labels": SANCTION_TYPE_LABELS,
            "appeal_labels": APPEAL_STATUS_LABELS, "operator_labels": OPERATOR_KIND_LABELS,
            "link": service.link}


def _options(pairs) -> list[tuple[str, str]]:
    return [(key.value, str(label)) for key, label in pairs.items()]


@bp.app_template_global()
def oversight_section_links() -> list[tuple[str, str]]:
    """The oversight section menu, for the supervising municipality's inspectors and the province
    (screens of the other oversight blueprints only once they are installed)."""
    if not _reads_region():
        return []
    links = [("oversight.index", _("개요")), ("inspections.index", _("점검 일정")),
             ("corrective_actions.index", _("시정 요구")),
             ("oversight.checklists_index", _("점검표") if _is_inspector() else None),
             ("oversight.sanctions_in_force", _("행정처분")), ("oversight.evaluation_cycles", _("사회서비스평가")),
             ("oversight_figures.overview", _("지역 통계"))]
    return [(endpoint, label) for endpoint, label in links if label and endpoint in current_app.view_functions]


@bp.app_template_filter("points")
def points(value) -> str:
    """A score without a trailing .0 (85.5, 100)."""
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


# -- the overview -----------------------------------------------------------------------------------------------

@bp.get("")
@tenant_member(check=reads_lists)
def index():
    """The inspector's overview, the province's read-only view of its municipalities' facilities,
    or — for a facility on the platform — its own facility page."""
    if not _supervises():
        own = service.own_facilities()
        if len(own) == 1:
            return redirect(url_for("oversight.facility", public_id=own[0].public_id))
        return render_template("oversight/facility_choose.html", facilities=own, **_labels())
    data, errors = parse_form(FacilityListArgs(), request.args)
    data = data or FacilityListArgs().load({})
    rows = service.list_facilities(service.FacilityFilter(
        facility_type=data["type"], dong_code=data["dong"], grade=data["grade"], query=data["q"],
        open_findings=data["open"], overdue=data["overdue"], include_closed=data["closed"]))
    page = {"rows": rows, "args": request.args, "errors": errors, "filtered": bool(request.args),
            "province_view": g.active_tenant.kind is TenantKind.PROVINCE,
            "can_write": _is_inspector(), "type_options": _options(FACILITY_TYPE_LABELS),
            "dong_options": service.listed_dong_options(), "grade_options": [(g_, g_) for g_ in GRADE_CHOICES],
            **_labels()}
    if fragment_target() == "facility-results":
        return render_block("oversight/overview.html", "results", **page)
    recent = sanctions.recent(10)
    page.update(overdue=actions.overdue_actions(), upcoming=inspections.upcoming(), recent_sanctions=recent,
                sanction_facilities=service.facilities_by_id(s.facility_id for s in recent))
    return render_template("oversight/overview.html", **page)


# -- facilities ------------------------------------------------------------------------------------------------

def _facility_options(supervisor) -> dict:
    return {"type_options": _options(FACILITY_TYPE_LABELS), "operator_options": _options(OPERATOR_KIND_LABELS),
            "dong_options": service.dong_options(supervisor.region_code),
            "tenant_options": [(t.code, t.name) for t in service.facility_tenant_options(supervisor)]}


def _facility_form_page(form, errors=None, status=200, facility=None):
    supervisor = facility.tenant if facility is not None else g.active_tenant
    return render_template("oversight/facility_form.html", form=form, errors=errors or {}, facility=facility,
                           **_facility_options(supervisor)), status


@bp.route("/facilities/new", methods=["GET", "POST"])
@tenant_member(Role.INSPECTOR, check=supervising_inspector)
def new_facility():
    if request.method == "GET":
        return _facility_form_page(MultiDict({"operator_kind": "corporation"}))
    previous = idempotency.previous_result()
    if previous:
        return redirect(previous, code=303)
    data, errors = parse_form(NewFacilityForm())
    status = 422
    if not errors:
        if not idempotency.claim():
            return redirect(url_for("oversight.index"), code=303)
        try:
            facility = service.register_facility(data, current_user)
        except RuleViolation as violation:
            errors, status = _refused(violation)
    if errors:
        return _facility_form_page(request.form, errors, status)
    target = url_for("oversight.facility", public_id=facility.public_id)
    idempotency.record_result(target)
    flash(_("시설을 등록했습니다."), "success")
    return redirect(target, code=303)



def _facility_context(facility, **extra) -> dict:
    side = _side(facility)
    entries = sanctions.history(facility)
    history = evaluations.history(facility)
    context = {
        "facility": facility, "side": side, "can_write": side is Side.INSPECTOR,
        "status": service.current_status(facility), "open_actions": actions.open_actions(facility),
        "all_actions": actions.actions_of(facility), "inspections": inspections.inspections_of(facility),
        "sanctions_in_force": [e for e in entries if e.in_force], "sanction_count": len(entries),
        "latest_evaluation": history[0] if history else None, "is_overdue": actions.is_overdue,
        "link_errors": {}, "close_errors": {}, "posted": {}, **_labels(), **extra,
    }
    if side is Side.INSPECTOR:
        context["tenant_options"] = [(t.code, t.name) for t in service.facility_tenant_options(facility.tenant)]
    return context


@bp.get("/facilities/<public_id>")
@tenant_member(check=reads_record, subject=service.get_facility_or_404)
def facility(public_id):
    """The facility's page: details, current status, open corrective actions, inspections,
    sanctions in force and the latest evaluation — for its municipality, its province and itself."""
    return render_template("oversight/facility.html", **_facility_context(service.get_facility_or_404(public_id)))


def _facility_values(facility) -> MultiDict:
    values = MultiDict()
    for name in service.FACILITY_FIELDS:
        value = getattr(facility, name)
        values[name] = "" if value is None else str(getattr(value, "value", value))
    return values


@bp.route("/facilities/<public_id>/edit", methods=["GET", "POST"])
@tenant_member(check=writes_record, subject=service.get_facility_or_404)
def edit_facility(public_id):
    facility = service.get_facility_or_404(public_id)
    if request.method == "GET":
        return _facility_form_page(_facility_values(facility), facility=facility)
    data, errors = parse_form(FacilityForm())
    status = 422
    if not errors:
        try:
            service.update_facility(facility, data, current_user)
        except RuleViolation as violation:
            errors, status = _refused(violation)
    if errors:
        return _facility_form_page(request.form, errors, status, facility=facility)
    flash(_("시설 정보를 고쳤습니다."), "success")
    return _to_facility(facility)


def _to_facility(facility):
    return redirect(url_for("oversight.facility", public_id=facility.public_id), code=303)


def _facility_page_with(facility, status: int, **errors):
    """The facility page again, with a small form's errors next to its fields and what was typed."""
    return render_template("oversight/facility.html", **_facility_context(facility, posted=request.form,
                                                                          **errors)), status


@bp.post("/facilities/<public_id>/link")
@tenant_member(check=writes_record, subject=service.get_facility_or_404)
def link_tenant(public_id):
    facility = service.get_facility_or_404(public_id)
    data, errors = parse_form(LinkForm())
    status = 422
    if not errors:
        try:
            service.link_facility_tenant(facility, data["facility_tenant"], current_user)
        except RuleViolation as violation:
            errors, status = _refused(violation)
    if errors:
        return _facility_page_with(facility, status, link_errors=errors)
    flash(_("시설을 하나로 기관과 연결했습니다. 그 기관이 시설의 기록을 보고 시정 요구에 답합니다.")
          if facility.facility_tenant_id else _("시설과 하나로 기관의 연결을 끊었습니다."), "success")
    return _to_facility(facility)


@bp.post("/facilities/<public_id>/close")
@tenant_member(check=writes_record, subject=service.get_facility_or_404)
def close_facility(public_id):
    facility = service.get_facility_or_404(public_id)
    data, errors = parse_form(CloseForm())
    status = 422
    if not errors:
        try:
            service.close_facility(facility, data["closed_on"], current_user)
        except RuleViolation as violation:
            errors, status = _refused(violation)
    if errors:
        return _facility_page_with(facility, status, close_errors=errors)
    flash(_("시설을 폐지로 기록했습니다. 기록은 그대로 남습니다."), "success")
    return _to_facility(facility)


# -- status reports (현황정보) -------------------------------------------------------------------------------

def _status_page(facility, side, form, errors=None, status=200):
    return render_template("oversight/status.html", facility=facility, side=side, form=form, errors=errors or {},
                           can_report=side in (Side.FACILITY, Side.INSPECTOR),
                           history=service.status_history(facility), **_labels()), status


@bp.get("/facilities/<public_id>/status")
@tenant_member(check=reads_record, subject=service.get_facility_or_404)
def facility_status(public_id):
    """현황정보: the facility reports its staff, residents and contacts (its municipality may for it);
    every report is kept, newest first."""
    facility = service.get_facility_or_404(public_id)
    current = service.current_status(facility)
    form = MultiDict({name: "" if current is None or getattr(current, name) is None else str(getattr(current, name))
                      for name in ("residents", "staff_count", "contact_name", "contact_phone", "contact_email")})
    return _status_page(facility, _side(facility), form)


@bp.post("/facilities/<public_id>/status")
@tenant_member(check=reports_status, subject=service.get_facility_or_404)
def report_status(public_id):
    facility = service.get_facility_or_404(public_id)
    side = _side(facility)
    previous = idempotency.previous_result()
    if previous:
        return redirect(previous, code=303)
    data, errors = parse_form(StatusForm())
    status = 422
    if not errors:
        if not idempotency.claim():
            return redirect(request.path, code=303)
        try:
            service.report_status(facility, data, current_user)
        except RuleViolation as violation:
            errors, status = _refused(violation)
    if errors:
        return _status_page(facility, side, request.form, errors, status)
    idempotency.record_result(request.path)
    flash(_("현황을 보고했습니다."), "success")
    return redirect(request.path, code=303)


# -- checklist templates (점검표) -------------------------------------------------------------------------------

def _copy_sources(templates) -> list[tuple[str, str]]:
    return ([(f"default:{d.key}", _("기본: %(name)s", name=d.name)) for d in checklists.defaults()]
            + [(f"template:{t.public_id}", _("우리 점검표: %(name)s", name=t.name)) for t in templates])


def _checklists_page(form=None, errors=None, status=200):
    templates = checklists.list_templates()
    return render_template("oversight/checklists.html", templates=templates, defaults=checklists.defaults(),
                           source_options=_copy_sources(templates), form=form or {}, errors=errors or {},
                           **_labels()), status


@bp.get("/checklists")
@tenant_member(Role.INSPECTOR, check=supervising_inspector)
def checklists_index():
    return _checklists_page()


@bp.post("/checklists")
@tenant_member(Role.INSPECTOR, check=supervising_inspector)
def copy_checklist():
    """A new template of ours: a copy of a platform default or of one of our templates."""
    previous = idempotency.previous_result()
    if previous:
        return redirect(previous, code=303)
    data, errors = parse_form(TemplateCopyForm())
    status = 422
    if not errors:
        kind, _sep, key = data["source"].partition(":")
        if kind == "template":
            source = checklists.get_template_or_404(key)
        elif kind != "default":
            errors = {"source": [_("복사할 점검표를 목록에서 고르세요.")]}
    if not errors:
        if not idempotency.claim():
            return redirect(url_for("oversight.checklists_index"), code=303)
        try:
            template = (checklists.copy_template(source, current_user, data["name"]) if kind == "template"
                        else checklists.copy_default(key, current_user, data["name"]))
        except RuleViolation as violation:
            errors, status = _refused(violation)
            errors = {"source" if k in ("_form", "source") else k: v for k, v in errors.items()}
    if errors:
        return _checklists_page(request.form, errors, status)
    target = url_for("oversight.checklist", public_id=template.public_id)
    idempotency.record_result(target)
    flash(_("점검표를 복사했습니다. 이름과 항목을 고치세요."), "success")
    return redirect(target, code=303)


def _template_rows(template) -> list[dict]:
    """The template's items grouped by area (the areas' order), as form rows."""
    ordered = sorted(template.items, key=lambda i: (list(Area).index(i.area), i.position))
    return [{"area": i.area.value, "text": i.text, "guidance": i.guidance or ""} for i in ordered]


def _checklist_page(template, form, rows, errors=None, status=200):
    """Rows in their order, consecutive rows of one area under its heading (blank rows: new items)."""
    groups: list[tuple[str, list[tuple[int, dict]]]] = []
    for n, row in enumerate(rows, 1):
        if not groups or groups[-1][0] != row["area"]:
            groups.append((row["area"], []))
        groups[-1][1].append((n, row))
    return render_template("oversight/checklist.html", template=template, form=form, groups=groups,
                           errors=errors or {}, area_options=_options(AREA_LABELS), **_labels()), status


@bp.route("/checklists/<public_id>", methods=["GET", "POST"])
@tenant_member(check=own_record_inspector, subject=checklists.get_template_or_404)
def checklist(public_id):
    """Edit a template: its name, whether it is offered for new inspections, and its items grouped
    by area. A row's 삭제 saves the others without it; blank rows at the end add items."""
    template = checklists.get_template_or_404(public_id)
    if request.method == "GET":
        blanks = [{"area": "", "text": "", "guidance": ""} for _n in range(SPARE_ITEM_ROWS)]
        return _checklist_page(template, {"name": template.name, "active": template.active},
                               _template_rows(template) + blanks)
    rows = item_rows(request.form)
    removing = request.form.get("remove", type=int)
    data, errors = parse_form(TemplateForm())
    status = 422
    if not errors:
        # The removed row is passed on blank (skipped), so the rows after it keep their numbers.
        kept = [{} if n == removing else row for n, row in enumerate(rows, 1)]
        try:
            checklists.update_template(template, data)
            checklists.save_items(template, kept)
        except RuleViolation as violation:
            errors, status = _refused(violation)
    if errors:
        form = {"name": request.form.get("name", ""), "active": bool(request.form.get("active"))}
        return _checklist_page(template, form, rows, errors, status)
    flash(_("점검 항목을 삭제했습니다.") if removing else _("점검표를 저장했습니다."), "success")
    return redirect(url_for("oversight.checklist", public_id=template.public_id), code=303)


# -- administrative sanctions (행정처분) -------------------------------------------------------------------------

def _sanction_options(facility) -> dict:
    return {"type_options": _options(SANCTION_TYPE_LABELS), "appeal_options": _options(APPEAL_STATUS_LABELS),
            "finding_options": [(f.public_id, f"{format_datetime(f.created_at, 'yyyy-MM-dd')} · {f.area_label} · "
                                              f"{f.description}")
                                for f in sanctions.findings_to_follow(facility)]}


def _sanction_form_page(facility, form, errors=None, status=200, corrects=None):
    return render_template("oversight/sanction_form.html", facility=facility, form=form, errors=errors or {},
                           corrects=corrects, **_sanction_options(facility), **_labels()), status


@bp.get("/sanctions")
@tenant_member(check=reads_lists)
def sanctions_in_force():
    """The sanctions in force over every facility the active tenant sees."""
    rows = sanctions.in_force()
    return render_template("oversight/sanctions.html", rows=rows,
                           facilities=service.facilities_by_id(s.facility_id for s in rows), **_labels())


@bp.get("/facilities/<public_id>/sanctions")
@tenant_member(check=reads_record, subject=service.get_facility_or_404)
def facility_sanctions(public_id):
    """The facility's sanction history, corrections included, newest first."""
    facility = service.get_facility_or_404(public_id)
    side = _side(facility)
    return render_template("oversight/sanction_history.html", facility=facility, entries=sanctions.history(facility),
                           can_write=side is Side.INSPECTOR, **_labels())


@bp.route("/facilities/<public_id>/sanctions/new", methods=["GET", "POST"])
@tenant_member(check=writes_record, subject=service.get_facility_or_404)
def new_sanction(public_id):
    facility = service.get_facility_or_404(public_id)
    if request.method == "GET":
        today = clock.today().isoformat()
        return _sanction_form_page(facility, MultiDict({"appeal_status": "none", "decided_on": today,
                                                        "effective_from": today}))
    previous = idempotency.previous_result()
    if previous:
        return redirect(previous, code=303)
    data, errors = parse_form(SanctionForm())
    status = 422
    if not errors:
        if not idempotency.claim():
            return redirect(url_for("oversight.facility_sanctions", public_id=facility.public_id), code=303)
        try:
            sanction = sanctions.record(facility, data, current_user)
        except RuleViolation as violation:
            errors, status = _refused(violation)
    if errors:
        return _sanction_form_page(facility, request.form, errors, status)
    target = url_for("oversight.sanction", public_id=sanction.public_id)
    idempotency.record_result(target)
    flash(_("행정처분을 기록했습니다. 시설에 알렸습니다.") if facility.facility_tenant_id else _("행정처분을 기록했습니다."),
          "success")
    return redirect(target, code=303)


@bp.get("/sanctions/<public_id>")
@tenant_member(check=reads_record, subject=sanctions.get_sanction_or_404)
def sanction(public_id):
    """One entry with its chain: what it corrects, what corrected it, the findings it follows."""
    sanction = sanctions.get_sanction_or_404(public_id)
    side = _side(sanction)
    chain = sanctions.chain(sanction)
    return render_template("oversight/sanction.html", sanction=sanction, chain=chain,
                           facility=service.facilities_by_id([sanction.facility_id])[sanction.facility_id],
                           findings=sanctions.findings_of(sanction), newest=chain[-1],
                           can_correct=side is Side.INSPECTOR and chain[-1].id == sanction.id, **_labels())


def _sanction_values(sanction) -> MultiDict:
    values = MultiDict()
    for name in sanctions.FIELDS:
        value = getattr(sanction, name)
        values[name] = "" if value is None else str(getattr(value, "value", value))
    values.setlist("findings", [f.public_id for f in sanctions.findings_of(sanction)])
    return values


@bp.route("/sanctions/<public_id>/correct", methods=["GET", "POST"])
@tenant_member(check=writes_record, subject=sanctions.get_sanction_or_404)
def correct_sanction(public_id):
    """정정: a new entry replacing the newest of a chain (the recorded one stays as it was)."""
    sanction = sanctions.get_sanction_or_404(public_id)
    facility = service.facilities_by_id([sanction.facility_id])[sanction.facility_id]
    if request.method == "GET":
        newest = sanctions.chain(sanction)[-1]
        if newest.id != sanction.id:  # an old link: the posted form would be refused (409) anyway
            flash(_("이미 정정된 기록입니다. 가장 최근 기록을 정정하세요."), "info")
            return redirect(url_for("oversight.sanction", public_id=newest.public_id), code=303)
        return _sanction_form_page(facility, _sanction_values(sanction), corrects=sanction)
    previous = idempotency.previous_result()
    if previous:
        return redirect(previous, code=303)
    data, errors = parse_form(CorrectionForm())
    status = 422
    if not errors:
        if not idempotency.claim():
            return redirect(url_for("oversight.facility_sanctions", public_id=facility.public_id), code=303)
        try:
            correction = sanctions.correct(sanction, data, current_user)
        except RuleViolation as violation:
            errors, status = _refused(violation)
    if errors:
        return _sanction_form_page(facility, request.form, errors, status, corrects=sanction)
    target = url_for("oversight.sanction", public_id=correction.public_id)
    idempotency.record_result(target)
    flash(_("정정 기록을 남겼습니다. 이전 기록은 그대로 보존됩니다."), "success")
    return redirect(target, code=303)


# -- service evaluations (사회서비스평가) -------------------------------------------------------------------------

def _cycles_page(form=None, errors=None, status=200):
    cycles = evaluations.list_cycles()
    return render_template("oversight/evaluation_cycles.html", cycles=cycles,
                           progress={c.id: evaluations.progress(c) for c in cycles},
                           can_write=_is_inspector(), form=form or {"year": str(clock.today().year)},
                           errors=errors or {}, type_options=_options(FACILITY_TYPE_LABELS), **_labels()), status


@bp.get("/evaluations")
@tenant_member(check=reads_region_lists)
def evaluation_cycles():
    return _cycles_page()


@bp.post("/evaluations")
@tenant_member(Role.INSPECTOR, check=supervising_inspector)
def create_cycle():
    previous = idempotency.previous_result()
    if previous:
        return redirect(previous, code=303)
    data, errors = parse_form(CycleForm())
    status = 422
    if not errors:
        if not idempotency.claim():
            return redirect(url_for("oversight.evaluation_cycles"), code=303)
        try:
            cycle = evaluations.create_cycle(data, current_user)
        except RuleViolation as violation:
            errors, status = _refused(violation)
    if errors:
        return _cycles_page(request.form, errors, status)
    target = url_for("oversight.cycle", public_id=cycle.public_id)
    idempotency.record_result(target)
    flash(_("평가 주기를 만들었습니다. 시설마다 결과를 기록하세요."), "success")
    return redirect(target, code=303)


def _cycle_facilities(cycle):
    """The cycle's municipality's open facilities of its type."""
    rows = service.list_facilities(service.FacilityFilter(facility_type=cycle.facility_type.value))
    return [r.facility for r in rows if r.facility.tenant_id == cycle.tenant_id]


@bp.get("/evaluations/cycles/<public_id>")
@tenant_member(check=reads_cycle, subject=evaluations.get_cycle_or_404)
def cycle(public_id):
    """A cycle's progress: each facility of its type with its result, or a link to record one."""
    cycle = evaluations.get_cycle_or_404(public_id)
    done, total = evaluations.progress(cycle)
    return render_template("oversight/evaluation_cycle.html", cycle=cycle, facilities=_cycle_facilities(cycle),
                           results=evaluations.results_of(cycle), done=done, total=total,
                           average=evaluations.type_average(cycle.year, cycle.facility_type.value),
                           can_write=cycle.tenant_id == g.membership.tenant_id, **_labels())


def _evaluation_page(cycle_areas, form, errors, status, facility=None, cycle=None, evaluation=None,
                     facility_options=()):
    return render_template("oversight/evaluation_form.html", areas=cycle_areas, form=form, errors=errors or {},
                           facility=facility, cycle=cycle, evaluation=evaluation,
                           facility_options=facility_options, **_labels()), status


@bp.route("/evaluations/cycles/<public_id>/record", methods=["GET", "POST"])
@tenant_member(check=writes_cycle, subject=evaluations.get_cycle_or_404)
def record_evaluation(public_id):
    """A facility's result in the cycle: a score per area; the total and grade follow."""
    cycle = evaluations.get_cycle_or_404(public_id)
    done = evaluations.results_of(cycle)
    candidates = {f.public_id: f for f in _cycle_facilities(cycle)}
    options = [(pid, f.name) for pid, f in candidates.items() if f.id not in done]
    if request.method == "GET":
        form = MultiDict({"facility": request.args.get("facility", ""), "evaluated_on": clock.today().isoformat()})
        return _evaluation_page(cycle.areas, form, None, 200, cycle=cycle, facility_options=options)
    previous = idempotency.previous_result()
    if previous:
        return redirect(previous, code=303)
    data, errors = parse_form(evaluation_form(cycle.areas))
    facility = candidates.get((request.form.get("facility") or "").strip())
    if facility is None:
        errors = {**errors, "facility": [_("평가한 시설을 고르세요.")]}
    elif facility.id in done:
        errors = {**errors, "facility": [_("이 시설의 이 평가 주기 결과가 이미 있습니다. 그 결과를 고치세요.")]}
    status = 422
    if not errors:
        if not idempotency.claim():
            return redirect(url_for("oversight.cycle", public_id=cycle.public_id), code=303)
        try:
            evaluation = evaluations.record(cycle, facility, scores_of(data, cycle.areas), current_user)
        except RuleViolation as violation:
            errors, status = _refused(violation)
    if errors:
        return _evaluation_page(cycle.areas, request.form, errors, status, cycle=cycle, facility_options=options)
    target = url_for("oversight.evaluation", public_id=evaluation.public_id)
    idempotency.record_result(target)
    flash(_("평가 결과를 기록했습니다: %(grade)s등급 (%(total)s점)", grade=evaluation.grade, total=points(evaluation.total)),
          "success")
    return redirect(target, code=303)


def _areas_of(evaluation) -> list[dict]:
    return [{k: row[k] for k in ("code", "label", "max_score")} for row in evaluation.scores]


@bp.get("/evaluations/<public_id>")
@tenant_member(check=reads_record, subject=evaluations.get_evaluation_or_404)
def evaluation(public_id):
    """One result: scores per area, total, grade, the evaluator's comment — and, for the
    municipality and the province, the average of its type in the region that year."""
    evaluation = evaluations.get_evaluation_or_404(public_id)
    side = _side(evaluation)
    average = None if side is Side.FACILITY else evaluations.comparison(evaluation)[1]
    return render_template("oversight/evaluation.html", evaluation=evaluation, facility=evaluation.facility,
                           average=average, can_write=side is Side.INSPECTOR, **_labels())


@bp.route("/evaluations/<public_id>/edit", methods=["GET", "POST"])
@tenant_member(check=writes_record, subject=evaluations.get_evaluation_or_404)
def edit_evaluation(public_id):
    evaluation = evaluations.get_evaluation_or_404(public_id)
    areas = _areas_of(evaluation)
    if request.method == "GET":
        form = MultiDict({f"score-{row['code']}": f"{row['score']:g}" for row in evaluation.scores})
        form.update({"evaluated_on": evaluation.evaluated_on.isoformat(), "comment": evaluation.comment or ""})
        return _evaluation_page(areas, form, None, 200, facility=evaluation.facility, evaluation=evaluation)
    data, errors = parse_form(evaluation_form(areas))
    status = 422
    if not errors:
        try:
            evaluations.update(evaluation, scores_of(data, areas), current_user)
        except RuleViolation as violation:
            errors, status = _refused(violation)
    if errors:
        return _evaluation_page(areas, request.form, errors, status, facility=evaluation.facility,
                                evaluation=evaluation)
    flash(_("평가 결과를 고쳤습니다: %(grade)s등급 (%(total)s점)", grade=evaluation.grade, total=points(evaluation.total)),
          "success")
    return redirect(url_for("oversight.evaluation", public_id=evaluation.public_id), code=303)


@bp.get("/facilities/<public_id>/evaluations")
@tenant_member(check=reads_record, subject=service.get_facility_or_404)
def facility_evaluations(public_id):
    """The facility's evaluation history, each beside the average of its type that year in the
    viewer's region (not for the facility itself, which sees only its own)."""
    facility = service.get_facility_or_404(public_id)
    side = _side(facility)
    history = evaluations.history(facility)
    averages = {} if side is Side.FACILITY else {
        e.id: evaluations.type_average(e.year, e.facility_type.value) for e in history}
    return render_template("oversight/evaluation_history.html", facility=facility, history=history,
                           averages=averages, **_labels())
