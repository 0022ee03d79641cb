"""Facilities, their status reports, and what every oversight rule needs: which side the active
tenant is on, loading with 404. Callers commit.

Service functions take values already typed by a schema (dates as ``date``, numbers as ``int``,
choices as their string values) and an ``actor`` (the acting user). They refuse with
:class:`~hanaro.core.rules.RuleViolation` (Korean message, ``field`` for the form), or its
``states.WrongSide`` (403) / ``states.Conflict`` (409) subclasses. Screens check roles
(``Role.INSPECTOR`` for the municipality's writes); services check the organisation's side.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import NotFound

from ..core import clock
from ..core.db import db
from ..core.rules import RuleViolation
from ..tenancy import context
from ..tenancy.models import Region, RegionLevel, Tenant, TenantKind
from .models import (
    AWAITING_FACILITY, OPEN_ACTION_STATES, CorrectiveAction, Evaluation, Facility, FacilityStatus, FacilityType,
    Inspection, InspectionStatus, OperatorKind,
)
from .states import SIDE_REFUSALS, Side, WrongSide

# Who supervises facilities (owns their records), and what a facility's own tenant can be.
SUPERVISOR_KINDS = (TenantKind.MUNICIPALITY, TenantKind.PROVINCE)
FACILITY_TENANT_KINDS = (TenantKind.FACILITY, TenantKind.WELFARE_CENTRE)


def part_of(model, parent, column: str = "facility_id"):
    """``model``'s rows whose ``column`` points at ``parent``, led by the owner's ``tenant_id`` so the
    (tenant_id, …) indexes serve the lookup (and a distributed database routes it to one shard)."""
    return and_(model.tenant_id == parent.tenant_id, getattr(model, column) == parent.id)


# -- sides ----------------------------------------------------------------------------------------------

def side_of(record) -> Side | None:
    """The active tenant's side on a facility or any record about one (None: not ours to see)."""
    tenant_id = context.current_tenant_id()
    if tenant_id is None:
        return None
    if record.tenant_id == tenant_id:
        return Side.INSPECTOR
    facility = record if isinstance(record, Facility) else db.session.get(Facility, record.facility_id)
    if facility is not None and facility.facility_tenant_id == tenant_id:
        return Side.FACILITY
    owner, viewer = db.session.get(Tenant, record.tenant_id), db.session.get(Tenant, tenant_id)
    if viewer.kind is TenantKind.PROVINCE and owner.province_code == viewer.province_code:
        return Side.PROVINCE
    return None


def require(record, side: Side) -> None:
    if side_of(record) is not side:
        raise WrongSide(SIDE_REFUSALS[side])


def require_supervisor() -> Tenant:
    """The active tenant, if it is one that supervises facilities (a 시군구, or a 광역 for its own)."""
    tenant = db.session.get(Tenant, context.current_tenant_id())
    if tenant is None or tenant.kind not in SUPERVISOR_KINDS:
        raise WrongSide(_l("시설 지도점검 기록은 관할 시군구만 만들 수 있습니다."))
    return tenant


# -- facilities -----------------------------------------------------------------------------------------

def get_facility_or_404(public_id: str) -> Facility:
    """A facility the active tenant supervises, is, or oversees as its province; else 404."""
    facility = db.session.scalar(select(Facility).where(Facility.public_id == public_id).limit(1))
    if facility is None:
        raise NotFound()
    return facility


FACILITY_FIELDS = ("name", "facility_type", "operator_kind", "operator_name", "licence_number", "licence_date",
                   "capacity", "address", "dong_code", "phone")
REQUIRED = {"name": _l("시설 이름을 입력하세요."), "operator_name": _l("운영 주체(법인 또는 개인) 이름을 입력하세요."),
            "licence_number": _l("신고·허가 번호를 입력하세요."), "licence_date": _l("신고·허가일을 입력하세요."),
            "address": _l("주소를 입력하세요."), "capacity": _l("정원을 입력하세요.")}


def register_facility(values: dict, actor) -> Facility:
    """A facility the active tenant (its 시군구) supervises; optionally linked to its own tenant
    (``values["facility_tenant"]``: a tenant code)."""
    supervisor = require_supervisor()
    facility = Facility(tenant_id=supervisor.id)
    _apply(facility, values, supervisor)
    if values.get("facility_tenant"):
        facility.facility_tenant_id = _facility_tenant(values["facility_tenant"]).id
    db.session.add(facility)
    db.session.flush()
    return facility


def update_facility(facility: Facility, values: dict, actor) -> None:
    require(facility, Side.INSPECTOR)
    _apply(facility, {**{f: getattr(facility, f) for f in FACILITY_FIELDS}, **values},
           db.session.get(Tenant, facility.tenant_id))
    db.session.flush()


def _apply(facility: Facility, values: dict, supervisor: Tenant) -> None:
    for name, message in REQUIRED.items():
        value = values.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise RuleViolation(message, field=name)
    facility.facility_type = _choice(FacilityType, values.get("facility_type"), "facility_type",
                                     _l("시설 유형을 고르세요."))
    facility.operator_kind = _choice(OperatorKind, values.get("operator_kind"), "operator_kind",
                                     _l("운영 주체 구분(법인/개인)을 고르세요."))
    if values["capacity"] < 0:
        raise RuleViolation(_l("정원은 0 이상이어야 합니다."), field="capacity")
    if values["licence_date"] > clock.today():
        raise RuleViolation(_l("신고·허가일은 오늘 이후일 수 없습니다."), field="licence_date")
    number = values["licence_number"].strip()
    duplicate = db.session.scalar(select(Facility.id).where(
        Facility.tenant_id == supervisor.id, Facility.licence_number == number, Facility.id != facility.id).limit(1))
    if duplicate is not None:
        raise RuleViolation(_l("같은 신고·허가 번호로 등록된 시설이 있습니다."), field="licence_number")
    dong_code = values.get("dong_code") or None
    if dong_code is not None:
        _check_dong(dong_code, supervisor)
    facility.name, facility.operator_name = values["name"].strip(), values["operator_name"].strip()
    facility.licence_number, facility.licence_date = number, values["licence_date"]
    facility.capacity, facility.address = values["capacity"], values["address"].strip()
    facility.dong_code, facility.phone = dong_code, (values.get("phone") or "").strip() or None


def _choice(enum_class, value, field, message):
    try:
        return enum_class(value)
    except ValueError:
        raise RuleViolation(message, field=field) from None


def _check_dong(code: str, supervisor: Tenant) -> None:
    """The 읍면동 must lie in the supervisor's area."""
    region = db.session.get(Region, code)
    ancestors = []
    while region is not None:
        ancestors.append(region.code)
        region = region.parent
    if not ancestors or supervisor.region_code not in ancestors:
        raise RuleViolation(_l("관할 구역 안의 읍면동을 고르세요."), field="dong_code")


def _facility_tenant(code: str) -> Tenant:
    tenant = db.session.scalar(select(Tenant).where(Tenant.code == code))
    if tenant is None or not tenant.active or tenant.kind not in FACILITY_TENANT_KINDS:
        raise RuleViolation(_l("하나로를 이용하는 사회복지시설이나 복지관을 고르세요."), field="facility_tenant")
    if tenant.id == context.current_tenant_id():
        raise RuleViolation(_l("우리 기관을 시설로 연결할 수 없습니다."), field="facility_tenant")
    return tenant


def link_facility_tenant(facility: Facility, tenant_code: str | None, actor) -> None:
    """Connect the facility to its own tenant (it then reads its records and answers actions), or
    disconnect it (``None``): the change reaches every record of the facility at once."""
    require(facility, Side.INSPECTOR)
    facility.facility_tenant_id = _facility_tenant(tenant_code).id if tenant_code else None
    db.session.flush()


def close_facility(facility: Facility, closed_on: date, actor) -> None:
    """폐지·폐쇄: the facility stays with its history; no new inspections are planned for it."""
    require(facility, Side.INSPECTOR)
    if closed_on is None:
        raise RuleViolation(_l("폐지일을 입력하세요."), field="closed_on")
    if closed_on < facility.licence_date:
        raise RuleViolation(_l("폐지일은 신고·허가일 이후여야 합니다."), field="closed_on")
    facility.closed_on = closed_on
    db.session.flush()


def own_facilities() -> list[Facility]:
    """The facilities the active tenant is (its own records, as a facility on the platform)."""
    return list(db.session.scalars(select(Facility).where(Facility.facility_tenant_id == context.current_tenant_id())
                                   .order_by(Facility.closed_on.is_not(None), Facility.name, Facility.id)))


def facilities_by_id(ids) -> dict[int, Facility]:
    """{id: facility} of those the active tenant may see (for lists of records naming them)."""
    ids = set(ids)
    return {f.id: f for f in db.session.scalars(select(Facility).where(Facility.id.in_(ids)))} if ids else {}


def dong_options(area_code: str) -> list[tuple[str, str]]:
    """(code, name) of the 읍면동 inside an area (a municipality's, or a province's through its
    municipalities), by name: where a supervisor's facilities may lie."""
    municipalities = select(Region.code).where(Region.parent_code == area_code)
    dongs = db.session.scalars(select(Region).where(
        Region.level == RegionLevel.DONG,
        or_(Region.parent_code == area_code, Region.parent_code.in_(municipalities))).order_by(Region.name))
    return [(r.code, r.name) for r in dongs]


def listed_dong_options() -> list[tuple[str, str]]:
    """(code, name) of the 읍면동 the facilities the active tenant sees lie in (the list's filter)."""
    codes = select(Facility.dong_code).where(Facility.dong_code.is_not(None)).distinct().scalar_subquery()
    return [(r.code, r.name) for r in db.session.scalars(select(Region).where(Region.code.in_(codes))
                                                         .order_by(Region.name))]


def facility_tenant_options(supervisor: Tenant) -> list[Tenant]:
    """Tenants of the supervisor's province a facility can be linked to (facilities, welfare centres)."""
    return list(db.session.scalars(select(Tenant).where(
        Tenant.kind.in_([k.value for k in FACILITY_TENANT_KINDS]), Tenant.active.is_(True),
        Tenant.province_code == supervisor.province_code).order_by(Tenant.name)))


def shows_menu(membership) -> bool:
    """Does the main menu offer 지도점검? To inspectors (a role check), and to facility and province
    tenants with records to read — the one query asked only for those kinds, once per request."""
    from flask import g

    from ..tenancy.models import Role

    if membership.has_role(Role.INSPECTOR):
        return True
    if membership.tenant.kind not in (TenantKind.FACILITY, TenantKind.PROVINCE):
        return False
    if "oversight_in_menu" not in g:
        g.oversight_in_menu = db.session.scalar(select(Facility.id).limit(1)) is not None
    return g.oversight_in_menu


# -- status reports (현황정보) ---------------------------------------------------------------------------------

def report_status(facility: Facility, values: dict, actor) -> FacilityStatus:
    """A new status report by the facility itself, or by its municipality for it; the history keeps
    every report."""
    side = side_of(facility)
    if side not in (Side.FACILITY, Side.INSPECTOR):
        raise WrongSide(SIDE_REFUSALS[Side.FACILITY])
    for name, message in (("residents", _l("현원을 입력하세요.")), ("staff_count", _l("종사자 수를 입력하세요."))):
        if values.get(name) is None:
            raise RuleViolation(message, field=name)
        if values[name] < 0:
            raise RuleViolation(_l("0 이상의 숫자를 입력하세요."), field=name)
    status = FacilityStatus(
        tenant_id=facility.tenant_id, facility_id=facility.id, residents=values["residents"],
        staff_count=values["staff_count"], contact_name=_text(values.get("contact_name")),
        contact_phone=_text(values.get("contact_phone")), contact_email=_text(values.get("contact_email")),
        note=_text(values.get("note")), reporter_tenant_id=context.current_tenant_id(),
        reported_by_user_id=actor.id if actor else None,
    )
    db.session.add(status)
    db.session.flush()
    return status


def _text(value) -> str | None:
    return (value or "").strip() or None


def current_status(facility: Facility) -> FacilityStatus | None:
    return db.session.scalar(select(FacilityStatus).where(part_of(FacilityStatus, facility))
                             .order_by(FacilityStatus.reported_at.desc(), FacilityStatus.id.desc()).limit(1))


def status_history(facility: Facility) -> list[FacilityStatus]:
    return list(db.session.scalars(
        select(FacilityStatus).options(selectinload(FacilityStatus.reporter_tenant),
                                       selectinload(FacilityStatus.reported_by))
        .where(part_of(FacilityStatus, facility))
        .order_by(FacilityStatus.reported_at.desc(), FacilityStatus.id.desc())))


# -- the list with what an inspector looks for -------------------------------------------------------------

@dataclass
class FacilityFilter:
    facility_type: str | None = None
    dong_code: str | None = None
    grade: str | None = None  # the latest evaluation's grade
    query: str | None = None  # words of the name
    open_findings: bool = False  # only facilities with open corrective actions
    overdue: bool = False  # only facilities with overdue actions
    include_closed: bool = False


@dataclass
class FacilityRow:
    facility: Facility
    open_findings: int
    overdue_actions: int
    next_inspection_on: date | None
    latest_grade: str | None
    residents: int | None


def list_facilities(list_filter: FacilityFilter, today: date | None = None, limit: int = 500) -> list[FacilityRow]:
    """The facilities the active tenant may see, with their open and overdue corrective actions,
    next planned inspection, latest grade and residents (from the latest status report)."""
    today = today or clock.today()
    statement = select(Facility).options(selectinload(Facility.dong), selectinload(Facility.tenant))
    if list_filter.facility_type in {t.value for t in FacilityType}:
        statement = statement.where(Facility.facility_type == list_filter.facility_type)
    if list_filter.dong_code:
        statement = statement.where(Facility.dong_code == list_filter.dong_code)
    if list_filter.query and list_filter.query.strip():
        statement = statement.where(Facility.name.contains(list_filter.query.strip(), autoescape=True))
    if not list_filter.include_closed:
        statement = statement.where(Facility.closed_on.is_(None))
    facilities = list(db.session.scalars(statement.order_by(Facility.name, Facility.id).limit(limit)))
    ids, owners = [f.id for f in facilities], {f.tenant_id for f in facilities}
    open_counts = _counts(ids, owners, CorrectiveAction.state.in_([s.value for s in OPEN_ACTION_STATES]))
    overdue_counts = _counts(ids, owners, CorrectiveAction.state.in_([s.value for s in AWAITING_FACILITY]),
                             CorrectiveAction.due_on < today)
    next_dates = dict(db.session.execute(
        select(Inspection.facility_id, func.min(Inspection.planned_on))
        .where(Inspection.tenant_id.in_(owners), Inspection.facility_id.in_(ids),
               Inspection.status == InspectionStatus.PLANNED.value,
               Inspection.planned_on >= today).group_by(Inspection.facility_id)).all()) if ids else {}
    grades = _latest(ids, owners, Evaluation, Evaluation.year, "grade")
    residents = _latest(ids, owners, FacilityStatus, FacilityStatus.reported_at, "residents")
    rows = [FacilityRow(f, open_counts.get(f.id, 0), overdue_counts.get(f.id, 0), next_dates.get(f.id),
                        grades.get(f.id), residents.get(f.id)) for f in facilities]
    if list_filter.grade:
        rows = [r for r in rows if r.latest_grade == list_filter.grade]
    if list_filter.open_findings:
        rows = [r for r in rows if r.open_findings]
    if list_filter.overdue:
        rows = [r for r in rows if r.overdue_actions]
    return rows


def _counts(ids, owners, *conditions) -> dict[int, int]:
    if not ids:
        return {}
    return dict(db.session.execute(
        select(CorrectiveAction.facility_id, func.count())
        .where(CorrectiveAction.tenant_id.in_(owners), CorrectiveAction.facility_id.in_(ids), *conditions)
        .group_by(CorrectiveAction.facility_id)).all())


def _latest(ids, owners, model, order_column, attribute: str) -> dict:
    """{facility_id: attribute of its newest row of ``model`` by ``order_column``}."""
    if not ids:
        return {}
    latest = {}
    rows = db.session.execute(select(model.facility_id, getattr(model, attribute))
                              .where(model.tenant_id.in_(owners), model.facility_id.in_(ids))
                              .order_by(order_column, model.id))
    for facility_id, value in rows:
        latest[facility_id] = value  # ascending order: the last one wins
    return latest


# -- notices ------------------------------------------------------------------------------------------------

# Where the screens show each record (notification links; the oversight views serve these paths).
LINKS = {"facility": "/oversight/facilities/{}", "inspection": "/oversight/inspections/{}",
         "action": "/oversight/actions/{}", "sanction": "/oversight/sanctions/{}"}


def link(kind: str, public_id: str) -> str:
    return LINKS[kind].format(public_id)


def notify_facility(facility: Facility, kind: str, title: str, link_to: str, dedupe_key: str | None = None) -> None:
    """A notice to the facility's own tenant, when it is on the platform. Titles name
    organisations and dates only (they are e-mailed)."""
    from ..notifications.service import notify

    if facility.facility_tenant_id is not None:
        notify(facility.facility_tenant_id, kind=kind, title=title, link=link_to, dedupe_key=dedupe_key)
