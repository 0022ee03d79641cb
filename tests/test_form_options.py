"""Large option lists stay off the pages: a dong field shows one municipality's dongs and fetches
another's on demand; the case page offers for a team invitation only the tenants it could invite."""
from __future__ import annotations

import html
import re
from datetime import date

import pytest

from hanaro.tenancy.models import RegionLevel

from .helpers import login


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def area(make):
    """Two municipalities of one province, each with two dongs."""
    province = make.region("9800000000", "시험광역시", RegionLevel.PROVINCE)
    east = make.region("9801000000", "동구", RegionLevel.MUNICIPALITY, province.code)
    west = make.region("9802000000", "서구", RegionLevel.MUNICIPALITY, province.code)
    return {
        "province": province, "east": east, "west": west,
        "east_dongs": [make.region("9801051000", "동녘동", parent_code=east.code),
                       make.region("9801052000", "새벽동", parent_code=east.code)],
        "west_dongs": [make.region("9802051000", "노을동", parent_code=west.code),
                       make.region("9802052000", "저녁동", parent_code=west.code)],
    }


def _select(page: str, select_id: str) -> str:
    found = re.search(rf'<select id="{select_id}".*?</select>', page, re.S)
    assert found, select_id
    return found.group(0)


def test_the_case_page_offers_the_dongs_of_the_cases_municipality_and_every_municipality(make, area):
    world = make.case_world()
    with make.as_tenant(world.lead) as session:
        session.merge(world.case).dong_code = area["west_dongs"][0].code
    page = text(world.signed_in(world.lead_worker).get(f"/cases/{world.case.public_id}"))

    dongs = _select(page, "details-dong")
    assert "노을동" in dongs and "저녁동" in dongs
    assert "동녘동" not in dongs and "새벽동" not in dongs
    assert re.search(r'<option value="9802051000" selected>노을동', dongs)
    municipalities = _select(page, "details-dong-municipality")
    assert re.search(r'<option value="9802000000" selected>시험광역시 서구', municipalities)
    assert "시험광역시 동구" in municipalities
    assert '<label for="details-dong-municipality">시군구</label>' in page
    assert 'id="details-dong-status" class="visually-hidden" role="status"' in page


def test_a_dong_field_fetches_another_municipalitys_dongs_and_says_so(client, make, area):
    user = make.member(make.tenant(), roles=["case_manager"])
    login(client, user.email)
    response = client.get(f"/regions/dongs?municipality={area['east'].code}&target=details-dong&placeholder=정하지 않음",
                          headers={"HX-Request": "true"})
    assert response.status_code == 200
    fragment = text(response)
    assert fragment.startswith('<option value="">정하지 않음</option>')
    assert '<option value="9801051000">동녘동</option>' in fragment and "새벽동" in fragment
    assert "노을동" not in fragment
    assert re.search(r'<p id="details-dong-status" class="visually-hidden" role="status" hx-swap-oob="true">\s*'
                     r'동구의 읍면동 2곳을 불러왔습니다.</p>', fragment)


def test_a_dong_fragment_for_no_municipality_is_empty_and_a_tampered_target_is_not_echoed(client, make, area):
    user = make.member(make.tenant(), roles=["viewer"])
    login(client, user.email)
    for code in ("", area["province"].code, area["east_dongs"][0].code, "0000000000"):
        fragment = text(client.get(f"/regions/dongs?municipality={code}&target=dong-code"))
        assert "<option" not in fragment
        assert "시군구를 고르지 않아 읍면동 목록을 비웠습니다." in fragment
    tampered = text(client.get('/regions/dongs?municipality=9801000000&target="><script>'))
    assert "<script>" not in tampered and 'id="dong_code-status"' in tampered


def test_dong_fragments_are_the_same_for_every_tenant_and_not_for_visitors(app, make, area):
    pages = []
    for tenant in (make.tenant(), make.tenant()):
        browser = app.test_client()
        login(browser, make.member(tenant, roles=["case_manager"]).email)
        pages.append(browser.get(f"/regions/dongs?municipality={area['west'].code}&target=dong-code").data)
    assert pages[0] == pages[1]
    assert app.test_client().get(f"/regions/dongs?municipality={area['west'].code}&target=x").status_code == 302


def test_the_invitation_offers_only_partners_whose_agreement_covers_clients_and_cases(make):
    world = make.case_world()
    referrals_only = make.tenant(name="의뢰만협약기관")
    make.agreement(world.lead, referrals_only, record_kinds=("referral",))
    expired = make.tenant(name="지난협약기관")
    make.agreement(world.lead, expired, valid_to=date(2021, 1, 1))
    page = text(world.signed_in(world.lead_worker).get(f"/cases/{world.case.public_id}"))
    invite = _select(page, "tenant")
    assert re.findall(r'<option value="([^"]*)"', invite) == ["", world.partner.code]
    assert world.partner.name in invite


def test_a_client_form_keeps_a_chosen_dong_of_another_municipality_after_an_error(make, area, signed_in):
    client, _user, tenant = signed_in("case_manager")
    response = client.post("/clients/new", data={"name": "", "birth_date": "1950-01-01", "sex": "F",
                                                 "dong_code": area["east_dongs"][1].code})
    assert response.status_code == 422
    page = text(response)
    assert re.search(r'<option value="9801052000" selected>새벽동', _select(page, "dong_code"))
    assert "노을동" not in _select(page, "dong_code")


def test_the_plan_tab_offers_the_case_team_and_finds_other_providers_by_name(make):
    world = make.case_world()
    world.join_partner()
    far_away = make.tenant(name="먼바다푸드뱅크")
    lead = world.signed_in(world.lead_worker)
    goal = lead.post(f"/cases/{world.case.public_id}/goals", data={"domain": "economy", "goal": "생계 안정",
                                                                   "submission_token": "g1"})
    assert goal.status_code == 303
    page = text(lead.get(f"/cases/{world.case.public_id}/plan"))
    providers = _select(page, "provider_tenant")
    assert re.findall(r'<option value="([^"]*)"', providers) == ["", world.lead.code, world.partner.code]
    assert '<label for="provider_tenant-search">기관 찾기 (이름 일부)</label>' in page

    found = text(lead.get("/tenants/options?q=푸드&target=provider_tenant&placeholder=목록에 없으면 아래에 입력"))
    assert f'<option value="{far_away.code}">먼바다푸드뱅크</option>' in found
    assert world.partner.name not in found
    assert '"푸드"이(가) 들어간 기관 1곳을 목록에 넣었습니다.' in found

    # a provider found by the search stays chosen when the form comes back with a message
    [goal_id] = re.findall(r'<option value="([^"]+)"', _select(page, "goal"))
    response = lead.post(f"/cases/{world.case.public_id}/services",
                         data={"goal": goal_id, "description": "", "provider_tenant": far_away.code,
                               "submission_token": "s1"})
    assert response.status_code == 422
    assert re.search(rf'<option value="{far_away.code}" selected>먼바다푸드뱅크', _select(text(response), "provider_tenant"))


def test_the_tenant_search_lists_only_active_tenants_and_escapes_wildcards(client, make):
    make.tenant(name="하늘복지관")
    closed = make.tenant(name="하늘노인복지관")
    with make.app.app_context():
        from hanaro.core.db import db
        from hanaro.tenancy.context import unscoped
        from hanaro.tenancy.models import Tenant
        with unscoped():
            db.session.get(Tenant, closed.id).active = False
            db.session.commit()
    login(client, make.member(make.tenant(), roles=["viewer"]).email)
    found = text(client.get("/tenants/options?q=하늘&target=provider"))
    assert "하늘복지관" in found and "하늘노인복지관" not in found
    assert "<option" not in text(client.get("/tenants/options?q=%25&target=provider"))
    assert "찾을 기관 이름을 입력하세요." in text(client.get("/tenants/options?q=&target=provider"))
    assert 'id="provider_tenant-status"' in text(client.get("/tenants/options?q=하늘&target=<b>"))


def test_the_resource_form_offers_one_municipalitys_areas_and_keeps_the_ticked_ones(make, area):
    tenant = make.tenant(region=area["east_dongs"][0])
    client = make.app.test_client()
    login(client, make.member(tenant, roles=["resource_registrar"]).email)
    page = text(client.get("/resources/new"))
    assert 'value="9801000000">' in page and "동구 전체" in page and "동녘동" in page
    assert "노을동" not in page and "서구 전체" not in page
    assert '<option value="9802000000">시험광역시 서구</option>' in page

    # picking 서구 while 동녘동 is ticked: 동녘동 stays, ticked, and 서구's areas come to be ticked
    fragment = text(client.get("/regions/areas?target=service_area_codes&name=service_area_codes"
                               f"&area_municipality={area['west'].code}&service_area_codes={area['east_dongs'][0].code}"))
    assert re.search(r'value="9801051000" checked>\s*<label for="service_area_codes-9801051000">동구 동녘동', fragment)
    assert re.search(r'value="9802000000">\s*<label for="service_area_codes-9802000000">서구 전체', fragment)
    assert "노을동" in fragment and "새벽동" not in fragment
    assert "서구의 지역 3곳을 고를 수 있습니다." in fragment

    # a form that comes back keeps every ticked area, from any municipality
    response = client.post("/resources/new", data={"kind": "service", "name": "", "service_area_codes": [
        area["east_dongs"][0].code, area["west_dongs"][1].code, "0000000000"]})
    assert response.status_code == 422
    page = text(response)
    assert re.search(r'value="9802052000" checked>', page) and re.search(r'value="9801051000" checked>', page)
