"""Journey (issue 3): a welfare centre case manager registers a client with consent, opens a
case, assesses needs, writes an internal and a team note and invites a dong centre; the dong
centre planner accepts, sees the shared case and the team note, not the internal note, and the
resident number only masked — in real Chromium, through accessible names only.

The live server's database holds the Jeju registry and nothing else: the journey makes its own
client, consent and case through the UI.
"""
from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

try:
    from playwright.sync_api import expect
except ImportError:  # conftest skips the folder (or fails it under HANARO_REQUIRE_SERVICES=1)
    expect = None

from ..conftest import ARTIFACTS

CASE_MANAGER = "case@halla.demo"  # 이사례: 한라종합사회복지관 and 서귀포해오름종합사회복지관
PLANNER = "planner@hallim.demo"  # 정의뢰: 한림읍 행정복지센터
WELFARE_CENTRE = "한라종합사회복지관"
DONG_CENTRE = "한림읍 행정복지센터"
CASE_TYPE = "복지관 사례관리"

CLIENT_NAME = "고순자"
BIRTH_DATE = "1950-05-17"
RRN = "500517-2345675"  # valid check digit, born 1950-05-17, female
RRN_MASKED = "500517-2******"
RRN_SECRET_PART = "2345675"  # the back part must never reach a page

INTERNAL_NOTE = "내부 메모: 가족 갈등 상세"
TEAM_NOTE = "팀 공유: 주 2회 방문 예정"
# Need levels (NEED_LEVEL_LABELS) per domain; the domains not listed get "욕구 없음".
LEVELS = {"안전": "낮음", "가족관계": "높음", "사회적관계": "보통", "경제": "높음", "생활환경": "보통"}
DOMAINS = ("안전", "건강", "일상생활유지", "가족관계", "사회적관계", "경제", "교육", "고용", "생활환경", "권익보장")
FAMILY_NOTES = "자녀와 연락이 끊겨 정서적 지지가 없음"


def _today_in_seoul() -> str:
    return datetime.now(ZoneInfo("Asia/Seoul")).date().isoformat()


def _domain(page, name: str):
    """A need domain's fieldset; its legend may carry a "민감정보" badge after the name."""
    return page.get_by_role("group", name=re.compile(rf"^{re.escape(name)}(\s|$)"))


def _tick(control) -> None:
    """Check a radio button or checkbox from the keyboard (focus, Space), as a screen-reader user
    does: KRDS hides the native input (1px, clipped) and draws it on the label, so a pointer
    click would land on the label instead."""
    if not control.is_checked():
        control.press("Space")
    expect(control).to_be_checked()


def _status(page):
    """The success flash of the last action (role=status)."""
    return page.locator(".flash-messages").get_by_role("status")


def _assert_rrn_masked(page) -> None:
    assert RRN_SECRET_PART not in page.content(), "the resident number's back part reached the page"


def test_case_collaboration_between_welfare_centre_and_dong_centre(page, sign_in, live_app):
    log = page.browser_log
    today = _today_in_seoul()

    # -- 1. the welfare centre case manager, in 한라종합사회복지관 --------------------------------
    sign_in(CASE_MANAGER)
    switcher = page.get_by_label("기관 전환")
    halla = switcher.locator("option", has_text=WELFARE_CENTRE).get_attribute("value")
    if switcher.input_value() != halla:
        switcher.select_option(halla)  # submits itself (static/js/hanaro.js)
        expect(page.get_by_label("기관 전환")).to_have_value(halla)
    expect(page.get_by_role("heading", level=1)).to_have_text(WELFARE_CENTRE)

    menu = page.get_by_role("navigation", name="주요 메뉴")
    menu.get_by_role("link", name="대상자", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("대상자")
    page.get_by_role("main").get_by_role("link", name="대상자 등록").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("대상자 등록")
    page.get_by_label("이름").fill(CLIENT_NAME)
    page.get_by_label("생년월일").fill(BIRTH_DATE)
    _tick(page.get_by_role("group", name="성별").get_by_label("여", exact=True))
    page.get_by_label("주민등록번호").fill(RRN)
    # the dong list holds one municipality's dongs (the centre's own, 제주시); another's are fetched
    dong = page.get_by_label("읍면동", exact=True)
    expect(dong.get_by_role("option", name="애월읍")).to_be_attached()
    page.get_by_label("시군구", exact=True).select_option(label="제주특별자치도 서귀포시")
    expect(page.get_by_role("status").filter(has_text="서귀포시의 읍면동 1곳을 불러왔습니다.")).to_be_attached()
    expect(dong.get_by_role("option", name="남원읍")).to_be_attached()
    expect(dong.get_by_role("option", name="애월읍")).not_to_be_attached()
    page.get_by_label("시군구", exact=True).select_option(label="제주특별자치도 제주시")
    dong.select_option(label="한림읍")
    page.get_by_role("button", name="등록", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(CLIENT_NAME)
    expect(_status(page)).to_contain_text("대상자를 등록했습니다")
    details = page.locator("#client-details")
    expect(details.get_by_text(RRN_MASKED, exact=True)).to_be_visible()
    _assert_rrn_masked(page)

    # -- 2. consent: case team, case collaboration ----------------------------------------------
    page.get_by_role("link", name="동의 기록").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("정보제공 동의 기록")
    _tick(page.get_by_role("group", name="동의 범위").get_by_label("사례관리 팀에 참여하는 기관"))
    _tick(page.get_by_role("group", name="목적", exact=True).get_by_label("통합사례관리 협업"))
    page.get_by_label("동의일").fill(today)
    page.get_by_label("동의서 문서번호").fill("한라-2026-동의-0517")
    page.get_by_role("button", name="동의 기록").click()

    expect(_status(page)).to_contain_text("정보제공 동의를 기록했습니다")
    consents = page.locator(".card-list")
    expect(consents).to_contain_text("사례관리 팀에 참여하는 기관")
    expect(consents).to_contain_text("통합사례관리 협업")
    expect(consents).to_contain_text("유효")

    # -- 3. open a case, move it to assessment, assess, write notes ------------------------------
    page.get_by_role("link", name="사례 열기").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("새 사례 열기")
    page.get_by_label("사례 유형").select_option(label=CASE_TYPE)
    expect(page.get_by_label("담당 사례관리자")).to_have_value(re.compile(r".+"))  # the signed-in user
    _tick(page.get_by_role("group", name="위기도").get_by_label("높음", exact=True))
    page.get_by_role("button", name="사례 열기").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(CLIENT_NAME)
    expect(_status(page)).to_contain_text("사례를 열었습니다")
    page.get_by_role("button", name="욕구·위기도 조사 단계로").click()
    expect(_status(page)).to_contain_text("욕구·위기도 조사")

    tabs = page.get_by_role("navigation", name="사례 메뉴")
    tabs.get_by_role("link", name="욕구사정").click()
    expect(tabs.get_by_role("link", name="욕구사정")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("heading", name="욕구 및 위기도 조사", exact=True)).to_be_visible()
    for name in DOMAINS:
        # Each field names its domain, so a screen reader's field list tells them apart.
        page.get_by_label(f"{name} 수준").select_option(label=LEVELS.get(name, "욕구 없음"))
    page.get_by_label("가족관계 내용").fill(FAMILY_NOTES)
    page.get_by_label("종합 의견").fill("가족관계 회복과 생계 지원이 우선")
    page.get_by_role("button", name="조사 저장").click()

    expect(_status(page)).to_contain_text("1차 욕구 및 위기도 조사를 저장했습니다")
    assessment = page.get_by_role("table", name=re.compile("욕구 영역별 수준"))
    expect(assessment.get_by_role("row", name=re.compile("^가족관계"))).to_contain_text("높음")
    expect(assessment.get_by_role("row", name=re.compile("^가족관계"))).to_contain_text(FAMILY_NOTES)

    tabs.get_by_role("link", name="메모").click()
    expect(page.get_by_role("heading", name="메모 남기기")).to_be_visible()
    page.get_by_label("내용").fill(INTERNAL_NOTE)
    _tick(page.get_by_role("group", name="공개 범위").get_by_label("우리 기관만 (내부)"))
    page.get_by_role("button", name="메모 저장").click()
    expect(_status(page)).to_contain_text("메모를 남겼습니다")
    expect(page.get_by_role("listitem").filter(has_text=INTERNAL_NOTE)).to_contain_text("내부")

    page.get_by_label("내용").fill(TEAM_NOTE)
    _tick(page.get_by_role("group", name="공개 범위").get_by_label("사례 팀 전체 공유"))
    page.get_by_role("button", name="메모 저장").click()
    expect(page.get_by_role("listitem").filter(has_text=TEAM_NOTE)).to_contain_text("팀 공유")
    expect(page.get_by_role("listitem").filter(has_text=INTERNAL_NOTE)).to_be_visible()

    # -- 4. invite 한림읍 행정복지센터 ----------------------------------------------------------
    tabs.get_by_role("link", name="개요").click()
    page.get_by_label("초대할 기관").select_option(label=DONG_CENTRE)
    page.get_by_label("전달할 말 (선택)").fill("주 2회 방문 협조 부탁드립니다.")
    page.get_by_role("button", name="초대 보내기").click()
    expect(_status(page)).to_contain_text(f"{DONG_CENTRE}에 초대를 보냈습니다")
    team = page.get_by_role("table", name="협업 기관")
    expect(team.get_by_role("row", name=re.compile(f"^{DONG_CENTRE}"))).to_contain_text("초대됨")

    page.get_by_role("button", name="로그아웃").click()
    page.wait_for_url(re.compile(r"/login$"))

    # -- 5. the dong centre planner accepts and sees what is shared --------------------------------
    sign_in(PLANNER)
    expect(page.get_by_role("heading", level=1)).to_have_text(DONG_CENTRE)
    menu = page.get_by_role("navigation", name="주요 메뉴")
    # the invitation's notification: the menu says how many are unread ("알림 읽지 않은 알림 1개" when
    # this journey runs alone; other journeys on the same live server may have left the planner more)
    expect(menu.get_by_role("link", name=re.compile(r"^알림"))).to_have_accessible_name(re.compile(r"^알림 .*[1-9]"))
    menu.get_by_role("link", name="사례관리").click()
    page.get_by_role("navigation", name="사례 목록 범위").get_by_role("link", name=re.compile("^공유받은 사례")).click()
    expect(page.get_by_role("heading", name="받은 초대")).to_be_visible()
    page.get_by_role("link", name=f"{WELFARE_CENTRE} · {CASE_TYPE}").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("사례관리 협업 초대")
    expect(page.get_by_role("main")).not_to_contain_text(CLIENT_NAME)  # no client data before accepting
    page.get_by_label("우리 기관 담당자").select_option(label="정의뢰")
    page.get_by_label("전달할 말 (선택)").fill("방문 일정 맞추겠습니다.")
    page.get_by_role("button", name="수락하고 참여하기").click()

    expect(_status(page)).to_contain_text("초대를 수락했습니다")
    expect(page.get_by_role("heading", level=1)).to_have_text(CLIENT_NAME)
    expect(page.get_by_text(f"공유받은 사례 · 주관: {WELFARE_CENTRE}")).to_be_visible()
    summary = page.locator("#case-summary")
    expect(summary).to_contain_text(f"{WELFARE_CENTRE} · 이사례")
    expect(summary.get_by_text(RRN_MASKED, exact=True)).to_be_visible()
    _assert_rrn_masked(page)
    expect(page.get_by_role("button", name="욕구·위기도 조사 단계로")).to_have_count(0)  # the lead's controls only
    expect(page.get_by_role("button", name="초대 보내기")).to_have_count(0)

    tabs = page.get_by_role("navigation", name="사례 메뉴")
    tabs.get_by_role("link", name="욕구사정").click()
    assessment = page.get_by_role("table", name=re.compile("욕구 영역별 수준"))
    expect(assessment.get_by_role("row", name=re.compile("^가족관계"))).to_contain_text("높음")
    expect(assessment.get_by_role("row", name=re.compile("^건강"))).to_contain_text("볼 수 없습니다")  # no health consent

    tabs.get_by_role("link", name="메모").click()
    expect(page.get_by_role("heading", name="메모", exact=True)).to_be_visible()
    expect(page.get_by_role("listitem").filter(has_text=TEAM_NOTE)).to_contain_text(WELFARE_CENTRE)
    expect(page.get_by_text(TEAM_NOTE)).to_be_visible()
    expect(page.get_by_text(INTERNAL_NOTE)).to_have_count(0)
    assert INTERNAL_NOTE not in page.content()
    _assert_rrn_masked(page)
    expect(page.locator("#case-summary").get_by_text(RRN_MASKED, exact=True)).to_be_visible()

    # -- 6. the record: a screenshot, and nothing broke on the way ---------------------------------
    ARTIFACTS.mkdir(exist_ok=True)
    assert page.evaluate("document.fonts.ready.then(fs => [...fs].some(f => f.status === 'loaded'"
                         " && f.family.includes('PretendardGOV')))"), "Hangul must come from our own font"
    page.screenshot(path=str(ARTIFACTS / "case-collaboration.png"), full_page=True, caret="initial")

    problems = log.problems()
    assert not problems, "the browser saw:\n" + "\n".join(problems)
    assert live_app.server_errors == []
