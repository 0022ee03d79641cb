"""Needs assessment versions, the service plan, notes, case conferences and the timeline."""
from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hanaro.cases.models import Assessment, CaseNote, Conference, ConferenceTask, PlanGoal, PlannedService, ServiceStatus
from hanaro.core import clock

DOMAINS = ("safety", "health", "daily_living", "family", "social", "economy", "education", "employment",
           "environment", "rights")


@pytest.fixture
def world(make):
    return make.case_world()


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def assessment_form(token, level="1", **overrides):
    form = {"assessed_on": clock.today().isoformat(), "submission_token": token}
    for code in DOMAINS:
        form[f"level_{code}"] = level
        form[f"notes_{code}"] = f"{code} 관찰 {level}"
    form.update(overrides)
    return form


def count(make, tenant, model, **where):
    with make.as_tenant(tenant) as session:
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return session.scalar(query)


def only(make, tenant, model):
    with make.as_tenant(tenant) as session:
        return session.scalars(select(model).order_by(model.id)).all()


# -- needs assessment -------------------------------------------------------------------------------------

def test_each_save_is_a_new_version_and_the_history_stays(make, world):
    lead = world.signed_in(world.lead_worker)
    url = f"/cases/{world.case.public_id}/assessment"
    assert lead.post(url, data=assessment_form("v1", level="1", notes_economy="월세 체납 2개월")).status_code == 303
    assert lead.post(url, data=assessment_form("v2", level="3", notes_economy="월세 체납 해소")).status_code == 303

    versions = only(make, world.lead, Assessment)
    assert [v.version for v in versions] == [1, 2]
    page = text(lead.get(url))
    assert "2차 욕구 및 위기도 조사" in page and "월세 체납 해소" in page
    assert ">월세 체납 해소</textarea>" in page  # the next version starts from the latest one
    old = text(lead.get(f"/cases/assessments/{versions[0].public_id}"))
    assert "1차 욕구 및 위기도 조사" in old and "이전 버전" in old and "월세 체납 2개월" in old


def test_a_double_submitted_assessment_saves_one_version(make, world):
    lead = world.signed_in(world.lead_worker)
    url = f"/cases/{world.case.public_id}/assessment"
    assert lead.post(url, data=assessment_form("same")).status_code == 303
    assert lead.post(url, data=assessment_form("same")).status_code == 303
    assert count(make, world.lead, Assessment) == 1


def test_assessment_input_errors_are_shown_per_domain_and_nothing_is_lost(make, world):
    lead = world.signed_in(world.lead_worker)
    form = assessment_form("bad", level_safety="7", notes_family="가족 갈등 심함",
                           assessed_on=(clock.today() + timedelta(days=1)).isoformat())
    response = lead.post(f"/cases/{world.case.public_id}/assessment", data=form)
    page = text(response)
    assert response.status_code == 422
    assert 'id="level_safety-error">0부터 4 사이의 수준을 고르세요.' in page
    assert ">가족 갈등 심함</textarea>" in page
    response = lead.post(f"/cases/{world.case.public_id}/assessment",
                         data={**form, "level_safety": "2"})
    assert 'id="assessed_on-error">조사일은 오늘 이후일 수 없습니다.' in text(response)
    assert count(make, world.lead, Assessment) == 0


def test_health_notes_need_a_consent_that_includes_health(make):
    for with_health in (False, True):
        world = make.case_world(consent_health=with_health)
        world.join_partner()
        lead = world.signed_in(world.lead_worker)
        lead.post(f"/cases/{world.case.public_id}/assessment",
                  data=assessment_form("h", notes_health="당뇨 투약 중단", notes_safety="난방 없음"))
        seen = text(world.signed_in(world.partner_worker).get(f"/cases/{world.case.public_id}/assessment"))
        assert "난방 없음" in seen
        assert ("당뇨 투약 중단" in seen) is with_health
        assert ("건강정보 제공 동의가 없어 볼 수 없습니다." in seen) is not with_health
        assert "당뇨 투약 중단" in text(lead.get(f"/cases/{world.case.public_id}/assessment"))


# -- service plan ------------------------------------------------------------------------------------------

def add_goal(browser, world, token="g1", domain="economy", goal="생계 안정"):
    return browser.post(f"/cases/{world.case.public_id}/goals", data={"domain": domain, "goal": goal, "submission_token": token})


def test_goals_and_planned_services_with_a_provider(make, world):
    world.join_partner()
    lead = world.signed_in(world.lead_worker)
    assert add_goal(lead, world).status_code == 303
    [goal] = only(make, world.lead, PlanGoal)
    url = f"/cases/{world.case.public_id}/services"
    response = lead.post(url, data={"goal": goal.public_id, "description": "긴급생계비 신청", "submission_token": "s0"})
    assert response.status_code == 422
    assert 'id="provider_name-error">제공 기관을 고르거나 기관 이름을 입력하세요.' in text(response)
    assert "긴급생계비 신청</textarea>" in text(response)
    assert lead.post(url, data={"goal": goal.public_id, "description": "긴급생계비 신청", "provider_tenant": world.partner.code,
                                "due_on": (clock.today() + timedelta(days=7)).isoformat(), "submission_token": "s1"}).status_code == 303
    assert lead.post(url, data={"goal": goal.public_id, "description": "밑반찬 배달", "provider_name": "동네 반찬가게",
                                "submission_token": "s2"}).status_code == 303
    assert lead.post(url, data={"goal": goal.public_id, "description": "밑반찬 배달", "provider_name": "동네 반찬가게",
                                "submission_token": "s2"}).status_code == 303  # double submit
    plan = text(lead.get(f"/cases/{world.case.public_id}/plan"))
    assert "긴급생계비 신청" in plan and "한림읍 행정복지센터" in plan and "동네 반찬가게" in plan
    assert count(make, world.lead, PlannedService) == 2
    assert "목표 추가" in text(lead.get(f"/cases/{world.case.public_id}/timeline?kind=plan"))


def test_the_provider_updates_its_service_inline_and_finished_services_stay_finished(make, world):
    world.join_partner()
    lead = world.signed_in(world.lead_worker)
    add_goal(lead, world)
    [goal] = only(make, world.lead, PlanGoal)
    for token, description, provider in (("a", "긴급생계비 신청", world.partner.code), ("b", "상담", None)):
        data = {"goal": goal.public_id, "description": description, "submission_token": token}
        data.update({"provider_tenant": provider} if provider else {"provider_name": "복지관"})
        lead.post(f"/cases/{world.case.public_id}/services", data=data)
    theirs, ours = only(make, world.lead, PlannedService)
    partner = world.signed_in(world.partner_worker)

    headers = {"HX-Request": "true", "HX-Target": f"service-{theirs.public_id}"}
    response = partner.post(f"/cases/services/{theirs.public_id}/status", data={"status": "done"}, headers=headers)
    row = text(response)
    assert response.status_code == 200
    assert row.lstrip().startswith(f'<tr id="service-{theirs.public_id}"') and "</html>" not in row and "완료" in row
    again = partner.post(f"/cases/services/{theirs.public_id}/status", data={"status": "in_progress"}, headers=headers)
    assert again.status_code == 422 and "완료되거나 취소된 서비스는 상태를 바꿀 수 없고" in text(again)
    assert text(again).lstrip().startswith(f'<tr id="service-{theirs.public_id}"')
    with make.as_tenant(world.lead) as session:
        assert session.get(PlannedService, theirs.id).status is ServiceStatus.DONE
    refused = lead.post(f"/cases/services/{theirs.public_id}/status", data={"status": "planned"})  # without JS
    assert refused.status_code == 422 and "완료되거나 취소된 서비스는 상태를 바꿀 수 없고" in text(refused)
    # The partner may not touch a service it does not provide.
    assert partner.post(f"/cases/services/{ours.public_id}/status", data={"status": "done"}).status_code == 404
    assert "서비스 상태 변경" in text(lead.get(f"/cases/{world.case.public_id}/timeline"))


def test_a_goal_can_be_achieved_or_dropped(make, world):
    lead = world.signed_in(world.lead_worker)
    add_goal(lead, world)
    [goal] = only(make, world.lead, PlanGoal)
    assert lead.post(f"/cases/goals/{goal.public_id}/status", data={"status": "achieved"}).status_code == 303
    assert "달성" in text(lead.get(f"/cases/{world.case.public_id}/plan"))
    response = lead.post(f"/cases/goals/{goal.public_id}/status", data={"status": "gone"})
    assert response.status_code == 422 and "목록에 있는 값을 고르세요." in text(response)


# -- notes ------------------------------------------------------------------------------------------------

def test_notes_need_a_body_and_a_visibility_and_are_created_once(make, world):
    lead = world.signed_in(world.lead_worker)
    url = f"/cases/{world.case.public_id}/notes"
    response = lead.post(url, data={"body": "가정 방문함", "visibility": "everyone"})
    assert response.status_code == 422
    assert 'id="visibility-error">목록에 있는 값을 고르세요.' in text(response) and "가정 방문함</textarea>" in text(response)
    for _ in range(2):
        assert lead.post(url, data={"body": "가정 방문함", "visibility": "team", "submission_token": "n"}).status_code == 303
    assert count(make, world.lead, CaseNote) == 1


# -- case conferences ------------------------------------------------------------------------------------

def test_a_conference_records_attendees_from_several_organisations_and_follow_up_tasks(make, world):
    world.join_partner()
    lead = world.signed_in(world.lead_worker)
    url = f"/cases/{world.case.public_id}/conferences"
    bad = lead.post(url, data={"held_on": clock.today().isoformat(), "attendees": "\n \n", "agenda": "지원 방향"})
    assert bad.status_code == 422 and 'id="attendees-error">필수 입력 항목입니다.' in text(bad)
    bad = lead.post(url, data={"held_on": clock.today().isoformat(), "attendees": "이담당\n, 한림읍", "agenda": "지원 방향"})
    assert 'id="attendees-error">한 줄에 한 명씩 \'이름, 기관\' 형식으로 입력하세요.' in text(bad)
    future = lead.post(url, data={"held_on": (clock.today() + timedelta(days=2)).isoformat(), "attendees": "이담당, 복지관",
                                  "agenda": "지원 방향"})
    assert future.status_code == 422 and "회의일은 오늘 이후일 수 없습니다" in text(future) and "이담당, 복지관" in text(future)
    form = {"held_on": clock.today().isoformat(), "attendees": "이담당, 한라종합사회복지관\n박동주민 / 한림읍 행정복지센터\n김하나",
            "agenda": "주거 지원 방향", "decisions": "긴급 주거비 신청", "submission_token": "c"}
    assert lead.post(url, data=form).status_code == 303
    assert lead.post(url, data=form).status_code == 303
    [conference] = only(make, world.lead, Conference)
    assert conference.attendees == [{"name": "이담당", "tenant": "한라종합사회복지관"},
                                    {"name": "박동주민", "tenant": "한림읍 행정복지센터"}, {"name": "김하나", "tenant": ""}]

    tasks = f"/cases/conferences/{conference.public_id}/tasks"
    outsider = lead.post(tasks, data={"description": "방문", "assignee_tenant": world.outsider.code})
    assert outsider.status_code == 422 and 'id="task-assignee-' in text(outsider) and "사례 팀의 기관 중에서 고르세요." in text(outsider)
    due = clock.today() + timedelta(days=5)
    assert lead.post(tasks, data={"description": "주거비 서류 준비", "assignee_tenant": world.partner.code,
                                  "due_on": due.isoformat(), "submission_token": "t"}).status_code == 303
    assert lead.post(tasks, data={"description": "복지관 상담", "submission_token": "t2"}).status_code == 303
    mine, unassigned = only(make, world.lead, ConferenceTask)

    partner = world.signed_in(world.partner_worker)
    page = text(partner.get(url))
    assert "박동주민 (한림읍 행정복지센터)" in page and "긴급 주거비 신청" in page and due.isoformat() in page
    headers = {"HX-Request": "true", "HX-Target": f"task-{mine.public_id}"}
    done = partner.post(f"/cases/tasks/{mine.public_id}/done", headers=headers)
    assert done.status_code == 200 and text(done).lstrip().startswith(f'<tr id="task-{mine.public_id}"')
    assert "완료 " in text(done)
    twice = partner.post(f"/cases/tasks/{mine.public_id}/done", headers=headers)
    assert twice.status_code == 422 and "이미 완료한 과제입니다." in text(twice)
    assert partner.post(f"/cases/tasks/{unassigned.public_id}/done").status_code == 404
    timeline = text(lead.get(f"/cases/{world.case.public_id}/timeline?kind=conference"))
    assert "사례회의" in timeline and "후속 과제 완료" in timeline and "메모" not in timeline.split('id="timeline-list"')[1]


def test_the_conference_counts_as_the_selection_step_in_the_schedule(world):
    lead = world.signed_in(world.lead_worker)
    lead.post(f"/cases/{world.case.public_id}/conferences",
              data={"held_on": clock.today().isoformat(), "attendees": "이담당", "agenda": "선정"})
    page = text(lead.get(f"/cases/{world.case.public_id}"))
    table = page.split('id="milestones"')[1].split("</table>")[0]
    row = table.split("사례회의·대상자 선정")[1].split("</tr>")[0]
    assert clock.today().isoformat() in row and "완료" in row


# -- timeline ---------------------------------------------------------------------------------------------

def test_the_timeline_is_newest_first_and_filters_by_kind_in_place(world):
    lead = world.signed_in(world.lead_worker)
    url = f"/cases/{world.case.public_id}"
    lead.post(f"{url}/notes", data={"body": "첫 메모", "visibility": "team", "submission_token": "1"})
    lead.post(f"{url}/status", data={"status": "assessment"})
    lead.post(f"{url}/notes", data={"body": "둘째 메모", "visibility": "internal", "submission_token": "2"})

    entries = re.findall(r"<strong>([^<]+)</strong>", text(lead.get(f"{url}/timeline")).split('id="timeline-list"')[1])
    assert entries == ["메모", "단계 변경: 욕구·위기도 조사", "메모", "사례 열림"]

    fragment = lead.get(f"{url}/timeline?kind=note", headers={"HX-Request": "true", "HX-Target": "timeline-list"})
    body = text(fragment)
    assert fragment.status_code == 200 and body.lstrip().startswith('<div id="timeline-list"') and "<html" not in body
    assert re.findall(r"<strong>([^<]+)</strong>", body) == ["메모", "메모"]
    assert "둘째 메모" in body and "첫 메모" in body
    # Without JavaScript the same URL answers with the whole page, filter kept.
    page = text(lead.get(f"{url}/timeline?kind=note"))
    assert "<html" in page and '<option value="note" selected>' in page
    # Unknown kinds show everything rather than failing.
    assert lead.get(f"{url}/timeline?kind=nonsense").status_code == 200


def test_tabs_switch_in_place_with_htmx(world):
    lead = world.signed_in(world.lead_worker)
    response = lead.get(f"/cases/{world.case.public_id}/plan", headers={"HX-Request": "true", "HX-Target": "case-tabs"})
    body = text(response)
    assert body.lstrip().startswith('<div id="case-tabs"') and "<html" not in body and "서비스 제공계획" in body
    assert response.headers["Vary"] and "HX-Request" in response.headers["Vary"]
    # A boosted navigation gets the whole page.
    boosted = lead.get(f"/cases/{world.case.public_id}/plan", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in text(boosted)


def test_saving_an_assessment_reads_the_need_domains_once_per_transaction(app, make):
    """The form's fields and the save both need the domains: one read in the transaction (statements:
    domains, case version, the assessment, its items in one INSERT, the timeline event). A later
    transaction reads them afresh."""
    from hanaro.cases import service as cases
    from hanaro.cases.models import Case, NeedDomain
    from hanaro.core.db import db
    from hanaro.tenancy.context import acting_as

    from .factories import _Actor
    from .helpers import count_queries

    tenant = make.tenant()
    planner = make.member(tenant, roles=["case_manager"])
    case_id = make.case(make.client(tenant), planner).id
    with app.app_context(), acting_as(tenant.id, planner.id):
        case = db.session.get(Case, case_id)
        with count_queries() as n:
            data = {f"level_{d.code}": 2 for d in cases.need_domains()}
            saved = cases.save_assessment(case, {**data, "assessed_on": clock.today()}, _Actor(planner.id))
            db.session.commit()
        assert n() == 5
        assert len(saved.items) == len(DOMAINS)
        rights = db.session.get(NeedDomain, "rights")
        original, rights.name = rights.name, "권익 보호"
        db.session.commit()
        try:
            assert {d.code: d.name for d in cases.need_domains()}["rights"] == "권익 보호"
        finally:
            db.session.get(NeedDomain, "rights").name = original
            db.session.commit()
