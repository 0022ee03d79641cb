"""Lists page in SQL and count up to a cap (core.paging): what a user sees — the rows of a page,
the links to the others, "N건" or "N건 이상" — and that a page's queries do not grow with the
tenant's rows. The cap and page sizes are lowered here so a few rows cross them."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from hanaro.core import clock, paging
from hanaro.core.db import db, utcnow
from hanaro.notifications.models import Notification
from hanaro.referrals.models import Referral, State
from hanaro.tenancy.context import acting_as
from hanaro.tenancy.models import RegionLevel, TenantKind

from .helpers import count_queries


@pytest.fixture
def small_cap(monkeypatch):
    monkeypatch.setattr(paging, "COUNT_CAP", 5)


def _text(response) -> str:
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _queries(app, browser, path, method="GET", **kwargs) -> int:
    with app.app_context(), count_queries() as queries:
        assert browser.open(path, method=method, **kwargs).status_code == 200
    return queries()


# -- the helpers -------------------------------------------------------------------------------------------------

def test_a_capped_count_says_more_than_the_cap_and_pages_past_it(app, make, small_cap):
    from hanaro.clients.models import Client

    tenant = make.tenant()
    make.clients(tenant, 7)
    with app.app_context(), acting_as(tenant.id, None):
        own = select(Client).where(Client.tenant_id == tenant.id)
        assert paging.capped_count(own) == paging.Count(5, capped=True)
        assert paging.capped_count(own.where(Client.id < 0)) == paging.Count(0)
        page = paging.fetch_page(own.order_by(Client.name, Client.id), paging.Paging(2, 3))
        assert len(page.items) == 3 and page.has_next and page.has_previous and page.total.capped
        assert list(page.numbers()) == [1, 2, 3]  # the next page is known to exist, not its end
        last = paging.fetch_page(own.order_by(Client.name, Client.id), paging.Paging(3, 3))
        assert len(last.items) == 1 and not last.has_next
    assert str(paging.Count(12345)) == "12,345" and (paging.Count(3) + paging.Count(5, True)).capped


# -- the header's unread badge -----------------------------------------------------------------------------------

def _notices(make, tenant, count, recipient=None, read=False):
    with make.as_tenant(tenant) as session:
        for n in range(count):
            session.add(Notification(kind="test", title=f"알림 {n}", recipient_user_id=recipient,
                                     read_at=utcnow() if read else None, email_planned_at=utcnow()))


def test_the_unread_badge_counts_mine_and_everyones_and_stops_at_99(app, make, signed_in):
    browser, user, tenant = signed_in("case_manager")
    colleague = make.member(tenant)
    _notices(make, tenant, 2)  # to everyone
    _notices(make, tenant, 1, recipient=user.id)
    _notices(make, tenant, 4, recipient=colleague.id)  # not mine
    _notices(make, tenant, 3, read=True)
    assert "읽지 않은 알림 3개" in _text(browser.get("/"))
    _notices(make, tenant, 97, recipient=user.id)
    page = _text(browser.get("/notifications/unread"))
    assert "99+" in page and "읽지 않은 알림 99개 이상" in page


def _statements(app, browser, path, **kwargs) -> list[str]:
    from sqlalchemy import event

    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            assert browser.get(path, **kwargs).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
    return seen


def test_only_pages_with_the_header_count_unread_notifications(app, signed_in):
    browser, _user, _tenant = signed_in("referral_coordinator")
    fragment = _statements(app, browser, "/referrals", headers={"HX-Request": "true", "HX-Target": "referral-list"})
    whole = _statements(app, browser, "/referrals")
    assert not [s for s in fragment if "FROM notifications" in s]
    assert len([s for s in whole if "FROM notifications" in s]) == 1


# -- referral boxes ----------------------------------------------------------------------------------------------

@pytest.fixture
def inbox(app, make, signed_in):
    browser, _user, receiver = signed_in("referral_coordinator")
    sender = make.tenant(name="보내는기관")
    client = make.client(sender)

    def receive(count, state=State.SENT, due_in=3):
        with make.as_tenant(sender) as session:
            for n in range(count):
                session.add(Referral(receiver_tenant_id=receiver.id, client_id=client.id, requested_service=f"의뢰{n:02d}",
                                     reason="사유", response_due_on=clock.today() + timedelta(days=due_in + n), state=state))
    return browser, receive


def test_the_inbox_pages_its_rows_and_caps_its_counts(app, monkeypatch, inbox, small_cap):
    from hanaro.referrals import service

    monkeypatch.setattr(service, "PER_PAGE", 4)
    browser, receive = inbox
    receive(6)
    receive(2, State.ACCEPTED)
    receive(1, State.SENT, due_in=-5)  # overdue
    first = _text(browser.get("/referrals"))
    assert "응답 대기 5건 이상" in first  # the tab's badge
    assert 'class="referral-filters__count">&nbsp;5건 이상' in first  # 전체 and 보냄: past the cap
    assert '수락<span class="referral-filters__count">&nbsp;2건</span>' in first
    assert '기한 지남<span class="referral-filters__count">&nbsp;1건</span>' in first
    assert first.count('class="referral-row') == 4 and "받은 의뢰 5건 이상 (응답 기한 빠른 순)" in first
    assert 'rel="next"' in first and "page=2" in first
    third = _text(browser.get("/referrals?page=3"))
    assert third.count('class="referral-row') == 1 and 'rel="prev"' in third and 'rel="next"' not in third
    accepted = _text(browser.get("/referrals?state=accepted"))
    assert "받은 의뢰 2건 (응답 기한 빠른 순)" in accepted and 'rel="next"' not in accepted


def test_the_inbox_runs_the_same_queries_for_few_and_many_referrals(app, inbox):
    browser, receive = inbox
    receive(1)
    browser.get("/referrals")
    few = _queries(app, browser, "/referrals")
    receive(30)
    receive(5, State.COMPLETED)
    assert _queries(app, browser, "/referrals") == few
    # Session and user, memberships, the header (자원배분 and pilot menus and unread notifications in
    # one statement), the feature switches, the page's count, the page, its senders and receivers,
    # the per-state counts (one query).
    assert few == 9


# -- the public directory ----------------------------------------------------------------------------------------

def test_the_directory_pages_and_counts_in_sql(app, make, client, monkeypatch, small_cap):
    from hanaro.directory import views

    monkeypatch.setattr(views, "PER_PAGE", 3)
    owner = make.tenant(name="공개기관")
    for n in range(7):
        make.resource(owner, name=f"김치 나눔 {n}", scope="public", need_domains=["economy" if n % 2 else "health"])
    make.resource(owner, name="김치 비공개", scope="partners", need_domains=["economy"])
    first = _text(client.get("/directory?q=김치"))
    assert "검색 결과 5건 이상" in first and first.count('class="directory-item"') == 3
    assert 'rel="next"' in first and "q=%EA%B9%80%EC%B9%98" in first
    health = _text(client.get("/directory?q=김치&domain=health"))
    assert "검색 결과 4건" in health and health.count('class="directory-item"') == 3
    last = _text(client.get("/directory?q=김치&domain=health&page=2"))
    assert last.count('class="directory-item"') == 1 and "김치 비공개" not in last
    queries = _queries(app, client, "/directory?q=김치")
    make.resource(owner, name="김치 나눔 추가", scope="public")
    assert _queries(app, client, "/directory?q=김치") == queries == 4  # domains, count, page, their tenants


# -- client list, case list, inbox -------------------------------------------------------------------------------

def test_the_client_list_pages_and_a_search_says_when_it_shows_only_the_first(app, make, signed_in, monkeypatch,
                                                                            small_cap):
    from hanaro.clients import service

    monkeypatch.setattr(service, "PER_PAGE", 3)
    browser, _user, tenant = signed_in("case_manager")
    make.clients(tenant, 7, prefix="김대상")
    first = _text(browser.get("/clients"))
    assert "대상자 5명 이상" in first and first.count('<th scope="row">') == 3 and 'rel="next"' in first
    third = _text(browser.get("/clients?page=3"))
    assert third.count('<th scope="row">') == 1
    found = _text(browser.post("/clients", data={"q": "김대상"}))
    assert "대상자 5명 이상" in found and "앞의 3명만 보여 줍니다" in found and 'rel="next"' not in found


def test_the_case_list_shows_its_capped_total(app, make, small_cap):
    from .factories import CaseWorld

    world = CaseWorld(make)
    lead = world.signed_in(world.lead_worker)
    assert "사례 1건 (접수 최신순)" in _text(lead.get("/cases?scope=tenant"))
    for n in range(5):
        make.case(make.client(world.lead, name=f"추가{n}"), world.lead_worker)
    assert "사례 5건 이상 (접수 최신순)" in _text(lead.get("/cases?scope=tenant"))


def test_the_inbox_pages_notifications(app, make, signed_in, monkeypatch, small_cap):
    from hanaro.notifications import service

    monkeypatch.setattr(service, "PER_PAGE", 4)
    browser, _user, tenant = signed_in("viewer")
    _notices(make, tenant, 6)
    first = _text(browser.get("/notifications"))
    assert "알림 5건 이상" in first and first.count('<li class="card') == 4 and 'rel="next"' in first
    assert _text(browser.get("/notifications?page=2")).count('<li class="card') == 2


# -- the worker dropdown -----------------------------------------------------------------------------------------

def test_the_worker_dropdown_lists_active_case_managers_by_name(app, make):
    from .factories import CaseWorld

    world = CaseWorld(make)
    make.member(world.lead, roles=["case_manager"], name="가나다")
    make.member(world.lead, roles=["viewer"], name="보기만")
    make.membership(make.user(name="나간사람"), world.lead, roles=["case_manager"], active=False)
    lead = world.signed_in(world.lead_worker)
    page = _text(lead.get("/cases/new"))
    select_html = page.split('name="lead_worker"', 1)[1].split("</select>", 1)[0]
    assert re.findall(r">([^<>]+)</option>", select_html)[1:] == ["가나다", "이담당"]
    few = _queries(app, lead, "/cases/new")
    for n in range(5):
        make.member(world.lead, roles=["case_manager"], name=f"추가담당{n}")
    assert _queries(app, lead, "/cases/new") == few


# -- resource search: the service-area select --------------------------------------------------------------------

def test_resource_search_renders_the_dongs_of_the_chosen_municipality_only(app, make, signed_in):
    municipality, other = "9911000000", "9912000000"
    make.region(municipality, "시험시", level=RegionLevel.MUNICIPALITY)
    make.region(other, "딴시", level=RegionLevel.MUNICIPALITY)
    make.region("9911025000", "시험동", parent_code=municipality)
    for n in range(30):
        make.region(f"99120{n:03d}00", f"딴동{n}", parent_code=other)
    browser, _user, tenant = signed_in("case_manager")
    make.resource(tenant, name="시험동 도시락", service_area_codes=["9911025000"])
    make.resource(tenant, name="딴동 도시락", service_area_codes=["9912000100"])
    plain = _text(browser.get("/resources/search"))
    assert "시험시</option>" in plain and "딴시</option>" in plain and "딴동0<" not in plain
    assert "시군구를 고르면 읍면동을 고를 수 있습니다." in plain
    assert "딴동1</dd>" in plain  # a result's service area is named
    chosen = _text(browser.get(f"/resources/search?municipality={municipality}"))
    assert 'value="9911025000">시험동</option>' in chosen and "딴동" not in chosen.split("search-results")[0]
    assert "시험동 도시락" in chosen and "딴동 도시락" not in chosen
    # A dong picked before the municipality changed is dropped: the new municipality is searched.
    moved = _text(browser.get(f"/resources/search?municipality={other}&area=9911025000"))
    assert "딴동 도시락" in moved and "시험동 도시락" not in moved and 'value="9911025000"' not in moved
    assert "목록에 있는 지역을 고르세요." in _text(browser.get("/resources/search?municipality=9911025000"))
