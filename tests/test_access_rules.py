"""Deny by default: every endpoint declares who may call it, and the declaration is enforced."""
from __future__ import annotations

import inspect
import re
import sys

from hanaro.core.access import CHECKS, Audience, rule_for_endpoint

from .helpers import login

OBJECT_ROUTE = re.compile(r"<(?:[a-z]+:)?public_id>")


def test_every_endpoint_declares_an_access_rule(app):
    with app.test_request_context():
        undeclared = [rule.endpoint for rule in app.url_map.iter_rules() if rule_for_endpoint(rule.endpoint) is None]
    assert undeclared == []


def test_only_login_language_health_and_static_are_public(app):
    with app.test_request_context():
        public = sorted(
            rule.endpoint
            for rule in app.url_map.iter_rules()
            if rule_for_endpoint(rule.endpoint).audience is Audience.PUBLIC
        )
    assert public == [
        "accounts.login", "accounts.set_language", "core.healthz", "directory.hsds_feed", "directory.index",
        "directory.show", "static",
    ]


def test_an_endpoint_without_a_rule_is_refused(database_config, make):
    # A fresh app: Flask refuses new routes once an app has served a request.
    from .conftest import make_app

    fresh = make_app(database_config)
    fresh.add_url_rule("/undeclared-test-endpoint", "undeclared_test_endpoint", lambda: "secret")
    client = fresh.test_client()
    assert client.get("/undeclared-test-endpoint").status_code == 404
    tenant = make.tenant()
    login(client, make.member(tenant, roles=["tenant_admin"]).email)
    response = client.get("/undeclared-test-endpoint")
    assert response.status_code == 404 and b"secret" not in response.data


def test_signed_out_visitors_are_sent_to_login(client):
    for path in ("/", "/agreements", "/admin/members", "/operator/tenants"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].endswith("/login"), path


def test_htmx_requests_from_signed_out_visitors_get_a_redirect_header(client):
    response = client.get("/agreements", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].endswith("/login")


def test_roles_are_enforced(client, make):
    tenant = make.tenant()
    login(client, make.member(tenant, roles=["case_manager"]).email)
    assert client.get("/agreements").status_code == 200
    assert client.get("/admin/members").status_code == 403
    assert client.post("/admin/members", data={"email": "x@example.com"}).status_code == 403
    assert client.get("/operator/tenants").status_code == 404


# -- rules beyond roles are declared, not written into the views ---------------------------------------------

REFUSES_ITSELF = re.compile(r"abort\(\s*403\s*\)|Forbidden\b|HTTPStatus\.FORBIDDEN")


def _declared_rules(app) -> dict[str, str]:
    """Every endpoint with its declared rule: audience, roles and named check."""
    with app.test_request_context():
        return {rule.endpoint: rule_for_endpoint(rule.endpoint).describe() for rule in app.url_map.iter_rules()}


def test_every_endpoint_is_listed_with_its_rule_and_every_check_is_registered_by_name(app):
    listing = _declared_rules(app)
    with app.test_request_context():
        checks = {rule_for_endpoint(e).check for e in listing} - {None}
    assert checks and all(CHECKS[c.name] is c and c.description for c in checks), sorted(c.name for c in checks)
    assert not [e for e, described in listing.items() if "check=" in described and not described.startswith("tenant")]


def test_no_view_answers_403_itself(app):
    """Each view function, and the module it is defined in, leaves 403 to the declared rule."""
    offenders = []
    for endpoint, view in app.view_functions.items():
        view = inspect.unwrap(view)
        module = sys.modules.get(view.__module__)
        if not module or not module.__name__.startswith("hanaro."):
            continue
        if REFUSES_ITSELF.search(inspect.getsource(view)) or REFUSES_ITSELF.search(inspect.getsource(module)):
            offenders.append(endpoint)
    assert offenders == []


OVERSIGHT_RECORD_PAGES = ("oversight.facility", "inspections.show", "inspections.report", "inspections.photo",
                          "inspections.of_facility", "corrective_actions.show", "corrective_actions.evidence_file")


def test_the_oversight_record_pages_declare_the_facility_pages_rule(app):
    listing = _declared_rules(app)
    assert {e: listing[e] for e in OVERSIGHT_RECORD_PAGES} == {
        e: "tenant * check=oversight_record_reader" for e in OVERSIGHT_RECORD_PAGES}
