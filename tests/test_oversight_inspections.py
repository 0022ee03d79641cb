"""Inspections through their states: planning (inspectors, notices, an unannounced special
inspection the facility cannot see), conducting (results, photos, findings with corrective
actions), completing (every item answered, the facility told), follow-ups from open findings,
cancelling, and two people changing one inspection at once."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from hanaro.core import clock
from hanaro.core.db import db
from hanaro.core.rules import RuleViolation
from hanaro.notifications.models import Notification
from hanaro.oversight import checklists, inspections, service
from hanaro.oversight.models import ActionState, InspectionStatus, ItemResult
from hanaro.oversight.states import Conflict, WrongSide

JPEG = b"\xff\xd8\xff\xe0" + b"0" * 100
PDF = b"%PDF-1.4 test"


@pytest.fixture
def w(make):
    return make.oversight_world()


def _plan(w, facility, kind="regular", template=True, **values):
    with w.acting(w.city, w.inspector):
        facility = service.get_facility_or_404(facility.public_id)
        chosen = checklists.copy_default("elderly", w.inspector).public_id if template else None
        inspection = inspections.plan(facility, {"kind": kind, "planned_on": clock.today() + timedelta(days=7),
                                                 "inspectors": [w.inspector.public_id, w.inspector2.public_id],
                                                 "template": chosen, **values}, w.inspector)
        return inspection.public_id


def _notices(w, tenant, kind):
    with w.acting(tenant):
        return [n.title for n in db.session.scalars(select(Notification).where(Notification.tenant_id == tenant.id,
                                                                               Notification.kind == kind))]


def test_a_regular_inspection_is_announced_to_the_facility_with_its_date(w):
    public_id = _plan(w, w.facility_a)
    with w.acting(w.home_a, w.staff_a):
        inspection = inspections.get_inspection_or_404(public_id)
        assert inspection.status is InspectionStatus.PLANNED and inspection.kind_label == "정기 점검"
        assert [u.display_name for u in inspections.inspectors(inspection)] == ["김점검", "이점검"]
    due = (clock.today() + timedelta(days=7)).isoformat()
    assert _notices(w, w.home_a, "oversight_inspection") == [f"정기 점검 일정이 잡혔습니다 ({due}, 시험시청)"]


def test_a_special_inspection_stays_hidden_from_the_facility_until_the_inspectors_start(w):
    public_id = _plan(w, w.facility_a, kind="special")
    with w.acting(w.home_a, w.staff_a), pytest.raises(NotFound):
        inspections.get_inspection_or_404(public_id)
    assert _notices(w, w.home_a, "oversight_inspection") == []
    with w.acting(w.province, w.province_staff):  # the province sees the plan
        assert inspections.get_inspection_or_404(public_id).kind_label == "특별 점검"
    with w.acting(w.city, w.inspector):
        inspections.start(inspections.get_inspection_or_404(public_id), {"conducted_on": clock.today()}, w.inspector)
    with w.acting(w.home_a, w.staff_a):
        inspection = inspections.get_inspection_or_404(public_id)
        assert inspection.status is InspectionStatus.IN_PROGRESS and len(inspections.items(inspection)) > 10


def test_only_the_citys_inspectors_can_be_named(w, make):
    viewer = make.member(w.city, roles=["viewer"])
    with w.acting(w.city, w.inspector):
        facility = service.get_facility_or_404(w.facility_a.public_id)
        for inspectors_named in ([], [viewer.public_id], [w.other_inspector.public_id]):
            with pytest.raises(RuleViolation) as refused:
                inspections.plan(facility, {"kind": "regular", "planned_on": clock.today(),
                                            "inspectors": inspectors_named}, w.inspector)
            assert refused.value.field == "inspectors"
        with pytest.raises(RuleViolation, match="후속 점검은") as refused:
            inspections.plan(facility, {"kind": "follow_up", "planned_on": clock.today(),
                                        "inspectors": [w.inspector.public_id]}, w.inspector)
        assert refused.value.field == "kind"


def test_only_the_supervising_city_plans_and_conducts(w):
    public_id = _plan(w, w.facility_a)
    for tenant, user in ((w.home_a, w.staff_a), (w.province, w.province_staff)):
        with w.acting(tenant, user):
            inspection = inspections.get_inspection_or_404(public_id)
            with pytest.raises(WrongSide):
                inspections.start(inspection, {"conducted_on": clock.today()}, user)
            with pytest.raises(WrongSide):
                inspections.plan(service.get_facility_or_404(w.facility_a.public_id),
                                 {"kind": "regular", "planned_on": clock.today(), "inspectors": []}, user)
            assert inspections.available_actions(inspection) == []
    with w.acting(w.city, w.inspector):
        assert inspections.available_actions(inspections.get_inspection_or_404(public_id)) == ["start", "cancel"]


def test_conducting_records_results_photos_and_findings_with_corrective_actions(w):
    public_id = _plan(w, w.facility_a)
    with w.acting(w.city, w.inspector):
        inspection = inspections.get_inspection_or_404(public_id)
        with pytest.raises(RuleViolation, match="오늘 이후") as refused:
            inspections.start(inspection, {"conducted_on": clock.today() + timedelta(days=1)}, w.inspector)
        assert refused.value.field == "conducted_on"
        inspections.start(inspection, {"conducted_on": clock.today()}, w.inspector)
        items = inspections.items(inspection)
        inspections.record_results(inspection, {i.position: {"result": "compliant"} for i in items[1:]}, w.inspector)
        inspections.record_item(inspection, 4, {"result": "not_applicable", "note": "해당 설비 없음"}, w.inspector)
        with pytest.raises(RuleViolation, match="적합, 부적합") as refused:
            inspections.record_item(inspection, 2, {"result": "maybe"}, w.inspector)
        assert refused.value.field == "item-2"
        inspections.add_photo(inspection, 1, "현장.JPG", JPEG, w.inspector)
        finding = inspections.add_finding(inspection, {"item": 1, "description": "운영위원회 미개최", "requires_action": True,
                                                       "requirement": "운영위원회 구성·개최",
                                                       "due_on": clock.today() + timedelta(days=30)}, w.inspector)
        loose = inspections.add_finding(inspection, {"area": "safety", "description": "소화기 유효기간 경과"}, w.inspector)
        item = inspections.get_item_or_404(inspection, 1)
        assert item.result is ItemResult.NON_COMPLIANT  # a finding on an item makes it 부적합
        assert finding.area == item.area and finding.action.state is ActionState.REQUESTED
        assert loose.action is None
        assert [p.filename for p in inspections.photos(inspection)[item.id]] == ["현장.JPG"]
        assert inspections.get_item_or_404(inspection, 4).note == "해당 설비 없음"


@pytest.mark.parametrize("values, field, message", [
    ({"description": " "}, "description", "지적 내용"),
    ({"description": "미비", "area": "garden"}, "area", "영역"),
    ({"description": "미비", "area": "safety", "requires_action": True}, "requirement", "시정할 내용"),
    ({"description": "미비", "area": "safety", "requires_action": True, "requirement": "시정"}, "due_on", "조치 기한"),
    ({"description": "미비", "area": "safety", "requires_action": True, "requirement": "시정",
      "due_on": clock.today() - timedelta(days=1)}, "due_on", "점검일 이후"),
])
def test_bad_findings_are_refused_next_to_their_field(w, values, field, message):
    public_id = _plan(w, w.facility_a)
    with w.acting(w.city, w.inspector):
        inspection = inspections.get_inspection_or_404(public_id)
        inspections.start(inspection, {"conducted_on": clock.today()}, w.inspector)
        with pytest.raises(RuleViolation, match=message) as refused:
            inspections.add_finding(inspection, values, w.inspector)
        assert refused.value.field == field
        assert inspections.findings(inspection) == []


def test_photos_are_typed_and_size_limited(w):
    public_id = _plan(w, w.facility_a)
    with w.acting(w.city, w.inspector):
        inspection = inspections.get_inspection_or_404(public_id)
        with pytest.raises(Conflict):  # not before the inspection runs
            inspections.add_photo(inspection, 1, "a.jpg", JPEG, w.inspector)
        inspections.start(inspection, {"conducted_on": clock.today()}, w.inspector)
        for name, content, message in (("a.pdf", PDF, "JPG, PNG"), ("a.jpg", b"GIF89a", "파일 내용이 확장자와 맞지 않습니다"),
                                       ("a.jpg", b"", "파일을 고르세요"),
                                       ("a.jpg", b"\xff\xd8\xff" + b"0" * (5 * 1024 * 1024), "5MB")):
            with pytest.raises(RuleViolation, match=message) as refused:
                inspections.add_photo(inspection, 1, name, content, w.inspector)
            assert refused.value.field == "file"
        for n in range(10):
            inspections.add_photo(inspection, 1, f"{n}.png", b"\x89PNG\r\n\x1a\n" + b"0" * 10, w.inspector)
        with pytest.raises(RuleViolation, match="10개까지"):
            inspections.add_photo(inspection, 1, "11.png", b"\x89PNG\r\n\x1a\n", w.inspector)


def test_completing_needs_every_result_then_tells_the_facility(w):
    public_id = _plan(w, w.facility_a)
    with w.acting(w.city, w.inspector):
        inspection = inspections.get_inspection_or_404(public_id)
        inspections.start(inspection, {"conducted_on": clock.today()}, w.inspector)
        items = inspections.items(inspection)
        inspections.record_results(inspection, {i.position: {"result": "compliant"} for i in items[2:]}, w.inspector)
        with pytest.raises(RuleViolation, match="2개 있습니다 \\(1, 2번\\)") as refused:
            inspections.complete(inspection, {}, w.inspector)
        assert refused.value.field == "items"
        inspections.record_results(inspection, {1: {"result": "compliant"}}, w.inspector)
        inspections.add_finding(inspection, {"item": 2, "description": "인력 부족", "requires_action": True,
                                             "requirement": "충원", "due_on": clock.today()}, w.inspector)
        inspections.complete(inspection, {"summary": "대체로 양호"}, w.inspector)
        with pytest.raises(Conflict, match="실시 중인 점검에만"):  # nothing changes once completed
            inspections.record_item(inspection, 1, {"result": "non_compliant"}, w.inspector)
        with pytest.raises(Conflict, match="지금 상태\\(완료\\)"):
            inspections.complete(inspection, {}, w.inspector)
    assert _notices(w, w.home_a, "oversight_result") == [
        f"지도점검 결과가 통보되었습니다 (시험시청, {clock.today().isoformat()}, 시정 요구 1건)"]
    with w.acting(w.home_a, w.staff_a):
        report = inspections.report(inspections.get_inspection_or_404(public_id))
        assert report.counts == {"compliant": len(items) - 1, "non_compliant": 1, "not_applicable": 0}
        assert report.inspection.summary == "대체로 양호" and len(report.findings) == 1


def test_a_follow_up_confirms_the_open_findings_as_its_checklist(w):
    public_id, finding_ids, action_ids = w.conduct(w.facility_a, findings=("인력 부족", "소방훈련 미실시", "회계 증빙 누락"))
    with w.acting(w.city, w.inspector):
        from hanaro.oversight import actions

        actions.act(actions.get_action_or_404(action_ids[2]), "cancel", w.inspector, {"reason": "현장 시정 확인"})
        done = inspections.get_inspection_or_404(public_id)
        with pytest.raises(RuleViolation, match="미이행 지적사항만") as refused:
            inspections.plan_follow_up(done, {"planned_on": clock.today(), "inspectors": [w.inspector.public_id],
                                              "findings": [finding_ids[2]]}, w.inspector)
        assert refused.value.field == "findings"
        follow_up = inspections.plan_follow_up(done, {"planned_on": clock.today(),
                                                      "inspectors": [w.inspector.public_id]}, w.inspector)
        assert follow_up.kind_label == "후속 점검" and follow_up.follow_up_of_id == done.id
        inspections.start(follow_up, {"conducted_on": clock.today()}, w.inspector)
        checked = inspections.items(follow_up)
        assert [i.text for i in checked] == ["지적사항 이행 확인: 인력 부족", "지적사항 이행 확인: 소방훈련 미실시"]
        assert [i.source_finding_id for i in checked] == [inspections.get_finding_or_404(f).id for f in finding_ids[:2]]
    with w.acting(w.home_a, w.staff_a):  # announced, and the facility sees it
        assert inspections.get_inspection_or_404(follow_up.public_id).status is InspectionStatus.IN_PROGRESS


def test_no_follow_up_without_open_findings(w):
    public_id, _findings, _actions = w.conduct(w.facility_b, findings=())
    with w.acting(w.city, w.inspector), pytest.raises(RuleViolation, match="미이행 지적사항이 없습니다"):
        inspections.plan_follow_up(inspections.get_inspection_or_404(public_id),
                                   {"planned_on": clock.today(), "inspectors": [w.inspector.public_id]}, w.inspector)


def test_cancelling_needs_a_reason_and_no_open_requirement(w):
    public_id = _plan(w, w.facility_a)
    running, _findings, action_ids = w.conduct(w.facility_a, complete=False)
    with w.acting(w.city, w.inspector):
        with pytest.raises(RuleViolation, match="취소 사유") as refused:
            inspections.cancel(inspections.get_inspection_or_404(public_id), " ", w.inspector)
        assert refused.value.field == "reason"
        inspections.cancel(inspections.get_inspection_or_404(public_id), "시설 공사로 연기", w.inspector)
        with pytest.raises(Conflict, match="시정 요구가 있는"):
            inspections.cancel(inspections.get_inspection_or_404(running), "잘못 입력", w.inspector)
        assert inspections.get_inspection_or_404(public_id).status is InspectionStatus.CANCELLED
    assert any("취소되었습니다" in t for t in _notices(w, w.home_a, "oversight_inspection"))


def test_two_inspectors_changing_one_inspection_at_once_leave_one_consistent_state(w):
    public_id = _plan(w, w.facility_a)
    with w.acting(w.city, w.inspector2):
        stale = inspections.get_inspection_or_404(public_id)  # on screen before the colleague starts
        db.session.expunge(stale)
    with w.acting(w.city, w.inspector):
        inspections.start(inspections.get_inspection_or_404(public_id), {"conducted_on": clock.today()}, w.inspector)
    with w.acting(w.city, w.inspector2):
        with pytest.raises(Conflict, match="방금 이 점검을 바꾸었습니다"):
            inspections.cancel(db.session.merge(stale, load=False), "중복 계획", w.inspector2)
    with w.acting(w.city, w.inspector):
        assert inspections.get_inspection_or_404(public_id).status is InspectionStatus.IN_PROGRESS


def test_upcoming_lists_planned_inspections_soonest_first(w):
    later = _plan(w, w.facility_b, planned_on=clock.today() + timedelta(days=20))
    sooner = _plan(w, w.facility_a, planned_on=clock.today() + timedelta(days=3))
    _plan(w, w.facility_paper, planned_on=clock.today() + timedelta(days=90))
    with w.acting(w.city, w.inspector):
        assert [i.public_id for i in inspections.upcoming(days=30)] == [sooner, later]
    with w.acting(w.home_b, w.staff_b):
        assert [i.public_id for i in inspections.upcoming(days=30)] == [later]
