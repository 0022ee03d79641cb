"""The demo catalogue: a few dozen valid Jeju listings across kinds, scopes, capacities and
freshness, loaded once however often the loader runs."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from hanaro.accounts.models import User
from hanaro.cases.models import NeedDomain
from hanaro.core.db import db
from hanaro.demo import catalogue
from hanaro.notifications.models import Notification
from hanaro.resources import reminders, service
from hanaro.resources.models import Resource
from hanaro.tenancy import registry
from hanaro.tenancy.context import acting_as
from hanaro.tenancy.models import Region, Tenant

JEJU = Path(__file__).resolve().parents[1] / "tenants" / "jeju-pilot.toml"
PHONE = re.compile(r"^064-\d{3,4}-\d{4}$")


@pytest.fixture
def loaded(ctx):
    registry.apply(JEJU, demo=True)
    created = catalogue.apply()
    tenants = {t.code: t for t in db.session.scalars(select(Tenant))}
    return created, tenants


def _own(tenant) -> list[Resource]:
    with acting_as(tenant.id, None):
        return db.session.scalars(select(Resource).where(Resource.tenant_id == tenant.id)).all()


def _all(tenants) -> list[Resource]:
    return [r for code in catalogue.CATALOGUE for r in _own(tenants[code])]


def test_a_few_dozen_listings_across_tenants_kinds_and_scopes(loaded):
    created, tenants = loaded
    assert created == {"jeju-foodbank": 8, "dolbom-neighbours": 7, "halla-welfare": 7, "seogwipo-welfare": 5,
                       "jeju-health-centre": 3, "hallim-dong": 2, "jeju-city": 2, "halla-care-home": 2}
    resources = _all(tenants)
    assert len(resources) == 36
    assert Counter(r.kind.value for r in resources) == {"service": 28, "in_kind": 8}
    assert Counter(r.scope.value for r in resources) == {
        "private": 3, "partners": 7, "region": 11, "platform": 7, "public": 8}
    assert Counter(r.capacity.value for r in resources) == {"available": 27, "waitlist": 5, "full": 4}
    assert sum(1 for r in resources if r.contact_person and r.direct_phone) >= 18


def test_the_catalogue_holds_the_promised_donations(loaded):
    _, tenants = loaded
    by_name = {r.name: r for r in _all(tenants)}
    kimchi = by_name["김장김치 나눔"]
    assert (kimchi.kind.value, kimchi.quantity, kimchi.quantity_unit) == ("in_kind", 100, "상자")
    assert kimchi.organization_name and kimchi.valid_from < kimchi.valid_until
    assert {"이웃사랑 쌀 나눔 (10kg)", "겨울 연탄 나눔", "저소득층 난방비 지원"} <= set(by_name)


def test_loading_again_adds_nothing_and_new_entries_only_once(loaded, monkeypatch):
    _, tenants = loaded
    assert catalogue.apply() == {}
    extra = ("여름 생수 나눔", "폭염 기간 생수를 나눕니다.", ["safety"], "region", "private",
             {"kind": "in_kind", "quantity": 300, "quantity_unit": "묶음"})
    monkeypatch.setitem(catalogue.CATALOGUE, "jeju-foodbank", [*catalogue.CATALOGUE["jeju-foodbank"], extra])
    assert catalogue.apply() == {"jeju-foodbank": 1}
    assert catalogue.apply() == {}
    assert len(_own(tenants["jeju-foodbank"])) == 9


def test_every_listing_passes_the_registry_rules(loaded):
    _, tenants = loaded
    domains = set(db.session.scalars(select(NeedDomain.code)))
    regions = set(db.session.scalars(select(Region.code)))
    for resource in _all(tenants):
        service._check({field: getattr(resource, field) for field in service.EDITABLE})
        service._check_scopes(resource.scope, resource.staff_scope)
        assert resource.need_domains and set(resource.need_domains) <= domains, resource.name
        assert set(resource.service_area_codes) <= regions, resource.name
        assert all(PHONE.match(p) for p in (resource.public_phone, resource.direct_phone) if p), resource.name
        assert (resource.wait_estimate is not None) == (resource.capacity.value == "waitlist"), resource.name
        if resource.capacity.value == "full":
            assert resource.remaining_slots == 0, resource.name


def test_every_entry_passes_the_rules_before_registering():
    for code, entries in catalogue.CATALOGUE.items():
        for entry in entries:
            values, _ = catalogue.values_for(code, entry)
            service._check(dict(values))
            service._check_scopes(service.Scope(values["scope"]), service.Scope(values["staff_scope"]))


def test_registrars_are_named_and_the_demo_shows_reminders(loaded):
    _, tenants = loaded
    foodbank = tenants["jeju-foodbank"]
    registrar = db.session.scalar(select(User).where(User.email == "registrar@foodbank.demo"))
    own = _own(foodbank)
    assert {r.created_by_user_id for r in own} == {registrar.id}
    assert [r.name for r in own if service.is_hidden_as_stale(r)] == ["제과점 후원 빵 나눔"]
    soon = sorted(r.name for code in catalogue.CATALOGUE for r in _own(tenants[code])
                  if service.needs_verification_soon(r))
    assert soon == ["독거 어르신 안부 전화", "아동 방학 간식 꾸러미"]
    results = reminders.sweep()
    assert results[foodbank.id] == 2 and results[tenants["dolbom-neighbours"].id] == 1
    with acting_as(foodbank.id, None):
        notices = db.session.scalars(select(Notification).where(Notification.tenant_id == foodbank.id)).all()
    assert {(n.kind, n.recipient_user_id) for n in notices} == {
        ("resource_verify_soon", registrar.id), ("resource_stale", registrar.id)}
    assert catalogue.apply() == {} and sum(reminders.sweep().values()) == 0
