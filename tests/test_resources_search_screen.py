"""The general resource search screen (/resources/search): filters, shareable URLs, htmx updates,
bad input, and what other tenants' scopes allow."""
from __future__ import annotations

from datetime import timedelta

import pytest

from hanaro.core import clock
from hanaro.core.db import db
from hanaro.resources.models import Resource
from hanaro.tenancy.context import acting_as
from hanaro.tenancy.models import TenantKind

MUNICIPALITY, DONG, OTHER_DONG = "9911000000", "9911025000", "9913025000"


@pytest.fixture
def places(make):
    make.region(MUNICIPALITY, "시험시", level="municipality")
    make.region(DONG, "시험동", level="dong", parent_code=MUNICIPALITY)
    make.region(OTHER_DONG, "먼동", level="dong")


@pytest.fixture
def searcher(signed_in, places):
    client, user, tenant = signed_in("case_manager")
    return client, tenant


def _names(response) -> set[str]:
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    return {name for name in NAMES if f">{name}</a>" in text}


NAMES = ["집수리 봉사", "어르신 도시락", "아동 돌봄 교실", "김장김치 나눔", "한부모 상담", "마감된 목욕 지원",
         "다른기관 공유 자원", "다른기관 비공개 자원", "오래된 공유 자원", "먼동 전용 자원", "민간단체 자원"]


@pytest.fixture
def catalogue(app, make, searcher):
    _client, tenant = searcher
    other = make.tenant(name="이웃복지관")
    ngo = make.tenant(name="나눔단체", kind=TenantKind.NGO)
    make.resource(tenant, name="집수리 봉사", description="낡은 집을 고쳐 드립니다", need_domains=["environment"],
                  service_area_codes=[MUNICIPALITY])
    make.resource(tenant, name="어르신 도시락", need_domains=["economy", "health"], min_age=65,
                  service_area_codes=[DONG])
    make.resource(tenant, name="아동 돌봄 교실", need_domains=["education"], max_age=12, capacity="waitlist",
                  wait_estimate="under_month")
    make.resource(tenant, name="김장김치 나눔", kind="in_kind", quantity=100, quantity_unit="상자",
                  need_domains=["economy"])
    make.resource(tenant, name="한부모 상담", household_conditions="한부모 가구", need_domains=["family"])
    make.resource(tenant, name="마감된 목욕 지원", capacity="full", need_domains=["health"])
    make.resource(tenant, name="먼동 전용 자원", service_area_codes=[OTHER_DONG], need_domains=["environment"])
    make.resource(other, name="다른기관 공유 자원", scope="platform", need_domains=["environment"],
                  contact_person="이담당", direct_phone="010-5555-6666")
    make.resource(other, name="다른기관 비공개 자원", scope="private", need_domains=["environment"])
    stale = make.resource(other, name="오래된 공유 자원", scope="platform", need_domains=["environment"])
    make.resource(ngo, name="민간단체 자원", scope="platform", need_domains=["economy"])
    with app.app_context(), acting_as(other.id, None):
        db.session.get(Resource, stale.id).last_verified_on = clock.today() - timedelta(days=200)
        db.session.commit()


def test_without_filters_shows_everything_the_tenant_may_see(searcher, catalogue):
    client, _ = searcher
    shown = _names(client.get("/resources/search"))
    assert "다른기관 공유 자원" in shown and "집수리 봉사" in shown
    assert "다른기관 비공개 자원" not in shown  # another tenant's private resource
    assert "오래된 공유 자원" not in shown  # another tenant's stale listing


@pytest.mark.parametrize("query, expected", [
    ({"q": "집수"}, {"집수리 봉사"}),
    ({"domain": "environment"}, {"집수리 봉사", "먼동 전용 자원", "다른기관 공유 자원"}),
    ({"domain": ["education", "family"]}, {"아동 돌봄 교실", "한부모 상담"}),
    ({"domain": "environment", "area": DONG}, {"집수리 봉사", "다른기관 공유 자원"}),
    ({"domain": "environment", "area": MUNICIPALITY}, {"집수리 봉사", "다른기관 공유 자원"}),
    ({"domain": "economy", "age": "40"}, {"김장김치 나눔", "민간단체 자원"}),
    ({"domain": "economy", "age": "70"}, {"어르신 도시락", "김장김치 나눔", "민간단체 자원"}),
    ({"domain": "family", "household": "single"}, set()),
    ({"domain": "family", "household": "single_parent"}, {"한부모 상담"}),
    ({"domain": "health", "capacity": "available"}, {"어르신 도시락"}),
    ({"domain": "health", "capacity": ["available", "full"]}, {"어르신 도시락", "마감된 목욕 지원"}),
    ({"kind": "in_kind"}, {"김장김치 나눔"}),
    ({"registrant": "ngo"}, {"민간단체 자원"}),
])
def test_filters(searcher, catalogue, query, expected):
    client, _ = searcher
    assert _names(client.get("/resources/search", query_string=query)) == expected


def test_the_url_is_the_search_and_htmx_updates_in_place(searcher, catalogue):
    client, _ = searcher
    full = client.get("/resources/search?domain=environment&area=" + DONG).get_data(as_text=True)
    assert "<html" in full and 'hx-push-url="true"' in full
    assert f'value="{DONG}" selected' in full and 'value="environment" checked' in full
    partial = client.get("/resources/search?domain=environment", headers={"HX-Request": "true", "HX-Target": "resource-search"}).get_data(as_text=True)
    assert "<html" not in partial and 'id="resource-search"' in partial and "집수리 봉사" in partial


def test_staff_only_fields_follow_the_staff_scope(searcher, catalogue):
    client, _ = searcher
    text = client.get("/resources/search", query_string={"q": "다른기관"}).get_data(as_text=True)
    assert "다른기관 공유 자원" in text and "010-5555-6666" not in text


@pytest.mark.parametrize("query, field, message", [
    ({"age": "많음"}, "age", "숫자를 입력하세요"),
    ({"age": "-3"}, "age", "0에서 150 사이"),
    ({"capacity": "nonsense"}, "capacity", "목록에 있는 값을 고르세요"),
    ({"domain": "no-such-domain"}, "domain", "목록에 있는 욕구 영역"),
    ({"area": "0000000000"}, "area", "목록에 있는 지역"),
    ({"household": "castle"}, "household", "목록에 있는 가구 유형"),
    ({"registrant": "alien"}, "registrant", "목록에 있는 기관 유형"),
    ({"kind": "gold"}, "kind", "목록에 있는 값을 고르세요"),
])
def test_bad_filters_get_a_message_next_to_the_field_and_keep_the_input(searcher, catalogue, query, field, message):
    client, _ = searcher
    response = client.get("/resources/search", query_string=query)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert f'id="{field}-error">' in text and message in text.split(f'id="{field}-error">', 1)[1].split("</p>")[0]
    assert "검색 조건을 확인하세요" in text


def test_empty_result_explains_itself(searcher, catalogue):
    client, _ = searcher
    text = client.get("/resources/search", query_string={"q": "존재하지않는낱말"}).get_data(as_text=True)
    assert "검색 결과 0건" in text and "조건에 맞는 자원이 없습니다" in text


def test_pagination_keeps_the_filters(app, make, searcher):
    client, tenant = searcher
    for n in range(33):
        make.resource(tenant, name=f"주거 자원 {n:02d}", need_domains=["environment"])
    text = client.get("/resources/search", query_string={"domain": "environment"}).get_data(as_text=True)
    assert "검색 결과 33건" in text and "domain=environment" in text and "page=2" in text
    second = client.get("/resources/search", query_string={"domain": "environment", "page": 2}).get_data(as_text=True)
    assert second.count('<li class="card">') == 3


def test_roles_without_resource_access_are_refused(signed_in):
    client, _user, _tenant = signed_in("privacy_officer")
    assert client.get("/resources/search").status_code == 403


def test_search_does_not_grow_a_query_per_result(app, make, searcher):
    from .helpers import count_queries

    client, _tenant = searcher
    partner = make.tenant(name="협약복지관")
    make.agreement(partner, _tenant, record_kinds=["resource"])

    def queries_for_search():
        with app.app_context(), count_queries() as queries:
            assert client.get("/resources/search").status_code == 200
        return queries()

    make.resource(partner, name="협약 자원 0", scope="partners", staff_scope="partners")
    few = queries_for_search()
    for n in range(1, 12):
        make.resource(partner, name=f"협약 자원 {n}", scope="partners", staff_scope="partners")
    assert queries_for_search() == few


def test_a_boosted_link_gets_the_whole_page(searcher, catalogue):
    """hx-boost on the body sends HX-Request with every link: that must still be the full page."""
    client, _ = searcher
    text = client.get("/resources/search?domain=environment",
                      headers={"HX-Request": "true", "HX-Boosted": "true"}).get_data(as_text=True)
    assert "<html" in text and "자원 검색" in text
