"""Rules of the resource registry: registering, editing with history, sharing scope, freshness,
and what each viewer may see of a resource. Callers commit."""
from __future__ import annotations

from datetime import date, timedelta

from flask import abort, g, has_request_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from ..core import clock
from ..core.db import db
from ..core.rules import RuleViolation
from ..tenancy import context
from ..tenancy.models import AgreementStatus, SharingAgreement, Tenant
from .models import SCOPE_ORDER, Capacity, Resource, ResourceChange, ResourceKind, Scope

# A listing nobody has verified for this long is hidden from other tenants' search.
STALE_AFTER = timedelta(days=180)
# Registrars are reminded this long before a listing goes stale.
REMIND_BEFORE = timedelta(days=30)

EDITABLE = (
    "kind", "name", "description", "organization_name", "need_domains", "categories", "min_age", "max_age",
    "household_conditions", "income_note", "eligibility_note", "service_area_codes", "address", "schedule",
    "how_to_apply", "required_documents", "cost", "languages", "public_phone", "capacity", "wait_estimate",
    "remaining_slots", "quantity", "quantity_unit", "valid_from", "valid_until", "contact_person", "direct_phone",
)
STAFF_ONLY_FIELDS = ("contact_person", "direct_phone", "remaining_slots")


# -- loading ------------------------------------------------------------------------------------

def get_resource_or_404(public_id: str) -> Resource:
    """A resource the active tenant (or, in the directory, anyone) may see; else 404."""
    resource = db.session.scalar(select(Resource).where(Resource.public_id == public_id))
    if resource is None or (not is_own(resource) and is_hidden_as_stale(resource)):
        abort(404)
    return resource


def own_resource_or_404(public_id: str) -> Resource:
    resource = get_resource_or_404(public_id)
    if not is_own(resource):
        abort(404)
    return resource


def is_own(resource: Resource) -> bool:
    return resource.tenant_id == context.current_tenant_id()


def own_resources() -> list[Resource]:
    return list(db.session.scalars(
        select(Resource).where(Resource.tenant_id == context.current_tenant_id()).order_by(Resource.name, Resource.id)
    ))


def shared_resources() -> list[Resource]:
    """Other tenants' resources the active tenant may see (the ORM applies the sharing scope),
    without stale listings."""
    rows = db.session.scalars(
        select(Resource).where(Resource.tenant_id != context.current_tenant_id())
        .options(selectinload(Resource.tenant)).order_by(Resource.name, Resource.id)
    )
    return [r for r in rows if not is_hidden_as_stale(r)]


# -- freshness ------------------------------------------------------------------------------------

def stale_since(resource: Resource) -> date:
    return resource.last_verified_on + STALE_AFTER


def is_hidden_as_stale(resource: Resource, today: date | None = None) -> bool:
    return (today or clock.today()) > stale_since(resource)


def needs_verification_soon(resource: Resource, today: date | None = None) -> bool:
    today = today or clock.today()
    return not is_hidden_as_stale(resource, today) and today >= stale_since(resource) - REMIND_BEFORE


def verify(resource: Resource, actor) -> None:
    """The registrar confirms the listing is still right (one click)."""
    resource.last_verified_on = clock.today()
    _record(resource, "verified", {}, actor)


# -- writing --------------------------------------------------------------------------------------------

def _check(values: dict) -> None:
    if values.get("min_age") is not None and values.get("max_age") is not None and values["min_age"] > values["max_age"]:
        raise RuleViolation(_l("최대 나이는 최소 나이보다 작을 수 없습니다."), field="max_age")
    for field in ("remaining_slots", "quantity"):
        if values.get(field) is not None and values[field] < 0:
            raise RuleViolation(_l("0 이상의 숫자를 입력하세요."), field=field)
    if values.get("valid_from") and values.get("valid_until") and values["valid_until"] < values["valid_from"]:
        raise RuleViolation(_l("유효 기간의 끝이 시작보다 앞설 수 없습니다."), field="valid_until")
    for slot in values.get("schedule") or []:
        if not slot["opens"] < slot["closes"]:
            raise RuleViolation(_l("운영 시간의 종료가 시작보다 늦어야 합니다."), field="schedule")
    if values.get("kind") == ResourceKind.IN_KIND and not values.get("quantity"):
        raise RuleViolation(_l("후원 물품은 수량을 입력하세요."), field="quantity")
    if values.get("capacity") != Capacity.WAITLIST:
        values["wait_estimate"] = None


def _check_scopes(scope: Scope, staff_scope: Scope) -> None:
    if SCOPE_ORDER.index(staff_scope) > SCOPE_ORDER.index(scope):
        raise RuleViolation(_l("담당자 전용 정보의 공개 범위는 자원의 공개 범위보다 넓을 수 없습니다."), field="staff_scope")


def register(values: dict, actor) -> Resource:
    _check(values)
    scope, staff_scope = Scope(values.pop("scope")), Scope(values.pop("staff_scope"))
    _check_scopes(scope, staff_scope)
    tenant = db.session.get(Tenant, context.current_tenant_id())
    resource = Resource(
        **{k: v for k, v in values.items() if k in EDITABLE}, scope=scope, staff_scope=staff_scope,
        province_code=tenant.province_code, last_verified_on=clock.today(),
        created_by_user_id=actor.id if actor else None,
    )
    db.session.add(resource)  # its search terms are written with it (search.index, before the flush)
    db.session.flush()
    _record(resource, "created", {}, actor)
    return resource


def update(resource: Resource, values: dict, actor) -> dict:
    """Apply ``values``; returns the changes {field: [before, after]} (recorded in the history).
    Saving also counts as verifying the listing."""
    _check(values)
    changes = {}
    for field in EDITABLE:
        if field in values and getattr(resource, field) != values[field]:
            changes[field] = [_plain(getattr(resource, field)), _plain(values[field])]
            setattr(resource, field, values[field])
    resource.last_verified_on = clock.today()
    if changes:
        _record(resource, "updated", changes, actor)
    return changes


def change_scope(resource: Resource, scope, staff_scope, actor) -> None:
    """Takes effect at once: lists, search, exports and the directory all read the scope column."""
    scope, staff_scope = Scope(scope), Scope(staff_scope)
    _check_scopes(scope, staff_scope)
    changes = {}
    if resource.scope != scope:
        changes["scope"] = [resource.scope.value, scope.value]
    if resource.staff_scope != staff_scope:
        changes["staff_scope"] = [resource.staff_scope.value, staff_scope.value]
    resource.scope, resource.staff_scope = scope, staff_scope
    if changes:
        _record(resource, "scope", changes, actor)


def _plain(value):
    if isinstance(value, date):
        return value.isoformat()
    return getattr(value, "value", value)


def _record(resource: Resource, action: str, changes: dict, actor) -> None:
    db.session.add(ResourceChange(resource_id=resource.id, user_id=actor.id if actor else None, action=action,
                                  changes=changes))
    db.session.flush()


def history(resource: Resource) -> list[ResourceChange]:
    return list(db.session.scalars(
        select(ResourceChange).where(ResourceChange.resource_id == resource.id)
        .order_by(ResourceChange.at.desc(), ResourceChange.id.desc())
    ))


# -- what a viewer may see -----------------------------------------------------------------------------

def _resource_partners(owner_ids, viewer_id: int, today: date) -> set[int]:
    """The owners among ``owner_ids`` with a sharing agreement for resources with the viewer (in
    either direction), in one query."""
    a = SharingAgreement
    owner_ids = set(owner_ids)
    rows = db.session.execute(select(a.tenant_id, a.partner_tenant_id).where(
        or_(and_(a.tenant_id.in_(owner_ids), a.partner_tenant_id == viewer_id),
            and_(a.tenant_id == viewer_id, a.partner_tenant_id.in_(owner_ids))),
        a.status == AgreementStatus.ACCEPTED, a.revoked_at.is_(None), a.valid_from <= today, or_(a.valid_to.is_(None), a.valid_to >= today),
    ).where(a.record_kinds.cast(db.String).like('%"resource"%')))
    return {partner if owner == viewer_id else owner for owner, partner in rows}


def within(scope: Scope, resource: Resource) -> bool:
    """Is the active viewer within ``scope`` of ``resource``? (Python twin of the policy rules,
    used for the staff-only fields, which share the row with wider-scoped fields.)"""
    viewer = context.current_tenant_id()
    if viewer == resource.tenant_id:
        return True
    if scope is Scope.PUBLIC:
        return True
    if viewer is None:
        return False
    if scope is Scope.PLATFORM:
        return True
    if scope is Scope.REGION:
        tenant = db.session.get(Tenant, viewer)
        return tenant is not None and tenant.province_code == resource.province_code
    if scope is Scope.PARTNERS:
        return _partner_of(resource.tenant_id, viewer)
    return False


def _partners_cache() -> dict:
    return g.setdefault("resource_partners", {}) if has_request_context() else {}


def _partner_of(owner_id: int, viewer_id: int) -> bool:
    """Memoised per request: a result list asks the same question for every resource of an owner."""
    cache = _partners_cache()
    if (owner_id, viewer_id) not in cache:
        cache[(owner_id, viewer_id)] = owner_id in _resource_partners({owner_id}, viewer_id, clock.today())
    return cache[(owner_id, viewer_id)]


def staff_fields_visible_for(resources) -> dict[int, bool]:
    """{resource id: staff fields visible?} for a result list: the agreements of all the owners
    that share with partners are asked for at once, not once per owner."""
    viewer = context.current_tenant_id()
    cache = _partners_cache()
    owners = {r.tenant_id for r in resources if Scope.PARTNERS in (r.scope, r.staff_scope) and r.tenant_id != viewer
              and (r.tenant_id, viewer) not in cache}
    if viewer is not None and owners:
        partners = _resource_partners(owners, viewer, clock.today())
        cache.update({(owner, viewer): owner in partners for owner in owners})
    return {r.id: staff_fields_visible(r) for r in resources}


def staff_fields_visible(resource: Resource) -> bool:
    """Contact person, direct phone and remaining slots: only within the staff scope, and never
    to anonymous visitors."""
    if context.current_tenant_id() is None:
        return False
    return within(resource.staff_scope, resource)
