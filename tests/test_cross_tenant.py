"""Another tenant gets 404 for every object route, with nothing of the object in the answer."""
from __future__ import annotations

import pytest

from .helpers import login
from .test_access_rules import OBJECT_ROUTE

# Every route that takes a public id, with how to build its object in tenant A.
# test_every_object_route_is_covered fails when a new object route is not listed here.
COVERED = {
    "tenancy.member": ("GET", "membership"),
    "tenancy.revoke_member": ("POST", "membership"),
    "tenancy.agreement": ("GET", "agreement"),
    "tenancy.revoke_agreement": ("POST", "agreement"),
}


def test_every_object_route_is_covered(app):
    object_endpoints = {r.endpoint for r in app.url_map.iter_rules() if OBJECT_ROUTE.search(r.rule)}
    assert object_endpoints == set(COVERED)


@pytest.fixture
def two_tenants(app, make):
    a, b = make.tenant(name="가기관"), make.tenant(name="나기관")
    a_admin = make.member(a, roles=["tenant_admin"], name="가관리자")
    a_member = make.user(name="가구성원비밀")
    membership = make.membership(a_member, a, roles=["case_manager"])
    third = make.tenant(name="다기관")
    agreement = make.agreement(a, third)
    b_admin = make.member(b, roles=["tenant_admin"], name="나관리자")
    return {"a": a, "b": b, "a_admin": a_admin, "b_admin": b_admin, "membership": membership, "agreement": agreement,
            "secret_words": ["가구성원비밀", "다기관", "시험 협약"]}


@pytest.mark.parametrize("endpoint", sorted(COVERED))
def test_another_tenant_gets_404_and_nothing_leaks(app, client, two_tenants, endpoint):
    method, kind = COVERED[endpoint]
    target = two_tenants[kind]
    with app.test_request_context():
        from flask import url_for

        url = url_for(endpoint, public_id=target.public_id)
    login(client, two_tenants["b_admin"].email)
    response = client.open(url, method=method, data={"reason": "침입 시도", "roles": ["viewer"]})
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    for word in two_tenants["secret_words"]:
        assert word not in body
    # ...and the owner still sees it unchanged.
    owner = app.test_client()
    login(owner, two_tenants["a_admin"].email)
    if method == "GET":
        assert owner.get(url).status_code == 200
    page = owner.get(url_for_get(app, kind, target)).get_data(as_text=True)
    assert "해지됨" not in page and "권한 회수됨" not in page


def url_for_get(app, kind, target):
    with app.test_request_context():
        from flask import url_for

        endpoint = "tenancy.member" if kind == "membership" else "tenancy.agreement"
        return url_for(endpoint, public_id=target.public_id)


def test_a_missing_object_and_another_tenants_object_answer_the_same(app, client, two_tenants):
    login(client, two_tenants["b_admin"].email)
    missing = client.get("/agreements/does-not-exist")
    foreign = client.get(f"/agreements/{two_tenants['agreement'].public_id}")
    assert missing.status_code == foreign.status_code == 404
    assert missing.get_data() == foreign.get_data()


def test_tenant_id_in_a_form_is_ignored(app, client, make):
    mine, theirs = make.tenant(), make.tenant()
    admin = make.member(mine, roles=["tenant_admin"])
    login(client, admin.email)
    response = client.post(
        "/admin/members",
        data={"email": "new@test.example", "display_name": "신규", "initial_password": "long-enough-pw",
              "roles": ["viewer"], "tenant_id": str(theirs.id)},
    )
    assert response.status_code == 303
    from hanaro.core.db import db
    from hanaro.tenancy.context import acting_as
    from hanaro.tenancy.models import Membership
    from sqlalchemy import select

    with app.app_context(), acting_as(theirs.id, None):
        assert db.session.scalars(select(Membership)).all() == []
    with app.app_context(), acting_as(mine.id, None):
        assert len(db.session.scalars(select(Membership)).all()) == 2


def test_no_form_schema_accepts_a_tenant_id(app):
    from hanaro.core.forms import FormSchema

    def all_subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from all_subclasses(sub)

    schemas = list(all_subclasses(FormSchema))
    assert len(schemas) >= 6
    for schema in schemas:
        assert not any("tenant_id" in name for name in schema().fields), schema.__name__
