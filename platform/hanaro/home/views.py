"""The signed-in user's home in the active tenant."""
from __future__ import annotations

from flask import Blueprint, g, render_template
from flask_login import current_user

from ..core import clock
from ..core.access import signed_in
from ..tenancy import service as tenancy

bp = Blueprint("home", __name__)


@bp.get("/")
@signed_in
def index():
    membership = g.get("membership")
    if membership is None:
        return render_template("home/no_tenant.html", is_operator=current_user.is_platform_operator)
    today = clock.today()
    agreements = tenancy.agreements_of_active_tenant()
    active_agreements = [a for a in agreements if a.is_active_on(today)]
    is_admin = membership.has_role(tenancy.Role.TENANT_ADMIN)
    return render_template(
        "home/index.html",
        membership=membership,
        active_agreements=active_agreements,
        proposals=tenancy.proposals_awaiting_answer(agreements) if is_admin else [],
        member_count=tenancy.active_member_count() if is_admin else None,
    )
