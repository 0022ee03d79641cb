"""Who sees a resource: every sharing scope × every kind of viewer, through the ORM filter (and,
on PostgreSQL, RLS underneath); staff-only fields by the narrower staff scope."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from hanaro.core.db import db
from hanaro.resources import service
from hanaro.resources.models import Resource, Scope
from hanaro.tenancy.context import acting_as, anonymous

from .factories import _Actor

SCOPES = [s.value for s in Scope]


@pytest.fixture
def world(app, make):
    """A registrant; a partner with an agreement covering resources; partners whose agreement is
    expired, revoked, covers only cases, or was proposed and not (or never) accepted; a tenant of the same province; one of another."""
    jeju = make.region(code="9600000000", name="시험도", level="province")
    other = make.region(code="9500000000", name="다른도", level="province")
    registrant = make.tenant(name="등록기관", region=jeju)
    viewers = {
        "partner": make.tenant(name="협약기관", region=other),
        "expired_partner": make.tenant(name="만료협약기관", region=other),
        "revoked_partner": make.tenant(name="해지협약기관", region=other),
        "case_only_partner": make.tenant(name="사례협약기관", region=other),
        "proposed_partner": make.tenant(name="제안받은기관", region=other),
        "declined_partner": make.tenant(name="거절한기관", region=other),
        "same_region": make.tenant(name="같은지역", region=jeju),
        "other_region": make.tenant(name="다른지역", region=other),
    }
    make.agreement(registrant, viewers["partner"], record_kinds=["resource"])
    make.agreement(viewers["expired_partner"], registrant, record_kinds=["resource"], valid_to=date(2021, 1, 1))
    revoked = make.agreement(registrant, viewers["revoked_partner"], record_kinds=["resource"])
    make.agreement(registrant, viewers["case_only_partner"], record_kinds=["case"])
    make.agreement(registrant, viewers["proposed_partner"], record_kinds=["resource"], status="proposed")
    make.agreement(viewers["declined_partner"], registrant, record_kinds=["resource"], status="declined")
    from hanaro.tenancy import service as tenancy

    with app.app_context(), acting_as(registrant.id, None):
        tenancy.revoke_agreement(tenancy.get_agreement_or_404(revoked.public_id), "종료", _Actor(None))
        resources = {}
        for scope in SCOPES:
            resource = service.register(
                {"name": f"자원-{scope}", "description": "시험", "scope": scope, "staff_scope": "private",
                 "contact_person": "담당자김", "direct_phone": "064-000-0000", "remaining_slots": 3}, _Actor(None))
            resources[scope] = resource.public_id
        db.session.commit()
    return registrant, viewers, resources


EXPECTED = {  # viewer -> scopes it sees
    "registrant": set(SCOPES),
    "partner": {"partners", "platform", "public"},
    "expired_partner": {"platform", "public"},
    "revoked_partner": {"platform", "public"},
    "case_only_partner": {"platform", "public"},
    "proposed_partner": {"platform", "public"},
    "declined_partner": {"platform", "public"},
    "same_region": {"region", "platform", "public"},
    "other_region": {"platform", "public"},
    "anonymous": {"public"},
}


def _visible_scopes(app, tenant_id):
    context = acting_as(tenant_id, None) if tenant_id else anonymous()
    with app.app_context(), context:
        return {r.scope.value for r in db.session.scalars(select(Resource))}


@pytest.mark.parametrize("viewer", sorted(EXPECTED))
def test_each_scope_reaches_exactly_who_it_should(app, world, viewer):
    registrant, viewers, _ = world
    tenant_id = {"registrant": registrant.id, "anonymous": None}[viewer] if viewer in ("registrant", "anonymous") \
        else viewers[viewer].id
    assert _visible_scopes(app, tenant_id) == EXPECTED[viewer]


def test_a_scope_change_takes_effect_at_once(app, world):
    registrant, viewers, resources = world
    with app.app_context(), acting_as(registrant.id, None):
        resource = service.own_resource_or_404(resources["private"])
        service.change_scope(resource, "region", "private", _Actor(None))
        db.session.commit()
    assert "private" not in _visible_scopes(app, viewers["same_region"].id)
    with app.app_context(), acting_as(viewers["same_region"].id, None):
        assert service.get_resource_or_404(resources["private"]).name == "자원-private"


def test_staff_only_fields_follow_the_narrower_staff_scope(app, world):
    registrant, viewers, resources = world
    with app.app_context(), acting_as(registrant.id, None):
        resource = service.own_resource_or_404(resources["public"])
        service.change_scope(resource, "public", "partners", _Actor(None))
        db.session.commit()
    cases = {registrant.id: True, viewers["partner"].id: True, viewers["same_region"].id: False,
             viewers["expired_partner"].id: False}
    for tenant_id, visible in cases.items():
        with app.app_context(), acting_as(tenant_id, None):
            assert service.staff_fields_visible(service.get_resource_or_404(resources["public"])) is visible
    with app.app_context(), anonymous():
        assert service.staff_fields_visible(service.get_resource_or_404(resources["public"])) is False


def test_staff_scope_cannot_be_wider_than_the_resource(app, world):
    registrant, _, resources = world
    from hanaro.core.rules import RuleViolation

    with app.app_context(), acting_as(registrant.id, None):
        resource = service.own_resource_or_404(resources["partners"])
        with pytest.raises(RuleViolation, match="넓을 수 없습니다"):
            service.change_scope(resource, "partners", "public", _Actor(None))


def test_stale_listings_are_hidden_from_others_until_verified(app, world):
    registrant, viewers, resources = world
    with app.app_context(), acting_as(registrant.id, None):
        resource = service.own_resource_or_404(resources["platform"])
        resource.last_verified_on = date(2020, 1, 1)
        db.session.commit()
    with app.app_context(), acting_as(viewers["other_region"].id, None):
        from werkzeug.exceptions import NotFound

        with pytest.raises(NotFound):
            service.get_resource_or_404(resources["platform"])
    with app.app_context(), acting_as(registrant.id, None):
        resource = service.own_resource_or_404(resources["platform"])  # the owner still sees it
        service.verify(resource, _Actor(None))
        db.session.commit()
    with app.app_context(), acting_as(viewers["other_region"].id, None):
        assert service.get_resource_or_404(resources["platform"])


def test_edits_are_recorded_with_before_and_after(app, world):
    registrant, _, resources = world
    with app.app_context(), acting_as(registrant.id, None):
        resource = service.own_resource_or_404(resources["private"])
        service.update(resource, {"name": "김장김치 나눔", "remaining_slots": 2}, _Actor(None))
        db.session.commit()
        entries = service.history(resource)
        assert entries[0].action == "updated"
        assert entries[0].changes == {"name": ["자원-private", "김장김치 나눔"], "remaining_slots": [3, 2]}


def test_bad_values_are_refused_with_korean_reasons(app, world):
    registrant, _, resources = world
    from hanaro.core.rules import RuleViolation

    with app.app_context(), acting_as(registrant.id, None):
        resource = service.own_resource_or_404(resources["private"])
        for values, field in (({"remaining_slots": -1}, "remaining_slots"), ({"min_age": 70, "max_age": 65}, "max_age"),
                              ({"schedule": [{"weekday": 0, "opens": "18:00", "closes": "09:00"}]}, "schedule")):
            with pytest.raises(RuleViolation) as error:
                service.update(resource, values, _Actor(None))
            assert error.value.field == field


# -- the same matrix on the screens: lists, search results, detail pages, staff-only fields, directory ------

STAFF_PHONES = {scope: f"064-777-00{i:02d}" for i, scope in enumerate(SCOPES)}


@pytest.fixture
def staffed(app, world):
    """Beside each resource of ``world``, one whose staff-only fields reach as far as the resource."""
    registrant, _viewers, _resources = world
    with app.app_context(), acting_as(registrant.id, None):
        for scope in SCOPES:
            service.register({"name": f"직통-{scope}", "description": "시험", "scope": scope, "staff_scope": scope,
                              "direct_phone": STAFF_PHONES[scope]}, _Actor(None))
        db.session.commit()
    return world


def _shown(text: str, prefix: str) -> set[str]:
    return {scope for scope in SCOPES if f">{prefix}-{scope}</" in text}


@pytest.mark.parametrize("viewer", sorted(set(EXPECTED) - {"anonymous"}))
def test_screens_show_each_viewer_exactly_its_scopes(app, make, staffed, viewer):
    from .helpers import login

    registrant, viewers, resources = staffed
    tenant = registrant if viewer == "registrant" else viewers[viewer]
    user = make.member(tenant, roles=["case_manager"])
    client = app.test_client()
    login(client, user.email)
    expected = EXPECTED[viewer]

    listing = client.get("/resources", query_string={"tab": "own" if viewer == "registrant" else "shared"})
    assert _shown(listing.get_data(as_text=True), "자원") == expected
    found = client.get("/resources/search").get_data(as_text=True)
    assert _shown(found, "자원") == expected
    for scope, public_id in resources.items():
        page = client.get(f"/resources/{public_id}")
        assert page.status_code == (200 if scope in expected else 404), scope
        if page.status_code == 200:
            assert ("담당자김" in page.get_data(as_text=True)) is (viewer == "registrant")
    phones_in_search = {scope for scope, phone in STAFF_PHONES.items() if phone in found}
    assert phones_in_search == expected


def test_the_directory_shows_only_public_resources_and_no_staff_fields(client, staffed):
    text = client.get("/directory").get_data(as_text=True)
    assert _shown(text, "자원") == {"public"} and _shown(text, "직통") == {"public"}
    assert not any(phone in text for phone in STAFF_PHONES.values())
