"""Clients: registration, the resident number at rest and on screen, households, the access log."""
from __future__ import annotations

import io
import logging

import pytest
from sqlalchemy import func, select, text

from hanaro.audit.models import AccessLogEntry
from hanaro.clients.models import Client, Household
from hanaro.core.db import db
from hanaro.tenancy.context import acting_as

RRN = "500517-2345675"

FORM = {"name": "김영희", "birth_date": "1950-05-17", "sex": "F", "rrn": RRN, "phone": "010-1234-5678",
        "address": "제주시 한림읍 한림로 1", "household_relationship": "head"}


def _rrn_ok():
    from hanaro.clients.rrn import _check_digit_ok
    return _check_digit_ok(RRN.replace("-", ""))


def test_fixture_number_is_valid():
    assert _rrn_ok()


def _clients(app, tenant):
    with app.app_context(), acting_as(tenant.id, None):
        return db.session.scalars(select(Client).where(Client.tenant_id == tenant.id)).all()


def _log(app, tenant):
    with app.app_context(), acting_as(tenant.id, None):
        return [(e.action.value, e.what) for e in db.session.scalars(select(AccessLogEntry).order_by(AccessLogEntry.id))]


def test_registering_stores_the_number_encrypted_and_shows_it_masked(app, signed_in):
    client, user, tenant = signed_in("case_manager")
    response = client.post("/clients/new", data=FORM)
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "500517-2******" in page and "2345675" not in page
    with app.app_context():
        raw = db.session.execute(text("select * from clients")).mappings().all()
    dumped = repr([dict(row) for row in raw])
    assert "2345675" not in dumped and "5005172345675" not in dumped
    assert ("view", "client") in _log(app, tenant)


def test_registering_the_same_number_again_opens_the_existing_client(app, signed_in):
    client, user, tenant = signed_in("case_manager")
    first = client.post("/clients/new", data=FORM)
    second = client.post("/clients/new", data={**FORM, "name": "김영희(중복)"})
    assert second.headers["Location"] == first.headers["Location"]
    page = client.get(second.headers["Location"]).get_data(as_text=True)
    assert "기존 기록을 열었습니다" in page
    assert len(_clients(app, tenant)) == 1


def test_another_tenant_registering_the_same_number_learns_nothing(app, signed_in):
    first, _, tenant_a = signed_in("case_manager")
    second, _, tenant_b = signed_in("case_manager")
    first.post("/clients/new", data=FORM)
    response = second.post("/clients/new", data=FORM)
    page = second.get(response.headers["Location"]).get_data(as_text=True)
    assert "기존 기록" not in page and "대상자를 등록했습니다" in page
    assert len(_clients(app, tenant_a)) == len(_clients(app, tenant_b)) == 1


def test_a_double_submitted_registration_creates_one_client(app, signed_in):
    client, _, tenant = signed_in("case_manager")
    data = {**FORM, "rrn": "", "submission_token": "once"}
    assert client.post("/clients/new", data=data).status_code == 303
    assert client.post("/clients/new", data=data).status_code == 303
    assert len(_clients(app, tenant)) == 1


@pytest.mark.parametrize("rrn, message", [
    ("5005172345675", None),
    ("500517-2345670", "검증번호"),
    ("99999", "숫자 13자리"),
    ("500518-2345679", "생년월일이 다릅니다"),
    ("500517-1345672", "성별"),
])
def test_resident_number_errors_are_korean_and_next_to_the_field(signed_in, rrn, message):
    client, _, _ = signed_in("case_manager")
    response = client.post("/clients/new", data={**FORM, "rrn": rrn})
    if message is None:
        assert response.status_code == 303
        return
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="rrn-error"' in page and message in page
    assert 'value="김영희"' in page and 'value="010-1234-5678"' in page  # the rest is kept
    assert rrn not in page  # the number itself is not echoed back


def test_required_fields_and_phone_format(signed_in):
    client, _, _ = signed_in("case_manager")
    page = client.post("/clients/new", data={"phone": "전화"}).get_data(as_text=True)
    for field in ("name", "birth_date", "sex", "phone"):
        assert f'id="{field}-error"' in page


def test_the_number_never_reaches_the_logs(app, signed_in, caplog):
    client, _, _ = signed_in("case_manager")
    with caplog.at_level(logging.DEBUG):
        client.post("/clients/new", data=FORM)
        client.post("/clients/new", data={**FORM, "rrn": "500517-2345670"})
    assert "2345675" not in caplog.text and "2345670" not in caplog.text


def test_search_by_name_and_masked_number_uses_post_and_is_logged(app, signed_in, make):
    client, _, tenant = signed_in("case_manager")
    client.post("/clients/new", data=FORM)
    client.post("/clients/new", data={**FORM, "name": "박철수", "rrn": "", "birth_date": "1960-01-01", "sex": "M"})
    by_name = client.post("/clients", data={"q": "영희"}).get_data(as_text=True)
    assert "김영희" in by_name and "박철수" not in by_name
    by_number = client.post("/clients", data={"q": "500517-2"}).get_data(as_text=True)
    assert "김영희" in by_number and "박철수" not in by_number
    by_full_number = client.post("/clients", data={"q": RRN}).get_data(as_text=True)
    assert "김영희" in by_full_number
    fragment = client.post("/clients", data={"q": "철수"}, headers={"HX-Request": "true", "HX-Target": "client-results"}).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="client-results"') and "박철수" in fragment
    assert ("search", "client_search") in _log(app, tenant)


def test_only_own_clients_are_listed(app, signed_in, make):
    client, _, tenant = signed_in("case_manager")
    make.client(make.tenant(), name="남의대상자")
    make.client(tenant, name="우리대상자")
    page = client.get("/clients").get_data(as_text=True)
    assert "우리대상자" in page and "남의대상자" not in page


def test_households_members_and_a_single_head(app, signed_in):
    client, _, tenant = signed_in("case_manager")
    head = client.post("/clients/new", data=FORM).headers["Location"]
    with app.app_context(), acting_as(tenant.id, None):
        household = db.session.scalars(select(Household)).one()
    spouse = client.post("/clients/new", data={**FORM, "name": "김남편", "rrn": "", "sex": "M",
                                               "household": household.public_id, "household_relationship": "head"})
    assert spouse.status_code == 422 and "이미 가구주가 있습니다" in spouse.get_data(as_text=True)
    spouse = client.post("/clients/new", data={**FORM, "name": "김남편", "rrn": "", "sex": "M",
                                               "household": household.public_id, "household_relationship": "spouse"})
    assert spouse.status_code == 303
    spouse_link = f'href="{spouse.headers["Location"]}"'
    page = client.get(head).get_data(as_text=True)
    assert spouse_link in page and "<td>배우자</td>" in page
    moved = client.post(spouse.headers["Location"] + "/household", data={"household": "new", "household_relationship": "head"})
    assert moved.status_code == 303
    assert spouse_link not in client.get(head).get_data(as_text=True)


def test_vital_status_needs_a_date_and_no_future(signed_in):
    client, _, _ = signed_in("case_manager")
    url = client.post("/clients/new", data=FORM).headers["Location"]
    missing = client.post(url + "/vital-status", data={"vital_status": "deceased"})
    assert missing.status_code == 422 and "사망 또는 전출 날짜를 입력하세요." in missing.get_data(as_text=True)
    future = client.post(url + "/vital-status", data={"vital_status": "moved_out", "vital_status_on": "2999-01-01"})
    assert future.status_code == 422 and "미래 날짜" in future.get_data(as_text=True)
    assert client.post(url + "/vital-status", data={"vital_status": "deceased", "vital_status_on": "2026-03-01"}).status_code == 303
    assert "사망 (2026-03-01)" in client.get(url).get_data(as_text=True)


def test_editing_keeps_input_on_error_and_logs_the_change(app, signed_in):
    client, _, tenant = signed_in("case_manager")
    url = client.post("/clients/new", data={**FORM, "rrn": ""}).headers["Location"]
    bad = client.post(url + "/edit", data={"name": "", "phone": "010-9999-0000"})
    assert bad.status_code == 422 and 'value="010-9999-0000"' in bad.get_data(as_text=True)
    assert client.post(url + "/edit", data={"name": "김영희", "phone": "010-9999-0000", "rrn": RRN}).status_code == 303
    assert "500517-2******" in client.get(url).get_data(as_text=True)
    assert ("change", "client") in _log(app, tenant)


def test_viewers_see_but_cannot_register(signed_in, make):
    viewer, _, tenant = signed_in("viewer")
    someone = make.client(tenant, name="열람대상")
    assert viewer.get(f"/clients/{someone.public_id}").status_code == 200
    assert viewer.get("/clients/new").status_code == 403
