"""Searches by a person's name or resident number answer only POST: a GET carrying the text
neither searches nor echoes it, and no URL of the answer (the request line the server logs,
links, form targets, htmx headers) carries it."""
from __future__ import annotations

import html
import re
from datetime import date
from urllib.parse import unquote_plus

import pytest
from sqlalchemy import select

from hanaro.audit.models import AccessLogEntry

from .campaign_world import CampaignWorld, born, rrn_for
from .helpers import login

URL_ATTRIBUTES = re.compile(r'\b(?:href|action|src|hx-get|hx-post|hx-push-url|hx-replace-url)="([^"]*)"')
URL_HEADERS = ("Location", "HX-Push-Url", "HX-Replace-Url", "HX-Location", "HX-Redirect", "Content-Location")


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def urls_of(response) -> list[str]:
    """Every URL the answer came from or points to, decoded."""
    found = [response.request.url]
    found += [response.headers[name] for name in URL_HEADERS if name in response.headers]
    found += URL_ATTRIBUTES.findall(response.get_data(as_text=True))
    return [unquote_plus(html.unescape(url)) for url in found]


def assert_no_url_carries(response, typed: str) -> None:
    assert not [url for url in urls_of(response) if typed in url]


def echoed(page: str, name: str, typed: str) -> bool:
    return re.search(rf'name="{name}"[^>]*value="{re.escape(typed)}"', page) is not None


def searches_logged(make, tenant, what: str) -> int:
    with make.as_tenant(tenant) as session:
        return len(session.scalars(select(AccessLogEntry).where(AccessLogEntry.what == what)).all())


@pytest.fixture
def world(make):
    world = make.case_world()  # 김하나, 500517-2000004, with a case led by 이담당
    world.other = make.client(world.lead, name="박두리", rrn=rrn_for(date(1962, 3, 4), "M"), birth_date=date(1962, 3, 4), sex="M")
    make.case(world.other, world.lead_worker)
    return world


def case_names(page: str) -> list[str]:
    table = page.split('id="case-results"')[1]
    return re.findall(r'<th scope="row"><a href="/cases/[^"]+">([^<]+)</a>', table)


@pytest.mark.parametrize("typed", ["김하나", "500517-2000004"])
def test_the_case_list_searches_by_post_only(make, world, typed):
    worker = world.signed_in(world.lead_worker)
    by_get = worker.get("/cases", query_string={"scope": "tenant", "q": typed})
    assert by_get.status_code == 200
    page = text(by_get)
    assert sorted(case_names(page)) == ["김하나", "박두리"]  # not searched: the whole list
    assert not echoed(page, "q", typed) and "500517-2000004" not in page
    assert searches_logged(make, world.lead, "case_search") == 0

    by_post = worker.post("/cases", data={"scope": "tenant", "q": typed})
    page = text(by_post)
    assert case_names(page) == ["김하나"]
    assert echoed(page, "q", typed)  # the typed query stays in the form
    assert_no_url_carries(by_post, typed)
    assert searches_logged(make, world.lead, "case_search") == 1
    fragment = worker.post("/cases", data={"scope": "tenant", "q": typed},
                           headers={"HX-Request": "true", "HX-Target": "case-results"})
    assert case_names(text(fragment)) == ["김하나"]
    assert_no_url_carries(fragment, typed)


def test_filters_without_personal_data_still_work_as_links(world):
    worker = world.signed_in(world.lead_worker)
    page = text(worker.get("/cases", query_string={"scope": "tenant", "risk": "high"}))
    assert case_names(page) == [] and "조건에 맞는 사례가 없습니다." in page


def test_the_client_list_searches_by_post_only(make, world):
    worker = world.signed_in(world.lead_worker)
    page = text(worker.get("/clients", query_string={"q": "김하나"}))
    assert "김하나" in page and "박두리" in page and not echoed(page, "q", "김하나")
    assert searches_logged(make, world.lead, "client_search") == 0
    by_post = worker.post("/clients", data={"q": "김하나"})
    page = text(by_post)
    assert "김하나" in page and "박두리" not in page and echoed(page, "q", "김하나")
    assert_no_url_carries(by_post, "김하나")


def test_the_access_log_searches_a_client_by_post_only(app, make, world):
    officer_user = make.member(world.lead, roles=["privacy_officer"], name="보호책임자")
    make.access(world.lead_worker, world.lead, world.person)
    make.access(world.lead_worker, world.lead, world.other)
    officer = app.test_client()
    assert login(officer, officer_user.email).status_code == 303

    by_get = officer.get("/audit/log", query_string={"client": "김하나"})
    page = text(by_get)
    assert by_get.status_code == 200 and "박두리" in page  # not filtered by the name
    assert not echoed(page, "client", "김하나")
    assert searches_logged(make, world.lead, "access_log_search") == 0

    by_post = officer.post("/audit/log", data={"client": "김하나"})
    page = text(by_post)
    rows = page[page.find('<table class="data-table audit-log">'):]
    assert "김하나" in rows and "박두리" not in rows and echoed(page, "client", "김하나")
    assert_no_url_carries(by_post, "김하나")
    assert searches_logged(make, world.lead, "access_log_search") == 1


def test_the_campaign_nominee_picker_searches_by_post_only(app, make):
    w = CampaignWorld(make)
    public_id = w.campaign()
    w.client(w.a, w.d1, rrn_for(born(1944)), name="박순이")
    w.client(w.a, w.d1, rrn_for(born(1946)), name="최영수")
    nominator = app.test_client()
    assert login(nominator, w.users[w.a.id].email).status_code == 303

    page = text(nominator.get(f"/campaigns/{public_id}/nominate", query_string={"q": "박순이"}))
    assert "박순이" in page and "최영수" in page and not echoed(page, "q", "박순이")
    assert searches_logged(make, w.a, "campaign_nomination") == 0
    by_post = nominator.post(f"/campaigns/{public_id}/nominate/clients", data={"q": "박순이"})
    page = text(by_post)
    assert "박순이" in page and "최영수" not in page and echoed(page, "q", "박순이")
    assert_no_url_carries(by_post, "박순이")
