"""Pilot figures (시범사업 지표): each tenant counts its own records and posts the counts to the
workspace's coordinating tenant; the coordinators' dashboard reads only those counts.

Coordinators must see figures across tenants without ever reading another tenant's records. So
nothing here queries another tenant's data: every tenant's job (:func:`report_figures`, run by the
scheduler as each tenant) aggregates the records *it owns or answered*, inside its own tenancy
context, and writes :class:`~.models.MetricFigure` rows owned by the coordinating tenant
(``tenant_id``) and marked with itself as ``reporter_tenant_id``. The policy lets the reporter
replace its own figures and the coordinating tenant read them all; participants read back only
their own. Only counts leave a tenant: per week (Monday start, Asia/Seoul), dong code and a
dimension. No names, ids or free text.

Who reports to which workspace
    Every tenant of the workspace's province(s) reports, so that the pilot's agencies can be
    compared with the other agencies of the same region (``in_pilot`` on each row: the reporter
    takes part now, as a participant or as the coordinating tenant). Participants and the
    coordinating tenant read the workspace and report from their own run. Other tenants cannot
    read the workspace at all (its policy shows it to its owner and participants only), and must
    not learn more about it: the coordinating tenant's run — which reads its workspace, its
    participants and the global ``tenants`` table — enqueues :func:`report_to_workspace` as each
    of them, carrying only the workspace's id and the coordinating tenant's id. Former
    participants are asked too (wherever they are), so their figures stay current. No policy
    change was needed for this.

Not double counted
    A referral is counted as *sent* by its sender only (``referrals.tenant_id``), as *answered*
    (first accept / waitlist / decline, and its answer time) by its receiver only, as
    *completed* by its sender only (the closed loop of the referral it sent), and its
    public/private crossing by its sender only. A case is counted by its owner, a resource by
    its registrant, a feedback item by its submitter's tenant (merged duplicates are left out:
    they follow their survivor). Each query filters on the tenant's own column explicitly —
    the ORM filter would also let through rows the tenant merely *sees* (team cases, shared
    resources, the coordinating tenant's view of everyone's feedback).

The median time to answer
    A median cannot be merged from per-tenant medians. Each receiver posts a histogram of its
    answer times instead (``answer_time_histogram``; the dimension is the bucket's upper bound
    in hours, ``inf`` for the open last bucket), and the dashboard merges the histograms and
    estimates the median by linear interpolation inside the bucket that holds the middle answer
    (the grouped median). The estimate always lies within that bucket, so its error is at most
    the bucket's width: 1 hour up to 2 hours, then 2 h (to 4 h), 4 h (to 8 h), 16 h (to a day),
    24 h (to 2 and 3 days), 48 h (to 5 and 7 days) and a week (to 2 weeks); a median beyond two
    weeks is shown as "more than 336 hours". Weekly medians use the same buckets.

Idempotent
    A run deletes the reporter's rows for the workspace and inserts the new ones in the job's one
    transaction, so running twice changes nothing, and a bucket that became empty disappears.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import delete, func, select

from ..core import clock, jobs
from ..core.db import db, utcnow
from ..tenancy import context
from ..tenancy.models import Region, Tenant, TenantKind
from .models import Feedback, MetricFigure, Participant, Workspace, WorkspaceStatus

WEEKS = 26  # how far back each run reports (the current week included)

# metric names (``MetricFigure.metric``)
REPORT = "report"  # one row per reporter and run: who reported, and when
REFERRALS_SENT = "referrals_sent"
REFERRALS_ANSWERED = "referrals_answered"
REFERRALS_COMPLETED = "referrals_completed"
ANSWER_TIME = "answer_time_histogram"
REFERRALS_CROSS_SECTOR = "referrals_cross_sector"
CASES_OPENED = "cases_opened"
RESOURCES_BY_SCOPE = "resources_by_scope"
FEEDBACK = "feedback_by_category_status"

ANSWER_ACTIONS = ("accept", "waitlist", "decline")
# Upper bounds (hours) of the answer-time buckets; the last bucket is open ("inf").
ANSWER_BUCKETS = (1, 2, 4, 8, 24, 48, 72, 120, 168, 336)
OPEN_BUCKET = "inf"

PUBLIC_KINDS = frozenset({TenantKind.PROVINCE, TenantKind.MUNICIPALITY, TenantKind.DONG_CENTRE,
                          TenantKind.PUBLIC_AGENCY})
PUBLIC, PRIVATE = "public", "private"
DIRECTIONS = ("public_to_private", "private_to_public", "public_to_public", "private_to_private")
CROSSING = ("public_to_private", "private_to_public")


# -- weeks ------------------------------------------------------------------------------------------

def week_of(moment: datetime | date) -> date:
    """The Monday (Asia/Seoul) of the week ``moment`` falls in."""
    day = moment.astimezone(clock.SEOUL).date() if isinstance(moment, datetime) else moment
    return day - timedelta(days=day.weekday())


def weeks_ending(today: date, count: int = WEEKS) -> list[date]:
    """The Mondays of the ``count`` weeks up to the one holding ``today``, oldest first."""
    last = week_of(today)
    return [last - timedelta(weeks=count - 1 - i) for i in range(count)]


def _seoul_midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time(0), clock.SEOUL).astimezone(timezone.utc)


def sector(kind: TenantKind | str) -> str:
    return PUBLIC if TenantKind(kind) in PUBLIC_KINDS else PRIVATE


def bucket_of(hours: float) -> str:
    for bound in ANSWER_BUCKETS:
        if hours <= bound:
            return str(bound)
    return OPEN_BUCKET


# -- reporting (runs as the reporting tenant) ------------------------------------------------------------

Key = tuple[str, date, str, str]  # metric, week, dong code, dimension


def own_figures(tenant: Tenant, workspace_id: int, today: date) -> Counter:
    """The active tenant's own counts for one workspace, keyed by (metric, week, dong, dimension)."""
    assert context.current_tenant_id() == tenant.id, "figures are computed as the reporting tenant"
    from ..cases.models import Case
    from ..referrals.models import Referral, ReferralEvent, State
    from ..resources.models import Resource

    first_week = weeks_ending(today)[0]
    since = _seoul_midnight_utc(first_week)
    dong = tenant.region_code or ""
    figures: Counter = Counter()

    # Sent, by the sender; with the receiver's kind for the public/private crossing.
    receiver = Tenant.__table__.alias("receiver")
    sent = db.session.execute(
        select(Referral.sent_at, receiver.c.kind)
        .join(receiver, receiver.c.id == Referral.receiver_tenant_id)
        .where(Referral.tenant_id == tenant.id, Referral.sent_at.is_not(None), Referral.sent_at >= since)
    ).all()
    for sent_at, receiver_kind in sent:
        week = week_of(sent_at)
        figures[(REFERRALS_SENT, week, dong, "")] += 1
        figures[(REFERRALS_CROSS_SECTOR, week, dong, f"{sector(tenant.kind)}_to_{sector(receiver_kind)}")] += 1

    # Completed, by the sender: the closed loop of the referrals it sent.
    completed = db.session.scalars(
        select(Referral.closed_at).where(Referral.tenant_id == tenant.id, Referral.state == State.COMPLETED.value,
                                         Referral.closed_at >= since)
    ).all()
    for closed_at in completed:
        figures[(REFERRALS_COMPLETED, week_of(closed_at), dong, "")] += 1

    # Answered, by the receiver: the first accept / waitlist / decline of each referral it received,
    # and how long after sending it came.
    first_answer = (
        select(ReferralEvent.referral_id, func.min(ReferralEvent.at).label("at"))
        .where(ReferralEvent.receiver_tenant_id == tenant.id, ReferralEvent.actor_tenant_id == tenant.id,
               ReferralEvent.action.in_(ANSWER_ACTIONS))
        .group_by(ReferralEvent.referral_id)
        .subquery()
    )
    answered = db.session.execute(
        select(first_answer.c.at, Referral.sent_at)
        .join(Referral, Referral.id == first_answer.c.referral_id)
        .where(Referral.receiver_tenant_id == tenant.id, first_answer.c.at >= since)
    ).all()
    for answered_at, sent_at in answered:
        answered_at = _aware(answered_at)
        week = week_of(answered_at)
        figures[(REFERRALS_ANSWERED, week, dong, "")] += 1
        if sent_at is not None:
            hours = max((answered_at - sent_at).total_seconds(), 0) / 3600
            figures[(ANSWER_TIME, week, dong, bucket_of(hours))] += 1

    # Cases opened, by the owner, in the dong recorded on the case ("" when none is).
    cases = db.session.execute(
        select(Case.opened_on, Case.dong_code).where(Case.tenant_id == tenant.id, Case.opened_on >= first_week,
                                                     Case.opened_on <= today)
    ).all()
    for opened_on, case_dong in cases:
        figures[(CASES_OPENED, week_of(opened_on), case_dong or "", "")] += 1

    # Resources by sharing scope: a snapshot, dated the current week.
    for scope, count in db.session.execute(
        select(Resource.scope, func.count()).where(Resource.tenant_id == tenant.id).group_by(Resource.scope)
    ).all():
        figures[(RESOURCES_BY_SCOPE, week_of(today), dong, getattr(scope, "value", scope))] += count

    # Feedback the tenant's users sent to this workspace, by week of submission and current status.
    for created_at, category, status, feedback_dong in db.session.execute(
        select(Feedback.created_at, Feedback.category, Feedback.status, Feedback.dong_code)
        .where(Feedback.tenant_id == tenant.id, Feedback.workspace_id == workspace_id,
               Feedback.merged_into_id.is_(None), Feedback.created_at >= since)
    ).all():
        dimension = f"{getattr(category, 'value', category)}:{getattr(status, 'value', status)}"
        figures[(FEEDBACK, week_of(created_at), feedback_dong or dong, dimension)] += 1

    figures[(REPORT, week_of(today), dong, "")] = 1
    return figures


def _aware(moment: datetime) -> datetime:
    """Aggregates (``min``) come back naive on SQLite, where timestamps are stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def takes_part(tenant_id: int, workspace_id: int) -> bool:
    """The reporter runs the workspace or participates now. Read as the reporter: a non-participant
    sees neither the workspace nor a current participant row of its own."""
    runs_it = select(Workspace.id).where(Workspace.id == workspace_id, Workspace.tenant_id == tenant_id)
    participates = select(Participant.id).where(Participant.workspace_id == workspace_id,
                                                Participant.participant_tenant_id == tenant_id,
                                                Participant.left_on.is_(None))
    return bool(db.session.scalar(select(runs_it.exists() | participates.exists())))


def report_to_workspace(workspace_id: int, coordinator_tenant_id: int, today: date | None = None) -> int:
    """Replace the active tenant's figures for one workspace (a job; idempotent). Returns the number
    of rows posted."""
    tenant_id = context.current_tenant_id()
    if tenant_id is None:
        raise RuntimeError("pilot figures are reported as a tenant")
    tenant = db.session.get(Tenant, tenant_id)
    today = today or clock.today()
    in_pilot = takes_part(tenant_id, workspace_id)
    figures = own_figures(tenant, workspace_id, today)
    now = utcnow()
    db.session.execute(
        delete(MetricFigure).where(MetricFigure.workspace_id == workspace_id,
                                   MetricFigure.reporter_tenant_id == tenant_id)
        .execution_options(synchronize_session=False)
    )
    db.session.add_all([
        MetricFigure(tenant_id=coordinator_tenant_id, workspace_id=workspace_id, reporter_tenant_id=tenant_id,
                     metric=metric, week_start=week, dong_code=dong, dimension=dimension, in_pilot=in_pilot,
                     value=value, computed_at=now)
        for (metric, week, dong, dimension), value in sorted(figures.items()) if value
    ])
    db.session.flush()
    return len(figures)


def report_figures(today: date | None = None) -> dict[str, int]:
    """The periodic task, as each tenant: report to every active workspace the tenant runs or takes
    part in, and — for the workspaces it runs — ask the other tenants of the region to report."""
    tenant_id = context.current_tenant_id()
    if tenant_id is None:
        raise RuntimeError("pilot figures are reported as a tenant")
    visible = list(db.session.scalars(
        select(Workspace).where(Workspace.status == WorkspaceStatus.ACTIVE.value).order_by(Workspace.id)))
    reported = asked = 0
    for workspace in visible:
        if workspace.tenant_id == tenant_id or takes_part(tenant_id, workspace.id):
            report_to_workspace(workspace.id, workspace.tenant_id, today)
            reported += 1
    for workspace in visible:
        if workspace.tenant_id != tenant_id:
            continue
        for other in reporters(workspace, self_reporting=False):
            jobs.after_commit(report_to_workspace, workspace.id, workspace.tenant_id, tenant_id=other)
            asked += 1
    return {"reported": reported, "asked": asked}


def provinces_of(region_codes: list[str]) -> set[str]:
    provinces = set()
    for code in region_codes or ():
        region = db.session.get(Region, code)
        if region is not None:
            provinces.add(region.province().code)
    return provinces


def reporters(workspace: Workspace, self_reporting: bool = True) -> list[int]:
    """The active tenants that report to ``workspace`` (read as its coordinating tenant): every
    tenant of its province(s), its participants and former participants, and itself. Without
    ``self_reporting``, only those that cannot read the workspace (they report when asked)."""
    assert workspace.tenant_id == context.current_tenant_id(), "only the coordinating tenant lists reporters"
    rows = db.session.execute(
        select(Participant.participant_tenant_id, Participant.left_on).where(Participant.workspace_id == workspace.id)
    ).all()
    current = {tenant_id for tenant_id, left_on in rows if left_on is None}
    candidates = {tenant_id for tenant_id, _ in rows} | {workspace.tenant_id}
    provinces = provinces_of(workspace.region_codes)
    if provinces:
        candidates |= set(db.session.scalars(select(Tenant.id).where(Tenant.province_code.in_(provinces))))
    active = set(db.session.scalars(select(Tenant.id).where(Tenant.id.in_(candidates), Tenant.active)))
    if not self_reporting:
        active -= current | {workspace.tenant_id}
    return sorted(active)


def recompute(workspace: Workspace) -> int:
    """Ask every reporter of ``workspace`` to report again once the current transaction commits
    (the coordinators' "지금 다시 계산"). Returns how many were asked."""
    tenants = reporters(workspace)
    for tenant_id in tenants:
        jobs.after_commit(report_to_workspace, workspace.id, workspace.tenant_id, tenant_id=tenant_id)
    return len(tenants)


# -- the dashboard's data (runs as the viewer: the coordinating tenant reads every reporter's rows) ---------

@dataclass(frozen=True)
class Median:
    """A grouped-median estimate (hours) and the bucket it lies in."""

    hours: float | None  # None when the middle answer is in the open last bucket
    lower: float
    upper: float | None

    @property
    def open_ended(self) -> bool:
        return self.upper is None


def _bounds(bucket: str) -> tuple[float, float | None]:
    if bucket == OPEN_BUCKET:
        return float(ANSWER_BUCKETS[-1]), None
    upper = int(bucket)
    index = ANSWER_BUCKETS.index(upper)
    return (float(ANSWER_BUCKETS[index - 1]) if index else 0.0), float(upper)


def median_from_histogram(histogram: dict[str, int]) -> Median | None:
    """The grouped median of merged answer-time buckets (see the module docstring)."""
    order = [str(b) for b in ANSWER_BUCKETS] + [OPEN_BUCKET]
    total = sum(histogram.get(b, 0) for b in order)
    if total == 0:
        return None
    middle = total / 2
    below = 0
    for bucket in order:
        count = histogram.get(bucket, 0)
        if count and below + count >= middle:
            lower, upper = _bounds(bucket)
            if upper is None:
                return Median(None, lower, None)
            return Median(round(lower + (middle - below) / count * (upper - lower), 2), lower, upper)
        below += count
    raise AssertionError("unreachable")


@dataclass
class Group:
    """Totals of one side of the comparison (reporters taking part, or the others)."""

    reporters: int = 0
    sent: int = 0
    answered: int = 0
    completed: int = 0
    crossing: int = 0
    cases: int = 0
    histogram: Counter = field(default_factory=Counter)
    weekly_sent: Counter = field(default_factory=Counter)

    @property
    def median(self) -> Median | None:
        return median_from_histogram(self.histogram)

    @property
    def cross_share(self) -> float | None:
        return self.crossing / self.sent if self.sent else None


@dataclass
class MetricsData:
    """Everything the dashboard charts, merged over the figures the viewer may read."""

    weeks: list[date]
    sent: Counter = field(default_factory=Counter)  # week -> n
    answered: Counter = field(default_factory=Counter)
    completed: Counter = field(default_factory=Counter)
    histogram: Counter = field(default_factory=Counter)  # bucket -> n, over all weeks
    weekly_histogram: dict = field(default_factory=lambda: defaultdict(Counter))  # week -> bucket -> n
    cross: Counter = field(default_factory=Counter)  # direction -> n
    cases_by_dong: Counter = field(default_factory=Counter)  # dong code ("" unknown) -> n
    resources_by_scope: Counter = field(default_factory=Counter)
    feedback_weekly: dict = field(default_factory=lambda: defaultdict(Counter))  # week -> status -> n
    feedback_by_category: dict = field(default_factory=lambda: defaultdict(Counter))  # category -> status -> n
    groups: dict = field(default_factory=lambda: {True: Group(), False: Group()})  # in_pilot -> Group
    pilot_dongs: set = field(default_factory=set)  # dong codes inside the workspace's regions
    dong_names: dict = field(default_factory=dict)
    last_computed_at: datetime | None = None
    reporter_count: int = 0
    all_reporters: bool = True  # False: the viewer reads only its own figures (a participant)

    @property
    def median(self) -> Median | None:
        return median_from_histogram(self.histogram)

    def weekly_median(self, week: date) -> Median | None:
        return median_from_histogram(self.weekly_histogram.get(week, {}))

    @property
    def cross_share(self) -> float | None:
        total = sum(self.cross.values())
        return sum(self.cross[d] for d in CROSSING) / total if total else None


def dashboard_data(workspace: Workspace, today: date | None = None) -> MetricsData:
    """Merge the workspace's figures the active tenant may read (all of them for the coordinating
    tenant, its own for a participant) into the dashboard's numbers."""
    weeks = weeks_ending(today or clock.today())
    window = set(weeks)
    data = MetricsData(weeks=weeks, all_reporters=workspace.tenant_id == context.current_tenant_id())
    rows = db.session.execute(
        select(MetricFigure.metric, MetricFigure.week_start, MetricFigure.dong_code, MetricFigure.dimension,
               MetricFigure.in_pilot, MetricFigure.value, MetricFigure.computed_at, MetricFigure.reporter_tenant_id)
        .where(MetricFigure.workspace_id == workspace.id)
    ).all()
    reporters_seen = set()
    for metric, week, dong, dimension, in_pilot, value, computed_at, reporter in rows:
        group = data.groups[bool(in_pilot)]
        if computed_at is not None and (data.last_computed_at is None or computed_at > data.last_computed_at):
            data.last_computed_at = computed_at
        if metric == REPORT:
            reporters_seen.add(reporter)
            group.reporters += 1
            continue
        if metric == RESOURCES_BY_SCOPE:  # a snapshot: whatever week its reporter last ran in
            data.resources_by_scope[dimension] += value
            continue
        if week not in window:
            continue
        if metric == REFERRALS_SENT:
            data.sent[week] += value
            group.sent += value
            group.weekly_sent[week] += value
        elif metric == REFERRALS_ANSWERED:
            data.answered[week] += value
            group.answered += value
        elif metric == REFERRALS_COMPLETED:
            data.completed[week] += value
            group.completed += value
        elif metric == ANSWER_TIME:
            data.histogram[dimension] += value
            data.weekly_histogram[week][dimension] += value
            group.histogram[dimension] += value
        elif metric == REFERRALS_CROSS_SECTOR:
            data.cross[dimension] += value
            if dimension in CROSSING:
                group.crossing += value
        elif metric == CASES_OPENED:
            data.cases_by_dong[dong] += value
            group.cases += value
        elif metric == FEEDBACK:
            category, _, status = dimension.partition(":")
            data.feedback_weekly[week][status] += value
            data.feedback_by_category[category][status] += value
    data.reporter_count = len(reporters_seen)
    codes = [code for code in data.cases_by_dong if code]
    data.dong_names, data.pilot_dongs = _dongs(codes, workspace.region_codes or [])
    return data


def _dongs(codes: list[str], region_codes: list[str]) -> tuple[dict[str, str], set[str]]:
    """Names of the dongs, and which of them lie inside the workspace's regions."""
    names, inside = {}, set()
    regions = set(region_codes)
    for code in codes:
        region = db.session.get(Region, code)
        if region is None:
            names[code] = code
            continue
        names[code] = region.name
        node = region
        while node is not None:
            if node.code in regions:
                inside.add(code)
                break
            node = node.parent
    return names, inside


def percent(share: float | None) -> str:
    return "–" if share is None else f"{share * 100:.1f}%"


def hours_label(median: Median | None) -> str:
    if median is None:
        return "–"
    if median.open_ended:
        return f"> {median.lower:g}"
    return f"{median.hours:g}"

