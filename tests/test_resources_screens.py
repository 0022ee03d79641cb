"""Resource registry screens: register, validation, edit with history, verify, sharing scope,
staff-only fields, and other tenants."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from hanaro.core import clock
from hanaro.core.db import db
from hanaro.resources.models import Resource, ResourceChange
from hanaro.tenancy.context import acting_as

FORM = {
    "kind": "service", "name": "어르신 밑반찬 배달", "description": "혼자 사는 어르신께 주 2회 밑반찬을 배달합니다.",
    "need_domains": ["economy"], "min_age": "65", "max_age": "120", "address": "제주시 한림읍 한림로 1",
    "opens_0": "09:00", "closes_0": "18:00", "opens_2": "09:00", "closes_2": "12:00",
    "how_to_apply": "전화 신청", "cost": "무료", "public_phone": "064-123-4567",
    "capacity": "waitlist", "wait_estimate": "one_to_three_months", "remaining_slots": "3",
    "contact_person": "김담당", "direct_phone": "010-2222-3333", "scope": "private", "staff_scope": "private",
}


def _resources(app, tenant):
    with app.app_context(), acting_as(tenant.id, None):
        return db.session.scalars(select(Resource).where(Resource.tenant_id == tenant.id)).all()


def _error_of(page: str, field: str) -> str:
    """The text of the error paragraph rendered for ``field``."""
    marker = f'id="{field}-error">'
    assert marker in page, f"no error shown for {field}"
    return page.split(marker, 1)[1].split("</p>", 1)[0]


# -- register and see ---------------------------------------------------------------------------------

def test_registrar_registers_a_resource_and_sees_it(app, signed_in):
    client, user, tenant = signed_in("resource_registrar")
    assert client.get("/resources/new").status_code == 200
    response = client.post("/resources/new", data=FORM)
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "자원을 등록했습니다" in page and "어르신 밑반찬 배달" in page
    assert "월요일 09:00~18:00" in page and "수요일 09:00~12:00" in page
    assert "김담당" in page and "010-2222-3333" in page  # the owner sees staff-only fields
    assert "1~3개월" in page
    listing = client.get("/resources").get_data(as_text=True)
    assert "어르신 밑반찬 배달" in listing and "우리 기관만" in listing
    [resource] = _resources(app, tenant)
    assert resource.schedule == [{"weekday": 0, "opens": "09:00", "closes": "18:00"},
                                 {"weekday": 2, "opens": "09:00", "closes": "12:00"}]
    assert resource.min_age == 65 and resource.remaining_slots == 3 and resource.created_by_user_id == user.id


def test_in_kind_resource(app, signed_in):
    client, _, tenant = signed_in("tenant_admin")
    data = {**FORM, "kind": "in_kind", "name": "김장김치", "quantity": "100", "quantity_unit": "상자",
            "valid_from": "2026-11-01", "valid_until": "2026-12-31"}
    response = client.post("/resources/new", data=data)
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "후원 물품" in page and "100 상자" in page


def test_empty_states_in_korean(signed_in):
    client, _, _ = signed_in("resource_registrar")
    assert "아직 등록한 자원이 없습니다" in client.get("/resources").get_data(as_text=True)
    assert "공유한 자원이 아직 없습니다" in client.get("/resources?tab=shared").get_data(as_text=True)


def test_only_registrars_and_admins_write(signed_in, make):
    client, user, tenant = signed_in("case_manager")
    assert client.get("/resources").status_code == 200
    assert client.get("/resources/new").status_code == 403
    assert client.post("/resources/new", data=FORM).status_code == 403
    resource = make.resource(tenant)
    assert client.get(f"/resources/{resource.public_id}").status_code == 200
    assert client.post(f"/resources/{resource.public_id}/verify").status_code == 403
    viewer, _, _ = signed_in("viewer", tenant=tenant)
    assert viewer.get("/resources").status_code == 403


# -- validation -------------------------------------------------------------------------------------------

def _post_invalid(client, **changes):
    response = client.post("/resources/new", data={**FORM, **changes})
    assert response.status_code == 422
    return response.get_data(as_text=True)


def test_bad_scope_value(app, signed_in):
    client, _, tenant = signed_in("resource_registrar")
    page = _post_invalid(client, scope="everyone")
    assert "목록에 있는 공개 범위를 고르세요" in _error_of(page, "scope")
    assert 'value="어르신 밑반찬 배달"' in page  # input kept
    assert _resources(app, tenant) == []


def test_negative_slots(app, signed_in):
    client, _, tenant = signed_in("resource_registrar")
    page = _post_invalid(client, remaining_slots="-2")
    assert "0 이상의 숫자를 입력하세요" in _error_of(page, "remaining_slots")
    assert 'value="-2"' in page and 'value="김담당"' in page
    assert _resources(app, tenant) == []


def test_schedule_closing_before_opening(app, signed_in):
    client, _, tenant = signed_in("resource_registrar")
    page = _post_invalid(client, opens_4="18:00", closes_4="09:00")
    assert "종료가 시작보다 늦어야" in _error_of(page, "schedule")
    assert 'value="18:00"' in page
    page = _post_invalid(client, opens_5="10:00")
    assert "함께 입력하세요" in _error_of(page, "closes_5")
    page = _post_invalid(client, opens_5="25:00", closes_5="26:00")
    assert "HH:MM" in _error_of(page, "opens_5")
    assert _resources(app, tenant) == []


def test_staff_scope_wider_than_scope(app, signed_in):
    client, _, tenant = signed_in("resource_registrar")
    page = _post_invalid(client, scope="partners", staff_scope="public")
    assert "넓을 수 없습니다" in _error_of(page, "staff_scope")
    assert _resources(app, tenant) == []


def test_max_age_below_min_age(app, signed_in):
    client, _, tenant = signed_in("resource_registrar")
    page = _post_invalid(client, min_age="70", max_age="60")
    assert "최대 나이는 최소 나이보다 작을 수 없습니다" in _error_of(page, "max_age")
    assert 'value="70"' in page and 'value="60"' in page
    assert _resources(app, tenant) == []


def test_required_fields(signed_in):
    client, _, _ = signed_in("resource_registrar")
    page = _post_invalid(client, name="", description="")
    assert "필수 입력 항목입니다" in _error_of(page, "name")
    assert "필수 입력 항목입니다" in _error_of(page, "description")


def test_double_submit_creates_one(app, signed_in):
    client, _, tenant = signed_in("resource_registrar")
    data = {**FORM, "submission_token": "once"}
    first = client.post("/resources/new", data=data)
    second = client.post("/resources/new", data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert len(_resources(app, tenant)) == 1


# -- edit, history, verify -------------------------------------------------------------------------------

def test_edit_records_history(app, signed_in, make):
    client, user, tenant = signed_in("resource_registrar")
    resource = make.resource(tenant, name="옛 이름", creator=user, cost="무료")
    page = client.get(f"/resources/{resource.public_id}/edit").get_data(as_text=True)
    assert 'value="옛 이름"' in page
    response = client.post(f"/resources/{resource.public_id}/edit",
                           data={"name": "새 이름", "description": "시험 자원 설명", "kind": "service",
                                 "capacity": "full", "cost": "무료", "opens_1": "10:00", "closes_1": "16:00"})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "새 이름" in page and "마감" in page
    history = page.split('id="history"', 1)[1]
    assert "옛 이름 → 새 이름" in history and "이용 가능 → 마감" in history and "available" not in history
    assert "화요일 10:00~16:00" in history and user.display_name in history
    assert "수정" in history and "등록" in history
    with app.app_context(), acting_as(tenant.id, None):
        actions = [c.action for c in db.session.scalars(
            select(ResourceChange).where(ResourceChange.resource_id == resource.id).order_by(ResourceChange.id))]
    assert actions == ["created", "updated"]


def test_edit_with_bad_input_keeps_it_and_changes_nothing(app, signed_in, make):
    client, user, tenant = signed_in("resource_registrar")
    resource = make.resource(tenant, name="그대로", creator=user)
    response = client.post(f"/resources/{resource.public_id}/edit",
                           data={"name": "바뀜", "description": "설명", "quantity": "-1"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "0 이상의 숫자를 입력하세요" in _error_of(page, "quantity") and 'value="바뀜"' in page
    assert _resources(app, tenant)[0].name == "그대로"


def test_verify_updates_the_date(app, signed_in, make):
    client, user, tenant = signed_in("resource_registrar")
    resource = make.resource(tenant, creator=user)
    with app.app_context(), acting_as(tenant.id, None):
        db.session.get(Resource, resource.id).last_verified_on = clock.today() - timedelta(days=170)
        db.session.commit()
    listing = client.get("/resources").get_data(as_text=True)
    assert "확인 필요" in listing
    response = client.post(f"/resources/{resource.public_id}/verify")
    assert response.status_code == 303
    assert _resources(app, tenant)[0].last_verified_on == clock.today()
    assert "확인 필요" not in client.get("/resources").get_data(as_text=True)
    page = client.get(f"/resources/{resource.public_id}").get_data(as_text=True)
    assert "내용 확인" in page.split('id="history"', 1)[1]


def test_stale_listing_is_marked_for_the_owner_and_hidden_from_others(app, signed_in, make):
    client, user, tenant = signed_in("resource_registrar")
    resource = make.resource(tenant, name="오래된 자원", creator=user, scope="platform")
    with app.app_context(), acting_as(tenant.id, None):
        db.session.get(Resource, resource.id).last_verified_on = clock.today() - timedelta(days=200)
        db.session.commit()
    assert "숨김(오래됨)" in client.get("/resources").get_data(as_text=True)
    other, _, _ = signed_in("case_manager")
    assert "오래된 자원" not in other.get("/resources?tab=shared").get_data(as_text=True)
    assert other.get(f"/resources/{resource.public_id}").status_code == 404


# -- sharing scope ----------------------------------------------------------------------------------------

def test_scope_change_takes_effect_at_once_for_other_tenants(app, signed_in, make):
    owner, user, tenant = signed_in("resource_registrar")
    resource = make.resource(tenant, name="협약 공유 자원", creator=user)
    partner, _, partner_tenant = signed_in("case_manager")
    stranger, _, _ = signed_in("case_manager")
    make.agreement(tenant, partner_tenant, record_kinds=("resource",))
    url = f"/resources/{resource.public_id}"

    assert partner.get(url).status_code == 404
    assert "협약 공유 자원" not in partner.get("/resources?tab=shared").get_data(as_text=True)

    assert owner.post(f"{url}/scope", data={"scope": "partners", "staff_scope": "private"}).status_code == 303
    assert partner.get(url).status_code == 200
    assert "협약 공유 자원" in partner.get("/resources?tab=shared").get_data(as_text=True)
    assert stranger.get(url).status_code == 404
    assert "협약 공유 자원" not in stranger.get("/resources?tab=shared").get_data(as_text=True)

    assert owner.post(f"{url}/scope", data={"scope": "public", "staff_scope": "private"}).status_code == 303
    assert stranger.get(url).status_code == 200
    history = owner.get(url).get_data(as_text=True).split('id="history"', 1)[1]
    assert "공개 범위: 협약 기관 → 누구나 (공개 목록)" in history and "partners" not in history
    assert "협약 공유 자원" in stranger.get("/resources?tab=shared").get_data(as_text=True)

    assert owner.post(f"{url}/scope", data={"scope": "private", "staff_scope": "private"}).status_code == 303
    assert partner.get(url).status_code == stranger.get(url).status_code == 404
    history = owner.get(url).get_data(as_text=True).split('id="history"', 1)[1]
    assert "공개 범위 변경" in history and "누구나 (공개 목록) → 우리 기관만" in history


def test_an_agreement_not_covering_resources_does_not_share(signed_in, make):
    owner, user, tenant = signed_in("resource_registrar")
    resource = make.resource(tenant, creator=user, scope="partners")
    partner, _, partner_tenant = signed_in("case_manager")
    make.agreement(tenant, partner_tenant, record_kinds=("client", "case"))
    assert partner.get(f"/resources/{resource.public_id}").status_code == 404


def test_bad_scope_change_is_refused_next_to_the_field(app, signed_in, make):
    owner, user, tenant = signed_in("resource_registrar")
    resource = make.resource(tenant, creator=user)
    response = owner.post(f"/resources/{resource.public_id}/scope", data={"scope": "private", "staff_scope": "region"})
    assert response.status_code == 422
    assert "넓을 수 없습니다" in _error_of(response.get_data(as_text=True), "staff_scope")
    response = owner.post(f"/resources/{resource.public_id}/scope", data={"scope": "nowhere", "staff_scope": "private"})
    assert response.status_code == 422
    assert "목록에 있는 공개 범위를 고르세요" in _error_of(response.get_data(as_text=True), "scope")
    assert _resources(app, tenant)[0].scope.value == "private"


def test_other_tenants_read_without_owner_controls(signed_in, make):
    owner, user, tenant = signed_in("tenant_admin")
    resource = make.resource(tenant, name="공개 자원", creator=user, scope="platform")
    other, _, _ = signed_in("tenant_admin")
    page = other.get(f"/resources/{resource.public_id}").get_data(as_text=True)
    assert "공개 자원" in page
    assert f"/resources/{resource.public_id}/edit" not in page and 'id="history"' not in page
    assert f"/resources/{resource.public_id}/verify" not in page


# -- staff-only fields ------------------------------------------------------------------------------------

STAFF_VALUES = {"contact_person": "박직원", "direct_phone": "010-9999-8888", "remaining_slots": 7}


def test_staff_only_fields_hidden_outside_the_staff_scope(signed_in, make):
    owner, user, tenant = signed_in("resource_registrar")
    resource = make.resource(tenant, creator=user, scope="platform", staff_scope="partners", **STAFF_VALUES)
    partner, _, partner_tenant = signed_in("case_manager")
    outsider, _, _ = signed_in("case_manager")
    make.agreement(tenant, partner_tenant, record_kinds=("resource",))
    url = f"/resources/{resource.public_id}"

    inside = partner.get(url).get_data(as_text=True)
    assert "박직원" in inside and "010-9999-8888" in inside and 'id="resource-staff-fields"' in inside

    outside = outsider.get(url)
    assert outside.status_code == 200
    body = outside.get_data(as_text=True)
    assert "박직원" not in body and "010-9999-8888" not in body and "남은 자리" not in body
    listing = outsider.get("/resources?tab=shared").get_data(as_text=True)
    assert "박직원" not in listing and "010-9999-8888" not in listing


# -- other tenants' writes ----------------------------------------------------------------------------------

def test_other_tenants_get_404_for_edit_scope_and_verify_even_when_shared(app, signed_in, make):
    owner, user, tenant = signed_in("resource_registrar")
    resource = make.resource(tenant, name="공유 자원", creator=user, scope="public", staff_scope="public")
    before = _resources(app, tenant)[0].last_verified_on
    other, _, _ = signed_in("resource_registrar", "tenant_admin")
    url = f"/resources/{resource.public_id}"
    assert other.get(url).status_code == 200
    assert other.get(f"{url}/edit").status_code == 404
    assert other.post(f"{url}/edit", data={**FORM, "name": "탈취"}).status_code == 404
    assert other.post(f"{url}/scope", data={"scope": "private", "staff_scope": "private"}).status_code == 404
    assert other.post(f"{url}/verify").status_code == 404
    [after] = _resources(app, tenant)
    assert after.name == "공유 자원" and after.scope.value == "public" and after.last_verified_on == before
