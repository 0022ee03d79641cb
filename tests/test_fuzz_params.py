"""Bad query parameters never answer 500: every GET route, fed generated query strings.

The routes come from ``app.url_map``; object routes get the public ids of a seeded world (the
``two_tenants`` objects of the cross-tenant test), and the signed-in user is a member of the
tenant that owns them, with every role, so the parameters reach the code that reads them.
"""
from __future__ import annotations

import time

from flask import url_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import Schema
from werkzeug.routing.converters import AnyConverter

from hanaro.core.forms import FormSchema
from hanaro.tenancy.models import Role

from .helpers import login
from .test_cross_tenant import COVERED, two_tenants  # noqa: F401 - the fixture is used by name

# GET routes the fuzz cannot build a URL for, and why. Keep this short: a new route belongs in
# COVERED (tests/test_cross_tenant.py) or has an ``any(...)`` converter, which is filled here.
SKIPPED = {
    "static": "files on disk, served by the web server in production; no query parameters read",
}

# Routes whose plain GET is not a 200 for the signed-in user: their parameters may never reach the
# view's code. Small and explicit; any other route must answer 200 before the fuzz.
NOT_REACHED = {
    "accounts.login": "signed in: redirected home",
    "campaigns.nominate_form": "the tenant organises the campaign; invited agencies nominate",
    "cases.invitation": "the invitation is addressed to the third tenant",
    "clients.consent_evidence": "the consent was recorded by document number, without a file",
    "directory.show": "the resource is private; the directory shows public ones",
    "feedback.board_cards": "pages one column named by ?more=; without it there is no column (404)",
    "inspections.edit": "the inspection is under way, no longer editable (409)",
    "notifications.operator_failed": "platform operators only",
    "tenancy.operator_tenants": "platform operators only",
    "oversight.checklists_index": "supervising tenants only (the seeded one is a welfare centre)",
    "oversight.evaluation_cycles": "supervising tenants only",
    "oversight.new_facility": "supervising tenants only",
    "oversight_figures.overview": "supervising tenants only",
    "oversight_figures.figure_csv": "supervising tenants only",
}

# Names read straight from ``request.args`` (not through a schema), found by grepping the views.
DIRECT_NAMES = ["page", "per_page", "q", "domain", "tab", "client", "case", "resource", "tenant", "reroute",
                "month", "year", "status", "scope", "after", "facility", "kind", "box", "state", "from", "to",
                "period", "figure", "fmt", "next", "csrf_token"]

HUGE = ["9" * 20, "-" + "9" * 20, str(2**63), str(-(2**63) - 1), "1e308", "NaN", "inf"]
DATES = ["9999-99-99", "0000-00-00", "2026-02-30", "99999-01-01", "2026-13", "-1-01-01", "1-1-1"]
ODD = ["", " ", "\x00", "a\x00b", "%", "'; drop table users; --", "<script>alert(1)</script>", "홍길동",
       "500517-2123456", "😀", "\u202e", "true", "on", "null", "[]", "{}", "x" * 5000]


def _parameter_names() -> list[str]:
    names = set(DIRECT_NAMES)
    pending = [FormSchema, Schema]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        for name, field in getattr(cls, "_declared_fields", {}).items():
            names.add(field.data_key or name)
    return sorted(names)


def _values():
    return st.one_of(
        st.sampled_from(HUGE + DATES + ODD),
        st.integers(min_value=-(10**30), max_value=10**30).map(str),
        st.text(max_size=40),
        st.text(min_size=300, max_size=3000),
    )


def _query(names: list[str]):
    key = st.one_of(st.sampled_from(names), st.text(min_size=1, max_size=12))
    pair = st.tuples(key, _values())
    # Repeated keys included: the same name may come several times.
    return st.lists(pair, min_size=1, max_size=20).flatmap(
        lambda pairs: st.just(pairs + [(pairs[0][0], "2")]) if len(pairs) > 2 else st.just(pairs))


def _explicit_queries(names: list[str]) -> list[list[tuple[str, str]]]:
    """Every name at once with one hostile value, and the paging names alone (a bad filter
    elsewhere could stop a view before it reads the page)."""
    every_name = [[(name, value) for name in names]
                  for value in ("9" * 20, "-1", "9999-99-99", "9999-12-31", "a\x00b", "x" * 3000)]
    alone = [[("page", "9" * 20)], [("per_page", "9" * 20)], [("page", "-5"), ("per_page", "0")],
             [("page", "1"), ("page", "abc"), ("page", "")], [("after", "9" * 20 + "." + "9" * 20)],
             [("date_from", "0001-01-01"), ("date_to", "9999-12-31")]]
    return every_name + alone


def _route_values(rule, objects) -> dict | None:
    given = COVERED[rule.endpoint][1](objects) if rule.endpoint in COVERED else {}
    values = {name: value for name, value in given.items() if name in rule.arguments}
    for name in rule.arguments - set(values):
        converter = rule._converters.get(name)
        if isinstance(converter, AnyConverter):
            values[name] = sorted(converter.items)[0]
        else:
            return None
    return values


def _get_urls(app, objects) -> tuple[dict[str, str], dict[str, str]]:
    urls, skipped = {}, {}
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods:
                continue
            values = _route_values(rule, objects)
            if values is None or rule.endpoint in SKIPPED:
                skipped[rule.endpoint] = SKIPPED.get(rule.endpoint, "no way to fill its URL")
                continue
            urls[rule.endpoint] = url_for(rule.endpoint, **values)
    return urls, skipped


def test_no_get_route_answers_500_to_generated_query_strings(app, client, make, two_tenants):  # noqa: F811
    everyone = make.member(two_tenants["a"], roles=[r.value for r in Role if r is not Role.VIEWER], name="가전권")
    assert login(client, everyone.email).status_code == 303
    urls, skipped = _get_urls(app, two_tenants)
    assert skipped == SKIPPED
    assert len(urls) > 100
    names = _parameter_names()
    assert {"page", "per_page", "q", "after", "date_from", "month"} <= set(names)
    explicit = _explicit_queries(names)
    failures, started = [], time.monotonic()

    def answer(endpoint, url, query=()):
        """The status, or the exception: the test app propagates errors instead of answering 500."""
        try:
            status = client.get(url, query_string=list(query)).status_code
        except Exception as error:  # noqa: BLE001 - any crash is the failure being looked for
            status = repr(error)[:200]
        if not isinstance(status, int) or status >= 500:
            failures.append((endpoint, query, status))

    def fuzz(endpoint, url):
        @settings(max_examples=4, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(query=_query(names))
        def examples(query):
            answer(endpoint, url, query)
        for query in explicit:
            answer(endpoint, url, query)
        examples()

    baseline = {endpoint: client.get(url).status_code for endpoint, url in urls.items()}
    refused = {endpoint: status for endpoint, status in baseline.items() if status != 200}
    assert set(refused) <= set(NOT_REACHED), refused  # parameters of every other route reach its code
    for endpoint, url in sorted(urls.items()):
        answer(endpoint, url)
        fuzz(endpoint, url)
    assert failures == [], "\n".join(sorted({f"{endpoint}: {status}" for endpoint, _query, status in failures}))
    assert time.monotonic() - started < 420, "the fuzz must stay within a few minutes"


def test_huge_page_on_the_public_feed_is_clamped(client):
    response = client.get("/directory/hsds.json", query_string={"page": "9" * 20, "per_page": "9" * 20})
    assert response.status_code == 200
    body = response.get_json()
    assert body["page_number"] >= 1
    assert body["size"] == 0 or body["page_number"] <= body["total_pages"]


def test_page_numbers_are_clamped_and_malformed_ones_are_the_default():
    from hanaro.core.paging import MAX_PAGE, paging

    assert paging({"page": "9" * 20}, 30) == paging({"page": str(MAX_PAGE)}, 30)
    assert paging({"page": "-3", "per_page": "0"}, 30, 100).page == 1
    assert paging({"page": "-3", "per_page": "0"}, 30, 100).per_page == 1
    assert paging({"page": "abc", "per_page": "9" * 5000}, 30, 100) == paging({"per_page": "100"}, 30, 100)
    assert paging({"page": "+-5"}, 30).page == 1 and paging({"page": " 7 "}, 30).page == 7
    assert paging({"per_page": "70"}, 30).per_page == 30  # no per_page choice offered: the fixed size


def test_a_nul_byte_in_the_query_string_is_a_korean_400(client):
    response = client.get("/directory", query_string={"q": "a\x00b"})
    assert response.status_code == 400
    assert "잘못된 요청입니다" in response.get_data(as_text=True)


def test_a_nul_byte_in_a_signed_in_search_form_is_a_korean_400(signed_in):
    client, _user, _tenant = signed_in("case_manager")
    response = client.post("/clients", data={"q": "김\x00"})
    assert response.status_code == 400
    assert "잘못된 요청입니다" in response.get_data(as_text=True)
