"""The organiser's live figures (the seed's 실시간 통계): nominations by dong, nominating agency,
sponsor and status; households served per category and month; flags found and resolved.

Every figure covers the active tenant's own campaigns (one campaign when given), so a nominating
tenant asking gets nothing of anyone else's. Withdrawn nominations count only by status."""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..core.db import db
from ..tenancy import context
from ..tenancy.models import Region, Tenant
from .models import (
    CATEGORY_LABELS, FLAG_KIND_LABELS, NOMINATION_STATUS_LABELS, Campaign, DeliveryStatus, Flag, FlagKind,
    FlagStatus, Nomination, NominationStatus,
)


class Row(NamedTuple):
    key: str
    label: str
    count: int


def _nominations(campaign: Campaign | None, *columns, include_withdrawn: bool = False):
    statement = (select(*columns).select_from(Nomination).join(Campaign, Campaign.id == Nomination.campaign_id)
                 .where(Campaign.tenant_id == context.current_tenant_id()))
    if campaign is not None:
        statement = statement.where(Campaign.id == campaign.id)
    if not include_withdrawn:
        statement = statement.where(Nomination.status != NominationStatus.WITHDRAWN.value)
    return statement


def _counted(campaign: Campaign | None, column, include_withdrawn: bool = False) -> list[tuple[str, int]]:
    statement = _nominations(campaign, column, func.count(), include_withdrawn=include_withdrawn).group_by(column)
    return [(key, n) for key, n in db.session.execute(statement.order_by(func.count().desc(), column))]


def by_dong(campaign: Campaign | None = None) -> list[Row]:
    counts = _counted(campaign, Nomination.dong_code)
    names = _names(Region, Region.code, [code for code, _ in counts])
    return [Row(code, names.get(code, code), n) for code, n in counts]


def by_nominator(campaign: Campaign | None = None) -> list[Row]:
    counts = _counted(campaign, Nomination.nominator_tenant_id)
    tenants = {t.id: t for t in db.session.scalars(select(Tenant).where(Tenant.id.in_([i for i, _ in counts])))}
    return [Row(tenants[i].code, tenants[i].name, n) for i, n in counts]


def by_sponsor(campaign: Campaign | None = None) -> list[Row]:
    counts = _counted(campaign, func.coalesce(Campaign.sponsor, ""))
    return [Row(sponsor, sponsor or str(_l("후원자 없음")), n) for sponsor, n in counts]


def by_status(campaign: Campaign | None = None) -> list[Row]:
    counts = dict(_counted(campaign, Nomination.status, include_withdrawn=True))
    return [Row(s.value, str(NOMINATION_STATUS_LABELS[s]), counts.get(s, 0)) for s in NominationStatus]


def households_served(year: int | None = None) -> list[dict]:
    """Households delivered to, per month and category: [{"month": "2026-11", "category": "kimjang",
    "label": "김장", "households": 12}], oldest month first."""
    rows = db.session.execute(
        _nominations(None, Campaign.category, Nomination.delivered_on).where(Nomination.delivery_status == DeliveryStatus.DELIVERED.value))
    counts: Counter = Counter()
    for category, delivered_on in rows:
        if year is None or delivered_on.year == year:
            counts[(delivered_on.strftime("%Y-%m"), category)] += 1
    return [{"month": month, "category": category.value, "label": str(CATEGORY_LABELS[category]), "households": n}
            for (month, category), n in sorted(counts.items())]


def flags(campaign: Campaign | None = None) -> list[dict]:
    """Per kind: flags found (ever), still open, resolved by the organiser, cleared by a re-check."""
    statement = (select(Flag.kind, Flag.status, func.count()).join(Campaign, Campaign.id == Flag.campaign_id)
                 .where(Campaign.tenant_id == context.current_tenant_id()).group_by(Flag.kind, Flag.status))
    if campaign is not None:
        statement = statement.where(Campaign.id == campaign.id)
    counts: dict = defaultdict(Counter)
    for kind, status, n in db.session.execute(statement):
        counts[kind][status] += n
    return [{"kind": kind.value, "label": str(FLAG_KIND_LABELS[kind]), "found": sum(counts[kind].values()),
             "open": counts[kind][FlagStatus.OPEN], "resolved": counts[kind][FlagStatus.RESOLVED],
             "cleared": counts[kind][FlagStatus.CLEARED]} for kind in FlagKind]


def _names(model, key_column, keys) -> dict:
    if not keys:
        return {}
    return dict(db.session.execute(select(key_column, model.name).where(key_column.in_(keys))).all())
