"""Resource distribution campaign screens (자원배분): the organiser's campaigns, their review and
allocation, and the invited agencies' nominations. Routes stay thin: parse with ``schemas``,
call ``service``, render.

Who. The organiser's screens need the 자원배분 담당자 role (``campaign_organiser``) in the tenant
that runs the campaign; nominating needs 사례관리자, 서비스의뢰 담당자 or 기관 관리자 (those who work
with the tenant's clients, as for referrals) in an invited tenant. The campaign page and the
nomination page serve both sides (notifications link to /campaigns/<id>).
A campaign or nomination the tenant may not see is 404 (the service's loaders); a visible one
asked for by the wrong side, or by a member without that side's role, is 403.

Privacy. The organiser's lists show a nominee's initial only; the nominee's details are on the
nomination page, and every display there is access-logged (``service.record_organiser_view``).
A nominating tenant reads only its own nominations and, about the others, only what
``service.flag_reason`` words for it ("이미 다른 기관이 추천한 가구입니다").
"""
from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from jinja2_fragments.flask import render_block
from sqlalchemy import select

from ..audit.models import AccessAction
from ..audit.service import record as record_access
from ..clients import service as clients
from ..clients.models import Client
from ..core import idempotency
from ..core.access import tenant_member
from ..core.db import db
from ..core.forms import parse_filters, parse_form
from ..core.rules import RuleViolation
from ..core.web import fragment_target
from ..referrals.views import masked_name
from ..tenancy import context
from ..tenancy import service as tenancy
from ..tenancy.models import Region, RegionLevel, Role
from . import schemas, service, states
from .access import (
    NOMINATE, ORGANISE, decides_nomination, nominates, nomination_side, organises_campaign, owns_nomination,
    reads_campaign, reads_nomination, resolves_flag,
)
from .models import (
    CAMPAIGN_STATUS_LABELS, CATEGORY_LABELS, DELIVERY_STATUS_LABELS, NOMINATION_STATUS_LABELS, PRIORITY_LABELS,
    REJECT_REASON_LABELS, Campaign, CampaignStatus, DeliveryStatus, FlagStatus, Nomination, NominationStatus,
)
from .states import Side

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")

EITHER = (*ORGANISE, *NOMINATE)
ROW_LISTS = ("nominator_tenant", "nominator_quota", "quota_dong", "quota_households")
EMPTY_ROWS = 3  # blank rows a form offers without JavaScript ("행 추가" adds more)

FIELD_LABELS = {
    "title": _l("캠페인 이름"), "category": _l("지원 종류"), "resource": _l("후원 물품 자원"),
    "item_description": _l("물품 내용"), "sponsor": _l("후원자"), "quantity": _l("배분할 수량"), "unit": _l("단위"),
    "per_household": _l("가구당 수량"), "eligibility_notes": _l("지원 기준"), "opens_on": _l("추천 시작일"),
    "closes_on": _l("추천 마감일"), "nominators": _l("추천 기관과 한도"), "dong_quotas": _l("동별 배정 가구 수"),
    "client": _l("대상자"), "reason": _l("추천 사유"), "priority": _l("우선순위"), "consent": _l("정보제공 동의"),
    "reject_reason": _l("제외 사유"), "note": _l("메모"), "status": _l("지급 결과"), "delivered_on": _l("지급일"),
    "allocations": _l("배정 수량"),
}


# -- for other templates (the client page) and the menu ------------------------------------------------

def _may(*roles) -> bool:
    membership = g.get("membership")
    return bool(membership and membership.has_role(*roles))


@bp.app_template_global()
def can_nominate() -> bool:
    return _may(*NOMINATE)


@bp.app_template_global()
def client_nominations(client) -> list[Nomination]:
    return service.nominations_of_client(client)


def _labels() -> dict:
    return {
        "campaign_status_labels": CAMPAIGN_STATUS_LABELS, "status_labels": NOMINATION_STATUS_LABELS,
        "field_labels": FIELD_LABELS,
        "category_options": [(c.value, label) for c, label in CATEGORY_LABELS.items()],
        "priority_options": [(p.value, label) for p, label in PRIORITY_LABELS.items()],
        "reject_options": [(r.value, label) for r, label in REJECT_REASON_LABELS.items()],
        "delivery_options": [(s.value, DELIVERY_STATUS_LABELS[s])
                             for s in (DeliveryStatus.DELIVERED, DeliveryStatus.NOT_DELIVERED)],
        "status_options": [(s.value, label) for s, label in NOMINATION_STATUS_LABELS.items()],
        "action_labels": {**{n: t.label for n, t in states.CAMPAIGN_TRANSITIONS.items()},
                          **{n: t.label for n, t in states.NOMINATION_TRANSITIONS.items()}},
    }


def _campaign_for(public_id: str) -> tuple[Campaign, Side]:
    """The campaign and the active tenant's side on it (the route's rule let it through)."""
    campaign = service.get_campaign_or_404(public_id)
    return campaign, service.side_of(campaign)


def _nomination_for(public_id: str, wanted: Side | None = None) -> tuple[Nomination, Side]:
    nomination = service.get_nomination_or_404(public_id)
    return nomination, nomination_side(nomination, wanted)


def _again(target: str):
    """A second submit of a form already handled goes where the first went."""
    return redirect(target, code=303)


# -- lists ------------------------------------------------------------------------------------------------

@bp.get("")
@tenant_member(*EITHER)
def index():
    """The organiser's campaigns (filtered by status) and the campaigns we are invited to."""
    status = request.args.get("status") or ""
    status = status if status in {s.value for s in CampaignStatus} else ""
    organised = service.campaigns_organised(status or None) if _may(*ORGANISE) else None
    invited = None
    if _may(*NOMINATE):
        # Open ones first (they need our nominations), then by closing date, latest first.
        invited = sorted(service.campaigns_invited(), key=lambda c: c.status is not CampaignStatus.OPEN)
    return render_template("campaigns/index.html", organised=organised, invited=invited, status=status, **_labels())


# -- the organiser's campaign form ------------------------------------------------------------------------

@dataclass
class Row:
    key: str  # a tenant code or a dong code
    count: str  # the quota as typed
    id: str  # suffix for the row's field ids


def _rows(keys: list[str], counts: list[str], blanks: int = EMPTY_ROWS) -> list[Row]:
    rows = [Row(k or "", counts[i] if i < len(counts) else "", str(i)) for i, k in enumerate(keys)]
    return rows + [Row("", "", str(len(rows) + n)) for n in range(blanks)]


def _posted_rows(adding: str | None = None) -> dict:
    form = request.form
    return {"nominator_rows": _rows(form.getlist("nominator_tenant"), form.getlist("nominator_quota"),
                                    1 if adding == "nominator" else 0),
            "dong_rows": _rows(form.getlist("quota_dong"), form.getlist("quota_households"),
                               1 if adding == "dong" else 0)}


def _campaign_rows(campaign: Campaign) -> dict:
    invitations = service.invitations_of(campaign)
    quotas = campaign.dong_quotas or {}
    blanks = EMPTY_ROWS if campaign.status is CampaignStatus.PREPARATION else 0
    return {"nominator_rows": _rows([i.nominator.code for i in invitations],
                                    ["" if i.quota is None else str(i.quota) for i in invitations], blanks),
            "dong_rows": _rows(list(quotas), [str(n) for n in quotas.values()])}


def _dong_options(area_code: str) -> list[tuple[str, str]]:
    """The dongs inside the organiser's area (a municipality's, or a province's through its
    municipalities)."""
    regions = {r.code: r for r in db.session.scalars(select(Region))}

    def inside(region) -> bool:
        while region is not None:
            if region.code == area_code:
                return True
            region = regions.get(region.parent_code)
        return False

    dongs = [r for r in regions.values() if r.level is RegionLevel.DONG and inside(r)]
    return [(r.code, r.name) for r in sorted(dongs, key=lambda r: r.name)]


def _form_options() -> dict:
    from ..resources.models import Resource, ResourceKind

    in_kind = db.session.scalars(select(Resource).where(Resource.kind == ResourceKind.IN_KIND.value)
                                 .order_by(Resource.name, Resource.id).limit(200))
    return {
        "tenant_options": [(t.code, t.name) for t in tenancy.all_tenants() if t.active],
        "dong_options": _dong_options(g.active_tenant.region_code),
        "resource_options": [(r.public_id, f"{r.name} ({r.quantity or '-'}{r.quantity_unit or ''})") for r in in_kind],
        **_labels(),
    }


def _form_page(campaign: Campaign | None, form, rows: dict, errors=None, status=200):
    return render_template("campaigns/form.html", campaign=campaign, form=form, errors=errors or {},
                           open_edit=campaign is not None and campaign.status is CampaignStatus.OPEN,
                           **rows, **_form_options()), status


def _campaign_values(data: dict) -> dict:
    # parse_form leaves blank list items out, which would move a blank quota onto the next row:
    # pair the rows exactly as posted.
    return schemas.rows({**data, **{key: request.form.getlist(key) for key in ROW_LISTS}})


@bp.get("/rows/<any(nominator, dong):kind>")
@tenant_member(*ORGANISE)
def blank_row(kind):
    """One more empty row of the campaign form ("행 추가" with htmx)."""
    template = "campaigns/_nominator_row.html" if kind == "nominator" else "campaigns/_dong_row.html"
    return render_template(template, row=Row("", "", secrets.token_hex(3)), errors={}, **_form_options())


@bp.get("/new")
@tenant_member(*ORGANISE)
def new():
    return _form_page(None, {"per_household": "1"}, {"nominator_rows": _rows([], []), "dong_rows": _rows([], [])})


@bp.post("/new")
@tenant_member(*ORGANISE)
def create():
    if request.form.get("add_row"):  # "행 추가" without JavaScript: the same form, one more row
        return _form_page(None, request.form, _posted_rows(request.form["add_row"]))
    previous = idempotency.previous_result()
    if previous:
        return _again(previous)
    data, errors = parse_form(schemas.CampaignForm())
    if not errors:
        if not idempotency.claim():
            return _again(url_for("campaigns.index"))
        try:
            campaign = service.create_campaign(_campaign_values(data), current_user)
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        db.session.rollback()
        return _form_page(None, request.form, _posted_rows(), errors, 422)
    target = url_for("campaigns.show", public_id=campaign.public_id)
    idempotency.record_result(target)
    flash(_("캠페인을 만들었습니다. 추천 기관을 확인하고 '추천 접수 시작'을 누르면 초대한 기관에 알림이 갑니다."), "success")
    return redirect(target, code=303)


def _form_of(campaign: Campaign) -> dict:
    from ..resources.models import Resource

    resource = db.session.get(Resource, campaign.resource_id) if campaign.resource_id else None
    return {"title": campaign.title, "category": campaign.category.value, "resource": resource.public_id if resource else "",
            "item_description": campaign.item_description or "", "sponsor": campaign.sponsor or "",
            "quantity": campaign.quantity, "unit": campaign.unit, "per_household": campaign.per_household,
            "eligibility_notes": campaign.eligibility_notes or "", "opens_on": campaign.opens_on,
            "closes_on": campaign.closes_on}


@bp.route("/<public_id>/edit", methods=["GET", "POST"])
@tenant_member(*ORGANISE, check=organises_campaign, subject=service.get_campaign_or_404)
def edit(public_id):
    """Everything in preparation; while nominations are open only the closing date, the
    eligibility notes and the quotas (the service's rule); after that the form is not offered."""
    campaign, _side = _campaign_for(public_id)
    if campaign.status not in (CampaignStatus.PREPARATION, CampaignStatus.OPEN):
        flash(_("추천 접수가 끝난 캠페인은 고칠 수 없습니다."), "error")
        return redirect(url_for("campaigns.show", public_id=public_id), code=303)
    if request.method == "GET":
        return _form_page(campaign, _form_of(campaign), _campaign_rows(campaign))
    if request.form.get("add_row"):
        return _form_page(campaign, request.form, _posted_rows(request.form["add_row"]))
    open_edit = campaign.status is CampaignStatus.OPEN
    data, errors = parse_form(schemas.CampaignForm(partial=open_edit))
    if not errors:
        values = _campaign_values(data)
        if open_edit:
            values["eligibility_notes"] = data.get("eligibility_notes")  # a blank field clears the notes
        try:
            service.update_campaign(campaign, values, current_user)
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        db.session.rollback()
        return _form_page(service.get_campaign_or_404(public_id), request.form, _posted_rows(), errors, 422)
    flash(_("캠페인을 고쳤습니다."), "success")
    return redirect(url_for("campaigns.show", public_id=public_id), code=303)


# -- the campaign page -------------------------------------------------------------------------------------

@dataclass
class NominationRow:
    nomination: Nomination
    label: str  # the organiser: the nominee's initial; the nominator: its own client's name
    dong: str
    flags: list  # [(flag, reason)] of open flags


def _list_filter() -> service.NominationFilter:
    """The table's filters from the URL; a value that does not validate is dropped."""
    data = parse_filters(schemas.NominationListArgs(), request.args)
    return service.NominationFilter(status=data["status"], dong_code=data["dong"], nominator=data["nominator"],
                                    flagged=data["flagged"])


def _open_flags(campaign: Campaign) -> dict[int, list]:
    """{nomination id: [(flag, reason)]} of the campaign's open flags the active tenant may read."""
    flags = service.flags_of(campaign, FlagStatus.OPEN.value)
    reasons = service.flag_reasons(campaign, flags)
    grouped = defaultdict(list)
    for flag in flags:
        grouped[flag.nomination_id].append((flag, reasons[flag.id]))
    return grouped


def _dong_names(codes) -> dict[str, str]:
    codes = {c for c in codes if c}
    return dict(db.session.execute(select(Region.code, Region.name).where(Region.code.in_(codes))).all()) if codes else {}


def _organiser_context(campaign: Campaign, errors=None, failed=None, form=None) -> dict:
    everything = service.nominations_of(campaign)
    list_filter = _list_filter()
    filtered = any((list_filter.status, list_filter.dong_code, list_filter.nominator, list_filter.flagged))
    shown = service.nominations_of(campaign, list_filter) if filtered else everything
    flags = _open_flags(campaign)
    dongs = _dong_names([n.dong_code for n in everything] + list(campaign.dong_quotas or {}))
    initials = {n.id: masked_name((n.snapshot or {}).get("name")) or _("(동의 철회)") for n in everything}
    rows = [NominationRow(n, initials[n.id], dongs.get(n.dong_code, n.dong_code), flags.get(n.id, [])) for n in shown]
    counts, by_nominator, by_dong = defaultdict(int), defaultdict(int), defaultdict(int)
    for n in everything:
        counts[n.status.value] += 1
        if n.is_active:
            by_nominator[n.nominator_tenant_id] += 1
            by_dong[n.dong_code] += 1
    accepted = [n for n in everything if n.status is NominationStatus.ACCEPTED]
    invitations = service.invitations_of(campaign)
    return {
        "campaign": campaign, "organiser": True, "rows": rows, "filter": list_filter, "filtered": filtered,
        "counts": counts, "total": len(everything), "open_flags": sum(len(f) for f in flags.values()),
        "invitations": invitations, "dongs": dongs, "by_nominator": by_nominator, "by_dong": by_dong,
        "initials": initials, "nominator_filter_options": [(i.nominator.code, i.nominator.name) for i in invitations],
        "summary_labels": {**FIELD_LABELS, **{f"units-{n.public_id}": _l("배정 수량") for n in accepted}},
        "dong_filter_options": sorted({(n.dong_code, dongs.get(n.dong_code, n.dong_code)) for n in everything},
                                      key=lambda o: o[1]),
        "actions": [a for a in states.campaign_actions(campaign.status, Side.ORGANISER) if a != "confirm"],
        "can_finalise": campaign.status is CampaignStatus.REVIEW, "accepted": accepted,
        "accepted_units": sum(n.allocated_quantity or n.quantity for n in accepted),
        "pending_deliveries": sum(1 for n in accepted if n.delivery_status is DeliveryStatus.PENDING),
        "can_check": campaign.status in (CampaignStatus.OPEN, CampaignStatus.REVIEW),
        "can_edit": campaign.status in (CampaignStatus.PREPARATION, CampaignStatus.OPEN),
        "errors": errors or {}, "failed": failed, "form": form if form is not None else {}, **_labels(),
    }


def _nominator_context(campaign: Campaign, errors=None) -> dict:
    mine = service.my_nominations(campaign)
    names = dict(db.session.execute(select(Client.id, Client.name).where(
        Client.id.in_({n.client_id for n in mine}))).all()) if mine else {}
    flags = _open_flags(campaign)
    dongs = _dong_names([n.dong_code for n in mine])
    rows = [NominationRow(n, names.get(n.client_id, ""), dongs.get(n.dong_code, n.dong_code),
                          flags.get(n.id, []) if n.is_active else []) for n in mine]
    decided = campaign.status in (CampaignStatus.CONFIRMED, CampaignStatus.COMPLETED)
    return {
        "campaign": campaign, "organiser": False, "rows": rows,
        "invitation": service.invitation_of(campaign, context.current_tenant_id()),
        "active_count": sum(1 for n in mine if n.is_active),
        "results": {"accepted": sum(1 for n in mine if n.status is NominationStatus.ACCEPTED),
                    "rejected": sum(1 for n in mine if n.status is NominationStatus.REJECTED)} if decided else None,
        "can_nominate": _open_for_nominations(campaign), "errors": errors or {}, **_labels(),
    }


def _open_for_nominations(campaign: Campaign) -> bool:
    from ..core import clock

    return campaign.status is CampaignStatus.OPEN and campaign.opens_on <= clock.today() <= campaign.closes_on


def _campaign_page(campaign: Campaign, side: Side, status=200, **kwargs):
    if side is Side.ORGANISER:
        context_ = _organiser_context(campaign, **kwargs)
        if fragment_target() == "nominations":
            return render_block("campaigns/show.html", "nominations", **context_), status
        return render_template("campaigns/show.html", **context_), status
    return render_template("campaigns/nominator.html", **_nominator_context(campaign, **kwargs)), status


@bp.get("/<public_id>")
@tenant_member(*EITHER, check=reads_campaign, subject=service.get_campaign_or_404)
def show(public_id):
    campaign, side = _campaign_for(public_id)
    return _campaign_page(campaign, side)


def _refused_on_campaign(public_id: str, action: str, violation: RuleViolation, before: CampaignStatus):
    """Roll back and show the campaign as it is now: 409 when its status moved on or does not
    allow the step, 422 when the input or a precondition is wrong."""
    db.session.rollback()
    campaign = service.get_campaign_or_404(public_id)
    transition = states.CAMPAIGN_TRANSITIONS.get(action)
    conflict = campaign.status is not before or (transition is not None and before not in transition.sources)
    return _campaign_page(campaign, Side.ORGANISER, 409 if conflict else 422, errors=violation.as_errors(),
                          failed=action, form=request.form)


def _check_summary(summary) -> str:
    found = ", ".join(f"{_flag_kind_label(kind)} {n}" for kind, n in sorted(summary.open.items()))
    message = _("점검했습니다. 확인이 필요한 결과 %(n)s건", n=sum(summary.open.values()))
    message += f" ({found})." if found else "."
    if summary.cleared:
        message += " " + _("더 이상 해당하지 않아 정리된 결과 %(n)s건.", n=summary.cleared)
    if not summary.registry_available:
        message += " " + _("주민등록 변동 자료를 확인하지 못해 사망·전출은 점검하지 않았습니다.")
    return message


def _flag_kind_label(kind: str) -> str:
    from .models import FLAG_KIND_LABELS, FlagKind

    return str(FLAG_KIND_LABELS[FlagKind(kind)])


@bp.post("/<public_id>/status/<any(open, review, complete):action>")
@tenant_member(*ORGANISE, check=organises_campaign, subject=service.get_campaign_or_404)
def change_status(public_id, action):
    """추천 접수 시작 / 추천 마감 후 검토 (the checks run) / 지급 완료."""
    campaign, _side = _campaign_for(public_id)
    previous = idempotency.previous_result()
    if previous:
        return _again(previous)
    before = campaign.status
    try:
        if not idempotency.claim():
            return _again(url_for("campaigns.show", public_id=public_id))
        if action == "open":
            service.open_nominations(campaign, current_user)
            message = _("추천 접수를 시작했습니다. 초대한 기관에 알렸습니다.")
        elif action == "review":
            message = _("추천을 마감했습니다.") + " " + _check_summary(service.close_nominations(campaign, current_user))
        else:
            service.complete(campaign, current_user)
            message = _("지급 완료로 마쳤습니다.")
    except RuleViolation as violation:
        return _refused_on_campaign(public_id, action, violation, before)
    target = url_for("campaigns.show", public_id=public_id)
    idempotency.record_result(target)
    flash(message, "success")
    return redirect(target, code=303)


@bp.post("/<public_id>/checks")
@tenant_member(*ORGANISE, check=organises_campaign, subject=service.get_campaign_or_404)
def run_checks(public_id):
    """다시 점검: idempotent, so a double click only runs it twice."""
    campaign, _side = _campaign_for(public_id)
    before = campaign.status
    try:
        summary = service.run_checks(campaign, current_user)
    except RuleViolation as violation:
        return _refused_on_campaign(public_id, "checks", violation, before)
    flash(_check_summary(summary), "success")
    return redirect(url_for("campaigns.show", public_id=public_id) + "#nominations", code=303)


def _allocations(accepted: list[Nomination]) -> tuple[dict[str, int], dict]:
    """{nomination public id: units} from the finalise form's ``units-<id>`` fields."""
    allocations, errors = {}, {}
    for nomination in accepted:
        field = f"units-{nomination.public_id}"
        text = (request.form.get(field) or "").strip()
        if not text:
            continue
        if not text.isdigit() or int(text) < 1:
            errors[field] = [_("배정 수량은 1 이상이어야 합니다.")]
        else:
            allocations[nomination.public_id] = int(text)
    return allocations, errors


@bp.post("/<public_id>/finalise")
@tenant_member(*ORGANISE, check=organises_campaign, subject=service.get_campaign_or_404)
def finalise(public_id):
    """배분 확정 with the units each selected household gets (the units asked for by default)."""
    campaign, _side = _campaign_for(public_id)
    previous = idempotency.previous_result()
    if previous:
        return _again(previous)
    before = campaign.status
    accepted = [n for n in service.nominations_of(campaign) if n.status is NominationStatus.ACCEPTED]
    allocations, errors = _allocations(accepted)
    if errors:
        return _campaign_page(campaign, Side.ORGANISER, 422, errors=errors, failed="confirm", form=request.form)
    try:
        if not idempotency.claim():
            return _again(url_for("campaigns.show", public_id=public_id))
        result = service.finalise(campaign, current_user, allocations)
    except RuleViolation as violation:
        return _refused_on_campaign(public_id, "confirm", violation, before)
    target = url_for("campaigns.show", public_id=public_id)
    idempotency.record_result(target)
    flash(_("배분을 확정했습니다: %(households)s가구, %(units)s%(unit)s. 추천 기관마다 결과를 알렸습니다.",
            households=result["households"], units=result["units"], unit=campaign.unit), "success")
    return redirect(target, code=303)


# -- nominating (the invited agencies) ------------------------------------------------------------------

def _picker(campaign: Campaign, query: str | None) -> dict:
    """Our own clients for the picker, and which of them this campaign already has from us."""
    found = clients.search_clients(query)
    if query:
        for client in found:
            record_access(client, AccessAction.SEARCH, what="campaign_nomination")
    return {"found": found, "query": query or "", "already": {n.client_id: n for n in service.my_nominations(campaign)}}


def _nominate_page(campaign: Campaign, client: Client | None, form, errors=None, query=None, status=200):
    context_ = {"campaign": campaign, "client": client, "form": form, "errors": errors or {},
                "can_nominate": _open_for_nominations(campaign), **_labels()}
    if client is None:
        context_.update(_picker(campaign, query))
    return render_template("campaigns/nominate.html", **context_), status


@bp.get("/<public_id>/nominate")
@tenant_member(*NOMINATE, check=nominates, subject=service.get_campaign_or_404)
def nominate_form(public_id):
    campaign, _side = _campaign_for(public_id)
    client = clients.own_client_or_404(request.args["client"]) if request.args.get("client") else None
    if client is not None:
        record_access(client, AccessAction.VIEW, what="campaign_nomination")
    return _nominate_page(campaign, client, {"priority": "normal"})


@bp.post("/<public_id>/nominate/clients")
@tenant_member(*NOMINATE, check=nominates, subject=service.get_campaign_or_404)
def pick_client(public_id):
    """The client picker's search: POST, so names stay out of URLs and logs."""
    campaign, _side = _campaign_for(public_id)
    query = (request.form.get("q") or "").strip()[:100] or None
    if fragment_target() == "client-picker":
        return render_block("campaigns/nominate.html", "picker", campaign=campaign, **_picker(campaign, query))
    return _nominate_page(campaign, None, {}, query=query)


@bp.post("/<public_id>/nominate")
@tenant_member(*NOMINATE, check=nominates, subject=service.get_campaign_or_404)
def nominate(public_id):
    campaign, _side = _campaign_for(public_id)
    previous = idempotency.previous_result()
    if previous:
        return _again(previous)
    data, errors = parse_form(schemas.NominationForm())
    client = clients.own_client_or_404(request.form["client"]) if request.form.get("client") else None
    if client is None:
        errors = {**errors, "client": [_("추천할 대상자를 고르세요.")]}
    result = None
    if not errors:
        if not idempotency.claim():
            return _again(url_for("campaigns.show", public_id=public_id))
        try:
            result = service.nominate(campaign, client, data, current_user)
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        db.session.rollback()
        campaign = service.get_campaign_or_404(public_id)
        client = db.session.get(Client, client.id) if client is not None else None
        return _nominate_page(campaign, client, request.form, errors, status=422)
    target = url_for("campaigns.nomination", public_id=result.nomination.public_id)
    idempotency.record_result(target)
    record_access(client, AccessAction.CHANGE, what="campaign_nomination")
    if result.existing:
        flash(_("이미 추천한 대상자입니다. 추천 내용을 확인하세요."), "info")
    else:
        flash(_("%(organiser)s에 추천했습니다.", organiser=campaign.tenant.name), "success")
    if result.duplicate_elsewhere:
        flash(str(service.DUPLICATE_NOTICE) + " " + _("주관 기관이 확인해 한 곳의 추천으로 지원합니다."), "info")
    return redirect(target, code=303)


# -- the nomination page --------------------------------------------------------------------------------

def _nomination_context(nomination: Nomination, side: Side, errors=None, failed=None, form=None) -> dict:
    campaign = nomination.campaign
    organiser = side is Side.ORGANISER
    flags = service.flags_of_nomination(nomination)
    reasons = service.flag_reasons(campaign, flags)
    context_ = {
        "nomination": nomination, "campaign": campaign, "organiser": organiser,
        "reason_withheld": service.reason_withheld(nomination),
        "flags": [(f, reasons[f.id]) for f in flags if organiser or f.status is FlagStatus.OPEN],
        "dong": _dong_names([nomination.dong_code]).get(nomination.dong_code, nomination.dong_code),
        "actions": states.nomination_actions(nomination.status, campaign.status, side),
        "can_deliver": campaign.status is CampaignStatus.CONFIRMED and nomination.status is NominationStatus.ACCEPTED,
        "errors": errors or {}, "failed": failed, "form": form if form is not None else {}, **_labels(),
    }
    if organiser:
        duplicates = service.duplicates_of(nomination)
        context_.update(duplicates=duplicates, received_before=service.received_before(nomination),
                        can_keep=bool(duplicates) and nomination.is_active
                        and campaign.status in (CampaignStatus.OPEN, CampaignStatus.REVIEW))
    else:
        context_.update(client=db.session.get(Client, nomination.client_id),
                        can_edit=nomination.status is NominationStatus.SUBMITTED and _open_for_nominations(campaign))
    return context_


def _nomination_page(nomination: Nomination, side: Side, status=200, **kwargs):
    """The nomination page. Every display of the nominee's data is access-logged: the
    organiser's through the service, the nominator's as a view of its own client."""
    context_ = _nomination_context(nomination, side, **kwargs)
    if context_["organiser"]:
        service.record_organiser_view(nomination)
    elif context_["client"] is not None:
        record_access(context_["client"], AccessAction.VIEW, what="campaign_nomination")
    return render_template("campaigns/nomination.html", **context_), status


@bp.get("/nominations/<public_id>")
@tenant_member(*EITHER, check=reads_nomination, subject=service.get_nomination_or_404)
def nomination(public_id):
    nomination_, side = _nomination_for(public_id)
    return _nomination_page(nomination_, side)


def _to_nomination(nomination_: Nomination, anchor: str = ""):
    return redirect(url_for("campaigns.nomination", public_id=nomination_.public_id) + anchor, code=303)


def _refused_on_nomination(public_id: str, side: Side, failed: str, errors: dict, before: NominationStatus,
                           status: int | None = None):
    """Roll back and show the nomination as it is now: 409 when it changed meanwhile or its state
    does not allow the step, else 422."""
    db.session.rollback()
    nomination_ = service.get_nomination_or_404(public_id)
    if status is None:
        transition = states.NOMINATION_TRANSITIONS.get(failed)
        conflict = nomination_.status is not before or (transition is not None and before not in transition.sources)
        status = 409 if conflict else 422
    return _nomination_page(nomination_, side, status, errors=errors, failed=failed, form=request.form)


@bp.post("/nominations/<public_id>/decide")
@tenant_member(*ORGANISE, check=decides_nomination, subject=service.get_nomination_or_404)
def decide(public_id):
    """선정, 제외 (with a reason), or 이 추천으로 지원 (keep one of duplicates)."""
    nomination_, side = _nomination_for(public_id, Side.ORGANISER)
    before = nomination_.status
    data, errors = parse_form(schemas.DecisionForm())
    action = (data or {}).get("action") or request.form.get("action", "")
    if not errors:
        try:
            if action == "accept":
                service.accept(nomination_, current_user, data["note"])
            elif action == "reject":
                service.reject(nomination_, data["reject_reason"], current_user, data["note"])
            else:
                rejected = service.keep_duplicate(nomination_, current_user, data["note"])
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        return _refused_on_nomination(public_id, side, action, errors, before)
    if action == "keep_duplicate":
        flash(_("이 추천으로 지원합니다. 같은 가구의 다른 추천 %(n)s건은 중복으로 제외했습니다.", n=len(rejected)), "success")
    else:
        flash(_("'%(action)s' 처리했습니다.", action=states.NOMINATION_TRANSITIONS[action].label), "success")
    return _to_nomination(nomination_)


@bp.post("/flags/<public_id>/resolve")
@tenant_member(*ORGANISE, check=resolves_flag, subject=service.get_flag_or_404)
def resolve_flag(public_id):
    flag = service.get_flag_or_404(public_id)
    nomination_ = flag.nomination
    data, errors = parse_form(schemas.FlagResolutionForm())
    if not errors:
        try:
            service.resolve_flag(flag, data["note"], current_user)
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        errors = {k if k == RuleViolation.FORM else f"flag-{public_id}-{k}": v for k, v in errors.items()}
        return _refused_on_nomination(nomination_.public_id, Side.ORGANISER, f"flag-{public_id}", errors,
                                      nomination_.status, 422)
    flash(_("'%(kind)s' 점검 결과를 해결로 표시했습니다.", kind=flag.kind_label), "success")
    return _to_nomination(nomination_, "#flags")


@bp.post("/nominations/<public_id>/edit")
@tenant_member(*NOMINATE, check=owns_nomination, subject=service.get_nomination_or_404)
def edit_nomination(public_id):
    nomination_, side = _nomination_for(public_id, Side.NOMINATOR)
    before = nomination_.status
    data, errors = parse_form(schemas.NominationEditForm())
    if not errors:
        try:
            service.update_nomination(nomination_, data, current_user)
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        return _refused_on_nomination(public_id, side, "edit", errors, before)
    flash(_("추천 내용을 고쳤습니다."), "success")
    return _to_nomination(nomination_)


@bp.post("/nominations/<public_id>/withdraw")
@tenant_member(*NOMINATE, check=owns_nomination, subject=service.get_nomination_or_404)
def withdraw(public_id):
    nomination_, side = _nomination_for(public_id, Side.NOMINATOR)
    before = nomination_.status
    try:
        service.withdraw(nomination_, (request.form.get("note") or "")[:2000], current_user)
    except RuleViolation as violation:
        return _refused_on_nomination(public_id, side, "withdraw", violation.as_errors(), before)
    flash(_("추천을 철회했습니다."), "success")
    return _to_nomination(nomination_)


@bp.post("/nominations/<public_id>/delivery")
@tenant_member(*EITHER, check=reads_nomination, subject=service.get_nomination_or_404)
def delivery(public_id):
    """지급 결과 (delivered on a date, or not delivered with the reason), by either side."""
    nomination_, side = _nomination_for(public_id)
    before = nomination_.status
    data, errors = parse_form(schemas.DeliveryForm())
    if not errors:
        try:
            service.record_delivery(nomination_, data, current_user)
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        return _refused_on_nomination(public_id, side, "delivery", errors, before)
    flash(_("지급 결과를 기록했습니다: %(status)s", status=nomination_.delivery_status_label), "success")
    return _to_nomination(nomination_, "#delivery")
