"""Tenant switcher, members and roles, sharing agreements, the operator's tenant list, and the
dong options that dong fields fetch."""
from __future__ import annotations

import re

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..core.access import operator_only, signed_in, tenant_member
from ..core.db import db
from ..core import idempotency
from ..core.forms import parse_form
from . import invitations, service
from .access import partner_of_agreement, proposer_of_agreement
from .models import AGREEABLE_RECORD_KINDS, RECORD_KIND_LABELS, ROLE_LABELS, TENANT_KIND_LABELS, Region, RegionLevel, Role
from .schemas import (
    AddMemberForm,
    AgreementForm,
    ChangeRolesForm,
    DeclineAgreementForm,
    RevokeAgreementForm,
    SwitchTenantForm,
    TenantForm,
)
from ..core.rules import RuleViolation

bp = Blueprint("tenancy", __name__)


def _invalid(template: str, errors: dict, **context):
    """Re-render a form with its messages and what the user typed."""
    return render_template(template, form=request.form, errors=errors, **context), 422


def _violation(template: str, violation: RuleViolation, **context):
    errors = violation.as_errors()
    return _invalid(template, errors, **context)


# -- tenant switcher -------------------------------------------------------------------------

@bp.post("/tenant/switch")
@signed_in
def switch_tenant():
    data, errors = parse_form(SwitchTenantForm())
    membership = service.membership_in(current_user, data["tenant"]) if not errors else None
    if membership is None:
        abort(404)
    g.user_session.active_tenant_id = membership.tenant_id
    service.remember_tenant(current_user, membership)
    flash(_("작업 기관을 바꿨습니다: %(name)s", name=membership.tenant.name), "success")
    return redirect(url_for("home.index"), code=303)


# -- dong options (reference data, the same for every tenant) ----------------------------------

FIELD_ID = re.compile(r"[a-z][a-z0-9_-]{0,39}")


def _field_id(key: str, default: str) -> str:
    """A field's id or name from the query string, as written into the fragment: anything but a
    plain id (a tampered link) falls back to ``default``."""
    value = request.args.get(key, "")
    return value if FIELD_ID.fullmatch(value) else default


@bp.get("/regions/dongs")
@signed_in
def dong_options():
    """The dongs of one municipality as the options of the dong select ``target`` (forms.dong_select)."""
    target = _field_id("target", "dong_code")
    municipality = service.region(request.args.get("municipality", "")[:10])
    if municipality is not None and municipality.level is not RegionLevel.MUNICIPALITY:
        municipality = None
    return render_template(
        "tenancy/_dong_options.html", target=target, placeholder=request.args.get("placeholder", "")[:40],
        dongs=service.dongs_of(municipality.code if municipality else None),
        municipality_name=municipality.name if municipality else None)


@bp.get("/regions/areas")
@signed_in
def area_options():
    """The boxes of the area choice ``target`` (forms.area_checkboxes) once another municipality is
    picked: those ticked so far (the ``name`` values), then that municipality's areas."""
    target, name = _field_id("target", "service_area_codes"), _field_id("name", "service_area_codes")
    choice = service.area_choice(request.args.getlist(name)[:500], request.args.get("area_municipality", "")[:10])
    municipality = service.region(choice.municipality) if choice.offered else None
    return render_template("tenancy/_area_options.html", target=target, name=name, chosen=choice.chosen,
                           offered=choice.offered, municipality_name=municipality.name if municipality else None)


@bp.get("/tenants/options")
@signed_in
def tenant_options():
    """Active tenants whose name contains ``q``, as the options of the tenant select ``target``
    (forms.tenant_select)."""
    target = _field_id("target", "provider_tenant")
    query = request.args.get("q", "").strip()[:50]
    return render_template("tenancy/_tenant_options.html", target=target, query=query,
                           placeholder=request.args.get("placeholder", "")[:40], tenants=service.find_tenants(query))


# -- the signed-in person's invitations ---------------------------------------------------------

@bp.get("/invitations")
@signed_in
def my_invitations():
    return render_template("tenancy/invitations.html")


@bp.post("/invitations/<public_id>/accept")
@signed_in
def accept_invitation(public_id):
    try:
        membership = invitations.accept(current_user, public_id)
    except RuleViolation as violation:
        flash(violation.message, "error")
        return redirect(url_for("tenancy.my_invitations"), code=303)
    flash(_("%(name)s의 구성원이 되었습니다.", name=membership.tenant.name), "success")
    return redirect(url_for("home.index"), code=303)


@bp.post("/invitations/<public_id>/decline")
@signed_in
def decline_invitation(public_id):
    try:
        membership = invitations.decline(current_user, public_id)
    except RuleViolation as violation:
        flash(violation.message, "error")
        return redirect(url_for("tenancy.my_invitations"), code=303)
    flash(_("%(name)s의 초대를 거절했습니다.", name=membership.tenant.name), "info")
    return redirect(url_for("home.index"), code=303)


# -- members and roles ---------------------------------------------------------------------------

ROLE_OPTIONS = [(role.value, ROLE_LABELS[role]) for role in Role]


def _members_page(form=None, errors=None, status=200):
    return (
        render_template(
            "tenancy/members.html",
            members=service.members_of_active_tenant(),
            role_options=ROLE_OPTIONS,
            form=form or {},
            errors=errors or {},
        ),
        status,
    )


@bp.get("/admin/members")
@tenant_member(Role.TENANT_ADMIN)
def members():
    return _members_page()


@bp.post("/admin/members")
@tenant_member(Role.TENANT_ADMIN)
def add_member():
    """Invites; the answer is the same whether or not the e-mail has an account."""
    previous = idempotency.previous_result()
    if previous:
        return redirect(previous, code=303)
    data, errors = parse_form(AddMemberForm())
    if errors:
        return _members_page(request.form, errors, 422)
    if not idempotency.claim():
        return redirect(url_for("tenancy.members"), code=303)
    try:
        membership = invitations.invite(
            data["email"], data["display_name"], data["initial_password"], data["roles"], current_user
        )
    except RuleViolation as violation:
        return _members_page(request.form, violation.as_errors(), 422)
    idempotency.record_result(url_for("tenancy.members"))
    flash(_("%(email)s 주소로 초대를 보냈습니다. 받은 사람이 수락하면 구성원이 됩니다.",
            email=membership.invited_email), "success")
    return redirect(url_for("tenancy.members"), code=303)


@bp.post("/admin/members/<public_id>/cancel")
@tenant_member(Role.TENANT_ADMIN)
def cancel_invitation(public_id):
    membership = service.get_membership_or_404(public_id)
    try:
        invitations.cancel(membership)
    except RuleViolation as violation:
        flash(violation.message, "error")
        return redirect(url_for("tenancy.member", public_id=public_id), code=303)
    flash(_("초대를 취소했습니다."), "success")
    return redirect(url_for("tenancy.members"), code=303)


@bp.route("/admin/members/<public_id>", methods=["GET", "POST"])
@tenant_member(Role.TENANT_ADMIN)
def member(public_id):
    membership = service.get_membership_or_404(public_id)
    context = {"membership": membership, "role_options": ROLE_OPTIONS}
    if request.method == "GET":
        return render_template("tenancy/member.html", form={"roles": membership.roles}, errors={}, **context)
    data, errors = parse_form(ChangeRolesForm())
    if errors:
        return _invalid("tenancy/member.html", errors, **context)
    try:
        service.change_roles(membership, data["roles"], current_user)
    except RuleViolation as violation:
        return _violation("tenancy/member.html", violation, **context)
    flash(_("역할을 저장했습니다."), "success")
    return redirect(url_for("tenancy.member", public_id=public_id), code=303)


@bp.post("/admin/members/<public_id>/revoke")
@tenant_member(Role.TENANT_ADMIN)
def revoke_member(public_id):
    membership = service.get_membership_or_404(public_id)
    try:
        service.revoke_membership(membership, current_user)
    except RuleViolation as violation:
        flash(violation.message, "error")
        return redirect(url_for("tenancy.member", public_id=public_id), code=303)
    flash(_("구성원의 권한을 회수했습니다."), "success")
    return redirect(url_for("tenancy.members"), code=303)


@bp.get("/admin/role-history")
@tenant_member(Role.TENANT_ADMIN)
def role_history():
    return render_template(
        "tenancy/role_history.html", changes=service.role_changes_of_active_tenant(), role_labels=ROLE_LABELS
    )


# -- sharing agreements ------------------------------------------------------------------------

# 서비스의뢰 is not offered: a referral may go to any organisation in the directory, on the
# client's consent, so an agreement covering it would gate nothing (see README, 협약).
RECORD_KIND_OPTIONS = [(k, RECORD_KIND_LABELS[k]) for k in AGREEABLE_RECORD_KINDS]


def _agreements_page(form=None, errors=None, status=200):
    active_tenant = g.active_tenant
    return (
        render_template(
            "tenancy/agreements.html",
            agreements=service.agreements_of_active_tenant(),
            partner_options=[(t.code, t.name) for t in service.all_tenants() if t.id != active_tenant.id],
            record_kind_options=[(k.value, label) for k, label in RECORD_KIND_OPTIONS],
            can_manage=g.membership.has_role(Role.TENANT_ADMIN),
            form=form or {},
            errors=errors or {},
        ),
        status,
    )


@bp.get("/agreements")
@tenant_member()
def agreements():
    return _agreements_page()


@bp.post("/agreements")
@tenant_member(Role.TENANT_ADMIN)
def create_agreement():
    previous = idempotency.previous_result()
    if previous:
        return redirect(previous, code=303)
    data, errors = parse_form(AgreementForm())
    partner = service.tenant_by_code(data["partner"]) if data else None
    if data and partner is None:
        errors = {"partner": [_("목록에 있는 기관을 고르세요.")]}
    if errors:
        return _agreements_page(request.form, errors, 422)
    if not idempotency.claim():
        return redirect(url_for("tenancy.agreements"), code=303)
    try:
        agreement = service.propose_agreement(
            partner, data["purpose"], data["record_kinds"], data["valid_from"], data["valid_to"], current_user
        )
    except RuleViolation as violation:
        return _agreements_page(request.form, violation.as_errors(), 422)
    target = url_for("tenancy.agreement", public_id=agreement.public_id)
    idempotency.record_result(target)
    flash(_("%(name)s에 협약을 제안했습니다. 상대 기관 관리자가 수락해야 공유가 시작됩니다.", name=partner.name), "success")
    return redirect(target, code=303)


def _agreement_page(agreement, form=None, errors=None, status=200):
    return (
        render_template(
            "tenancy/agreement.html",
            agreement=agreement,
            history=service.history_of(agreement),
            is_partner=agreement.partner_tenant_id == g.active_tenant.id,
            can_manage=g.membership.has_role(Role.TENANT_ADMIN),
            form=form or {},
            errors=errors or {},
        ),
        status,
    )


@bp.route("/agreements/<public_id>", methods=["GET"])
@tenant_member()
def agreement(public_id):
    return _agreement_page(service.get_agreement_or_404(public_id))


def _change_agreement(public_id, change, done_message, schema=None):
    """Load (404 for a third tenant; the route's check refused the wrong party already), validate,
    apply ``change`` and report. A refused transition (answered meanwhile) is shown with its reason
    (409), never a 500."""
    agreement = service.get_agreement_or_404(public_id)
    data, errors = parse_form(schema) if schema is not None else ({}, {})
    if errors:
        return _agreement_page(agreement, request.form, errors, 422)
    try:
        change(agreement, data)
    except RuleViolation as violation:
        db.session.rollback()
        agreement = service.get_agreement_or_404(public_id)
        status = 422 if violation.field else 409
        return _agreement_page(agreement, request.form, violation.as_errors(), status)
    flash(done_message, "success")
    return redirect(url_for("tenancy.agreement", public_id=public_id), code=303)


@bp.post("/agreements/<public_id>/accept")
@tenant_member(Role.TENANT_ADMIN, check=partner_of_agreement, subject=service.get_agreement_or_404)
def accept_agreement(public_id):
    return _change_agreement(public_id, lambda a, data: service.accept_agreement(a, current_user),
                             _("협약을 수락했습니다. 이제 협약에 적힌 정보를 공유합니다."))


@bp.post("/agreements/<public_id>/decline")
@tenant_member(Role.TENANT_ADMIN, check=partner_of_agreement, subject=service.get_agreement_or_404)
def decline_agreement(public_id):
    return _change_agreement(public_id, lambda a, data: service.decline_agreement(a, data["reason"], current_user),
                             _("협약 제안을 거절했습니다. 아무 정보도 공유되지 않습니다."), DeclineAgreementForm())


@bp.post("/agreements/<public_id>/withdraw")
@tenant_member(Role.TENANT_ADMIN, check=proposer_of_agreement, subject=service.get_agreement_or_404)
def withdraw_agreement(public_id):
    return _change_agreement(public_id, lambda a, data: service.withdraw_agreement(a, current_user),
                             _("협약 제안을 철회했습니다."))


@bp.post("/agreements/<public_id>/revoke")
@tenant_member(Role.TENANT_ADMIN)
def revoke_agreement(public_id):
    return _change_agreement(public_id, lambda a, data: service.revoke_agreement(a, data["reason"], current_user),
                             _("협약을 해지했습니다. 이 협약에 따른 공유는 즉시 중단됩니다."), RevokeAgreementForm())


# -- platform operator: tenants ------------------------------------------------------------------

def _tenants_page(form=None, errors=None, status=200):
    return (
        render_template(
            "tenancy/operator_tenants.html",
            tenants=service.all_tenants(),
            kind_options=[(k.value, label) for k, label in TENANT_KIND_LABELS.items()],
            region_options=[
                (r.code, f"{r.name} ({r.code})") for r in db.session.scalars(select(Region).order_by(Region.code))
            ],
            parent_options=[(t.code, t.name) for t in service.all_tenants()],
            form=form or {},
            errors=errors or {},
        ),
        status,
    )


@bp.get("/operator/tenants")
@operator_only
def operator_tenants():
    return _tenants_page()


@bp.post("/operator/tenants")
@operator_only
def create_tenant():
    data, errors = parse_form(TenantForm())
    region = db.session.get(Region, data["region_code"]) if data else None
    parent = service.tenant_by_code(data["parent"]) if data and data.get("parent") else None
    if data and region is None:
        errors = {"region_code": [_("목록에 있는 행정구역을 고르세요.")]}
    elif data and data.get("parent") and parent is None:
        errors = {"parent": [_("목록에 있는 기관을 고르세요.")]}
    if errors:
        return _tenants_page(request.form, errors, 422)
    try:
        tenant = service.create_tenant(data["code"], data["name"], data["kind"], region, parent)
    except RuleViolation as violation:
        return _tenants_page(request.form, violation.as_errors(), 422)
    flash(_("기관을 만들었습니다: %(name)s", name=tenant.name), "success")
    return redirect(url_for("tenancy.operator_tenants"), code=303)
