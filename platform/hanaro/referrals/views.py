"""Service referral screens (서비스의뢰): writing a referral (saved as a draft or sent at once),
the inbox and outbox, and the referral page with its answers, history, messages and files.
Routes stay thin: parse, call ``service``, render.

A refused send leaves nothing behind: the request is rolled back (no draft, no files, the
submission token free again) and the form comes back with what was typed. The receiver only
ever sees the client data frozen at sending, and only while ``service.shared_client`` returns it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from jinja2_fragments.flask import render_block
from sqlalchemy import select

from ..audit.models import AccessAction
from ..audit.service import record as record_access
from ..cases import service as cases
from ..cases.models import NEED_LEVEL_LABELS, Case, CaseStatus
from ..clients import service as clients
from ..clients.models import Client
from ..core import clock, idempotency, uploads
from ..core.access import tenant_member
from ..core.db import db
from ..core.forms import parse_filters, parse_form
from ..core.paging import Count, paging
from ..core.rules import RuleViolation
from ..core.web import fragment_target
from ..resources import service as resources
from ..tenancy import context
from ..tenancy import service as tenancy
from ..tenancy.models import Role
from . import service, states
from .models import DECLINE_REASON_LABELS, OPEN_STATES, STATE_LABELS, URGENCY_LABELS, Referral, State
from .schemas import ActionForm, DraftForm, ListArgs, MessageForm, NewReferralForm, RerouteForm
from .service import DuplicateWarning
from .states import Side

bp = Blueprint("referrals", __name__, url_prefix="/referrals")

WRITE = (Role.CASE_MANAGER, Role.REFERRAL_COORDINATOR, Role.TENANT_ADMIN)
READ = (*WRITE, Role.VIEWER)
ACTIONS = ("accept", "waitlist", "decline", "start", "complete", "not_complete", "withdraw")
REROUTABLE = (State.DECLINED, State.EXPIRED)


# -- for other capabilities' templates (the case page, the client page, resource lists) ----------------

@bp.app_template_global()
def can_refer() -> bool:
    """The active member may write and answer referrals."""
    membership = g.get("membership")
    return bool(membership and membership.has_role(*WRITE))


@bp.app_template_global()
def client_referrals(client) -> list[Referral]:
    return service.referrals_of_client(client)


def masked_name(name: str | None) -> str:
    """The initial only, whatever the length (김순자, 김수 → 김○○): not even the length shows."""
    name = (name or "").strip()
    return name[:1] + "○○" if name else ""


def _can_write() -> bool:
    return can_refer()


def _labels() -> dict:
    return {
        "state_labels": STATE_LABELS, "urgency_labels": URGENCY_LABELS, "decline_reason_labels": DECLINE_REASON_LABELS,
        "field_labels": service.SHAREABLE_FIELDS, "level_labels": NEED_LEVEL_LABELS,
        "action_labels": {name: t.label for name, t in states.TRANSITIONS.items()},
        "urgency_options": [(u.value, label) for u, label in URGENCY_LABELS.items()],
        "decline_options": [(r.value, label) for r, label in DECLINE_REASON_LABELS.items()],
        "field_options": list(service.SHAREABLE_FIELDS.items()),
        "max_attachment_mb": service.MAX_ATTACHMENT_BYTES // (1024 * 1024),
        "max_attachments": service.MAX_ATTACHMENTS,
        "attachment_accept": uploads.accept(service.ATTACHMENT_KINDS),
    }


def _tenant_options(exclude_ids=()) -> list[tuple[str, str]]:
    """Active tenants one may refer to: never one's own."""
    own = context.current_tenant_id()
    return [(t.code, t.name) for t in tenancy.all_tenants() if t.active and t.id != own and t.id not in exclude_ids]


def _receiver_by_code(code: str | None):
    tenant = tenancy.tenant_by_code(code) if code else None
    if tenant is None or not tenant.active or tenant.id == context.current_tenant_id():
        return None
    return tenant


# -- writing a referral ------------------------------------------------------------------------------------

@dataclass
class Subject:
    """Whom a new referral is about and where it goes."""

    case: Case | None = None
    client: Client | None = None
    resource: object | None = None
    receiver: object | None = None
    rerouted_from: Referral | None = None


def _subject(values) -> tuple[Subject, dict]:
    """From public ids in the URL or the form. Another tenant's case, client or referral is 404, as
    is a resource the tenant may not see; a missing choice is an error next to its field."""
    subject, errors = Subject(), {}
    if values.get("reroute"):
        subject.rerouted_from = service.get_referral_or_404(values["reroute"])
        if service.side_of(subject.rerouted_from) is not Side.SENDER:
            abort(404)
    if values.get("case"):
        subject.case = cases.own_case_or_404(values["case"])
        subject.client = subject.case.client
    elif values.get("client"):
        subject.client = clients.own_client_or_404(values["client"])
    elif subject.rerouted_from is not None:
        subject.client = db.session.get(Client, subject.rerouted_from.client_id)
        if subject.rerouted_from.case_id:
            subject.case = db.session.get(Case, subject.rerouted_from.case_id)
    if values.get("resource"):
        subject.resource = resources.get_resource_or_404(values["resource"])
    elif values.get("tenant"):
        subject.receiver = _receiver_by_code(values["tenant"])
        if subject.receiver is None:
            errors["tenant"] = [_("목록에 있는 기관을 고르세요.")]
    if subject.client is None:
        errors["case"] = [_("의뢰할 사례를 고르세요.")]
    if subject.resource is None and subject.receiver is None and "tenant" not in errors:
        errors["tenant"] = [_("의뢰받을 기관을 고르세요.")]
    return subject, errors


def _case_options() -> list[tuple[str, str]]:
    """Our open cases, for a referral started from a resource page."""
    page = cases.list_cases(cases.CaseFilters(scope="tenant", status="open"), current_user, limit=200)
    return [(c.public_id, f"{c.client.name} · {c.case_type.name}") for c in page.cases if c.client is not None]


def _new_form_defaults(subject: Subject) -> dict:
    previous = subject.rerouted_from
    return {
        "requested_service": subject.resource.name if subject.resource else previous.requested_service if previous else "",
        "reason": previous.reason if previous else "",
        "urgency": previous.urgency.value if previous else "routine",
        "response_due_on": (clock.today() + timedelta(days=service.DEFAULT_RESPONSE_DAYS)).isoformat(),
        "shared_fields": list(previous.shared_fields if previous else service.DEFAULT_SHARED_FIELDS),
        "tenant": subject.receiver.code if subject.receiver else "",
    }


def _new_page(subject: Subject, form, errors=None, duplicates=None, status=200):
    return render_template(
        "referrals/new.html", subject=subject, form=form, errors=errors or {}, duplicates=duplicates or [],
        case_options=_case_options() if subject.client is None else [],
        tenant_options=_tenant_options() if subject.resource is None else [],
        **_labels(),
    ), status


@bp.get("/new")
@tenant_member(*WRITE)
def new():
    subject, _errors = _subject(request.args)
    if subject.client is not None:
        record_access(subject.client, AccessAction.VIEW, what="referral")
    return _new_page(subject, _new_form_defaults(subject))


def _uploaded_files() -> list[tuple[str, bytes]]:
    """The chosen files, each read up to one byte over the limit (enough to refuse it)."""
    return [uploads.read(f, service.MAX_ATTACHMENT_BYTES) for f in request.files.getlist("file") if f and f.filename]


def _draft_values(data: dict) -> dict:
    return {key: data.get(key) for key in ("requested_service", "reason", "urgency", "response_due_on", "shared_fields")}


def _duplicate_rows(referral: Referral) -> list[SimpleNamespace]:
    """The client's open referrals to the same service or agency, read before a rollback."""
    return [SimpleNamespace(public_id=d.public_id, requested_service=d.requested_service, receiver=d.receiver.name,
                            state_label=d.state_label, response_due_on=d.response_due_on)
            for d in service.open_duplicates(referral)]


@bp.post("/new")
@tenant_member(*WRITE)
def create():
    """Save a draft, or create and send in one transaction: a refused send creates nothing."""
    previous = idempotency.previous_result()
    if previous:
        return redirect(previous, code=303)
    subject, errors = _subject(request.form)
    data, form_errors = parse_form(NewReferralForm())
    errors = {**form_errors, **errors}
    files = _uploaded_files()
    duplicates = []
    if not errors:
        if not idempotency.claim():
            return redirect(url_for("referrals.index", box="outbox"), code=303)
        referral = None
        try:
            if subject.rerouted_from is not None:
                referral = service.reroute(subject.rerouted_from, current_user, resource=subject.resource,
                                           receiver=subject.receiver)
                service.update_draft(referral, _draft_values(data))
            else:
                referral = service.create(_draft_values(data), subject.client, current_user, case=subject.case,
                                          resource=subject.resource, receiver=subject.receiver)
            for filename, content in files:
                service.add_attachment(referral, filename, content, current_user)
            if data["intent"] == "send":
                service.send(referral, current_user, confirm_duplicate=data["confirm_duplicate"])
        except DuplicateWarning as warning:
            errors, duplicates = warning.as_errors(), _duplicate_rows(referral)
        except RuleViolation as violation:
            errors = violation.as_errors()
        if errors:
            db.session.rollback()
    if errors:
        if files and "file" not in errors:
            errors["file"] = [_("보안을 위해 고른 파일은 다시 골라야 합니다.")]
        return _new_page(subject, request.form, errors, duplicates, 422)
    target = url_for("referrals.show", public_id=referral.public_id)
    idempotency.record_result(target)
    record_access(subject.client, AccessAction.CHANGE, what="referral")
    if data["intent"] == "send":
        flash(_("%(tenant)s에 의뢰를 보냈습니다. 응답 기한: %(due)s", tenant=referral.receiver.name,
                due=referral.response_due_on.isoformat()), "success")
    else:
        flash(_("의뢰를 임시 저장했습니다. 아직 보내지 않았습니다."), "success")
    return redirect(target, code=303)


# -- a case's referrals ---------------------------------------------------------------------------------

@bp.get("/for-case/<public_id>")
@tenant_member(*READ)
def case_referrals(public_id):
    """The case page's 서비스의뢰 section, loaded on its own (htmx) so the case page stays as fast as
    it was; a page of its own without JavaScript. Lead and collaborators each see their side."""
    case = cases.get_case_or_404(public_id)
    context = {"case": case, "referrals": service.referrals_of_case(case),
               "can_start": cases.is_lead(case) and case.status is not CaseStatus.CLOSED and _can_write()}
    if fragment_target() == "case-referrals":
        return render_template("referrals/_case_referrals.html", **context)
    return render_template("referrals/case.html", **context)


# -- inbox and outbox --------------------------------------------------------------------------------------

@dataclass
class Row:
    referral: Referral
    other: str  # the other side's name
    client_label: str
    overdue: bool


def _list_args() -> dict:
    """The list's filters; a value that does not validate is dropped, not an error page."""
    return parse_filters(ListArgs(), request.args)


def _rows(box: str, referrals: list[Referral]) -> list[Row]:
    """What a list row may show: the sender its own client's name, the receiver an initial only."""
    today = clock.today()
    if box == "outbox":
        ids = {r.client_id for r in referrals}
        names = dict(db.session.execute(select(Client.id, Client.name).where(Client.id.in_(ids))).all()) if ids else {}
        return [Row(r, r.receiver.name, names.get(r.client_id, ""), service.is_overdue(r, today)) for r in referrals]
    rows = []
    for r in referrals:
        shared = service.shared_client(r)
        label = masked_name(shared.get("name")) if shared and shared.get("name") else _("(비공개)")
        rows.append(Row(r, r.tenant.name, label, service.is_overdue(r, today)))
    return rows


def _chips(counts: dict[str, Count]) -> list[tuple[dict, str, Count]]:
    """Filter links: everything, still open, each state that has referrals, overdue."""
    chips = [({}, _("전체"), sum((n for key, n in counts.items() if key != "overdue"), Count(0))),
             ({"state": "open"}, _("진행 중"), sum((counts.get(s.value, Count(0)) for s in OPEN_STATES), Count(0)))]
    chips += [({"state": s.value}, str(STATE_LABELS[s]), counts[s.value]) for s in State if counts.get(s.value)]
    chips.append(({"overdue": "1"}, _("기한 지남"), counts["overdue"]))
    return chips


@bp.get("")
@tenant_member(*READ)
def index():
    """받은 의뢰 (inbox, the default) and 보낸 의뢰 (outbox). The filters are in the URL; htmx
    swaps the list in place and pushes the URL."""
    args = _list_args()
    box = args["box"]
    page = service.list_referrals(service.ListFilter(box, args["state"], args["overdue"]),
                                  paging(request.args, service.PER_PAGE))
    counts = service.counts(box)
    context = {
        "box": box, "state": args["state"] or "", "overdue": args["overdue"], "page": page,
        "rows": _rows(box, page.items), "chips": _chips(counts),
        "waiting": counts[State.SENT.value] if box == "inbox" else 0, "can_write": _can_write(), **_labels(),
    }
    if fragment_target() == "referral-list":
        return render_block("referrals/index.html", "results", **context)
    return render_template("referrals/index.html", **context)


# -- the referral page ----------------------------------------------------------------------------------------

def _context(referral: Referral, failed=None, errors=None, form=None, duplicates=None) -> dict:
    side = service.side_of(referral)
    sender = side is Side.SENDER
    can_write = _can_write()
    allowed = states.actions_for(referral.state, side) if can_write else []
    shared = referral.shared_client if sender else service.shared_client(referral)
    context = {
        "referral": referral, "side": side.value, "sender": sender, "can_write": can_write,
        "actions": [a for a in allowed if a != "send"], "can_send": "send" in allowed,
        "can_reroute": can_write and sender and referral.state in REROUTABLE,
        "shared": shared, "overdue": service.is_overdue(referral),
        "events": service.events(referral), "messages": service.messages(referral),
        # The other side's words once the client data is no longer shared: a placeholder instead.
        "withheld": service.withheld_authors(referral),
        "attachments": service.attachments(referral),
        # Once the client data is no longer shared, the receiver cannot open the sender's files either.
        "files_withheld": side is Side.RECEIVER and shared is None,
        "failed": failed, "errors": errors or {}, "form": form if form is not None else {},
        "duplicates": duplicates or [],
        "client": db.session.get(Client, referral.client_id) if sender else None,
        "case": db.session.get(Case, referral.case_id) if sender and referral.case_id else None,
        "rerouted_from": db.session.get(Referral, referral.rerouted_from_id)
        if sender and referral.rerouted_from_id else None,
        "rerouted_to": list(db.session.scalars(select(Referral).where(Referral.rerouted_from_id == referral.id)))
        if sender else [],
        **_labels(),
    }
    if sender and referral.state is State.DRAFT:
        context["draft_form"] = context["form"] if failed == "send" else {
            "requested_service": referral.requested_service, "reason": referral.reason,
            "urgency": referral.urgency.value, "response_due_on": referral.response_due_on.isoformat(),
            "shared_fields": referral.shared_fields}
    if context["can_reroute"]:
        context["tenant_options"] = _tenant_options()
    return context


def _page(referral: Referral, status=200, **kwargs):
    """The referral page (or, for htmx, the part it targets). The access log gets every display of
    the client's data: the sender's own client, or the receiver's frozen copy."""
    context = _context(referral, **kwargs)
    if fragment_target() == "messages":  # the thread only: no client data in it
        return render_block("referrals/show.html", "messages", fragment=True, **context), status
    if context["client"] is not None:
        record_access(context["client"], AccessAction.VIEW, what="referral")
    elif context["shared"] is not None:
        service.record_receiver_view(referral)
    return render_template("referrals/show.html", **context), status


@bp.get("/<public_id>")
@tenant_member(*READ)
def show(public_id):
    return _page(service.get_referral_or_404(public_id))


def _to_referral(referral: Referral, anchor: str = ""):
    return redirect(url_for("referrals.show", public_id=referral.public_id) + anchor, code=303)


def _refused(public_id: str, action: str, side, before: State, errors: dict, **kwargs):
    """Roll back whatever the refused attempt changed and show the referral as it is now: 403 for
    the wrong side, 409 when the state does not allow it (or someone else just changed it), 422
    for missing or invalid input."""
    db.session.rollback()
    referral = service.get_referral_or_404(public_id)
    transition = states.TRANSITIONS.get(action)
    if action == "reroute":
        sources, needed_side = REROUTABLE, Side.SENDER
    else:
        sources, needed_side = transition.sources, transition.side
    if side is not needed_side:  # whatever else was wrong with the input, this is the answer
        status, errors = 403, {"_form": [str(states.SIDE_REFUSALS[needed_side])]}
    elif referral.state is not before or before not in sources:
        status = 409
    else:
        status = 422
    return _page(referral, status, failed=action, errors=errors, form=request.form, **kwargs)


@bp.post("/<public_id>/<any(accept, waitlist, decline, start, complete, not_complete, withdraw):action>")
@tenant_member(*WRITE)
def act(public_id, action):
    referral = service.get_referral_or_404(public_id)
    side, before = service.side_of(referral), referral.state
    data, errors = parse_form(ActionForm())
    if not errors:
        try:
            service.act(referral, action, current_user, note=data["note"], decline_reason=data["decline_reason"])
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        return _refused(public_id, action, side, before, errors)
    flash(_("'%(action)s' 처리했습니다. 지금 상태: %(state)s", action=states.TRANSITIONS[action].label,
            state=referral.state_label), "success")
    return _to_referral(referral)


@bp.post("/<public_id>/send")
@tenant_member(*WRITE)
def send(public_id):
    """The draft form: save the changes, and with 보내기 also send (with the duplicate check)."""
    referral = service.get_referral_or_404(public_id)
    previous = idempotency.previous_result()
    if previous:
        return redirect(previous, code=303)
    side, before = service.side_of(referral), referral.state
    data, errors = parse_form(DraftForm())
    duplicates = []
    if not errors:
        if not idempotency.claim():
            return _to_referral(referral)
        try:
            service.update_draft(referral, _draft_values(data))
            if data["intent"] == "send":
                service.send(referral, current_user, confirm_duplicate=data["confirm_duplicate"])
        except DuplicateWarning as warning:
            errors, duplicates = warning.as_errors(), _duplicate_rows(referral)
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        return _refused(public_id, "send", side, before, errors, duplicates=duplicates)
    idempotency.record_result(url_for("referrals.show", public_id=public_id))
    if data["intent"] == "send":
        record_access(db.session.get(Client, referral.client_id), AccessAction.CHANGE, what="referral")
        flash(_("%(tenant)s에 의뢰를 보냈습니다. 응답 기한: %(due)s", tenant=referral.receiver.name,
                due=referral.response_due_on.isoformat()), "success")
    else:
        flash(_("임시 저장했습니다. 아직 보내지 않았습니다."), "success")
    return _to_referral(referral)


@bp.post("/<public_id>/reroute")
@tenant_member(*WRITE)
def reroute(public_id):
    """A declined or expired referral, sent on elsewhere: a new linked draft to check and send."""
    declined = service.get_referral_or_404(public_id)
    previous = idempotency.previous_result()
    if previous:
        return redirect(previous, code=303)
    side, before = service.side_of(declined), declined.state
    data, errors = parse_form(RerouteForm())
    if not errors:
        resource = resources.get_resource_or_404(data["resource"]) if data["resource"] else None
        receiver = _receiver_by_code(data["tenant"]) if data["tenant"] and resource is None else None
        if data["tenant"] and resource is None and receiver is None:
            errors = {"tenant": [_("목록에 있는 기관을 고르세요.")]}
    if not errors:
        if not idempotency.claim():
            return _to_referral(declined)
        try:
            draft = service.reroute(declined, current_user, resource=resource, receiver=receiver)
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        return _refused(public_id, "reroute", side, before, errors)
    target = url_for("referrals.show", public_id=draft.public_id)
    idempotency.record_result(target)
    flash(_("%(tenant)s에 보낼 새 의뢰를 임시 저장했습니다. 내용을 확인하고 보내세요.", tenant=draft.receiver.name), "success")
    return redirect(target, code=303)


# -- messages and files -----------------------------------------------------------------------------------

@bp.post("/<public_id>/messages")
@tenant_member(*WRITE)
def post_message(public_id):
    """htmx posts get the thread back with the new message; plain posts go back to the page."""
    referral = service.get_referral_or_404(public_id)
    fragment = fragment_target() == "messages"
    previous = idempotency.previous_result()
    if previous:
        return _page(referral) if fragment else redirect(previous, code=303)
    data, errors = parse_form(MessageForm())
    if not errors:
        if not idempotency.claim():
            return _page(referral) if fragment else _to_referral(referral, "#messages")
        try:
            service.add_message(referral, data["body"], current_user)
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        return _page(referral, 422, failed="message", errors=errors, form=request.form)
    idempotency.record_result(url_for("referrals.show", public_id=public_id) + "#messages")
    if fragment:
        return _page(referral, failed="message-sent")
    return _to_referral(referral, "#messages")


@bp.post("/<public_id>/files")
@tenant_member(*WRITE)
def upload(public_id):
    referral = service.get_referral_or_404(public_id)
    previous = idempotency.previous_result()
    if previous:
        return redirect(previous, code=303)
    files = _uploaded_files()
    errors = {} if files else {"file": [_("첨부할 파일을 고르세요.")]}
    if not errors:
        if not idempotency.claim():
            return _to_referral(referral, "#files")
        try:
            for filename, content in files:
                service.add_attachment(referral, filename, content, current_user)
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        db.session.rollback()
        return _page(service.get_referral_or_404(public_id), 422, failed="files", errors=errors)
    idempotency.record_result(url_for("referrals.show", public_id=public_id) + "#files")
    flash(_("파일 %(n)s개를 첨부했습니다.", n=len(files)), "success")
    return _to_referral(referral, "#files")


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback and the real name per RFC 5987/6266."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;%' else "_" for c in filename) or "file"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@bp.get("/<public_id>/files/<file_id>")
@tenant_member(*READ)
def download(public_id, file_id):
    referral = service.get_referral_or_404(public_id)
    attachment = service.get_attachment_or_404(referral, file_id)
    if service.side_of(referral) is Side.RECEIVER:
        service.record_receiver_view(referral)
    else:
        record_access(db.session.get(Client, referral.client_id), AccessAction.VIEW, what="referral")
    response = Response(attachment.content, mimetype=attachment.content_type)
    response.headers["Content-Disposition"] = content_disposition(attachment.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
