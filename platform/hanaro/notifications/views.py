"""The inbox, the unread badge, e-mail settings, and the operators' failed-delivery screen."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..core.access import operator_only, tenant_member
from ..core.db import db
from ..core.forms import parse_form
from ..core.paging import paging
from ..core.web import fragment_target
from ..tenancy import service as tenancy
from . import delivery, kinds, service
from .schemas import EmailSettingsForm, RetryForm

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

# Sent with every change to what is read: the header badge refreshes itself on it.
CHANGED_EVENT = "hanaro:notifications-changed"


@bp.get("")
@tenant_member()
def inbox():
    page = service.inbox_page(current_user.id, paging(request.args, service.PER_PAGE))
    return render_template("notifications/inbox.html", page=page, notifications=page.items)


@bp.post("/read")
@tenant_member()
def mark_all_read():
    service.mark_all_read(current_user.id)
    return redirect(url_for("notifications.inbox"), code=303)


@bp.post("/<public_id>/read")
@tenant_member()
def mark_read(public_id):
    """htmx gets the notification's card back (and the badge an event); a plain form the inbox."""
    notification = service.get_mine_or_404(current_user.id, public_id)
    service.mark_read(notification)
    if fragment_target() == f"notification-{notification.public_id}":
        response = render_template("notifications/_notification.html", n=notification)
        return response, 200, {"HX-Trigger": CHANGED_EVENT}
    return redirect(url_for("notifications.inbox"), code=303)


@bp.get("/unread")
@tenant_member()
def unread_badge():
    """The header's unread badge, polled by htmx. Polling is not activity: the request's writes
    (the session's last-seen time) are rolled back, so an open tab does not keep an idle session
    alive."""
    db.session.rollback()
    return render_template("notifications/_unread_badge.html")


@bp.route("/settings", methods=["GET", "POST"])
@tenant_member()
def settings():
    errors = {}
    if request.method == "POST":
        data, errors = parse_form(EmailSettingsForm())
        if not errors:
            service.set_email_preferences(current_user.id, set(data["email_kinds"]))
            flash(_("알림 메일 설정을 저장했습니다."), "success")
            return redirect(url_for("notifications.settings"), code=303)
        chosen = {k for k in request.form.getlist("email_kinds") if k in kinds.KINDS}
    else:
        chosen = {k for k, on in service.email_preferences(current_user.id).items() if on}
    groups = [(group, [(k.code, k.label) for k in members]) for group, members in kinds.groups()]
    return render_template("notifications/settings.html", groups=groups, chosen=sorted(chosen),
                           errors=errors), 422 if errors else 200


# -- platform operators --------------------------------------------------------------------------

def _failed_page(errors=None, status=200):
    try:
        jobs_failed, redis_error = delivery.failed_jobs(), False
    except Exception:  # noqa: BLE001 - Redis down: say so, show the database side anyway
        jobs_failed, redis_error = None, True
    return render_template("notifications/operator_failed.html",
                           deliveries=delivery.failed_deliveries(current_user.id), jobs=jobs_failed,
                           redis_error=redis_error, errors=errors or {}), status


@bp.get("/operator/failed")
@operator_only
def operator_failed():
    return _failed_page()


@bp.post("/operator/retry")
@operator_only
def operator_retry():
    data, errors = parse_form(RetryForm())
    if errors:
        return _failed_page(errors, 422)
    if data.get("job"):
        try:
            done = delivery.requeue_job(data["job"])
        except Exception:  # noqa: BLE001
            done = False
        message = _("작업을 다시 대기열에 넣었습니다.") if done else _("다시 실행할 작업을 찾지 못했습니다.")
    else:
        tenant = tenancy.tenant_by_code(data["tenant"])
        done = tenant is not None and delivery.retry_failed(tenant, data["delivery"], current_user.id)
        message = _("메일을 다시 보내도록 예약했습니다.") if done else _("다시 보낼 발송 건을 찾지 못했습니다.")
    flash(message, "success" if done else "error")
    return redirect(url_for("notifications.operator_failed"), code=303)
