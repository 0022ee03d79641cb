"""Clients, households and consents: registration, the client page, consent records."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..audit.models import AccessAction
from ..audit.service import record as record_access
from ..core import idempotency
from ..core.access import tenant_member
from ..core.forms import parse_form
from ..core.paging import paging
from ..core.rules import RuleViolation
from ..core.web import fragment_target
from ..tenancy import service as tenancy
from ..tenancy.models import Role
from . import service
from .models import (
    CONSENT_PURPOSE_LABELS,
    CONSENT_SCOPE_LABELS,
    RELATIONSHIP_LABELS,
    SEX_LABELS,
    VITAL_STATUS_LABELS,
    Relationship,
    VitalStatus,
)
from .schemas import ClientEditForm, ClientForm, ConsentForm, MoveHouseholdForm, SearchForm, VitalStatusForm, WithdrawConsentForm

bp = Blueprint("clients", __name__, url_prefix="/clients")

STAFF = (Role.CASE_MANAGER, Role.REFERRAL_COORDINATOR, Role.TENANT_ADMIN)


def _form_options():
    return {
        "sex_options": [(k.value, label) for k, label in SEX_LABELS.items()],
        "relationship_options": [(k.value, label) for k, label in RELATIONSHIP_LABELS.items()],
        "household_options": [(h.public_id, h.name) for h in service.households_of_active_tenant()],
    }


def _fields_options(form) -> dict:
    """The options of the register and edit forms (clients/_fields.html)."""
    return {**_form_options(),
            "dong_choice": tenancy.dong_choice(form.get("dong_code"), g.active_tenant.region_code)}


# -- list and search ---------------------------------------------------------------------------

@bp.route("", methods=["GET", "POST"])
@tenant_member(*STAFF)
def index():
    """Own clients. Searching uses POST so names never end up in URLs or server logs."""
    query = None
    if request.method == "POST":
        data, errors = parse_form(SearchForm())
        query = (data or {}).get("q")
    # A search shows its first page (a narrower word finds the rest); the whole list pages by URL.
    page = service.client_page(query, paging({} if query else request.args, service.PER_PAGE))
    if query:
        for client in page.items:
            record_access(client, AccessAction.SEARCH, what="client_search")
    template = "clients/_results.html" if fragment_target() and request.method == "POST" else "clients/index.html"
    return render_template(template, page=page, clients=page.items, query=query or "")


# -- register ---------------------------------------------------------------------------------

@bp.route("/new", methods=["GET", "POST"])
@tenant_member(*STAFF)
def register():
    if request.method == "GET":
        return render_template("clients/new.html", form={}, errors={}, **_fields_options({}))
    previous = idempotency.previous_result()
    if previous:
        return redirect(previous, code=303)
    data, errors = parse_form(ClientForm())
    if errors:
        return render_template("clients/new.html", form=request.form, errors=errors, **_fields_options(request.form)), 422
    try:
        if not idempotency.claim():
            return redirect(url_for("clients.index"), code=303)
        client, existed = service.register_client({**data, "new_household": not data.get("household")}, current_user)
    except RuleViolation as violation:
        return render_template("clients/new.html", form=request.form, errors=violation.as_errors(),
                               **_fields_options(request.form)), 422
    target = url_for("clients.show", public_id=client.public_id)
    idempotency.record_result(target)
    if existed:
        flash(_("같은 주민등록번호로 등록된 대상자가 있어 기존 기록을 열었습니다."), "info")
    else:
        record_access(client, AccessAction.CHANGE, what="client")
        flash(_("대상자를 등록했습니다."), "success")
    return redirect(target, code=303)


# -- the client page ------------------------------------------------------------------------------

@bp.get("/<public_id>")
@tenant_member(*STAFF, Role.VIEWER)
def show(public_id):
    client = service.get_client_or_404(public_id)
    record_access(client, AccessAction.VIEW, what="client")
    return _client_page(client, status=200, form={})


def _client_page(client, status=422, errors=None, form=None):
    """The client page; owners get the household, consents and edit forms, others read only."""
    own = client.tenant_id == g.active_tenant.id
    consents = service.consents_of(client) if own else []
    return render_template(
        "clients/show.html",
        client=client,
        own=own,
        consents=consents,
        consent_tenant_names=service.listed_tenant_names(consents),
        household_members=client.household.members if own and client.household else [],
        relationship_labels=RELATIONSHIP_LABELS,
        vital_status_options=[(k.value, label) for k, label in VITAL_STATUS_LABELS.items()],
        **_form_options(),
        form=form if form is not None else request.form,
        errors=errors or {},
    ), status


@bp.route("/<public_id>/edit", methods=["GET", "POST"])
@tenant_member(*STAFF)
def edit(public_id):
    client = service.own_client_or_404(public_id)
    if request.method == "GET":
        record_access(client, AccessAction.VIEW, what="client")
        form = {"name": client.name, "phone": client.phone or "", "address": client.address or "",
                "dong_code": client.dong_code or ""}
        return render_template("clients/edit.html", client=client, form=form, errors={}, **_fields_options(form))
    data, errors = parse_form(ClientEditForm())
    if not errors:
        try:
            service.update_client(client, data)
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        return render_template("clients/edit.html", client=client, form=request.form, errors=errors,
                               **_fields_options(request.form)), 422
    record_access(client, AccessAction.CHANGE, what="client")
    flash(_("대상자 정보를 저장했습니다."), "success")
    return redirect(url_for("clients.show", public_id=public_id), code=303)


@bp.post("/<public_id>/vital-status")
@tenant_member(*STAFF)
def vital_status(public_id):
    client = service.own_client_or_404(public_id)
    data, errors = parse_form(VitalStatusForm())
    if not errors:
        try:
            service.set_vital_status(client, VitalStatus(data["vital_status"]), data["vital_status_on"])
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        return _client_page(client, errors=errors)
    record_access(client, AccessAction.CHANGE, what="client")
    flash(_("생존 상태를 저장했습니다."), "success")
    return redirect(url_for("clients.show", public_id=public_id), code=303)


@bp.post("/<public_id>/household")
@tenant_member(*STAFF)
def move_household(public_id):
    client = service.own_client_or_404(public_id)
    data, errors = parse_form(MoveHouseholdForm())
    if not errors:
        try:
            household = (
                service.new_household_for(client) if data["household"] == "new"
                else service.get_household_or_404(data["household"])
            )
            service.move_to_household(client, household, Relationship(data["household_relationship"]))
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        return _client_page(client, errors=errors)
    record_access(client, AccessAction.CHANGE, what="household")
    flash(_("가구 정보를 저장했습니다."), "success")
    return redirect(url_for("clients.show", public_id=public_id), code=303)


# -- consent --------------------------------------------------------------------------------------

def _consent_options():
    return {
        "scope_options": [(k.value, label) for k, label in CONSENT_SCOPE_LABELS.items()],
        "purpose_options": [(k.value, label) for k, label in CONSENT_PURPOSE_LABELS.items()],
        "tenant_options": [(t.code, t.name) for t in tenancy.all_tenants() if t.id != g.active_tenant.id],
    }


@bp.route("/<public_id>/consents/new", methods=["GET", "POST"])
@tenant_member(*STAFF)
def new_consent(public_id):
    client = service.own_client_or_404(public_id)
    context = {"client": client, **_consent_options()}
    if request.method == "GET":
        return render_template("clients/consent_new.html", form={"scope": "case_team"}, errors={}, **context)
    previous = idempotency.previous_result()
    if previous:
        return redirect(previous, code=303)
    data, errors = parse_form(ConsentForm())
    if not errors:
        try:
            if not idempotency.claim():
                return redirect(url_for("clients.show", public_id=public_id), code=303)
            evidence = request.files.get("evidence_file")
            service.record_consent(client, data, current_user, evidence if evidence and evidence.filename else None)
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        return render_template("clients/consent_new.html", form=request.form, errors=errors, **context), 422
    target = url_for("clients.show", public_id=public_id) + "#consents"
    idempotency.record_result(target)
    record_access(client, AccessAction.CHANGE, what="consent")
    flash(_("정보제공 동의를 기록했습니다."), "success")
    return redirect(target, code=303)


@bp.post("/<public_id>/consents/<consent_id>/withdraw")
@tenant_member(*STAFF)
def withdraw_consent(public_id, consent_id):
    client = service.own_client_or_404(public_id)
    consent = service.get_consent_or_404(client, consent_id)
    data, errors = parse_form(WithdrawConsentForm())
    if errors:  # shown next to this consent's reason field
        return _client_page(client, errors={f"withdraw-{consent.public_id}": errors["reason"]})
    try:
        affected = service.withdraw_consent(consent, data["reason"], current_user)
    except RuleViolation as violation:
        return _client_page(client, errors=violation.as_errors())
    record_access(client, AccessAction.CHANGE, what="consent")
    flash(_("동의 철회를 기록했습니다. 공유받던 기관 %(n)s곳의 접근이 즉시 중단되었습니다.", n=len(affected)), "success")
    return redirect(url_for("clients.show", public_id=public_id) + "#consents", code=303)


@bp.get("/<public_id>/consents/<consent_id>/evidence")
@tenant_member(*STAFF)
def consent_evidence(public_id, consent_id):
    client = service.own_client_or_404(public_id)
    consent = service.get_consent_or_404(client, consent_id)
    if not consent.evidence_content:
        abort(404)
    record_access(client, AccessAction.VIEW, what="consent_evidence")
    kind = service.evidence_kind(consent)
    name = f"consent-evidence.{kind.extensions[0]}" if kind else "consent-evidence"
    return Response(
        consent.evidence_content,
        mimetype=kind.content_type if kind else "application/octet-stream",
        headers={"Content-Disposition": f"attachment; filename={name}",
                 "X-Content-Type-Options": "nosniff"},
    )
