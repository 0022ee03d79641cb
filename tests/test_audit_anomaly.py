"""Anomaly flags: bursts against the user's own hourly median, after-hours bulk access, exports
listed, each tenant seeing only what is its business."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from hanaro.audit import anomaly, service
from hanaro.tenancy.context import acting_as

from .helpers import count_queries, login

MARCH = service.month_range("2026-03")
# 2026-03-10 10:00 KST (a weekday morning) and the baseline hours in February.
MORNING = datetime(2026, 3, 10, 1, 0, tzinfo=timezone.utc)


def _flags(app, tenant, user, start_end=MARCH):
    with app.test_request_context(), acting_as(tenant.id, user.id):
        return anomaly.flags(*start_end)


@pytest.fixture
def office(make):
    tenant = make.tenant(name="하나복지관")
    officer = make.member(tenant, roles=["privacy_officer"], name="보호책임자")
    return tenant, officer, make.clients(tenant, 80)


def test_a_user_opening_40_clients_in_an_hour_is_flagged_a_normal_one_is_not(app, make, office):
    tenant, officer, people = office
    busy = make.member(tenant, name="대량열람자")
    normal = make.member(tenant, name="보통사용자")
    make.accesses(busy, tenant, people[:40], MORNING, step_seconds=80)  # 40 clients in 53 minutes
    for day in range(5):  # the normal user: 6 clients an hour, several hours
        make.accesses(normal, tenant, people[day * 6:(day + 1) * 6], MORNING + timedelta(days=day), step_seconds=300)
    flags = _flags(app, tenant, officer)
    assert [(f.kind, f.user_name, f.clients) for f in flags] == [("burst", "대량열람자", 40)]
    flag = flags[0]
    assert flag.ours and flag.starts_at.strftime("%Y-%m-%d %H:%M") == "2026-03-10 10:00"
    assert "서로 다른 대상자 40명" in flag.reason and "기준 20명 초과" in flag.reason


def test_repeated_views_of_the_same_clients_and_searches_do_not_count(app, make, office):
    tenant, officer, people = office
    user = make.member(tenant, name="반복열람자")
    make.accesses(user, tenant, people[:5] * 10, MORNING, step_seconds=30)  # 50 views, 5 clients
    make.accesses(user, tenant, people[:60], MORNING, step_seconds=1, action="search", what="client_search")
    assert _flags(app, tenant, officer) == []


def test_the_baseline_is_the_users_own_hourly_median_before_the_period(app, make, office):
    tenant, officer, people = office
    records_clerk = make.member(tenant, name="자료입력담당")
    # In February the clerk routinely opens 30 clients an hour (10 working hours).
    for day in range(10):
        make.accesses(records_clerk, tenant, people[:30], datetime(2026, 2, 2 + day, 1, 0, tzinfo=timezone.utc),
                      step_seconds=100)
    make.accesses(records_clerk, tenant, people[:40], MORNING, step_seconds=60)  # 40: usual for them
    assert _flags(app, tenant, officer) == []
    # 3 × median 30 = 90 would be the limit, but the ceiling (60) caps it.
    make.accesses(records_clerk, tenant, people[:70], MORNING + timedelta(days=1), step_seconds=50)
    flags = _flags(app, tenant, officer)
    assert [(f.user_name, f.clients) for f in flags] == [("자료입력담당", 70)]
    assert "평소 시간당 중앙값 30명" in flags[0].reason and "기준 60명 초과" in flags[0].reason


def test_thresholds_come_from_the_config(app, make, office):
    tenant, officer, people = office
    user = make.member(tenant)
    make.accesses(user, tenant, people[:15], MORNING, step_seconds=60)
    assert _flags(app, tenant, officer) == []
    app.config["AUDIT_BURST_FLOOR"] = 10
    try:
        assert [f.clients for f in _flags(app, tenant, officer)] == [15]
    finally:
        del app.config["AUDIT_BURST_FLOOR"]


def test_after_hours_bulk_access_is_flagged_per_korean_night(app, make, office):
    tenant, officer, people = office
    night_owl = make.member(tenant, name="야간열람자")
    evening_worker = make.member(tenant, name="저녁근무자")
    # 2026-03-12 23:00 KST to 03-13 01:00 KST: 12 clients, spread over three hours (no burst).
    make.accesses(night_owl, tenant, people[:12], datetime(2026, 3, 12, 14, 0, tzinfo=timezone.utc), step_seconds=600)
    # 21:00–21:50 KST: busy, but before the night starts.
    make.accesses(evening_worker, tenant, people[:15], datetime(2026, 3, 12, 12, 0, tzinfo=timezone.utc), step_seconds=200)
    flags = _flags(app, tenant, officer)
    assert [(f.kind, f.user_name, f.clients) for f in flags] == [("night", "야간열람자", 12)]
    assert flags[0].starts_at.strftime("%Y-%m-%d %H:%M") == "2026-03-12 22:00"
    assert "2026-03-12 밤" in flags[0].reason and "업무시간 외" in flags[0].reason


def test_each_officer_sees_flags_only_for_what_is_its_business(app, make, office):
    tenant, officer, people = office
    partner = make.tenant(name="협력기관")
    partner_officer = make.member(partner, roles=["privacy_officer"])
    partner_user = make.member(partner, name="협력기관직원")
    partner_people = make.clients(partner, 40)
    # The partner's user opens 25 of *our* clients and 40 of their own in the same hour.
    make.accesses(partner_user, partner, people[:25], MORNING, step_seconds=60)
    make.accesses(partner_user, partner, partner_people, MORNING, step_seconds=60)
    ours = _flags(app, tenant, officer)
    assert [(f.user_name, f.ours, f.tenant_name, f.clients) for f in ours] == [("협력기관직원", False, "협력기관", 25)]
    theirs = _flags(app, partner, partner_officer)
    assert [(f.user_name, f.ours, f.clients) for f in theirs] == [("협력기관직원", True, 65)]
    outsider = make.tenant()
    assert _flags(app, outsider, make.member(outsider, roles=["privacy_officer"])) == []


def test_flags_take_a_fixed_number_of_queries(app, make, office):
    tenant, officer, people = office
    for n in range(3):
        make.accesses(make.member(tenant), tenant, people[:30], MORNING + timedelta(days=n), step_seconds=60)
    with app.test_request_context(), acting_as(tenant.id, officer.id), count_queries() as queries:
        flags = anomaly.flags(*MARCH)
    assert len(flags) == 3
    assert queries() <= 6  # burst + names, night + names: never one per entry or per user


def test_exports_are_listed_with_their_purpose(app, make, office):
    tenant, officer, people = office
    user = make.member(tenant, name="내보낸직원")
    for person in people[:3]:
        make.access(user, tenant, person, at=MORNING, action="export", what="client", purpose="구청 보고")
    make.access(user, tenant, people[3], at=MORNING + timedelta(hours=2), action="print", what="case", purpose="사례회의 자료")
    with app.test_request_context(), acting_as(tenant.id, officer.id):
        groups = anomaly.exports(*MARCH)
    assert [(g.action_label, g.purpose, g.clients, g.user_name) for g in groups] == [
        ("인쇄", "사례회의 자료", 1, "내보낸직원"), ("내보내기", "구청 보고", 3, "내보낸직원")]


def test_the_screen_shows_recent_flags_and_exports_with_korean_reasons(app, make, office):
    tenant, officer, people = office
    user = make.member(tenant, name="최근대량열람자")
    recent = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
    make.accesses(user, tenant, people[:40], recent, step_seconds=60)
    make.access(user, tenant, people[0], at=recent, action="export", purpose="감사원 제출")
    client = app.test_client()
    login(client, officer.email)
    page = client.get("/audit/log").get_data(as_text=True)
    flags_section = page[page.find('id="flags"'):page.find('id="exports"')]
    assert "최근대량열람자" in flags_section and "단시간 대량 열람" in flags_section
    assert "서로 다른 대상자 40명" in flags_section
    exports_section = page[page.find('id="exports"'):page.find('id="search-heading"')]
    assert "감사원 제출" in exports_section
