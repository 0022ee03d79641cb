"""The anonymous public directory and its HSDS 3.0 feed: public resources only, no staff-only
fields, stale listings hidden, cacheable, and the feed valid against the HSDS schemas."""
from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from hanaro.cases.models import NeedDomain
from hanaro.core import clock
from hanaro.core.db import db
from hanaro.resources.models import Resource
from hanaro.tenancy.context import acting_as

from .helpers import login

HSDS = Path(__file__).resolve().parents[1].parent / "shared" / "standards" / "hsds-3.0" / "schema"
STAFF_VALUES = {"contact_person": "김담당", "direct_phone": "010-9876-5432", "remaining_slots": 7}


@pytest.fixture
def registrant(make):
    tenant = make.tenant(name="행복종합사회복지관")
    make.member(tenant, roles=["resource_registrar"])
    return tenant


def _set(app, resource, **values):
    with app.app_context(), acting_as(resource.tenant_id):
        row = db.session.get(Resource, resource.id)
        for key, value in values.items():
            setattr(row, key, value)
        db.session.commit()


def _domain_codes(app):
    with app.app_context():
        return list(db.session.scalars(select(NeedDomain.code).order_by(NeedDomain.sort_order)))


def test_anonymous_sees_public_resources_only(client, make, registrant):
    shown = make.resource(registrant, name="공개무료급식", scope="public", staff_scope="public", **STAFF_VALUES)
    hidden = {scope: make.resource(registrant, name=f"숨김{scope}자원", scope=scope, **STAFF_VALUES)
              for scope in ("private", "partners", "region", "platform")}
    page = client.get("/directory")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "공개무료급식" in text and '<html lang="ko">' in text
    assert client.get(f"/directory/{shown.public_id}").status_code == 200
    feed = client.get("/directory/hsds.json").get_json()
    names = [s["name"] for s in feed["contents"]]
    assert names == ["공개무료급식"]
    for scope, resource in hidden.items():
        assert resource.name not in text
        assert client.get(f"/directory/{resource.public_id}").status_code == 404, scope
    assert client.get("/directory/no-such-id").status_code == 404


def test_signed_in_staff_still_see_only_public_in_directory(app, make, registrant, signed_in):
    make.resource(registrant, name="우리기관전용자원", scope="private")
    make.resource(registrant, name="공개상담", scope="public")
    staff, _user, _tenant = signed_in("resource_registrar", tenant=registrant)
    text = staff.get("/directory").get_data(as_text=True)
    assert "공개상담" in text and "우리기관전용자원" not in text


def test_staff_only_fields_never_appear(client, make, registrant):
    resource = make.resource(registrant, name="공개돌봄", scope="public", staff_scope="public", **STAFF_VALUES)
    for url in ("/directory", f"/directory/{resource.public_id}", "/directory/hsds.json"):
        body = client.get(url).get_data(as_text=True)
        for secret in ("김담당", "010-9876-5432", "남은 자리", "remaining_slots", "contact_person", "direct_phone"):
            assert secret not in body, (url, secret)


def test_stale_public_resources_are_hidden(app, client, make, registrant):
    resource = make.resource(registrant, name="오래된공개자원", scope="public")
    _set(app, resource, last_verified_on=clock.today() - timedelta(days=181))
    assert "오래된공개자원" not in client.get("/directory").get_data(as_text=True)
    assert client.get(f"/directory/{resource.public_id}").status_code == 404
    assert client.get("/directory/hsds.json").get_json()["total_items"] == 0


def test_making_a_resource_public_shows_it_at_once(app, client, make, registrant):
    resource = make.resource(registrant, name="곧공개될자원", scope="platform")
    assert client.get(f"/directory/{resource.public_id}").status_code == 404
    _set(app, resource, scope="public")
    assert client.get(f"/directory/{resource.public_id}").status_code == 200
    assert "곧공개될자원" in client.get("/directory").get_data(as_text=True)


def test_korean_search_and_need_domain_filter(app, client, make, registrant):
    first, second = _domain_codes(app)[:2]
    make.resource(registrant, name="어르신 주거 개선 지원", scope="public", need_domains=[first])
    make.resource(registrant, name="아동 돌봄 교실", scope="public", need_domains=[second])
    text = client.get("/directory", query_string={"q": "주거"}).get_data(as_text=True)
    assert "어르신 주거 개선 지원" in text and "아동 돌봄 교실" not in text
    text = client.get("/directory", query_string={"q": "돌봄 교실"}).get_data(as_text=True)
    assert "아동 돌봄 교실" in text and "어르신 주거" not in text
    text = client.get("/directory", query_string={"domain": second}).get_data(as_text=True)
    assert "아동 돌봄 교실" in text and "어르신 주거" not in text
    assert 'for="directory-q"' in text and 'role="search"' in text


def test_directory_responses_are_publicly_cacheable_and_set_no_cookie(client, make, registrant):
    resource = make.resource(registrant, name="캐시공개자원", scope="public")
    for url in ("/directory", f"/directory/{resource.public_id}", "/directory/hsds.json"):
        response = client.get(url)
        assert response.headers["Cache-Control"] == "public, max-age=300", url
        assert "Set-Cookie" not in response.headers, url
    assert client.get("/directory/missing").headers["Cache-Control"] == "no-store"
    assert client.get("/login").headers["Cache-Control"] == "no-store"


def _validator(name):
    from jsonschema import Draft202012Validator, FormatChecker
    from referencing import Registry, Resource as SchemaResource
    from referencing.jsonschema import DRAFT202012

    assert HSDS.is_dir(), f"HSDS schemas not found at {HSDS}: shared/ must sit beside the repository"
    schemas = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in HSDS.glob("*.json")}
    registry = Registry().with_resources(
        (file, SchemaResource.from_contents(schema, default_specification=DRAFT202012))
        for file, schema in schemas.items())
    return Draft202012Validator(schemas[name], registry=registry, format_checker=FormatChecker())


def test_hsds_feed_validates_and_pages(app, client, make, registrant):
    codes = _domain_codes(app)
    resource = make.resource(
        registrant, name="가 공개 급식", scope="public", staff_scope="public", need_domains=codes[:2],
        categories=["급식"], address="서울특별시 종로구 세종대로 1", public_phone="02-123-4567", min_age=65,
        how_to_apply="전화 신청", cost="무료", required_documents="신분증",
        schedule=[{"weekday": 0, "opens": "09:00", "closes": "18:00"},
                  {"weekday": 2, "opens": "10:00", "closes": "12:00"}], **STAFF_VALUES)
    for n in range(3):
        make.resource(registrant, name=f"나 공개 자원 {n}", scope="public")
    make.resource(registrant, name="비공개", scope="platform")

    feed = client.get("/directory/hsds.json", query_string={"per_page": 2}).get_json()
    assert (feed["total_items"], feed["total_pages"], feed["size"], feed["first_page"], feed["last_page"]) == (4, 2, 2, True, False)
    service_validator = _validator("service.json")
    for item in feed["contents"]:
        service_validator.validate(item)
        for name, rows in (("schedule.json", item["schedules"]), ("attribute.json", item["attributes"]),
                           ("service_at_location.json", item["service_at_locations"])):
            for row in rows:
                _validator(name).validate(row)
        _validator("organization.json").validate(item["organization"])
    service = feed["contents"][0]
    assert service["id"] == str(uuid.uuid5(uuid.uuid5(uuid.NAMESPACE_URL, "urn:hanaro:hsds"), f"service:{resource.public_id}"))
    assert [(s["byday"], s["opens_at"], s["closes_at"]) for s in service["schedules"]] == [
        ("MO", "09:00+09:00", "18:00+09:00"), ("WE", "10:00+09:00", "12:00+09:00")]
    location = service["service_at_locations"][0]["location"]
    _validator("location.json").validate(location)
    assert location["addresses"][0]["address_1"] == "서울특별시 종로구 세종대로 1"
    assert {a["taxonomy_term"]["code"] for a in service["attributes"]} == set(codes[:2]) | {"급식"}
    assert service["organization"]["name"] == "행복종합사회복지관"

    second = client.get("/directory/hsds.json", query_string={"per_page": 2, "page": 2}).get_json()
    assert second["size"] == 2 and second["last_page"] and not second["first_page"]
    assert client.get("/directory/hsds.json").get_json()["contents"][0]["id"] == service["id"]  # stable ids
    capped = client.get("/directory/hsds.json", query_string={"per_page": 1000}).get_json()
    assert capped["size"] == 4 and capped["total_pages"] == 1
