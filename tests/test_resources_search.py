"""Korean search over resources (bigram narrowing + confirmation) and needs-based ranking."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, text

from hanaro.core.db import db
from hanaro.resources import search, service
from hanaro.resources.models import Resource
from hanaro.tenancy.context import acting_as

from .conftest import BACKEND
from .factories import _Actor


def test_bigrams_cover_two_syllable_words():
    assert search.tokens("집수리 지원") == {"집수", "수리", "지원"}
    assert search.tokens("김치 1") == {"김치", "1"}
    assert search.tokens("") == set()


@pytest.fixture
def catalogue(app, make):
    registrant = make.tenant(name="자원기관")
    entries = [
        ("집수리 지원", "노후 주택 집수리와 도배", ["environment"], "available", None, None, ["5011025000"]),
        ("김장김치 나눔", "김장김치 100상자 후원", ["daily_living"], "available", 65, None, []),
        ("수리 상담", "가전제품 수리 상담", ["environment"], "full", None, None, []),
        ("청소년 학습 지원", "방과후 학습 멘토링", ["education"], "available", 9, 18, []),
    ]
    with app.app_context(), acting_as(registrant.id, None):
        for name, description, domains, capacity, min_age, max_age, areas in entries:
            service.register({"name": name, "description": description, "need_domains": domains, "capacity": capacity,
                              "min_age": min_age, "max_age": max_age, "service_area_codes": areas,
                              "scope": "private", "staff_scope": "private"}, _Actor(None))
        db.session.commit()
    return registrant


def _names(app, tenant, query):
    with app.app_context(), acting_as(tenant.id, None):
        return sorted(db.session.scalars(select(Resource.name).where(search.text_filter(query))))


def test_two_syllable_korean_words_find_exactly_their_resources(app, catalogue):
    assert _names(app, catalogue, "집수") == ["집수리 지원"]
    assert _names(app, catalogue, "수리") == ["수리 상담", "집수리 지원"]
    assert _names(app, catalogue, "김치") == ["김장김치 나눔"]
    assert _names(app, catalogue, "집수리 도배") == ["집수리 지원"]
    assert _names(app, catalogue, "없는말") == []


@pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL index and RLS")
def test_under_rls_the_term_index_finds_a_words_page_before_any_policy_runs(app, catalogue):
    """The app role, RLS on: the word is an index condition of the terms' page-order index (the old
    array ``@>`` was not leakproof, so the policy had to run on every visible resource first)."""
    with app.app_context(), acting_as(catalogue.id, None):
        statement = (search.matching(search.Words.of("집수"), [], []).order_by(*search.TERM_ORDER).limit(31))
        compiled = str(statement.compile(db.engine, compile_kwargs={"literal_binds": True}))
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(db.session.execute(text(f"EXPLAIN {compiled}")).scalars())
        db.session.rollback()
    assert "ix_resource_terms_rank" in plan and "Index Cond: (term = '집수'::text)" in plan, plan


def test_ranking_for_a_clients_needs_explains_itself(app, catalogue):
    with app.app_context(), acting_as(catalogue.id, None):
        matches = search.rank_for_needs({"environment", "daily_living"}, "5011025000", age=70)
        names = [m.resource.name for m in matches]
        assert names[0] == "집수리 지원"  # need match + area + capacity
        assert "김장김치 나눔" in names and "청소년 학습 지원" not in names  # age 70 is outside 9–18
        assert names.index("수리 상담") > names.index("김장김치 나눔")  # full capacity ranks lower
        assert "대상자 거주지가 서비스 지역에 포함" in matches[0].reasons
        young = [m.resource.name for m in search.rank_for_needs({"education"}, None, age=12)]
        assert young == ["청소년 학습 지원"]
