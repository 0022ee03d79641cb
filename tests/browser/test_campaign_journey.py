"""Journey (issue 8): two agencies nominate the same household for a distribution campaign; the
organiser sees the duplicate flag on both, keeps one, finalises; each agency sees its own result
and neither learns the other's name — in real Chromium, by accessible names.

Three people at once, each in a browser of their own: 배분희 of 제주시청 (campaign@jejucity.demo,
campaign_organiser), 이사례 of 한라종합사회복지관 (case@halla.demo, a case manager there and at
서귀포해오름종합사회복지관: the 기관 전환 switcher picks 한라), and 정의뢰 of 한림읍 행정복지센터
(planner@hallim.demo). At the end the tenant admin of 한라요양원 (admin@carehome.demo), which was
not invited, types the campaign's address and finds nothing.

The live server loads the registry only: each agency registers the same person (same resident
registration number, so the same household) as its own client, with a consent covering 자원배분
추천 for 제주시청, through the screens. The organiser's refused allocation (0 units) shows the error
summary with focus, the typed value kept.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

try:
    from playwright.sync_api import expect
except ImportError:  # conftest skips the folder (or fails it under HANARO_REQUIRE_SERVICES=1)
    expect = None

from . import journeys
from .journeys import menu, sign_out, status, tick

ORGANISER = "campaign@jejucity.demo"  # 배분희: 제주시청
HALLA_USER = "case@halla.demo"  # 이사례: 한라종합사회복지관 (and 서귀포해오름종합사회복지관)
HALLIM_USER = "planner@hallim.demo"  # 정의뢰: 한림읍 행정복지센터
OUTSIDER = "admin@carehome.demo"  # 홍시설: 한라요양원, not invited
CITY = "제주시청"
HALLA = "한라종합사회복지관"
HALLIM = "한림읍 행정복지센터"
CARE_HOME = "한라요양원"

TITLE = "2026 제주시 사랑의 김장김치 나눔"
ITEM = "김장김치 10kg"
SPONSOR = "제주김치협동조합"
QUANTITY, UNIT = "40", "상자"

NOMINEE = "고순덕"  # the same person at both agencies
NOMINEE_INITIAL = "고○○"
BIRTH_DATE = "1946-11-03"
RRN = "461103-2147251"  # valid check digit; woman born in the 1900s
RRN_MASKED = "461103-2******"
DONG = "한림읍"
HALLA_REASON = "홀로 사시며 기초연금 외 소득이 없어 김장을 하지 못하십니다. 복지관 반찬 배달 대상입니다."
HALLIM_REASON = "읍사무소 방문 상담에서 겨울 김장 지원을 요청하셨습니다. 난방비 체납 이력이 있습니다."
KEEP_NOTE = "복지관이 먼저 추천했고 반찬 배달 때 함께 전달할 수 있음"


def _today_in_seoul():
    return datetime.now(ZoneInfo("Asia/Seoul")).date()


def test_two_agencies_nominate_the_same_household_and_the_organiser_keeps_one(request, page, sign_in, browser,
                                                                              live_server, live_app):
    organiser, organiser_log = page, page.browser_log
    with journeys.another_person(browser, live_server, request, "halla") as (halla, halla_log), \
            journeys.another_person(browser, live_server, request, "hallim") as (hallim, hallim_log):
        paths = _journey(organiser, halla, hallim, sign_in)

    campaign, halla_nomination = (re.escape(p) for p in (paths["campaign"], paths["halla_nomination"]))
    organiser_problems = organiser_log.problems(allow=(
        # the allocation of 0 units, refused on purpose
        *journeys.answered_on_purpose("POST", rf"{campaign}/finalise", 422),
        # the care home's admin typing the campaign's and a nomination's address
        *journeys.answered_on_purpose("GET", campaign, 404),
        *journeys.answered_on_purpose("GET", halla_nomination, 404),
    ))
    # 한림읍 typing the address of 한라's nomination
    hallim_problems = hallim_log.problems(allow=journeys.answered_on_purpose("GET", halla_nomination, 404))
    problems = ([f"organiser: {p}" for p in organiser_problems] + [f"한라: {p}" for p in halla_log.problems()]
                + [f"한림읍: {p}" for p in hallim_problems])
    assert not problems, "the browser saw:\n" + "\n".join(problems)
    assert live_app.server_errors == []


# -- steps ---------------------------------------------------------------------------------------------

def _create_campaign(page, today, closes) -> None:
    """자원배분 → 새 캠페인, two invited agencies without quotas; ends on the campaign page (준비)."""
    menu(page).get_by_role("link", name="자원배분", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("자원배분")
    page.get_by_role("main").get_by_role("link", name="새 캠페인").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("새 캠페인")
    page.get_by_label("캠페인 이름").fill(TITLE)
    page.get_by_label("지원 종류").select_option(label="김장")
    page.get_by_label("후원자").fill(SPONSOR)
    page.get_by_label("물품 내용").fill(ITEM)
    page.get_by_label("배분할 수량").fill(QUANTITY)
    page.get_by_label("단위").fill(UNIT)
    expect(page.get_by_label("가구당 수량")).to_have_value("1")
    page.get_by_label("추천 시작일").fill(today)
    page.get_by_label("추천 마감일").fill(closes)
    page.get_by_label("지원 기준").fill("기초생활수급 및 차상위 가구, 홀로 사시는 어르신 우선")
    agencies = page.get_by_role("group", name="추천 기관과 한도").get_by_label("추천 기관", exact=True)
    agencies.nth(0).select_option(label=HALLA)
    agencies.nth(1).select_option(label=HALLIM)
    page.get_by_role("button", name="캠페인 만들기").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(status(page)).to_contain_text("캠페인을 만들었습니다")
    expect(page.get_by_role("list", name="진행 단계").locator("[aria-current=step]")).to_have_text("준비")
    expect(page.locator("#campaign-summary")).to_contain_text(f"{QUANTITY}{UNIT} (가구당 1{UNIT})")
    invited = page.get_by_role("table", name="추천 기관 2곳")
    expect(invited.get_by_role("rowheader")).to_have_text([HALLA, HALLIM])


def _nominate(page, *, reason: str) -> None:
    """From the agency's home: 자원배분 → the campaign → 대상자 추천하기 → the client found by a
    (POST) search → reason and priority → 추천하기; ends on the nomination page."""
    menu(page).get_by_role("link", name="자원배분", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("자원배분")
    invited = page.get_by_role("table", name=re.compile("^추천 요청"))
    row = invited.get_by_role("row").filter(has=page.get_by_role("link", name=TITLE))
    expect(row.get_by_role("cell").first).to_have_text(CITY)
    row.get_by_role("link", name=TITLE).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.locator("#campaign-summary")).to_contain_text(f"주관 기관{CITY}")
    page.get_by_role("link", name="대상자 추천하기").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("대상자 추천")
    page.get_by_label("이름 또는 주민등록번호 검색").fill(NOMINEE)
    page.get_by_role("search").get_by_role("button", name="검색").click()
    choices = page.get_by_role("table", name=re.compile("^우리 기관 대상자"))
    expect(choices.get_by_role("row")).to_have_count(2)  # the header and our one 고순덕
    assert "/nominate/clients" not in page.url and NOMINEE not in page.url  # the search stays out of the URL
    choices.get_by_role("link", name=NOMINEE).click()
    expect(page.get_by_role("heading", name="추천할 대상자")).to_be_visible()
    page.get_by_label("추천 사유").fill(reason)
    tick(page.get_by_role("group", name="우선순위").get_by_label("우선", exact=True))
    page.get_by_role("button", name="추천하기").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"추천 · {TITLE}")
    expect(status(page).first).to_contain_text(f"{CITY}에 추천했습니다.")


def _register_household(page, *, reference: str, today: str) -> None:
    journeys.register_client(page, name=NOMINEE, birth_date=BIRTH_DATE, dong=DONG, rrn=RRN)
    journeys.record_consent(page, client_name=NOMINEE, receiver=CITY, purpose="자원배분 추천", granted_on=today,
                            reference=reference)


def _nomination_table(page):
    return page.get_by_role("table", name=re.compile(r"^추천 \d+건"))


def _row_of(table, agency: str):
    return table.locator("tbody tr").filter(has=table.page.get_by_role("cell", name=agency, exact=True))


def _notices(page):
    menu(page).get_by_role("link", name=re.compile("^알림")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("알림")
    return page.locator("#notification-list").get_by_role("listitem")


def _read(notice) -> None:
    """읽음으로 표시 (htmx swaps the card): read, as the person would leave it."""
    notice.get_by_role("button", name=re.compile("^읽음으로 표시")).click()
    expect(notice.get_by_role("button", name=re.compile("^읽음으로 표시"))).to_have_count(0)
    expect(notice).not_to_contain_text("새 알림")


def _agency_sees_its_result(page, *, other: str, other_reason: str, summary: str, result: str) -> None:
    """The agency's campaign page after 확정: its own result only, nothing of the other agency."""
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.locator("#campaign-status")).to_contain_text("확정")
    expect(page.get_by_role("main").get_by_role("status")).to_have_text(summary)
    mine = page.get_by_role("table", name="우리 기관 추천 1건").locator("tbody tr")
    expect(mine).to_have_count(1)
    expect(mine.get_by_role("rowheader")).to_have_text(NOMINEE)
    expect(mine.get_by_role("cell").last).to_have_text(result)
    main = page.get_by_role("main")
    for secret in (other, other_reason):
        expect(main).not_to_contain_text(secret)


# -- the journey ---------------------------------------------------------------------------------------

def _journey(organiser, halla, hallim, sign_in) -> dict:
    today_date = _today_in_seoul()
    today, closes = today_date.isoformat(), (today_date + timedelta(days=7)).isoformat()

    # -- 1. the organiser creates the campaign and opens nominations --------------------------------
    sign_in(ORGANISER)
    expect(organiser.get_by_role("heading", level=1)).to_have_text(CITY)
    _create_campaign(organiser, today, closes)
    campaign_path = journeys.path_of(organiser)
    organiser.get_by_role("button", name="추천 접수 시작").click()
    expect(status(organiser)).to_contain_text("추천 접수를 시작했습니다. 초대한 기관에 알렸습니다.")
    expect(organiser.get_by_role("list", name="진행 단계").locator("[aria-current=step]")).to_have_text("추천 접수")

    # -- 2. 한라종합사회복지관: told, registers the household, nominates it ----------------------------
    journeys.sign_in(halla, HALLA_USER)
    journeys.use_tenant(halla, HALLA)
    invitation = _notices(halla).filter(has_text=f"자원배분 추천 요청이 왔습니다 (주관: {CITY})")
    expect(invitation).to_have_count(1)
    expect(invitation).to_contain_text(f"추천 기간: {today} ~ {closes}")
    _read(invitation)
    _register_household(halla, reference="한라-2026-동의-1103", today=today)
    _nominate(halla, reason=HALLA_REASON)
    halla_nomination_path = journeys.path_of(halla)
    expect(halla.locator("#nominee-details")).to_contain_text(NOMINEE)
    expect(halla.locator("#nomination-flags")).to_have_count(0)  # nothing to report yet

    # -- 3. 한림읍 행정복지센터: the same person, nominated again; told only that it is taken --------
    journeys.sign_in(hallim, HALLIM_USER)
    expect(hallim.get_by_role("heading", level=1)).to_have_text(HALLIM)
    _read(_notices(hallim).filter(has_text=f"자원배분 추천 요청이 왔습니다 (주관: {CITY})"))
    _register_household(hallim, reference="한림-2026-동의-1103", today=today)
    _nominate(hallim, reason=HALLIM_REASON)
    expect(status(hallim).filter(has_text="이미 다른 기관이 추천한 가구입니다.")).to_contain_text(
        "주관 기관이 확인해 한 곳의 추천으로 지원합니다.")
    notice = hallim.locator("#nomination-flags").get_by_role("listitem")
    expect(notice).to_have_count(1)
    expect(notice).to_contain_text("중복 추천")
    expect(notice).to_contain_text("이미 다른 기관이 추천한 가구입니다.")
    hallim_nomination_path = journeys.path_of(hallim)
    for page_path in (hallim_nomination_path, campaign_path):
        journeys.goto(hallim, page_path)
        main = hallim.get_by_role("main")
        expect(main).to_contain_text("이미 다른 기관이 추천한 가구입니다.")
        expect(main).not_to_contain_text(HALLA)
        expect(main).not_to_contain_text(HALLA_REASON)
    # 한라's nomination, typed into the address bar: as if nothing were there
    journeys.not_found(hallim, halla_nomination_path)
    expect(hallim.get_by_role("main")).not_to_contain_text(HALLA_REASON)

    # -- 4. the organiser closes nominations: the checks flag both -----------------------------------
    journeys.goto(organiser, campaign_path)
    table = _nomination_table(organiser)
    expect(table.locator("tbody tr")).to_have_count(2)
    organiser.get_by_role("button", name="추천 마감 후 검토").click()
    expect(status(organiser)).to_contain_text("추천을 마감했습니다. 점검했습니다. 확인이 필요한 결과 2건 (중복 추천 2).")
    expect(organiser.get_by_role("list", name="진행 단계").locator("[aria-current=step]")).to_have_text("검토")
    for agency, other in ((HALLA, HALLIM), (HALLIM, HALLA)):
        row = _row_of(table, agency)
        expect(row).to_have_count(1)
        expect(row.get_by_role("rowheader")).to_have_text(NOMINEE_INITIAL)  # initials only in the list
        expect(row.locator(".campaign-flag")).to_have_text(f"중복 추천 같은 사람 또는 가구를 다른 기관도 추천했습니다: {other}")
    expect(table).not_to_contain_text(NOMINEE)

    # keeps 한라's nomination: the other is rejected as a duplicate
    _row_of(table, HALLA).get_by_role("link", name=NOMINEE_INITIAL).click()
    expect(organiser.get_by_role("heading", level=1)).to_have_text(f"추천 · {TITLE}")
    details = organiser.locator("#nominee-details")
    expect(details).to_contain_text(NOMINEE)  # the organiser sees the nominee here (access-logged)
    expect(details).to_contain_text(RRN_MASKED)
    expect(details).to_contain_text(HALLA)
    expect(organiser.get_by_role("main")).to_contain_text(HALLA_REASON)
    duplicates = organiser.locator("#nomination-duplicates").get_by_role("listitem")
    expect(duplicates).to_have_count(1)
    expect(duplicates).to_contain_text(f"{HALLIM} · 같은 사람 · 접수")
    organiser.locator("#keep-duplicate").get_by_label("메모").fill(KEEP_NOTE)
    organiser.get_by_role("button", name="이 추천으로 지원").click()
    expect(status(organiser)).to_contain_text("이 추천으로 지원합니다. 같은 가구의 다른 추천 1건은 중복으로 제외했습니다.")
    accept = organiser.get_by_role("form", name="선정", exact=True)
    accept.get_by_role("button", name="선정", exact=True).click()
    expect(status(organiser)).to_contain_text("'선정' 처리했습니다.")
    expect(organiser.locator("#nomination-status")).to_contain_text("선정")

    # the campaign page: one selected, one rejected as a duplicate, no open flag left
    organiser.get_by_role("link", name="← 캠페인").click()
    expect(organiser.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(_row_of(table, HALLA).get_by_role("cell").nth(4)).to_have_text("선정")
    expect(_row_of(table, HALLIM).get_by_role("cell").nth(4)).to_have_text("제외 중복 추천")
    expect(table.locator(".campaign-flag")).to_have_count(0)
    expect(organiser.locator("#campaign-summary")).to_contain_text("확인이 필요한 점검 결과0건")

    # -- 5. allocation: 0 units refused (summary focused, value kept), then 확정 ----------------------
    units = organiser.get_by_label(f"{NOMINEE_INITIAL} 배정 수량")
    expect(units).to_have_value("1")
    units.fill("0")
    organiser.get_by_role("button", name="배분 확정").click()
    summary = organiser.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("배정 수량: 배정 수량은 1 이상이어야 합니다.")
    units = organiser.get_by_label(f"{NOMINEE_INITIAL} 배정 수량")
    expect(units).to_have_value("0")
    expect(units).to_have_attribute("aria-invalid", "true")
    expect(organiser.get_by_role("list", name="진행 단계").locator("[aria-current=step]")).to_have_text("검토")
    summary.get_by_role("link").click()
    expect(units).to_be_focused()
    units.fill("1")
    organiser.get_by_role("button", name="배분 확정").click()
    expect(status(organiser)).to_contain_text("배분을 확정했습니다: 1가구, 1상자. 추천 기관마다 결과를 알렸습니다.")
    expect(organiser.get_by_role("list", name="진행 단계").locator("[aria-current=step]")).to_have_text("확정")
    expect(_row_of(table, HALLA).get_by_role("cell").last).to_have_text(f"1{UNIT} · 지급 전")

    # -- 6. each agency: its own result, told, nothing of the other ----------------------------------
    for page, other, other_reason, summary_text, result in (
            (halla, HALLIM, HALLIM_REASON, "선정 1가구, 제외 0가구", f"1{UNIT} 배정 · 지급 전"),
            (hallim, HALLA, HALLA_REASON, "선정 0가구, 제외 1가구", "중복 추천")):
        told = _notices(page).filter(has_text=f"자원배분 추천 결과가 확정되었습니다 (주관: {CITY})")
        expect(told).to_have_count(1)
        expect(told).to_contain_text(summary_text)
        expect(told).not_to_contain_text(NOMINEE)
        _read(told)
        told.get_by_role("link", name=re.compile("^열기")).click()
        _agency_sees_its_result(page, other=other, other_reason=other_reason,
                                summary=f"배분이 확정되었습니다. 우리 기관 추천 중 {summary_text}입니다.", result=result)
    # 한림읍's nomination: rejected as a duplicate, and still no word of who was chosen
    hallim.get_by_role("table", name="우리 기관 추천 1건").get_by_role("link", name=NOMINEE).click()
    expect(hallim.locator("#nomination-status")).to_contain_text("제외")
    reject = hallim.locator("#nominee-details div").filter(has=hallim.locator("dt", has_text="제외 사유"))
    expect(reject.locator("dd")).to_have_text("중복 추천")
    for secret in (HALLA, HALLA_REASON, KEEP_NOTE):
        expect(hallim.get_by_role("main")).not_to_contain_text(secret)

    # -- 7. the organiser's figures, then a tenant that was never invited ---------------------------
    organiser.get_by_role("main").get_by_role("link", name="통계", exact=True).click()
    expect(organiser.get_by_role("heading", level=1)).to_have_text(f"{TITLE} 통계")
    sign_out(organiser)
    sign_in(OUTSIDER)
    expect(organiser.get_by_role("heading", level=1)).to_have_text(CARE_HOME)
    for path in (campaign_path, halla_nomination_path):
        journeys.not_found(organiser, path)
        expect(organiser.get_by_role("main")).not_to_contain_text(TITLE)
        expect(organiser.get_by_role("main")).not_to_contain_text(NOMINEE)
    return {"campaign": campaign_path, "halla_nomination": halla_nomination_path}
