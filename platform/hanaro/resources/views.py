"""Resource registry screens for registrars: own and shared lists, register, the resource page
(edit, sharing scope, one-click verify, editing history)."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from ..cases.models import NeedDomain
from ..core import idempotency
from ..core.access import tenant_member
from ..core.db import db
from ..core.forms import parse_form
from ..core.rules import RuleViolation
from ..core.web import fragment_target
from ..tenancy import service as tenancy
from ..tenancy.models import TENANT_KIND_LABELS, RegionLevel, Role, TenantKind
from . import search, service
from .models import CAPACITY_LABELS, SCOPE_LABELS, WAIT_LABELS, ResourceKind
from .schemas import WEEKDAYS, ResourceEditForm, ResourceForm, ScopeForm, SearchArgs

bp = Blueprint("resources", __name__, url_prefix="/resources")

READERS = (Role.RESOURCE_REGISTRAR, Role.CASE_MANAGER, Role.REFERRAL_COORDINATOR, Role.TENANT_ADMIN)
WRITERS = (Role.RESOURCE_REGISTRAR, Role.TENANT_ADMIN)

KIND_LABELS = {ResourceKind.SERVICE: _l("서비스"), ResourceKind.IN_KIND: _l("후원 물품")}
WEEKDAY_LABELS = [_l("월요일"), _l("화요일"), _l("수요일"), _l("목요일"), _l("금요일"), _l("토요일"), _l("일요일")]
FIELD_LABELS = {
    "kind": _l("종류"), "name": _l("자원 이름"), "description": _l("설명"), "organization_name": _l("제공 기관"),
    "need_domains": _l("욕구 영역"), "categories": _l("세부 분류"), "min_age": _l("최소 나이"), "max_age": _l("최대 나이"),
    "household_conditions": _l("가구 조건"), "income_note": _l("소득 기준"), "eligibility_note": _l("기타 자격"),
    "service_area_codes": _l("서비스 지역"), "address": _l("주소"), "schedule": _l("운영 시간"),
    "how_to_apply": _l("신청 방법"), "required_documents": _l("제출 서류"), "cost": _l("비용"), "languages": _l("언어"),
    "public_phone": _l("대표 전화"), "capacity": _l("이용 가능 여부"), "wait_estimate": _l("예상 대기 기간"),
    "remaining_slots": _l("남은 자리"), "quantity": _l("수량"), "quantity_unit": _l("단위"), "valid_from": _l("유효 시작일"),
    "valid_until": _l("유효 종료일"), "contact_person": _l("담당자"), "direct_phone": _l("담당자 직통 전화"),
    "scope": _l("공개 범위"), "staff_scope": _l("담당자 전용 정보 공개 범위"),
}
ACTION_LABELS = {"created": _l("등록"), "updated": _l("수정"), "verified": _l("내용 확인"), "scope": _l("공개 범위 변경")}


def _need_domain_options():
    return [(d.code, d.name) for d in db.session.scalars(select(NeedDomain).order_by(NeedDomain.sort_order))]


def _labels():
    return {
        "scope_labels": SCOPE_LABELS, "capacity_labels": CAPACITY_LABELS, "wait_labels": WAIT_LABELS,
        "kind_labels": KIND_LABELS, "weekday_labels": WEEKDAY_LABELS, "field_labels": FIELD_LABELS,
        "action_labels": ACTION_LABELS,
    }


def _form_options(form):
    return {
        "need_domain_options": _need_domain_options(),
        "area_choice": tenancy.area_choice(form.getlist("service_area_codes"), g.active_tenant.region_code),
        "kind_options": [(k.value, label) for k, label in KIND_LABELS.items()],
        "capacity_options": [(k.value, label) for k, label in CAPACITY_LABELS.items()],
        "wait_options": [(k.value, label) for k, label in WAIT_LABELS.items()],
        "scope_options": [(k.value, label) for k, label in SCOPE_LABELS.items()],
        "weekdays": list(zip(WEEKDAYS, WEEKDAY_LABELS)),
        **_labels(),
    }


def _form_from(resource) -> MultiDict:
    """The edit form's initial values, shaped like a submitted form."""
    form = MultiDict()
    for field in service.EDITABLE:
        value = getattr(resource, field)
        if field in ("need_domains", "service_area_codes"):
            form.setlist(field, list(value or []))
        elif field == "schedule":
            for slot in value or []:
                form[f"opens_{slot['weekday']}"] = slot["opens"]
                form[f"closes_{slot['weekday']}"] = slot["closes"]
        elif value is not None and field not in ("categories", "languages"):
            form[field] = getattr(value, "value", value)
    form["scope"], form["staff_scope"] = resource.scope.value, resource.staff_scope.value
    return form


# -- lists ----------------------------------------------------------------------------------------

@bp.get("")
@tenant_member(*READERS)
def index():
    tab = "shared" if request.args.get("tab") == "shared" else "own"
    resources = service.shared_resources() if tab == "shared" else service.own_resources()
    return render_template(
        "resources/index.html", tab=tab, resources=resources, can_write=_can_write(),
        needs_verification_soon=service.needs_verification_soon, is_hidden_as_stale=service.is_hidden_as_stale,
        **_labels(),
    )


def _can_write() -> bool:
    from flask import g

    membership = getattr(g, "membership", None)
    return bool(membership and membership.has_role(*WRITERS))


# -- search -------------------------------------------------------------------------------------------

REGISTRANT_KINDS = (TenantKind.WELFARE_CENTRE, TenantKind.NGO, TenantKind.DONG_CENTRE, TenantKind.MUNICIPALITY,
                    TenantKind.PUBLIC_AGENCY, TenantKind.FACILITY, TenantKind.PROVINCE)


@bp.get("/search")
@tenant_member(*READERS)
def search_page():
    """Search everything the tenant may see with filters. A GET form, so the URL is the search and
    can be shared; htmx swaps the filters and results in place and pushes the URL."""
    data, errors = parse_form(SearchArgs(), request.args)
    area = _search_area(data) if data else _SearchArea()
    if not errors:
        errors = _unknown_search_choices(data, area)
    filters = search.Filters() if errors else _filters_from(data, area)
    page = search.find(filters, page=data["page"] if data else 1)
    template = "resources/_search.html" if fragment_target() else "resources/search.html"
    need_domains = _need_domain_options()
    return render_template(
        template, page=page, args=request.args, errors=errors,
        staff_visible=service.staff_fields_visible_for(page.items),
        household_options=[(key, label) for key, (label, _words) in search.HOUSEHOLD_TYPES.items()],
        registrant_options=[(k.value, TENANT_KIND_LABELS[k]) for k in REGISTRANT_KINDS],
        need_domain_options=need_domains, domain_names=dict(need_domains),
        area_names=tenancy.region_names(code for r in page.items for code in r.service_area_codes or []),
        area=area, municipality_options=tenancy.regions_at(RegionLevel.MUNICIPALITY),
        dong_options=tenancy.regions_at(RegionLevel.DONG, area.municipality) if area.municipality else area.orphan_dong,
        kind_options=[(k.value, label) for k, label in KIND_LABELS.items()],
        capacity_options=[(k.value, label) for k, label in CAPACITY_LABELS.items()], **_labels(),
    )


@dataclass
class _SearchArea:
    """The service-area filter as two selects: a municipality (시군구), then one of its dongs, whose
    options are rendered for the chosen municipality only (htmx re-renders them when it changes)."""

    municipality: str | None = None
    dong: str | None = None
    unknown: str | None = None  # the field naming a region that does not exist (or is of no such level)
    orphan_dong: tuple = ()  # a dong without a municipality: its own only option

    @property
    def code(self) -> str | None:
        return self.dong or self.municipality


def _search_area(data) -> _SearchArea:
    """``area`` is a dong or a municipality (links keep working either way); ``municipality`` is the
    first select. A dong of another municipality than the one chosen was picked before the
    municipality changed, and is dropped."""
    chosen, named = tenancy.region(data["municipality"]), tenancy.region(data["area"])
    if data["municipality"] and (chosen is None or chosen.level is not RegionLevel.MUNICIPALITY):
        return _SearchArea(unknown="municipality")
    if data["area"] and (named is None or named.level not in (RegionLevel.MUNICIPALITY, RegionLevel.DONG)):
        return _SearchArea(unknown="area")
    if named is not None and named.level is RegionLevel.MUNICIPALITY:
        chosen, named = named, None
    if named is not None and chosen is not None and named.parent_code != chosen.code:
        named = None
    if named is not None and chosen is None:
        if named.parent_code is None:
            return _SearchArea(dong=named.code, orphan_dong=((named.code, named.name),))
        return _SearchArea(municipality=named.parent_code, dong=named.code)
    return _SearchArea(municipality=chosen.code if chosen else None, dong=named.code if named else None)


def _unknown_search_choices(data, area: _SearchArea) -> dict:
    errors = {}
    if set(data["domain"]) - {code for code, _name in _need_domain_options()}:
        errors["domain"] = [_("목록에 있는 욕구 영역을 고르세요.")]
    if area.unknown:
        errors[area.unknown] = [_("목록에 있는 지역을 고르세요.")]
    if data["household"] and data["household"] not in search.HOUSEHOLD_TYPES:
        errors["household"] = [_("목록에 있는 가구 유형을 고르세요.")]
    if set(data["registrant"]) - {k.value for k in REGISTRANT_KINDS}:
        errors["registrant"] = [_("목록에 있는 기관 유형을 고르세요.")]
    return errors


def _filters_from(data, area: _SearchArea):
    return search.Filters(
        query=data["q"], need_domains=data["domain"], area_code=area.code, age=data["age"],
        household=data["household"], capacities=data["capacity"], registrant_kinds=data["registrant"],
        kind=data["kind"],
    )


# -- register -----------------------------------------------------------------------------------------

@bp.route("/new", methods=["GET", "POST"])
@tenant_member(*WRITERS)
def register():
    if request.method == "GET":
        form = MultiDict({"kind": "service", "capacity": "available", "scope": "private", "staff_scope": "private"})
        return render_template("resources/new.html", form=form, errors={}, **_form_options(form))
    previous = idempotency.previous_result()
    if previous:
        return redirect(previous, code=303)
    data, errors = parse_form(ResourceForm())
    if not errors:
        errors = _unknown_choices(data)
    if not errors:
        try:
            if not idempotency.claim():
                return redirect(url_for("resources.index"), code=303)
            resource = service.register(data, current_user)
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        return render_template("resources/new.html", form=request.form, errors=errors, **_form_options(request.form)), 422
    target = url_for("resources.show", public_id=resource.public_id)
    idempotency.record_result(target)
    flash(_("자원을 등록했습니다."), "success")
    return redirect(target, code=303)


def _unknown_choices(data) -> dict:
    """Need domains and service areas must be ones the platform knows."""
    errors = {}
    if set(data["need_domains"]) - {code for code, _name in _need_domain_options()}:
        errors["need_domains"] = [_("목록에 있는 욕구 영역을 고르세요.")]
    if set(data["service_area_codes"]) - tenancy.known_areas(data["service_area_codes"]):
        errors["service_area_codes"] = [_("목록에 있는 지역을 고르세요.")]
    return errors


# -- the resource page ----------------------------------------------------------------------------------

@bp.get("/<public_id>")
@tenant_member(*READERS)
def show(public_id):
    return _resource_page(service.get_resource_or_404(public_id), status=200)


def _resource_page(resource, status=422, errors=None, form=None):
    own = service.is_own(resource)
    domains = dict(_need_domain_options())
    history = service.history(resource) if own else []
    areas = tenancy.region_names(_area_codes_named(resource, history))
    return render_template(
        "resources/show.html",
        resource=resource,
        own=own,
        can_write=own and _can_write(),
        staff_visible=service.staff_fields_visible(resource),
        needs_verification_soon=service.needs_verification_soon(resource),
        stale=service.is_hidden_as_stale(resource),
        stale_since=service.stale_since(resource),
        domain_names=[domains.get(code, code) for code in resource.need_domains or []],
        area_names=[areas.get(code, code) for code in resource.service_area_codes or []],
        history=history,
        change_value=_change_value_labeller(domains, areas),
        scope_options=[(k.value, label) for k, label in SCOPE_LABELS.items()],
        form=form if form is not None else MultiDict(
            {"scope": resource.scope.value, "staff_scope": resource.staff_scope.value}),
        errors=errors or {},
        **_labels(),
    ), status


def _area_codes_named(resource, history) -> set[str]:
    """The service areas the resource page names: its own and those in its editing history."""
    codes = set(resource.service_area_codes or [])
    for change in history:
        for value in (change.changes or {}).get("service_area_codes") or []:
            codes.update(value or [])
    return codes


def _change_value_labeller(domains: dict, areas: dict):
    """How a value recorded in the editing history reads: labels, not stored codes."""
    enum_labels = {"scope": SCOPE_LABELS, "staff_scope": SCOPE_LABELS, "capacity": CAPACITY_LABELS,
                   "wait_estimate": WAIT_LABELS, "kind": KIND_LABELS}
    list_labels = {"need_domains": domains, "service_area_codes": areas}

    def label(field: str, value) -> str:
        if value is None or value == "" or value == []:
            return "-"
        if field in enum_labels:
            return str(next((text for key, text in enum_labels[field].items() if key.value == value), value))
        if field == "schedule":
            return ", ".join(f"{WEEKDAY_LABELS[slot['weekday']]} {slot['opens']}~{slot['closes']}" for slot in value)
        if isinstance(value, list):
            return ", ".join(str(list_labels.get(field, {}).get(item, item)) for item in value)
        return str(value)

    return label


@bp.route("/<public_id>/edit", methods=["GET", "POST"])
@tenant_member(*WRITERS)
def edit(public_id):
    resource = service.own_resource_or_404(public_id)
    if request.method == "GET":
        form = _form_from(resource)
        return render_template("resources/edit.html", resource=resource, form=form, errors={}, **_form_options(form))
    data, errors = parse_form(ResourceEditForm())
    if not errors:
        errors = _unknown_choices(data)
    if not errors:
        try:
            changes = service.update(resource, data, current_user)
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        return render_template("resources/edit.html", resource=resource, form=request.form, errors=errors,
                               **_form_options(request.form)), 422
    flash(_("자원 정보를 저장했습니다.") if changes else _("바뀐 내용이 없어 확인 날짜만 새로 기록했습니다."), "success")
    return redirect(url_for("resources.show", public_id=public_id), code=303)


@bp.post("/<public_id>/scope")
@tenant_member(*WRITERS)
def scope(public_id):
    resource = service.own_resource_or_404(public_id)
    data, errors = parse_form(ScopeForm())
    if not errors:
        try:
            service.change_scope(resource, data["scope"], data["staff_scope"], current_user)
        except RuleViolation as violation:
            errors = violation.as_errors()
    if errors:
        return _resource_page(resource, errors=errors, form=request.form)
    flash(_("공개 범위를 바꿨습니다. 기관 목록과 검색에는 바로, 공개 자원 목록에는 5분 안에 반영됩니다."), "success")
    return redirect(url_for("resources.show", public_id=public_id) + "#sharing", code=303)


@bp.post("/<public_id>/verify")
@tenant_member(*WRITERS)
def verify(public_id):
    resource = service.own_resource_or_404(public_id)
    service.verify(resource, current_user)
    flash(_("자원 정보가 최신임을 확인했습니다."), "success")
    return redirect(url_for("resources.show", public_id=public_id), code=303)


# -- find resources for a case -------------------------------------------------------------------

FIND_ROLES = (Role.CASE_MANAGER, Role.REFERRAL_COORDINATOR, Role.TENANT_ADMIN)


@bp.get("/for-case/<public_id>")
@tenant_member(*FIND_ROLES)
def for_case(public_id):
    """Resources ranked for a case's assessed needs, the client's area and age. GET, so the search
    can be shared as a link; the URL carries the case's public id and search words only."""
    from ..audit.models import AccessAction
    from ..audit.service import record as record_access
    from ..cases import service as cases
    case = cases.get_case_or_404(public_id)
    query = (request.args.get("q") or "").strip()[:100]
    client = search.client_if_visible(case)
    needs = search.needs_of_case(case, client)
    if client is not None:
        record_access(client, AccessAction.VIEW, what="case")
    age = client.age_on(search.clock.today()) if client is not None else None
    matches = search.rank_for_needs({d.code for d in needs}, case.dong_code, age, query=query or None)
    template = "resources/_matches.html" if fragment_target() else "resources/for_case.html"
    return render_template(template, case=case, needs=needs, matches=matches, query=query, age=age,
                           staff_visible={m.resource.id: service.staff_fields_visible(m.resource) for m in matches})
