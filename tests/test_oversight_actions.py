"""The corrective-action loop on real rows: the facility answers with evidence, the inspector
sends it back or accepts it, each step an event; the wrong side and invalid steps are refused with
a reason; concurrent answers are refused cleanly; paper facilities are answered for by their
inspector; overdue actions are flagged and told to both sides once."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hanaro.core import clock
from hanaro.core.db import db
from hanaro.core.rules import RuleViolation
from hanaro.core.schedule import TASKS, discover
from hanaro.notifications.models import Notification
from hanaro.oversight import actions
from hanaro.oversight.models import ActionEvent, ActionState
from hanaro.oversight.states import Conflict, WrongSide

PDF = b"%PDF-1.4 evidence"


@pytest.fixture
def w(make):
    return make.oversight_world()


@pytest.fixture
def loop(w):
    """A completed inspection of facility A with two corrective actions due in 30 days."""
    _inspection, _findings, action_ids = w.conduct(w.facility_a)
    return action_ids


def _act(w, tenant, user, public_id, name, evidence=(), **values):
    with w.acting(tenant, user):
        return actions.act(actions.get_action_or_404(public_id), name, user, values, list(evidence))


def _state(w, public_id):
    with w.acting(w.city):
        return actions.get_action_or_404(public_id).state


def _titles(w, tenant, kind):
    with w.acting(tenant):
        return [n.title for n in db.session.scalars(
            select(Notification).where(Notification.tenant_id == tenant.id, Notification.kind == kind)
            .order_by(Notification.id))]


def test_answer_send_back_answer_again_accept_each_step_an_event(w, loop):
    first = loop[0]
    _act(w, w.home_a, w.staff_a, first, "answer", [("충원계약서.pdf", PDF)], answer="요양보호사 2명 채용")
    assert _titles(w, w.city, "oversight_action_answered") == ["시설이 시정 조치 결과를 제출했습니다 (햇살요양원)"]
    _act(w, w.city, w.inspector, first, "return", reason="근로계약서 사본이 없습니다")
    assert _state(w, first) is ActionState.RETURNED
    _act(w, w.home_a, w.staff_a, first, "answer", [("근로계약서.pdf", PDF), ("사진.png", b"\x89PNG\r\n\x1a\n1")],
         answer="근로계약서 첨부")
    _act(w, w.city, w.inspector, first, "accept", note="확인")
    with w.acting(w.home_a, w.staff_a):
        action = actions.get_action_or_404(first)
        assert action.state is ActionState.ACCEPTED and action.answer == "근로계약서 첨부"
        assert action.return_reason == "근로계약서 사본이 없습니다" and not action.is_open
        steps = [(e.action, e.from_state, e.to_state, e.actor_tenant_id) for e in actions.events(action)]
        assert steps == [
            ("request", None, ActionState.REQUESTED, w.city.id),
            ("answer", ActionState.REQUESTED, ActionState.ANSWERED, w.home_a.id),
            ("return", ActionState.ANSWERED, ActionState.RETURNED, w.city.id),
            ("answer", ActionState.RETURNED, ActionState.ANSWERED, w.home_a.id),
            ("accept", ActionState.ANSWERED, ActionState.ACCEPTED, w.city.id),
        ]
        by_event = actions.evidence(action)
        answers = [e for e in actions.events(action) if e.action == "answer"]
        assert [f.filename for f in by_event[answers[0].id]] == ["충원계약서.pdf"]
        assert [f.filename for f in by_event[answers[1].id]] == ["근로계약서.pdf", "사진.png"]
    assert _titles(w, w.home_a, "oversight_action_decided") == [
        "제출한 조치 결과에 보완 요구가 있습니다 (시험시청)", "제출한 조치 결과가 이행 확인되었습니다 (시험시청)"]


@pytest.mark.parametrize("tenant, user, name, values, refusal, message", [
    ("home_a", "staff_a", "accept", {}, WrongSide, "지도점검 담당만"),
    ("home_a", "staff_a", "cancel", {"reason": "x"}, WrongSide, "지도점검 담당만"),
    ("city", "inspector", "answer", {"answer": "대신 답함"}, WrongSide, "해당 시설만"),
    ("city", "inspector", "record_answer", {"answer": "서면"}, WrongSide, "시설이 직접"),
    ("city", "inspector", "accept", {}, Conflict, "지금 상태\\(조치 요구\\)"),
    ("province", "province_staff", "accept", {}, WrongSide, "지도점검 담당만"),
    ("home_a", "staff_a", "answer", {"answer": " "}, RuleViolation, "어떻게 조치했는지"),
    ("home_a", "staff_a", "fly", {}, RuleViolation, "알 수 없는 처리"),
])
def test_the_wrong_side_an_invalid_step_or_missing_input_is_refused_and_nothing_changes(
        w, loop, tenant, user, name, values, refusal, message):
    with pytest.raises(refusal, match=message):
        _act(w, getattr(w, tenant), getattr(w, user), loop[0], name, **values)
    assert _state(w, loop[0]) is ActionState.REQUESTED
    with w.acting(w.city):
        assert [e.action for e in actions.events(actions.get_action_or_404(loop[0]))] == ["request"]


def test_sending_back_or_cancelling_needs_a_reason(w, loop):
    _act(w, w.home_a, w.staff_a, loop[0], "answer", answer="조치함")
    for name in ("return", "cancel"):
        with pytest.raises(RuleViolation, match="사유를 입력하세요") as refused:
            _act(w, w.city, w.inspector, loop[0], name, reason="")
        assert refused.value.field == "reason"
    assert _state(w, loop[0]) is ActionState.ANSWERED


def test_bad_evidence_refuses_the_whole_answer(w, loop):
    for evidence, message in (([("악성.exe", b"MZ")], "PDF, JPG, PNG"), ([("가짜.pdf", b"not a pdf")], "파일 내용이 확장자와 맞지 않습니다"),
                              ([("f.pdf", PDF)] * 11, "10개까지")):
        with pytest.raises(RuleViolation, match=message) as refused:
            _act(w, w.home_a, w.staff_a, loop[0], "answer", evidence, answer="조치함")
        assert refused.value.field == "file"
    assert _state(w, loop[0]) is ActionState.REQUESTED


def test_two_answers_at_once_leave_one_answer_and_one_event(w, loop, make):
    colleague = make.member(w.home_a, roles=["viewer"])
    with w.acting(w.home_a, colleague):
        stale = actions.get_action_or_404(loop[0])  # both opened the form before either sent it
        db.session.expunge(stale)
    _act(w, w.home_a, w.staff_a, loop[0], "answer", answer="첫 번째 답")
    with w.acting(w.home_a, colleague):
        with pytest.raises(Conflict, match="방금 이 시정 요구를 처리했습니다"):
            actions.act(db.session.merge(stale, load=False), "answer", colleague, {"answer": "두 번째 답"},
                        [("b.pdf", PDF)])
    with w.acting(w.city):
        action = actions.get_action_or_404(loop[0])
        assert action.answer == "첫 번째 답"
        assert [e.action for e in actions.events(action)] == ["request", "answer"]
        assert actions.evidence(action) == {}


def test_a_step_taken_on_a_page_older_than_the_current_version_is_refused(w, loop):
    with w.acting(w.home_a, w.staff_a):
        seen = actions.get_action_or_404(loop[0]).version
    _act(w, w.home_a, w.staff_a, loop[0], "answer", answer="조치함", version=str(seen))
    _act(w, w.city, w.inspector, loop[0], "return", reason="보완 필요")
    with pytest.raises(Conflict, match="방금"):  # answering again from the page seen before the send-back
        _act(w, w.home_a, w.staff_a, loop[0], "answer", answer="다시", version=str(seen))


def test_the_inspector_records_a_paper_facilitys_answer(w):
    _inspection, _findings, action_ids = w.conduct(w.facility_paper, findings=("급식 위생 미흡",))
    with w.acting(w.city, w.inspector):
        action = actions.get_action_or_404(action_ids[0])
        assert actions.available_actions(action) == ["record_answer", "cancel", "extend"]
    _act(w, w.city, w.inspector, action_ids[0], "record_answer", [("공문.pdf", PDF)], answer="공문으로 조치 보고")
    _act(w, w.city, w.inspector, action_ids[0], "accept")
    assert _state(w, action_ids[0]) is ActionState.ACCEPTED


def test_what_each_side_may_do_now(w, loop):
    with w.acting(w.home_a, w.staff_a):
        assert actions.available_actions(actions.get_action_or_404(loop[0])) == ["answer"]
    with w.acting(w.city, w.inspector):
        assert actions.available_actions(actions.get_action_or_404(loop[0])) == ["cancel", "extend"]
    with w.acting(w.province, w.province_staff):
        assert actions.available_actions(actions.get_action_or_404(loop[0])) == []


def test_extending_the_due_date_is_recorded_and_told(w, loop):
    with w.acting(w.city, w.inspector):
        action = actions.get_action_or_404(loop[0])
        old_due = action.due_on
        with pytest.raises(RuleViolation, match="보다 뒤여야") as refused:
            actions.extend_due(action, {"due_on": old_due, "reason": "공사"}, w.inspector)
        assert refused.value.field == "due_on"
        actions.extend_due(action, {"due_on": old_due + timedelta(days=14), "reason": "채용 공고 중"}, w.inspector)
        event = actions.events(action)[-1]
        assert (event.action, event.due_on, event.note, event.to_state) == (
            "extend", old_due + timedelta(days=14), "채용 공고 중", ActionState.REQUESTED)
    with w.acting(w.home_a, w.staff_a), pytest.raises(WrongSide):
        actions.extend_due(actions.get_action_or_404(loop[0]), {"due_on": old_due + timedelta(days=60),
                                                                 "reason": "더 주세요"}, w.staff_a)
    assert _titles(w, w.home_a, "oversight_action_decided") == [
        f"시정 조치 기한이 {(old_due + timedelta(days=14)).isoformat()}(으)로 연장되었습니다 (시험시청)"]


def test_overdue_actions_are_flagged_and_told_to_both_sides_once(w):
    past = clock.today() - timedelta(days=40)
    _inspection, _findings, action_ids = w.conduct(w.facility_a, conducted_on=past, due_on=past + timedelta(days=10))
    _act(w, w.home_a, w.staff_a, action_ids[1], "answer", answer="조치함")  # answered late: waiting for the city
    with w.acting(w.city, w.inspector):
        overdue = actions.overdue_actions()
        assert [a.public_id for a in overdue] == [action_ids[0]]
        assert actions.is_overdue(overdue[0]) and actions.days_overdue(overdue[0]) == 30
    for _ in range(2):  # the job runs every few hours: one notice per side all the same
        with w.acting(w.city):
            actions.notify_overdue()
    due = (past + timedelta(days=10)).isoformat()
    assert _titles(w, w.city, "oversight_action_overdue") == [f"시정 조치 기한이 지났습니다 (햇살요양원, {due}까지)"]
    assert _titles(w, w.home_a, "oversight_action_overdue") == [f"시정 조치 기한이 지났습니다 (시험시청, {due}까지)"]
    with w.acting(w.home_a, w.staff_a):  # the facility sees it flagged on its side too
        assert [a.public_id for a in actions.overdue_actions()] == [action_ids[0]]
    with w.acting(w.city, w.inspector):  # an extension that runs out again is told again
        action = actions.get_action_or_404(action_ids[0])
        actions.extend_due(action, {"due_on": clock.today() + timedelta(days=5), "reason": "연장"}, w.inspector)
    with w.acting(w.city):
        assert actions.notify_overdue(today=clock.today() + timedelta(days=6)) == {"overdue": 1, "notified": 1}
    assert len(_titles(w, w.home_a, "oversight_action_overdue")) == 2


def test_the_overdue_job_runs_per_tenant_and_only_for_its_own_actions(w):
    discover()
    task = TASKS["oversight.notify_overdue"]
    assert task.per_tenant and task.path == "hanaro.oversight.jobs.notify_overdue"
    past = clock.today() - timedelta(days=40)
    w.conduct(w.facility_a, conducted_on=past, due_on=past + timedelta(days=1))
    with w.acting(w.other_city):
        from hanaro.oversight import jobs

        assert jobs.notify_overdue() == {"overdue": 0, "notified": 0}
    with w.acting(w.city):
        assert jobs.notify_overdue() == {"overdue": 2, "notified": 2}


def test_events_cannot_be_changed(w, loop):
    from hanaro.tenancy.orm_filter import TenantWriteRefused

    with w.acting(w.city, w.inspector):
        event = db.session.scalar(select(ActionEvent).limit(1))
        event.note = "고침"
        with pytest.raises(TenantWriteRefused):
            db.session.flush()
        db.session.rollback()
