"""Bulk import (CSV, Excel) with a preview and an all-or-nothing confirmation, and the exports
(CSV, Excel, HSDS) of exactly what the exporter may see."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from hanaro.core import clock
from hanaro.core.db import db
from hanaro.resources import service
from hanaro.resources.models import Capacity, Resource, ResourceChange, Scope
from hanaro.tenancy.context import acting_as

from .factories import _Actor
from .helpers import login
from .test_directory import _validator
from .test_resources_visibility import EXPECTED, SCOPES, STAFF_PHONES
from .test_resources_visibility import staffed, world  # noqa: F401 (fixtures)

# Spelled out (not imported from hanaro.resources.transfer): importing the forms before the app
# exists would freeze marshmallow's English default messages into them.
HEADERS = [
    "종류", "자원 이름", "설명", "제공 기관", "욕구 영역", "세부 분류", "최소 나이", "최대 나이", "가구 조건", "소득 기준",
    "기타 자격", "서비스 지역", "주소", "운영 시간", "신청 방법", "제출 서류", "비용", "언어", "대표 전화", "이용 가능 여부",
    "예상 대기 기간", "남은 자리", "수량", "단위", "유효 시작일", "유효 종료일", "담당자", "담당자 직통 전화", "공개 범위",
    "담당자 전용 정보 공개 범위",
]
MAX_BYTES, MAX_ROWS = 2 * 1024 * 1024, 1000
ROW = {
    "종류": "서비스", "자원 이름": "어르신 밑반찬 배달", "설명": "혼자 사는 어르신께 주 2회 밑반찬을 배달합니다.",
    "욕구 영역": "경제, daily_living", "최소 나이": "65", "최대 나이": "120", "주소": "제주시 한림읍 한림로 1",
    "운영 시간": "월 09:00-18:00, 수 9:00~12:00", "신청 방법": "전화 신청", "대표 전화": "064-123-4567",
    "이용 가능 여부": "대기", "예상 대기 기간": "1~3개월", "남은 자리": "3", "담당자": "김담당",
    "담당자 직통 전화": "010-2222-3333", "공개 범위": "우리 기관만", "담당자 전용 정보 공개 범위": "private",
}
IN_KIND = {**ROW, "종류": "후원 물품", "자원 이름": "김장김치", "수량": "100", "단위": "상자", "유효 시작일": "2026-11-01",
           "유효 종료일": "2026-12-31", "이용 가능 여부": "이용 가능", "예상 대기 기간": "", "공개 범위": "협약 기관"}


def _csv(rows, headers=HEADERS, encoding="utf-8-sig") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows([[row.get(h, "") for h in headers] for row in rows])
    return buffer.getvalue().encode(encoding)


def _xlsx(rows, headers=HEADERS) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for row in rows:
        sheet.append([row.get(h) for h in headers])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _upload(client, data: bytes, filename="resources.csv"):
    return client.post("/resources/import", data={"file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def _confirm_form(page: str) -> dict:
    rows = re.search(r'name="rows" value="([^"]+)"', page)
    token = re.search(r'name="submission_token" value="([^"]+)"', page)
    assert rows and token, "the preview offers no confirmation"
    return {"rows": rows.group(1), "submission_token": token.group(1)}


def _import(client, data: bytes, filename="resources.csv"):
    preview = _upload(client, data, filename)
    assert preview.status_code == 200, preview.get_data(as_text=True)
    return client.post("/resources/import/confirm", data=_confirm_form(preview.get_data(as_text=True)))


def _resources(app, tenant):
    with app.app_context(), acting_as(tenant.id, None):
        return db.session.scalars(select(Resource).where(Resource.tenant_id == tenant.id).order_by(Resource.id)).all()


def _csv_rows(body: bytes) -> list[dict]:
    assert body.startswith(b"\xef\xbb\xbf"), "CSV exports start with a UTF-8 byte order mark"
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def _xlsx_rows(body: bytes) -> list[dict]:
    sheet = load_workbook(io.BytesIO(body)).worksheets[0]
    header, *rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    return [dict(zip(header, (v or "" for v in row))) for row in rows]


def _signed_in_member(app, make, tenant, role="case_manager"):
    user = make.member(tenant, roles=[role])
    client = app.test_client()
    assert login(client, user.email).status_code == 303
    return client


# -- the template -------------------------------------------------------------------------------------

def test_the_file_format_is_the_one_spelled_out_here(app):
    from hanaro.resources import transfer

    assert [c.header for c in transfer.COLUMNS] == HEADERS
    assert (transfer.MAX_BYTES, transfer.MAX_ROWS) == (MAX_BYTES, MAX_ROWS)


def test_templates_have_korean_headers_and_an_example_that_imports(app, signed_in):
    client, _, tenant = signed_in("resource_registrar")
    form = client.get("/resources/import")
    assert form.status_code == 200
    text = form.get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in text and 'for="file"' in text
    assert "/resources/import/template.xlsx" in text and "/resources/import/template.csv" in text
    as_csv = client.get("/resources/import/template.csv")
    assert as_csv.headers["Content-Disposition"].startswith("attachment")
    [example] = _csv_rows(as_csv.data)
    assert list(example) == HEADERS and example["자원 이름"] == "어르신 밑반찬 배달"
    as_xlsx = client.get("/resources/import/template.xlsx")
    assert _xlsx_rows(as_xlsx.data) == [example]
    assert _import(client, as_xlsx.data, "template.xlsx").status_code == 303
    [resource] = _resources(app, tenant)
    assert resource.need_domains == ["daily_living", "economy"] and resource.capacity is Capacity.WAITLIST


# -- importing ----------------------------------------------------------------------------------------------

def test_csv_preview_saves_nothing_and_confirm_registers_every_row_like_the_form(app, signed_in):
    client, user, tenant = signed_in("resource_registrar")
    preview = _upload(client, _csv([ROW, IN_KIND]))
    assert preview.status_code == 200
    page = preview.get_data(as_text=True)
    assert "어르신 밑반찬 배달" in page and "김장김치" in page and "2행 모두 가져올 수 있습니다" in page
    assert "65~120" in page and "협약 기관" in page and 'scope="row"' in page
    assert _resources(app, tenant) == []

    response = client.post("/resources/import/confirm", data=_confirm_form(page))
    assert response.status_code == 303 and response.headers["Location"].endswith("/resources")
    assert "자원 2건을 가져왔습니다" in client.get("/resources").get_data(as_text=True)
    meals, kimchi = _resources(app, tenant)
    assert (meals.name, meals.min_age, meals.max_age) == ("어르신 밑반찬 배달", 65, 120)
    assert meals.need_domains == ["economy", "daily_living"]
    assert meals.schedule == [{"weekday": 0, "opens": "09:00", "closes": "18:00"},
                              {"weekday": 2, "opens": "09:00", "closes": "12:00"}]
    assert meals.capacity is Capacity.WAITLIST and meals.wait_estimate.value == "one_to_three_months"
    assert (meals.remaining_slots, meals.contact_person, meals.direct_phone) == (3, "김담당", "010-2222-3333")
    assert meals.scope is Scope.PRIVATE and meals.staff_scope is Scope.PRIVATE
    assert meals.last_verified_on == clock.today() and meals.created_by_user_id == user.id
    with app.app_context(), acting_as(tenant.id, None):
        assert "반찬" in {row.term for row in db.session.get(Resource, meals.id).terms}
    assert (kimchi.kind.value, kimchi.quantity, kimchi.valid_until) == ("in_kind", 100, date(2026, 12, 31))
    assert kimchi.scope is Scope.PARTNERS and kimchi.wait_estimate is None
    with app.app_context(), acting_as(tenant.id, None):
        assert [c.action for c in service.history(meals)] == ["created"]


def test_xlsx_with_numbers_and_dates_as_excel_stores_them(app, signed_in):
    client, _, tenant = signed_in("tenant_admin")
    row = {**IN_KIND, "최소 나이": 65, "수량": 100.0, "유효 시작일": datetime(2026, 11, 1), "유효 종료일": date(2026, 12, 31)}
    assert _import(client, _xlsx([row]), "물품.xlsx").status_code == 303
    [resource] = _resources(app, tenant)
    assert (resource.min_age, resource.quantity, resource.valid_from) == (65, 100, date(2026, 11, 1))


@pytest.mark.parametrize("encoding", ["cp949", "utf-8", "utf-8-sig"])
def test_csv_encodings_korean_excel_saves(app, signed_in, encoding):
    client, _, tenant = signed_in("resource_registrar")
    assert _import(client, _csv([ROW], encoding=encoding)).status_code == 303
    [resource] = _resources(app, tenant)
    assert resource.name == "어르신 밑반찬 배달" and resource.description.startswith("혼자 사는")


def test_columns_may_come_in_any_order(app, signed_in):
    client, _, tenant = signed_in("resource_registrar")
    assert _import(client, _csv([ROW], headers=list(reversed(HEADERS)))).status_code == 303
    assert [r.name for r in _resources(app, tenant)] == ["어르신 밑반찬 배달"]


def test_preview_shows_each_row_error_with_row_and_column_and_imports_nothing(app, signed_in):
    client, _, tenant = signed_in("resource_registrar")
    rows = [
        ROW,
        {**ROW, "최소 나이": "예순"},
        {**ROW, "최소 나이": "70", "최대 나이": "60"},
        {**IN_KIND, "수량": ""},
        {**ROW, "공개 범위": "협약 기관", "담당자 전용 정보 공개 범위": "누구나 (공개 목록)"},
        {**ROW, "욕구 영역": "경제, 행복", "운영 시간": "매일 아침"},
        {**ROW, "자원 이름": "", "공개 범위": "모두", "남은 자리": "-1"},
    ]
    response = _upload(client, _csv(rows))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    for message in (
        "3행 '최소 나이': 숫자를 입력하세요.",
        "4행 '최대 나이': 최대 나이는 최소 나이보다 작을 수 없습니다.",
        "5행 '수량': 후원 물품은 수량을 입력하세요.",
        "6행 '담당자 전용 정보 공개 범위': 담당자 전용 정보의 공개 범위는 자원의 공개 범위보다 넓을 수 없습니다.",
        "7행 '욕구 영역': &#39;행복&#39;은(는) 없는 욕구 영역입니다.",
        "7행 '운영 시간': 운영 시간은",
        "8행 '자원 이름': 필수 입력 항목입니다.",
        "8행 '공개 범위': 다음 중 하나를 입력하세요: 우리 기관만, 협약 기관",
        "8행 '남은 자리': 0 이상의 숫자를 입력하세요.",
    ):
        assert message.replace("'", "&#39;") in page, message
    assert 'role="alert"' in page and "아무것도 가져올 수 없습니다" in page
    assert 'name="rows"' not in page and "/resources/import/confirm" not in page
    assert _resources(app, tenant) == []


def test_a_failure_while_registering_rolls_back_every_row(app, signed_in, monkeypatch):
    from hanaro.core.rules import RuleViolation

    client, _, tenant = signed_in("resource_registrar")
    preview = _upload(client, _csv([ROW, {**ROW, "자원 이름": "둘째"}, {**ROW, "자원 이름": "셋째"}]))
    real_register, calls = service.register, []

    def failing_on_the_third(values, actor):
        calls.append(values["name"])
        if len(calls) == 3:
            raise RuleViolation("중간 실패")
        return real_register(values, actor)

    monkeypatch.setattr(service, "register", failing_on_the_third)
    response = client.post("/resources/import/confirm", data=_confirm_form(preview.get_data(as_text=True)))
    assert response.status_code == 422 and "중간 실패" in response.get_data(as_text=True)
    assert len(calls) == 3 and _resources(app, tenant) == []
    with app.app_context(), acting_as(tenant.id, None):
        assert db.session.scalar(select(func.count()).select_from(ResourceChange)) == 0


def test_double_confirm_imports_once(app, signed_in):
    client, _, tenant = signed_in("resource_registrar")
    form = _confirm_form(_upload(client, _csv([ROW, IN_KIND])).get_data(as_text=True))
    first = client.post("/resources/import/confirm", data=form)
    second = client.post("/resources/import/confirm", data=form)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert len(_resources(app, tenant)) == 2


def test_the_confirmation_trusts_only_its_own_signed_rows(app, make, signed_in):
    client, _, tenant = signed_in("resource_registrar")
    form = _confirm_form(_upload(client, _csv([ROW])).get_data(as_text=True))
    for forged in ({**form, "rows": form["rows"][:-3] + "abc"}, {**form, "submission_token": "another"},
                   {"rows": form["rows"]}, {**form, "rows": ""}):
        response = client.post("/resources/import/confirm", data=forged)
        assert response.status_code == 422 and "파일을 다시 올리세요" in response.get_data(as_text=True)
    other, _, other_tenant = signed_in("resource_registrar")
    assert other.post("/resources/import/confirm", data=form).status_code == 422
    colleague = _signed_in_member(app, make, tenant, "resource_registrar")
    assert colleague.post("/resources/import/confirm", data=form).status_code == 422
    assert _resources(app, tenant) == _resources(app, other_tenant) == []


def test_an_import_creates_rows_for_the_importing_tenant_only(app, make, signed_in):
    client, _, tenant = signed_in("resource_registrar")
    bystander = make.tenant(name="다른기관")
    assert _import(client, _csv([ROW, IN_KIND])).status_code == 303
    assert len(_resources(app, tenant)) == 2 and _resources(app, bystander) == []
    with app.app_context(), acting_as(bystander.id, None):
        assert db.session.scalars(select(Resource)).all() == []


def _refused(client, data: bytes, filename: str, message: str):
    response = _upload(client, data, filename)
    assert response.status_code == 422, (filename, response.status_code)
    page = response.get_data(as_text=True)
    assert message in page and 'role="alert"' in page, page
    return page


def test_bad_files_get_korean_reasons_and_never_a_server_error(app, signed_in):
    client, _, tenant = signed_in("resource_registrar")
    _refused(client, _csv([ROW], headers=[h for h in HEADERS if h != "설명"]), "a.csv", "필요한 열이 없습니다: 설명.")
    page = _refused(client, _csv([ROW], headers=HEADERS + ["비고"]), "a.csv", "알 수 없는 열이 있습니다: 비고.")
    assert "첫 줄(열 이름)을 바꾸지 말고" in page
    _refused(client, _csv([ROW], headers=HEADERS + ["설명"]), "a.csv", "같은 이름의 열이 여러 번 있습니다: 설명.")
    _refused(client, _csv([]), "a.csv", "가져올 행이 없습니다")
    _refused(client, _csv([ROW])[3:].split(b"\r\n", 1)[1], "a.csv", "첫 줄에 열 이름이 없습니다")
    _refused(client, b"", "a.csv", "빈 파일입니다")
    _refused(client, b"\r\n,,\r\n", "a.csv", "빈 파일입니다")
    _refused(client, b"x" * (MAX_BYTES + 1), "a.csv", "파일은 2MB 이하만 올릴 수 있습니다.")
    _refused(client, _csv([ROW] * (MAX_ROWS + 1)), "a.csv", "한 번에 1000행까지")
    _refused(client, _xlsx([ROW] * (MAX_ROWS + 1)), "a.xlsx", "한 번에 1000행까지")
    _refused(client, _csv([ROW]) + b"\r\n" * (MAX_ROWS * 20) + b"x\r\n", "a.csv", "한 번에 1000행까지")
    for name in ("a.txt", "a.xls", "a.pdf", "resources"):
        _refused(client, _csv([ROW]), name, "CSV, 엑셀(XLSX) 파일만 올릴 수 있습니다.")
    _refused(client, b"PK\x03\x04 not really a workbook", "a.xlsx", "Excel 파일을 읽을 수 없습니다")
    _refused(client, _csv([ROW]), "a.xlsx", "Excel 파일을 읽을 수 없습니다")
    _refused(client, _xlsx([ROW]), "a.csv", "")
    _refused(client, "\ud558".encode("utf-16"), "a.csv", "")
    response = client.post("/resources/import", data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and "가져올 파일을 고르세요" in response.get_data(as_text=True)
    assert _resources(app, tenant) == []


def test_exactly_the_row_limit_is_accepted(signed_in):
    client, _, _ = signed_in("resource_registrar")
    response = _upload(client, _csv([ROW] * MAX_ROWS))
    assert response.status_code == 200 and "1000행 모두 가져올 수 있습니다" in response.get_data(as_text=True)


# -- who may use it -----------------------------------------------------------------------------------------

def test_roles_without_access_are_refused(app, make, signed_in):
    manager, _, tenant = signed_in("case_manager")
    for url in ("/resources/import", "/resources/import/template.csv", "/resources/import/template.xlsx"):
        assert manager.get(url).status_code == 403, url
    assert _upload(manager, _csv([ROW])).status_code == 403
    assert manager.post("/resources/import/confirm", data={"rows": "x"}).status_code == 403
    for url in ("/resources/export.csv", "/resources/export.xlsx", "/resources/export.hsds.json"):
        assert manager.get(url).status_code == 200, url
    viewer = _signed_in_member(app, make, tenant, "viewer")
    for url in ("/resources/export.csv", "/resources/export.xlsx", "/resources/export.hsds.json", "/resources/import"):
        assert viewer.get(url).status_code == 403, url
    anonymous = app.test_client()
    for url in ("/resources/export.csv", "/resources/export.hsds.json", "/resources/import"):
        assert anonymous.get(url).status_code == 302, url
    assert _resources(app, tenant) == []


def test_resource_list_links_to_import_and_exports(signed_in, make):
    registrar, _, tenant = signed_in("resource_registrar")
    page = registrar.get("/resources").get_data(as_text=True)
    for url in ("/resources/import", "/resources/export.csv", "/resources/export.xlsx", "/resources/export.hsds.json"):
        assert f'href="{url}"' in page, url
    manager, _, _ = signed_in("case_manager", tenant=tenant)
    page = manager.get("/resources").get_data(as_text=True)
    assert 'href="/resources/import"' not in page and 'href="/resources/export.csv"' in page


# -- exports --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("viewer", sorted(set(EXPECTED) - {"anonymous"}))
def test_exports_hold_exactly_what_the_viewer_may_see(app, make, staffed, viewer):
    registrant, viewers, _ = staffed
    client = _signed_in_member(app, make, registrant if viewer == "registrant" else viewers[viewer])
    expected = EXPECTED[viewer]
    as_csv = _csv_rows(client.get("/resources/export.csv").data)
    as_xlsx = _xlsx_rows(client.get("/resources/export.xlsx").data)
    assert as_csv == as_xlsx
    assert {r["자원 이름"] for r in as_csv} == {f"{p}-{s}" for s in expected for p in ("자원", "직통")}
    for row in as_csv:
        assert row["등록 기관"] == "등록기관" and row["마지막 확인일"] == clock.today().isoformat()
        prefix, scope = row["자원 이름"].split("-")
        if prefix == "자원":  # staff-only fields reach the registrant only
            visible = viewer == "registrant"
            assert (row["담당자"], row["담당자 직통 전화"], row["남은 자리"]) == (
                ("담당자김", "064-000-0000", "3") if visible else ("", "", "")), row
        else:  # staff scope as wide as the resource
            assert row["담당자 직통 전화"] == STAFF_PHONES[scope]


def test_scope_column_is_the_korean_label(app, make, world):
    registrant, _, _ = world
    client = _signed_in_member(app, make, registrant)
    rows = {r["자원 이름"]: r for r in _csv_rows(client.get("/resources/export.csv").data)}
    assert rows["자원-partners"]["공개 범위"] == "협약 기관" and rows["자원-public"]["공개 범위"] == "누구나 (공개 목록)"
    assert rows["자원-region"]["담당자 전용 정보 공개 범위"] == "우리 기관만"


def test_stale_shared_resources_are_left_out_but_own_ones_stay(app, make, world):
    registrant, viewers, resources = world
    with app.app_context(), acting_as(registrant.id, None):
        resource = service.own_resource_or_404(resources["platform"])
        resource.last_verified_on = clock.today() - service.STALE_AFTER - timedelta(days=1)
        db.session.commit()
    other = _signed_in_member(app, make, viewers["other_region"])
    assert {r["자원 이름"] for r in _csv_rows(other.get("/resources/export.csv").data)} == {"자원-public"}
    names = [s["name"] for s in other.get("/resources/export.hsds.json").get_json()["contents"]]
    assert names == ["자원-public"]
    owner = _signed_in_member(app, make, registrant)
    assert "자원-platform" in {r["자원 이름"] for r in _csv_rows(owner.get("/resources/export.csv").data)}


def test_another_tenant_sees_a_private_resource_in_no_export(app, make, signed_in):
    owner, _, tenant = signed_in("resource_registrar")
    make.resource(tenant, name="가기관비밀자원", contact_person="가담당자비밀")
    stranger, _, _ = signed_in("resource_registrar")
    for url in ("/resources/export.csv", "/resources/export.xlsx", "/resources/export.hsds.json"):
        body = stranger.get(url)
        assert body.status_code == 200
        text = body.data.decode("utf-8-sig") if url.endswith(".csv") else str(_xlsx_rows(body.data)) \
            if url.endswith(".xlsx") else body.get_data(as_text=True)
        assert "가기관비밀자원" not in text and "가담당자비밀" not in text, url
    assert "가기관비밀자원" in owner.get("/resources/export.csv").data.decode("utf-8-sig")


def test_formula_like_cells_are_exported_as_text_and_import_back_unchanged(app, make, signed_in):
    client, _, tenant = signed_in("resource_registrar")
    make.resource(tenant, name="=HYPERLINK(\"http://evil\")", description="- 주 2회 배달", cost="+1000원",
                  organization_name="@기관", address="\t탭주소")
    [row] = _csv_rows(client.get("/resources/export.csv").data)
    assert row["자원 이름"] == "'=HYPERLINK(\"http://evil\")" and row["설명"] == "'- 주 2회 배달"
    assert row["비용"] == "'+1000원" and row["제공 기관"] == "'@기관"
    assert row["주소"] == "'\t탭주소"
    sheet = load_workbook(io.BytesIO(client.get("/resources/export.xlsx").data)).worksheets[0]
    cell = sheet["B2"]
    assert cell.value == "'=HYPERLINK(\"http://evil\")" and cell.data_type == "s"

    importer, _, other = signed_in("resource_registrar")
    assert _import(importer, client.get("/resources/export.xlsx").data, "export.xlsx").status_code == 303
    [copy] = _resources(app, other)
    assert (copy.name, copy.description, copy.cost, copy.organization_name) == (
        "=HYPERLINK(\"http://evil\")", "- 주 2회 배달", "+1000원", "@기관")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_imports_again_unchanged(app, signed_in, fmt):
    client, _, tenant = signed_in("resource_registrar")
    assert _import(client, _csv([ROW, IN_KIND])).status_code == 303
    exported = client.get(f"/resources/export.{fmt}")
    assert exported.headers["Content-Disposition"].startswith("attachment")
    importer, _, other = signed_in("tenant_admin")
    assert _import(importer, exported.data, f"export.{fmt}").status_code == 303
    fields = [*service.EDITABLE, "scope", "staff_scope"]

    def values(resources):
        return sorted(([getattr(r, f) for f in fields] for r in resources), key=lambda v: v[1])

    assert values(_resources(app, other)) == values(_resources(app, tenant))


# -- HSDS -------------------------------------------------------------------------------------------------------

def _validate_hsds(feed: dict):
    service_validator = _validator("service.json")
    for item in feed["contents"]:
        service_validator.validate(item)
        for contact in item.get("contacts", []):
            _validator("contact.json").validate(contact)


def test_hsds_export_is_valid_and_carries_staff_contacts_only_within_staff_scope(app, make, staffed):
    registrant, viewers, resources = staffed
    with app.app_context(), acting_as(registrant.id, None):
        resource = service.own_resource_or_404(resources["public"])
        service.change_scope(resource, "public", "partners", _Actor(None))
        db.session.commit()
    seen = {}
    for name, tenant in (("registrant", registrant), ("partner", viewers["partner"]),
                         ("same_region", viewers["same_region"])):
        feed = _signed_in_member(app, make, tenant).get("/resources/export.hsds.json").get_json()
        _validate_hsds(feed)
        assert feed["total_items"] == feed["size"] == len(feed["contents"]) and feed["total_pages"] == 1
        seen[name] = {s["name"]: s for s in feed["contents"]}
    assert set(seen["registrant"]) == {f"{p}-{s}" for s in SCOPES for p in ("자원", "직통")}

    def contact(viewer, name):
        contacts = seen[viewer][name].get("contacts", [])
        return [(c.get("name"), [p["number"] for p in c.get("phones", [])]) for c in contacts]

    def slots(viewer, name):
        return [a["value"] for a in seen[viewer][name]["attributes"] if a["taxonomy_term"]["code"] == "remaining_slots"]

    assert contact("registrant", "자원-private") == [("담당자김", ["064-000-0000"])]
    assert slots("registrant", "자원-private") == ["3"]
    assert contact("partner", "자원-public") == [("담당자김", ["064-000-0000"])] and slots("partner", "자원-public") == ["3"]
    assert contact("same_region", "자원-public") == [] and slots("same_region", "자원-public") == []
    assert contact("same_region", "자원-region") == [] and contact("same_region", "직통-region") == [
        (None, [STAFF_PHONES["region"]])]
    assert "자원-partners" not in seen["same_region"]
    public_feed = app.test_client().get("/directory/hsds.json").get_json()
    assert all("contacts" not in s for s in public_feed["contents"])
    assert "064-000-0000" not in str(public_feed)


# -- zip bombs -----------------------------------------------------------------------------------------------

def _bomb(shared_strings_bytes: int) -> bytes:
    """A small .xlsx whose shared strings unpack to ``shared_strings_bytes``: a valid workbook
    otherwise, written in chunks so the test never holds the unpacked part."""
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(_xlsx([ROW]))) as source, \
            zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bomb:
        for item in source.infolist():
            if item.filename != "xl/sharedStrings.xml":
                bomb.writestr(item.filename, source.read(item.filename))
        with bomb.open("xl/sharedStrings.xml", "w") as part:
            part.write(b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
            chunk = b"<si><t>" + b"A" * (1024 * 1024 - 15) + b"</t></si>"
            for _ in range(shared_strings_bytes // len(chunk)):
                part.write(chunk)
            part.write(b"</sst>")
    return buffer.getvalue()


@pytest.mark.parametrize("unpacked", [64 * 1024 * 1024, 8 * 1024 * 1024])  # too big; too compressed for its size
def test_a_zip_bomb_is_refused_before_any_part_is_unpacked(app, signed_in, monkeypatch, unpacked):
    import openpyxl

    client, _, tenant = signed_in("resource_registrar")
    bomb = _bomb(unpacked)
    assert len(bomb) < MAX_BYTES
    opened = []
    monkeypatch.setattr(openpyxl, "load_workbook", lambda *a, **k: opened.append(a) or pytest.fail("parsed"))
    page = _refused(client, bomb, "자원.xlsx", "Excel 파일의 압축을 풀면 너무 커서 가져올 수 없습니다.")
    assert 'id="file-error"' in page and opened == []
    assert _resources(app, tenant) == []


def test_a_real_workbook_passes_the_archive_check():
    from hanaro.core import uploads
    from hanaro.resources import transfer

    workbook = _xlsx([ROW] * MAX_ROWS)
    uploads.check_archive(workbook, transfer.XLSX_LIMITS, field="file", refusal="refused")  # no exception
    assert uploads.detect(workbook).name == "xlsx"
