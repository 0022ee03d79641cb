"""Opening a case, the status machine, due dates, closing and reopening."""
from __future__ import annotations

import html
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from hanaro.cases import deadlines
from hanaro.cases import service as cases
from hanaro.cases.models import Case, CaseNote, CaseStatus
from hanaro.clients.models import ClientAccessGrant, GrantStatus
from hanaro.core import clock
from hanaro.core.db import db
from hanaro.notifications.models import Notification

DOMAINS = ("safety", "health", "daily_living", "family", "social", "economy", "education", "employment",
           "environment", "rights")


@pytest.fixture
def world(make):
    return make.case_world()


def assessment_form(token="a1", day=None, level="2", **overrides):
    form = {"assessed_on": (day or clock.today()).isoformat(), "submission_token": token}
    for code in DOMAINS:
        form[f"level_{code}"] = level
        form[f"notes_{code}"] = f"{code} 관찰"
    form.update(overrides)
    return form


def status_of(make, world):
    with make.as_tenant(world.lead) as session:
        return session.get(Case, world.case.id).status


# -- opening -----------------------------------------------------------------------------------------------

def test_open_case_form_keeps_input_and_shows_korean_messages_next_to_fields(make, world):
    browser = world.signed_in(world.lead_worker)
    form = {"client": world.person.public_id, "lead_worker": world.lead_worker.public_id, "risk_level": "high",
            "received_on": (clock.today() + timedelta(days=3)).isoformat(), "submission_token": "open-1"}
    response = browser.post("/cases/new", data=form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="case_type-error">필수 입력 항목입니다.' in page
    assert 'value="high" checked' in page  # what was typed stays
    # With a type, the rule on the date speaks, next to the date, and the date stays.
    response = browser.post("/cases/new", data={**form, "case_type": "elderly_alone"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="received_on-error">접수일은 오늘 이후일 수 없습니다.' in page
    assert f'value="{form["received_on"]}"' in page
    assert '<option value="elderly_alone" selected>' in page


def test_the_lead_worker_must_be_a_case_manager_of_the_active_tenant(world):
    browser = world.signed_in(world.lead_worker)
    for not_a_worker in (world.lead_viewer, world.partner_worker):
        response = browser.post("/cases/new", data={
            "client": world.person.public_id, "case_type": "elderly_alone", "lead_worker": not_a_worker.public_id,
            "risk_level": "medium", "received_on": clock.today().isoformat()})
        assert response.status_code == 422
        assert 'id="lead_worker-error">우리 기관의 사례관리자 중에서 고르세요.' in response.get_data(as_text=True)


def test_a_double_submitted_open_form_creates_one_case(make, world):
    browser = world.signed_in(world.lead_worker)
    form = {"client": world.person.public_id, "case_type": "dream_start", "lead_worker": world.lead_worker.public_id,
            "risk_level": "medium", "received_on": clock.today().isoformat(), "submission_token": "same-token"}
    first = browser.post("/cases/new", data=form)
    second = browser.post("/cases/new", data=form)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    with make.as_tenant(world.lead) as session:
        assert session.scalar(select(func.count()).select_from(Case).where(Case.case_type_code == "dream_start")) == 1
    assert browser.get(first.headers["Location"]).status_code == 200


def test_a_second_open_case_of_the_same_type_is_refused(world):
    browser = world.signed_in(world.lead_worker)
    response = browser.post("/cases/new", data={
        "client": world.person.public_id, "case_type": "crisis_household", "lead_worker": world.lead_worker.public_id,
        "risk_level": "medium", "received_on": clock.today().isoformat()})
    assert response.status_code == 422
    assert "같은 유형의 진행 중인 사례가 이미 있습니다" in response.get_data(as_text=True)


def test_cases_open_only_on_the_tenants_own_clients(make, world):
    theirs = make.client(world.outsider, name="남의대상자")
    browser = world.signed_in(world.lead_worker)
    assert browser.get(f"/cases/new?client={theirs.public_id}").status_code == 404
    response = browser.post("/cases/new", data={
        "client": theirs.public_id, "case_type": "elderly_alone", "lead_worker": world.lead_worker.public_id,
        "risk_level": "medium", "received_on": clock.today().isoformat()})
    assert response.status_code == 404
    assert "남의대상자" not in response.get_data(as_text=True)


def test_viewers_read_cases_but_cannot_open_or_change_them(world):
    browser = world.signed_in(world.lead_viewer)
    assert browser.get(f"/cases/{world.case.public_id}").status_code == 200
    assert browser.get("/cases/new").status_code == 403
    assert browser.post(f"/cases/{world.case.public_id}/status", data={"status": "assessment"}).status_code == 403


# -- the status machine -----------------------------------------------------------------------------------

def test_status_moves_along_the_procedure_and_refuses_shortcuts_with_a_reason(make, world):
    browser = world.signed_in(world.lead_worker)
    url = f"/cases/{world.case.public_id}"

    response = browser.post(f"{url}/status", data={"status": "in_service"})
    assert response.status_code == 422
    assert "'접수' 단계에서 '서비스 제공' 단계로 바로 옮길 수 없습니다." in html.unescape(response.get_data(as_text=True))
    assert status_of(make, world) is CaseStatus.INTAKE

    assert browser.post(f"{url}/status", data={"status": "assessment"}).status_code == 303
    response = browser.post(f"{url}/status", data={"status": "planning"})
    assert response.status_code == 422
    assert "먼저 욕구 및 위기도 조사를 저장하세요" in response.get_data(as_text=True)

    assert browser.post(f"{url}/assessment", data=assessment_form()).status_code == 303
    assert browser.post(f"{url}/status", data={"status": "planning"}).status_code == 303

    response = browser.post(f"{url}/status", data={"status": "in_service"})
    assert response.status_code == 422
    assert "진행 중인 목표가 하나 이상 있어야 합니다" in response.get_data(as_text=True)

    assert browser.post(f"{url}/goals", data={"domain": "economy", "goal": "생계 안정", "submission_token": "g"}).status_code == 303
    assert browser.post(f"{url}/status", data={"status": "in_service"}).status_code == 303
    assert browser.post(f"{url}/status", data={"status": "monitoring"}).status_code == 303
    assert status_of(make, world) is CaseStatus.MONITORING

    response = browser.post(f"{url}/status", data={"status": "closed"})
    assert response.status_code == 422
    assert "종결은 종결 사유와 평가를 입력해서 처리하세요." in response.get_data(as_text=True)
    timeline = browser.get(f"{url}/timeline?kind=status").get_data(as_text=True)
    for label in ("단계 변경: 욕구·위기도 조사", "단계 변경: 계획 수립", "단계 변경: 서비스 제공", "단계 변경: 점검·모니터링"):
        assert label in timeline


def test_an_unknown_status_is_a_message_not_an_error(world):
    browser = world.signed_in(world.lead_worker)
    response = browser.post(f"/cases/{world.case.public_id}/status", data={"status": "finished"})
    assert response.status_code == 422
    assert "목록에 있는 값을 고르세요." in response.get_data(as_text=True)


def test_only_the_next_steps_are_offered(world):
    browser = world.signed_in(world.lead_worker)
    page = browser.get(f"/cases/{world.case.public_id}").get_data(as_text=True)
    assert 'name="status" value="assessment"' in page
    assert 'name="status" value="planning"' not in page


# -- due dates ------------------------------------------------------------------------------------------------

def test_the_current_stage_has_the_procedures_due_date():
    received = date(2026, 3, 2)
    intake = Case(status=CaseStatus.INTAKE, received_on=received)
    due = deadlines.stage_due(intake, today=date(2026, 3, 12))
    assert (due.due_on, due.overdue, due.days_left) == (date(2026, 3, 12), False, 0)
    assert deadlines.stage_due(intake, today=date(2026, 3, 13)).overdue
    planning = Case(status=CaseStatus.PLANNING, received_on=received)
    assert deadlines.stage_due(planning, today=date(2026, 3, 13)).due_on == date(2026, 4, 1)  # 30 days
    assert deadlines.stage_due(Case(status=CaseStatus.IN_SERVICE, received_on=received)) is None


def test_the_schedule_counts_selection_from_the_assessment():
    case = Case(status=CaseStatus.PLANNING, received_on=date(2026, 3, 2))
    steps = deadlines.milestones(case, assessed_on=date(2026, 3, 14), conference_on=None, plan_done_on=None,
                                 today=date(2026, 3, 20))
    assessment, selection, plan = steps[1:]
    assert assessment.late and not assessment.overdue  # done, two days after its due date
    assert selection.due_on == date(2026, 3, 19) and selection.overdue
    assert plan.due_on == date(2026, 4, 1) and not plan.overdue


def test_an_overdue_stage_is_flagged_on_the_case_page_and_in_the_list(make, world):
    late = make.client(world.lead, name="늦은대상자")
    make.case(late, world.lead_worker, case_type="elderly_alone", received_on=clock.today() - timedelta(days=12))
    browser = world.signed_in(world.lead_worker)
    listing = browser.get("/cases").get_data(as_text=True)
    due_on = (clock.today() - timedelta(days=2)).isoformat()
    assert f"기한 지남 · 욕구 및 위기도 조사 {due_on}" in listing
    with make.as_tenant(world.lead) as session:
        case = session.scalar(select(Case).where(Case.case_type_code == "elderly_alone"))
    page = browser.get(f"/cases/{case.public_id}").get_data(as_text=True)
    assert "2일 지남" in page and due_on in page
    # The fresh case is not overdue.
    fresh = browser.get(f"/cases/{world.case.public_id}").get_data(as_text=True)
    assert "기한 지남 ·" not in fresh and "10일 남음" in fresh


# -- details ------------------------------------------------------------------------------------------------

def test_the_lead_changes_risk_and_worker_on_the_timeline(make, world):
    other_worker = make.member(world.lead, roles=["case_manager"], name="최대리")
    browser = world.signed_in(world.lead_worker)
    response = browser.post(f"/cases/{world.case.public_id}/details",
                            data={"risk_level": "crisis", "lead_worker": other_worker.public_id})
    assert response.status_code == 303
    page = browser.get(f"/cases/{world.case.public_id}").get_data(as_text=True)
    assert "위기도: 위기" in page and "최대리" in page
    assert "위기도 보통 → 위기" in browser.get(f"/cases/{world.case.public_id}/timeline").get_data(as_text=True)


# -- closing and reopening ---------------------------------------------------------------------------------

def test_closing_needs_a_listed_reason_and_an_evaluation(make, world):
    browser = world.signed_in(world.lead_worker)
    response = browser.post(f"/cases/{world.case.public_id}/close", data={"closure_evaluation": "가"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="closure_reason-error">필수 입력 항목입니다.' in page
    assert 'id="closure_evaluation-error">2자 이상 4000자 이하로 입력하세요.' in page
    assert ">가</textarea>" in page
    response = browser.post(f"/cases/{world.case.public_id}/close", data={"closure_reason": "vacation", "closure_evaluation": "평가"})
    assert 'id="closure_reason-error">목록에 있는 값을 고르세요.' in response.get_data(as_text=True)
    assert status_of(make, world) is CaseStatus.INTAKE


def test_closing_ends_client_sharing_but_the_team_keeps_reading_the_history(app, make, world):
    world.join_partner()
    lead, partner = world.signed_in(world.lead_worker), world.signed_in(world.partner_worker)
    assert lead.post(f"/cases/{world.case.public_id}/notes",
                     data={"visibility": "team", "body": "함께 본 기록", "submission_token": "n"}).status_code == 303
    assert partner.get(f"/clients/{world.person.public_id}").status_code == 200

    response = lead.post(f"/cases/{world.case.public_id}/close",
                         data={"closure_reason": "goal_achieved", "closure_evaluation": "주거와 생계가 안정되었습니다."})
    assert response.status_code == 303

    # Decision: collaborators keep read-only access to the case's history...
    page = partner.get(f"/cases/{world.case.public_id}/notes")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "함께 본 기록" in body and "주거와 생계가 안정되었습니다." in body
    # ...but not to the client's personal data, and they cannot add anything.
    overview = partner.get(f"/cases/{world.case.public_id}").get_data(as_text=True)
    assert "김하나" not in overview and "500517-2" not in overview and "대상자 정보 비공개" in overview
    assert partner.get(f"/clients/{world.person.public_id}").status_code == 404
    assert 'name="body"' not in body
    refused = partner.post(f"/cases/{world.case.public_id}/notes", data={"visibility": "team", "body": "종결 후 메모"})
    assert refused.status_code == 422 and "종결된 사례입니다" in refused.get_data(as_text=True)
    with make.as_tenant(world.partner) as session:
        titles = session.scalars(select(Notification.title)).all()
    assert "함께하던 사례가 종결되었습니다." in titles
    with make.as_tenant(world.lead) as session:
        grants = session.scalars(select(ClientAccessGrant).where(ClientAccessGrant.case_id == world.case.id)).all()
        assert grants and {g.status for g in grants} == {GrantStatus.REVOKED}
    # The lead still sees everything, and the closure.
    mine = lead.get(f"/cases/{world.case.public_id}").get_data(as_text=True)
    assert "김하나" in mine and "목표 달성" in mine and "사례 다시 열기" in mine


def test_reopening_keeps_the_history_counts_and_restarts_the_deadlines(make, world, monkeypatch):
    world.join_partner()
    lead = world.signed_in(world.lead_worker)
    url = f"/cases/{world.case.public_id}"
    assert lead.post(f"{url}/close", data={"closure_reason": "client_refused", "closure_evaluation": "서비스를 거부함"}).status_code == 303

    later = clock.today() + timedelta(days=40)
    monkeypatch.setattr(clock, "today", lambda: later)
    response = lead.post(f"{url}/reopen", data={"status": "assessment", "reason": "다시 위기 신고"})
    assert response.status_code == 303
    with make.as_tenant(world.lead) as session:
        case = session.get(Case, world.case.id)
        assert (case.status, case.reopen_count, case.received_on, case.closed_on) == (CaseStatus.ASSESSMENT, 1, later, None)
        evaluation_notes = session.scalars(select(CaseNote.body).where(CaseNote.case_id == case.id)).all()
    assert any("서비스를 거부함" in body for body in evaluation_notes)
    timeline = lead.get(f"{url}/timeline").get_data(as_text=True).split('id="timeline-list"')[1]
    # Newest first, and nothing from before the reopening is lost.
    assert timeline.index("<strong>다시 열림") < timeline.index("<strong>종결") < timeline.index("<strong>사례 열림")
    assert "다시 위기 신고" in timeline
    page = lead.get(url).get_data(as_text=True)
    assert "재개 1회" in page
    assert (later + timedelta(days=10)).isoformat() in page  # the assessment is due 10 days after the reopening
    # The collaborator whose consent still covers it sees the client again.
    partner = world.signed_in(world.partner_worker)
    assert "김하나" in partner.get(url).get_data(as_text=True)


def test_only_a_closed_case_reopens_and_only_at_intake_or_assessment(make, world):
    lead = world.signed_in(world.lead_worker)
    url = f"/cases/{world.case.public_id}"
    response = lead.post(f"{url}/reopen", data={"status": "assessment", "reason": "이유"})
    assert response.status_code == 422 and "종결된 사례만 다시 열 수 있습니다." in response.get_data(as_text=True)
    lead.post(f"{url}/close", data={"closure_reason": "moved", "closure_evaluation": "전출"})
    response = lead.post(f"{url}/reopen", data={"status": "in_service", "reason": "이유"})
    assert response.status_code == 422 and 'id="status-error"' in response.get_data(as_text=True)
    assert status_of(make, world) is CaseStatus.CLOSED


def test_a_deceased_client_gets_no_new_case(make, world):
    from hanaro.clients.models import Client, VitalStatus

    with make.as_tenant(world.lead) as session:
        session.get(Client, world.person.id).vital_status = VitalStatus.DECEASED
    with make.app.app_context():
        from hanaro.tenancy.context import acting_as

        with acting_as(world.lead.id, world.lead_worker.id):
            client = db.session.get(Client, world.person.id)
            with pytest.raises(cases.RuleViolation, match="사망"):
                cases.open_case(client, {"case_type": "elderly_alone", "lead_worker": world.lead_worker.public_id,
                                         "risk_level": "low", "received_on": clock.today()}, world.lead_worker)


def test_the_dong_must_be_a_known_dong(world):
    browser = world.signed_in(world.lead_worker)
    response = browser.post(f"/cases/{world.case.public_id}/details",
                            data={"risk_level": "medium", "lead_worker": world.lead_worker.public_id, "dong_code": "1234"})
    assert response.status_code == 422
    assert 'id="details-dong-error">목록에 있는 행정동을 고르세요.' in response.get_data(as_text=True)


def test_reopening_after_the_agreement_was_revoked_leaves_the_collaborator_off_the_team(make, world):
    from hanaro.core.db import utcnow
    from hanaro.tenancy.models import SharingAgreement

    world.join_partner()
    lead = world.signed_in(world.lead_worker)
    url = f"/cases/{world.case.public_id}"
    assert lead.post(f"{url}/close", data={"closure_reason": "client_refused", "closure_evaluation": "종결"}).status_code == 303
    with make.as_tenant(world.lead) as session:  # the client's consent still covers the partner
        agreement = session.get(SharingAgreement, world.agreement.id)
        agreement.status, agreement.revoked_at = "revoked", utcnow()
    assert lead.post(f"{url}/reopen", data={"status": "assessment", "reason": "다시 위기 신고"}).status_code == 303
    timeline = lead.get(f"{url}/timeline").get_data(as_text=True)
    assert "협약 종료로 팀에서 제외" in timeline
    partner = world.signed_in(world.partner_worker)
    assert "김하나" not in partner.get(url).get_data(as_text=True)
