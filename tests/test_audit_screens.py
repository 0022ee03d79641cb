"""The privacy officer's access log screen: who reaches it, what each tenant's officer sees,
filters, keyset paging, htmx fragments and bad input."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from hanaro.audit.models import AccessAction, AccessLogEntry
from hanaro.core.db import db
from hanaro.tenancy.context import acting_as

from .helpers import login

NOW = datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture
def two_agencies(app, make):
    """Tenant A (welfare centre) and B (dong centre). A's worker opened A's client and B's client;
    B's worker opened B's client."""
    a, b = make.tenant(name="가나복지관"), make.tenant(name="다라행정복지센터")
    a_officer = make.member(a, roles=["privacy_officer"], name="가보호책임자")
    b_officer = make.member(b, roles=["privacy_officer"], name="나보호책임자")
    a_worker = make.member(a, roles=["case_manager"], name="가사례관리자")
    b_worker = make.member(b, roles=["case_manager"], name="나사례관리자")
    a_client = make.client(a, name="김가나", rrn="500517-2000004")
    b_client = make.client(b, name="이다라")
    make.access(a_worker, a, a_client, at=NOW - timedelta(minutes=30))
    make.access(a_worker, a, b_client, at=NOW - timedelta(minutes=20), action="view", what="case")
    make.access(b_worker, b, b_client, at=NOW - timedelta(minutes=10), action="change")
    return dict(a=a, b=b, a_officer=a_officer, b_officer=b_officer, a_worker=a_worker, b_worker=b_worker,
                a_client=a_client, b_client=b_client)


def _signed_in(app, user):
    client = app.test_client()
    assert login(client, user.email).status_code == 303
    return client


def _rows(html: str) -> str:
    start = html.find('<table class="data-table audit-log">')
    return html[start:html.find("</table>", start)] if start >= 0 else ""


# -- who reaches the screens --------------------------------------------------------------------

@pytest.mark.parametrize("role", ["case_manager", "tenant_admin", "viewer", "referral_coordinator", "inspector"])
def test_only_privacy_officers_reach_the_screens(signed_in, role):
    client, _user, _tenant = signed_in(role)
    assert client.get("/audit/log").status_code == 403
    assert client.post("/audit/log", data={}).status_code == 403
    assert client.post("/audit/log/export", data={"reason": "점검"}).status_code == 403
    assert client.get("/audit/reviews").status_code == 403
    assert client.post("/audit/reviews", data={"month": "2026-01", "findings": "이상 없음"}).status_code == 403
    assert "개인정보 접근기록" not in client.get("/").get_data(as_text=True)


def test_signed_out_visitors_go_to_login_and_officers_see_the_menu(client, signed_in):
    for path in ("/audit/log", "/audit/reviews"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    officer, _user, _tenant = signed_in("privacy_officer")
    home = officer.get("/").get_data(as_text=True)
    assert "개인정보 접근기록" in home and 'href="/audit/log"' in home
    assert officer.get("/audit/log").status_code == 200
    assert officer.get("/audit/reviews").status_code == 200


def test_a_user_without_an_active_tenant_is_sent_home(app, make):
    user = make.user()
    client = app.test_client()
    login(client, user.email)
    response = client.get("/audit/log")
    assert response.status_code in (302, 303) and "/audit" not in response.headers["Location"]


# -- who sees what ------------------------------------------------------------------------------

def test_the_officer_sees_own_users_and_other_tenants_users_on_own_clients_labelled(app, two_agencies):
    w = two_agencies
    page = _signed_in(app, w["b_officer"]).get("/audit/log").get_data(as_text=True)
    rows = _rows(page)
    # B's own worker, and A's worker opening B's client, each labelled.
    assert "나사례관리자" in rows and "가사례관리자" in rows
    assert "우리 기관 사용자" in rows and "다른 기관 사용자" in rows and "가나복지관" in rows
    assert rows.count("이다라") == 2
    # ...never A's worker opening A's own client.
    assert "김가나" not in page and "500517-2" not in page


def test_the_other_officer_sees_everything_its_own_users_did_with_masked_numbers_only(app, two_agencies):
    w = two_agencies
    page = _signed_in(app, w["a_officer"]).get("/audit/log").get_data(as_text=True)
    rows = _rows(page)
    assert "김가나" in rows and "500517-2******" in rows and "500517-2000004" not in page
    assert "이다라" not in rows  # B's client: A holds no grant, so its name stays hidden
    assert "(열람 권한 없음)" in rows and "다라행정복지센터" in rows
    assert "나사례관리자" not in page  # B's worker on B's client is none of A's business


def test_service_search_agrees_with_the_policy(app, two_agencies):
    from hanaro.audit import service

    w = two_agencies
    with app.test_request_context(), acting_as(w["b"].id, w["b_officer"].id):
        rows = service.search(service.LogFilter()).rows
        assert {(r.entry.tenant_id, r.entry.client_id) for r in rows} == {
            (w["a"].id, w["b_client"].id), (w["b"].id, w["b_client"].id)}
        assert [r.ours for r in rows] == [True, False]  # newest first
        theirs = service.search(service.LogFilter(source=service.SOURCE_THEIRS)).rows
        assert [r.user_name for r in theirs] == ["가사례관리자"]
        # The ORM filter alone (no explicit conditions) lets the same entries through.
        visible = db.session.scalars(select(AccessLogEntry)).all()
        assert {e.id for e in visible} == {r.entry.id for r in rows}


# -- filters ----------------------------------------------------------------------------------------

def test_filters_by_user_action_source_and_client(app, make, two_agencies):
    w = two_agencies
    officer = _signed_in(app, w["b_officer"])
    users = officer.get("/audit/log").get_data(as_text=True)
    assert w["b_worker"].public_id in users and w["a_worker"].public_id not in users  # own users only

    by_user = _rows(officer.post("/audit/log", data={"user": w["b_worker"].public_id}).get_data(as_text=True))
    assert "나사례관리자" in by_user and "가사례관리자" not in by_user
    by_action = _rows(officer.post("/audit/log", data={"action": "change"}).get_data(as_text=True))
    assert "나사례관리자" in by_action and "가사례관리자" not in by_action
    theirs = _rows(officer.post("/audit/log", data={"source": "theirs"}).get_data(as_text=True))
    assert "가사례관리자" in theirs and "나사례관리자" not in theirs
    by_name = _rows(officer.post("/audit/log", data={"client": "이다라"}).get_data(as_text=True))
    assert by_name.count("이다라") == 2


def test_a_client_search_never_reaches_another_tenants_clients(app, two_agencies):
    w = two_agencies
    officer = _signed_in(app, w["b_officer"])
    response = officer.post("/audit/log", data={"client": "김가나"})  # A's client, by name
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert _rows(page) == "" and "조건에 맞는 접근기록이 없습니다." in page
    # By public id, A's officer finds its users' entries about B's client, without its name.
    a_officer = _signed_in(app, w["a_officer"])
    rows = _rows(a_officer.post("/audit/log", data={"client": w["b_client"].public_id}).get_data(as_text=True))
    assert "(열람 권한 없음)" in rows and "김가나" not in rows and "이다라" not in rows


def test_looking_a_client_up_by_name_is_itself_recorded(app, two_agencies):
    w = two_agencies
    officer = _signed_in(app, w["b_officer"])
    officer.post("/audit/log", data={"client": "이다라"})
    with app.app_context(), acting_as(w["b"].id, None):
        lookups = db.session.scalars(
            select(AccessLogEntry).where(AccessLogEntry.what == "access_log_search")
        ).all()
    assert [(e.user_id, e.client_id, e.action) for e in lookups] == [
        (w["b_officer"].id, w["b_client"].id, AccessAction.SEARCH)]


def test_date_range_is_korean_calendar_days(app, make, signed_in):
    client, officer, tenant = signed_in("privacy_officer")
    worker = make.member(tenant, name="날짜확인자")
    person = make.client(tenant, name="경계대상")
    # 2026-03-01 23:30 KST and 2026-03-02 00:10 KST, both on 1 March in UTC.
    make.access(worker, tenant, person, at=datetime(2026, 3, 1, 14, 30, tzinfo=timezone.utc))
    make.access(worker, tenant, person, at=datetime(2026, 3, 1, 15, 10, tzinfo=timezone.utc), action="change")
    first = _rows(client.post("/audit/log", data={"date_from": "2026-03-01", "date_to": "2026-03-01"}).get_data(as_text=True))
    assert "2026-03-01 23:30:00" in first and "2026-03-02" not in first
    second = _rows(client.post("/audit/log", data={"date_from": "2026-03-02", "date_to": "2026-03-02"}).get_data(as_text=True))
    assert "2026-03-02 00:10:00" in second and "2026-03-01" not in second
    # The query string works too (links, no JavaScript).
    assert "2026-03-02 00:10:00" in _rows(client.get("/audit/log?date_from=2026-03-02").get_data(as_text=True))


# -- paging -----------------------------------------------------------------------------------------

def test_keyset_pages_are_newest_first_without_gaps_or_repeats_even_with_equal_times(app, make, signed_in):
    from hanaro.audit import service

    client, officer, tenant = signed_in("privacy_officer")
    worker = make.member(tenant)
    people = make.clients(tenant, 3)
    same_time = NOW - timedelta(hours=1)
    make.accesses(worker, tenant, people * 25, same_time, step_seconds=0)  # 75 entries, one timestamp
    make.accesses(worker, tenant, people, same_time + timedelta(minutes=1))
    with app.test_request_context(), acting_as(tenant.id, officer.id):
        seen, cursor = [], None
        while True:
            page = service.search(service.LogFilter(), after=cursor, limit=20)
            seen.extend(row.entry.id for row in page.rows)
            cursor = page.next_cursor
            if cursor is None:
                break
        all_ids = db.session.scalars(
            select(AccessLogEntry.id).order_by(AccessLogEntry.at.desc(), AccessLogEntry.id.desc())).all()
    assert seen == list(all_ids) and len(seen) == 78

    first = client.post("/audit/log", data={}).get_data(as_text=True)
    assert _rows(first).count("<tr>") == service.PAGE_SIZE + 1  # header row + 50
    assert 'name="after"' in first and "다음 기록 보기" in first
    import re

    after = re.search(r'name="after" value="([^"]+)"', first).group(1)
    second = client.post("/audit/log", data={"after": after}).get_data(as_text=True)
    assert _rows(second).count("<tr>") == 78 - service.PAGE_SIZE + 1
    assert 'name="after"' not in second


# -- htmx and bad input -------------------------------------------------------------------------------

def test_htmx_filter_updates_swap_only_the_search_block(app, two_agencies):
    officer = _signed_in(app, two_agencies["b_officer"])
    response = officer.post("/audit/log", data={"source": "ours"},
                            headers={"HX-Request": "true", "HX-Target": "audit-search"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="audit-search"') and "<html" not in body
    assert "나사례관리자" in body and "이상 징후" not in body
    assert "HX-Request" in response.headers.get("Vary", "")
    full = officer.get("/audit/log").get_data(as_text=True)
    assert 'hx-post="/audit/log"' in full and 'hx-target="#audit-search"' in full


def test_bad_dates_are_explained_next_to_the_fields_and_input_is_kept(app, signed_in):
    client, _officer, _tenant = signed_in("privacy_officer")
    response = client.post("/audit/log", data={"date_from": "2026-13-01", "client": "홍길동", "action": "view"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="date_from-error"' in page and "날짜를 YYYY-MM-DD 형식으로 입력하세요." in page
    assert 'value="2026-13-01"' in page and 'value="홍길동"' in page
    assert '<option value="view" selected>' in page

    response = client.post("/audit/log", data={"date_from": "2026-05-10", "date_to": "2026-05-01"},
                           headers={"HX-Request": "true", "HX-Target": "audit-search"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="date_to-error"' in page and "종료일은 시작일과 같거나 그 이후여야 합니다." in page
    assert 'value="2026-05-10"' in page and 'value="2026-05-01"' in page


def test_unknown_choices_and_a_foreign_user_are_refused_with_korean_messages(app, two_agencies):
    w = two_agencies
    officer = _signed_in(app, w["b_officer"])
    response = officer.post("/audit/log", data={"action": "delete", "source": "everyone"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="action-error"' in page and 'id="source-error"' in page and "목록에 있는 값을 고르세요." in page
    response = officer.post("/audit/log", data={"user": w["a_worker"].public_id})  # A's user
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="user-error"' in page and "목록에 있는 사용자를 고르세요." in page
    assert "가사례관리자" not in page
    response = officer.post("/audit/log", data={"after": "not-a-cursor"})
    assert response.status_code == 422 and "페이지 정보가 올바르지 않습니다." in response.get_data(as_text=True)


def test_the_log_page_takes_the_same_number_of_queries_for_few_and_many_rows(app, make, signed_in):
    from .helpers import count_queries

    client, officer, tenant = signed_in("privacy_officer")
    other = make.tenant()
    worker, visitor = make.member(tenant), make.member(other)
    people = make.clients(tenant, 50)
    make.accesses(worker, tenant, people[:3], NOW - timedelta(hours=2))
    make.accesses(visitor, other, people[:2], NOW - timedelta(hours=2))

    def queries():
        with app.app_context(), count_queries() as n:
            assert client.post("/audit/log", data={}).status_code == 200
        return n()

    few = queries()
    make.accesses(worker, tenant, people, NOW - timedelta(hours=1))
    make.accesses(visitor, other, people, NOW - timedelta(hours=1))
    assert few > 5 and queries() == few


def test_every_kind_of_access_the_app_records_has_a_label():
    import re
    from pathlib import Path

    from hanaro.audit.service import WHAT_LABELS

    root = Path(__file__).resolve().parents[1] / "platform" / "hanaro"
    source = "\n".join(p.read_text(encoding="utf-8") for p in root.rglob("*.py"))
    recorded = set(re.findall(r'what="([a-z_]+)"', source)) | set(re.findall(r'^WHAT = "([a-z_]+)"', source, re.M))
    assert recorded and recorded <= set(WHAT_LABELS)
