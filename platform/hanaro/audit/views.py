"""The privacy officer's screens: the access log search (with CSV export), anomaly flags and the
monthly review record."""
from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from jinja2_fragments.flask import render_block
from werkzeug.datastructures import MultiDict

from ..core import idempotency
from ..core.access import tenant_member
from ..core.db import utcnow
from ..core.forms import parse_form
from ..core.rules import RuleViolation
from ..tenancy.models import Role
from . import anomaly, service
from .cli import purge_command
from .models import ACCESS_ACTION_LABELS
from .schemas import ExportForm, LogSearchForm, ReviewForm, ReviewMonthQuery

bp = Blueprint("audit", __name__, url_prefix="/audit")
bp.cli.add_command(purge_command)  # flask audit purge --before YYYY-MM-DD

SEARCH_TARGET = "audit-search"
FILTER_FIELDS = ("user", "client", "date_from", "date_to", "action", "source")
PERSONAL_FIELDS = ("client",)  # a name or resident number: searched by POST only


# -- the log -----------------------------------------------------------------------------------

def _search(form) -> tuple[service.LogPage | None, dict]:
    """Parse the filter fields of ``form`` and run the search: (page, errors)."""
    data, errors = parse_form(LogSearchForm(), form)
    if errors:
        return None, errors
    try:
        log_filter = service.filter_from_form(data)
        page = service.search(log_filter, after=data.get("after"))
    except RuleViolation as violation:
        return None, violation.as_errors()
    if log_filter.client_text and not data.get("after"):
        service.record_client_lookup(log_filter)
    return page, {}


def _log_page(form, page, errors, status=200):
    query = {key: form.get(key) for key in FILTER_FIELDS if form.get(key)}
    context = dict(
        form=form,
        errors=errors,
        page=page,
        query=query,
        member_options=service.member_choices(),
        action_options=[(a.value, label) for a, label in ACCESS_ACTION_LABELS.items()],
        source_options=list(service.SOURCE_LABELS.items()),
        search_target=SEARCH_TARGET,
    )
    if request.headers.get("HX-Target") == SEARCH_TARGET:
        response = make_response(render_block("audit/log.html", "search", **context), status)
    else:
        start, end = anomaly.recent_window()
        context.update(
            flags=anomaly.flags(start, end),
            exports=anomaly.exports(start, end),
            window_days=anomaly.setting("AUDIT_FLAG_WINDOW_DAYS"),
        )
        response = make_response(render_template("audit/log.html", **context), status)
    response.vary.add("HX-Target")  # the fragment is chosen by the target, not just HX-Request
    return response


def _without_personal_data(args) -> MultiDict:
    return MultiDict([(key, value) for key, value in args.items(multi=True) if key not in PERSONAL_FIELDS])


@bp.route("/log", methods=["GET", "POST"])
@tenant_member(Role.PRIVACY_OFFICER)
def log():
    """The search. The form posts, like the client search, so names typed into it never end up in
    URLs or server logs; GET takes the other fields from the query string (links) but never the
    client's name or resident number."""
    form = request.form if request.method == "POST" else _without_personal_data(request.args)
    page, errors = _search(form)
    return _log_page(form, page, errors, 422 if errors else 200)


@bp.post("/log/export")
@tenant_member(Role.PRIVACY_OFFICER)
def export():
    data, errors = parse_form(ExportForm())
    if not errors:
        try:
            content, _count = service.export_csv(service.filter_from_form(data), data["reason"], current_user,
                                                 _filter_summary(data))
        except RuleViolation as violation:
            errors = violation.as_errors()
        else:
            return _csv_response(content)
    page, search_errors = _search(request.form)
    return _log_page(request.form, page, {**search_errors, **errors}, 422)


def _csv_response(content: bytes) -> Response:
    name = _("개인정보접근기록")
    filename = f"{name}-{service.to_kst(utcnow()).strftime('%Y%m%d-%H%M')}.csv"
    response = Response(content, mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"access-log.csv\"; filename*=UTF-8''{quote(filename)}"
    )
    return response


def _filter_summary(data: dict) -> str:
    parts = []
    if data.get("user"):
        names = dict(service.member_choices())
        parts.append(_("사용자 %(name)s", name=names.get(data["user"], "")))
    if data.get("client"):
        parts.append(_("대상자 '%(text)s'", text=data["client"]))
    if data.get("date_from") or data.get("date_to"):
        parts.append(_("기간 %(start)s ~ %(end)s", start=data.get("date_from") or "", end=data.get("date_to") or ""))
    if data.get("action"):
        parts.append(_("행위 %(label)s", label=ACCESS_ACTION_LABELS[service.AccessAction(data["action"])]))
    parts.append(str(service.SOURCE_LABELS[data.get("source") or service.SOURCE_ALL]))
    return ", ".join(parts)


@bp.app_template_filter("kst")
def kst_filter(moment) -> str:
    """A stored UTC time as Korean local time, e.g. 2026-11-20 14:05."""
    return service.to_kst(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


# -- monthly review ----------------------------------------------------------------------------

def _reviews_page(month: str, form=None, errors=None, status=200, preview_errors=None, preview_value=None):
    start, end = service.month_range(month)
    return render_template(
        "audit/reviews.html",
        month=month,
        month_flags=anomaly.flags(start, end),
        existing=service.review_for(month),
        reviews=service.reviews_of_active_tenant(),
        form=form if form is not None else {"month": month},
        errors=errors or {},
        preview_errors=preview_errors or {},
        preview_value=preview_value if preview_value is not None else month,
        latest_month=service.previous_month(),
    ), status


@bp.get("/reviews")
@tenant_member(Role.PRIVACY_OFFICER)
def reviews():
    data, errors = parse_form(ReviewMonthQuery(), request.args)
    if errors:
        return _reviews_page(service.previous_month(), preview_errors=errors,
                             preview_value=request.args.get("month", ""), status=422)
    return _reviews_page(data.get("month") or service.previous_month())


@bp.post("/reviews")
@tenant_member(Role.PRIVACY_OFFICER)
def create_review():
    previous = idempotency.previous_result()
    if previous:
        return redirect(previous, code=303)
    data, errors = parse_form(ReviewForm())
    preview_month = data["month"] if data else service.previous_month()
    if errors:
        return _reviews_page(preview_month, request.form, errors, 422)
    if not idempotency.claim():
        return redirect(url_for("audit.reviews", month=data["month"]), code=303)
    try:
        review = service.record_review(data["month"], data["findings"], current_user)
    except RuleViolation as violation:
        return _reviews_page(preview_month, request.form, violation.as_errors(), 422)
    target = url_for("audit.reviews", month=review.month)
    idempotency.record_result(target)
    flash(_("%(month)s 월간 검토를 기록했습니다(이상 징후 %(n)s건).", month=review.month, n=review.flagged_count), "success")
    return redirect(target, code=303)
