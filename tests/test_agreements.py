"""Sharing agreements: created by an admin, visible to both parties, revocable by either."""
from __future__ import annotations

from sqlalchemy import select

from hanaro.core.db import db
from hanaro.tenancy.context import acting_as
from hanaro.tenancy.models import SharingAgreement

from .helpers import login

VALID = {"purpose": "통합사례관리 협업", "record_kinds": ["client", "case"], "valid_from": "2026-01-01",
         "valid_to": "2027-12-31"}


def _agreements(app, tenant):
    with app.app_context(), acting_as(tenant.id, None):
        return db.session.scalars(select(SharingAgreement)).all()


def test_admin_registers_an_agreement_the_partner_sees_it_an_outsider_does_not(app, client, make):
    mine, partner, outsider = make.tenant(name="한라복지관"), make.tenant(name="한림읍 행정복지센터"), make.tenant()
    login(client, make.member(mine, roles=["tenant_admin"]).email)
    response = client.post("/agreements", data={**VALID, "partner": partner.code, "submission_token": "tok-1"})
    assert response.status_code == 303
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "통합사례관리 협업" in detail and "유효" in detail

    partner_client = app.test_client()
    login(partner_client, make.member(partner, roles=["viewer"]).email)
    assert "한라복지관" in partner_client.get("/agreements").get_data(as_text=True)
    outsider_client = app.test_client()
    login(outsider_client, make.member(outsider, roles=["tenant_admin"]).email)
    assert "통합사례관리 협업" not in outsider_client.get("/agreements").get_data(as_text=True)


def test_a_double_submitted_agreement_is_created_once(app, client, make):
    mine, partner = make.tenant(), make.tenant()
    login(client, make.member(mine, roles=["tenant_admin"]).email)
    data = {**VALID, "partner": partner.code, "submission_token": "same-token"}
    first = client.post("/agreements", data=data)
    second = client.post("/agreements", data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert len(_agreements(app, mine)) == 1


def test_invalid_agreement_input_is_explained_next_to_fields_and_kept(client, make):
    mine = make.tenant()
    login(client, make.member(mine, roles=["tenant_admin"]).email)
    response = client.post("/agreements", data={"partner": "no-such-tenant", "purpose": "공유 목적",
                                                "valid_from": "2026-13-01"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="valid_from-error"' in page and "날짜를 YYYY-MM-DD 형식으로 입력하세요." in page
    assert 'id="record_kinds-error"' in page and "공유할 정보 종류를 하나 이상 고르세요." in page
    assert "공유 목적" in page


def test_an_end_before_the_start_and_an_agreement_with_oneself_are_refused(client, make):
    mine, partner = make.tenant(), make.tenant()
    login(client, make.member(mine, roles=["tenant_admin"]).email)
    backwards = client.post("/agreements", data={**VALID, "partner": partner.code, "valid_to": "2025-01-01"})
    assert backwards.status_code == 422 and "종료일은 시작일 이후여야 합니다." in backwards.get_data(as_text=True)
    selfish = client.post("/agreements", data={**VALID, "partner": mine.code})
    assert selfish.status_code == 422 and "자기 기관과는 협약을 맺을 수 없습니다." in selfish.get_data(as_text=True)


def test_the_partner_admin_revokes_with_a_reason_and_sharing_stops(app, client, make):
    owner, partner = make.tenant(), make.tenant()
    agreement = make.agreement(owner, partner, record_kinds=["case"])
    login(client, make.member(partner, roles=["tenant_admin"]).email)
    no_reason = client.post(f"/agreements/{agreement.public_id}/revoke", data={"reason": ""})
    assert no_reason.status_code == 422 and 'id="reason-error"' in no_reason.get_data(as_text=True)
    assert client.post(f"/agreements/{agreement.public_id}/revoke", data={"reason": "사업 종료"}).status_code == 303
    page = client.get(f"/agreements/{agreement.public_id}").get_data(as_text=True)
    assert "해지됨" in page and "사업 종료" in page
    again = client.post(f"/agreements/{agreement.public_id}/revoke", data={"reason": "두 번째"})
    assert again.status_code == 422 and "이미 해지된 협약입니다." in again.get_data(as_text=True)


def test_members_without_the_admin_role_see_agreements_but_cannot_change_them(client, make):
    owner, partner = make.tenant(), make.tenant()
    agreement = make.agreement(owner, partner)
    login(client, make.member(owner, roles=["case_manager"]).email)
    page = client.get("/agreements").get_data(as_text=True)
    assert "새 협약 등록" not in page
    assert client.post(f"/agreements/{agreement.public_id}/revoke", data={"reason": "권한 없음"}).status_code == 403
    assert client.post("/agreements", data={**VALID, "partner": partner.code}).status_code == 403


def test_empty_state_when_there_are_no_agreements(client, make):
    login(client, make.member(make.tenant(), roles=["tenant_admin"]).email)
    assert "아직 협약이 없습니다." in client.get("/agreements").get_data(as_text=True)
