"""Pilot workspaces (시범사업): the [[pilots]] registry section, who sees a workspace, what only its
coordinators may change, and feature switches decided in one place."""
from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import Blueprint
from sqlalchemy import func, select

from hanaro.core import clock
from hanaro.core.access import behind_feature, tenant_member
from hanaro.core.db import db
from hanaro.pilots import features
from hanaro.pilots import service as pilots
from hanaro.pilots.models import FeatureSwitch, Participant, Phase, PhasePeriod, SwitchState, VillagePlanner, Workspace
from hanaro.tenancy import registry
from hanaro.tenancy.context import acting_as, unscoped
from hanaro.tenancy.models import RegionLevel, Tenant, TenantKind

from .helpers import count_queries, login

JEJU = Path(__file__).resolve().parents[1] / "tenants" / "jeju-pilot.toml"
TODAY = clock.today()


# -- a small pilot world ---------------------------------------------------------------------------------

class PilotWorld:
    """A province running a workspace over two dongs; a dong centre and an NGO taking part; a
    welfare centre that left; an outsider. Phases around today, two planners, switches."""

    def __init__(self, make):
        self.make = make
        province = make.region("9700000000", "시범도", RegionLevel.PROVINCE)
        self.dong_a = make.region(name="가동", parent_code=province.code)
        self.dong_b = make.region(name="나동", parent_code=province.code)
        self.province = make.tenant(name="시범도청", kind=TenantKind.PROVINCE, region=province)
        self.dong = make.tenant(name="가동 행정복지센터", kind=TenantKind.DONG_CENTRE, region=self.dong_a)
        self.ngo = make.tenant(name="이웃나눔", kind=TenantKind.NGO, region=province)
        self.left = make.tenant(name="떠난복지관", region=province)
        self.outsider = make.tenant(name="바깥요양원", kind=TenantKind.FACILITY, region=province)
        self.coordinator = make.member(self.province, roles=["pilot_coordinator", "tenant_admin"], name="고코디")
        self.province_worker = make.member(self.province, roles=["case_manager"], name="도청직원")
        self.dong_worker = make.member(self.dong, roles=["case_manager"], name="동직원")
        self.dong_coordinator = make.member(self.dong, roles=["pilot_coordinator", "tenant_admin"], name="동코디")
        self.ngo_worker = make.member(self.ngo, roles=["resource_registrar"], name="단체직원")
        self.left_worker = make.member(self.left, roles=["case_manager", "tenant_admin"], name="떠난직원")
        self.outsider_admin = make.member(self.outsider, roles=["tenant_admin", "case_manager", "pilot_coordinator"],
                                          name="바깥관리자")
        with make.as_tenant(self.province) as session:
            self.workspace = Workspace(code=f"pilot-{self.province.id}", name="시범도 통합복지 시범사업",
                                       description="시범 설명", region_codes=[self.dong_a.code, self.dong_b.code])
            session.add(self.workspace)
            session.flush()
            for tenant, left_on in ((self.dong, None), (self.ngo, None), (self.left, TODAY - timedelta(days=10))):
                session.add(Participant(workspace_id=self.workspace.id, participant_tenant_id=tenant.id,
                                        joined_on=TODAY - timedelta(days=100), left_on=left_on))
            for phase, start, end in ((Phase.PREPARATION, -100, -31), (Phase.PILOT, -30, 30), (Phase.EVALUATION, 31, None)):
                session.add(PhasePeriod(workspace_id=self.workspace.id, phase=phase, starts_on=TODAY + timedelta(days=start),
                                        ends_on=TODAY + timedelta(days=end) if end is not None else None))
            session.add(VillagePlanner(workspace_id=self.workspace.id, name="김플래너", dong_code=self.dong_a.code))
            session.add(VillagePlanner(workspace_id=self.workspace.id, name="이플래너", dong_code=self.dong_b.code))
        self.switch("care_meetings", SwitchState.PILOT)

    def switch(self, key, state):
        with self.make.app.app_context():
            row = db.session.scalar(select(FeatureSwitch).where(FeatureSwitch.key == key))
            if row is None:
                row = FeatureSwitch(key=key)
                db.session.add(row)
            row.state, row.workspace_id = state, self.workspace.id
            db.session.commit()

    def client_for(self, user, app=None):
        client = (app or self.make.app).test_client()
        assert login(client, user.email).status_code == 303
        return client

    def url(self, suffix=""):
        return f"/pilots/{self.workspace.public_id}{suffix}"

    def participation(self, tenant):
        with self.make.app.app_context(), acting_as(self.province.id, None):
            return db.session.scalar(select(Participant).where(Participant.workspace_id == self.workspace.id,
                                                               Participant.participant_tenant_id == tenant.id))

    def periods(self):
        with self.make.app.app_context(), acting_as(self.province.id, None):
            return {p.phase: (p.starts_on, p.ends_on) for p in pilots.phases(db.session.get(Workspace, self.workspace.id))}


@pytest.fixture
def world(make):
    return PilotWorld(make)


# -- the registry's [[pilots]] section -------------------------------------------------------------------

def _pilot_counts():
    with unscoped():
        return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
                for model in (Workspace, Participant, PhasePeriod, VillagePlanner, FeatureSwitch)}


def test_the_jeju_pilot_is_applied_once(ctx):
    first = registry.apply(JEJU)
    assert {k: v for k, v in first.created.items() if "pilot" in k or "feature" in k} == {
        "pilots": 1, "pilot participants": 7, "pilot phases": 3, "pilot planners": 5, "feature switches": 3}
    counts = _pilot_counts()
    second = registry.apply(JEJU)
    assert second.created == {} and second.updated == {}
    assert _pilot_counts() == counts

    codes = {t.code: t for t in db.session.scalars(select(Tenant))}
    with acting_as(codes["jeju-province"].id, None):
        workspace = db.session.scalar(select(Workspace).where(Workspace.code == "jeju-hanaro-2026"))
        assert workspace.name == "제주 통합복지하나로 시범사업"
        assert workspace.tenant_id == codes["jeju-province"].id
        taking_part = {p.participant_tenant_id for p in pilots.participants(workspace)}
        assert pilots.current_phase(workspace, date(2026, 11, 22)).phase is Phase.PILOT
        assert pilots.current_phase(workspace, date(2026, 4, 1)).phase is Phase.PREPARATION
        assert pilots.current_phase(workspace, date(2031, 1, 1)).phase is Phase.EVALUATION
        planners = pilots.planners(workspace)
    assert taking_part == {codes[c].id for c in ("hallim-dong", "aewol-dong", "namwon-dong", "halla-welfare",
                                                 "seogwipo-welfare", "jeju-foodbank", "dolbom-neighbours")}
    assert set(workspace.region_codes) == {codes[c].region_code for c in ("hallim-dong", "aewol-dong", "namwon-dong")}
    assert {p.name for p in planners if p.user_id} == {"정의뢰", "강남원"}
    # The demo keeps non-participants, and the switches follow the workspace.
    assert not taking_part & {codes["halla-care-home"].id, codes["jeju-health-centre"].id}
    switches = {s.key: s for s in db.session.scalars(select(FeatureSwitch))}
    assert {k: s.state for k, s in switches.items()} == {"pilot_feedback": SwitchState.PILOT,
                                                        "care_meetings": SwitchState.PILOT,
                                                        "pilot_metrics": SwitchState.EVERYONE}
    assert {s.workspace_id for s in switches.values()} == {workspace.id}
    for code, care_meetings in (("hallim-dong", True), ("halla-care-home", False), ("jeju-health-centre", False)):
        with acting_as(codes[code].id, None):
            assert features.is_enabled("care_meetings", codes[code].id) is care_meetings
            assert features.is_enabled("pilot_metrics", codes[code].id)


def test_changes_in_the_pilot_section_update_what_it_declares(ctx, tmp_path):
    registry.apply(JEJU)
    changed = tmp_path / "jeju.toml"
    changed.write_text(
        JEJU.read_text(encoding="utf-8")
        .replace('{ tenant = "aewol-dong", joined = 2026-03-01 }',
                 '{ tenant = "aewol-dong", joined = 2026-03-01, left = 2026-10-31 }')
        .replace('{ phase = "evaluation", start = 2027-01-01 }',
                 '{ phase = "evaluation", start = 2027-01-01, end = 2027-03-31 }')
        .replace('care_meetings = "pilot"', 'care_meetings = "everyone"'),
        encoding="utf-8",
    )
    report = registry.apply(changed)
    assert report.created == {}
    assert report.updated == {"pilot participants": 1, "pilot phases": 1, "feature switches": 1}
    aewol = db.session.scalar(select(Tenant).where(Tenant.code == "aewol-dong"))
    with acting_as(aewol.id, None):
        assert not features.takes_part(aewol.id, db.session.scalar(select(FeatureSwitch.workspace_id).limit(1)))


def _bad(tmp_path, *replacements) -> list[str]:
    text = JEJU.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    bad = tmp_path / "bad.toml"
    bad.write_text(text, encoding="utf-8")
    before = _pilot_counts()
    with pytest.raises(registry.RegistryError) as error:
        registry.apply(bad)
    assert _pilot_counts() == before
    return error.value.problems


def test_pilot_problems_are_reported_by_key_and_reason(ctx, tmp_path):
    problems = _bad(
        tmp_path,
        ('{ tenant = "jeju-foodbank", joined = 2026-04-01 }', '{ tenant = "no-such-ngo", joined = 2026-04-01 }'),
        ('coordinator = "jeju-province"', 'coordinator = "nobody"'),
        ('{ phase = "pilot", start = 2026-06-01, end = 2026-12-31 }', '{ phase = "pilot", start = 2026-05-01, end = 2026-12-31 }'),
        ('care_meetings = "pilot"', 'care_meetings = "pilot", teleport = "pilot"'),
        ('{ name = "박이웃", dong = "5011025300" }', '{ name = "박이웃", dong = "5013000000" }'),
    )
    assert problems == [
        "pilots[0].coordinator: unknown tenant 'nobody'",
        "pilots[0].participants[5].tenant: unknown tenant 'no-such-ngo'",
        "pilots[0].phases[1].start: overlaps phase 'preparation'",
        "pilots[0].planners[2].dong: '5013000000' is not one of the pilot's regions",
        "pilots[0].features.teleport: unknown feature (known: care_meetings, pilot_feedback, pilot_metrics)",
    ]


def test_unknown_phases_states_and_bad_dates_are_refused(ctx, tmp_path):
    problems = _bad(
        tmp_path,
        ('{ phase = "evaluation", start = 2027-01-01 }', '{ phase = "celebration", start = 2027-01-01 }'),
    )
    assert problems == ["pilots[0].phases[2].phase: Must be one of: preparation, pilot, evaluation, expansion."]
    problems = _bad(tmp_path, ('pilot_metrics = "everyone"', 'pilot_metrics = "sometimes"'))
    assert problems == ["pilots[0].features.pilot_metrics: unknown state 'sometimes' (one of: off, pilot, everyone)"]
    problems = _bad(
        tmp_path,
        ('{ phase = "preparation", start = 2026-03-01, end = 2026-05-31 }',
         '{ phase = "preparation", start = 2026-03-01, end = 2026-02-01 }'),
        ('{ phase = "evaluation", start = 2027-01-01 }', '{ phase = "evaluation", start = 2026-01-01, end = 2026-01-31 }'),
        ('{ tenant = "hallim-dong", joined = 2026-03-01 }', '{ tenant = "jeju-province", joined = 2026-03-01 }'),
        ('{ tenant = "namwon-dong", joined = 2026-03-01 }', '{ tenant = "namwon-dong", joined = 2026-03-01, left = 2026-02-01 }'),
        ('dong = "5013025300", email = "planner@namwon.demo"', 'dong = "5013025300", email = "ghost@nowhere.example"'),
    )
    assert problems == [
        "pilots[0].participants[0].tenant: 'jeju-province' runs the pilot; it is not also a participant",
        "pilots[0].participants[2].left: before joined",
        "pilots[0].phases[0].end: ends before it starts",
        "pilots[0].phases[2].start: starts before phase 'pilot', which comes first",
        "pilots[0].planners[3].email: unknown user 'ghost@nowhere.example'",
    ]


def test_a_feature_follows_one_workspace(ctx, tmp_path):
    second = ('\n[[pilots]]\ncode = "other-pilot"\nname = "다른 시범사업"\ncoordinator = "seogwipo-city"\n'
              'regions = ["5013025300"]\nfeatures = { care_meetings = "everyone" }\n')
    bad = tmp_path / "two.toml"
    bad.write_text(JEJU.read_text(encoding="utf-8") + second, encoding="utf-8")
    with pytest.raises(registry.RegistryError) as error:
        registry.load(bad)
    assert error.value.problems == [
        "pilots[1].features.care_meetings: already switched by pilots[0]; a feature follows one workspace"]


# -- who sees a workspace --------------------------------------------------------------------------------

def test_the_coordinating_tenant_sees_everything_of_its_workspace(world):
    page = world.client_for(world.province_worker).get("/pilots")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    for text in ("시범도 통합복지 시범사업", "시범도청", "가동", "나동", "가동 행정복지센터", "이웃나눔", "떠난복지관",
                 "참여 종료", "김플래너", "이플래너", "시범운영", "지역케어회의"):
        assert text in body, text
    assert 'aria-current="step"' in body
    # Only pilot coordinators get the management panels.
    assert "참여 기관 추가" not in world.client_for(world.province_worker).get(world.url()).get_data(as_text=True)
    managed = world.client_for(world.coordinator).get(world.url()).get_data(as_text=True)
    assert "참여 기관 추가" in managed and "기능 스위치" in managed and "단계 일정 저장" in managed


def test_a_participant_sees_the_workspace_but_only_its_own_participation(world):
    for user, own, others in ((world.dong_worker, "가동 행정복지센터", ("이웃나눔", "떠난복지관")),
                              (world.ngo_worker, "이웃나눔", ("가동 행정복지센터", "떠난복지관"))):
        client = world.client_for(user)
        for path in ("/pilots", world.url()):
            page = client.get(path)
            body = page.get_data(as_text=True)
            assert page.status_code == 200
            assert "시범도 통합복지 시범사업" in body and own in body and "김플래너" in body and "시범운영" in body
            assert not any(name in body for name in others), (user.display_name, path)
            assert "참여 기관 추가" not in body


def test_a_tenant_that_left_or_never_took_part_gets_the_empty_state_and_404(world):
    for user in (world.left_worker, world.outsider_admin):
        client = world.client_for(user)
        page = client.get("/pilots")
        body = page.get_data(as_text=True)
        assert page.status_code == 200
        assert "시범사업은 참여 기관으로 등록된 기관에만 열려 있습니다" in body
        assert "시범도 통합복지 시범사업" not in body
        assert client.get(world.url()).status_code == 404
        assert 'href="/pilots"' not in body.split("<main", 1)[0]  # no menu item either
        assert client.get("/pilots/does-not-exist").status_code == 404


def test_the_menu_shows_pilots_to_tenants_that_run_or_take_part(world):
    for user in (world.coordinator, world.province_worker, world.dong_worker, world.ngo_worker):
        header = world.client_for(user).get("/").get_data(as_text=True).split("<main", 1)[0]
        assert 'href="/pilots"' in header and "시범사업" in header, user.display_name


def _section_menu(client, url):
    page = client.get(url).get_data(as_text=True)
    if 'aria-label="시범사업 메뉴"' not in page:
        return None
    menu = page.split('aria-label="시범사업 메뉴"', 1)[1].split("</nav>", 1)[0]
    return re.findall(r'href="([^"]+)"', menu)


def test_the_pilot_screens_have_their_own_menu_by_feature_and_role(world):
    world.switch("pilot_feedback", SwitchState.PILOT)
    coordinator = _section_menu(world.client_for(world.coordinator), "/pilots")
    assert coordinator == ["/pilots", "/feedback/board", "/feedback/mine", "/care-meetings",
                           "/care-meetings/actions", "/pilot-metrics/"]
    participant = _section_menu(world.client_for(world.dong_worker), world.url())
    assert "/feedback/board" not in participant and "/feedback/mine" in participant and "/care-meetings" in participant
    world.switch("care_meetings", SwitchState.OFF)
    assert "/care-meetings" not in _section_menu(world.client_for(world.dong_worker), "/pilots")
    assert _section_menu(world.client_for(world.dong_worker), "/") is None  # only on the pilot screens
    for link in coordinator:  # every entry opens for the coordinator
        if "care-meetings" not in link:
            assert world.client_for(world.coordinator).get(link).status_code == 200, link


# -- what only the coordinators change -------------------------------------------------------------------

def _posts(world):
    return [
        (world.url("/participants"), {"tenant": world.outsider.code}),
        (world.url("/participants/leave"), {"tenant": world.dong.code}),
        (world.url("/phases"), {"pilot_start": "2020-01-01"}),
        (world.url("/planners"), {"name": "침입자", "dong_code": world.dong_a.code}),
        (world.url("/features"), {"key": "care_meetings", "state": "everyone"}),
    ]


def _snapshot(world):
    with world.make.app.app_context(), acting_as(world.province.id, None):
        return {
            "participants": sorted((p.participant_tenant_id, p.left_on) for p in db.session.scalars(select(Participant))
                                   if p.workspace_id == world.workspace.id),
            "phases": world.periods(),
            "planners": db.session.scalar(select(func.count()).select_from(VillagePlanner)
                                          .where(VillagePlanner.workspace_id == world.workspace.id)),
            "switch": db.session.scalar(select(FeatureSwitch.state).where(FeatureSwitch.key == "care_meetings")),
        }


def test_only_the_coordinating_tenants_pilot_coordinators_change_a_workspace(world):
    before = _snapshot(world)
    for user, status in ((world.dong_worker, 403), (world.dong_coordinator, 403), (world.province_worker, 403),
                         (world.ngo_worker, 403), (world.outsider_admin, 404), (world.left_worker, 404)):
        client = world.client_for(user)
        for url, data in _posts(world):
            assert client.post(url, data=data).status_code == status, (user.display_name, url)
    assert _snapshot(world) == before


def test_the_coordinator_adds_removes_and_takes_back_a_participant(world):
    coordinator = world.client_for(world.coordinator)
    response = coordinator.post(world.url("/participants"), data={"tenant": world.outsider.code})
    assert response.status_code == 303 and response.headers["Location"].endswith("#participants")
    assert world.participation(world.outsider).joined_on == TODAY
    assert world.client_for(world.outsider_admin).get(world.url()).status_code == 200

    assert coordinator.post(world.url("/participants/leave"), data={"tenant": world.dong.code}).status_code == 303
    assert world.participation(world.dong).left_on == TODAY
    dong = world.client_for(world.dong_worker)
    assert dong.get(world.url()).status_code == 404
    assert "시범도 통합복지 시범사업" not in dong.get("/pilots").get_data(as_text=True)

    rejoined_on = TODAY - timedelta(days=1)
    assert coordinator.post(world.url("/participants"), data={"tenant": world.left.code,
                                                              "joined_on": rejoined_on.isoformat()}).status_code == 303
    participation = world.participation(world.left)
    assert (participation.joined_on, participation.left_on) == (rejoined_on, None)
    assert world.client_for(world.left_worker).get(world.url()).status_code == 200
    page = coordinator.get(world.url()).get_data(as_text=True)
    assert page.count("참여 종료") >= 2  # the dong's badge, and the buttons of those taking part


@pytest.mark.parametrize("code, joined_on, field, message", [
    ("self", "2026-01-05", "tenant", "운영 기관은 참여 기관으로 추가하지 않습니다."),
    ("ngo", "2026-01-05", "tenant", "이미 참여 중인 기관입니다."),
    ("no-such-tenant", "2026-01-05", "tenant", "목록에 있는 기관을 고르세요."),
    ("outsider", (TODAY + timedelta(days=1)).isoformat(), "joined-on", "참여일은 오늘이나 그 이전이어야 합니다."),
])
def test_adding_a_participant_is_refused_with_the_reason_next_to_the_field(world, code, joined_on, field, message):
    code = {"self": world.province.code, "ngo": world.ngo.code, "outsider": world.outsider.code}.get(code, code)
    response = world.client_for(world.coordinator).post(world.url("/participants"),
                                                         data={"tenant": code, "joined_on": joined_on})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="participant-{field}-error">{message}' in body
    assert f'value="{joined_on}"' in body  # the input is kept
    assert world.participation(world.outsider) is None


def test_leaving_twice_is_refused(world):
    coordinator = world.client_for(world.coordinator)
    response = coordinator.post(world.url("/participants/leave"), data={"tenant": world.left.code})
    assert response.status_code == 422 and "참여 중인 기관이 아닙니다." in response.get_data(as_text=True)


def _phase_form(**overrides):
    form = {"preparation_start": "2026-03-01", "preparation_end": "2026-05-31", "pilot_start": "2026-06-01",
            "pilot_end": "2026-12-31", "evaluation_start": "2027-01-01", "evaluation_end": "",
            "expansion_start": "", "expansion_end": ""}
    return {**form, **overrides}


@pytest.mark.parametrize("overrides, field, message", [
    ({"pilot_start": "2026-05-01"}, "pilot_start", "준비 기간과 겹칩니다."),
    ({"preparation_end": ""}, "pilot_start", "준비 기간과 겹칩니다."),
    ({"pilot_end": "2026-05-01"}, "pilot_end", "종료일은 시작일과 같거나 그 뒤여야 합니다."),
    ({"expansion_end": "2027-06-30"}, "expansion_start", "종료일이 있으면 시작일도 입력하세요."),
    ({"expansion_start": "2026-01-01", "expansion_end": "2026-02-01"}, "expansion_start",
     "평가 단계보다 먼저 시작할 수 없습니다."),
    ({"evaluation_start": "2027-02-30"}, "evaluation_start", "날짜를 YYYY-MM-DD 형식으로 입력하세요."),
])
def test_phase_dates_are_checked_with_the_message_next_to_the_field(world, overrides, field, message):
    before = world.periods()
    response = world.client_for(world.coordinator).post(world.url("/phases"), data=_phase_form(**overrides))
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{field}-error">{message}' in body
    for value in overrides.values():
        assert f'value="{value}"' in body  # what was typed comes back
    assert world.periods() == before


def test_the_coordinator_saves_phase_dates_and_a_blank_phase_leaves_the_schedule(world):
    response = world.client_for(world.coordinator).post(world.url("/phases"), data=_phase_form(
        expansion_start="2027-07-01", evaluation_end="2027-06-30", preparation_start="", preparation_end=""))
    assert response.status_code == 303
    assert world.periods() == {Phase.PILOT: (date(2026, 6, 1), date(2026, 12, 31)),
                               Phase.EVALUATION: (date(2027, 1, 1), date(2027, 6, 30)),
                               Phase.EXPANSION: (date(2027, 7, 1), None)}


def test_the_coordinator_adds_a_planner_in_one_of_the_pilots_dongs(world):
    coordinator = world.client_for(world.coordinator)
    assert coordinator.post(world.url("/planners"), data={"name": "박새내기", "dong_code": world.dong_b.code}).status_code == 303
    assert "박새내기" in world.client_for(world.dong_worker).get("/pilots").get_data(as_text=True)
    elsewhere = world.make.region(name="다른동")
    response = coordinator.post(world.url("/planners"), data={"name": "엉뚱한", "dong_code": elsewhere.code})
    assert response.status_code == 422
    assert 'id="planner-dong-error">시범사업 지역 가운데서 고르세요.' in response.get_data(as_text=True)
    response = coordinator.post(world.url("/planners"), data={"dong_code": world.dong_a.code})
    assert response.status_code == 422 and 'id="planner-name-error">필수 입력 항목입니다.' in response.get_data(as_text=True)


def test_the_switch_panel_records_who_changed_what_and_answers_htmx_with_the_panel(world):
    coordinator = world.client_for(world.coordinator)
    response = coordinator.post(world.url("/features"), data={"key": "pilot_feedback", "state": "pilot"},
                                headers={"HX-Request": "true", "HX-Target": "feature-switches"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<section id="feature-switches"' in body and "<html" not in body and "<main" not in body
    # The overview's feature table is brought up to date out of band.
    assert f'id="workspace-{world.workspace.public_id}-feature-table" hx-swap-oob="true"' in body
    assert "현장 의견 보내기: 시범 기관만(으)로 바꿨습니다." in body and "고코디" in body
    with world.make.app.app_context():
        switch = db.session.scalar(select(FeatureSwitch).where(FeatureSwitch.key == "pilot_feedback"))
    assert (switch.state, switch.workspace_id, switch.changed_by_user_id) == (
        SwitchState.PILOT, world.workspace.id, world.coordinator.id)
    assert (clock.today() - switch.changed_at.date()).days <= 1

    response = coordinator.post(world.url("/features"), data={"key": "pilot_feedback", "state": "sometimes"})
    assert response.status_code == 422 and 'id="switch-pilot_feedback-error">목록에 있는 값을 고르세요.' in response.get_data(as_text=True)
    response = coordinator.post(world.url("/features"), data={"key": "teleport", "state": "off"})
    assert response.status_code == 422


def test_a_switch_another_workspace_follows_is_not_this_coordinators_to_change(world, make):
    other = PilotWorld(make)  # takes over care_meetings
    response = world.client_for(world.coordinator).post(world.url("/features"),
                                                        data={"key": "care_meetings", "state": "off"})
    assert response.status_code == 422 and "다른 시범사업이 관리하는 기능입니다." in response.get_data(as_text=True)
    with make.app.app_context():
        switch = db.session.scalar(select(FeatureSwitch).where(FeatureSwitch.key == "care_meetings"))
    assert (switch.state, switch.workspace_id) == (SwitchState.PILOT, other.workspace.id)


def test_coordinator_forms_need_the_csrf_token(database_config, world):
    from .conftest import make_app

    csrf_app = make_app(database_config, WTF_CSRF_ENABLED=True)
    client = csrf_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    from .helpers import csrf_token_from

    token = csrf_token_from(page)
    assert client.post("/login", data={"email": world.coordinator.email, "password": "correct horse battery",
                                       "csrf_token": token}).status_code == 303
    before = _snapshot(world)
    assert client.post(world.url("/features"), data={"key": "care_meetings", "state": "everyone"}).status_code == 400
    assert _snapshot(world) == before
    token = csrf_token_from(client.get(world.url()).get_data(as_text=True))
    assert client.post(world.url("/features"), data={"key": "care_meetings", "state": "everyone",
                                                     "csrf_token": token}).status_code == 303


# -- feature switches, read in one place -------------------------------------------------------------------

@pytest.fixture(scope="module")
def beta_app(database_config):
    """A fresh app with a screen behind the care_meetings switch (Flask refuses new routes once an
    app has served a request)."""
    from .conftest import make_app

    app = make_app(database_config)
    beta = Blueprint("beta_test", __name__)

    @beta.get("/beta-test/care-meetings")
    @tenant_member()
    @behind_feature("care_meetings")
    def care_meetings_beta():
        return "베타 화면"

    app.register_blueprint(beta)
    return app


def _beta_statuses(world, beta_app):
    users = {"coordinator": world.coordinator, "participant": world.dong_worker, "ngo": world.ngo_worker,
             "left": world.left_worker, "outsider": world.outsider_admin}
    return {name: world.client_for(user, beta_app).get("/beta-test/care-meetings").status_code
            for name, user in users.items()}


def test_a_pilot_only_screen_exists_only_for_the_workspaces_tenants(world, beta_app):
    assert _beta_statuses(world, beta_app) == {"coordinator": 200, "participant": 200, "ngo": 200, "left": 404,
                                               "outsider": 404}
    world.switch("care_meetings", SwitchState.OFF)
    assert set(_beta_statuses(world, beta_app).values()) == {404}
    world.switch("care_meetings", SwitchState.EVERYONE)
    assert set(_beta_statuses(world, beta_app).values()) == {200}


def test_with_no_switch_row_the_features_default_applies(world, beta_app):
    with world.make.app.app_context():
        db.session.execute(FeatureSwitch.__table__.delete())
        db.session.commit()
    assert set(_beta_statuses(world, beta_app).values()) == {404}  # care_meetings is off by default
    with world.make.app.app_context(), acting_as(world.outsider.id, None):
        assert features.is_enabled("pilot_metrics", world.outsider.id)  # on by default


def test_the_switch_panel_takes_effect_at_once(world, beta_app):
    outsider = world.client_for(world.outsider_admin, beta_app)
    assert outsider.get("/beta-test/care-meetings").status_code == 404
    coordinator = world.client_for(world.coordinator, beta_app)
    assert coordinator.post(world.url("/features"), data={"key": "care_meetings", "state": "everyone"}).status_code == 303
    assert outsider.get("/beta-test/care-meetings").status_code == 200
    assert coordinator.post(world.url("/features"), data={"key": "care_meetings", "state": "off"}).status_code == 303
    assert coordinator.get("/beta-test/care-meetings").status_code == 404
    # Taking part is read at once too: the outsider joins, the dong centre leaves.
    assert coordinator.post(world.url("/features"), data={"key": "care_meetings", "state": "pilot"}).status_code == 303
    assert coordinator.post(world.url("/participants"), data={"tenant": world.outsider.code}).status_code == 303
    assert coordinator.post(world.url("/participants/leave"), data={"tenant": world.dong.code}).status_code == 303
    assert outsider.get("/beta-test/care-meetings").status_code == 200
    assert world.client_for(world.dong_worker, beta_app).get("/beta-test/care-meetings").status_code == 404


def test_a_switch_is_read_once_per_request(world, app):
    with app.test_request_context(), acting_as(world.dong.id, world.dong_worker.id):
        with count_queries() as first:
            assert features.is_enabled("care_meetings", world.dong.id)
        with count_queries() as again:
            for _ in range(5):
                assert features.is_enabled("care_meetings", world.dong.id)
        assert first() >= 1 and again() == 0
    with app.test_request_context(), acting_as(world.dong.id, world.dong_worker.id):  # a new request reads again
        with count_queries() as next_request:
            assert features.is_enabled("care_meetings", world.dong.id)
        assert next_request() == first()
