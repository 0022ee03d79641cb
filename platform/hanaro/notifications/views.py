"""The tenant's in-app inbox."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from ..core.access import tenant_member
from . import service

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.get("")
@tenant_member()
def inbox():
    return render_template("notifications/inbox.html", notifications=service.inbox(current_user.id))


@bp.post("/read")
@tenant_member()
def mark_all_read():
    service.mark_all_read(current_user.id)
    return redirect(url_for("notifications.inbox"), code=303)
