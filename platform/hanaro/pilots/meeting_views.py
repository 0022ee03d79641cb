"""Regional care meeting screens (지역케어회의): the meeting list, a new meeting, the meeting page
(members, agenda, minutes, follow-up actions) and the tenant's task list. Routes stay thin:
parse, call ``meetings``, render. Every route is behind the ``care_meetings`` feature switch.

A meeting another tenant neither organises nor attends answers 404 on every route; a member that
tries what only the organiser's editors may do gets 403. What a case item shows, and to whom, is
decided in ``meetings.agenda_for_viewer``.
"""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from jinja2_fragments.flask import render_block
from marshmallow import ValidationError, fields, post_load, validates

from ..core import clock, idempotency
from ..core.access import behind_feature, tenant_member
from ..core.db import db
from ..core.forms import FormSchema, length, one_of, parse_form
from ..core.rules import RuleViolation
from ..core.web import fragment_target
from . import features, meetings
from .access import edits_meeting, organises, updates_action
from .models import ACTION_STATUS_LABELS, ActionStatus, AgendaKind, Workspace

bp = Blueprint("care_meetings", __name__, url_prefix="/care-meetings")

FEATURE = meetings.FEATURE
PUBLIC_ID = length(max=32)


# -- forms ---------------------------------------------------------------------------------------------

def parse_experts(text: str | None) -> list[dict]:
    """One expert a line: "이름, 소속" (also "이름 / 소속" or "이름 · 소속"); the affiliation may
    be left out."""
    experts = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        for separator in (",", "/", "·"):
            if separator in line:
                name, affiliation = line.split(separator, 1)
                break
        else:
            name, affiliation = line, ""
        experts.append({"name": name.strip(), "affiliation": affiliation.strip()})
    return experts


class MeetingForm(FormSchema):
    title = fields.String(required=True, validate=length(min=2, max=200))
    held_on = fields.Date(required=True)
    location = fields.String(load_default=None, validate=length(max=200))
    member_tenants = fields.List(fields.String(validate=length(max=64)), load_default=list)
    experts = fields.String(load_default=None, validate=length(max=4000))

    @validates("experts")
    def _experts(self, value, **kwargs):
        experts = parse_experts(value)
        if len(experts) > meetings.MAX_EXPERTS:
            raise ValidationError(str(_l("외부 전문가는 %(n)s명까지 입력할 수 있습니다.", n=meetings.MAX_EXPERTS)))
        if any(not e["name"] or len(e["name"]) > 100 or len(e["affiliation"]) > 200 for e in experts):
            raise ValidationError(str(_l("한 줄에 한 명씩 '이름, 소속' 형식으로 입력하세요.")))

    @post_load
    def _as_lists(self, data, **kwargs):
        data["experts"] = parse_experts(data.get("experts"))
        return data


class ItemForm(FormSchema):
    kind = fields.String(required=True, validate=one_of([k.value for k in AgendaKind]),
                         error_messages={"required": _l("안건 종류를 고르세요.")})
    case = fields.String(load_default=None, validate=PUBLIC_ID)
    title = fields.String(load_default=None, validate=length(max=200))


class ItemNotesForm(FormSchema):
    discussion = fields.String(load_default=None, validate=length(max=8000))
    decision = fields.String(load_default=None, validate=length(max=4000))


class MoveForm(FormSchema):
    direction = fields.String(required=True, validate=one_of(["up", "down"]))


class MinutesForm(FormSchema):
    minutes = fields.String(load_default=None, validate=length(max=20000))


class ActionForm(FormSchema):
    description = fields.String(required=True, validate=length(min=2, max=1000))
    assignee = fields.String(required=True, validate=length(max=64),
                             error_messages={"required": _l("담당 기관을 고르세요.")})
    due_on = fields.Date(required=True)
    item = fields.Integer(load_default=None)


class ActionStatusForm(FormSchema):
    status = fields.String(required=True, validate=one_of([s.value for s in ActionStatus]))
    status_note = fields.String(load_default=None, validate=length(max=1000))
    back = fields.String(load_default="meeting", validate=one_of(["meeting", "tasks"]))


class TaskArgs(FormSchema):
    status = fields.String(load_default="open", validate=one_of(list(meetings.TASK_FILTERS)))


# -- for other templates ----------------------------------------------------------------------------------

@bp.app_template_global()
def care_meeting_task_counts():
    """(open, overdue) care-meeting actions of the active tenant, or None when the screens are
    not switched on for it (the home page shows them)."""
    membership = g.get("membership")
    if membership is None or not features.is_enabled(FEATURE, membership.tenant_id):
        return None
    return meetings.task_counts()


def _labels() -> dict:
    return {"status_labels": ACTION_STATUS_LABELS, "kind_labels": meetings.AGENDA_KIND_LABELS,
            "status_options": [(s.value, label) for s, label in ACTION_STATUS_LABELS.items()]}


# -- the list and a new meeting -------------------------------------------------------------------------------

@bp.get("")
@tenant_member()
@behind_feature(FEATURE)
def index():
    return render_template("pilots/meetings.html", rows=meetings.list_meetings(),
                           can_organise=meetings.may_organise(), task_counts=meetings.task_counts())


def _member_options(selected_ids=()) -> dict:
    defaults = meetings.default_member_tenants()
    default_ids = {t.id for t in defaults}
    others = meetings.other_tenants(default_ids)
    return {"participant_options": [(t.code, t.name) for t in defaults],
            "other_options": [(t.code, t.name) for t in others],
            "others_selected": any(t.id in selected_ids for t in others)}


def _meeting_form_page(form, errors=None, status=200, meeting=None):
    selected = set(form.getlist("member_tenants")) if hasattr(form, "getlist") else set(form.get("member_tenants", []))
    options = _member_options()
    options["others_selected"] = any(code in selected for code, _name in options["other_options"])
    if meeting is not None:  # keep members that are not in the lists any more (inactive tenants)
        known = {code for code, _name in options["participant_options"] + options["other_options"]}
        options["other_options"] += [(m.member_tenant.code, m.member_tenant.name) for m in meetings.members_of(meeting)
                                     if m.member_tenant is not None and m.member_tenant.code not in known]
    return render_template("pilots/meeting_form.html", form=form, selected=selected, errors=errors or {},
                           meeting=meeting, **options), status


@bp.get("/new")
@tenant_member(check=organises)
@behind_feature(FEATURE)
def new():
    defaults = meetings.default_member_tenants()
    return _meeting_form_page({"held_on": clock.today().isoformat(), "member_tenants": [t.code for t in defaults],
                               "title": "", "location": "", "experts": ""})


@bp.post("/new")
@tenant_member(check=organises)
@behind_feature(FEATURE)
def create():
    previous = idempotency.previous_result()
    if previous:
        return redirect(previous, code=303)
    data, errors = parse_form(MeetingForm())
    meeting = None
    if not errors:
        if not idempotency.claim():
            return redirect(url_for("care_meetings.index"), code=303)
        try:
            meeting = meetings.create_meeting(data, current_user)
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        return _meeting_form_page(request.form, errors, 422)
    target = url_for("care_meetings.show", public_id=meeting.public_id)
    idempotency.record_result(target)
    flash(_("회의를 만들었습니다. 안건과 후속 조치를 더하세요."), "success")
    _warn_about_switched_off(meeting)
    return redirect(target, code=303)


def _warn_about_switched_off(meeting) -> None:
    missing = meetings.tenants_without_feature(meetings.member_tenant_ids(meeting))
    if missing:
        flash(_("다음 기관은 아직 지역케어회의 화면을 쓸 수 없어, 기능이 켜질 때까지 이 회의를 볼 수 없습니다: "
                "%(names)s", names=", ".join(missing)), "info")


@bp.get("/<public_id>/edit")
@tenant_member(check=edits_meeting, subject=meetings.get_meeting_or_404)
@behind_feature(FEATURE)
def edit(public_id):
    meeting = meetings.get_meeting_or_404(public_id)
    members = meetings.members_of(meeting)
    form = {"title": meeting.title, "held_on": meeting.held_on.isoformat(), "location": meeting.location or "",
            "member_tenants": [m.member_tenant.code for m in members if m.member_tenant is not None],
            "experts": "\n".join(f"{m.external_name}, {m.external_affiliation}" if m.external_affiliation
                                 else m.external_name for m in members if m.member_tenant_id is None)}
    return _meeting_form_page(form, meeting=meeting)


@bp.post("/<public_id>/edit")
@tenant_member(check=edits_meeting, subject=meetings.get_meeting_or_404)
@behind_feature(FEATURE)
def update(public_id):
    meeting = meetings.get_meeting_or_404(public_id)
    data, errors = parse_form(MeetingForm())
    if not errors:
        try:
            meetings.update_meeting(meeting, data)
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        return _meeting_form_page(request.form, errors, 422, meeting=meeting)
    flash(_("회의 정보를 고쳤습니다."), "success")
    _warn_about_switched_off(meeting)
    return _to_meeting(meeting)


# -- the meeting page --------------------------------------------------------------------------------------

def _context(meeting, failed=None, errors=None, form=None) -> dict:
    can_edit = meetings.can_edit(meeting)
    organiser = meetings.is_organiser(meeting)
    agenda = meetings.agenda_for_viewer(meeting)
    item_labels = {e.item.id: f"{e.item.position}. {e.item.title}" if e.visible
                   else f"{e.item.position}. {_('비공개 사례')}" for e in agenda}
    today = clock.today()
    workspace = db.session.get(Workspace, meeting.workspace_id) if meeting.workspace_id else None
    context = {
        "meeting": meeting, "organiser_name": meetings.tenant_name(meeting.tenant_id), "organiser": organiser,
        "workspace": workspace, "can_edit": can_edit, "roster": meetings.roster_of(meeting), "agenda": agenda,
        "actions": [(a, meetings.is_overdue(a, today), meetings.may_update_action(a))
                    for a in meetings.actions_of(meeting)],
        "item_labels": item_labels, "failed": failed, "errors": errors or {}, "form": form if form is not None else {},
        **_labels(),
    }
    if can_edit:
        context.update(
            case_options=meetings.case_options(), reads_cases=meetings.reads_cases(),
            assignee_options=[(t.code, t.name) for t in meetings.assignee_options(meeting)],
            item_options=[(e.item.position, item_labels[e.item.id]) for e in agenda],
            kind_options=[(k.value, label) for k, label in meetings.AGENDA_KIND_LABELS.items()],
        )
    return context


def _page(meeting, status=200, **kwargs):
    return render_template("pilots/meeting.html", **_context(meeting, **kwargs)), status


def _roll_back_refused() -> None:
    """Undo what a refused request changed, then let the request commit what is left to write:
    the access log of the page shown with the messages."""
    db.session.rollback()
    g.commit_despite_status = True


def _refused(meeting, failed: str, errors: dict):
    """The page again with the messages next to the fields of form ``failed`` and what was typed."""
    _roll_back_refused()
    return _page(meetings.get_meeting_or_404(meeting.public_id), 422, failed=failed, errors=errors, form=request.form)


def _to_meeting(meeting, anchor: str = ""):
    return redirect(url_for("care_meetings.show", public_id=meeting.public_id) + anchor, code=303)


@bp.get("/<public_id>")
@tenant_member()
@behind_feature(FEATURE)
def show(public_id):
    return _page(meetings.get_meeting_or_404(public_id))


@bp.post("/<public_id>/minutes")
@tenant_member(check=edits_meeting, subject=meetings.get_meeting_or_404)
@behind_feature(FEATURE)
def save_minutes(public_id):
    meeting = meetings.get_meeting_or_404(public_id)
    data, errors = parse_form(MinutesForm())
    if errors:
        return _refused(meeting, "minutes", errors)
    meetings.save_minutes(meeting, data["minutes"])
    flash(_("회의록을 저장했습니다."), "success")
    return _to_meeting(meeting, "#minutes")


@bp.post("/<public_id>/items")
@tenant_member(check=edits_meeting, subject=meetings.get_meeting_or_404)
@behind_feature(FEATURE)
def add_item(public_id):
    meeting = meetings.get_meeting_or_404(public_id)
    previous = idempotency.previous_result()
    if previous:
        return redirect(previous, code=303)
    data, errors = parse_form(ItemForm())
    item = None
    if not errors:
        if not idempotency.claim():
            return _to_meeting(meeting, "#agenda")
        try:
            item = meetings.add_item(meeting, data)
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        return _refused(meeting, "item", errors)
    target = url_for("care_meetings.show", public_id=meeting.public_id) + f"#item-{item.position}"
    idempotency.record_result(target)
    flash(_("안건을 추가했습니다."), "success")
    return redirect(target, code=303)


@bp.post("/<public_id>/items/<int:position>")
@tenant_member(check=edits_meeting, subject=meetings.get_meeting_or_404)
@behind_feature(FEATURE)
def update_item(public_id, position):
    meeting = meetings.get_meeting_or_404(public_id)
    item = meetings.get_item_or_404(meeting, position)
    data, errors = parse_form(ItemNotesForm())
    if errors:
        return _refused(meeting, f"item-{position}", errors)
    meetings.update_item(meeting, item, data)
    flash(_("안건 %(n)s의 논의와 결정을 저장했습니다.", n=position), "success")
    return _to_meeting(meeting, f"#item-{position}")


@bp.post("/<public_id>/items/<int:position>/move")
@tenant_member(check=edits_meeting, subject=meetings.get_meeting_or_404)
@behind_feature(FEATURE)
def move_item(public_id, position):
    meeting = meetings.get_meeting_or_404(public_id)
    item = meetings.get_item_or_404(meeting, position)
    data, errors = parse_form(MoveForm())
    if errors:
        return _refused(meeting, f"item-{position}", errors)
    meetings.move_item(meeting, item, data["direction"])
    return _to_meeting(meeting, f"#item-{item.position}")


@bp.post("/<public_id>/actions")
@tenant_member(check=edits_meeting, subject=meetings.get_meeting_or_404)
@behind_feature(FEATURE)
def add_action(public_id):
    meeting = meetings.get_meeting_or_404(public_id)
    previous = idempotency.previous_result()
    if previous:
        return redirect(previous, code=303)
    data, errors = parse_form(ActionForm())
    action = None
    if not errors:
        if not idempotency.claim():
            return _to_meeting(meeting, "#actions")
        try:
            action = meetings.add_action(meeting, data)
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        return _refused(meeting, "action", errors)
    target = url_for("care_meetings.show", public_id=meeting.public_id) + f"#action-{action.public_id}"
    idempotency.record_result(target)
    flash(_("후속 조치를 %(tenant)s에 배정했습니다.", tenant=action.assignee.name), "success")
    return redirect(target, code=303)


@bp.post("/actions/<public_id>/status")
@tenant_member(check=updates_action, subject=meetings.get_action_or_404)
@behind_feature(FEATURE)
def action_status(public_id):
    """Inline edit: htmx gets the action's row back; without JavaScript, the page it came from
    (again with the message next to the row when refused)."""
    action = meetings.get_action_or_404(public_id)
    data, errors = parse_form(ActionStatusForm())
    back = "tasks" if request.form.get("back") == "tasks" else "meeting"
    if not errors:
        try:
            meetings.set_action_status(action, data["status"], data["status_note"])
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        _roll_back_refused()
        action = meetings.get_action_or_404(public_id)
    meeting = meetings.meeting_of(action)
    if fragment_target() == f"action-{action.public_id}":
        return render_template("pilots/_meeting_action_row.html", a=action, overdue=meetings.is_overdue(action),
                               can_update=True, back=back, meeting=meeting, item_label=meetings.item_label(action),
                               organiser=meetings.tenant_name(action.tenant_id),
                               row_errors=_flat(errors), row_form=request.form if errors else {},
                               **_labels()), 422 if errors else 200
    failed = f"action-{action.public_id}"
    if errors and (back == "tasks" or meeting is None):
        return _tasks_page("open", status=422, failed=failed, errors=errors)
    if errors:
        return _page(meeting, 422, failed=failed, errors=errors, form=request.form)
    flash(_("후속 조치를 '%(status)s'(으)로 바꿨습니다.", status=meetings.status_label(action)), "success")
    if back == "tasks" or meeting is None:
        return redirect(url_for("care_meetings.tasks") + f"#action-{action.public_id}", code=303)
    return _to_meeting(meeting, f"#action-{action.public_id}")


def _flat(errors: dict) -> list[str]:
    return [message for messages in errors.values() for message in messages]


# -- the task list ---------------------------------------------------------------------------------------

def _tasks_page(which: str, status: int = 200, failed=None, errors=None):
    open_count, overdue_count = meetings.task_counts()
    context = {"rows": meetings.task_list(which), "which": which, "open_count": open_count,
               "overdue_count": overdue_count, "failed": failed, "errors": errors or {},
               "form": request.form if errors else {},
               "filters": [("open", _("진행 중")), ("done", _("끝남 (완료·취소)")), ("all", _("전체"))], **_labels()}
    if fragment_target() == "action-list":
        return render_block("pilots/meeting_tasks.html", "results", **context), status
    return render_template("pilots/meeting_tasks.html", **context), status


@bp.get("/actions")
@tenant_member()
@behind_feature(FEATURE)
def tasks():
    """The active tenant's follow-up actions across meetings (``?status=open|done|all``)."""
    data, errors = parse_form(TaskArgs(), request.args)
    return _tasks_page(data["status"] if not errors else "open")
