"""Search terms (resource_terms) stay in line with their resource on every write, and never show
another tenant what its resource would not: through search, the directory, or the rows themselves."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select, text

from hanaro.core import clock
from hanaro.core.db import db
from hanaro.resources import search, service
from hanaro.resources.models import Resource, ResourceChange, ResourceTerm, Scope
from hanaro.tenancy.context import acting_as

from .conftest import BACKEND
from .factories import _Actor


def _terms(app, resource) -> dict[str, tuple]:
    """{term: (scope, available, last verified, name, min age)} as the owner reads them."""
    with app.app_context(), acting_as(resource.tenant_id, None):
        rows = db.session.scalars(select(ResourceTerm).where(ResourceTerm.resource_id == resource.id))
        return {r.term: (r.scope.value, r.available, r.last_verified_on, r.name, r.min_age) for r in rows}


def test_terms_follow_the_resource_through_register_edit_verify_scope_and_delete(app, make):
    tenant = make.tenant(name="자원기관")
    resource = make.resource(tenant, name="어르신 돌봄", description="방문 돌봄", min_age=65)
    today = clock.today()
    assert _terms(app, resource) == {t: ("private", True, today, "어르신 돌봄", 65)
                                     for t in ("어르", "르신", "돌봄", "방문")}

    with app.app_context(), acting_as(tenant.id, None):
        row = db.session.get(Resource, resource.id)
        service.update(row, {"name": "목욕 지원", "description": "방문 목욕", "capacity": "full", "min_age": 60},
                       _Actor(None))
        db.session.commit()
    assert _terms(app, resource) == {t: ("private", False, today, "목욕 지원", 60) for t in ("목욕", "지원", "방문")}

    with app.app_context(), acting_as(tenant.id, None):
        row = db.session.get(Resource, resource.id)
        row.last_verified_on = today - timedelta(days=30)
        db.session.commit()
        service.verify(db.session.get(Resource, resource.id), _Actor(None))
        service.change_scope(db.session.get(Resource, resource.id), "public", "private", _Actor(None))
        db.session.commit()
    assert set(_terms(app, resource).values()) == {("public", False, today, "목욕 지원", 60)}

    with app.app_context(), acting_as(tenant.id, None):
        db.session.execute(delete(ResourceChange).where(ResourceChange.resource_id == resource.id))
        db.session.delete(db.session.get(Resource, resource.id))
        db.session.commit()
    assert _terms(app, resource) == {}


@pytest.fixture
def private_elsewhere(app, make):
    """Another tenant's private and public resources with the same word."""
    owner = make.tenant(name="비밀기관")
    hidden = make.resource(owner, name="비밀 돌봄 사업", scope="private")
    shown = make.resource(owner, name="공개 돌봄 사업", scope="public", staff_scope="private")
    return owner, hidden, shown


def test_another_tenants_private_resource_never_shows_in_search_or_directory(signed_in, private_elsewhere, client):
    searcher, _user, _tenant = signed_in("case_manager")
    for page in (searcher.get("/resources/search?q=돌봄"), searcher.get("/resources/search?q=돌봄 사업&age=70"),
                 client.get("/directory?q=돌봄"), client.get("/directory?q=돌봄 사업")):
        body = page.get_data(as_text=True)
        assert page.status_code == 200
        assert "공개 돌봄 사업" in body and "비밀 돌봄 사업" not in body
        assert "1건" in body  # the count does not count what is hidden either


def test_the_owner_finds_its_private_resource(app, private_elsewhere):
    owner, hidden, _shown = private_elsewhere
    with app.app_context(), acting_as(owner.id, None):
        names = [r.name for r in search.find(search.Filters(query="비밀")).items]
    assert names == ["비밀 돌봄 사업"]


def test_another_tenants_private_terms_are_not_readable(app, make, private_elsewhere):
    _owner, hidden, shown = private_elsewhere
    stranger = make.tenant(name="다른기관")
    with app.app_context(), acting_as(stranger.id, None):
        readable = set(db.session.scalars(select(ResourceTerm.resource_id).where(ResourceTerm.term == "돌봄")))
        assert readable == {shown.id}
        if BACKEND == "postgresql":  # RLS alone, without the ORM's criteria
            rows = db.session.execute(text("SELECT count(*) FROM resource_terms WHERE resource_id = :id"),
                                      {"id": hidden.id}).scalar()
            assert rows == 0


def test_a_stranger_cannot_write_terms_of_another_tenants_resource(app, make, private_elsewhere):
    from hanaro.tenancy.orm_filter import TenantWriteRefused

    owner, _hidden, shown = private_elsewhere
    stranger = make.tenant(name="다른기관")
    with app.app_context(), acting_as(stranger.id, None):
        db.session.add(ResourceTerm(resource_id=shown.id, term="가짜", scope=Scope.PUBLIC, available=True,
                                    last_verified_on=clock.today(), name="공개 돌봄 사업", tenant_id=owner.id))
        with pytest.raises(TenantWriteRefused):
            db.session.flush()
        db.session.rollback()


def test_a_resource_made_without_its_defaulted_columns_gets_terms_that_agree(app, make):
    tenant = make.tenant(name="자원기관")
    with app.app_context(), acting_as(tenant.id, None):
        resource = Resource(name="빨래 돌봄", description="세탁 지원", last_verified_on=clock.today())
        db.session.add(resource)
        db.session.commit()
        assert (resource.capacity.value, resource.scope.value) == ("available", "private")
    assert set(_terms(app, resource).values()) == {("private", True, clock.today(), "빨래 돌봄", None)}
