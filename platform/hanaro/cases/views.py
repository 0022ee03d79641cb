"""Case management screens: lists, opening a case, the case page and its tabs, the team and
its invitations, and the integrated view. Routes stay thin: parse, call ``service``, render.

One URL serves a page and its htmx fragment: a non-boosted htmx request gets only the part it
targets (``HX-Target``), everything else the full page.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from jinja2_fragments.flask import render_block

from ..audit.models import AccessAction
from ..audit.service import record as record_access
from ..clients import service as clients
from ..core import clock, idempotency
from ..core.access import tenant_member
from ..core.web import fragment_target
from ..core.forms import parse_filters, parse_form
from ..core.rules import RuleViolation
from ..tenancy import service as tenancy
from ..tenancy.models import RecordKind, Role
from . import deadlines, service
from .models import (
    CASE_STATUS_LABELS,
    MEMBER_STATUS_LABELS,
    NEED_LEVEL_LABELS,
    RISK_LABELS,
    SERVICE_STATUS_LABELS,
    CaseMember,
    CaseStatus,
    NoteVisibility,
)
from .schemas import (
    AcceptForm,
    CaseFilterForm,
    CloseForm,
    ConferenceForm,
    DeclineForm,
    DetailsForm,
    GoalForm,
    GoalStatusForm,
    InviteForm,
    NoteForm,
    OpenCaseForm,
    ReopenForm,
    ServiceForm,
    ServiceStatusForm,
    StatusForm,
    TaskForm,
    TimelineFilterForm,
    assessment_form,
)

bp = Blueprint("cases", __name__, url_prefix="/cases")

READ = (Role.CASE_MANAGER, Role.VIEWER)
WRITE = (Role.CASE_MANAGER,)

TABS = (
    ("overview", "cases.case", _l("개요")),
    ("assessment", "cases.assessment", _l("욕구사정")),
    ("plan", "cases.plan", _l("서비스 계획")),
    ("notes", "cases.notes", _l("메모")),
    ("conferences", "cases.conferences", _l("사례회의")),
    ("timeline", "cases.timeline", _l("타임라인")),
)
NOTE_VISIBILITY_LABELS = {
    NoteVisibility.INTERNAL: _l("우리 기관만 (내부)"),
    NoteVisibility.TEAM: _l("사례 팀 전체 공유"),
}
GOAL_STATUS_LABELS = service.GOAL_STATUS_LABELS


def _writer() -> bool:
    return g.membership.has_role(Role.CASE_MANAGER)


@dataclass(frozen=True)
class CaseAccess:
    """What the active user may do on one case (the page shows only those forms)."""

    lead: bool
    member: CaseMember | None
    writer: bool  # holds the case manager role
    open: bool
    domains: frozenset[str]  # the need domains the active tenant may see on this case

    @property
    def can_manage(self) -> bool:
        return self.lead and self.writer and self.open

    @property
    def can_contribute(self) -> bool:
        return (self.lead or self.member is not None) and self.writer and self.open


def _access(case) -> CaseAccess:
    lead = service.is_lead(case)
    return CaseAccess(
        lead=lead,
        member=None if lead else service.my_membership(case),
        writer=_writer(),
        open=case.status is not CaseStatus.CLOSED,
        domains=service.visible_need_domains(case.client, case),
    )


def _labels() -> dict:
    return {
        "status_labels": CASE_STATUS_LABELS,
        "risk_labels": RISK_LABELS,
        "member_status_labels": MEMBER_STATUS_LABELS,
        "level_labels": NEED_LEVEL_LABELS,
        "service_status_labels": SERVICE_STATUS_LABELS,
        "goal_status_labels": GOAL_STATUS_LABELS,
        "closure_reasons": service.CLOSURE_REASONS,
        "note_visibility_labels": NOTE_VISIBILITY_LABELS,
        "risk_options": [(r.value, label) for r, label in RISK_LABELS.items()],
    }


def _worker_options() -> list[tuple[str, str]]:
    return service.case_workers()


def _provider_options(case, chosen_code: str | None) -> list[tuple[str, str]]:
    """The case team, and the provider chosen by a search if the form comes back; other tenants
    are searched for (forms.tenant_select), not listed."""
    tenants = [t for t in service.team_tenants(case) if t.active]
    chosen = tenancy.tenant_by_code(chosen_code) if chosen_code else None
    if chosen is not None and chosen.active and chosen not in tenants:
        tenants.append(chosen)
    return [(t.code, t.name) for t in tenants]


# -- the case page ----------------------------------------------------------------------------------------

def _tab_data(case, tab: str, access: CaseAccess, **extra) -> dict:
    if tab == "overview":
        data = {"team": service.team_of(case), "milestones": service.schedule(case),
                "transitions": service.allowed_transitions(case) if access.can_manage else ()}
        if access.can_manage:
            # Only partners whose agreement allows a team invitation: not every tenant of the country.
            invite = tenancy.partners_sharing(RecordKind.CLIENT.value, RecordKind.CASE.value)
            data.update(worker_options=_worker_options(),
                        dong_choice=tenancy.dong_choice(extra.get("dong_value", case.dong_code),
                                                        g.active_tenant.region_code),
                        invite_options=[(t.code, t.name) for t in invite])
        return data
    if tab == "assessment":
        shown = extra.get("shown") or service.latest_assessment(case)
        return {"shown": shown, "latest": extra.get("latest", shown), "versions": service.assessments_of(case),
                "domains": service.need_domains()}
    if tab == "plan":
        goals = service.goals_of(case)
        data = {"goals": goals}
        if access.can_manage:
            data.update(domain_options=[(d.code, d.name) for d in service.need_domains()],
                        goal_options=[(goal.public_id, f"{goal.domain.name}: {goal.goal[:60]}") for goal in goals
                                      if goal.status.value == "active"],
                        provider_options=_provider_options(case, extra.get("provider_value")))
        return data
    if tab == "notes":
        return {"notes": service.notes_of(case)}
    if tab == "conferences":
        data = {"conferences": service.conferences_of(case)}
        if access.can_manage:
            data["assignee_options"] = [(t.code, t.name) for t in service.team_tenants(case)]
        return data
    if tab == "timeline":
        kind = extra.get("kind")
        return {"entries": service.timeline(case, kind), "kind": kind or "",
                "kind_options": list(service.TIMELINE_CATEGORIES.items())}
    raise ValueError(tab)


def _posted_values(failed: str | None, form) -> dict:
    """What a form that came back chose among options the page does not list by default."""
    if failed == "details":
        return {"dong_value": form.get("dong_code")}
    if failed == "service":
        return {"provider_value": form.get("provider_tenant")}
    return {}


def _render_case(case, tab: str, status: int = 200, failed: str | None = None, errors: dict | None = None,
                 form=None, **extra):
    """The case page on ``tab`` (or, for htmx, the part it targets). Writes the access log: the
    page shows the client's personal data."""
    access = _access(case)
    if case.client is not None:
        record_access(case.client, AccessAction.VIEW, what="case")
    context = {
        "case": case,
        "client": case.client,
        "tab": tab,
        "tabs": TABS,
        "access": access,
        "due": deadlines.stage_due(case) if access.open else None,
        "failed": failed,
        "errors": errors or {},
        "form": form if form is not None else {},
        **_labels(),
        **_tab_data(case, tab, access, **extra,
                    **_posted_values(failed, form)),
    }
    target = fragment_target()
    if target == "timeline-list" and tab == "timeline":
        return render_block("cases/_tab_timeline.html", "timeline_list", **context), status
    if target == "case-tabs":
        return render_block("cases/case.html", "tabs", **context), status
    return render_template("cases/case.html", **context), status


def _violated(case, tab: str, failed: str, errors: dict, **extra):
    """Re-render ``tab`` with the messages next to the fields of form ``failed`` and what was typed."""
    return _render_case(case, tab, 422, failed=failed, errors=errors, form=request.form, **extra)


def _to_case(case, tab_endpoint: str = "cases.case", anchor: str = ""):
    return redirect(url_for(tab_endpoint, public_id=case.public_id) + anchor, code=303)


@bp.get("/<public_id>")
@tenant_member(*READ)
def case(public_id):
    return _render_case(service.get_case_or_404(public_id), "overview")


@bp.get("/<public_id>/assessment")
@tenant_member(*READ)
def assessment(public_id):
    return _render_case(service.get_case_or_404(public_id), "assessment")


@bp.get("/assessments/<public_id>")
@tenant_member(*READ)
def assessment_version(public_id):
    version, case = service.get_assessment_or_404(public_id)
    return _render_case(case, "assessment", shown=version, latest=service.latest_assessment(case))


@bp.get("/<public_id>/plan")
@tenant_member(*READ)
def plan(public_id):
    return _render_case(service.get_case_or_404(public_id), "plan")


@bp.get("/<public_id>/notes")
@tenant_member(*READ)
def notes(public_id):
    return _render_case(service.get_case_or_404(public_id), "notes")


@bp.get("/<public_id>/conferences")
@tenant_member(*READ)
def conferences(public_id):
    return _render_case(service.get_case_or_404(public_id), "conferences")


@bp.get("/<public_id>/timeline")
@tenant_member(*READ)
def timeline(public_id):
    case = service.get_case_or_404(public_id)
    data, errors = parse_form(TimelineFilterForm(), request.args)
    kind = (data or {}).get("kind")
    return _render_case(case, "timeline", kind=kind if kind in service.TIMELINE_CATEGORIES else None)


# -- opening a case ---------------------------------------------------------------------------------------

def _open_form_context(client, form):
    return {
        "client": client,
        "client_options": [] if client else [
            (c.public_id, f"{c.name} ({c.rrn_masked or c.birth_date})") for c in clients.search_clients(limit=200)
        ],
        "case_type_options": [(t.code, t.name) for t in service.case_types()],
        "worker_options": _worker_options(),
        "risk_options": [(r.value, label) for r, label in RISK_LABELS.items()],
        "dong_choice": tenancy.dong_choice(form.get("dong_code"), g.active_tenant.region_code),
    }


@bp.route("/new", methods=["GET", "POST"])
@tenant_member(*WRITE)
def open_case():
    if request.method == "GET":
        client = clients.own_client_or_404(request.args["client"]) if request.args.get("client") else None
        if client is not None:
            record_access(client, AccessAction.VIEW, what="case")
        form = {"client": client.public_id if client else "", "risk_level": "medium",
                "received_on": clock.today().isoformat(), "dong_code": client.dong_code if client else "",
                "lead_worker": current_user.public_id}
        return render_template("cases/new.html", form=form, errors={}, **_open_form_context(client, form))
    previous = idempotency.previous_result()
    if previous:
        return redirect(previous, code=303)
    data, errors = parse_form(OpenCaseForm())
    client = clients.own_client_or_404(request.form["client"]) if request.form.get("client") else None
    if not errors:
        if not idempotency.claim():
            return redirect(url_for("cases.index"), code=303)
        try:
            opened = service.open_case(client, data, current_user)
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        return render_template("cases/new.html", form=request.form, errors=errors,
                               **_open_form_context(client, request.form)), 422
    target = url_for("cases.case", public_id=opened.public_id)
    idempotency.record_result(target)
    record_access(client, AccessAction.CHANGE, what="case")
    flash(_("사례를 열었습니다. 욕구 및 위기도 조사는 접수일로부터 %(n)s일 안에 마치세요.", n=deadlines.ASSESSMENT_DAYS),
          "success")
    return redirect(target, code=303)


# -- status, details, closing, reopening -------------------------------------------------------------------

@bp.post("/<public_id>/details")
@tenant_member(*WRITE)
def update_details(public_id):
    case = service.own_case_or_404(public_id)
    data, errors = parse_form(DetailsForm())
    if not errors:
        try:
            service.update_details(case, data, current_user)
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        return _violated(case, "overview", "details", errors)
    flash(_("기본 정보를 저장했습니다."), "success")
    return _to_case(case, anchor="#details")


@bp.post("/<public_id>/status")
@tenant_member(*WRITE)
def change_status(public_id):
    case = service.own_case_or_404(public_id)
    data, errors = parse_form(StatusForm())
    if not errors:
        try:
            service.change_status(case, data["status"], current_user)
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        return _violated(case, "overview", "status", errors)
    flash(_("진행 단계를 '%(status)s'(으)로 바꿨습니다.", status=case.status_label), "success")
    return _to_case(case)


@bp.post("/<public_id>/close")
@tenant_member(*WRITE)
def close(public_id):
    case = service.own_case_or_404(public_id)
    data, errors = parse_form(CloseForm())
    if not errors:
        try:
            service.close_case(case, data["closure_reason"], data["closure_evaluation"], current_user)
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        return _violated(case, "overview", "close", errors)
    flash(_("사례를 종결했습니다. 협업 기관의 대상자 정보 접근은 끝났고, 사례 기록은 팀이 계속 읽을 수 있습니다."), "success")
    return _to_case(case)


@bp.post("/<public_id>/reopen")
@tenant_member(*WRITE)
def reopen(public_id):
    case = service.own_case_or_404(public_id)
    data, errors = parse_form(ReopenForm())
    if not errors:
        try:
            service.reopen_case(case, data["status"], data["reason"], current_user)
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        return _violated(case, "overview", "reopen", errors)
    flash(_("사례를 다시 열었습니다. 기한은 오늘부터 다시 셉니다."), "success")
    return _to_case(case)


# -- the team ------------------------------------------------------------------------------------------------

@bp.post("/<public_id>/members")
@tenant_member(*WRITE)
def invite(public_id):
    case = service.own_case_or_404(public_id)
    previous = idempotency.previous_result()
    if previous:
        return redirect(previous, code=303)
    data, errors = parse_form(InviteForm())
    if not errors:
        if not idempotency.claim():
            return _to_case(case, anchor="#team")
        try:
            tenant = service.tenant_by_code(data["tenant"], "tenant")
            service.invite(case, tenant, data.get("worker_name"), data.get("message"), current_user)
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        return _violated(case, "overview", "invite", errors)
    target = url_for("cases.case", public_id=case.public_id) + "#team"
    idempotency.record_result(target)
    flash(_("%(name)s에 초대를 보냈습니다. 수락하면 대상자 정보가 공유됩니다.", name=tenant.name), "success")
    return redirect(target, code=303)


@bp.post("/members/<public_id>/remove")
@tenant_member(*WRITE)
def remove_member(public_id):
    member = service.get_member_or_404(public_id)
    try:
        case = service.remove_member(member, current_user)
    except RuleViolation as violation:
        flash(violation.message, "error")
        return redirect(url_for("cases.case", public_id=service.case_by_id_or_404(member.case_id).public_id) + "#team",
                        code=303)
    flash(_("%(name)s을(를) 사례 팀에서 제외했습니다.", name=member.member_tenant.name), "success")
    return _to_case(case, anchor="#team")


@bp.post("/<public_id>/leave")
@tenant_member(*WRITE)
def leave(public_id):
    case = service.get_case_or_404(public_id)
    service.leave_case(case, current_user)
    flash(_("사례 팀에서 나왔습니다. 이 사례와 대상자 정보는 더 이상 볼 수 없습니다."), "success")
    return redirect(url_for("cases.index", scope="shared"), code=303)


def _invitation_page(member, status=200, failed=None, errors=None, form=None):
    return render_template(
        "cases/invitation.html", member=member, worker_options=_worker_options(), failed=failed,
        errors=errors or {}, form=form if form is not None else {"worker": current_user.public_id},
        member_status_labels=MEMBER_STATUS_LABELS, can_answer=_writer(),
    ), status


@bp.get("/invitations/<public_id>")
@tenant_member(*READ)
def invitation(public_id):
    return _invitation_page(service.get_invitation_or_404(public_id))


@bp.post("/invitations/<public_id>/accept")
@tenant_member(*WRITE)
def accept_invitation(public_id):
    member = service.get_invitation_or_404(public_id)
    data, errors = parse_form(AcceptForm())
    if not errors:
        try:
            case = service.accept_invitation(member, data["worker"], data.get("note"), current_user)
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        return _invitation_page(member, 422, "accept", errors, request.form)
    flash(_("초대를 수락했습니다. 이제 사례 팀의 일원입니다."), "success")
    return _to_case(case)


@bp.post("/invitations/<public_id>/decline")
@tenant_member(*WRITE)
def decline_invitation(public_id):
    member = service.get_invitation_or_404(public_id)
    data, errors = parse_form(DeclineForm())
    if not errors:
        try:
            service.decline_invitation(member, data["note"], current_user)
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        return _invitation_page(member, 422, "decline", errors, request.form)
    flash(_("초대를 거절했습니다."), "success")
    return redirect(url_for("cases.index", scope="shared"), code=303)


# -- assessment --------------------------------------------------------------------------------------------------

@bp.post("/<public_id>/assessment")
@tenant_member(*WRITE)
def save_assessment(public_id):
    case = service.own_case_or_404(public_id)
    previous = idempotency.previous_result()
    if previous:
        return redirect(previous, code=303)
    data, errors = parse_form(assessment_form(service.need_domains()))
    if not errors:
        if not idempotency.claim():
            return _to_case(case, "cases.assessment")
        try:
            saved = service.save_assessment(case, data, current_user)
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        return _violated(case, "assessment", "assessment", errors)
    target = url_for("cases.assessment", public_id=case.public_id)
    idempotency.record_result(target)
    flash(_("%(version)s차 욕구 및 위기도 조사를 저장했습니다.", version=saved.version), "success")
    return redirect(target, code=303)


# -- service plan --------------------------------------------------------------------------------------------------

@bp.post("/<public_id>/goals")
@tenant_member(*WRITE)
def add_goal(public_id):
    case = service.own_case_or_404(public_id)
    previous = idempotency.previous_result()
    if previous:
        return redirect(previous, code=303)
    data, errors = parse_form(GoalForm())
    if not errors:
        if not idempotency.claim():
            return _to_case(case, "cases.plan")
        try:
            service.add_goal(case, data, current_user)
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        return _violated(case, "plan", "goal", errors)
    target = url_for("cases.plan", public_id=case.public_id) + "#goals"
    idempotency.record_result(target)
    flash(_("목표를 추가했습니다."), "success")
    return redirect(target, code=303)


@bp.post("/goals/<public_id>/status")
@tenant_member(*WRITE)
def goal_status(public_id):
    goal, case = service.get_goal_or_404(public_id)
    service.require_lead(case)
    data, errors = parse_form(GoalStatusForm())
    if not errors:
        try:
            service.set_goal_status(goal, case, data["status"], current_user)
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        return _violated(case, "plan", f"goal-{goal.public_id}", errors)
    return _to_case(case, "cases.plan", f"#goal-{goal.public_id}")


@bp.post("/<public_id>/services")
@tenant_member(*WRITE)
def add_service(public_id):
    case = service.own_case_or_404(public_id)
    previous = idempotency.previous_result()
    if previous:
        return redirect(previous, code=303)
    data, errors = parse_form(ServiceForm())
    if not errors:
        if not idempotency.claim():
            return _to_case(case, "cases.plan")
        try:
            service.add_service(case, data, current_user)
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        return _violated(case, "plan", "service", errors)
    target = url_for("cases.plan", public_id=case.public_id) + "#goals"
    idempotency.record_result(target)
    flash(_("서비스 계획을 추가했습니다."), "success")
    return redirect(target, code=303)


@bp.post("/services/<public_id>/status")
@tenant_member(*WRITE)
def service_status(public_id):
    """Inline edit: htmx gets the service's row back, a plain form the plan page."""
    planned, case = service.get_service_or_404(public_id)
    data, errors = parse_form(ServiceStatusForm())
    if not errors:
        try:
            service.set_service_status(planned, case, data["status"], current_user)
        except RuleViolation as violation:
            errors = violation.as_errors()
    if fragment_target() == f"service-{planned.public_id}":
        return render_template("cases/_service_row.html", s=planned, case=case, access=_access(case),
                               row_errors=errors.get("status") if errors else None, **_labels()), 422 if errors else 200
    if errors:
        return _violated(case, "plan", f"service-{planned.public_id}", errors)
    return _to_case(case, "cases.plan", f"#service-{planned.public_id}")


# -- notes -------------------------------------------------------------------------------------------------------

@bp.post("/<public_id>/notes")
@tenant_member(*WRITE)
def add_note(public_id):
    case = service.get_case_or_404(public_id)
    previous = idempotency.previous_result()
    if previous:
        return redirect(previous, code=303)
    data, errors = parse_form(NoteForm())
    if not errors:
        if not idempotency.claim():
            return _to_case(case, "cases.notes")
        try:
            service.add_note(case, data["visibility"], data["body"], current_user)
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        return _violated(case, "notes", "note", errors)
    target = url_for("cases.notes", public_id=case.public_id)
    idempotency.record_result(target)
    flash(_("메모를 남겼습니다."), "success")
    return redirect(target, code=303)


# -- case conferences -------------------------------------------------------------------------------------------

@bp.post("/<public_id>/conferences")
@tenant_member(*WRITE)
def add_conference(public_id):
    case = service.own_case_or_404(public_id)
    previous = idempotency.previous_result()
    if previous:
        return redirect(previous, code=303)
    data, errors = parse_form(ConferenceForm())
    if not errors:
        if not idempotency.claim():
            return _to_case(case, "cases.conferences")
        try:
            service.hold_conference(case, data, current_user)
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        return _violated(case, "conferences", "conference", errors)
    target = url_for("cases.conferences", public_id=case.public_id)
    idempotency.record_result(target)
    flash(_("사례회의를 기록했습니다."), "success")
    return redirect(target, code=303)


@bp.post("/conferences/<public_id>/tasks")
@tenant_member(*WRITE)
def add_task(public_id):
    conference, case = service.get_conference_or_404(public_id)
    service.require_lead(case)
    previous = idempotency.previous_result()
    if previous:
        return redirect(previous, code=303)
    data, errors = parse_form(TaskForm())
    if not errors:
        if not idempotency.claim():
            return _to_case(case, "cases.conferences")
        try:
            service.add_task(conference, case, data, current_user)
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        return _violated(case, "conferences", f"task-{conference.public_id}", errors)
    target = url_for("cases.conferences", public_id=case.public_id) + f"#conference-{conference.public_id}"
    idempotency.record_result(target)
    flash(_("후속 과제를 추가했습니다."), "success")
    return redirect(target, code=303)


@bp.post("/tasks/<public_id>/done")
@tenant_member(*WRITE)
def complete_task(public_id):
    """Inline edit: htmx gets the task's row back."""
    task, case = service.get_task_or_404(public_id)
    errors = {}
    try:
        service.complete_task(task, case, current_user)
    except RuleViolation as violation:
        errors = violation.as_errors()
    if fragment_target() == f"task-{task.public_id}":
        return render_template("cases/_task_row.html", t=task, case=case, access=_access(case),
                               row_errors=errors.get("_form"), **_labels()), 422 if errors else 200
    if errors:
        return _violated(case, "conferences", f"done-{task.public_id}", errors)
    return _to_case(case, "cases.conferences", f"#task-{task.public_id}")


# -- lists ----------------------------------------------------------------------------------------------------

def _filters(values: dict) -> service.CaseFilters:
    """The list's filters; a value that does not validate is dropped, not an error page."""
    return service.CaseFilters(**parse_filters(CaseFilterForm(), values))


@bp.route("", methods=["GET", "POST"])
@tenant_member(*READ)
def index():
    """Searching posts the form, so client names never end up in URLs or server logs (GET ignores
    ``q``; the filters without personal data still work as links). Case
    managers start on their own cases; viewers, who have none, on the tenant's."""
    if request.method == "POST":
        values = request.form.to_dict()
    else:  # a name or resident number typed into a URL is neither searched nor echoed
        values = {key: value for key, value in request.args.items() if key != "q"}
    values.setdefault("scope", "mine" if _writer() else "tenant")
    filters = _filters(values)
    page = service.list_cases(filters, current_user)
    if filters.q:
        for listed in page.cases:
            if listed.client is not None:
                record_access(listed.client, AccessAction.SEARCH, what="case_search")
    context = {
        "page": page,
        "filters": filters,
        "invitations": service.pending_invitations(),
        "scopes": [("mine", _("내 사례")), ("tenant", _("기관 사례")), ("shared", _("공유받은 사례"))],
        "case_type_options": [(t.code, t.name) for t in service.case_types()],
        "status_options": [("open", _("진행 중 (종결 제외)"))] + [(s.value, label) for s, label in CASE_STATUS_LABELS.items()],
        "worker_options": _worker_options(),
        "dong_options": service.dong_options(),
        "stage_due": deadlines.stage_due,
        "can_open": _writer(),
        **_labels(),
    }
    if fragment_target() == "case-results":
        return render_block("cases/index.html", "results", **context)
    return render_template("cases/index.html", **context)


# -- the integrated view (정보연계) -----------------------------------------------------------------------------

@bp.get("/clients/<public_id>/integrated")
@tenant_member(*READ)
def integrated_view(public_id):
    client = clients.get_client_or_404(public_id)
    view = service.integrated_view(client)
    record_access(client, AccessAction.VIEW, what="integrated_view")
    return render_template("cases/integrated.html", view=view, client=client, **_labels())
