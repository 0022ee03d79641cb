"""Screens of pilot workspaces (시범사업): what a workspace is, who takes part, its phases, village
planners and feature switches; and, for the coordinating tenant's pilot coordinators, changing them.

Every member of a tenant that runs or takes part in a workspace may look at it; anyone else gets
404 (the workspace does not exist for them). Changes are for the coordinators only (403 for the
participants, who know the workspace exists). Routes stay thin: parse, call ``service``, render.
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from jinja2_fragments.flask import render_block
from marshmallow import ValidationError, fields, validates_schema

from ..core.access import tenant_member
from ..core.forms import FormSchema, length, one_of
from ..core.forms import parse_form
from ..core.rules import RuleViolation
from ..core.web import fragment_target
from ..tenancy import service as tenancy
from ..tenancy.models import TENANT_KIND_LABELS
from . import navigation, service
from .access import coordinates
from .features import FEATURES
from .models import PHASE_LABELS, WORKSPACE_STATUS_LABELS, Phase, SwitchState

bp = Blueprint("pilots", __name__, url_prefix="/pilots")

@bp.app_template_global()
def pilot_section_links() -> list[tuple[str, str]]:
    """The pilot screens' own menu for base.html (empty elsewhere)."""
    return navigation.section_links()


SWITCH_LABELS = {SwitchState.OFF: _l("끄기"), SwitchState.PILOT: _l("시범 기관만"), SwitchState.EVERYONE: _l("전체")}


# -- forms ---------------------------------------------------------------------------------------------

class ParticipantForm(FormSchema):
    tenant = fields.String(required=True, validate=length(max=64))
    joined_on = fields.Date(load_default=None)


class LeaveForm(FormSchema):
    tenant = fields.String(required=True, validate=length(max=64))


class PlannerForm(FormSchema):
    name = fields.String(required=True, validate=length(min=1, max=100))
    dong_code = fields.String(required=True, validate=length(max=10))


class SwitchForm(FormSchema):
    key = fields.String(required=True, validate=one_of(list(FEATURES)))
    state = fields.String(required=True, validate=one_of([s.value for s in SwitchState]))


class PhasesForm(FormSchema):
    """A start and an end per phase; a phase left blank has no period. Problems next to the field."""

    preparation_start = fields.Date(load_default=None)
    preparation_end = fields.Date(load_default=None)
    pilot_start = fields.Date(load_default=None)
    pilot_end = fields.Date(load_default=None)
    evaluation_start = fields.Date(load_default=None)
    evaluation_end = fields.Date(load_default=None)
    expansion_start = fields.Date(load_default=None)
    expansion_end = fields.Date(load_default=None)

    @validates_schema
    def _periods(self, data, **kwargs):
        errors = {}
        for phase in Phase:
            if data.get(f"{phase.value}_end") and not data.get(f"{phase.value}_start"):
                errors[f"{phase.value}_start"] = [str(_l("종료일이 있으면 시작일도 입력하세요."))]
        periods = _periods_of(data)
        for problem in service.phase_problems(periods):
            errors.setdefault(f"{problem.phase.value}_{problem.field}",
                              [str(service.PHASE_MESSAGES[problem.kind](problem.other))])
        if errors:
            raise ValidationError(errors)


def _periods_of(data: dict) -> dict:
    return {phase: (data[f"{phase.value}_start"], data.get(f"{phase.value}_end"))
            for phase in Phase if data.get(f"{phase.value}_start")}


# -- pages ---------------------------------------------------------------------------------------------

def _labels() -> dict:
    return {"phase_labels": PHASE_LABELS, "status_labels": WORKSPACE_STATUS_LABELS, "switch_labels": SWITCH_LABELS,
            "kind_labels": TENANT_KIND_LABELS, "phases_in_order": list(Phase),
            "switch_options": [(state.value, label) for state, label in SWITCH_LABELS.items()]}


def _overview(workspace) -> dict:
    """Everything the overview of ``workspace`` shows, as far as the active tenant may see it."""
    phases = service.phases(workspace)
    return {
        "workspace": workspace,
        "runs_it": service.runs(workspace),
        "regions": service.regions_of(workspace),
        "phases": phases,
        "periods": {p.phase: p for p in phases},
        "current": service.current_phase(workspace, periods=phases),
        "participants": service.participants(workspace, include_left=True),
        "planners": service.planners(workspace),
        "features": service.feature_states(workspace),
    }


@bp.get("")
@tenant_member()
def index():
    workspaces = [_overview(w) for w in service.visible_workspaces()]
    return render_template("pilots/index.html", workspaces=workspaces, **_labels())


def _workspace_page(workspace, form=None, errors=None, failed=None, status=200, saved=None):
    """The workspace page, or only its switch panel when htmx asks for it. ``failed`` names the form
    whose input and messages come back."""
    context = {**_overview(workspace), **_labels(), "coordinator": service.is_coordinator(workspace),
               "form": form or {}, "errors": errors or {}, "failed": failed, "saved": saved}
    if context["coordinator"]:
        taking_part = {p.participant_tenant_id for p in context["participants"] if p.left_on is None}
        context["tenant_options"] = [(t.code, t.name) for t in tenancy.all_tenants()
                                     if t.active and t.id != workspace.tenant_id and t.id not in taking_part]
        context["dong_options"] = [(r.code, r.name) for r in context["regions"]]
        context["phase_values"] = {f"{p.phase.value}_{edge}": getattr(p, f"{edge}s_on")
                                   for p in context["phases"] for edge in ("start", "end")}
    if fragment_target() == "feature-switches":
        return render_block("pilots/workspace.html", "feature_switches", **context), status
    return render_template("pilots/workspace.html", **context), status


@bp.get("/<public_id>")
@tenant_member()
def workspace(public_id):
    return _workspace_page(service.get_workspace_or_404(public_id))


def _back(workspace, anchor: str):
    return redirect(url_for("pilots.workspace", public_id=workspace.public_id) + anchor, code=303)


def _tenant_field(code):
    tenant = tenancy.tenant_by_code(code)
    if tenant is None or not tenant.active:
        raise RuleViolation(_("목록에 있는 기관을 고르세요."), "tenant")
    return tenant


@bp.post("/<public_id>/participants")
@tenant_member(check=coordinates, subject=service.get_workspace_or_404)
def add_participant(public_id):
    workspace = service.get_workspace_or_404(public_id)
    data, errors = parse_form(ParticipantForm())
    if not errors:
        try:
            participant = service.add_participant(workspace, _tenant_field(data["tenant"]), data["joined_on"])
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        return _workspace_page(workspace, request.form, errors, "participant", 422)
    flash(_("참여 기관을 추가했습니다: %(name)s", name=participant.participant.name), "success")
    return _back(workspace, "#participants")


@bp.post("/<public_id>/participants/leave")
@tenant_member(check=coordinates, subject=service.get_workspace_or_404)
def remove_participant(public_id):
    workspace = service.get_workspace_or_404(public_id)
    data, errors = parse_form(LeaveForm())
    if not errors:
        try:
            participant = service.remove_participant(workspace, _tenant_field(data["tenant"]))
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        return _workspace_page(workspace, request.form, {"leave": sum(errors.values(), [])}, "leave", 422)
    flash(_("%(name)s의 시범사업 참여를 종료했습니다.", name=participant.participant.name), "success")
    return _back(workspace, "#participants")


@bp.post("/<public_id>/phases")
@tenant_member(check=coordinates, subject=service.get_workspace_or_404)
def save_phases(public_id):
    workspace = service.get_workspace_or_404(public_id)
    data, errors = parse_form(PhasesForm())
    if not errors:
        try:
            service.save_phases(workspace, _periods_of(data))
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        return _workspace_page(workspace, request.form, errors, "phases", 422)
    flash(_("단계 일정을 저장했습니다."), "success")
    return _back(workspace, "#phases")


@bp.post("/<public_id>/planners")
@tenant_member(check=coordinates, subject=service.get_workspace_or_404)
def add_planner(public_id):
    workspace = service.get_workspace_or_404(public_id)
    data, errors = parse_form(PlannerForm())
    if not errors:
        try:
            service.add_planner(workspace, data["name"], data["dong_code"])
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        return _workspace_page(workspace, request.form, errors, "planner", 422)
    flash(_("마을복지플래너를 추가했습니다: %(name)s", name=data["name"]), "success")
    return _back(workspace, "#planners")


@bp.post("/<public_id>/features")
@tenant_member(check=coordinates, subject=service.get_workspace_or_404)
def set_feature(public_id):
    """One switch; htmx swaps the switch panel in place, a plain form goes back to the page."""
    workspace = service.get_workspace_or_404(public_id)
    data, errors = parse_form(SwitchForm())
    if not errors:
        try:
            service.set_switch(workspace, data["key"], SwitchState(data["state"]), current_user)
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        return _workspace_page(workspace, request.form, errors, "features", 422)
    label = FEATURES[data["key"]][0]
    message = _("%(feature)s: %(state)s(으)로 바꿨습니다.", feature=label, state=SWITCH_LABELS[SwitchState(data["state"])])
    if fragment_target() == "feature-switches":
        return _workspace_page(workspace, saved=message)
    flash(message, "success")
    return _back(workspace, "#feature-switches")
