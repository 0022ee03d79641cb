"""Tenant admins manage members and roles; every change is recorded."""
from __future__ import annotations

from sqlalchemy import select

from hanaro.core.db import db
from hanaro.tenancy.context import acting_as
from hanaro.tenancy.models import Membership, RoleChange

from .helpers import login


def _admin_client(client, make, tenant=None):
    tenant = tenant or make.tenant()
    admin = make.member(tenant, roles=["tenant_admin"], name="김관리")
    login(client, admin.email)
    return tenant, admin


def _changes(app, tenant):
    with app.app_context(), acting_as(tenant.id, None):
        return [(c.action.value, c.roles_before, c.roles_after, c.actor_user_id)
                for c in db.session.scalars(select(RoleChange).order_by(RoleChange.id))]


def test_admin_adds_a_new_person_and_the_grant_is_recorded(app, client, make):
    tenant, admin = _admin_client(client, make)
    response = client.post("/admin/members", data={
        "email": "New.Worker@test.example", "display_name": "박신입", "initial_password": "first-password-1",
        "roles": ["case_manager", "viewer"]})
    assert response.status_code == 303
    page = client.get("/admin/members").get_data(as_text=True)
    assert "박신입" in page and "new.worker@test.example" in page
    assert ("granted", [], ["case_manager", "viewer"], admin.id) in _changes(app, tenant)
    other = app.test_client()
    assert login(other, "new.worker@test.example", "first-password-1").status_code == 303


def test_an_existing_account_gets_a_membership_without_a_password_change(app, client, make):
    tenant, _ = _admin_client(client, make)
    elsewhere = make.member(make.tenant(), email="shared@test.example")
    response = client.post("/admin/members", data={"email": "shared@test.example", "display_name": "공유",
                                                   "roles": ["viewer"]})
    assert response.status_code == 303
    assert login(app.test_client(), elsewhere.email).status_code == 303  # old password still works


def test_add_member_form_errors_are_in_korean_next_to_fields_and_keep_input(client, make):
    _admin_client(client, make)
    response = client.post("/admin/members", data={"email": "not-an-email", "display_name": "홍길동"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="email-error"' in page and "올바른 이메일 주소를 입력하세요." in page
    assert 'id="roles-error"' in page and "역할을 하나 이상 고르세요." in page
    assert 'value="홍길동"' in page and 'value="not-an-email"' in page


def test_a_new_account_needs_an_initial_password(client, make):
    _admin_client(client, make)
    response = client.post("/admin/members", data={"email": "x@test.example", "display_name": "엑스", "roles": ["viewer"]})
    assert response.status_code == 422
    assert "새 계정에는 초기 비밀번호가 필요합니다." in response.get_data(as_text=True)


def test_adding_someone_twice_is_refused_not_duplicated(app, client, make):
    tenant, _ = _admin_client(client, make)
    data = {"email": "twice@test.example", "display_name": "두번", "initial_password": "long-enough-1", "roles": ["viewer"]}
    assert client.post("/admin/members", data=data).status_code == 303
    again = client.post("/admin/members", data=data)
    assert again.status_code == 422 and "이미 이 기관의 구성원입니다." in again.get_data(as_text=True)
    with app.app_context(), acting_as(tenant.id, None):
        assert len(db.session.scalars(select(Membership)).all()) == 2


def test_changing_and_revoking_roles_is_recorded_and_takes_effect(app, client, make):
    tenant, admin = _admin_client(client, make)
    worker = make.user(name="이사례")
    membership = make.membership(worker, tenant, roles=["case_manager"])
    worker_client = app.test_client()
    login(worker_client, worker.email)
    assert worker_client.get("/").status_code == 200

    response = client.post(f"/admin/members/{membership.public_id}", data={"roles": ["case_manager", "privacy_officer"]})
    assert response.status_code == 303
    assert client.post(f"/admin/members/{membership.public_id}/revoke").status_code == 303
    assert [c[0] for c in _changes(app, tenant)][-2:] == ["changed", "revoked"]
    history = client.get("/admin/role-history").get_data(as_text=True)
    assert "이사례" in history and "회수" in history
    # The revoked member no longer has this tenant.
    page = worker_client.get("/").get_data(as_text=True)
    assert "소속된 기관이 없습니다" in page


def test_the_last_admin_cannot_remove_their_own_admin_role(client, make):
    tenant, admin = _admin_client(client, make)
    page = client.get("/admin/members").get_data(as_text=True)
    import re

    public_id = re.search(r'/admin/members/([A-Za-z0-9_-]+)"', page).group(1)
    response = client.post(f"/admin/members/{public_id}", data={"roles": ["viewer"]})
    assert response.status_code == 422
    assert "기관 관리자가 한 명은 남아 있어야 합니다." in response.get_data(as_text=True)


def test_switching_tenant_changes_what_the_user_acts_as(app, client, make):
    first, second = make.tenant(name="가나다복지관"), make.tenant(name="하나로푸드뱅크")
    user = make.user()
    make.membership(user, first), make.membership(user, second, roles=["resource_registrar"])
    login(client, user.email)
    assert "가나다복지관" in client.get("/").get_data(as_text=True).split("<h1>")[1]
    response = client.post("/tenant/switch", data={"tenant": second.code})
    assert response.status_code == 303
    home = client.get("/").get_data(as_text=True)
    assert "하나로푸드뱅크" in home.split("<h1>")[1] and "작업 기관을 바꿨습니다: 하나로푸드뱅크" in home


def test_switching_to_a_tenant_without_membership_is_404(client, make):
    mine, not_mine = make.tenant(), make.tenant()
    login(client, make.member(mine).email)
    assert client.post("/tenant/switch", data={"tenant": not_mine.code}).status_code == 404
    assert client.post("/tenant/switch", data={}).status_code == 404
