"""Anomaly flags over the access log, computed in SQL (grouped and ranked by the database; Python
only sees the handful of flagged groups).

Two patterns, thresholds in the app config (defaults below, documented in the README):

* **burst** — a user opened far more distinct clients in one clock hour than usual. The usual is
  the median of that user's hourly distinct-client counts over the ``AUDIT_BASELINE_DAYS`` before
  the period examined (hours with no access do not count; no history: the floor applies). An
  hour is flagged when its count exceeds
  ``min(max(AUDIT_BURST_FLOOR, AUDIT_BURST_MULTIPLIER × median), AUDIT_BURST_CEILING)``:
  never for the floor or fewer, always above the ceiling.
* **night** — after-hours bulk access: at least ``AUDIT_NIGHT_MIN_CLIENTS`` distinct clients in
  one night between ``AUDIT_NIGHT_START_HOUR`` and ``AUDIT_NIGHT_END_HOUR`` (Korean time).

Hours and nights are Korean time; Korea has no daylight saving, so UTC+9 is exact. A tenant's
officer sees flags for its own users (everything they opened) and for other tenants' users on its
own clients (only those accesses: the rest is not theirs to see). Only opening counts (view, change,
export, print — ``COUNTED_ACTIONS``), not search listings; entries written by exporting the log
itself (``LOG_EXPORT_WHAT``) are left out too: one deliberate act with a stated reason, listed
under exports.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import BigInteger, Integer, and_, case, cast, distinct, extract, func, literal, or_, select
from sqlalchemy.orm import aliased

from ..accounts.models import User
from ..core import clock
from ..core.db import db, utcnow
from ..tenancy import context
from ..tenancy.models import Tenant
from .models import ACCESS_ACTION_LABELS, AccessAction, AccessLogEntry
from .service import LOG_EXPORT_WHAT, WHAT_LABELS, to_kst

DEFAULTS = {
    "AUDIT_BURST_FLOOR": 20,  # distinct clients in one hour that are never unusual
    "AUDIT_BURST_MULTIPLIER": 3,  # "far more than usual": this many times the user's hourly median
    "AUDIT_BURST_CEILING": 60,  # above this many distinct clients in an hour: always flagged
    "AUDIT_BASELINE_DAYS": 30,  # the period the hourly median is taken over
    "AUDIT_NIGHT_START_HOUR": 22,  # KST
    "AUDIT_NIGHT_END_HOUR": 6,  # KST
    "AUDIT_NIGHT_MIN_CLIENTS": 10,  # distinct clients in one night that count as bulk access
    "AUDIT_FLAG_WINDOW_DAYS": 7,  # the log screen shows flags for this many recent days
}
# What counts as "opening" a client. Searches are left out: one name search lists dozens of
# clients (name and masked number only) and would swamp the counts.
COUNTED_ACTIONS = (AccessAction.VIEW, AccessAction.CHANGE, AccessAction.EXPORT, AccessAction.PRINT)
KST_OFFSET = 9 * 3600
HOUR, DAY = 3600, 86400


def setting(name: str) -> int:
    return int(current_app.config.get(name, DEFAULTS[name]))


@dataclass(frozen=True)
class Flag:
    kind: str  # "burst" | "night"
    user_name: str
    tenant_name: str
    ours: bool  # the user acted for the active tenant
    starts_at: datetime  # KST: the hour, or the evening the night began
    clients: int
    reason: str  # Korean, for the screen


@dataclass(frozen=True)
class ExportGroup:
    at: datetime  # KST, first entry of the group
    user_name: str
    tenant_name: str
    ours: bool
    action_label: str
    what_label: str
    purpose: str
    clients: int


def _epoch_seconds(column):
    """Whole seconds since 1970 (UTC) of a timestamp column, on either backend."""
    if db.session.get_bind().dialect.name == "postgresql":
        return cast(func.floor(extract("epoch", column)), BigInteger)
    return cast(func.strftime("%s", column), Integer)


def _epoch(moment: datetime) -> int:
    return int(moment.astimezone(timezone.utc).timestamp())


def _visible_scope(tenant_id: int):
    """This tenant's users (everything) and other tenants' users on this tenant's clients."""
    return or_(AccessLogEntry.tenant_id == tenant_id, AccessLogEntry.client_tenant_id == tenant_id)


def _counted():
    return and_(AccessLogEntry.action.in_(COUNTED_ACTIONS), AccessLogEntry.what != LOG_EXPORT_WHAT)


def _names(rows, tenant_id):
    """(user name, tenant name) for the flagged groups' ids, in one query."""
    user_ids = {row.user_id for row in rows}
    tenant_ids = {row.tenant_id for row in rows}
    users = {i: name for i, name in db.session.execute(select(User.id, User.display_name).where(User.id.in_(user_ids)))}
    tenants = {i: name for i, name in db.session.execute(select(Tenant.id, Tenant.name).where(Tenant.id.in_(tenant_ids)))}
    return users, tenants


def burst_flags(start: datetime, end: datetime) -> list[Flag]:
    tenant_id = context.current_tenant_id()
    floor, multiplier, ceiling = setting("AUDIT_BURST_FLOOR"), setting("AUDIT_BURST_MULTIPLIER"), setting("AUDIT_BURST_CEILING")
    baseline_start = start - timedelta(days=setting("AUDIT_BASELINE_DAYS"))
    first_hour, end_hour = _epoch(start) // HOUR, -(-_epoch(end) // HOUR)
    E = AccessLogEntry
    # One row per entry from the start of the baseline to the end of the period, with its hour
    # number (index range scans on (tenant_id, at) and (client_tenant_id, at)).
    entries = (
        select(E.tenant_id, E.user_id, E.client_id, (_epoch_seconds(E.at) // HOUR).label("hour"))
        .where(_visible_scope(tenant_id), E.at >= baseline_start, E.at < end, _counted())
        .subquery("entries")
    )
    hourly = (
        select(entries.c.tenant_id, entries.c.user_id, entries.c.hour,
               func.count(distinct(entries.c.client_id)).label("n"))
        .group_by(entries.c.tenant_id, entries.c.user_id, entries.c.hour)
        .cte("hourly")
    )
    person = (hourly.c.tenant_id, hourly.c.user_id)
    # The baseline: each person's hours *before* the period, ranked to find the median (the
    # middle row, or the mean of the two middle rows).
    ranked = (
        select(hourly.c.tenant_id, hourly.c.user_id, hourly.c.n,
               func.row_number().over(partition_by=person, order_by=hourly.c.n).label("rn"),
               func.count().over(partition_by=person).label("cnt"))
        .where(hourly.c.hour < first_hour)
        .subquery("ranked")
    )
    median = (
        select(ranked.c.tenant_id, ranked.c.user_id, func.avg(ranked.c.n).label("median"))
        .where(2 * ranked.c.rn >= ranked.c.cnt, 2 * ranked.c.rn <= ranked.c.cnt + 2)
        .group_by(ranked.c.tenant_id, ranked.c.user_id)
        .subquery("median")
    )
    # No history: the floor applies (a NULL median fails the comparison).
    scaled = median.c.median * multiplier
    threshold = case((scaled > floor, scaled), else_=literal(floor))
    threshold = case((threshold > ceiling, literal(ceiling)), else_=threshold)
    rows = db.session.execute(
        select(hourly.c.tenant_id, hourly.c.user_id, hourly.c.hour, hourly.c.n, median.c.median,
               threshold.label("threshold"))
        .outerjoin(median, and_(median.c.tenant_id == hourly.c.tenant_id, median.c.user_id == hourly.c.user_id))
        .where(hourly.c.hour >= first_hour, hourly.c.hour < end_hour, hourly.c.n > threshold)
        .order_by(hourly.c.hour.desc(), hourly.c.n.desc())
    ).all()
    users, tenants = _names(rows, tenant_id)
    flags = []
    for row in rows:
        hour = to_kst(datetime.fromtimestamp(row.hour * HOUR, tz=timezone.utc))
        if row.median is None:
            usual = _("지난 %(days)s일 기록 없음", days=setting("AUDIT_BASELINE_DAYS"))
        else:
            usual = _("평소 시간당 중앙값 %(median)s명", median=_number(row.median))
        flags.append(Flag(
            kind="burst", user_name=users.get(row.user_id, ""), tenant_name=tenants.get(row.tenant_id, ""),
            ours=row.tenant_id == tenant_id, starts_at=hour, clients=row.n,
            reason=_("%(hour)s부터 한 시간 동안 서로 다른 대상자 %(n)s명의 정보를 열람했습니다 "
                     "(%(usual)s, 기준 %(threshold)s명 초과).",
                     hour=hour.strftime("%Y-%m-%d %H:00"), n=row.n, usual=usual, threshold=_number(row.threshold)),
        ))
    return flags


def night_flags(start: datetime, end: datetime) -> list[Flag]:
    tenant_id = context.current_tenant_id()
    night_start, night_end = setting("AUDIT_NIGHT_START_HOUR"), setting("AUDIT_NIGHT_END_HOUR")
    minimum = setting("AUDIT_NIGHT_MIN_CLIENTS")
    E = AccessLogEntry
    seconds = _epoch_seconds(E.at)
    local_hour = ((seconds + KST_OFFSET) // HOUR) % 24
    # A night is named after the evening it starts: shift back by the end hour, take the day.
    night_day = (seconds + KST_OFFSET - night_end * HOUR) // DAY
    entries = (
        select(E.tenant_id, E.user_id, E.client_id, E.at, local_hour.label("local_hour"), night_day.label("night"))
        .where(_visible_scope(tenant_id), E.at >= start, E.at < end, _counted())
        .subquery("entries")
    )
    if night_start > night_end:
        at_night = or_(entries.c.local_hour >= night_start, entries.c.local_hour < night_end)
    else:
        at_night = and_(entries.c.local_hour >= night_start, entries.c.local_hour < night_end)
    clients = func.count(distinct(entries.c.client_id))
    rows = db.session.execute(
        select(entries.c.tenant_id, entries.c.user_id, entries.c.night, clients.label("n"))
        .where(at_night)
        .group_by(entries.c.tenant_id, entries.c.user_id, entries.c.night)
        .having(clients >= minimum)
        .order_by(entries.c.night.desc(), clients.desc())
    ).all()
    users, tenants = _names(rows, tenant_id)
    flags = []
    for row in rows:
        evening = date(1970, 1, 1) + timedelta(days=row.night)
        starts_at = datetime(evening.year, evening.month, evening.day, night_start % 24, tzinfo=clock.SEOUL)
        flags.append(Flag(
            kind="night", user_name=users.get(row.user_id, ""), tenant_name=tenants.get(row.tenant_id, ""),
            ours=row.tenant_id == tenant_id, starts_at=starts_at, clients=row.n,
            reason=_("%(date)s 밤(%(start)s시~다음 날 %(end)s시, 업무시간 외)에 서로 다른 대상자 %(n)s명의 정보를 "
                     "열람했습니다 (기준 %(minimum)s명 이상).",
                     date=evening.isoformat(), start=night_start, end=night_end, n=row.n, minimum=minimum),
        ))
    return flags


def flags(start: datetime, end: datetime) -> list[Flag]:
    """Every flag in [start, end), newest first."""
    return sorted(burst_flags(start, end) + night_flags(start, end), key=lambda f: f.starts_at, reverse=True)


def recent_window() -> tuple[datetime, datetime]:
    end = utcnow()
    return end - timedelta(days=setting("AUDIT_FLAG_WINDOW_DAYS")), end


def exports(start: datetime, end: datetime, limit: int = 100) -> list[ExportGroup]:
    """Exports and prints in [start, end) (each one required a purpose), grouped per user, hour,
    kind and purpose, newest first."""
    tenant_id = context.current_tenant_id()
    E = AccessLogEntry
    entries = (
        select(E.tenant_id, E.user_id, E.action, E.what, E.purpose, E.client_id, E.at,
               (_epoch_seconds(E.at) // HOUR).label("hour"))
        .where(_visible_scope(tenant_id), E.at >= start, E.at < end,
               E.action.in_([AccessAction.EXPORT, AccessAction.PRINT]))
        .subquery("entries")
    )
    keys = (entries.c.tenant_id, entries.c.user_id, entries.c.hour, entries.c.action, entries.c.what, entries.c.purpose)
    grouped = (
        select(*keys, func.min(entries.c.at).label("first_at"), func.count(distinct(entries.c.client_id)).label("n"))
        .group_by(*keys)
        .subquery("grouped")
    )
    actor_tenant = aliased(Tenant)
    rows = db.session.execute(
        select(grouped, User.display_name, actor_tenant.name.label("tenant_name"))
        .join(User, User.id == grouped.c.user_id)
        .join(actor_tenant, actor_tenant.id == grouped.c.tenant_id)
        .order_by(grouped.c.first_at.desc())
        .limit(limit)
    ).all()
    result = []
    for row in rows:
        first_at = row.first_at
        if isinstance(first_at, str):  # SQLite returns aggregates of typed columns untyped
            first_at = datetime.fromisoformat(first_at)
        if first_at.tzinfo is None:
            first_at = first_at.replace(tzinfo=timezone.utc)
        what = WHAT_LABELS.get(row.what)
        result.append(ExportGroup(
            at=to_kst(first_at), user_name=row.display_name, tenant_name=row.tenant_name, ours=row.tenant_id == tenant_id,
            action_label=str(ACCESS_ACTION_LABELS[AccessAction(row.action)]), what_label=str(what) if what else row.what,
            purpose=row.purpose or "", clients=row.n,
        ))
    return result


def _number(value) -> str:
    value = float(value)
    return str(int(value)) if value == int(value) else f"{value:.1f}"
