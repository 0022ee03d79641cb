"""Steps shared by the browser journeys: what a user does through the screens, by accessible names.

Each step starts from a page a user would be on and ends on the page the action leads to, with an
assertion that it got there (a heading, the success flash). Journeys keep their own data and
their own expectations; these steps only fill in forms and follow links.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from urllib.parse import urlsplit

try:
    from playwright.sync_api import expect
except ImportError:  # conftest skips the folder (or fails it under HANARO_REQUIRE_SERVICES=1)
    expect = None

from ..conftest import ARTIFACTS
from .conftest import DEMO_PASSWORD, BrowserLog, _watch


def tick(control) -> None:
    """Check a radio button or checkbox from the keyboard (focus, Space), as a screen-reader user
    does: KRDS hides the native input (1px, clipped) and draws it on the label, so a pointer
    click would land on the label instead."""
    if not control.is_checked():
        control.press("Space")
    expect(control).to_be_checked()


def status(page):
    """The success flash of the last action (role=status)."""
    return page.locator(".flash-messages").get_by_role("status")


def menu(page):
    return page.get_by_role("navigation", name="주요 메뉴")


def sign_out(page) -> None:
    page.get_by_role("button", name="로그아웃").click()
    page.wait_for_url(re.compile(r"/login$"))


def use_tenant(page, name: str) -> None:
    switcher = page.get_by_label("기관 전환")
    value = switcher.locator("option", has_text=name).get_attribute("value")
    if switcher.input_value() != value:
        switcher.select_option(value)  # submits itself (static/js/hanaro.js)
        expect(page.get_by_label("기관 전환")).to_have_value(value)
    expect(page.get_by_role("heading", level=1)).to_have_text(name)


def sign_in(page, email: str) -> None:
    """The login form, in any browser (the ``sign_in`` fixture drives only ``page``)."""
    if not page.url.endswith("/login"):
        page.goto("/login")
    page.get_by_label("이메일").fill(email)
    page.get_by_label("비밀번호").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="로그인", exact=True).click()
    page.wait_for_url(re.compile(r"/$"))


@contextmanager
def another_person(browser, live_server, request, who: str):
    """A second person at their own desk: a fresh ko-KR browser context, watched like ``page``
    (yields the page and its BrowserLog); on failure its screenshot is saved beside the
    conftest's one of ``page``, named after ``who``."""
    log = BrowserLog(origin=live_server)
    context = browser.new_context(locale="ko-KR", timezone_id="Asia/Seoul", base_url=live_server)
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        _watch(page, log)
        try:
            yield page, log
        except BaseException:
            ARTIFACTS.mkdir(exist_ok=True)
            try:
                page.screenshot(path=str(ARTIFACTS / f"failed-{request.node.name}-{who}.png"), full_page=True)
            except Exception as error:  # noqa: BLE001 - a screenshot must not hide the failure
                print(f"could not save the {who} failure screenshot: {error}")
            raise
    finally:
        context.close()


def goto(page, path: str):
    """Type an address. Wait for the current page's requests first: leaving while its favicon is
    still loading would abort it, a "request failed" in browser_log."""
    page.wait_for_load_state("networkidle")
    return page.goto(path)


# -- resources ----------------------------------------------------------------------------------

def register_resource(page, *, name, description, need, scope, staff_scope, direct_phone, public_phone,
                      min_age=None) -> None:
    """자원 → 자원 등록: a service for ``need`` in 제주시 and 서귀포시, available now; ends on its page."""
    menu(page).get_by_role("link", name="자원", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("자원")
    page.get_by_role("main").get_by_role("link", name="자원 등록").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("자원 등록")

    tick(page.get_by_role("group", name="종류").get_by_label("서비스", exact=True))
    page.get_by_label("자원 이름").fill(name)
    page.get_by_label("설명").fill(description)
    tick(page.get_by_role("group", name="욕구 영역").get_by_label(need, exact=True))
    if min_age is not None:
        page.get_by_label("최소 나이").fill(str(min_age))
    areas = page.get_by_role("group", name="서비스 지역")
    municipality = areas.get_by_label("지역 더 고르기: 시군구")
    municipality.select_option(label="제주특별자치도 제주시")
    expect(page.get_by_role("status").filter(has_text="제주시의 지역")).to_be_attached()  # the list is fetched
    tick(areas.get_by_label("제주시 전체", exact=True))
    municipality.select_option(label="제주특별자치도 서귀포시")  # fetches its areas, keeps the ticked ones
    expect(page.get_by_role("status").filter(has_text="서귀포시의 지역")).to_be_attached()
    tick(areas.get_by_label("서귀포시 전체", exact=True))
    expect(areas.get_by_label("제주시 전체", exact=True)).to_be_checked()  # kept, ticked
    page.get_by_label("신청 방법").fill("대표 전화로 신청하시면 담당자가 방문 일정을 잡아 드립니다.")
    page.get_by_label("비용").fill("무료")
    page.get_by_label("대표 전화").fill(public_phone)
    tick(page.get_by_role("group", name="이용 가능 여부").get_by_label("이용 가능", exact=True))
    page.get_by_label("담당자", exact=True).fill("오나눔")
    page.get_by_label("담당자 직통 전화").fill(direct_phone)
    tick(page.get_by_role("group", name="공개 범위", exact=True).get_by_label(scope, exact=True))
    tick(page.get_by_role("group", name="담당자 전용 정보 공개 범위").get_by_label(staff_scope, exact=True))
    page.get_by_role("button", name="등록", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(status(page)).to_contain_text("자원을 등록했습니다")
    expect(page.get_by_text(f"지금: {scope} · 담당자 전용 정보: {staff_scope}")).to_be_visible()
    staff = page.locator("#resource-staff-fields")  # the owner always sees its staff-only fields
    expect(staff).to_contain_text(direct_phone)


def find_resources(page, need: str):
    """From the case page, "이 사례에 맞는 자원 찾기" (followed by hx-boost, which must still get
    the whole page); returns the result list."""
    page.get_by_role("link", name="이 사례에 맞는 자원 찾기").click()
    page.wait_for_url(re.compile(r"/resources/for-case/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("사례에 맞는 자원 찾기")
    expect(page.get_by_role("main")).to_contain_text(f"최근 욕구 조사에서 보통 이상인 영역: {need}")
    return page.get_by_role("main").get_by_role("listitem")


# -- clients and cases --------------------------------------------------------------------------

def register_client(page, *, name, birth_date, dong, sex="여", rrn=None) -> None:
    """대상자 → 대상자 등록 (with a resident registration number when ``rrn`` is given); ends on
    the client's page."""
    menu(page).get_by_role("link", name="대상자", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("대상자")
    page.get_by_role("main").get_by_role("link", name="대상자 등록").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("대상자 등록")
    page.get_by_label("이름").fill(name)
    page.get_by_label("생년월일").fill(birth_date)
    tick(page.get_by_role("group", name="성별").get_by_label(sex, exact=True))
    page.get_by_label("읍면동", exact=True).select_option(label=dong)
    if rrn is not None:
        page.get_by_label("주민등록번호").fill(rrn)
    page.get_by_role("button", name="등록", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(status(page)).to_contain_text("대상자를 등록했습니다")


def record_consent(page, *, client_name, receiver, purpose, granted_on, reference) -> None:
    """From the client's page, 동의 기록: scope 지정한 기관 (``receiver``), for ``purpose``;
    ends on the client's page with the consent listed as valid."""
    page.get_by_role("link", name="동의 기록").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("정보제공 동의 기록")
    tick(page.get_by_role("group", name="동의 범위").get_by_label("지정한 기관", exact=True))
    tick(page.get_by_role("group", name=re.compile("^정보를 받을 기관")).get_by_label(receiver, exact=True))
    tick(page.get_by_role("group", name="목적", exact=True).get_by_label(purpose, exact=True))
    page.get_by_label("동의일").fill(granted_on)
    page.get_by_label("동의서 문서번호").fill(reference)
    page.get_by_role("button", name="동의 기록").click()
    expect(status(page)).to_contain_text("정보제공 동의를 기록했습니다")
    expect(page.get_by_role("heading", level=1)).to_have_text(client_name)
    consents = page.locator(".card-list")
    expect(consents).to_contain_text(purpose)
    expect(consents).to_contain_text("유효")


def open_case(page, *, client_name, case_type) -> None:
    """From the client's page, 사례 열기 with the defaults (the signed-in lead, today); ends on the case."""
    page.get_by_role("link", name="사례 열기").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("새 사례 열기")
    page.get_by_label("사례 유형").select_option(label=case_type)
    page.get_by_role("button", name="사례 열기").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(client_name)
    expect(status(page)).to_contain_text("사례를 열었습니다")


def assess_need(page, *, need, level, note) -> None:
    """From the case page, the 욕구사정 tab: ``need`` at ``level``, the other domains left at 욕구 없음."""
    tabs = page.get_by_role("navigation", name="사례 메뉴")
    tabs.get_by_role("link", name="욕구사정").click()
    expect(tabs.get_by_role("link", name="욕구사정")).to_have_attribute("aria-current", "page")
    page.get_by_label(f"{need} 수준").select_option(label=level)
    page.get_by_label(f"{need} 내용").fill(note)
    page.get_by_role("button", name="조사 저장").click()
    expect(status(page)).to_contain_text("1차 욕구 및 위기도 조사를 저장했습니다")
    assessment = page.get_by_role("table", name=re.compile("욕구 영역별 수준"))
    expect(assessment.get_by_role("row", name=re.compile(f"^{need}"))).to_contain_text(level)


def case_with_need(page, *, client_name, birth_date, dong, case_type, need, level, note) -> None:
    """Register a client, open a case and save an assessment with ``need`` at ``level``, all
    through the screens; ends on the case's assessment tab."""
    register_client(page, name=client_name, birth_date=birth_date, dong=dong)
    open_case(page, client_name=client_name, case_type=case_type)
    assess_need(page, need=need, level=level, note=note)


# -- addresses and refusals ---------------------------------------------------------------------

def path_of(page) -> str:
    """The address bar without the origin: what a user would copy and send a colleague."""
    parts = urlsplit(page.url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def answered_on_purpose(method: str, path: str, status: int) -> tuple[str, str]:
    """``BrowserLog.problems(allow=...)`` patterns for a request the journey expects to be refused
    (``path`` a regular expression): the response, and the console line Chromium logs for it."""
    return (rf"^response: {method} {path} {status}$",
            rf"^console: Failed to load resource: the server responded with a status of {status} .*\({path}\)$")


def not_found(page, path: str) -> None:
    """Type ``path`` into the address bar: 404, the not-found page, as if nothing were there."""
    response = goto(page, path)
    assert response.status == 404, (path, response.status)
    expect(page.get_by_role("heading", level=1)).to_have_text("페이지를 찾을 수 없습니다")
