"""Case lists (scopes, filters, keyset pagination, search), the integrated view, query counts."""
from __future__ import annotations

import html
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from hanaro.audit.models import AccessLogEntry
from hanaro.core import clock

from .helpers import count_queries


@pytest.fixture
def world(make):
    return make.case_world()


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def rows(page: str) -> list[str]:
    """The client names in the list, top to bottom."""
    table = page.split('id="case-results"')[1]
    return re.findall(r'<th scope="row"><a href="/cases/[^"]+">([^<]+)</a>', table)


def rrn(prefix12: str) -> str:
    """A resident number with a valid check digit."""
    weights = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
    check = (11 - sum(int(d) * w for d, w in zip(prefix12, weights)) % 11) % 10
    return f"{prefix12[:6]}-{prefix12[6:]}{check}"


# -- scopes -------------------------------------------------------------------------------------------------

def test_my_cases_my_tenants_cases_and_cases_shared_with_us(make, world):
    colleague = make.member(world.lead, roles=["case_manager"], name="동료")
    theirs = make.client(world.lead, name="동료대상자")
    make.case(theirs, colleague, case_type="elderly_alone")
    outsider_client = make.client(world.outsider, name="바깥대상자")
    make.case(outsider_client, world.outsider_worker)

    lead = world.signed_in(world.lead_worker)
    assert rows(text(lead.get("/cases"))) == ["김하나"]
    assert sorted(rows(text(lead.get("/cases?scope=tenant")))) == ["김하나", "동료대상자"]
    assert rows(text(lead.get("/cases?scope=shared"))) == []

    partner = world.signed_in(world.partner_worker)
    assert rows(text(partner.get("/cases?scope=shared"))) == []
    world.join_partner()
    shared = text(partner.get("/cases?scope=shared"))
    assert rows(shared) == ["김하나"] and "한라종합사회복지관 · 이담당" in shared
    assert rows(text(partner.get("/cases"))) == ["김하나"]  # the partner's worker is on it: "mine" too
    assert rows(text(partner.get("/cases?scope=tenant"))) == []
    for page in ("/cases", "/cases?scope=tenant", "/cases?scope=shared"):
        assert "바깥대상자" not in text(lead.get(page)) + text(partner.get(page))


def test_a_closed_shared_case_stays_listed_without_the_client(world):
    world.join_partner()
    world.signed_in(world.lead_worker).post(f"/cases/{world.case.public_id}/close",
                                            data={"closure_reason": "goal_achieved", "closure_evaluation": "완료"})
    shared = text(world.signed_in(world.partner_worker).get("/cases?scope=shared"))
    assert rows(shared) == ["(정보 비공개)"] and "김하나" not in shared


# -- filters --------------------------------------------------------------------------------------------------

def test_filters_by_type_status_risk_worker_and_dong(make, world):
    region = make.region(name="한림읍")
    colleague = make.member(world.lead, roles=["case_manager"], name="동료")
    second = make.client(world.lead, name="이둘", dong_code=region.code)
    make.case(second, colleague, case_type="elderly_alone", risk="crisis", dong_code=region.code)
    lead = world.signed_in(world.lead_worker)
    lead.post(f"/cases/{world.case.public_id}/status", data={"status": "assessment"})

    def listed(**filters):
        return sorted(rows(text(lead.get("/cases", query_string={"scope": "tenant", **filters}))))

    assert listed() == ["김하나", "이둘"]
    assert listed(case_type="elderly_alone") == ["이둘"]
    assert listed(status="assessment") == ["김하나"]
    assert listed(status="open") == ["김하나", "이둘"]
    assert listed(status="closed") == []
    assert listed(risk="crisis") == ["이둘"]
    assert listed(worker=colleague.public_id) == ["이둘"]
    assert listed(dong=region.code) == ["이둘"]
    assert listed(risk="bogus") == ["김하나", "이둘"]  # a value that does not validate is dropped
    page = text(lead.get("/cases"))
    assert f'<option value="{region.code}">한림읍</option>' in page


def _dong_options(page: str) -> list[str]:
    select_html = page.split('name="dong"', 1)[1].split("</select>", 1)[0]
    return re.findall(r'<option value="[^"]+"[^>]*>([^<]+)</option>', select_html)


def test_the_dong_filter_offers_each_dong_of_our_own_and_shared_cases_once(make, world):
    ours, second, shared = make.region(name="가동"), make.region(name="나동"), make.region(name="다동")
    theirs, unused = make.region(name="라동"), make.region(name="마동")
    for name, dong in (("우리하나", ours), ("우리둘", ours), ("우리셋", second)):
        make.case(make.client(world.lead, name=name, dong_code=dong.code), world.lead_worker, dong_code=dong.code)
    together = make.client(world.lead, name="함께", dong_code=shared.code)
    make.consent(together, scope="case_team")
    with_partner = make.case(together, world.lead_worker, dong_code=shared.code)
    make.case_member(with_partner, world.partner, world.lead_worker, accept_as=world.partner_worker)
    make.case(make.client(world.outsider, name="남의", dong_code=theirs.code), world.outsider_worker,
              dong_code=theirs.code)

    assert _dong_options(text(world.signed_in(world.lead_worker).get("/cases"))) == ["가동", "나동", "다동"]
    # The partner has no cases of its own: only the dong of the case shared with it.
    assert _dong_options(text(world.signed_in(world.partner_worker).get("/cases"))) == ["다동"]
    assert _dong_options(text(world.signed_in(world.outsider_worker).get("/cases"))) == ["라동"]
    assert unused.name not in text(world.signed_in(world.lead_worker).get("/cases"))


def test_the_filter_form_updates_the_list_in_place(world):
    lead = world.signed_in(world.lead_worker)
    response = lead.post("/cases", data={"scope": "tenant", "risk": "medium"},
                         headers={"HX-Request": "true", "HX-Target": "case-results"})
    body = text(response)
    assert response.status_code == 200 and body.lstrip().startswith('<div id="case-results"') and "<html" not in body
    assert rows(body) == ["김하나"]
    assert "<html" in text(lead.post("/cases", data={"scope": "tenant"}))  # no JavaScript: the whole page


# -- keyset pagination ------------------------------------------------------------------------------------

def test_keyset_pagination_walks_every_case_once_newest_first(make, world, monkeypatch):
    start = date(2026, 1, 1)
    for n in range(24):
        monkeypatch.setattr(clock, "today", lambda n=n: start + timedelta(days=n // 2))  # two cases a day
        person = make.client(world.lead, name=f"대상자{n:02d}")
        make.case(person, world.lead_worker, received_on=start)
    monkeypatch.undo()
    lead = world.signed_in(world.lead_worker)
    first = text(lead.get("/cases?scope=tenant"))
    assert len(rows(first)) == 20
    cursor = re.search(r'name="after" value="([^"]+)"', first).group(1)
    assert re.fullmatch(r"[A-Za-z0-9_-]{16}", cursor)  # a public id: no row id reaches the page
    second = text(lead.post("/cases", data={"scope": "tenant", "after": cursor},
                            headers={"HX-Request": "true", "HX-Target": "case-results"}))
    seen = rows(first) + rows(second)
    assert len(seen) == len(set(seen)) == 25
    assert seen[0] == "김하나"  # opened today: the newest
    assert seen[1:] == [f"대상자{n:02d}" for n in reversed(range(24))]
    assert 'name="after"' not in second
    # A cursor naming nothing visible (forged, or another tenant's case) starts again from the top.
    outsider_case = make.case(make.client(world.outsider), world.outsider_worker)
    for cursor in ("forged", outsider_case.public_id):
        assert rows(text(lead.get(f"/cases?scope=tenant&after={cursor}"))) == rows(first)


def test_my_cases_merge_those_i_lead_and_those_i_work_on_page_by_page(make, world, monkeypatch):
    from hanaro.cases import service

    start = date(2026, 1, 1)

    def opened(day, client, worker):
        monkeypatch.setattr(clock, "today", lambda: start + timedelta(days=day))
        return make.case(client, worker, received_on=start)

    for day in (1, 3, 5):  # led by the partner's worker
        opened(day, make.client(world.partner, name=f"내가맡은{day}"), world.partner_worker)
    for day in (2, 4):  # the lead tenant's cases the partner's worker works on
        person = make.client(world.lead, name=f"함께하는{day}")
        make.consent(person, scope="case_team")
        make.case_member(opened(day, person, world.lead_worker), world.partner, world.lead_worker,
                         accept_as=world.partner_worker)
    colleague = make.member(world.partner, roles=["case_manager"], name="동료")
    opened(6, make.client(world.partner, name="동료사례"), colleague)
    monkeypatch.undo()
    monkeypatch.setattr(service, "PAGE_SIZE", 2)
    partner = world.signed_in(world.partner_worker)
    seen, cursor = [], ""
    for _page in range(4):
        page = text(partner.get(f"/cases?after={cursor}"))
        seen.append(rows(page))
        found = re.search(r'name="after" value="([^"]+)"', page)
        if not found:
            break
        cursor = found.group(1)
    assert seen == [["내가맡은5", "함께하는4"], ["내가맡은3", "함께하는2"], ["내가맡은1"]]
    assert "사례 5건" in text(partner.get("/cases"))


# -- search ---------------------------------------------------------------------------------------------------

def test_search_by_name_or_masked_number_only_over_visible_cases(make, world):
    second = make.client(world.lead, name="박두리", rrn=rrn("6203041000000"[:12]), birth_date=date(1962, 3, 4), sex="M")
    make.case(second, world.lead_worker, case_type="elderly_alone")
    lookalike = make.client(world.outsider, name="김하나", rrn="500517-2000004")
    make.case(lookalike, world.outsider_worker)

    lead = world.signed_in(world.lead_worker)

    def search(q):
        return rows(text(lead.post("/cases", data={"scope": "tenant", "q": q})))

    assert search("김하") == ["김하나"]  # the outsider's 김하나 is not there
    assert search("620304-1") == ["박두리"]
    assert search("500517-2******") == ["김하나"]
    assert search("500517-2000004") == ["김하나"]  # the full number, through the blind index
    assert search("없는사람") == []
    # Searching is a personal-data access: each client found is logged, and the text stays out of URLs.
    with make.as_tenant(world.lead) as session:
        logged = session.scalars(select(AccessLogEntry).where(AccessLogEntry.what == "case_search")).all()
    assert {e.client_id for e in logged} == {world.person.id, second.id}
    assert {e.action.value for e in logged} == {"search"}


# -- the integrated view --------------------------------------------------------------------------------------

def test_the_integrated_view_labels_each_item_with_its_source_and_is_logged(make, world):
    world.join_partner()
    lead, partner = world.signed_in(world.lead_worker), world.signed_in(world.partner_worker)
    url = f"/cases/{world.case.public_id}"
    lead.post(f"{url}/goals", data={"domain": "environment", "goal": "곰팡이 제거", "submission_token": "g"})
    lead.post(f"{url}/notes", data={"body": "복지관 공유 메모", "visibility": "team", "submission_token": "1"})
    lead.post(f"{url}/notes", data={"body": "복지관 내부 메모", "visibility": "internal", "submission_token": "2"})
    partner.post(f"{url}/notes", data={"body": "주민센터 공유 메모", "visibility": "team", "submission_token": "3"})
    second_case = make.case(world.person, world.lead_worker, case_type="home_health")  # not shared with the partner

    page = text(partner.get(f"/cases/clients/{world.person.public_id}/integrated"))
    assert "곰팡이 제거" in page and "복지관 공유 메모" in page and "주민센터 공유 메모" in page
    assert "복지관 내부 메모" not in page and "방문건강관리" not in page
    assert "출처: 한라종합사회복지관" in page and "출처: 한림읍 행정복지센터" in page
    mine = text(lead.get(f"/cases/clients/{world.person.public_id}/integrated"))
    assert "방문건강관리" in mine and "복지관 내부 메모" in mine and "한림읍 행정복지센터" in mine
    assert second_case.public_id in mine
    with make.as_tenant(world.partner) as session:
        entry = session.scalar(select(AccessLogEntry).where(AccessLogEntry.what == "integrated_view"))
    assert entry is not None and entry.client_id == world.person.id and entry.user_id == world.partner_worker.id
    outsider = world.signed_in(world.outsider_worker)
    assert outsider.get(f"/cases/clients/{world.person.public_id}/integrated").status_code == 404


# -- query counts ---------------------------------------------------------------------------------------------

def _queries(app, browser, method, path, **kwargs):
    with app.app_context(), count_queries() as queries:
        assert browser.open(path, method=method, **kwargs).status_code == 200
    return queries()


def test_the_case_list_runs_a_fixed_number_of_queries(app, make, world):
    world.join_partner()
    lead = world.signed_in(world.lead_worker)
    lead.get("/cases?scope=tenant")  # warm up
    few = _queries(app, lead, "GET", "/cases?scope=tenant")
    for n in range(6):
        make.case(make.client(world.lead, name=f"추가{n}"), world.lead_worker, case_type="elderly_alone")
    many = _queries(app, lead, "GET", "/cases?scope=tenant")
    # Session and user, memberships with tenants, the cases (one query with client, type, worker
    # and lead tenant) and their capped count, pending invitations, case types, workers, dongs.
    # + the header (자원배분 and pilot menus, unread notifications: one statement) and the feature
    # switches on every page
    assert few == many == 10


def test_the_case_page_runs_a_fixed_number_of_queries(app, make, world):
    world.join_partner()
    lead = world.signed_in(world.lead_worker)
    url = f"/cases/{world.case.public_id}"
    lead.get(url)
    few = _queries(app, lead, "GET", url)
    for n in range(3):
        other = make.tenant(name=f"협업기관{n}")
        make.member(other, roles=["case_manager"])
        make.case_member(world.case, other, world.lead_worker)
    for n in range(3):
        lead.post(f"{url}/notes", data={"body": f"메모{n}", "visibility": "team", "submission_token": f"n{n}"})
    many = _queries(app, lead, "GET", url)
    # Session, memberships, the case (with client, type, worker, tenant), the access-log entry,
    # the team, the schedule (one query), workers, the partners an invitation may go to (agreements),
    # the dong field (the municipality of the tenant's region, then the municipalities and its dongs).
    # + the header (자원배분 and pilot menus, unread notifications: one statement) and the feature
    # switches on every page
    # + the viewer's access grant, which decides the need domains it may see (issue 13)
    assert few == many == 13


def test_viewers_start_on_their_tenants_cases_and_see_no_write_forms(world):
    viewer = world.signed_in(world.lead_viewer)
    listing = text(viewer.get("/cases"))
    assert rows(listing) == ["김하나"] and "새 사례 열기" not in listing
    assert '<a class="site-nav__link" href="/cases" aria-current="page">사례관리</a>' in listing
    page = text(viewer.get(f"/cases/{world.case.public_id}"))
    assert "김하나" in page and "초대 보내기" not in page and "사례 종결" not in page
    assert 'name="body"' not in text(viewer.get(f"/cases/{world.case.public_id}/notes"))
