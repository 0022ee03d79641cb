"""The organiser's figures on a designed data set: plain numbers by dong, nominating agency,
sponsor and status; households served per category and month; flags found and resolved. Another
organiser's campaign never counts, and a nominating tenant gets no figures of anyone."""
from __future__ import annotations

import pytest

from hanaro.campaigns import figures, service
from hanaro.clients.models import Client
from hanaro.core import clock
from hanaro.core.db import db
from hanaro.tenancy.context import acting_as

from .campaign_world import CampaignWorld, born, rrn_for


@pytest.fixture
def w(make):
    world = CampaignWorld(make)
    kimjang = world.campaign(dong_quotas=[{"dong": world.d3.code, "quota": 0}])
    same = rrn_for(born(1933))
    ids = {
        "a1": world.nominate(world.a, kimjang, world.client(world.a, world.d1, same)).nomination.public_id,
        "a2": world.nominate(world.a, kimjang, world.client(world.a, world.d1)).nomination.public_id,
        "a3": world.nominate(world.a, kimjang, world.client(world.a, world.d2)).nomination.public_id,
        "b1": world.nominate(world.b, kimjang, world.client(world.b, world.d2)).nomination.public_id,
        "b2": world.nominate(world.b, kimjang, world.client(world.b, world.d1, same)).nomination.public_id,
        "c1": world.nominate(world.c, kimjang, world.client(world.c, world.d3)).nomination.public_id,
    }
    with world.acting(world.a) as actor:
        service.withdraw(service.get_nomination_or_404(ids["a3"]), None, actor)
    with world.acting(world.organiser) as actor:
        campaign = service.get_campaign_or_404(kimjang)
        service.close_nominations(campaign, actor)
        service.keep_duplicate(service.get_nomination_or_404(ids["a1"]), actor)  # b2 rejected as a duplicate
        c1 = service.get_nomination_or_404(ids["c1"])
        service.resolve_flag(service.flags_of_nomination(c1, only_open=True)[0], "동 한도 예외 승인", actor)
        for name in ("a1", "a2", "b1", "c1"):
            service.accept(service.get_nomination_or_404(ids[name]), actor)
        service.finalise(campaign, actor)
        for name in ("a1", "a2", "b1"):
            service.record_delivery(service.get_nomination_or_404(ids[name]),
                                    {"status": "delivered", "delivered_on": clock.today()}, actor)
        service.record_delivery(c1, {"status": "not_delivered", "note": "부재"}, actor)
    heating = world.campaign(nominators=[(world.b, 0)], category="heating", sponsor="")
    world.nominate(world.b, heating, world.client(world.b, world.d2))
    world.as_organiser(service.run_checks, heating)  # over B's quota of 0 ...
    world.as_organiser(lambda c, actor: service.update_campaign(c, {"nominators": [{"tenant": world.b.code,
                                                                                     "quota": None}]}, actor), heating)
    world.as_organiser(service.run_checks, heating)  # ... until the quota is lifted: cleared
    # Another organiser's campaign nominated by the same agency never counts.
    elsewhere = make.tenant(name="다른구청", kind="municipality", region=world.district)
    other_bureau = make.member(elsewhere, roles=["tenant_admin"])
    with world.app.app_context(), acting_as(elsewhere.id, other_bureau.id):
        other = service.create_campaign({"title": "다른 구 김장", "category": "kimjang", "item_description": "김치",
                                         "sponsor": "성동구 자원봉사센터", "quantity": 5, "unit": "상자",
                                         "opens_on": clock.today(), "closes_on": clock.today(),
                                         "nominators": [{"tenant": world.a.code}]}, other_bureau)
        service.open_nominations(other, other_bureau)
        db.session.commit()
        other_id = other.public_id
    person = world.client(world.a, world.d1)
    make.consent(person, scope="tenants", tenants=[elsewhere], purposes=["campaign"])
    with world.app.app_context(), acting_as(world.a.id, world.user_of(world.a).id):
        assert not service.nominate(service.get_campaign_or_404(other_id), db.session.get(Client, person.id),
                                    {"reason": "사유"}, None).existing
        db.session.commit()
    world.kimjang, world.heating, world.ids = kimjang, heating, ids
    return world


def _as_organiser(w, fn, *args):
    with w.acting(w.organiser, commit=False):
        resolved = [service.get_campaign_or_404(a) if isinstance(a, str) else a for a in args]
        return fn(*resolved)


def _plain(rows):
    return [(row.label, row.count) for row in rows]


def test_nominations_by_dong_agency_sponsor_and_status(w):
    assert _plain(_as_organiser(w, figures.by_dong)) == [("성수1가1동", 3), ("왕십리도선동", 2), ("금호1가동", 1)]
    assert _plain(_as_organiser(w, figures.by_dong, w.kimjang)) == [("성수1가1동", 3), ("왕십리도선동", 1),
                                                                    ("금호1가동", 1)]  # ties by dong code
    assert _plain(_as_organiser(w, figures.by_nominator)) == [("성동종합사회복지관", 3), ("성수1가1동 주민센터", 2),
                                                              ("나눔푸드뱅크", 1)]
    assert _plain(_as_organiser(w, figures.by_sponsor)) == [("성동구 자원봉사센터", 5), ("후원자 없음", 1)]
    assert _plain(_as_organiser(w, figures.by_status, w.kimjang)) == [("접수", 0), ("선정", 4), ("제외", 1), ("철회", 1)]
    assert _plain(_as_organiser(w, figures.by_status, w.heating)) == [("접수", 1), ("선정", 0), ("제외", 0), ("철회", 0)]


def test_households_served_per_category_and_month(w):
    month = clock.today().strftime("%Y-%m")
    assert _as_organiser(w, figures.households_served) == [
        {"month": month, "category": "kimjang", "label": "김장", "households": 3}]
    assert _as_organiser(w, figures.households_served, clock.today().year - 1) == []


def test_flags_found_open_resolved_and_cleared(w):
    rows = {row["kind"]: (row["found"], row["open"], row["resolved"], row["cleared"])
            for row in _as_organiser(w, figures.flags)}
    assert rows == {"duplicate": (2, 0, 2, 0), "over_dong_quota": (1, 0, 1, 0), "over_nominator_quota": (1, 0, 0, 1),
                    "deceased": (0, 0, 0, 0), "moved_out": (0, 0, 0, 0), "concentration": (0, 0, 0, 0)}
    kimjang_only = {row["kind"]: row["found"] for row in _as_organiser(w, figures.flags, w.kimjang)}
    assert kimjang_only["over_nominator_quota"] == 0 and kimjang_only["duplicate"] == 2


def test_a_nominating_tenant_gets_no_figures_of_the_organiser(w):
    with w.acting(w.b, commit=False):
        assert figures.by_dong() == [] and figures.by_nominator() == [] and figures.by_sponsor() == []
        assert [row.count for row in figures.by_status()] == [0, 0, 0, 0]
        assert figures.households_served() == []
        assert all(row["found"] == 0 for row in figures.flags())
