"""Corrective-action screens, both sides, through the test client: the facility sees its open
actions (overdue flagged) and answers with text and evidence; the inspector accepts or sends back
with a reason, records a paper answer, cancels, extends the due date; every step is in the history;
double submits and stale pages (a colleague or the other side acted meanwhile) are refused cleanly;
the province reads; another facility, another municipality and an NGO get 404; roles get 403. The
whole loop runs from an inspection recorded on screen to an accepted action and an overdue one."""
from __future__ import annotations

import io
import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import func, select

from hanaro.core import clock
from hanaro.core.db import db
from hanaro.notifications.models import Notification
from hanaro.oversight import checklists
from hanaro.oversight.models import ActionEvent, ActionState, CorrectiveAction, OversightFile
from hanaro.tenancy.context import acting_as

from .helpers import login

PDF = b"%PDF-1.4 evidence"


@pytest.fixture
def w(app, make):
    world = make.oversight_world()
    world.app = app
    world.staff_a_viewer = make.member(world.home_a, roles=["viewer"], name="시설조회")
    world.staff_a2 = make.member(world.home_a, roles=["case_manager"], name="시설직원2")
    world.province_admin = make.member(world.province, roles=["tenant_admin"], name="도관리자")
    world.city_viewer = make.member(world.city, roles=["viewer"], name="시조회")
    return world


def _as(w, user):
    browser = w.app.test_client()
    assert login(browser, user.email).status_code == 303
    return browser


def _text(response) -> str:
    return unescape(response.get_data(as_text=True))


def _counter():
    n = 0
    while True:
        n += 1
        yield f"act-{n}"


TOKENS = _counter()


def _action(w, public_id) -> CorrectiveAction:
    with w.app.app_context(), acting_as(w.city.id, None):
        action = db.session.scalar(select(CorrectiveAction).where(CorrectiveAction.public_id == public_id))
        db.session.expunge(action)
        return action


def _steps(w, public_id) -> list[str]:
    with w.app.app_context(), acting_as(w.city.id, None):
        action_id = db.session.scalar(select(CorrectiveAction.id).where(CorrectiveAction.public_id == public_id))
        return list(db.session.scalars(select(ActionEvent.action).where(ActionEvent.action_id == action_id)
                                       .order_by(ActionEvent.id)))


def _post(browser, w, public_id, step, files=(), token=None, version=None, **values):
    data = {"submission_token": token or next(TOKENS), "version": version or _action(w, public_id).version, **values}
    if files:
        data["file"] = [(io.BytesIO(content), name) for name, content in files]
    return browser.post(f"/oversight/actions/{public_id}/{step}", data=data, content_type="multipart/form-data")


@pytest.fixture
def loop(w):
    """Facility A's two actions from a completed inspection, due in 30 days."""
    _inspection, _findings, action_ids = w.conduct(w.facility_a)
    return action_ids


# -- the facility's side --------------------------------------------------------------------------------

def test_the_facility_sees_its_open_actions_and_answers_one_with_evidence(w, loop):
    facility = _as(w, w.staff_a)
    listing = _text(facility.get("/oversight/actions"))
    assert "우리 시설이 받은 시정 요구" in listing and "인력 배치기준 미달" in listing and "소방훈련 기록 없음" in listing
    page = _text(facility.get(f"/oversight/actions/{loop[0]}"))
    assert 'id="step-answer"' in page and 'enctype="multipart/form-data"' in page
    assert 'id="step-accept"' not in page and 'id="step-record_answer"' not in page
    assert f'name="version" value="{_action(w, loop[0]).version}"' in page
    response = _post(facility, w, loop[0], "answer", files=[("충원계약서.pdf", PDF)], answer="요양보호사 2명 채용")
    assert response.status_code == 303 and response.headers["Location"].endswith("#history")
    assert _action(w, loop[0]).state is ActionState.ANSWERED and _steps(w, loop[0]) == ["request", "answer"]
    page = _text(facility.get(f"/oversight/actions/{loop[0]}"))
    assert "상태: 조치 결과 검토 중" in page and "요양보호사 2명 채용" in page and 'id="step-answer"' not in page
    assert "지도점검 담당자가 검토하고 있습니다" in page
    link = re.search(r'href="(/oversight/actions/[^"]+/files/[^"]+)"', page).group(1)
    download = facility.get(link)
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "filename*=UTF-8''%EC%B6%A9%EC%9B%90" in download.headers["Content-Disposition"]


def test_an_answer_without_text_or_with_a_bad_file_is_refused_keeping_the_text(w, loop):
    facility = _as(w, w.staff_a)
    empty = _post(facility, w, loop[0], "answer", answer="")
    assert empty.status_code == 422 and "어떻게 조치했는지 입력하세요." in _text(empty)
    bad = _post(facility, w, loop[0], "answer", files=[("악성.exe", b"MZ")], answer="소방훈련 실시")
    page = _text(bad)
    assert bad.status_code == 422 and "PDF, JPG, PNG, 한글(HWP)" in page and "소방훈련 실시" in page
    assert 'aria-invalid="true"' in page
    disguised = _post(facility, w, loop[0], "answer", files=[("훈련결과.pdf", b"<html><script>x()</script></html>")],
                      answer="소방훈련 실시")
    page = _text(disguised)
    assert disguised.status_code == 422 and "파일 내용이 확장자와 맞지 않습니다." in page and "소방훈련 실시" in page
    assert _action(w, loop[0]).state is ActionState.REQUESTED and _steps(w, loop[0]) == ["request"]


def test_a_double_submitted_answer_is_recorded_once(w, loop):
    facility = _as(w, w.staff_a)
    version = _action(w, loop[0]).version
    first = _post(facility, w, loop[0], "answer", files=[("a.pdf", PDF)], token="same", version=version, answer="완료")
    second = _post(facility, w, loop[0], "answer", files=[("a.pdf", PDF)], token="same", version=version, answer="완료")
    assert first.status_code == second.status_code == 303
    assert _steps(w, loop[0]) == ["request", "answer"]
    with w.app.app_context(), acting_as(w.city.id, None):
        assert db.session.scalar(select(func.count()).select_from(OversightFile)) == 1


def test_two_colleagues_answering_from_the_same_page_leave_one_answer_and_a_clean_refusal(w, loop):
    first, second = _as(w, w.staff_a), _as(w, w.staff_a2)
    version = _action(w, loop[0]).version  # both pages showed this version
    assert _post(first, w, loop[0], "answer", version=version, answer="첫 번째 답").status_code == 303
    late = _post(second, w, loop[0], "answer", version=version, answer="두 번째 답")
    page = _text(late)
    assert late.status_code == 409 and "상태: 조치 결과 검토 중" in page
    assert "지금 상태(조치 결과 검토 중)에서는" in page or "다른 사람이 방금 이 시정 요구를 처리했습니다" in page
    assert _action(w, loop[0]).answer == "첫 번째 답" and _steps(w, loop[0]) == ["request", "answer"]


def test_a_stale_page_is_refused_even_where_the_step_is_still_allowed(w, loop):
    inspector = _as(w, w.inspector)
    stale = _action(w, loop[0]).version
    due = (_action(w, loop[0]).due_on + timedelta(days=10)).isoformat()
    assert _post(inspector, w, loop[0], "extend", version=stale, due_on=due, reason="공사 지연").status_code == 303
    again = _post(_as(w, w.staff_a), w, loop[0], "answer", version=stale, answer="옛 화면에서 제출")
    assert again.status_code == 409 and "다른 사람이 방금 이 시정 요구를 처리했습니다" in _text(again)
    twice = _post(inspector, w, loop[0], "extend", version=stale,
                  due_on=(_action(w, loop[0]).due_on + timedelta(days=5)).isoformat(), reason="다시")
    assert twice.status_code == 409 and _action(w, loop[0]).due_on.isoformat() == due
    assert _steps(w, loop[0]) == ["request", "extend"]


# -- the inspector's side ----------------------------------------------------------------------------------

def test_the_inspector_returns_with_a_reason_then_accepts_and_the_history_shows_each_step(w, loop):
    facility, inspector = _as(w, w.staff_a), _as(w, w.inspector)
    _post(facility, w, loop[0], "answer", answer="채용 공고")
    page = _text(inspector.get(f"/oversight/actions/{loop[0]}"))
    assert 'id="step-accept"' in page and 'id="step-return"' in page and 'id="step-answer"' not in page
    refused = _post(inspector, w, loop[0], "return", reason="")
    assert refused.status_code == 422 and "사유를 입력하세요." in _text(refused)
    assert _post(inspector, w, loop[0], "return", reason="근로계약서 사본을 내 주세요").status_code == 303
    facility_page = _text(facility.get(f"/oversight/actions/{loop[0]}"))
    assert "보완 요구 사유" in facility_page and "근로계약서 사본을 내 주세요" in facility_page
    _post(facility, w, loop[0], "answer", files=[("근로계약서.pdf", PDF)], answer="계약서 첨부")
    assert _post(inspector, w, loop[0], "accept", note="확인함").status_code == 303
    history = _text(facility.get(f"/oversight/actions/{loop[0]}"))
    rows = re.search(r'id="action-events".*?</table>', history, re.S).group(0)
    assert [label for label in re.findall(r"<td>(시정 요구|조치 결과 제출|보완 요구|이행 확인)</td>", rows)] == [
        "시정 요구", "조치 결과 제출", "보완 요구", "조치 결과 제출", "이행 확인"]
    assert "근로계약서.pdf" in rows and "김점검" in rows and "박시설" in rows and "상태: 이행 확인" in history


def test_a_paper_facilitys_answer_is_recorded_by_the_inspector(w):
    _inspection, _findings, actions = w.conduct(w.facility_paper, findings=("급식 위생 불량",))
    inspector = _as(w, w.inspector)
    page = _text(inspector.get(f"/oversight/actions/{actions[0]}"))
    assert "서면 제출 시설" in page and 'id="step-record_answer"' in page
    response = _post(inspector, w, actions[0], "record_answer", files=[("공문.pdf", PDF)], answer="공문으로 조치 보고")
    assert response.status_code == 303 and _action(w, actions[0]).state is ActionState.ANSWERED
    assert _steps(w, actions[0]) == ["request", "record_answer"]


def test_the_inspector_cancels_with_a_reason_and_extends_a_due_date(w, loop):
    inspector = _as(w, w.inspector)
    assert _post(inspector, w, loop[1], "cancel", reason="").status_code == 422
    assert _post(inspector, w, loop[1], "cancel", reason="중복 지적").status_code == 303
    assert _action(w, loop[1]).state is ActionState.CANCELLED
    early = _post(inspector, w, loop[0], "extend", due_on=clock.today().isoformat(), reason="연장")
    assert early.status_code == 422 and "새 기한은 지금 기한" in _text(early)
    later = (_action(w, loop[0]).due_on + timedelta(days=14)).isoformat()
    assert _post(inspector, w, loop[0], "extend", due_on=later, reason="자재 수급 지연").status_code == 303
    page = _text(_as(w, w.staff_a).get(f"/oversight/actions/{loop[0]}"))
    assert later in page and "자재 수급 지연" in page and "기한 연장" in page


# -- overdue on both sides ---------------------------------------------------------------------------------

def test_overdue_actions_are_flagged_on_both_sides(w):
    past = clock.today() - timedelta(days=40)
    _inspection, _findings, actions = w.conduct(w.facility_a, findings=("비상구 적치",), conducted_on=past,
                                                due_on=clock.today() - timedelta(days=3))
    for user in (w.inspector, w.staff_a, w.province_staff):
        browser = _as(w, user)
        listing = _text(browser.get("/oversight/actions?show=overdue"))
        assert "비상구 적치" in listing and "기한 3일 지남" in listing, user.display_name
        assert "기한 3일 지남" in _text(browser.get(f"/oversight/actions/{actions[0]}"))
    assert "비상구 적치" not in _text(_as(w, w.staff_b).get("/oversight/actions?show=overdue"))


# -- who may do what ---------------------------------------------------------------------------------------

def test_the_province_reads_and_every_write_is_refused(w, loop):
    for user in (w.province_staff, w.province_admin):
        browser = _as(w, user)
        page = _text(browser.get(f"/oversight/actions/{loop[0]}"))
        assert "인력 배치기준 미달" in page and 'id="step-' not in page
        assert "인력 배치기준 미달" in _text(browser.get("/oversight/actions"))
        assert _post(browser, w, loop[0], "answer", answer="도가 대신").status_code == 403
        assert _post(browser, w, loop[0], "accept").status_code == 403
    assert _steps(w, loop[0]) == ["request"]


def test_roles_the_facility_viewer_cannot_answer_and_the_facility_cannot_decide(w, loop):
    assert _post(_as(w, w.staff_a_viewer), w, loop[0], "answer", answer="조회 전용").status_code == 403
    facility = _as(w, w.staff_a)
    for step in ("accept", "return", "cancel", "record_answer", "extend"):
        assert _post(facility, w, loop[0], step, reason="x", due_on="2099-01-01").status_code == 403, step
    city_viewer = _as(w, w.city_viewer)
    refused = city_viewer.get(f"/oversight/actions/{loop[0]}")
    assert refused.status_code == 403 and "인력 배치기준 미달" not in _text(refused)
    for step in ("accept", "return", "cancel", "extend"):
        assert _post(city_viewer, w, loop[0], step, reason="x", due_on="2099-01-01").status_code == 403, step
    inspector = _as(w, w.inspector)
    refused = _post(inspector, w, loop[0], "answer", answer="대신 제출")
    assert refused.status_code == 403
    assert _steps(w, loop[0]) == ["request"]


def test_another_facility_municipality_and_an_ngo_get_404(w, loop):
    _post(_as(w, w.staff_a), w, loop[0], "answer", files=[("증빙.pdf", PDF)], answer="조치함")
    page = _text(_as(w, w.staff_a).get(f"/oversight/actions/{loop[0]}"))
    file_link = re.search(r'href="(/oversight/actions/[^"]+/files/[^"]+)"', page).group(1)
    for user in (w.staff_b, w.other_inspector, w.ngo_worker, w.far_staff):
        browser = _as(w, user)
        for path in (f"/oversight/actions/{loop[0]}", file_link):
            response = browser.get(path)
            assert response.status_code == 404 and "인력 배치기준" not in _text(response), (user.email, path)
        assert "인력 배치기준" not in _text(browser.get("/oversight/actions?show=all"))
    for step in ("answer", "accept", "return", "cancel", "record_answer"):
        assert _post(_as(w, w.other_inspector), w, loop[0], step, reason="x", answer="x").status_code == 404
    assert _post(_as(w, w.staff_b), w, loop[0], "answer", answer="x").status_code == 404
    assert _post(_as(w, w.other_inspector), w, loop[0], "extend", due_on="2099-01-01", reason="x").status_code == 404
    assert _steps(w, loop[0]) == ["request", "answer"]


# -- the whole loop on screen ------------------------------------------------------------------------------

def test_the_loop_from_an_inspection_on_screen_to_one_accepted_and_one_overdue_action(w):
    inspector, facility = _as(w, w.inspector), _as(w, w.staff_a)
    with w.acting(w.city, w.inspector):
        template = checklists.copy_default("elderly", w.inspector).public_id
    conducted = clock.today() - timedelta(days=20)
    created = inspector.post(f"/oversight/inspections/facility/{w.facility_a.public_id}/new", data={
        "kind": "regular", "planned_on": conducted.isoformat(), "inspectors": [w.inspector.public_id],
        "template": template, "submission_token": next(TOKENS)})
    inspection = created.headers["Location"].rsplit("/", 1)[-1]
    assert inspector.post(f"/oversight/inspections/{inspection}/start",
                          data={"conducted_on": conducted.isoformat()}).status_code == 303
    page = _text(inspector.get(f"/oversight/inspections/{inspection}"))
    positions = sorted({int(n) for n in re.findall(r'name="result-(\d+)"', page)})
    results = {f"result-{n}": "compliant" for n in positions}
    assert inspector.post(f"/oversight/inspections/{inspection}/checklist",
                          data={**results, "submission_token": next(TOKENS)}).status_code == 303
    for item, text, due in ((1, "야간 인력 부족", clock.today() + timedelta(days=10)),
                            (2, "소방 점검 미실시", clock.today() - timedelta(days=2))):
        assert inspector.post(f"/oversight/inspections/{inspection}/findings", data={
            "item": str(item), "description": text, "requires_action": "on", "requirement": f"{text} 시정",
            "due_on": due.isoformat(), "submission_token": next(TOKENS)}).status_code == 303
    assert inspector.post(f"/oversight/inspections/{inspection}/complete", data={"summary": "보통"}).status_code == 303

    with w.app.app_context(), acting_as(w.home_a.id, None):
        links = list(db.session.scalars(select(Notification.link).where(Notification.tenant_id == w.home_a.id,
                                                                        Notification.kind == "oversight_result")))
    assert links == [f"/oversight/inspections/{inspection}"]
    assert facility.get(links[0]).status_code == 200
    listing = _text(facility.get("/oversight/actions"))
    assert "야간 인력 부족" in listing and "소방 점검 미실시" in listing and "기한 2일 지남" in listing
    ids = dict((text, pid) for pid, text in re.findall(r'href="/oversight/actions/([^"/]+)">([^<]+)</a>', listing))
    first, second = ids["야간 인력 부족"], ids["소방 점검 미실시"]
    assert _post(facility, w, first, "answer", files=[("근무표.pdf", PDF)], answer="야간 2인 배치").status_code == 303

    with w.app.app_context(), acting_as(w.city.id, None):
        told = db.session.scalar(select(Notification.link).where(Notification.tenant_id == w.city.id,
                                                                 Notification.kind == "oversight_action_answered"))
    assert told == f"/oversight/actions/{first}" and inspector.get(told).status_code == 200
    assert _post(inspector, w, first, "accept").status_code == 303
    assert _action(w, first).state is ActionState.ACCEPTED
    for browser in (inspector, facility):
        overdue = _text(browser.get("/oversight/actions?show=overdue"))
        assert "소방 점검 미실시" in overdue and "야간 인력 부족" not in overdue
        report = _text(browser.get(f"/oversight/inspections/{inspection}/report"))
        assert "이행 확인" in report and "(기한 지남)" in report
    assert _action(w, second).state is ActionState.REQUESTED
