"""CSV export of the log search: a stated reason, Korean headers, UTF-8 with BOM, and the export
itself recorded in the log."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from hanaro.audit.models import AccessAction, AccessLogEntry
from hanaro.core.db import db
from hanaro.tenancy.context import acting_as

from .helpers import login

NOW = datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture
def office(app, make):
    tenant = make.tenant(name="내보내기복지관")
    officer = make.member(tenant, roles=["privacy_officer"], name="보호책임자")
    worker = make.member(tenant, name="=HYPERLINK(\"x\")")  # a name that looks like a formula
    people = [make.client(tenant, name="박내보", rrn="500517-2000004"), make.client(tenant, name="최내보")]
    make.access(worker, tenant, people[0], at=NOW - timedelta(hours=2))
    make.access(worker, tenant, people[1], at=NOW - timedelta(hours=1), action="change")
    client = app.test_client()
    login(client, officer.email)
    return client, tenant, officer, worker, people


def _csv(response) -> list[list[str]]:
    raw = response.data
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens Hangul correctly
    return list(csv.reader(io.StringIO(raw[3:].decode("utf-8"))))


def test_an_export_without_a_reason_is_refused_next_to_the_field_and_filters_are_kept(office):
    client, *_ = office
    response = client.post("/audit/log/export", data={"action": "change", "date_from": "2026-01-01"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="reason-error"' in page and "내보내기 사유를 입력하세요." in page
    assert '<option value="change" selected>' in page and 'value="2026-01-01"' in page
    response = client.post("/audit/log/export", data={"reason": "가"})
    assert response.status_code == 422 and "2자 이상 300자 이하로 입력하세요." in response.get_data(as_text=True)
    response = client.post("/audit/log/export", data={"reason": "점검", "date_from": "2026-02-10", "date_to": "2026-02-01"})
    assert response.status_code == 422 and 'id="date_to-error"' in response.get_data(as_text=True)


def test_the_csv_has_the_reason_korean_headers_and_only_name_and_masked_number(office):
    client, tenant, officer, worker, people = office
    response = client.post("/audit/log/export", data={"reason": "정기 점검(11월)", "source": "ours"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"] and "UTF-8''" in response.headers["Content-Disposition"]
    rows = _csv(response)
    assert rows[0] == ["# 개인정보 접근기록 내보내기"]
    assert rows[1] == ["# 내보내기 사유: 정기 점검(11월)"]
    assert rows[2][0].startswith("# 내보낸 사람: 보호책임자")
    header_index = next(i for i, row in enumerate(rows) if row and row[0] == "일시(한국시간)")
    assert rows[header_index] == ["일시(한국시간)", "구분", "사용자", "사용자 기관", "대상자", "주민등록번호(마스킹)",
                                  "대상자 기관", "행위", "대상 정보", "목적", "IP 주소"]
    data = rows[header_index + 1:]
    assert [row[4] for row in data] == ["최내보", "박내보"]  # newest first
    assert data[1][5] == "500517-2******"
    assert "500517-2000004" not in response.data.decode("utf-8")
    assert data[0][2] == "'=HYPERLINK(\"x\")"  # never runs as a formula in a spreadsheet
    assert data[0][7] == "변경" and data[1][7] == "열람"


def test_the_export_is_recorded_once_per_client_with_the_reason(app, office):
    client, tenant, officer, worker, people = office
    client.post("/audit/log/export", data={"reason": "개인정보 침해 신고 확인"})
    with app.app_context(), acting_as(tenant.id, None):
        exports = db.session.scalars(
            select(AccessLogEntry).where(AccessLogEntry.action == AccessAction.EXPORT)).all()
    assert sorted(e.client_id for e in exports) == sorted(p.id for p in people)
    assert {(e.user_id, e.what, e.purpose) for e in exports} == {(officer.id, "access_log_export", "개인정보 침해 신고 확인")}
    # ...and it shows in the exports list of the screen.
    page = client.get("/audit/log").get_data(as_text=True)
    exports_section = page[page.find('id="exports"'):page.find('id="search-heading"')]
    assert "개인정보 침해 신고 확인" in exports_section and "접근기록 내보내기" in exports_section


def test_an_export_never_contains_another_tenants_view(app, make, office):
    client, tenant, officer, worker, people = office
    other = make.tenant(name="남의기관")
    other_user = make.member(other, name="남의직원")
    make.access(other_user, other, make.client(other, name="남의대상자"), at=NOW)
    text = client.post("/audit/log/export", data={"reason": "점검"}).data.decode("utf-8")
    assert "남의대상자" not in text and "남의직원" not in text


def test_export_is_capped_and_says_so(app, office):
    client, *_ = office
    app.config["AUDIT_EXPORT_MAX_ROWS"] = 1
    try:
        rows = _csv(client.post("/audit/log/export", data={"reason": "점검"}))
    finally:
        del app.config["AUDIT_EXPORT_MAX_ROWS"]
    assert any("최대 1건까지만" in row[0] for row in rows if row)
    header_index = next(i for i, row in enumerate(rows) if row and row[0] == "일시(한국시간)")
    assert len(rows[header_index + 1:]) == 1


def test_an_export_form_is_on_the_screen_without_htmx_boost(office):
    client, *_ = office
    page = client.get("/audit/log").get_data(as_text=True)
    form_start = page.find('action="/audit/log/export"')
    assert form_start > 0 and 'hx-boost="false"' in page[form_start:form_start + 200]
    assert 'name="reason"' in page


def test_exports_and_prints_without_a_purpose_cannot_be_recorded(app, make):
    from hanaro.audit.service import PurposeRequired, record

    tenant = make.tenant()
    user = make.member(tenant)
    person = make.client(tenant)
    with app.test_request_context(), acting_as(tenant.id, user.id):
        for action in (AccessAction.EXPORT, AccessAction.PRINT):
            with pytest.raises(PurposeRequired):
                record(person, action, "client")
            with pytest.raises(PurposeRequired):
                record(person, action, "client", purpose="   ")
        assert record(person, AccessAction.EXPORT, "client", purpose=" 법원 제출 ").purpose == "법원 제출"
