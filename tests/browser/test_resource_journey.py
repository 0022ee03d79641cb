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

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # conftest skips the folder (or fails it under HANARO_REQUIRE_SERVICES=1)
    expect = None

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


def _tick(control) -> None:
    """Check a radio button or checkbox from the keyboard (focus, Space): KRDS hides the native
    input and draws it on the label, so a pointer click would land on the label."""
    if not control.is_checked():
        control.press("Space")
    expect(control).to_be_checked()


def _status(page):
    """The success flash of the last action (role=status)."""
    return page.locator(".flash-messages").get_by_role("status")


def _menu(page):
    return page.get_by_role("navigation", name="주요 메뉴")


def _sign_out(page) -> None:
    page.get_by_role("button", name="로그아웃").click()
    page.wait_for_url(re.compile(r"/login$"))


def _use_tenant(page, name: str) -> None:
    switcher = page.get_by_label("기관 전환")
    value = switcher.locator("option", has_text=name).get_attribute("value")
    if switcher.input_value() != value:
        switcher.select_option(value)  # submits itself (static/js/hanaro.js)
        expect(page.get_by_label("기관 전환")).to_have_value(value)
    expect(page.get_by_role("heading", level=1)).to_have_text(name)


def _register_resource(page, *, name, description, scope, staff_scope, direct_phone, min_age=None) -> None:
    _menu(page).get_by_role("link", name="자원", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("자원")
    page.get_by_role("main").get_by_role("link", name="자원 등록").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("자원 등록")

    _tick(page.get_by_role("group", name="종류").get_by_label("서비스", exact=True))
    page.get_by_label("자원 이름").fill(name)
    page.get_by_label("설명").fill(description)
    _tick(page.get_by_role("group", name="욕구 영역").get_by_label(NEED, exact=True))
    if min_age is not None:
        page.get_by_label("최소 나이").fill(str(min_age))
    areas = page.get_by_role("group", name="서비스 지역")
    _tick(areas.get_by_label("제주시", exact=True))
    _tick(areas.get_by_label("서귀포시", exact=True))
    page.get_by_label("신청 방법").fill("대표 전화로 신청하시면 담당자가 방문 일정을 잡아 드립니다.")
    page.get_by_label("비용").fill("무료")
    page.get_by_label("대표 전화").fill(PUBLIC_PHONE)
    _tick(page.get_by_role("group", name="이용 가능 여부").get_by_label("이용 가능", exact=True))
    page.get_by_label("담당자", exact=True).fill("오나눔")
    page.get_by_label("담당자 직통 전화").fill(direct_phone)
    _tick(page.get_by_role("group", name="공개 범위", exact=True).get_by_label(scope, exact=True))
    _tick(page.get_by_role("group", name="담당자 전용 정보 공개 범위").get_by_label(staff_scope, exact=True))
    page.get_by_role("button", name="등록", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(_status(page)).to_contain_text("자원을 등록했습니다")
    expect(page.get_by_text(f"지금: {scope} · 담당자 전용 정보: {staff_scope}")).to_be_visible()
    staff = page.locator("#resource-staff-fields")  # the owner always sees its staff-only fields
    expect(staff).to_contain_text(direct_phone)


def _case_with_need(page, *, client_name, birth_date, dong) -> None:
    """Register a client, open a case and save an assessment with NEED at 높음 (3), all through
    the screens; ends on the case's assessment tab."""
    _menu(page).get_by_role("link", name="대상자", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("대상자")
    page.get_by_role("main").get_by_role("link", name="대상자 등록").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("대상자 등록")
    page.get_by_label("이름").fill(client_name)
    page.get_by_label("생년월일").fill(birth_date)
    _tick(page.get_by_role("group", name="성별").get_by_label("여", exact=True))
    page.get_by_label("읍면동").select_option(label=dong)
    page.get_by_role("button", name="등록", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(client_name)
    expect(_status(page)).to_contain_text("대상자를 등록했습니다")

    page.get_by_role("link", name="사례 열기").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("새 사례 열기")
    page.get_by_label("사례 유형").select_option(label=CASE_TYPE)
    page.get_by_role("button", name="사례 열기").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(client_name)
    expect(_status(page)).to_contain_text("사례를 열었습니다")

    tabs = page.get_by_role("navigation", name="사례 메뉴")
    tabs.get_by_role("link", name="욕구사정").click()
    expect(tabs.get_by_role("link", name="욕구사정")).to_have_attribute("aria-current", "page")
    page.get_by_label(f"{NEED} 수준").select_option(label="높음")
    page.get_by_label(f"{NEED} 내용").fill("보일러 고장, 장판 들뜸으로 낙상 위험")
    page.get_by_role("button", name="조사 저장").click()
    expect(_status(page)).to_contain_text("1차 욕구 및 위기도 조사를 저장했습니다")
    assessment = page.get_by_role("table", name=re.compile("욕구 영역별 수준"))
    expect(assessment.get_by_role("row", name=re.compile(f"^{NEED}"))).to_contain_text("높음")


def _find_resources(page):
    """From the case page, "이 사례에 맞는 자원 찾기" (followed by hx-boost, which must still get
    the whole page); returns the result list."""
    page.get_by_role("link", name="이 사례에 맞는 자원 찾기").click()
    page.wait_for_url(re.compile(r"/resources/for-case/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("사례에 맞는 자원 찾기")
    expect(page.get_by_role("main")).to_contain_text(f"최근 욕구 조사에서 보통 이상인 영역: {NEED}")
    return page.get_by_role("main").get_by_role("listitem")


def _goto(page, path: str):
    """Type an address. Wait for the current page's requests first: leaving while its favicon is
    still loading would abort it, a "request failed" in browser_log."""
    page.wait_for_load_state("networkidle")
    return page.goto(path)


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
