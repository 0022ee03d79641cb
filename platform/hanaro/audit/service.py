"""Writing and reading the personal-data access log, and the privacy officer's monthly review.

Every view, change, export or print of a client's personal data calls :func:`record` in the same
transaction as the request. The privacy officer's screens read the log through :func:`search`
(keyset-paginated, newest first), :func:`export_csv` and the review functions below; anomaly
flags live in :mod:`hanaro.audit.anomaly`. Callers commit.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from flask import current_app, has_request_context, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload

from ..accounts.models import User
from ..core import clock
from ..core.db import db, utcnow
from ..core.paging import Count, capped_counts
from ..core.rules import RuleViolation
from ..core.spreadsheets import safe_cell
from ..tenancy import context
from ..tenancy.models import Membership, Tenant
from . import guard as _guard  # noqa: F401  (the ORM refuses UPDATE/DELETE of entries)
from .models import AccessAction, AccessLogEntry, AccessReview


class PurposeRequired(ValueError):
    """Exports (and other actions that need one) must state why."""


ACTIONS_NEEDING_PURPOSE = {AccessAction.EXPORT, AccessAction.PRINT}

# ``what`` of the entries written when a privacy officer exports the log itself: the file holds
# client names and masked resident numbers, so it is a disclosure of personal data like any other.
LOG_EXPORT_WHAT = "access_log_export"
# ``what`` of the ``search`` entries written when a privacy officer looks a client up by name or
# number in the log search (the same rule as the client search: typed-in lookups are recorded).
LOG_SEARCH_WHAT = "access_log_search"

WHAT_LABELS = {
    "client": _l("대상자 정보"),
    "client_search": _l("대상자 검색"),
    "consent_evidence": _l("동의서 파일"),
    "case": _l("사례"),
    "case_search": _l("사례 검색"),
    "integrated_view": _l("통합 정보 조회"),
    "household": _l("가구"),
    "consent": _l("정보제공 동의"),
    "referral": _l("서비스의뢰"),
    "care_meeting": _l("지역케어회의 안건"),
    "campaign_nomination": _l("자원배분 추천"),
    LOG_EXPORT_WHAT: _l("접근기록 내보내기"),
    LOG_SEARCH_WHAT: _l("접근기록 검색(대상자 지정)"),
}

# Retention: entries are kept at least this long (README, "Access log retention").
MIN_RETENTION_YEARS = 2


def record(client, action: AccessAction, what: str, purpose: str | None = None, user_id: int | None = None) -> AccessLogEntry:
    """Log that the acting user did ``action`` to ``what`` (e.g. "client", "case", "integrated_view")
    of ``client``. Raises PurposeRequired when the action needs a purpose and none is given."""
    if action in ACTIONS_NEEDING_PURPOSE and not (purpose and purpose.strip()):
        raise PurposeRequired(action)
    entry = AccessLogEntry(
        user_id=user_id if user_id is not None else _acting_user_id(),
        client_id=client.id,
        client_tenant_id=client.tenant_id,
        client_public_id=client.public_id,
        action=action,
        what=what,
        purpose=purpose.strip() if purpose else None,
        ip=request.remote_addr if has_request_context() else None,
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def _acting_user_id() -> int:
    user_id = context.current_user_id()
    if user_id is None and has_request_context() and current_user.is_authenticated:
        user_id = current_user.id
    if user_id is None:
        raise RuntimeError("the access log needs the acting user")
    return user_id


# -- time: KST dates and months to UTC bounds ------------------------------------------------------

def kst_day_start(day: date) -> datetime:
    """Midnight in Korea on ``day``, as a UTC datetime."""
    return datetime.combine(day, time.min, tzinfo=clock.SEOUL).astimezone(timezone.utc)


def kst_range(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    """[start 00:00 KST, the day after end 00:00 KST) in UTC; either side may be open."""
    return (kst_day_start(start) if start else None, kst_day_start(end + timedelta(days=1)) if end else None)


def month_range(month: str) -> tuple[datetime, datetime]:
    """The UTC bounds of a KST calendar month ("YYYY-MM")."""
    year, mon = (int(part) for part in month.split("-"))
    first = date(year, mon, 1)
    following = date(year + (mon == 12), mon % 12 + 1, 1)
    return kst_day_start(first), kst_day_start(following)


def to_kst(moment: datetime) -> datetime:
    return moment.astimezone(clock.SEOUL)


def current_month() -> str:
    return clock.today().strftime("%Y-%m")


def previous_month() -> str:
    first = clock.today().replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


# -- search ------------------------------------------------------------------------------------------

SOURCE_ALL, SOURCE_OURS, SOURCE_THEIRS = "all", "ours", "theirs"
SOURCE_LABELS = {
    SOURCE_ALL: _l("전체"),
    SOURCE_OURS: _l("우리 기관 사용자의 접근"),
    SOURCE_THEIRS: _l("다른 기관 사용자의 우리 대상자 접근"),
}
PAGE_SIZE = 50
CLIENT_MATCH_LIMIT = 200
_PUBLIC_ID = re.compile(r"^[A-Za-z0-9_-]{12,24}$")


@dataclass
class LogFilter:
    user_id: int | None = None
    client_text: str | None = None
    start: datetime | None = None  # UTC, inclusive
    end: datetime | None = None  # UTC, exclusive
    action: AccessAction | None = None
    source: str = SOURCE_ALL
    matched_clients: list = field(default_factory=list)  # own clients the client text matched


@dataclass
class LogRow:
    entry: AccessLogEntry
    user_name: str
    tenant_name: str
    ours: bool  # the user acted for the active tenant
    client_name: str | None  # None when the client is not (or no longer) visible to the viewer
    client_rrn_masked: str | None
    client_tenant_name: str

    @property
    def at_kst(self) -> datetime:
        return to_kst(self.entry.at)

    @property
    def action_label(self) -> str:
        return self.entry.action_label

    @property
    def what_label(self) -> str:
        label = WHAT_LABELS.get(self.entry.what)
        return str(label) if label else self.entry.what


@dataclass
class LogPage:
    rows: list[LogRow] = field(default_factory=list)
    next_cursor: str | None = None
    total: Count = Count(0)  # of the whole search (not just after the cursor), capped


def encode_cursor(entry: AccessLogEntry) -> str:
    moment = entry.at.astimezone(timezone.utc)
    micros = (moment - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(microseconds=1)
    return f"{micros}.{entry.id}"


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    micros, entry_id = cursor.split(".")
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=int(micros)), int(entry_id)


def filter_from_form(data: dict) -> LogFilter:
    """Turn validated form data (``LogSearchForm``) into a filter, resolving the user among the
    active tenant's members. Raises RuleViolation for a user who is not one."""
    start, end = kst_range(data.get("date_from"), data.get("date_to"))
    user_id = None
    if data.get("user"):
        user_id = member_user_id(data["user"])
        if user_id is None:
            raise RuleViolation(_l("목록에 있는 사용자를 고르세요."), field="user")
    action = AccessAction(data["action"]) if data.get("action") else None
    return LogFilter(user_id=user_id, client_text=data.get("client"), start=start, end=end, action=action,
                     source=data.get("source") or SOURCE_ALL)


def member_choices() -> list[tuple[str, str]]:
    """Everyone who is or was a member of the active tenant: (user public id, name). Invited
    people who never joined are not the tenant's to name."""
    rows = db.session.execute(
        select(User.public_id, User.display_name, User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.tenant_id == context.current_tenant_id(), Membership.joined_at.is_not(None))
        .order_by(User.display_name, User.id)
    )
    return [(public_id, f"{name} ({email})") for public_id, name, email in rows]


def member_user_id(user_public_id: str) -> int | None:
    return db.session.scalar(
        select(User.id)
        .join(Membership, Membership.user_id == User.id)
        .where(User.public_id == user_public_id, Membership.tenant_id == context.current_tenant_id(),
               Membership.joined_at.is_not(None))
        .limit(1)
    )


def _client_condition(log_filter: LogFilter):
    """Entries about the client the officer typed: a public id of a client in a visible entry, or
    a name / masked or full resident number among the active tenant's *own* clients (never a
    search over other tenants' clients)."""
    from ..clients import service as clients  # the log outlives clients; import where needed

    text = log_filter.client_text
    matches = clients.search_clients(text, limit=CLIENT_MATCH_LIMIT + 1)
    if len(matches) > CLIENT_MATCH_LIMIT:
        raise RuleViolation(_l("검색어에 맞는 대상자가 너무 많습니다. 더 자세히 입력하세요."), field="client")
    log_filter.matched_clients = matches
    conditions = []
    if matches:
        conditions.append(AccessLogEntry.client_id.in_([c.id for c in matches]))
    if _PUBLIC_ID.match(text):
        conditions.append(AccessLogEntry.client_public_id == text)
    return or_(*conditions) if conditions else None


def _direction_queries(log_filter: LogFilter, tenant_id: int) -> list:
    """One condition per direction, each served by its own index: (tenant_id, at) for this
    tenant's users, (client_tenant_id, at) for other tenants' users on this tenant's clients."""
    ours = AccessLogEntry.tenant_id == tenant_id
    theirs = and_(AccessLogEntry.client_tenant_id == tenant_id, AccessLogEntry.tenant_id != tenant_id)
    if log_filter.source == SOURCE_OURS:
        return [ours]
    if log_filter.source == SOURCE_THEIRS:
        return [theirs]
    return [ours, theirs]


def _conditions(log_filter: LogFilter) -> list | None:
    """The filter's WHERE conditions; None when it can match nothing (an unknown client)."""
    conditions = []
    if log_filter.user_id is not None:
        conditions.append(AccessLogEntry.user_id == log_filter.user_id)
    if log_filter.start is not None:
        conditions.append(AccessLogEntry.at >= log_filter.start)
    if log_filter.end is not None:
        conditions.append(AccessLogEntry.at < log_filter.end)
    if log_filter.action is not None:
        conditions.append(AccessLogEntry.action == log_filter.action)
    if log_filter.client_text:
        client_condition = _client_condition(log_filter)
        if client_condition is None:
            return None
        conditions.append(client_condition)
    return conditions


def search(log_filter: LogFilter, after: str | None = None, limit: int = PAGE_SIZE) -> LogPage:
    """The active tenant's view of the log, newest first, ``limit`` rows after the cursor."""
    tenant_id = context.current_tenant_id()
    conditions = _conditions(log_filter)
    if conditions is None:
        return LogPage()
    directions = _direction_queries(log_filter, tenant_id)
    per_direction = capped_counts(select(AccessLogEntry.id).where(*conditions), dict(enumerate(directions)))
    total = sum(per_direction.values(), Count(0))
    if after:
        at, entry_id = decode_cursor(after)
        conditions.append(or_(AccessLogEntry.at < at, and_(AccessLogEntry.at == at, AccessLogEntry.id < entry_id)))
    # Each direction is its own index range scan, newest first; merging 2 × (limit + 1) rows here
    # is cheaper than asking the database to sort the union of both ranges.
    found: list = []
    for direction in directions:
        found.extend(db.session.execute(_row_query(tenant_id).where(direction, *conditions).limit(limit + 1)).all())
    found.sort(key=lambda row: (row[0].at, row[0].id), reverse=True)
    rows = [_log_row(row, tenant_id) for row in found[: limit + 1]]
    page = LogPage(rows=rows[:limit], total=total)
    if len(rows) > limit:
        page.next_cursor = encode_cursor(rows[limit - 1].entry)
    return page


def _row_query(tenant_id: int):
    from ..clients.models import Client

    actor_tenant = aliased(Tenant)
    client_tenant = aliased(Tenant)
    # The client join goes through the visibility policy (ORM filter and RLS): a client the
    # viewer may no longer see shows without its name.
    return (
        select(AccessLogEntry, User.display_name, actor_tenant.name, Client.name, Client.rrn_masked, client_tenant.name)
        .join(User, User.id == AccessLogEntry.user_id)
        .join(actor_tenant, actor_tenant.id == AccessLogEntry.tenant_id)
        .join(client_tenant, client_tenant.id == AccessLogEntry.client_tenant_id)
        .outerjoin(Client, Client.id == AccessLogEntry.client_id)
        .order_by(AccessLogEntry.at.desc(), AccessLogEntry.id.desc())
    )


def _log_row(row, tenant_id: int) -> LogRow:
    entry, user_name, tenant_name, client_name, rrn_masked, client_tenant_name = row
    return LogRow(entry=entry, user_name=user_name, tenant_name=tenant_name, ours=entry.tenant_id == tenant_id,
                  client_name=client_name, client_rrn_masked=rrn_masked, client_tenant_name=client_tenant_name)


def record_client_lookup(log_filter: LogFilter) -> None:
    """The officer typed a name or number: record a ``search`` of each own client it matched."""
    for client in log_filter.matched_clients:
        record(client, AccessAction.SEARCH, LOG_SEARCH_WHAT)


# -- export ------------------------------------------------------------------------------------------

EXPORT_BATCH = 1000


def export_csv(log_filter: LogFilter, reason: str, actor, filter_summary: str) -> tuple[bytes, int]:
    """The log search as CSV (UTF-8 with BOM so Excel reads Hangul), newest first, at most
    ``AUDIT_EXPORT_MAX_ROWS`` rows. The reason heads the file; every client in the file gets an
    ``export`` entry in the log with the reason as purpose. Returns (content, row count)."""
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation(_l("내보내기 사유를 입력하세요."), field="reason")
    max_rows = int(current_app.config.get("AUDIT_EXPORT_MAX_ROWS", 10000))
    rows, cursor = [], None
    while len(rows) < max_rows:
        page = search(log_filter, after=cursor, limit=min(EXPORT_BATCH, max_rows - len(rows)))
        rows.extend(page.rows)
        cursor = page.next_cursor
        if cursor is None:
            break
    truncated = cursor is not None
    now = to_kst(utcnow())
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("# 개인정보 접근기록 내보내기")])
    writer.writerow([_("# 내보내기 사유: %(reason)s", reason=reason)])
    writer.writerow([_("# 내보낸 사람: %(name)s, 일시: %(at)s (한국시간)", name=actor.display_name,
                       at=now.strftime("%Y-%m-%d %H:%M"))])
    writer.writerow([_("# 검색 조건: %(summary)s", summary=filter_summary)])
    if truncated:
        writer.writerow([_("# 최대 %(n)s건까지만 담았습니다. 기간을 나누어 내보내세요.", n=max_rows)])
    writer.writerow([_("일시(한국시간)"), _("구분"), _("사용자"), _("사용자 기관"), _("대상자"), _("주민등록번호(마스킹)"),
                     _("대상자 기관"), _("행위"), _("대상 정보"), _("목적"), _("IP 주소")])
    for row in rows:
        writer.writerow([safe_cell(value) for value in (
            row.at_kst.strftime("%Y-%m-%d %H:%M:%S"),
            _("우리 기관") if row.ours else _("다른 기관"),
            row.user_name, row.tenant_name,
            row.client_name if row.client_name is not None else _("(열람 권한 없음)"),
            row.client_rrn_masked or "", row.client_tenant_name,
            row.action_label, row.what_label, row.entry.purpose or "", row.entry.ip or "",
        )])
    _record_log_export(rows, reason, actor)
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8"), len(rows)


def _record_log_export(rows: list[LogRow], reason: str, actor) -> None:
    """One ``export`` entry per client whose name (or masked number) went into the file."""
    seen = set()
    for row in rows:
        entry = row.entry
        if row.client_name is None or entry.client_id in seen:
            continue  # nothing of that client's personal data is in the file
        seen.add(entry.client_id)
        db.session.add(AccessLogEntry(
            user_id=actor.id, client_id=entry.client_id, client_tenant_id=entry.client_tenant_id,
            client_public_id=entry.client_public_id, action=AccessAction.EXPORT, what=LOG_EXPORT_WHAT,
            purpose=reason[:300], ip=request.remote_addr if has_request_context() else None,
        ))
    db.session.flush()


# -- monthly review ------------------------------------------------------------------------------

def reviews_of_active_tenant(limit: int = 120) -> list[AccessReview]:
    return list(db.session.scalars(
        select(AccessReview)
        .options(joinedload(AccessReview.reviewed_by))
        .where(AccessReview.tenant_id == context.current_tenant_id())
        .order_by(AccessReview.month.desc())
        .limit(limit)
    ))


def review_for(month: str) -> AccessReview | None:
    return db.session.scalar(
        select(AccessReview).where(AccessReview.tenant_id == context.current_tenant_id(), AccessReview.month == month)
    )


def _already_reviewed(month: str) -> RuleViolation:
    return RuleViolation(_l("%(month)s 검토 기록이 이미 있습니다. 한 달에 한 번만 기록할 수 있습니다.", month=month),
                         field="month")


def record_review(month: str, findings: str, actor) -> AccessReview:
    """Record the monthly review of ``month``; the flag count is computed here, not typed in."""
    from . import anomaly

    if month >= current_month():  # a review covers a whole month that has ended
        raise RuleViolation(_l("아직 끝나지 않은 달은 검토할 수 없습니다. 지난달까지 기록할 수 있습니다."), field="month")
    if review_for(month) is not None:
        raise _already_reviewed(month)
    start, end = month_range(month)
    review = AccessReview(month=month, reviewed_by_user_id=actor.id, findings=findings.strip(),
                          flagged_count=len(anomaly.flags(start, end)))
    try:
        with db.session.begin_nested():
            db.session.add(review)
    except IntegrityError:
        # A concurrent review of the same month won; the unique key is per tenant, so this
        # reveals nothing about other tenants.
        raise _already_reviewed(month) from None
    return review


# -- retention -----------------------------------------------------------------------------------

def earliest_purge_cutoff(today: date | None = None) -> date:
    """The latest ``--before`` date a purge may use: entries younger than two years stay."""
    today = today or clock.today()
    years = max(MIN_RETENTION_YEARS, int(current_app.config.get("AUDIT_RETENTION_YEARS", MIN_RETENTION_YEARS)))
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)
