"""Regional care meetings (지역케어회의): who sees meetings, agenda items and actions; case items
within the case's own team and consent rules; actions on the assignee's task list; validation."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hanaro.core import clock
from hanaro.core.db import db
from hanaro.pilots.models import (
    ActionStatus,
    AgendaItem,
    AgendaKind,
    CareMeeting,
    CareMeetingMember,
    FeatureSwitch,
    MeetingAction,
    Participant,
    SwitchState,
    Workspace,
)
from hanaro.tenancy.context import acting_as
from hanaro.tenancy.models import TenantKind
from sqlalchemy import func, select

TODAY = clock.today()
HIDDEN = "비공개 사례 (사례 관리 기관만 볼 수 있습니다)"
CLIENT = "김하나"
INITIAL = "김○○"
CASE_ITEM_TITLE = "주거 위기 가구 지원 방안"
CASE_DISCUSSION = "집주인과 보증금 문제를 협의함"


class World:
    """A pilot workspace run by the province, with the case world's welfare centre (the case's
    lead, organising the meeting) and dong centre (an accepted collaborator) taking part, a third
    participant that is a meeting member but not on the case team, and an outsider."""

    def __init__(self, make, state=SwitchState.PILOT):
        self.make = make
        self.cw = make.case_world()
        self.province = make.tenant(name="시험도청", kind=TenantKind.PROVINCE)
        self.lead, self.partner, self.outsider = self.cw.lead, self.cw.partner, self.cw.outsider
        self.partner_worker = self.cw.partner_worker
        self.other = make.tenant(name="서귀포돌봄센터")
        self.coordinator = make.member(self.province, roles=["pilot_coordinator", "tenant_admin"], name="도코디")
        self.lead_admin = make.member(self.lead, roles=["tenant_admin", "case_manager"], name="복지관관리자")
        self.partner_viewer = make.member(self.partner, roles=["viewer"], name="동조회")
        self.other_worker = make.member(self.other, roles=["case_manager", "tenant_admin"], name="돌봄담당")
        self.cw.join_partner()
        with make.as_tenant(self.province) as session:
            self.workspace = Workspace(code=f"ws-{self.province.id}", name="시험 시범사업", region_codes=[])
            session.add(self.workspace)
            session.flush()
            for tenant in (self.lead, self.partner, self.other):
                session.add(Participant(workspace_id=self.workspace.id, participant_tenant_id=tenant.id,
                                        joined_on=TODAY - timedelta(days=30)))
        self.switch(state)

    def switch(self, state):
        with self.make.app.app_context():
            switch = db.session.scalar(select(FeatureSwitch).where(FeatureSwitch.key == "care_meetings"))
            if switch is None:
                switch = FeatureSwitch(key="care_meetings")
                db.session.add(switch)
            switch.state = state
            switch.workspace_id = self.workspace.id
            db.session.commit()

    def meeting(self, held_on=None, members=None, title="한림읍 지역케어회의", case_item=True, due_on=None):
        """A meeting of the welfare centre with the dong centre and the third tenant as members,
        an external expert, a case item, a policy item and an action for the dong centre."""
        held_on = held_on or TODAY - timedelta(days=10)
        members = (self.partner, self.other) if members is None else members
        with self.make.as_tenant(self.lead, self.lead_admin) as session:
            meeting = CareMeeting(workspace_id=self.workspace.id, title=title, held_on=held_on, location="한림읍사무소",
                                  created_by_user_id=self.lead_admin.id)
            session.add(meeting)
            session.flush()
            for tenant in (members if isinstance(members, (list, tuple)) else [members]):
                session.add(CareMeetingMember(meeting_id=meeting.id, member_tenant_id=tenant.id))
            session.add(CareMeetingMember(meeting_id=meeting.id, external_name="김전문", external_affiliation="제주대학교"))
            items = []
            if case_item:
                items.append(AgendaItem(meeting_id=meeting.id, kind=AgendaKind.CASE, title=CASE_ITEM_TITLE,
                                        case_id=self.cw.case.id, discussion=CASE_DISCUSSION, decision="긴급 주거 지원",
                                        position=1))
            items.append(AgendaItem(meeting_id=meeting.id, kind=AgendaKind.POLICY, title="돌봄 인력 부족",
                                    discussion="읍면 단위 인력 공유", position=len(items) + 1))
            session.add_all(items)
            session.flush()
            action = MeetingAction(meeting_id=meeting.id, item_id=items[0].id, assignee_tenant_id=self.partner.id,
                                   description="가정 방문 후 결과 공유", due_on=due_on or held_on + timedelta(days=7))
            session.add(action)
        self.action = action
        return meeting

    def client_for(self, user):
        return self.cw.signed_in(user)


@pytest.fixture
def world(make):
    return World(make)


def _urls(meeting, action):
    base = f"/care-meetings/{meeting.public_id}"
    return [("GET", base), ("GET", f"{base}/edit"), ("POST", f"{base}/edit"), ("POST", f"{base}/minutes"),
            ("POST", f"{base}/items"), ("POST", f"{base}/items/1"), ("POST", f"{base}/items/1/move"),
            ("POST", f"{base}/actions"), ("POST", f"/care-meetings/actions/{action.public_id}/status")]


ATTACK = {"title": "바꾼 회의", "held_on": "2026-01-01", "member_tenants": [], "minutes": "침입", "kind": "policy",
          "discussion": "침입", "direction": "down", "description": "침입 조치", "assignee": "x", "due_on": "2030-01-01",
          "status": "done", "status_note": "침입"}


def _state(app, world, meeting):
    with app.app_context(), acting_as(world.lead.id, None):
        m = db.session.get(CareMeeting, meeting.id)
        return {"title": m.title, "minutes": m.minutes,
                "items": db.session.scalar(select(func.count()).select_from(AgendaItem)
                                           .where(AgendaItem.meeting_id == m.id)),
                "actions": [(a.status.value, a.status_note) for a in db.session.scalars(
                    select(MeetingAction).where(MeetingAction.meeting_id == m.id))],
                "discussion": db.session.scalar(select(AgendaItem.discussion).where(AgendaItem.meeting_id == m.id,
                                                                                    AgendaItem.position == 1))}


# -- the feature switch ---------------------------------------------------------------------------------------

def test_care_meetings_are_404_for_tenants_outside_the_pilot(app, world):
    meeting = world.meeting()
    outsider = world.client_for(world.cw.outsider_worker)
    for method, url in [("GET", "/care-meetings"), ("GET", "/care-meetings/new"), ("POST", "/care-meetings/new"),
                        ("GET", "/care-meetings/actions"), *_urls(meeting, world.action)]:
        assert outsider.open(url, method=method, data=ATTACK).status_code == 404, url
    assert world.client_for(world.partner_worker).get("/care-meetings").status_code == 200
    assert world.client_for(world.coordinator).get("/care-meetings").status_code == 200


def test_every_care_meeting_route_is_behind_the_switch(app):
    from hanaro.core.access import FEATURE_ATTRIBUTE

    endpoints = [r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("care_meetings.")]
    assert len(endpoints) >= 12
    for endpoint in endpoints:
        assert getattr(app.view_functions[endpoint], FEATURE_ATTRIBUTE, None) == "care_meetings", endpoint


def test_switched_off_care_meetings_are_404_for_everyone(app, world):
    meeting = world.meeting()
    world.switch(SwitchState.OFF)
    organiser = world.client_for(world.lead_admin)
    assert organiser.get("/care-meetings").status_code == 404
    assert organiser.get(f"/care-meetings/{meeting.public_id}").status_code == 404


def test_an_outsider_gets_404_on_every_meeting_route_even_with_the_feature_on(app, world):
    world.switch(SwitchState.EVERYONE)
    meeting = world.meeting()
    before = _state(app, world, meeting)
    outsider = world.client_for(world.cw.outsider_worker)
    for method, url in _urls(meeting, world.action):
        response = outsider.open(url, method=method, data=ATTACK)
        assert response.status_code == 404, url
        body = response.get_data(as_text=True)
        for word in ("한림읍 지역케어회의", CLIENT, INITIAL, CASE_ITEM_TITLE, "가정 방문", "돌봄 인력"):
            assert word not in body
    listing = outsider.get("/care-meetings").get_data(as_text=True)
    assert "한림읍 지역케어회의" not in listing
    assert "가정 방문" not in outsider.get("/care-meetings/actions").get_data(as_text=True)
    assert _state(app, world, meeting) == before


# -- who sees the meeting ----------------------------------------------------------------------------------------

def test_the_organiser_and_members_list_the_meeting_upcoming_first(app, world):
    past = world.meeting(title="지난 회의")
    upcoming = world.meeting(held_on=TODAY + timedelta(days=3), title="다음 회의", due_on=TODAY + timedelta(days=20))
    for user in (world.lead_admin, world.partner_worker, world.other_worker):
        body = world.client_for(user).get("/care-meetings").get_data(as_text=True)
        assert body.index("다음 회의") < body.index("지난 회의"), user.display_name
        assert "시험 시범사업" in body
    body = world.client_for(world.lead_admin).get("/care-meetings").get_data(as_text=True)
    row = re.search(r'<tr class="meeting-row meeting-row--past">(.*?)</tr>', body, re.S).group(1)
    assert "1건" in row and "기한 지남 1건" in row
    assert past.public_id in body and upcoming.public_id in body


def test_members_read_the_meeting_and_the_organiser_sees_every_member(app, world):
    meeting = world.meeting()
    organiser = world.client_for(world.lead_admin).get(f"/care-meetings/{meeting.public_id}").get_data(as_text=True)
    for name in ("한림읍 행정복지센터", "서귀포돌봄센터", "김전문", "제주대학교", "돌봄 인력 부족", "읍면 단위 인력 공유",
                 "가정 방문 후 결과 공유"):
        assert name in organiser
    member = world.client_for(world.other_worker).get(f"/care-meetings/{meeting.public_id}")
    assert member.status_code == 200
    body = member.get_data(as_text=True)
    # A meeting saved before the roster existed: a member sees the organiser, itself, the policy
    # items and every action; the policy shows it its own membership row only (not the other
    # members or the experts).
    for name in ("한라종합사회복지관", "서귀포돌봄센터", "돌봄 인력 부족", "읍면 단위 인력 공유", "가정 방문 후 결과 공유"):
        assert name in body
    assert "김전문" not in body
    assert "회의록 저장" not in body and "안건 추가" not in body and "조치 배정" not in body


# -- case items -----------------------------------------------------------------------------------------------------

def _case_block(body: str) -> str:
    return re.search(r'<li class="card" id="item-1">(.*?)</li>', body, re.S).group(1)


def _access_entries(app, tenant, user):
    from hanaro.audit.models import AccessLogEntry

    with app.app_context(), acting_as(tenant.id, user.id):
        return db.session.scalars(select(AccessLogEntry).where(AccessLogEntry.user_id == user.id,
                                                               AccessLogEntry.what == "care_meeting")).all()


def test_a_case_item_shows_the_case_to_its_lead_and_collaborator_and_logs_it(app, world):
    meeting = world.meeting()
    for tenant, user in ((world.lead, world.lead_admin), (world.partner, world.partner_worker)):
        body = world.client_for(user).get(f"/care-meetings/{meeting.public_id}").get_data(as_text=True)
        block = _case_block(body)
        assert CASE_ITEM_TITLE in block and CASE_DISCUSSION in block and INITIAL in block
        assert f'href="/cases/{world.cw.case.public_id}"' in block
        assert HIDDEN not in body and CLIENT not in body  # the initial only, even for the lead
        entries = _access_entries(app, tenant, user)
        assert len(entries) == 1 and entries[0].client_id == world.cw.person.id


def test_a_member_off_the_case_team_sees_a_private_case_and_never_the_client(app, world):
    meeting = world.meeting()
    client = world.client_for(world.other_worker)
    body = client.get(f"/care-meetings/{meeting.public_id}").get_data(as_text=True)
    block = _case_block(body)
    assert HIDDEN in block
    for secret in (CLIENT, INITIAL, CASE_ITEM_TITLE, CASE_DISCUSSION, "긴급 주거 지원", world.cw.case.public_id):
        assert secret not in body
    assert "1. 비공개 사례" in body  # the action's item, as this member may see it
    assert _access_entries(app, world.other, world.other_worker) == []
    assert CLIENT not in client.get("/care-meetings").get_data(as_text=True)


def test_an_invited_but_not_accepted_tenant_does_not_see_the_case(app, make, world):
    meeting = world.meeting()
    make.case_member(world.cw.case, world.other, world.cw.lead_worker)  # invited only
    body = world.client_for(world.other_worker).get(f"/care-meetings/{meeting.public_id}").get_data(as_text=True)
    assert HIDDEN in body and INITIAL not in body and CLIENT not in body


def test_staff_without_a_case_role_see_the_private_placeholder(app, world):
    meeting = world.meeting()
    coordinator_like = world.make.member(world.partner, roles=["tenant_admin"], name="동관리자")
    body = world.client_for(coordinator_like).get(f"/care-meetings/{meeting.public_id}").get_data(as_text=True)
    assert "사례관리 권한이 있는 직원만" in body
    assert INITIAL not in body and CLIENT not in body and CASE_ITEM_TITLE not in body


def test_after_consent_withdrawal_the_collaborator_no_longer_sees_the_case(app, world):
    from hanaro.clients import service as clients
    from hanaro.clients.models import Consent

    meeting = world.meeting()
    partner = world.client_for(world.partner_worker)
    assert INITIAL in partner.get(f"/care-meetings/{meeting.public_id}").get_data(as_text=True)
    with app.app_context(), acting_as(world.lead.id, world.cw.lead_worker.id):
        clients.withdraw_consent(db.session.get(Consent, world.cw.consent.id), "본인 요청", world.cw.lead_worker)
        db.session.commit()
    body = partner.get(f"/care-meetings/{meeting.public_id}").get_data(as_text=True)
    assert HIDDEN in body
    for secret in (CLIENT, INITIAL, CASE_ITEM_TITLE, CASE_DISCUSSION):
        assert secret not in body
    # The lead still sees its own case.
    assert INITIAL in world.client_for(world.lead_admin).get(f"/care-meetings/{meeting.public_id}").get_data(as_text=True)


def test_the_organiser_puts_only_its_own_visible_cases_on_the_agenda(app, make, world):
    meeting = world.meeting(case_item=False)
    organiser = world.client_for(world.lead_admin)
    page = organiser.get(f"/care-meetings/{meeting.public_id}").get_data(as_text=True)
    assert f'value="{world.cw.case.public_id}"' in page and INITIAL in page
    # A case of another tenant the organiser is not on the team of.
    stranger = make.client(world.other, name="남의대상자")
    foreign = make.case(stranger, world.other_worker)
    response = organiser.post(f"/care-meetings/{meeting.public_id}/items", data={"kind": "case", "case": foreign.public_id})
    assert response.status_code == 422
    assert "목록에 있는 사례를 고르세요." in response.get_data(as_text=True)
    assert "남의대상자" not in response.get_data(as_text=True)
    response = organiser.post(f"/care-meetings/{meeting.public_id}/items", data={"kind": "case", "case": world.cw.case.public_id})
    assert response.status_code == 303 and response.headers["Location"].endswith("#item-2")
    duplicate = organiser.post(f"/care-meetings/{meeting.public_id}/items",
                               data={"kind": "case", "case": world.cw.case.public_id})
    assert "이 사례는 이미 안건에 있습니다." in duplicate.get_data(as_text=True)
    missing_title = organiser.post(f"/care-meetings/{meeting.public_id}/items", data={"kind": "policy", "title": ""})
    assert missing_title.status_code == 422 and "안건 제목을 입력하세요." in missing_title.get_data(as_text=True)
    # The collaborator also may see the case it works on; the third member gets the placeholder.
    assert INITIAL in world.client_for(world.partner_worker).get(f"/care-meetings/{meeting.public_id}").get_data(as_text=True)
    assert HIDDEN in world.client_for(world.other_worker).get(f"/care-meetings/{meeting.public_id}").get_data(as_text=True)


def test_the_organiser_records_minutes_and_decisions_members_only_read(app, world):
    meeting = world.meeting()
    organiser = world.client_for(world.lead_admin)
    assert organiser.post(f"/care-meetings/{meeting.public_id}/minutes", data={"minutes": "다음 회의는 다음 달"}).status_code == 303
    assert organiser.post(f"/care-meetings/{meeting.public_id}/items/2",
                          data={"discussion": "인력 공유 협약 검토", "decision": "도청이 지침 마련"}).status_code == 303
    assert organiser.post(f"/care-meetings/{meeting.public_id}/items/2/move", data={"direction": "up"}).status_code == 303
    body = world.client_for(world.other_worker).get(f"/care-meetings/{meeting.public_id}").get_data(as_text=True)
    assert "다음 회의는 다음 달" in body and "도청이 지침 마련" in body
    assert body.index("돌봄 인력 부족") < body.index(HIDDEN)  # moved up
    before = _state(app, world, meeting)
    member = world.client_for(world.partner_worker)
    for method, url in _urls(meeting, world.action)[1:-1]:
        assert member.open(url, method=method, data=ATTACK).status_code == 403, url
    assert _state(app, world, meeting) == before
    editor_less = world.client_for(world.cw.lead_worker)  # the organiser's case manager, not an editor
    assert editor_less.get(f"/care-meetings/{meeting.public_id}").status_code == 200
    assert editor_less.post(f"/care-meetings/{meeting.public_id}/minutes", data={"minutes": "x"}).status_code == 403
    assert editor_less.get("/care-meetings/new").status_code == 403


# -- actions ---------------------------------------------------------------------------------------------------

def _action_status(app, world):
    with app.app_context(), acting_as(world.lead.id, None):
        action = db.session.get(MeetingAction, world.action.id)
        return action.status, action.status_note


def test_the_assignee_changes_an_actions_status_others_cannot(app, world):
    meeting = world.meeting()
    url = f"/care-meetings/actions/{world.action.public_id}/status"
    other = world.client_for(world.other_worker)
    assert other.post(url, data={"status": "done"}).status_code == 403
    viewer = world.client_for(world.partner_viewer)
    assert viewer.post(url, data={"status": "done"}).status_code == 403
    assert world.client_for(world.cw.outsider_worker).post(url, data={"status": "done"}).status_code == 404
    assert _action_status(app, world) == (ActionStatus.OPEN, None)
    page = other.get(f"/care-meetings/{meeting.public_id}").get_data(as_text=True)
    assert "상태 저장" not in page
    partner = world.client_for(world.partner_worker)
    response = partner.post(url, data={"status": "done", "status_note": "방문 완료", "back": "tasks"},
                            headers={"HX-Request": "true", "HX-Target": f"action-{world.action.public_id}"})
    assert response.status_code == 200
    row = response.get_data(as_text=True)
    assert row.lstrip().startswith(f'<tr id="action-{world.action.public_id}"') and "방문 완료" in row
    assert _action_status(app, world) == (ActionStatus.DONE, "방문 완료")
    # The organiser may change it too (e.g. reopen it).
    organiser = world.client_for(world.lead_admin)
    response = organiser.post(url, data={"status": "open", "status_note": "추가 확인 필요"})
    assert response.status_code == 303 and f"/care-meetings/{meeting.public_id}#action-" in response.headers["Location"]
    assert _action_status(app, world) == (ActionStatus.OPEN, "추가 확인 필요")


def test_dropping_an_action_needs_a_note(app, world):
    meeting = world.meeting()
    partner = world.client_for(world.partner_worker)
    url = f"/care-meetings/actions/{world.action.public_id}/status"
    response = partner.post(url, data={"status": "dropped", "back": "meeting"})
    assert response.status_code == 422
    assert "취소하는 이유를 메모에 적어 주세요." in response.get_data(as_text=True)
    response = partner.post(url, data={"status": "dropped", "status_note": "", "back": "tasks"},
                            headers={"HX-Request": "true", "HX-Target": f"action-{world.action.public_id}"})
    assert response.status_code == 422 and "취소하는 이유" in response.get_data(as_text=True)
    assert partner.post(url, data={"status": "bogus"}).status_code == 422
    assert _action_status(app, world) == (ActionStatus.OPEN, None)
    assert partner.post(url, data={"status": "dropped", "status_note": "대상자 전출"}).status_code == 303
    assert _action_status(app, world) == (ActionStatus.DROPPED, "대상자 전출")
    assert meeting.public_id


def test_overdue_actions_are_flagged_and_lead_the_task_list(app, world):
    later = world.meeting(held_on=TODAY, title="오늘 회의", case_item=False, due_on=TODAY + timedelta(days=5))
    meeting = world.meeting()  # its action was due 3 days ago
    partner = world.client_for(world.partner_worker)
    page = partner.get(f"/care-meetings/{meeting.public_id}").get_data(as_text=True)
    row = re.search(rf'<tr id="action-{world.action.public_id}"[^>]*>', page).group(0)
    assert "action-row--overdue" in row
    tasks = partner.get("/care-meetings/actions")
    assert tasks.status_code == 200
    body = tasks.get_data(as_text=True)
    assert "기한 지남 1건" in body
    rows = re.findall(r'<tr id="action-([^"]+)" class="action-row( action-row--overdue)?">', body)
    assert [overdue for _id, overdue in rows] == [" action-row--overdue", ""]
    assert rows[0][0] == world.action.public_id
    assert "오늘 회의" in body and "한라종합사회복지관" in body
    # The third member is assigned nothing.
    assert "가정 방문" not in world.client_for(world.other_worker).get("/care-meetings/actions").get_data(as_text=True)
    # Done ones leave the open list and show under "done".
    partner.post(f"/care-meetings/actions/{world.action.public_id}/status", data={"status": "done"})
    body = partner.get("/care-meetings/actions").get_data(as_text=True)
    assert f"action-{world.action.public_id}" not in body and "오늘 회의" in body
    done = partner.get("/care-meetings/actions?status=done", headers={"HX-Request": "true", "HX-Target": "action-list"})
    done_body = done.get_data(as_text=True)
    assert done_body.lstrip().startswith('<div id="action-list"')
    assert f"action-{world.action.public_id}" in done_body and later.public_id not in done_body


def test_the_home_page_shows_the_task_count(app, world):
    world.meeting()
    body = world.client_for(world.partner_worker).get("/").get_data(as_text=True)
    assert "지역케어회의 후속 조치" in body and "/care-meetings/actions" in body
    outsider = world.client_for(world.cw.outsider_worker).get("/").get_data(as_text=True)
    assert "지역케어회의 후속 조치" not in outsider


# -- creating meetings and actions -------------------------------------------------------------------------------------

def _meetings_of(app, tenant):
    with app.app_context(), acting_as(tenant.id, None):
        return db.session.scalars(select(CareMeeting).where(CareMeeting.tenant_id == tenant.id)).all()


def test_a_coordinator_creates_a_meeting_with_participants_by_default(app, world):
    coordinator = world.client_for(world.coordinator)
    form = coordinator.get("/care-meetings/new").get_data(as_text=True)
    for tenant in (world.lead, world.partner, world.other):
        assert re.search(rf'value="{tenant.code}"\s+checked', form), tenant.name
    assert f'value="{world.outsider.code}"' in form and not re.search(rf'value="{world.outsider.code}"\s+checked', form)
    response = coordinator.post("/care-meetings/new", data={
        "title": "도 지역케어회의", "held_on": TODAY.isoformat(), "location": "도청 회의실",
        "member_tenants": [world.lead.code, world.partner.code, world.outsider.code],
        "experts": "김전문, 제주대학교\n이자문 / 제주의료원", "submission_token": "tok-1"})
    assert response.status_code == 303
    (meeting,) = _meetings_of(app, world.province)
    assert meeting.workspace_id == world.workspace.id
    with app.app_context(), acting_as(world.province.id, None):
        members = db.session.scalars(select(CareMeetingMember).where(CareMeetingMember.meeting_id == meeting.id)).all()
    assert {m.member_tenant_id for m in members if m.member_tenant_id} == {world.lead.id, world.partner.id, world.outsider.id}
    assert sorted((m.external_name, m.external_affiliation) for m in members if not m.member_tenant_id) == [
        ("김전문", "제주대학교"), ("이자문", "제주의료원")]
    page = coordinator.get(response.headers["Location"]).get_data(as_text=True)
    assert "바깥기관" in page and "기능이 켜질 때까지" in page  # the outsider is not in the pilot
    member_page = world.client_for(world.partner_worker).get(response.headers["Location"])
    assert member_page.status_code == 200
    # Every member reads who attends (names only), though it sees only its own member row.
    attendance = member_page.get_data(as_text=True).split('id="member-list"', 1)[1].split("</ul>", 1)[0]
    for name in (world.lead.name, world.partner.name, "바깥기관", "김전문", "제주대학교", "이자문", "제주의료원"):
        assert name in attendance, name


def test_a_double_submitted_meeting_is_created_once(app, world):
    coordinator = world.client_for(world.coordinator)
    data = {"title": "한 번만", "held_on": TODAY.isoformat(), "member_tenants": [world.lead.code],
            "submission_token": "same-token"}
    first = coordinator.post("/care-meetings/new", data=data)
    second = coordinator.post("/care-meetings/new", data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert len(_meetings_of(app, world.province)) == 1


@pytest.mark.parametrize("data, field_message", [
    ({"title": "회의", "held_on": "2026/03/01", "member_tenants": ["LEAD"]}, "날짜를 YYYY-MM-DD 형식으로 입력하세요."),
    ({"title": "회의", "held_on": "2026-02-30", "member_tenants": ["LEAD"]}, "날짜를 YYYY-MM-DD 형식으로 입력하세요."),
    ({"title": "회의", "held_on": "", "member_tenants": ["LEAD"]}, "필수 입력 항목입니다."),
    ({"title": "회의", "held_on": "2026-03-01"}, "참석 기관이나 외부 전문가를 한 곳 이상 정하세요."),
    ({"title": "회의", "held_on": "2026-03-01", "member_tenants": ["no-such-tenant"]}, "목록에 있는 기관을 고르세요."),
    ({"title": "회의", "held_on": "2026-03-01", "experts": ", 소속만"}, "한 줄에 한 명씩 '이름, 소속' 형식으로 입력하세요."),
    ({"title": "", "held_on": "2026-03-01", "member_tenants": ["LEAD"]}, "필수 입력 항목입니다."),
])
def test_meeting_validation_keeps_the_input(app, world, data, field_message):
    data = {**data, "location": "기억할 장소"}
    if data.get("member_tenants") == ["LEAD"]:
        data["member_tenants"] = [world.lead.code]
    response = world.client_for(world.coordinator).post("/care-meetings/new", data=data)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert field_message in body.replace("&#39;", "'")
    assert 'value="기억할 장소"' in body
    if data.get("held_on"):
        assert f'value="{data["held_on"]}"' in body
    if data.get("member_tenants") == [world.lead.code]:
        assert re.search(rf'value="{world.lead.code}"\s+checked', body)
    assert _meetings_of(app, world.province) == []


def test_action_validation(app, world):
    meeting = world.meeting()
    organiser = world.client_for(world.lead_admin)
    url = f"/care-meetings/{meeting.public_id}/actions"
    cases = [
        ({"description": "방문", "assignee": world.outsider.code, "due_on": TODAY.isoformat()},
         "회의 참석 기관 중에서 담당 기관을 고르세요."),
        ({"description": "방문", "assignee": world.partner.code,
          "due_on": (meeting.held_on - timedelta(days=1)).isoformat()}, "기한은 회의일"),
        ({"description": "방문", "assignee": world.partner.code, "due_on": "내일"}, "날짜를 YYYY-MM-DD 형식으로 입력하세요."),
        ({"description": "방문", "due_on": TODAY.isoformat()}, "담당 기관을 고르세요."),
        ({"description": "방문", "assignee": world.partner.code, "due_on": TODAY.isoformat(), "item": "9"},
         "목록에 있는 안건을 고르세요."),
    ]
    for data, message in cases:
        response = organiser.post(url, data=data)
        assert response.status_code == 422, data
        body = response.get_data(as_text=True)
        assert message in body, message
        assert ">방문</textarea>" in body  # what was typed stays
    with app.app_context(), acting_as(world.lead.id, None):
        assert db.session.scalar(select(func.count()).select_from(MeetingAction)
                                 .where(MeetingAction.meeting_id == meeting.id)) == 1


def test_actions_go_to_members_or_the_organiser_once_per_submission(app, world):
    meeting = world.meeting()
    organiser = world.client_for(world.lead_admin)
    url = f"/care-meetings/{meeting.public_id}/actions"
    data = {"description": "돌봄 인력 현황 조사", "assignee": world.other.code, "due_on": meeting.held_on.isoformat(),
            "item": "2", "submission_token": "action-token"}
    assert organiser.post(url, data=data).status_code == 303
    assert organiser.post(url, data=data).status_code == 303
    assert organiser.post(url, data={"description": "회의 결과 정리", "assignee": world.lead.code,
                                     "due_on": TODAY.isoformat()}).status_code == 303
    with app.app_context(), acting_as(world.lead.id, None):
        actions = db.session.scalars(select(MeetingAction).where(MeetingAction.meeting_id == meeting.id)).all()
    assert sorted(a.description for a in actions) == ["가정 방문 후 결과 공유", "돌봄 인력 현황 조사", "회의 결과 정리"]
    body = world.client_for(world.other_worker).get("/care-meetings/actions").get_data(as_text=True)
    assert "돌봄 인력 현황 조사" in body


def test_editing_a_meeting_keeps_assigned_members_and_due_dates(app, world):
    meeting = world.meeting()
    organiser = world.client_for(world.lead_admin)
    url = f"/care-meetings/{meeting.public_id}/edit"
    form = organiser.get(url).get_data(as_text=True)
    assert "김전문, 제주대학교" in form
    response = organiser.post(url, data={"title": "바뀐 회의", "held_on": meeting.held_on.isoformat(),
                                         "member_tenants": [world.other.code], "experts": ""})
    assert response.status_code == 422
    assert "후속 조치를 맡은 기관은 뺄 수 없습니다: 한림읍 행정복지센터" in response.get_data(as_text=True)
    response = organiser.post(url, data={"title": "바뀐 회의", "held_on": TODAY.isoformat(),
                                         "member_tenants": [world.partner.code, world.other.code]})
    assert response.status_code == 422 and "늦은 날로 회의일을 바꿀 수 없습니다" in response.get_data(as_text=True)
    response = organiser.post(url, data={"title": "바뀐 회의", "held_on": meeting.held_on.isoformat(),
                                         "member_tenants": [world.partner.code], "experts": "박자문, 보건소"})
    assert response.status_code == 303
    # The third tenant is no longer a member: the meeting is gone for it.
    assert world.client_for(world.other_worker).get(f"/care-meetings/{meeting.public_id}").status_code == 404
    page = organiser.get(f"/care-meetings/{meeting.public_id}").get_data(as_text=True)
    assert "바뀐 회의" in page and "박자문" in page and "김전문" not in page

