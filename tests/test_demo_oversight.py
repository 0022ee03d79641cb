"""The demo oversight history: facilities of 제주시청 and 서귀포시청 with inspections, corrective
actions in every state, sanctions with corrections and grades A to F, loaded through the oversight
services as each tenant's user under the tenancy rules; 한라요양원 sees its own records and nothing
else, an NGO nothing at all; loaded once however often the loader runs, in demo mode only."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hanaro.core import clock
from hanaro.core.db import db
from hanaro.demo import oversight
from hanaro.oversight import actions, inspections, sanctions
from hanaro.oversight.models import (
    ActionEvent, ActionState, ChecklistTemplate, ChecklistTemplateItem, CorrectiveAction, Evaluation, Facility,
    FacilityStatus, Finding, Inspection, InspectionKind, InspectionStatus, OversightFile, Sanction,
)
from hanaro.tenancy import registry
from hanaro.tenancy.context import acting_as
from hanaro.tenancy.models import Tenant

from .helpers import login
from .test_campaigns_figure_screens import tables

JEJU = Path(__file__).resolve().parents[1] / "tenants" / "jeju-pilot.toml"
PASSWORD = "hanaro-demo-2026"
MODELS = (Facility, FacilityStatus, ChecklistTemplate, Inspection, Finding, CorrectiveAction, ActionEvent,
          OversightFile, Sanction, Evaluation)


@pytest.fixture
def loaded(ctx):
    registry.apply(JEJU, demo=True)
    result = oversight.apply()
    return result, oversight.World.find()


def _tenant(code: str) -> Tenant:
    return db.session.scalar(select(Tenant).where(Tenant.code == code))


def _all(tenant: Tenant, model) -> list:
    with acting_as(tenant.id, None):
        return list(db.session.scalars(select(model)))


def _counts(tenant: Tenant) -> Counter:
    with acting_as(tenant.id, None):
        return Counter({m.__name__: db.session.scalar(select(func.count()).select_from(m)) for m in MODELS})


def test_facilities_of_several_kinds_one_on_the_platform(loaded):
    _result, world = loaded
    city, seogwipo = world.supervisors["jeju-city"], world.supervisors["seogwipo-city"]
    facilities = _all(world.province, Facility)
    assert Counter(f.tenant_id for f in facilities) == {city.id: 5, seogwipo.id: 2}
    assert len({f.facility_type for f in facilities if f.tenant_id == city.id}) == 4
    assert [f.name for f in facilities if f.facility_tenant_id == world.facility_tenant.id] == ["한라요양원"]
    assert {f.operator_kind.value for f in facilities} == {"corporation", "individual"}


def test_corrective_actions_in_every_state(loaded):
    result, world = loaded
    today = clock.today()
    with oversight.as_member(world.supervisors["jeju-city"], world.inspectors["jeju-city"]):
        city_actions = list(db.session.scalars(select(CorrectiveAction)))
        states = Counter(a.state for a in city_actions)
        overdue = [a for a in city_actions if actions.is_overdue(a, today)]
        open_not_due = [a for a in city_actions if a.state is ActionState.REQUESTED and a.due_on >= today]
        returned = next(a for a in city_actions if a.state is ActionState.RETURNED)
        assert len(overdue) == 1 and overdue[0].facility.name == "한라요양원" and "소방" in overdue[0].finding.description
    assert {ActionState.ACCEPTED, ActionState.ANSWERED, ActionState.RETURNED, ActionState.CANCELLED} <= set(states)
    assert open_not_due and all(not actions.is_overdue(a, today) for a in open_not_due)
    assert returned.return_reason and returned.answer and returned.due_on >= today
    # 서귀포시청 has its own overdue action; the province counts both.
    assert result["overdue"] == 2 and result["actions"]["requested"] == 3
    assert result["actions"]["accepted"] >= 10 and result["actions"]["cancelled"] == 1


def test_inspections_past_cancelled_upcoming_and_a_follow_up_of_open_findings(loaded):
    _result, world = loaded
    today = clock.today()
    rows = _all(world.supervisors["jeju-city"], Inspection)
    statuses = Counter(i.status for i in rows)
    assert statuses[InspectionStatus.COMPLETED] == 8 and statuses[InspectionStatus.CANCELLED] == 1
    assert {i.kind for i in rows} == set(InspectionKind)
    assert any(i.conducted_on and (today - i.conducted_on).days > 365 for i in rows)  # about a year ago
    assert any(i.conducted_on and (today - i.conducted_on).days < 100 for i in rows)  # and recently
    upcoming = [i for i in rows if i.status is InspectionStatus.PLANNED]
    assert upcoming and all(i.planned_on > today for i in upcoming)
    follow_up = next(i for i in rows if i.kind is InspectionKind.FOLLOW_UP)
    with acting_as(world.supervisors["jeju-city"].id, None):
        confirmed = list(db.session.scalars(select(Finding).where(Finding.id.in_(follow_up.source_finding_ids))))
        assert all(f.action.is_open for f in confirmed) and len(confirmed) == 2
        # The inspections used the city's own checklists: one copied from another and edited.
        edited = db.session.scalar(select(ChecklistTemplate).where(ChecklistTemplate.copied_from_id.is_not(None)))
        source = db.session.get(ChecklistTemplate, edited.copied_from_id)
        assert len(edited.items) == len(source.items) + 2 and edited.name != source.name
        assert db.session.scalar(select(func.count()).select_from(ChecklistTemplateItem)) > 0
        report = inspections.report(next(i for i in rows if i.checklist_name == edited.name))
        assert report.counts["non_compliant"] == len(report.findings) == 4


def test_sanctions_with_a_correction_chain_and_grades_from_a_to_f(loaded):
    result, world = loaded
    with acting_as(world.supervisors["jeju-city"].id, None):
        rows = list(db.session.scalars(select(Sanction)))
        in_force = sanctions.in_force()
    corrections = [s for s in rows if s.corrects_id is not None]
    assert len(corrections) == 2 and sum(s.withdraws for s in corrections) == 1
    fine = next(s for s in corrections if not s.withdraws)
    assert (fine.amount, next(s for s in rows if s.id == fine.corrects_id).amount) == (1_500_000, 3_000_000)
    assert fine in in_force and not any(s.withdraws for s in in_force)
    assert {s.appeal_status.value for s in rows} >= {"none", "objection", "overturned"}
    assert result["grades"] == {"A": 2, "B": 2, "C": 1, "D": 1, "F": 1}
    assert result["sanctions"] == {"recorded": 5, "corrections": 2, "withdrawn": 1}


def test_the_facility_sees_its_own_records_and_no_others(loaded):
    _result, world = loaded
    home = world.facility_tenant
    mine = _all(home, Facility)
    assert [f.name for f in mine] == ["한라요양원"]
    for model in (FacilityStatus, Inspection, Finding, CorrectiveAction, ActionEvent, OversightFile, Sanction,
                  Evaluation):
        rows = _all(home, model)
        assert rows and {r.facility_id for r in rows} == {mine[0].id}, model.__name__
    with oversight.as_member(home, world.facility_user):
        own = actions.open_actions()
        assert len(own) == 4 and len(actions.overdue_actions()) == 1
        # It answered with evidence, and what it may do now follows the state.
        returned = next(a for a in own if a.state is ActionState.RETURNED)
        assert actions.available_actions(returned) == ["answer"]
    assert len(_all(home, OversightFile)) == 1
    assert _all(home, ChecklistTemplate) == []  # the municipality's checklists are its own


def test_an_ngo_and_another_facility_kind_of_tenant_see_nothing(loaded):
    for code in ("jeju-foodbank", "halla-welfare", "hallim-dong"):
        assert sum(_counts(_tenant(code)).values()) == 0, code
    # 서귀포시청 sees its own two facilities only; 제주시청 its five.
    assert _counts(_tenant("seogwipo-city"))["Facility"] == 2
    assert _counts(_tenant("jeju-city"))["Facility"] == 5


def test_loading_again_adds_nothing(loaded):
    result, world = loaded
    before = _counts(world.province)
    again = oversight.apply()
    assert again == {**result, "facilities": 0}
    assert oversight.summary(again).startswith("oversight: already present — facilities 7; inspections planned 4, "
                                               "completed 11, cancelled 1;")
    assert _counts(world.province) == before


def test_the_loader_needs_the_registry_first(ctx):
    with pytest.raises(oversight.MissingDemoData, match="flask tenants apply --demo"):
        oversight.apply()


def test_the_cli_loads_in_demo_mode_only_and_once(app, monkeypatch):
    runner = app.test_cli_runner()
    with app.app_context():
        registry.apply(JEJU, demo=True)
        db.session.commit()
    monkeypatch.setitem(app.config, "HANARO_DEMO", False)
    result = runner.invoke(args=["demo", "oversight"])
    assert result.exit_code != 0 and "demo mode" in result.output
    monkeypatch.setitem(app.config, "HANARO_DEMO", True)
    result = runner.invoke(args=["demo", "oversight"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        "oversight: added 7 facilities — facilities 7; inspections planned 4, completed 11, cancelled 1; corrective "
        "actions requested 3, answered 1, returned 1, accepted 12, cancelled 1 (2 overdue); sanctions 5 "
        "(2 corrections, 1 withdrawn); grades A 2, B 2, C 1, D 1, F 1")
    result = runner.invoke(args=["demo", "oversight"])
    assert result.exit_code == 0 and result.output.startswith("oversight: already present")


def test_the_province_reads_the_figures_and_the_facility_gets_404(app):
    with app.app_context():
        registry.apply(JEJU, demo=True)
        oversight.apply()
        db.session.commit()
    province = app.test_client()
    assert login(province, "coordinator@jeju.demo", PASSWORD).status_code == 303
    html = province.get("/oversight/figures/").get_data(as_text=True)
    assert tables(html)["overdue-actions"][1:] == [["서귀포시청", "1"], ["제주시청", "1"], ["합계", "2"]]
    home = app.test_client()
    assert login(home, "admin@carehome.demo", PASSWORD).status_code == 303
    assert home.get("/oversight/figures/").status_code == 404
