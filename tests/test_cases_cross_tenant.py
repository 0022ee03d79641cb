"""Every cases route and fragment answers 404 to a tenant that may not see the object, and
changes nothing: outsiders, tenants only invited, and tenants that left the team."""
from __future__ import annotations

import pytest
from flask import url_for
from sqlalchemy import func, select

from hanaro.cases.models import Case, CaseEvent, CaseMember, CaseNote, ConferenceTask, PlannedService

from .test_access_rules import OBJECT_ROUTE

# endpoint -> (method, the object whose public id is in the URL)
ROUTES = {
    "cases.case": ("GET", "case"), "cases.assessment": ("GET", "case"), "cases.plan": ("GET", "case"),
    "cases.notes": ("GET", "case"), "cases.conferences": ("GET", "case"), "cases.timeline": ("GET", "case"),
    "cases.update_details": ("POST", "case"), "cases.change_status": ("POST", "case"), "cases.close": ("POST", "case"),
    "cases.reopen": ("POST", "case"), "cases.invite": ("POST", "case"), "cases.leave": ("POST", "case"),
    "cases.save_assessment": ("POST", "case"), "cases.add_goal": ("POST", "case"),
    "cases.add_service": ("POST", "case"), "cases.add_note": ("POST", "case"),
    "cases.add_conference": ("POST", "case"), "cases.assessment_version": ("GET", "assessment"),
    "cases.remove_member": ("POST", "case_member"), "cases.invitation": ("GET", "case_member"),
    "cases.accept_invitation": ("POST", "case_member"), "cases.decline_invitation": ("POST", "case_member"),
    "cases.goal_status": ("POST", "goal"), "cases.service_status": ("POST", "planned_service"),
    "cases.add_task": ("POST", "conference"), "cases.complete_task": ("POST", "task"),
    "cases.integrated_view": ("GET", "client"),
}
INVITATION_ROUTES = {"cases.invitation", "cases.accept_invitation", "cases.decline_invitation"}
# Everything a write could want, so a route that forgot its check would act.
ATTACK = {"status": "closed", "closure_reason": "other", "closure_evaluation": "침입", "reason": "침입", "tenant": "x",
          "risk_level": "low", "lead_worker": "x", "visibility": "team", "body": "침입 메모", "domain": "economy",
          "goal": "침입", "description": "침입", "provider_name": "침입", "held_on": "2026-01-01", "attendees": "침입",
          "agenda": "침입", "note": "침입", "worker": "x", "assessed_on": "2026-01-01"}
# Fragment requests: the same URLs with htmx headers must not leak either.
HX_TARGETS = ("case-tabs", "timeline-list", "case-results")
SECRETS = ("김하나", "500517-2", "생계 안정", "가기관 내부 메모", "긴급생계비", "한라종합사회복지관")


def test_every_cases_object_route_is_listed_here(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("cases.") and OBJECT_ROUTE.search(r.rule)}
    assert endpoints == set(ROUTES)


@pytest.fixture
def world(make):
    world = make.case_world()
    world.objects = {"client": world.person,
                     **make.case_objects(world.person, world.lead_worker, world.partner, world.partner_worker,
                                         case=world.case)}
    world.case = world.objects["case"]
    return world


def url_of(app, world, endpoint):
    method, kind = ROUTES[endpoint]
    with app.test_request_context():
        return method, url_for(endpoint, public_id=world.objects[kind].public_id)


def state(make, world) -> dict:
    """Tenant A's case, read as tenant A."""
    with make.as_tenant(world.lead) as session:
        case = session.get(Case, world.case.id)
        return {
            "status": case.status.value,
            "risk": case.risk_level.value,
            "events": session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case.id)),
            "notes": session.scalar(select(func.count()).select_from(CaseNote).where(CaseNote.case_id == case.id)),
            "members": sorted(m.status.value for m in session.scalars(select(CaseMember).where(CaseMember.case_id == case.id))),
            "service": session.get(PlannedService, world.objects["planned_service"].id).status.value,
            "task_done": session.get(ConferenceTask, world.objects["task"].id).done_at is not None,
        }


def assert_refused(app, browser, world, endpoint, before, make):
    method, url = url_of(app, world, endpoint)
    for headers in [{}] + [{"HX-Request": "true", "HX-Target": t} for t in HX_TARGETS]:
        response = browser.open(url, method=method, data=ATTACK, headers=headers)
        assert response.status_code == 404, (endpoint, headers)
        body = response.get_data(as_text=True)
        for secret in SECRETS:
            assert secret not in body, (endpoint, secret)
    assert state(make, world) == before, endpoint


@pytest.mark.parametrize("endpoint", sorted(ROUTES))
def test_an_outsider_gets_404_on_every_route_and_changes_nothing(app, make, world, endpoint):
    before = state(make, world)
    assert_refused(app, world.signed_in(world.outsider_worker), world, endpoint, before, make)


def test_an_invited_tenant_sees_only_its_invitation(app, make):
    world = make.case_world()
    member = world.join_partner(accept=False)
    world.objects = {"client": world.person, "case": world.case, "case_member": member}
    partner = world.signed_in(world.partner_worker)
    before = state_of_case(make, world)
    for endpoint, (method, kind) in ROUTES.items():
        if kind not in ("case", "client") or endpoint in INVITATION_ROUTES:
            continue
        _, url = url_of(app, world, endpoint)
        response = partner.open(url, method=method, data=ATTACK)
        assert response.status_code == 404, endpoint
        assert "김하나" not in response.get_data(as_text=True)
    assert partner.get(url_of(app, world, "cases.invitation")[1]).status_code == 200
    assert state_of_case(make, world) == before


def state_of_case(make, world) -> dict:
    with make.as_tenant(world.lead) as session:
        case = session.get(Case, world.case.id)
        return {"status": case.status.value,
                "events": session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case.id))}


@pytest.mark.parametrize("endpoint", sorted(set(ROUTES) - INVITATION_ROUTES))
def test_a_tenant_that_left_the_team_gets_404_everywhere(app, make, world, endpoint):
    partner = world.signed_in(world.partner_worker)
    assert partner.post(f"/cases/{world.case.public_id}/leave").status_code == 303
    before = state(make, world)
    assert_refused(app, partner, world, endpoint, before, make)


def test_a_missing_case_and_another_tenants_case_answer_the_same(world):
    outsider = world.signed_in(world.outsider_worker)
    missing = outsider.get("/cases/does-not-exist-00")
    foreign = outsider.get(f"/cases/{world.case.public_id}")
    assert missing.status_code == foreign.status_code == 404
    from .test_cross_tenant import _without_csrf

    assert _without_csrf(missing.get_data(as_text=True)) == _without_csrf(foreign.get_data(as_text=True))
