"""Journey (issue 4): an NGO's resource registrar registers a service shared with its partners;
the partner welfare centre finds it for a case (with the staff-only direct phone), a welfare
centre without an agreement does not; the public directory shows it only once the registrar
makes it public, and never with the staff-only phone — in real Chromium, by accessible names.

The demo registry has the agreement this needs: 제주나눔푸드뱅크 (owner) shares "resource"
records with 한라종합사회복지관 (foodbank-halla-resources, from 2026-01-01, no end).
서귀포해오름종합사회복지관 has no agreement with the food bank (its only resource agreement, with
돌봄이웃 제주, ended 2025-12-31). The live server loads the registry only, no caseload and no
resource catalogue: the journey registers its resources, clients, cases and assessments itself.

A second resource scoped "같은 광역 지역" is the control: the non-partner's search does list it,
so the partner-only service's absence there is the sharing scope at work, not an empty search.
"""
from __future__ import annotations

import re
from functools import partial

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # conftest skips the folder (or fails it under HANARO_REQUIRE_SERVICES=1)
    expect = None

from . import journeys

REGISTRAR = "registrar@foodbank.demo"  # 오나눔: 제주나눔푸드뱅크 (resource_registrar)
PARTNER_CASE_MANAGER = "case@halla.demo"  # 이사례: 한라종합사회복지관 (and 서귀포해오름)
OTHER_CASE_MANAGER = "case@seogwipo.demo"  # 윤해오름: 서귀포해오름종합사회복지관, no agreement with the food bank
NGO = "제주나눔푸드뱅크"
PARTNER = "한라종합사회복지관"
NON_PARTNER = "서귀포해오름종합사회복지관"
CASE_TYPE = "복지관 사례관리"
NEED = "생활환경"

SERVICE = "푸드뱅크 어르신 안심 집수리"
SERVICE_TEXT = "노후 주택의 도배·장판과 전기 설비를 무료로 고쳐 드립니다."
PUBLIC_PHONE = "064-710-2040"
DIRECT_PHONE = "010-4821-7305"  # staff only: shared with partners, never public
CONTROL = "푸드뱅크 겨울나기 난방용품 지원"  # scope: same province
CONTROL_PHONE = "010-9137-2286"  # staff only: private

PARTNERS_LABEL = "협약 기관"
REGION_LABEL = "같은 광역 지역"
PUBLIC_LABEL = "누구나 (공개 목록)"
DIRECTORY_WORD = "집수리"

FULL_REASONS = "추천 이유: 욕구 영역 일치 1개 · 대상자 거주지가 서비스 지역에 포함 · 나이 조건 충족 · 지금 이용 가능 · 최근 90일 안에 확인됨"


# The steps live in journeys.py; bound here to this journey's need, case type and phone.
_tick, _status, _menu, _sign_out, _use_tenant, _goto = (
    journeys.tick, journeys.status, journeys.menu, journeys.sign_out, journeys.use_tenant, journeys.goto)
_register_resource = partial(journeys.register_resource, need=NEED, public_phone=PUBLIC_PHONE)
_case_with_need = partial(journeys.case_with_need, case_type=CASE_TYPE, need=NEED, level="높음",
                          note="보일러 고장, 장판 들뜸으로 낙상 위험")
_find_resources = partial(journeys.find_resources, need=NEED)


def _directory_search(page, word: str) -> None:
    _goto(page, "/directory")
    expect(page.get_by_role("heading", level=1)).to_have_text("공개 자원 찾기")
    search = page.get_by_role("search", name="자원 검색")
    search.get_by_label("검색어").fill(word)
    search.get_by_role("button", name="검색").click()
    page.wait_for_url(re.compile(r"/directory\?"))


def test_partner_only_resource_reaches_partners_then_the_public_directory(page, sign_in, live_app):
    log = page.browser_log

    # -- 1. the food bank's registrar registers a partners-only service, and a same-province control
    sign_in(REGISTRAR)
    expect(page.get_by_role("heading", level=1)).to_have_text(NGO)
    _register_resource(page, name=SERVICE, description=SERVICE_TEXT, scope=PARTNERS_LABEL,
                       staff_scope=PARTNERS_LABEL, direct_phone=DIRECT_PHONE, min_age=65)
    details = page.locator("#resource-details")
    expect(details).to_contain_text(NEED)
    expect(details).to_contain_text("65세 ~")
    _register_resource(page, name=CONTROL, description="겨울철 난방용품과 방한 물품을 드립니다.",
                       scope=REGION_LABEL, staff_scope="우리 기관만", direct_phone=CONTROL_PHONE)
    _sign_out(page)

    # -- 2. the partner welfare centre finds it for a case, with the staff-only direct phone -------
    sign_in(PARTNER_CASE_MANAGER)
    _use_tenant(page, PARTNER)
    _case_with_need(page, client_name="문복순", birth_date="1948-03-02", dong="한림읍")
    results = _find_resources(page)
    found = results.filter(has=page.get_by_role("link", name=SERVICE, exact=True))
    expect(found).to_have_count(1)
    expect(found).to_contain_text(NGO)
    expect(found).to_contain_text(SERVICE_TEXT)
    expect(found).to_contain_text(FULL_REASONS)
    expect(found).to_contain_text(f"담당자 직통: {DIRECT_PHONE}")  # staff scope: partners
    control = results.filter(has=page.get_by_role("link", name=CONTROL, exact=True))
    expect(control).to_have_count(1)
    expect(control).not_to_contain_text("담당자 직통")  # its staff scope: the food bank only
    assert CONTROL_PHONE not in page.content()

    service_path = found.get_by_role("link", name=SERVICE, exact=True).get_attribute("href")
    found.get_by_role("link", name=SERVICE, exact=True).click()  # the resource page, as a partner
    expect(page.get_by_role("heading", level=1)).to_have_text(SERVICE)
    expect(page.get_by_role("status").filter(has_text="공유한 자원")).to_contain_text(f"{NGO}에서 등록해 공유한 자원입니다")
    expect(page.get_by_role("heading", name="담당자 전용 정보")).to_be_visible()
    expect(page.locator("#resource-staff-fields")).to_contain_text(DIRECT_PHONE)
    expect(page.get_by_role("button", name="공개 범위 저장")).to_have_count(0)  # the owner's controls only
    _sign_out(page)

    # -- 3. a welfare centre without an agreement: the control, not the partners-only service ------
    sign_in(OTHER_CASE_MANAGER)
    expect(page.get_by_role("heading", level=1)).to_have_text(NON_PARTNER)
    _case_with_need(page, client_name="강옥자", birth_date="1947-11-20", dong="남원읍")
    results = _find_resources(page)
    expect(results.filter(has=page.get_by_role("link", name=CONTROL, exact=True))).to_have_count(1)
    expect(page.get_by_role("main")).not_to_contain_text(SERVICE)
    assert DIRECT_PHONE not in page.content()
    response = _goto(page, service_path)  # its address, typed in: as if it did not exist
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("페이지를 찾을 수 없습니다")
    expect(page.get_by_role("main")).not_to_contain_text(SERVICE)
    assert DIRECT_PHONE not in page.content()
    _sign_out(page)

    # -- 4. the public directory: not listed while partners-only -----------------------------------
    _directory_search(page, DIRECTORY_WORD)
    expect(page.get_by_role("heading", level=2, name=re.compile("검색 결과"))).to_have_text("검색 결과 0건")
    expect(page.get_by_role("link", name=SERVICE)).to_have_count(0)

    # the registrar makes it public on the resource page; staff-only fields stay with partners
    sign_in(REGISTRAR)
    _menu(page).get_by_role("link", name="자원", exact=True).click()
    page.get_by_role("main").get_by_role("link", name=SERVICE, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(SERVICE)
    _tick(page.get_by_role("group", name="공개 범위", exact=True).get_by_label(PUBLIC_LABEL, exact=True))
    staff_scope = page.get_by_role("group", name="담당자 전용 정보 공개 범위")
    expect(staff_scope.get_by_label(PARTNERS_LABEL, exact=True)).to_be_checked()
    page.get_by_role("button", name="공개 범위 저장").click()
    expect(_status(page)).to_contain_text("공개 범위를 바꿨습니다")
    expect(page.get_by_text(f"지금: {PUBLIC_LABEL} · 담당자 전용 정보: {PARTNERS_LABEL}")).to_be_visible()
    history = page.get_by_role("table", name=re.compile("변경 이력"))
    # (the row names the scopes by their codes, "partners → public", not their labels: reported)
    expect(history.get_by_role("row").filter(has_text="공개 범위 변경")).to_contain_text("공개 범위:")
    _sign_out(page)

    # anonymous again: listed now, with the public phone and without the staff-only one
    _directory_search(page, DIRECTORY_WORD)
    expect(page.get_by_role("heading", level=2, name=re.compile("검색 결과"))).to_have_text("검색 결과 1건")
    listing = page.get_by_role("list", name="검색 결과 1건").get_by_role("listitem")
    expect(listing).to_have_count(1)
    expect(listing).to_contain_text(f"{NGO} · 서비스 · 이용 가능")
    expect(listing).to_contain_text(f"욕구 영역: {NEED}")
    assert DIRECT_PHONE not in page.content()
    listing.get_by_role("link", name=SERVICE, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(SERVICE)
    expect(page.get_by_role("link", name=PUBLIC_PHONE)).to_have_attribute("href", f"tel:{PUBLIC_PHONE}")
    expect(page.get_by_role("main")).to_contain_text(SERVICE_TEXT)
    expect(page.get_by_role("main")).not_to_contain_text("직통")
    expect(page.get_by_role("main")).not_to_contain_text("오나눔")  # the staff-only contact person
    assert DIRECT_PHONE not in page.content()
    expect(page.get_by_role("button", name="로그아웃")).to_have_count(0)  # nobody signed in
    # the control (same province only) stays out of the directory
    _directory_search(page, "난방용품")
    expect(page.get_by_role("heading", level=2, name=re.compile("검색 결과"))).to_have_text("검색 결과 0건")

    not_found = re.escape(service_path)
    problems = log.problems(allow=(  # the non-partner's typed-in address, answered 404 on purpose
        rf"^response: GET {not_found} 404$",
        rf"^console: Failed to load resource: the server responded with a status of 404 .*\({not_found}\)$",
    ))
    assert not problems, "the browser saw:\n" + "\n".join(problems)
    assert live_app.server_errors == []
