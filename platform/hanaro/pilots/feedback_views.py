"""Feedback from the field (현장 의견): the button on every page and its form, the submitter's list,
the coordinators' triage board and card pages, what changed, and the reporting export.
Routes stay thin: parse, call ``feedback``, render.

Every route is behind the ``pilot_feedback`` switch: for a tenant the switch is not on for, none of
them exists (404). An item another tenant may not see is 404 too; a member who may see an item but
not triage it (the submitter's side) gets 403 for the coordinators' actions.
"""
from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from flask import Blueprint, Response, abort, flash, g, has_request_context, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from jinja2_fragments.flask import render_block
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import MultiDict

from ..core import clock, idempotency, uploads
from ..core.access import behind_feature, tenant_member
from ..core.db import db
from ..core.forms import parse_form
from ..core.paging import Count
from ..core.rules import RuleViolation
from ..core.web import fragment_target
from . import feedback as service
from . import features
from .access import coordinates_item, triages
from .feedback_schemas import (
    AssignForm, BoardArgs, BulkForm, ColumnArgs, CommentForm, FeedbackForm, MergeForm, MineArgs, StatusForm, TagsForm,
)
from .models import FeedbackStatus

bp = Blueprint("feedback", __name__, url_prefix="/feedback")

FEATURE = "pilot_feedback"
PANEL = "feedback-panel"  # the dialog's content (htmx target of the button and the form)
BOARD = "feedback-board"  # the board's columns (htmx target of the filters)
EXPORT_TYPES = {"csv": "text/csv; charset=utf-8",
                "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


# -- for base.html ----------------------------------------------------------------------------------------

@bp.app_template_global()
def feedback_button_visible() -> bool:
    """The button shows for members of tenants the switch is on for (not on the form's own page)."""
    if not has_request_context() or request.endpoint in ("feedback.new", "feedback.create"):
        return False
    membership = g.get("membership")
    if membership is None:
        return False
    try:
        return features.is_enabled(FEATURE, membership.tenant_id)
    except SQLAlchemyError:  # an error page after a failed transaction: no button rather than no page
        return False


@bp.app_template_global()
def feedback_coordinator() -> bool:
    """May the active member triage (the form's link to the board)?"""
    return service.is_pilot_coordinator() and service.coordinated_workspace() is not None


def _route(rule: str, methods=("GET",), **rule_check):
    """A feedback route: any member of the active tenant (or those ``check`` allows, see
    ``tenant_member``), behind the pilot switch."""
    def decorate(view):
        return bp.route(rule, methods=list(methods))(tenant_member(**rule_check)(behind_feature(FEATURE)(view)))

    return decorate


# -- sending ------------------------------------------------------------------------------------------------

def _form_page(form, errors=None, status=200):
    context = {"form": form, "errors": errors or {}, "fragment": fragment_target() == PANEL,
               "max_description": service.MAX_DESCRIPTION,
               "max_screenshot_mb": service.MAX_SCREENSHOT_BYTES // (1024 * 1024), **service.labels()}
    if context["fragment"]:
        return render_template("pilots/feedback_form.html", **context), status
    return render_template("pilots/feedback_new.html", **context), status


@_route("/new")
def new():
    """The form: into the dialog (htmx) with the current page from ``HX-Current-URL``, or as a
    page of its own (no script) with the page from the Referer. Either way only the stripped path
    ever reaches the form."""
    came_from = request.headers.get("HX-Current-URL") if fragment_target() == PANEL else request.referrer
    page = service.strip_page(came_from)
    return _form_page({"severity": "medium", "page_url": page.path or ""})


def _screenshot() -> tuple[str, bytes] | None:
    """The chosen image's name and content, read up to one byte over the limit (enough to refuse it)."""
    upload = request.files.get("screenshot")
    if upload is None or not upload.filename:
        return None
    return uploads.read(upload, service.MAX_SCREENSHOT_BYTES)


def _thanks(item=None):
    return render_template("pilots/feedback_thanks.html", item=item)


@_route("", methods=("POST",))
def create():
    fragment = fragment_target() == PANEL
    previous = idempotency.previous_result()
    if previous:  # a double submit: the first one's answer, nothing new
        return _thanks() if fragment else redirect(previous, code=303)
    data, errors = parse_form(FeedbackForm())
    content = _screenshot()
    item = None
    if not errors:
        if not idempotency.claim():
            return _thanks() if fragment else redirect(url_for("feedback.mine"), code=303)
        try:
            item = service.submit(data, current_user, screenshot=content, page_url=data["page_url"],
                                  page_title=data["page_title"])
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        db.session.rollback()
        if content and content[1] and "screenshot" not in errors:
            errors["screenshot"] = [_("보안을 위해 고른 화면 사진은 다시 골라야 합니다.")]
        return _form_page(request.form, errors, 422)
    target = url_for("feedback.show", public_id=item.public_id)
    idempotency.record_result(target)
    if fragment:
        return _thanks(item)
    flash(_("의견을 보냈습니다. 시범사업 코디네이터가 검토한 뒤 처리 상태를 알려 드립니다."), "success")
    return redirect(target, code=303)


# -- the submitter's lists ------------------------------------------------------------------------------------

def _args(schema, values) -> dict:
    """Filters from the URL; a value that does not validate is dropped, not an error page."""
    data, errors = parse_form(schema, values)
    if errors:
        data, _errors = parse_form(schema, MultiDict([(k, v) for k, v in values.items(multi=True) if k not in errors]))
    return data


@_route("/mine")
def mine():
    """내가 보낸 의견 (default) and 우리 기관 의견: status, the latest comment, a link to each."""
    scope = _args(MineArgs(), request.args)["scope"]
    items = service.mine(scope)
    return render_template("pilots/feedback_mine.html", scope=scope, items=items,
                           latest=service.latest_comments(items), regions=service.region_names(i.dong_code for i in items),
                           **service.labels())


@_route("/changes")
def changes():
    """What was acted on (반영 예정 / 반영 완료 / 반려): the tenant's own feedback, or for a
    coordinator the whole workspace, newest change first, with the coordinator's comment."""
    as_coordinator = service.coordinated_workspace() is not None
    items = service.changes(as_coordinator)
    return render_template("pilots/feedback_changes.html", items=items, as_coordinator=as_coordinator,
                           latest=service.latest_comments(items, status_changes_only=True), **service.labels())


# -- the triage board ------------------------------------------------------------------------------------------

def _filters(values) -> service.BoardFilter:
    data = _args(BoardArgs(), values)
    return service.BoardFilter(**{k: v for k, v in data.items() if v})


def _board(workspace, filters: service.BoardFilter, status=200, errors=None, reasons=None, form=None, shown=None):
    columns = service.board_columns(workspace, filters, shown)
    context = {
        "workspace": workspace, "filters": filters, "filter_args": filters.as_args(), "columns": columns,
        "total": sum((c.count for c in columns), Count(0)), "options": service.board_options(workspace),
        "errors": errors or {}, "reasons": reasons or [], "form": form or {},
        "filters_query": urlencode(filters.as_args()), "board_page": service.BOARD_PAGE, **service.labels(),
    }
    if fragment_target() == BOARD:
        return render_block("pilots/feedback_board.html", "board", **context), status
    return render_template("pilots/feedback_board.html", **context), status


@_route("/board", check=triages)
def board():
    """Columns 접수 → 검토 중 → 반영 예정 → 반영 완료 / 반려; the filters are the URL, htmx swaps
    the columns in place and pushes the URL."""
    column = _args(ColumnArgs(), request.args)
    shown = {FeedbackStatus(column["more"]): column["shown"]} if column.get("more") else None
    return _board(service.coordinated_workspace(), _filters(request.args), shown=shown)


@_route("/board/cards", check=triages)
def board_cards():
    """A column's "더 보기" (htmx): its next cards from ``offset``, and the button for the ones after."""
    column = _args(ColumnArgs(), request.args)
    if not column.get("more"):
        abort(404)
    filters = _filters(request.args)
    shown = service.board_column(service.coordinated_workspace(), filters, FeedbackStatus(column["more"]),
                                 column["offset"])
    return render_template("pilots/_feedback_cards.html", column=shown, filter_args=filters.as_args(),
                           board_page=service.BOARD_PAGE, form={}, **service.labels())


def _selection(values: list[str]) -> list[tuple[str, int | None]]:
    selection = []
    for value in values:
        public_id, _sep, version = value.partition(":")
        selection.append((public_id, int(version) if version.isdigit() else None))
    return selection


@_route("/bulk", methods=("POST",), check=triages)
def bulk():
    """Move the selected cards to one status, all in one transaction or none of them."""
    workspace = service.coordinated_workspace()
    data, errors = parse_form(BulkForm())
    filters = _filters(MultiDict(parse_qsl((data or {}).get("filters") or request.form.get("filters", ""))))
    previous = idempotency.previous_result()
    if previous:
        return redirect(previous, code=303)
    if not errors and not idempotency.claim():
        return redirect(url_for("feedback.board", **filters.as_args()), code=303)
    if not errors:
        try:
            changed = service.bulk_move(_selection(data["items"]), FeedbackStatus(data["status"]), current_user,
                                        data["comment"])
        except service.BulkRefusal as refusal:
            db.session.rollback()
            status = 409 if refusal.stale or any(item is not None for item, _reason in refusal.reasons) else 422
            return _board(workspace, filters, status, errors=refusal.as_errors(), reasons=refusal.reasons,
                          form=request.form)
        except service.StaleChange as violation:
            return _board(workspace, filters, 409, errors=violation.as_errors(), form=request.form)
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        db.session.rollback()
        return _board(workspace, filters, 422, errors=errors, form=request.form)
    moved = len({c.id for c in changed})
    flash(_("의견 %(n)s건을 '%(status)s'(으)로 옮겼습니다.", n=moved,
            status=service.FEEDBACK_STATUS_LABELS[FeedbackStatus(data["status"])]), "success")
    target = url_for("feedback.board", **filters.as_args())
    idempotency.record_result(target)
    return redirect(target, code=303)


@_route("/export.<any(csv, xlsx):fmt>", check=triages)
def export(fmt):
    """The board's current filter as a CSV (UTF-8 with BOM) or Excel file for reporting."""
    workspace = service.coordinated_workspace()
    table = service.export_table(service.board_items(workspace, _filters(request.args)))
    body = service.to_csv(table) if fmt == "csv" else service.to_xlsx(table)
    response = Response(body, mimetype=EXPORT_TYPES[fmt].split(";")[0])
    response.headers["Content-Type"] = EXPORT_TYPES[fmt]
    response.headers["Content-Disposition"] = f'attachment; filename="hanaro-feedback-{clock.today():%Y%m%d}.{fmt}"'
    return response


# -- one item ----------------------------------------------------------------------------------------------------

def _merge_label(item) -> str:
    text = " ".join(item.description.split())
    return " · ".join((item.tenant.name, str(service.FEEDBACK_CATEGORY_LABELS[item.category]),
                       text[:40] + ("…" if len(text) > 40 else ""))) + f" ({service.FEEDBACK_STATUS_LABELS[item.status]})"


def _show(item, status=200, failed=None, errors=None, form=None):
    side = service.side_of(item)
    coordinator = side == service.COORDINATOR
    context = {
        "item": item, "side": side, "coordinator": coordinator, "comments": service.comments(item),
        "region": service.region_names([item.dong_code]).get(item.dong_code, item.dong_code or ""),
        "survivor": service.survivor(item) if coordinator else None,
        "merged": service.merged_into(item) if coordinator else [],
        "merge_options": [(c.public_id, _merge_label(c)) for c in service.merge_candidates(item)]
        if coordinator and not item.merged_into_id else [],
        "coordinators": service.coordinators() if coordinator else [],
        "target_options": [(t.value, service.FEEDBACK_STATUS_LABELS[t]) for t in service.allowed_targets(item)]
        if coordinator else [],
        "failed": failed, "errors": errors or {}, "form": form if form is not None else {},
        **service.labels(),
    }
    return render_template("pilots/feedback_show.html", **context), status


@_route("/<public_id>")
def show(public_id):
    return _show(service.get_feedback_or_404(public_id))


def _refused(public_id, action: str, violation: RuleViolation | dict):
    """Roll back what the refused attempt changed and show the item as it is now: 409 when someone
    else changed it or its status does not allow the move, 422 for missing or invalid input."""
    db.session.rollback()
    if isinstance(violation, dict):
        status, errors = 422, violation
    else:
        status = 409 if isinstance(violation, (service.StaleChange, service.InvalidMove)) else 422
        errors = violation.as_errors()
    return _show(service.get_feedback_or_404(public_id), status, failed=action, errors=errors, form=request.form)


def _back(item, anchor=""):
    return redirect(url_for("feedback.show", public_id=item.public_id) + anchor, code=303)


def _repeated(item):
    """A double click on a triage form: the first submission's answer (not a "changed by someone
    else" refusal, which is what its stale version would otherwise earn)."""
    previous = idempotency.previous_result()
    if previous:
        return redirect(previous, code=303)
    if not idempotency.claim():
        return _back(item)
    return None


def _done(item):
    idempotency.record_result(url_for("feedback.show", public_id=item.public_id))
    return _back(item)


@_route("/<public_id>/status", methods=("POST",), check=coordinates_item, subject=service.get_feedback_or_404)
def change_status(public_id):
    item = service.get_feedback_or_404(public_id)
    data, errors = parse_form(StatusForm())
    if errors:
        return _refused(public_id, "status", errors)
    repeated = _repeated(item)
    if repeated:
        return repeated
    try:
        changed = service.change_status(item, FeedbackStatus(data["status"]), current_user, data["comment"],
                                        data["version"])
    except RuleViolation as violation:
        return _refused(public_id, "status", violation)
    label = service.FEEDBACK_STATUS_LABELS[item.status]
    if len(changed) > 1:
        flash(_("'%(status)s'(으)로 옮겼습니다. 합쳐진 의견 %(n)s건도 함께 옮겼습니다.", status=label, n=len(changed) - 1),
              "success")
    else:
        flash(_("'%(status)s'(으)로 옮겼습니다.", status=label), "success")
    return _done(item)


@_route("/<public_id>/assign", methods=("POST",), check=coordinates_item, subject=service.get_feedback_or_404)
def assign(public_id):
    item = service.get_feedback_or_404(public_id)
    data, errors = parse_form(AssignForm())
    if errors:
        return _refused(public_id, "assign", errors)
    repeated = _repeated(item)
    if repeated:
        return repeated
    try:
        service.assign(item, data["assignee"], current_user, data["version"])
    except RuleViolation as violation:
        return _refused(public_id, "assign", violation)
    flash(_("담당자를 지정했습니다.") if item.assignee_user_id else _("담당자 지정을 풀었습니다."), "success")
    return _done(item)


@_route("/<public_id>/tags", methods=("POST",), check=coordinates_item, subject=service.get_feedback_or_404)
def tags(public_id):
    item = service.get_feedback_or_404(public_id)
    data, errors = parse_form(TagsForm())
    if errors:
        return _refused(public_id, "tags", errors)
    repeated = _repeated(item)
    if repeated:
        return repeated
    try:
        service.set_tags(item, data["tags"], current_user, data["version"])
    except RuleViolation as violation:
        return _refused(public_id, "tags", violation)
    flash(_("태그를 저장했습니다."), "success")
    return _done(item)


@_route("/<public_id>/merge", methods=("POST",), check=coordinates_item, subject=service.get_feedback_or_404)
def merge(public_id):
    """Merge this item into another (its duplicate survives); it follows the survivor from now on."""
    item = service.get_feedback_or_404(public_id)
    data, errors = parse_form(MergeForm())
    if errors:
        return _refused(public_id, "merge", errors)
    target = service.get_feedback_or_404(data["target"]) if data["target"] != public_id else item
    repeated = _repeated(item)
    if repeated:
        return repeated
    try:
        moved = service.merge(item, target, current_user, data["version"])
    except RuleViolation as violation:
        return _refused(public_id, "merge", violation)
    flash(_("중복 의견으로 합쳤습니다. 이제 남은 의견의 상태를 따릅니다.") if len(moved) == 1 else
          _("중복 의견으로 합쳤습니다. 이 의견에 합쳐져 있던 %(n)s건도 함께 옮겼습니다.", n=len(moved) - 1), "success")
    return _done(item)


@_route("/<public_id>/comments", methods=("POST",))
def comment(public_id):
    item = service.get_feedback_or_404(public_id)
    previous = idempotency.previous_result()
    if previous:
        return redirect(previous, code=303)
    data, errors = parse_form(CommentForm())
    if errors:
        return _refused(public_id, "comment", errors)
    if not idempotency.claim():
        return _back(item, "#comments")
    try:
        service.add_comment(item, data["body"], current_user)
    except RuleViolation as violation:
        return _refused(public_id, "comment", violation)
    idempotency.record_result(url_for("feedback.show", public_id=public_id) + "#comments")
    flash(_("댓글을 남겼습니다."), "success")
    return _back(item, "#comments")


@_route("/<public_id>/screenshot")
def screenshot(public_id):
    """The image as uploaded (a type checked by its first bytes), never sniffed into anything else."""
    item = service.get_feedback_or_404(public_id)
    if not item.screenshot_type or not item.screenshot:
        abort(404)
    response = Response(item.screenshot, mimetype=item.screenshot_type)
    extension = item.screenshot_type.rsplit("/", 1)[-1].replace("jpeg", "jpg")
    response.headers["Content-Disposition"] = f'inline; filename="feedback-screenshot.{extension}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
