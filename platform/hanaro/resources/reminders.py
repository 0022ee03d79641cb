"""Reminders to resource registrars before their listings go stale (and when they have).

A daily sweep (`flask resources remind-stale`) lists the active tenants and enqueues one job per
tenant, carrying that tenant's id; the job runs in the tenant's own context and reads only the
tenant's own listings. For each listing inside the reminder window (``needs_verification_soon``)
or already hidden (``is_hidden_as_stale``) it posts one in-app notification.

Exactly once per listing and verification period: the notification's ``dedupe_key`` is the
listing plus its ``last_verified_on`` date, unique per tenant. Running the sweep again (or twice
at once) finds the key taken; verifying the listing moves the date, so the next period can remind
again. One notice per period: a listing reminded inside the window gets no second notice when it
is hidden; a listing first seen already hidden gets the "hidden" text.

Recipients: the inbox has no role addressing, only "one user" or "the whole tenant". The notice
goes to the listing's creator when they are still an active member holding a writer role
(자원 담당자 or 기관 관리자), so it reaches the person who knows the listing; otherwise to the
whole tenant inbox (``recipient_user_id`` None), where the registrars see it. One row either way,
so the dedupe key stays one per listing and period. The text names the listing only, no person.
"""
from __future__ import annotations

from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..accounts.models import User
from ..core import clock, jobs
from ..core.db import db
from ..core.schedule import periodic
from ..notifications.models import Notification
from ..notifications.service import notify
from ..tenancy import context
from ..tenancy.context import NoActiveTenant
from ..tenancy.models import Membership, Role, Tenant
from . import service
from .models import Resource

WRITER_ROLES = (Role.RESOURCE_REGISTRAR, Role.TENANT_ADMIN)
KIND_SOON = "resource_verify_soon"
KIND_STALE = "resource_stale"


@periodic("resources.remind_stale", every=timedelta(days=1))
def sweep() -> dict[int, object]:
    """Enqueue one reminder job per active tenant; returns {tenant id: job or in-process result}."""
    tenant_ids = db.session.scalars(select(Tenant.id).where(Tenant.active).order_by(Tenant.id)).all()
    return {tenant_id: jobs.enqueue(remind_stale_listings, tenant_id=tenant_id) for tenant_id in tenant_ids}


def remind_stale_listings() -> int:
    """Job, run as one tenant: post the notices due today; returns how many were posted."""
    tenant_id = context.current_tenant_id()
    if tenant_id is None:
        raise NoActiveTenant("resource reminders run as one tenant")
    today = clock.today()
    due = _due_listings(tenant_id, today)
    if not due:
        return 0
    sent = _keys_taken(tenant_id, [dedupe_key(r) for r in due])
    writers = _writer_ids(tenant_id)
    return sum(_post(r, today, writers) for r in due if dedupe_key(r) not in sent)


def dedupe_key(resource: Resource) -> str:
    return f"resource-freshness:{resource.public_id}:{resource.last_verified_on.isoformat()}"


def _due_listings(tenant_id: int, today: date) -> list[Resource]:
    """The tenant's own listings in the reminder window or hidden. The explicit tenant filter
    matters: the tenant may also see other tenants' shared listings."""
    window_opens = today - (service.STALE_AFTER - service.REMIND_BEFORE)
    rows = db.session.scalars(
        select(Resource).where(Resource.tenant_id == tenant_id, Resource.last_verified_on <= window_opens)
        .order_by(Resource.id)
    )
    return [r for r in rows if service.needs_verification_soon(r, today) or service.is_hidden_as_stale(r, today)]


def _keys_taken(tenant_id: int, keys: list[str]) -> set[str]:
    return set(db.session.scalars(
        select(Notification.dedupe_key).where(Notification.tenant_id == tenant_id, Notification.dedupe_key.in_(keys))
    ))


def _writer_ids(tenant_id: int) -> set[int]:
    memberships = db.session.scalars(
        select(Membership).join(User, User.id == Membership.user_id)
        .where(Membership.tenant_id == tenant_id, Membership.active, User.active)
    )
    return {m.user_id for m in memberships if m.has_role(*WRITER_ROLES)}


def _post(resource: Resource, today: date, writers: set[int]) -> bool:
    """Post the notice; ``notify`` inserts it in a savepoint, so a concurrent sweep that got
    there first makes the unique key refuse it, and this one is skipped (None)."""
    kind, title, body = _text(resource, today)
    creator = resource.created_by_user_id
    return notify(
        resource.tenant_id, kind=kind, title=title, body=body, link=f"/resources/{resource.public_id}",
        recipient_user_id=creator if creator in writers else None, dedupe_key=dedupe_key(resource),
    ) is not None


def _text(resource: Resource, today: date) -> tuple[str, str, str]:
    day = service.stale_since(resource).isoformat()
    if service.is_hidden_as_stale(resource, today):
        return KIND_STALE, str(_l("오래된 자원 정보가 숨겨졌습니다.")), str(_l(
            "'%(name)s' 자원은 %(day)s까지 내용 확인이 없어 다른 기관에는 숨겨졌습니다. "
            "내용을 확인하면 다시 보입니다.", name=resource.name, day=day))
    return KIND_SOON, str(_l("자원 정보를 확인해 주세요.")), str(_l(
        "'%(name)s' 자원을 %(day)s까지 확인하지 않으면 다른 기관의 검색에서 숨겨집니다. "
        "내용이 맞는지 확인해 주세요.", name=resource.name, day=day))
