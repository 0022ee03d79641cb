"""Administrative sanctions are append-only: recorded with their findings, corrected by new entries
(one chain, one entry in force), and never changed or deleted — refused by the ORM on every
backend and, on PostgreSQL, by RLS for the app role and by a trigger for every role."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from werkzeug.exceptions import NotFound

from hanaro.audit.guard import AppendOnly
from hanaro.core import clock
from hanaro.core.db import db
from hanaro.core.rules import RuleViolation
from hanaro.notifications.models import Notification
from hanaro.oversight import sanctions, service
from hanaro.oversight.models import AppealStatus, Sanction, SanctionFinding
from hanaro.oversight.states import Conflict, WrongSide
from hanaro.tenancy.context import acting_as
from hanaro.tenancy.orm_filter import TenantWriteRefused

from .conftest import BACKEND

postgres_only = pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL only")
DECIDED = date(2026, 2, 2)


@pytest.fixture
def w(make):
    return make.oversight_world()


def _record(w, facility=None, findings=(), **values):
    with w.acting(w.city, w.inspector):
        facility = service.get_facility_or_404((facility or w.facility_a).public_id)
        return sanctions.record(facility, {
            "sanction_type": "improvement_order", "legal_basis": "사회복지사업법 제40조 제1항",
            "reason": "종사자 배치기준 위반", "decided_on": DECIDED, "effective_from": DECIDED + timedelta(days=1),
            "findings": list(findings), **values}, w.inspector).public_id


def test_a_sanction_follows_findings_and_the_facility_is_told(w):
    _inspection, finding_ids, _actions = w.conduct(w.facility_a)
    public_id = _record(w, findings=finding_ids[:1])
    with w.acting(w.home_a, w.staff_a):
        sanction = sanctions.get_sanction_or_404(public_id)
        assert (sanction.type_label, sanction.appeal_label) == ("개선명령", "해당 없음")
        assert [f.public_id for f in sanctions.findings_of(sanction)] == finding_ids[:1]
        titles = [n.title for n in db.session.scalars(select(Notification).where(Notification.kind == "oversight_sanction"))]
        assert titles == ["행정처분이 등록되었습니다 (개선명령, 시험시청)"]


@pytest.mark.parametrize("values, field, message", [
    ({"sanction_type": "prison"}, "sanction_type", "처분 종류"),
    ({"legal_basis": " "}, "legal_basis", "법적 근거"),
    ({"reason": ""}, "reason", "처분 사유"),
    ({"decided_on": None}, "decided_on", "처분일을"),
    ({"decided_on": date.today() + timedelta(days=400)}, "decided_on", "오늘 이후"),
    ({"effective_from": DECIDED - timedelta(days=1)}, "effective_from", "처분일 이후"),
    ({"sanction_type": "fine"}, "amount", "과태료 금액"),
    ({"sanction_type": "fine", "amount": 0}, "amount", "과태료 금액"),
    ({"sanction_type": "suspension"}, "effective_to", "끝나는 날"),
    ({"sanction_type": "suspension", "effective_to": DECIDED}, "effective_to", "시행일 이후"),
    ({"appeal_status": "won"}, "appeal_status", "불복 상태"),
])
def test_bad_sanctions_are_refused_next_to_their_field(w, values, field, message):
    with pytest.raises(RuleViolation, match=message) as refused:
        _record(w, **values)
    assert refused.value.field == field
    with w.acting(w.city):
        assert sanctions.in_force() == []


def test_findings_of_another_facility_cannot_be_named(w):
    _inspection, finding_ids, _actions = w.conduct(w.facility_b)
    with pytest.raises(RuleViolation, match="이 시설의 지적사항만") as refused:
        _record(w, findings=finding_ids)
    assert refused.value.field == "findings"


def test_only_the_supervising_city_records_and_corrects(w):
    public_id = _record(w)
    for tenant, user in ((w.home_a, w.staff_a), (w.province, w.province_staff)):
        with w.acting(tenant, user):
            sanction = sanctions.get_sanction_or_404(public_id)
            with pytest.raises(WrongSide):
                sanctions.correct(sanction, {"correction_reason": "x"}, user)
            with pytest.raises(WrongSide):
                sanctions.record(service.get_facility_or_404(w.facility_a.public_id), {}, user)


def test_a_correction_is_a_new_entry_and_the_chain_has_one_entry_in_force(w):
    _inspection, finding_ids, _actions = w.conduct(w.facility_a)
    original = _record(w, sanction_type="fine", amount=3_000_000, findings=finding_ids)
    with w.acting(w.city, w.inspector):
        with pytest.raises(RuleViolation, match="정정 사유") as refused:
            sanctions.correct(sanctions.get_sanction_or_404(original), {"amount": 2_000_000}, w.inspector)
        assert refused.value.field == "correction_reason"
        amended = sanctions.correct(sanctions.get_sanction_or_404(original),
                                    {"amount": 2_000_000, "correction_reason": "감경 사유 반영"}, w.inspector)
        appealed = sanctions.correct(amended, {"appeal_status": "objection", "correction_reason": "이의신청 접수"},
                                     w.inspector)
        with pytest.raises(Conflict, match="이미 정정된 기록"):
            sanctions.correct(sanctions.get_sanction_or_404(original), {"correction_reason": "또"}, w.inspector)
        first = sanctions.get_sanction_or_404(original)
        assert (first.amount, first.appeal_status) == (3_000_000, AppealStatus.NONE)  # untouched
        assert [s.public_id for s in sanctions.chain(first)] == [original, amended.public_id, appealed.public_id]
        assert [(s.amount, s.appeal_status) for s in sanctions.in_force()] == [(2_000_000, AppealStatus.OBJECTION)]
        assert [f.public_id for f in sanctions.findings_of(appealed)] == finding_ids  # carried over
        history = sanctions.history(service.get_facility_or_404(w.facility_a.public_id))
        assert [(e.sanction.public_id, e.in_force) for e in history] == [
            (appealed.public_id, True), (amended.public_id, False), (original, False)]
        assert history[0].corrects.public_id == amended.public_id and history[2].superseded_by.public_id == amended.public_id


def test_a_sanction_overturned_on_appeal_is_withdrawn_by_a_correction(w):
    public_id = _record(w, sanction_type="suspension", effective_to=DECIDED + timedelta(days=30))
    with w.acting(w.city, w.inspector):
        sanctions.correct(sanctions.get_sanction_or_404(public_id),
                          {"appeal_status": "overturned", "withdraws": True, "correction_reason": "행정심판 인용"},
                          w.inspector)
        assert sanctions.in_force() == [] and sanctions.recent() == []
        facility = service.get_facility_or_404(w.facility_a.public_id)
        assert len(sanctions.history(facility)) == 2


def test_the_orm_refuses_changing_or_deleting_a_sanction_or_its_findings(w):
    _inspection, finding_ids, _actions = w.conduct(w.facility_a)
    public_id = _record(w, findings=finding_ids[:1])
    with w.acting(w.city, w.inspector):
        sanctions.get_sanction_or_404(public_id).reason = "고친 사유"
        with pytest.raises(TenantWriteRefused):
            db.session.flush()
        db.session.rollback()
        db.session.delete(sanctions.get_sanction_or_404(public_id))
        with pytest.raises(TenantWriteRefused):
            db.session.flush()
        db.session.rollback()
        for model in (Sanction, SanctionFinding):
            with pytest.raises(AppendOnly):
                db.session.execute(update(model).values(tenant_id=model.tenant_id))
            with pytest.raises(AppendOnly):
                db.session.execute(delete(model))
        db.session.rollback()
        assert sanctions.get_sanction_or_404(public_id).reason == "종사자 배치기준 위반"


@postgres_only
def test_the_app_role_cannot_change_or_delete_sanctions_with_direct_sql(w, app):
    public_id = _record(w)
    with app.app_context(), acting_as(w.city.id, w.inspector.id):
        connection = db.session.connection()
        for table in ("oversight_sanctions", "oversight_sanction_findings"):
            assert connection.execute(text(f"update {table} set tenant_id = tenant_id")).rowcount == 0
            assert connection.execute(text(f"delete from {table}")).rowcount == 0
        assert connection.execute(text("select reason from oversight_sanctions where public_id = :p"),
                                  {"p": public_id}).scalar() == "종사자 배치기준 위반"


def _seed(session: Session) -> None:
    """A municipality, a facility, an inspection with a finding and a sanction following it, inside
    the session's (uncommitted) transaction."""
    from hanaro.oversight.models import Facility, Finding, Inspection
    from hanaro.tenancy.models import Region, RegionLevel, Tenant, TenantKind

    code = "97" + clock.today().strftime("%m%d") + "0000"
    session.add(Region(code=code, name="처분시험시", level=RegionLevel.MUNICIPALITY))
    tenant = Tenant(code=f"sanction-trigger-{code}", name="처분시험시청", kind=TenantKind.MUNICIPALITY, region_code=code)
    session.add(tenant)
    session.flush()
    with acting_as(tenant.id, None):
        facility = Facility(name="처분시험시설", facility_type="elderly", operator_kind="individual", operator_name="갑",
                            licence_number="1", licence_date=DECIDED, capacity=9, address="주소")
        session.add(facility)
        session.flush()
        inspection = Inspection(facility_id=facility.id, kind="regular", planned_on=DECIDED)
        session.add(inspection)
        session.flush()
        finding = Finding(facility_id=facility.id, inspection_id=inspection.id, area="safety", description="지적")
        sanction = Sanction(facility_id=facility.id, sanction_type="improvement_order", legal_basis="근거",
                            reason="사유", decided_on=DECIDED, effective_from=DECIDED)
        session.add_all([finding, sanction])
        session.flush()
        session.add(SanctionFinding(facility_id=facility.id, sanction_id=sanction.id, finding_id=finding.id))
        session.flush()


@postgres_only
@pytest.mark.committed
@pytest.mark.parametrize("statement", [
    "update oversight_sanctions set reason = 'x'",
    "delete from oversight_sanctions",
    "truncate oversight_sanctions cascade",
    "update oversight_sanction_findings set finding_id = finding_id",
    "delete from oversight_sanction_findings",
    "truncate oversight_sanction_findings",
])
def test_the_trigger_refuses_even_a_superuser_who_bypasses_rls(superuser_engine, statement):
    with Session(bind=superuser_engine) as session:
        try:
            _seed(session)
            with pytest.raises(DBAPIError, match="append-only"):
                with session.begin_nested():
                    session.execute(text(statement))
            assert session.execute(text("select count(*) from oversight_sanction_findings")).scalar() >= 1
            assert session.execute(text("select count(*) from oversight_sanctions where reason = '사유'")).scalar() == 1
        finally:
            session.rollback()


def test_another_municipality_an_ngo_and_another_facility_get_404(w):
    public_id = _record(w)
    for tenant, user in ((w.other_city, w.other_inspector), (w.ngo, w.ngo_worker), (w.home_b, w.staff_b),
                         (w.far_province, w.far_staff)):
        with w.acting(tenant, user), pytest.raises(NotFound):
            sanctions.get_sanction_or_404(public_id)
