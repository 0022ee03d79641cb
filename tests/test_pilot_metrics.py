"""Pilot metrics (시범사업 지표): every tenant of the region posts counts of its own records to the
coordinating tenant; the dashboard merges them. A known data set, the exact numbers, the median from
merged histograms, idempotency, who reads which figures (ORM and RLS), the screens and CSVs."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from hanaro.cases.models import Case
from hanaro.core import clock, schedule
from hanaro.core.db import db
from hanaro.pilots import metrics
from hanaro.pilots.metric_views import FIGURE_KEYS, build_figures
from hanaro.pilots.models import (Feedback, FeedbackCategory, FeedbackStatus, FeatureSwitch, MetricFigure,
                                  Participant, SwitchState, Workspace)
from hanaro.referrals.models import Referral, ReferralEvent, State
from hanaro.tenancy.context import acting_as
from hanaro.tenancy.models import RegionLevel, Tenant, TenantKind
from hanaro.tenancy.orm_filter import TenantWriteRefused

from .conftest import BACKEND
from .helpers import csrf_token_from, login

TODAY = date(2026, 11, 18)  # a Wednesday
W0, W1, W2 = date(2026, 11, 16), date(2026, 11, 9), date(2026, 11, 2)  # this week and the two before
REPORT_TASK = "hanaro.pilots.jobs.report_figures"


def kst(*args) -> datetime:
    return datetime(*args, tzinfo=clock.SEOUL).astimezone(timezone.utc)


@pytest.fixture(autouse=True)
def _fixed_today(monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: TODAY)


class MetricsWorld:
    """Province 시험도 (dongs 가람동 and 나래동 in the pilot, 다온동 not) and another province.

    * 시험도청 (province, coordinating tenant), 가람동 행정복지센터 (dong centre, participant),
      나래종합사회복지관 (welfare centre, participant), 다온동 행정복지센터 (dong centre, not taking
      part), 다온나눔 (NGO, left the pilot), a closed-down tenant of the province (inactive);
      다른도복지관 in the other province, running its own workspace.
    """

    def __init__(self, make):
        self.make = make
        province = make.region("9810000000", "시험도", RegionLevel.PROVINCE)
        city = make.region("9811000000", "시험시", RegionLevel.MUNICIPALITY, province.code)
        self.d1 = make.region("9811010000", "가람동", RegionLevel.DONG, city.code)
        self.d2 = make.region("9811020000", "나래동", RegionLevel.DONG, city.code)
        self.d3 = make.region("9811030000", "다온동", RegionLevel.DONG, city.code)
        other = make.region("9820000000", "다른도", RegionLevel.PROVINCE)
        self.e1 = make.region("9821010000", "바깥동", RegionLevel.DONG, other.code)

        self.c = make.tenant(name="시험도청", kind=TenantKind.PROVINCE, region=province)
        self.a = make.tenant(name="가람동 행정복지센터", kind=TenantKind.DONG_CENTRE, region=self.d1)
        self.b = make.tenant(name="나래종합사회복지관", kind=TenantKind.WELFARE_CENTRE, region=self.d2)
        self.n = make.tenant(name="다온동 행정복지센터", kind=TenantKind.DONG_CENTRE, region=self.d3)
        self.l = make.tenant(name="다온나눔", kind=TenantKind.NGO, region=self.d3)
        self.x = make.tenant(name="다른도복지관", kind=TenantKind.WELFARE_CENTRE, region=self.e1)
        self.closed = make.tenant(name="문 닫은 시설", kind=TenantKind.FACILITY, region=self.d3)
        with make.app.app_context():
            db.session.get(Tenant, self.closed.id).active = False
            db.session.commit()

        self.coordinator = make.member(self.c, roles=["pilot_coordinator"], name="고코디")
        self.c_admin = make.member(self.c, roles=["tenant_admin"], name="도청관리자")
        self.a_user = make.member(self.a, roles=["case_manager", "resource_registrar"], name="가람직원")
        self.b_user = make.member(self.b, roles=["case_manager", "resource_registrar"], name="나래직원")
        self.n_user = make.member(self.n, roles=["case_manager", "resource_registrar"], name="다온직원")
        self.l_user = make.member(self.l, roles=["case_manager"], name="나눔직원")
        self.x_user = make.member(self.x, roles=["case_manager", "resource_registrar", "pilot_coordinator"],
                                  name="바깥직원")

        with make.as_tenant(self.c) as session:
            self.workspace = Workspace(code="metrics-pilot", name="시험도 통합복지 시범사업",
                                       region_codes=[self.d1.code, self.d2.code])
            session.add(self.workspace)
            session.flush()
            for tenant in (self.a, self.b, self.l):
                session.add(Participant(workspace_id=self.workspace.id, participant_tenant_id=tenant.id,
                                        joined_on=date(2026, 6, 1)))
        with make.as_tenant(self.x) as session:
            self.other_workspace = Workspace(code="metrics-other", name="다른도 시범사업", region_codes=[self.e1.code])
            session.add(self.other_workspace)

        self.clients = {t.id: make.clients(t, 1)[0] for t in (self.a, self.b, self.n, self.l, self.x)}
        self._referrals()
        self._cases()
        self._resources()
        self._feedback()
        self._leave(self.l, date(2026, 10, 1))  # after its feedback: a tenant that left writes nothing

    # -- records -------------------------------------------------------------------------------------
    def _leave(self, tenant, left_on):
        with self.make.as_tenant(self.c) as session:
            participant = session.scalars(select(Participant).where(
                Participant.workspace_id == self.workspace.id, Participant.participant_tenant_id == tenant.id)).one()
            participant.left_on = left_on

    def referral(self, sender, receiver, sent=None, answers=(), state=None, closed=None):
        """A referral as its records would be after the service moved it: the send event, the
        receiver's answer events, and the closing event when ``closed``."""
        targets = {"accept": State.ACCEPTED, "waitlist": State.WAITLISTED, "decline": State.DECLINED,
                   "complete": State.COMPLETED}
        state = state or (targets[answers[-1][0]] if answers else State.SENT if sent else State.DRAFT)
        with self.make.as_tenant(sender) as session:
            referral = Referral(receiver_tenant_id=receiver.id, client_id=self.clients[sender.id].id,
                                requested_service="시험 서비스", reason="시험 사유", response_due_on=TODAY,
                                state=state, sent_at=sent, answered_at=answers[0][1] if answers else None,
                                closed_at=closed)
            session.add(referral)
            session.flush()
        events = [("send", sender, State.SENT, sent)] if sent else []
        events += [(action, receiver, targets[action], at) for action, at in answers]
        if closed and state is State.COMPLETED:
            events.append(("complete", receiver, State.COMPLETED, closed))
        before = State.DRAFT
        for action, actor, after, at in events:
            with self.make.as_tenant(actor) as session:  # each side writes its own events
                session.add(ReferralEvent(tenant_id=sender.id, referral_id=referral.id, receiver_tenant_id=receiver.id,
                                          actor_tenant_id=actor.id, action=action, from_state=before, to_state=after,
                                          at=at))
            before = after
        return referral

    def _referrals(self):
        a, b, n, l, x = self.a, self.b, self.n, self.l, self.x
        self.referral(a, b, kst(2026, 11, 2, 10), [("accept", kst(2026, 11, 2, 10, 30))], State.COMPLETED,
                      closed=kst(2026, 11, 5, 15))  # 0.5 h
        self.referral(a, b, kst(2026, 11, 10, 9), [("waitlist", kst(2026, 11, 10, 12)),
                                                   ("accept", kst(2026, 11, 11, 5))])  # 3 h (the first answer)
        self.referral(a, n, kst(2026, 11, 11, 14), [("decline", kst(2026, 11, 11, 17, 30))],
                      closed=kst(2026, 11, 11, 17, 30))  # 3.5 h
        self.referral(n, b, kst(2026, 11, 12, 8), [("accept", kst(2026, 11, 12, 18))], State.COMPLETED,
                      closed=kst(2026, 11, 18, 11))  # 10 h; completed this week
        # Monday 00:30 in Seoul is still Sunday in UTC: this week all the same.
        self.referral(b, a, kst(2026, 11, 16, 0, 30), [("accept", kst(2026, 11, 17, 6, 30))])  # 30 h
        self.referral(l, a, kst(2026, 11, 17, 10))  # not answered yet
        self.referral(n, a, kst(2026, 11, 15, 23, 30))  # Sunday night in Seoul: last week
        self.referral(a, b)  # a draft: never counted
        # From the other province (which does not report here) to a participant, which answers it.
        self.referral(x, b, kst(2026, 11, 9, 10), [("accept", kst(2026, 11, 17, 18))])  # 200 h
        # Long ago: outside the 26 weeks.
        self.referral(a, b, kst(2026, 3, 2, 9), [("accept", kst(2026, 3, 2, 12))], State.COMPLETED,
                      closed=kst(2026, 3, 20, 9))

    def case(self, tenant, user, dong, opened_on):
        with self.make.as_tenant(tenant) as session:
            session.add(Case(client_id=self.clients[tenant.id].id, case_type_code="crisis_household",
                             lead_worker_user_id=user.id, dong_code=dong.code if dong else None,
                             received_on=opened_on, opened_on=opened_on))

    def _cases(self):
        for tenant, user, dong, day in (
            (self.a, self.a_user, self.d1, date(2026, 11, 17)), (self.a, self.a_user, self.d1, date(2026, 11, 10)),
            (self.a, self.a_user, self.d1, date(2026, 11, 13)), (self.a, self.a_user, self.d2, date(2026, 11, 4)),
            (self.a, self.a_user, None, date(2026, 11, 18)), (self.a, self.a_user, self.d1, date(2026, 1, 5)),
            (self.b, self.b_user, self.d2, date(2026, 11, 9)), (self.b, self.b_user, self.d2, date(2026, 11, 11)),
            (self.n, self.n_user, self.d3, date(2026, 11, 16)), (self.n, self.n_user, self.d3, date(2026, 11, 18)),
            (self.x, self.x_user, self.e1, date(2026, 11, 16)),
        ):
            self.case(tenant, user, dong, day)

    def _resources(self):
        for tenant, user, scope in ((self.a, self.a_user, "private"), (self.a, self.a_user, "region"),
                                    (self.b, self.b_user, "partners"), (self.b, self.b_user, "public"),
                                    (self.b, self.b_user, "public"), (self.n, self.n_user, "platform"),
                                    (self.x, self.x_user, "public")):
            self.make.resource(tenant, scope=scope, creator=user)

    def feedback(self, tenant, user, category, status, at, workspace=None, merged_into=None, coordinator=None):
        workspace = workspace or self.workspace
        with self.make.as_tenant(tenant, user) as session:
            item = Feedback(workspace_id=workspace.id, coordinator_tenant_id=(coordinator or self.c).id,
                            submitter_user_id=user.id, category=category, status=status, description="시험 의견",
                            created_at=at, merged_into_id=merged_into.id if merged_into else None)
            session.add(item)
        return item

    def _feedback(self):
        f = FeedbackCategory
        s = FeedbackStatus
        self.feedback(self.a, self.a_user, f.BUG, s.RECEIVED, kst(2026, 11, 17, 10))
        self.feedback(self.a, self.a_user, f.BUG, s.DONE, kst(2026, 11, 10, 10))
        self.feedback(self.a, self.a_user, f.DISCOMFORT, s.PLANNED, kst(2026, 11, 12, 10))
        survivor = self.feedback(self.b, self.b_user, f.SUGGESTION, s.RECEIVED, kst(2026, 11, 16, 9))
        self.feedback(self.b, self.b_user, f.SUGGESTION, s.RECEIVED, kst(2026, 11, 16, 11), merged_into=survivor)
        self.feedback(self.l, self.l_user, f.POLICY, s.REJECTED, kst(2026, 11, 3, 10))
        self.feedback(self.x, self.x_user, f.BUG, s.RECEIVED, kst(2026, 11, 17, 10), workspace=self.other_workspace,
                      coordinator=self.x)

    # -- running and reading -------------------------------------------------------------------------
    def report_all(self):
        """What the scheduler does every 6 hours: the task as every active tenant."""
        with self.make.app.app_context():
            schedule.fan_out(REPORT_TASK)

    def data(self, tenant=None, user=None, workspace=None):
        tenant = tenant or self.c
        with self.make.app.app_context(), acting_as(tenant.id, (user or self.coordinator).id):
            return metrics.dashboard_data(db.session.get(Workspace, (workspace or self.workspace).id))

    def signed_in(self, user):
        client = self.make.app.test_client()
        assert login(client, user.email).status_code == 303
        return client

    @property
    def url(self):
        return f"/pilot-metrics/{self.workspace.public_id}"


@pytest.fixture
def world(make):
    return MetricsWorld(make)


@pytest.fixture
def reported(world):
    world.report_all()
    return world


# -- the numbers ------------------------------------------------------------------------------------------

def test_weekly_referral_counts_each_referral_once_on_its_side(reported):
    data = reported.data()
    assert data.weeks[0] == W0 - timedelta(weeks=25) and data.weeks[-1] == W0 and len(data.weeks) == 26
    # Sent by the senders of the province (the other province's sender does not report here; the
    # draft and the referral from March are not counted; Sunday 23:30 in Seoul is last week).
    assert dict(+data.sent) == {W2: 1, W1: 4, W0: 2}
    # Answered by the receivers: first answers only (the waitlisted referral accepted later is one).
    assert dict(+data.answered) == {W2: 1, W1: 3, W0: 2}
    # Completed, counted by the sender, in the week it was completed.
    assert dict(+data.completed) == {W2: 1, W0: 1}


def test_median_answer_time_comes_from_the_merged_histograms(reported):
    data = reported.data()
    # Answer times 0.5, 3, 3.5, 10, 30 and 200 hours.
    assert dict(+data.histogram) == {"1": 1, "4": 2, "24": 1, "48": 1, "336": 1}
    assert data.median == metrics.Median(4.0, 2.0, 4.0)
    assert data.weekly_median(W2) == metrics.Median(0.5, 0.0, 1.0)
    assert data.weekly_median(W1) == metrics.Median(3.5, 2.0, 4.0)
    assert data.weekly_median(W0) == metrics.Median(48.0, 24.0, 48.0)
    assert data.weekly_median(W0 - timedelta(weeks=5)) is None


def test_grouped_median_estimates():
    assert metrics.median_from_histogram({}) is None
    five = {"1": 1, "4": 1, "24": 1, "48": 1, "336": 1}  # 0.5, 3, 10, 30, 200 hours
    assert metrics.median_from_histogram(five) == metrics.Median(16.0, 8.0, 24.0)
    assert metrics.median_from_histogram({"inf": 3, "1": 1}) == metrics.Median(None, 336.0, None)
    assert [metrics.bucket_of(h) for h in (0, 1, 1.01, 200, 336, 337)] == ["1", "1", "2", "336", "336", "inf"]


def test_cross_sector_share_cases_per_dong_resources_and_feedback(reported):
    data = reported.data()
    assert dict(+data.cross) == {"public_to_private": 3, "private_to_public": 2, "public_to_public": 2}
    assert round(data.cross_share, 4) == round(5 / 7, 4)
    w = reported
    assert dict(+data.cases_by_dong) == {w.d1.code: 3, w.d2.code: 3, w.d3.code: 2, "": 1}
    assert data.pilot_dongs == {w.d1.code, w.d2.code}
    assert data.dong_names[w.d3.code] == "다온동"
    assert dict(+data.resources_by_scope) == {"private": 1, "partners": 1, "region": 1, "platform": 1, "public": 2}
    assert {k: dict(v) for k, v in data.feedback_weekly.items() if v} == {
        W0: {"received": 2}, W1: {"done": 1, "planned": 1}, W2: {"rejected": 1}}
    assert {k: dict(v) for k, v in data.feedback_by_category.items()} == {
        "bug": {"received": 1, "done": 1}, "discomfort": {"planned": 1}, "suggestion": {"received": 1},
        "policy": {"rejected": 1}}


def test_pilot_agencies_are_compared_with_the_other_agencies_of_the_region(reported):
    data = reported.data()
    pilot, others = data.groups[True], data.groups[False]
    # Taking part: the coordinating province and the two participants; the others: the dong centre
    # that never joined and the NGO that left. The closed-down tenant and the other province: nobody.
    assert (pilot.reporters, others.reporters, data.reporter_count) == (3, 2, 5)
    assert (pilot.sent, pilot.answered, pilot.completed, pilot.cases) == (4, 5, 1, 7)
    assert (others.sent, others.answered, others.completed, others.cases) == (3, 1, 1, 2)
    assert pilot.median == metrics.Median(16.0, 8.0, 24.0) and others.median == metrics.Median(3.0, 2.0, 4.0)
    assert pilot.cross_share == 3 / 4 and others.cross_share == 2 / 3
    assert dict(+pilot.weekly_sent) == {W2: 1, W1: 2, W0: 1} and dict(+others.weekly_sent) == {W1: 2, W0: 1}


def test_who_reported_and_what_the_rows_hold(reported, app):
    w = reported
    with app.app_context(), acting_as(w.c.id, w.coordinator.id):
        rows = db.session.scalars(select(MetricFigure).where(MetricFigure.workspace_id == w.workspace.id)).all()
    assert {r.reporter_tenant_id for r in rows} == {w.c.id, w.a.id, w.b.id, w.n.id, w.l.id}
    assert {r.tenant_id for r in rows} == {w.c.id}
    assert {r.reporter_tenant_id for r in rows if r.in_pilot} == {w.c.id, w.a.id, w.b.id}
    # Counts by week, dong and dimension only: nothing else leaves a tenant.
    assert {r.metric for r in rows} == {metrics.REPORT, metrics.REFERRALS_SENT, metrics.REFERRALS_ANSWERED,
                                        metrics.REFERRALS_COMPLETED, metrics.ANSWER_TIME,
                                        metrics.REFERRALS_CROSS_SECTOR, metrics.CASES_OPENED,
                                        metrics.RESOURCES_BY_SCOPE, metrics.FEEDBACK}
    assert {r.dong_code for r in rows} <= {"", w.c.region_code, w.d1.code, w.d2.code, w.d3.code}
    assert all(r.week_start.weekday() == 0 and r.value > 0 for r in rows)
    # The other province's workspace got the other province's figures, and only those.
    with app.app_context(), acting_as(w.x.id, w.x_user.id):
        theirs = db.session.scalars(select(MetricFigure)).all()
    assert theirs and {(r.workspace_id, r.reporter_tenant_id) for r in theirs} == {(w.other_workspace.id, w.x.id)}
    assert w.data(w.x, w.x_user, w.other_workspace).feedback_by_category == {"bug": {"received": 1}}


def test_running_again_replaces_the_figures_instead_of_adding_to_them(reported, app):
    w = reported

    def snapshot():
        with app.app_context(), acting_as(w.c.id, w.coordinator.id):
            return sorted(db.session.execute(
                select(MetricFigure.reporter_tenant_id, MetricFigure.metric, MetricFigure.week_start,
                       MetricFigure.dong_code, MetricFigure.dimension, MetricFigure.value)
                .where(MetricFigure.workspace_id == w.workspace.id)).all())

    first = snapshot()
    w.report_all()
    w.report_all()
    assert snapshot() == first
    assert dict(+w.data().sent) == {W2: 1, W1: 4, W0: 2}
    # A change shows on the next run.
    w.referral(w.a, w.b, kst(2026, 11, 18, 9), [("decline", kst(2026, 11, 18, 9, 20))])
    w.report_all()
    data = w.data()
    assert data.sent[W0] == 3 and data.answered[W0] == 3 and data.histogram["1"] == 2


def test_the_scheduler_registers_the_task_per_tenant_every_six_hours():
    task = schedule.discover()["pilots.report_figures"]
    assert task.per_tenant and task.every == timedelta(hours=6) and task.path == REPORT_TASK


# -- who reads which figures ---------------------------------------------------------------------------------

def test_each_reporter_reads_only_its_own_figures_and_the_coordinating_tenant_all(reported, app):
    w = reported
    expected = {w.c: {w.c.id, w.a.id, w.b.id, w.n.id, w.l.id}, w.a: {w.a.id}, w.b: {w.b.id}, w.n: {w.n.id},
                w.l: {w.l.id}, w.closed: set()}
    for tenant, reporters in expected.items():
        with app.app_context(), acting_as(tenant.id, None):
            seen = set(db.session.scalars(select(MetricFigure.reporter_tenant_id)
                                          .where(MetricFigure.workspace_id == w.workspace.id)))
        assert seen == reporters, tenant.name
    # A participant's dashboard is built from its own figures only.
    data = w.data(w.a, w.a_user)
    assert not data.all_reporters
    assert dict(+data.sent) == {W2: 1, W1: 2} and dict(+data.answered) == {W0: 1}
    assert data.reporter_count == 1


def test_a_tenant_cannot_post_figures_in_another_reporters_name(reported, app):
    w = reported
    with app.app_context(), acting_as(w.a.id, w.a_user.id):
        db.session.add(MetricFigure(tenant_id=w.c.id, workspace_id=w.workspace.id, reporter_tenant_id=w.b.id,
                                    metric=metrics.REFERRALS_SENT, week_start=W0, value=100))
        with pytest.raises(TenantWriteRefused):
            db.session.flush()
        db.session.rollback()


@pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL only")
def test_row_level_security_alone_keeps_the_figures_apart(reported, app):
    w = reported

    def as_tenant(tenant_id, sql, params=None, scalar=True):
        with app.app_context():
            connection = db.session.connection()
            connection.execute(text("select set_config('hanaro.tenant_id', :t, true)"), {"t": str(tenant_id)})
            result = connection.execute(text(sql), params or {})
            return result.scalar() if scalar else {row[0] for row in result}

    everyone = "select distinct reporter_tenant_id from pilot_metric_figures where workspace_id = :w"
    params = {"w": w.workspace.id}
    assert as_tenant(w.c.id, everyone, params, scalar=False) == {w.c.id, w.a.id, w.b.id, w.n.id, w.l.id}
    assert as_tenant(w.a.id, everyone, params, scalar=False) == {w.a.id}
    assert as_tenant(w.x.id, everyone, params, scalar=False) == set()
    # The coordinating tenant reads the figures but cannot change or delete them.
    with app.app_context():
        connection = db.session.connection()
        connection.execute(text("select set_config('hanaro.tenant_id', :t, true)"), {"t": str(w.c.id)})
        assert connection.execute(text("delete from pilot_metric_figures where reporter_tenant_id = :r"),
                                  {"r": w.a.id}).rowcount == 0
        assert connection.execute(text("update pilot_metric_figures set value = 0 where reporter_tenant_id = :r"),
                                  {"r": w.a.id}).rowcount == 0
        # A reporter cannot write in another reporter's name.
        connection.execute(text("select set_config('hanaro.tenant_id', :t, true)"), {"t": str(w.a.id)})
        with pytest.raises(DBAPIError, match="row-level security"):
            with connection.begin_nested():
                connection.execute(text(
                    "insert into pilot_metric_figures (tenant_id, workspace_id, reporter_tenant_id, metric, "
                    "week_start, dong_code, dimension, in_pilot, value, computed_at) values "
                    "(:c, :w, :b, 'referrals_sent', :week, '', '', true, 100, now())"),
                    {"c": w.c.id, "w": w.workspace.id, "b": w.b.id, "week": W0})


def row(header, *cells) -> str:
    """A row of a figure's table as the page renders it."""
    return f'<tr><th scope="row">{header}</th>' + "".join(f'<td class="num">{c}</td>' for c in cells) + "</tr>"


# -- the screens --------------------------------------------------------------------------------------------

def test_the_coordinator_sees_the_dashboard_with_charts_and_tables(reported):
    w = reported
    page = w.signed_in(w.coordinator).get(w.url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "시험도 통합복지 시범사업" in html and "지금 다시 계산" in html and "마지막 계산 시각" in html
    for key in FIGURE_KEYS:
        assert f'id="figure-{key}"' in html
        assert f'href="/pilot-metrics/{w.workspace.public_id}/{key}.csv"' in html
    # Each chart: an image with a title and a description, and a table beside it.
    assert html.count('role="img"') == len(FIGURE_KEYS)
    assert '<title id="chart-referrals-title">주별 서비스의뢰: 보냄 · 응답 · 완료</title>' in html
    assert 'aria-labelledby="chart-referrals-title chart-referrals-desc"' in html
    assert '<desc id="chart-cross-sector-desc">보낸 의뢰 7건 중 5건(71.4%)이 공공과 민간의 경계를 넘었습니다.</desc>' in html
    assert html.count("<details") == len(FIGURE_KEYS) and html.count("<table") == len(FIGURE_KEYS)
    assert '<th scope="col">주 (월요일 시작)</th>' in html
    assert row("2026-11-09", "4", "3", "0") in html
    assert '<tr><th scope="row">다온동</th><td>그 밖의 지역</td><td class="num">2</td></tr>' in html
    assert "약 4시간" in html  # the overall median
    assert "<script" not in html.split("<main", 1)[1] and 'style="' not in html


def test_the_figures_agree_with_the_data_layer(reported):
    figures = {f.key: f for f in build_figures(reported.data())}
    assert set(figures) == set(FIGURE_KEYS)
    assert figures["answer-time"].rows[-1] == ["2026-11-16", "2", "48", "24–48"]
    assert figures["pilot-comparison"].rows == [
        ["보고한 기관 수", "3", "2"], ["보낸 의뢰", "4", "3"], ["응답한 의뢰", "5", "1"], ["완료된 의뢰", "1", "1"],
        ["응답 시간 중앙값 (시간)", "16", "3"], ["공공 · 민간 경계를 넘은 의뢰 비율", "75.0%", "66.7%"],
        ["신규 사례", "7", "2"]]
    svg = str(figures["cases-by-dong"].chart)
    assert svg.startswith("<svg") and "<title" in svg and "<desc" in svg and "가람동" in svg and "pattern" in svg


def test_csv_per_figure_in_utf8_with_a_bom(reported):
    w = reported
    client = w.signed_in(w.coordinator)
    response = client.get(f"{w.url}/referrals.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == ["주 (월요일 시작)", "보낸 의뢰", "응답한 의뢰", "완료된 의뢰"]
    assert len(rows) == 27 and rows[-3:] == [["2026-11-02", "1", "1", "1"], ["2026-11-09", "4", "3", "0"],
                                             ["2026-11-16", "2", "2", "1"]]
    cross = list(csv.reader(io.StringIO(client.get(f"{w.url}/cross-sector.csv").get_data().decode("utf-8-sig"))))
    assert cross[1:] == [["공공 → 민간", "3", "42.9%"], ["민간 → 공공", "2", "28.6%"], ["공공 → 공공", "2", "28.6%"],
                         ["민간 → 민간", "0", "0.0%"]]
    assert client.get(f"{w.url}/nothing.csv").status_code == 404


def test_a_participant_sees_its_own_figures_but_cannot_recompute(reported):
    w = reported
    client = w.signed_in(w.a_user)
    html = client.get(w.url).get_data(as_text=True)
    assert "우리 기관이 보고한 수치만 보입니다" in html and "지금 다시 계산" not in html
    assert row("2026-11-09", "2", "0", "0") in html
    token = csrf_token_from(html)
    assert client.post(f"{w.url}/recompute", data={"csrf_token": token}).status_code == 403


def test_nobody_else_finds_the_dashboard(reported):
    w = reported
    for user in (w.n_user, w.l_user, w.x_user):  # not taking part, left, another province
        client = w.signed_in(user)
        assert client.get(w.url).status_code == 404, user.display_name
        assert client.get(f"{w.url}/referrals.csv").status_code == 404
        assert client.post(f"{w.url}/recompute").status_code == 404
    # The coordinating tenant's members without the coordinator role: refused.
    assert w.signed_in(w.c_admin).get(w.url).status_code == 403


def test_the_switch_decides_who_reaches_the_screens(reported, app):
    w = reported
    with app.app_context():
        db.session.add(FeatureSwitch(key="pilot_metrics", state=SwitchState.PILOT, workspace_id=w.workspace.id))
        db.session.commit()
    assert w.signed_in(w.a_user).get(w.url).status_code == 200
    assert w.signed_in(w.coordinator).get(w.url).status_code == 200
    assert w.signed_in(w.x_user).get("/pilot-metrics/").status_code == 404
    with app.app_context():
        db.session.scalar(select(FeatureSwitch).where(FeatureSwitch.key == "pilot_metrics")).state = SwitchState.OFF
        db.session.commit()
    assert w.signed_in(w.coordinator).get(w.url).status_code == 404


def test_recompute_asks_every_reporter_again(reported):
    w = reported
    w.referral(w.a, w.b, kst(2026, 11, 18, 9))  # sent after the last run
    w.referral(w.n, w.a, kst(2026, 11, 18, 10))  # by a tenant that does not take part
    assert w.data().sent[W0] == 2
    client = w.signed_in(w.coordinator)
    token = csrf_token_from(client.get(w.url).get_data(as_text=True))
    response = client.post(f"{w.url}/recompute", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"].endswith(w.url)
    data = w.data()
    assert data.sent[W0] == 4 and data.groups[False].sent == 4
    assert "5개 기관에 지표 다시 계산을 요청했습니다" in client.get(w.url).get_data(as_text=True)


def test_the_index_lists_the_workspaces_the_tenant_may_look_at(reported):
    w = reported
    assert w.workspace.public_id in w.signed_in(w.coordinator).get("/pilot-metrics/").get_data(as_text=True)
    assert w.workspace.public_id in w.signed_in(w.b_user).get("/pilot-metrics/").get_data(as_text=True)
    assert w.workspace.public_id not in w.signed_in(w.n_user).get("/pilot-metrics/").get_data(as_text=True)


def test_nothing_to_report_without_a_workspace(make, app):
    lonely = make.tenant()
    with app.app_context(), acting_as(lonely.id, None):
        assert metrics.report_figures() == {"reported": 0, "asked": 0}
        assert db.session.scalar(select(func.count()).select_from(MetricFigure)) == 0
