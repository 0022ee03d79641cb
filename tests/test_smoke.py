from .helpers import login


def test_member_signs_in_and_sees_their_tenant_home(client, make):
    tenant = make.tenant(name="한라종합사회복지관")
    user = make.member(tenant, roles=["case_manager"], name="이사례")
    response = login(client, user.email)
    assert response.status_code == 303
    home = client.get("/")
    assert home.status_code == 200
    page = home.get_data(as_text=True)
    assert "한라종합사회복지관" in page
    assert "이사례" in page
