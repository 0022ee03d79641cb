"""Corrective-action screens (시정 요구), both sides: the list (the facility's open actions, the
municipality's requests, the province's view; overdue flagged), and an action's page with its
finding, due date, every step as a history with the evidence sent, and the forms for the steps the
viewer may take now. Routes stay thin: parse, call ``actions``, render.

The facility answers with text and evidence files (any staff but view-only members); the
municipality's inspectors (``Role.INSPECTOR``) accept, send back with a reason, cancel, extend the
due date, and record a paper answer for a facility not on the platform. Every form carries the
version of the action the page showed, so a step taken on a stale page (a colleague or the other
side acted meanwhile) is refused with the reason and the page as it is now.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..core import clock, idempotency, uploads
from ..core.access import tenant_member
from ..core.db import db
from ..core.forms import parse_form
from ..core.rules import RuleViolation
from . import actions, files, states
from .access import ANSWER_ROLES, INSPECTOR_ROLES, reads_lists, reads_record, takes_action_step
from .inspection_schemas import ActionListArgs, ExtendForm, StepForm
from .inspection_views import refusal_status, send_stored, uploaded
from .models import ACTION_STATE_LABELS, FileKind, Inspection
from .service import FACILITY_TENANT_KINDS, link, side_of

bp = Blueprint("corrective_actions", __name__, url_prefix="/oversight/actions")

STEPS = ("answer", "record_answer", "accept", "return", "cancel")
STEP_LABELS = {**{name: t.label for name, t in states.ACTION_TRANSITIONS.items()}, "extend": _l("기한 연장"),
               "request": _l("시정 요구")}


def _may(step: str) -> bool:
    membership = g.get("membership")
    if membership is None:
        return False
    return membership.has_role(*(ANSWER_ROLES if step == "answer" else INSPECTOR_ROLES))


def _labels() -> dict:
    return {"state_labels": ACTION_STATE_LABELS, "step_labels": STEP_LABELS,
            "evidence_accept": uploads.accept(files.ALLOWED[FileKind.EVIDENCE]),
            "max_files": files.MAX_FILES, "facility_link": lambda facility: link("facility", facility.public_id)}


# -- the list ---------------------------------------------------------------------------------------------

@bp.get("")
@tenant_member(check=reads_lists)
def index():
    """Open actions (default), only overdue ones, or all with the closed ones after them."""
    data, errors = parse_form(ActionListArgs(), request.args)
    show = "open" if errors else data["show"]
    today = clock.today()
    rows = {"open": actions.open_actions, "overdue": actions.overdue_actions, "all": actions.all_actions}[show]()
    overdue_count = len(rows) if show == "overdue" else len(actions.overdue_actions(today))
    tenant = g.get("active_tenant")
    return render_template("oversight/actions.html", rows=rows, show=show, today=today, overdue_count=overdue_count,
                           is_overdue=actions.is_overdue, days_overdue=actions.days_overdue,
                           as_facility=tenant is not None and tenant.kind in FACILITY_TENANT_KINDS, **_labels())


# -- an action's page -------------------------------------------------------------------------------------

def _context(action, failed=None, errors=None, form=None) -> dict:
    side = side_of(action)
    steps = [s for s in actions.available_actions(action) if _may(s)]
    return {
        "action": action, "facility": action.facility, "finding": action.finding, "side": side.value if side else None,
        "inspection": db.session.get(Inspection, action.inspection_id),
        "steps": steps, "events": actions.events(action), "evidence": actions.evidence(action),
        "overdue": actions.is_overdue(action), "days_overdue": actions.days_overdue(action),
        "paper": action.facility.facility_tenant_id is None,
        "failed": failed, "errors": errors or {}, "form": form if form is not None else {},
        "today": clock.today(), **_labels(),
    }


def _page(action, status=200, **kwargs):
    return render_template("oversight/action.html", **_context(action, **kwargs)), status


@bp.get("/<public_id>")
@tenant_member(check=reads_record, subject=actions.get_action_or_404)
def show(public_id):
    return _page(actions.get_action_or_404(public_id))


def _to_action(action, anchor: str = ""):
    return redirect(url_for(".show", public_id=action.public_id) + anchor, code=303)


def _refused(public_id: str, failed: str, errors: dict, status: int, files_chosen: bool = False):
    """Undo what the refused step touched and show the action as it is now, with the reason."""
    db.session.rollback()
    if files_chosen and "file" not in errors:
        errors["file"] = [_("보안을 위해 고른 파일은 다시 골라야 합니다.")]
    return _page(actions.get_action_or_404(public_id), status, failed=failed, errors=errors, form=request.form)


DONE = {
    "answer": _l("조치 결과를 제출했습니다. 지도점검 담당자가 확인합니다."),
    "record_answer": _l("서면으로 받은 조치 결과를 입력했습니다."),
    "accept": _l("이행 확인했습니다. 시설에 알렸습니다."),
    "return": _l("보완을 요구했습니다. 시설에 사유를 알렸습니다."),
    "cancel": _l("시정 요구를 취소했습니다."),
}


@bp.post("/<public_id>/<any(answer, record_answer, accept, return, cancel):step>")
@tenant_member(check=takes_action_step, subject=actions.get_action_or_404)
def step(public_id, step):
    action = actions.get_action_or_404(public_id)
    previous = idempotency.previous_result()
    if previous:
        return redirect(previous, code=303)
    data, errors = parse_form(StepForm())
    evidence = uploaded("file") if step in ("answer", "record_answer") else []
    status = 422
    if not errors:
        if not idempotency.claim():
            return _to_action(action, "#history")
        try:
            actions.act(action, step, current_user, data, evidence)
        except RuleViolation as violation:
            errors, status = violation.as_errors(), refusal_status(violation)
    if errors:
        return _refused(public_id, step, errors, status, files_chosen=bool(evidence))
    idempotency.record_result(url_for(".show", public_id=public_id) + "#history")
    flash(str(DONE[step]), "success")
    return _to_action(action, "#history")


@bp.post("/<public_id>/extend")
@tenant_member(*INSPECTOR_ROLES)
def extend(public_id):
    """기한 연장, with the reason, while the facility still has to act."""
    action = actions.get_action_or_404(public_id)
    data, errors = parse_form(ExtendForm())
    status = 422
    if not errors:
        try:
            actions.extend_due(action, data, current_user)
        except RuleViolation as violation:
            errors, status = violation.as_errors(), refusal_status(violation)
    if errors:
        return _refused(public_id, "extend", errors, status)
    flash(_("조치 기한을 %(due)s(으)로 연장했습니다. 시설에 알렸습니다.", due=action.due_on.isoformat()), "success")
    return _to_action(action, "#history")


@bp.get("/<public_id>/files/<file_id>")
@tenant_member(check=reads_record, subject=actions.get_action_or_404)
def evidence_file(public_id, file_id):
    action = actions.get_action_or_404(public_id)
    stored = files.get_file_or_404(file_id)
    if stored.kind is not FileKind.EVIDENCE or stored.action_id != action.id or stored.tenant_id != action.tenant_id:
        abort(404)
    return send_stored(stored)
