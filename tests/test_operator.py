"""Platform operators create tenants; nobody else can."""
from __future__ import annotations

from .helpers import login


def test_operator_creates_a_tenant(client, make):
    province = make.province()
    parent = make.tenant(name="상위시청", kind="municipality", region=province)
    login(client, make.user(operator=True).email)
    response = client.post("/operator/tenants", data={
        "code": "new-ngo", "name": "새 민간단체", "kind": "ngo", "region_code": province.code, "parent": parent.code})
    assert response.status_code == 303
    page = client.get("/operator/tenants").get_data(as_text=True)
    assert "새 민간단체" in page and "new-ngo" in page


def test_operator_form_errors_are_korean_and_keep_input(client, make):
    make.province()
    existing = make.tenant()
    login(client, make.user(operator=True).email)
    response = client.post("/operator/tenants", data={"code": "Bad Code!", "name": "이름", "kind": "castle",
                                                      "region_code": "0000"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "영문 소문자, 숫자, 하이픈(-)만 쓸 수 있습니다." in page and "목록에 있는 값을 고르세요." in page
    assert 'value="Bad Code!"' in page
    duplicate = client.post("/operator/tenants", data={"code": existing.code, "name": "중복", "kind": "ngo",
                                                       "region_code": existing.region_code})
    assert duplicate.status_code == 422 and "이미 쓰이는 기관 코드입니다." in duplicate.get_data(as_text=True)


def test_operator_without_membership_sees_the_operator_home(client, make):
    login(client, make.user(operator=True).email)
    page = client.get("/").get_data(as_text=True)
    assert "플랫폼 운영자 계정입니다" in page


def test_tenant_admins_are_not_operators(client, make):
    login(client, make.member(make.tenant(), roles=["tenant_admin"]).email)
    assert client.get("/operator/tenants").status_code == 404
    assert client.post("/operator/tenants", data={"code": "x-y", "name": "x"}).status_code == 404
