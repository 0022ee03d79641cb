"""From a case to ranked resources: its assessed needs, the client's area and age."""
from sqlalchemy import select

from hanaro.audit.models import AccessLogEntry
from hanaro.core.db import db
from hanaro.tenancy.context import acting_as


def _assess(browser, case_url, levels):
    from hanaro.core import clock

    data = {"assessed_on": clock.today().isoformat(), **{f"level_{code}": 0 for code in (
        "safety", "health", "daily_living", "family", "social", "economy", "education", "employment",
        "environment", "rights")}}
    data.update({f"level_{code}": level for code, level in levels.items()})
    return browser.post(case_url + "/assessment", data=data)


def test_a_case_manager_finds_resources_for_the_assessed_needs(app, signed_in, make):
    browser, user, tenant = signed_in("case_manager", "resource_registrar")
    someone = make.client(tenant, name="자원찾기대상", dong_code="5011025000")
    make.resource(tenant, name="집수리 지원", scope="private", need_domains=["environment"],
                  service_area_codes=["5011025000"], direct_phone="064-111-2222")
    make.resource(tenant, name="학습 멘토링", scope="private", need_domains=["education"])
    case = make.case(someone, user)
    case_url = f"/cases/{case.public_id}"
    assert _assess(browser, case_url, {"environment": 3}).status_code == 303
    page = browser.get(f"/resources/for-case/{case.public_id}").get_data(as_text=True)
    assert "집수리 지원" in page and "학습 멘토링" not in page
    assert "욕구 영역 일치 1개" in page and "대상자 거주지가 서비스 지역에 포함" in page
    assert "064-111-2222" in page  # our own resource: staff-only phone shown
    narrowed = browser.get(f"/resources/for-case/{case.public_id}?q=도배", headers={"HX-Request": "true", "HX-Target": "matches"})
    assert narrowed.get_data(as_text=True).lstrip().startswith('<div id="matches"')
    boosted = browser.get(f"/resources/for-case/{case.public_id}", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in boosted.get_data(as_text=True)  # the case page's link, boosted by hx-boost
    with app.app_context(), acting_as(tenant.id, None):
        assert db.session.scalar(select(AccessLogEntry.what).where(AccessLogEntry.client_id == someone.id))


def test_another_tenants_case_is_404(signed_in, make):
    owner_browser, owner_user, owner = signed_in("case_manager")
    outsider, _, _ = signed_in("case_manager")
    case = make.case(make.client(owner), owner_user)
    assert outsider.get(f"/resources/for-case/{case.public_id}").status_code == 404
