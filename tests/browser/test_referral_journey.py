"""Journey (issue 5): a dong centre planner finds an NGO's service for a case and sends a referral;
the NGO answers it from its inbox (waitlist, accept, start, complete with an outcome); the planner
sees each change as it happens, the completed outcome, the case timeline and the notifications —
in real Chromium, by accessible names.

Two people at once, each in a browser context of their own: the planner of 한림읍 행정복지센터
(planner@hallim.demo: referral_coordinator + case_manager) and 오나눔 of 제주나눔푸드뱅크
(registrar@foodbank.demo: resource_registrar + tenant_admin). The referral screens let
case_manager, referral_coordinator and tenant_admin answer (referrals/views.py WRITE); the food
bank has no case manager or referral coordinator among its demo users, so its tenant admin answers.

No agreement links 한림읍 and the food bank: a resource scoped "같은 광역 지역" reaches the dong
centre without one, and the referral rests on the client's consent (purpose 서비스의뢰, scope
지정한 기관: the food bank), recorded through the client's consent screen. The live server loads
the registry only; the journey makes its own resource, client, consent, case and assessment. The
need domain (경제) is one the other journeys do not use, so their searches never meet this service.
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
from .conftest import ARTIFACTS, DEMO_PASSWORD, BrowserLog, _watch
from .journeys import menu, sign_out, status, tick

PLANNER = "planner@hallim.demo"  # 정의뢰: 한림읍 행정복지센터
PLANNER_NAME = "정의뢰"
NGO_ADMIN = "registrar@foodbank.demo"  # 오나눔: 제주나눔푸드뱅크
NGO_ADMIN_NAME = "오나눔"
DONG_CENTRE = "한림읍 행정복지센터"
NGO = "제주나눔푸드뱅크"

SERVICE = "푸드뱅크 긴급 먹거리 꾸러미"
SERVICE_TEXT = "쌀·라면·통조림 등 2주분 식료품 꾸러미를 댁으로 전해 드립니다."
NEED = "경제"
REGION_LABEL = "같은 광역 지역"

CLIENT_NAME = "양복희"
CLIENT_MASKED = "양○○"
BIRTH_DATE = "1952-08-14"
CASE_TYPE = "위기가구 통합사례관리"
NEED_NOTE = "실직한 아들과 둘이 살며 소득이 끊겨 식료품 구입이 어려움"

REASON = "기초생활수급 신청 결과를 기다리는 동안 식료품 지원이 급합니다. 평일 오후에 방문 가능합니다."
WAITLIST_NOTE = "이번 주 꾸러미가 모두 나갔습니다. 다음 주 화요일 입고 뒤 드릴 수 있습니다 (대기 2번)."
OUTCOME = "식료품 꾸러미 2회 전달 완료, 다음 달부터 정기 배분 대상으로 등록했습니다."


def _today_in_seoul():
    return datetime.now(ZoneInfo("Asia/Seoul")).date()


def _age_today(birth_date: str) -> int:
    born, today = datetime.fromisoformat(birth_date).date(), _today_in_seoul()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _sign_in(page, email: str) -> None:
    """The login form, in the food bank's own browser (the ``sign_in`` fixture drives ``page``)."""
    if not page.url.endswith("/login"):
        page.goto("/login")
    page.get_by_label("이메일").fill(email)
    page.get_by_label("비밀번호").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="로그인", exact=True).click()
    page.wait_for_url(re.compile(r"/$"))


def _record_referral_consent(page, today: str) -> None:
    """From the client's page: 동의 기록, scope 지정한 기관 (the food bank), purpose 서비스의뢰."""
    page.get_by_role("link", name="동의 기록").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("정보제공 동의 기록")
    tick(page.get_by_role("group", name="동의 범위").get_by_label("지정한 기관", exact=True))
    tick(page.get_by_role("group", name=re.compile("^정보를 받을 기관")).get_by_label(NGO, exact=True))
    tick(page.get_by_role("group", name="목적", exact=True).get_by_label("서비스의뢰", exact=True))
    page.get_by_label("동의일").fill(today)
    page.get_by_label("동의서 문서번호").fill("한림-2026-동의-0814")
    page.get_by_role("button", name="동의 기록").click()
    expect(status(page)).to_contain_text("정보제공 동의를 기록했습니다")
    expect(page.get_by_role("heading", level=1)).to_have_text(CLIENT_NAME)
    consents = page.locator(".card-list")
    expect(consents).to_contain_text("지정한 기관")
    # (the card does not say which organisations a "지정한 기관" consent names: reported)
    expect(consents).to_contain_text("서비스의뢰")
    expect(consents).to_contain_text("유효")


def _history_rows(page):
    return page.get_by_role("table", name=re.compile("^진행 기록")).locator("tbody").get_by_role("row")


def _answer(page, action: str, *, note_label: str | None = None, note: str | None = None, state: str) -> None:
    """The receiver's answer form named ``action`` (a form per action, labelled by its button)."""
    form = page.get_by_role("form", name=action, exact=True)
    if note_label:
        form.get_by_label(note_label).fill(note)
    form.get_by_role("button", name=action, exact=True).click()
    expect(status(page)).to_contain_text(f"'{action}' 처리했습니다. 지금 상태: {state}")
    expect(page.locator("#referral-state")).to_contain_text(f"상태: {state}")


def _planner_sees(page, *, state: str, rows: int, last: tuple[str, str], note: str | None = None) -> None:
    """The planner reloads the referral page: the new state, and the food bank's step (action, state
    change, note) last in its history."""
    page.wait_for_load_state("networkidle")  # a reload must not abort a request still in flight
    page.reload()
    expect(page.locator("#referral-state")).to_contain_text(f"상태: {state}")
    history = _history_rows(page)
    expect(history).to_have_count(rows)
    latest = history.last.get_by_role("cell")
    expect(latest.nth(1)).to_have_text(NGO)
    expect(latest.nth(2)).to_have_text(NGO_ADMIN_NAME)
    expect(latest.nth(3)).to_have_text(last[0])
    expect(latest.nth(4)).to_have_text(last[1])
    expect(latest.nth(5)).to_have_text(note or "-")


def test_planner_refers_a_case_to_an_ngo_and_follows_it_to_completion(request, page, sign_in, browser, live_server,
                                                                      live_app):
    planner, planner_log = page, page.browser_log
    today = _today_in_seoul()
    due = (today + timedelta(days=5)).isoformat()

    # The food bank's tenant admin, in a browser of their own.
    ngo_log = BrowserLog(origin=live_server)
    ngo_context = browser.new_context(locale="ko-KR", timezone_id="Asia/Seoul", base_url=live_server)
    ngo_context.set_default_timeout(10_000)
    try:
        ngo = ngo_context.new_page()
        _watch(ngo, ngo_log)
        try:
            _journey(planner, ngo, today.isoformat(), due, sign_in)
        except BaseException:  # the conftest saves the planner's page; this is the food bank's
            ARTIFACTS.mkdir(exist_ok=True)
            try:
                ngo.screenshot(path=str(ARTIFACTS / f"failed-{request.node.name}-food-bank.png"), full_page=True)
            except Exception as error:  # noqa: BLE001 - a screenshot must not hide the failure
                print(f"could not save the food bank's failure screenshot: {error}")
            raise
    finally:
        ngo_context.close()

    refused = r"/referrals/[\w-]+/complete"  # 완료 without an outcome, answered 422 on purpose
    ngo_problems = ngo_log.problems(allow=(
        rf"^response: POST {refused} 422$",
        rf"^console: Failed to load resource: the server responded with a status of 422 .*\({refused}\)$",
    ))
    problems = [f"planner: {p}" for p in planner_log.problems()] + [f"food bank: {p}" for p in ngo_problems]
    assert not problems, "the browser saw:\n" + "\n".join(problems)
    assert live_app.server_errors == []


def _journey(planner, ngo, today: str, due: str, sign_in) -> None:
    # -- 1. the food bank registers a service the whole province can find ------------------------
    _sign_in(ngo, NGO_ADMIN)
    expect(ngo.get_by_role("heading", level=1)).to_have_text(NGO)
    journeys.register_resource(ngo, name=SERVICE, description=SERVICE_TEXT, need=NEED, scope=REGION_LABEL,
                               staff_scope=REGION_LABEL, direct_phone="010-3382-5071", public_phone="064-710-2041")

    # -- 2. the planner: client, referral consent, case, assessment ------------------------------
    sign_in(PLANNER)
    expect(planner.get_by_role("heading", level=1)).to_have_text(DONG_CENTRE)
    journeys.register_client(planner, name=CLIENT_NAME, birth_date=BIRTH_DATE, dong="한림읍")
    _record_referral_consent(planner, today)
    journeys.open_case(planner, client_name=CLIENT_NAME, case_type=CASE_TYPE)
    journeys.assess_need(planner, need=NEED, level="높음", note=NEED_NOTE)

    # finds the food bank's service for the case and refers the client to it
    results = journeys.find_resources(planner, need=NEED)
    found = results.filter(has=planner.get_by_role("link", name=SERVICE, exact=True))
    expect(found).to_have_count(1)
    expect(found).to_contain_text(NGO)
    expect(found).to_contain_text("욕구 영역 일치 1개")
    found.get_by_role("link", name=f"의뢰하기 ({SERVICE})").click()
    expect(planner.get_by_role("heading", level=1)).to_have_text("서비스 의뢰 작성")
    subject = planner.locator("#referral-subject")
    expect(subject).to_contain_text(f"{CLIENT_NAME} · {CASE_TYPE}")
    expect(subject).to_contain_text(SERVICE)
    expect(subject).to_contain_text(NGO)
    expect(planner.get_by_label("요청 서비스")).to_have_value(SERVICE)
    planner.get_by_label("의뢰 사유").fill(REASON)
    tick(planner.get_by_role("group", name="긴급도").get_by_label("우선", exact=True))
    planner.get_by_label("응답 기한").fill(due)
    shared = planner.get_by_role("group", name="받는 기관에 보낼 대상자 정보")
    for field in ("이름", "나이", "성별", "거주 읍면동", "욕구 조사 결과"):  # the defaults
        expect(shared.get_by_label(field, exact=True)).to_be_checked()
    expect(shared.get_by_label("연락처", exact=True)).not_to_be_checked()
    planner.get_by_role("button", name="보내기", exact=True).click()

    expect(planner.get_by_role("heading", level=1)).to_have_text(SERVICE)
    expect(status(planner)).to_contain_text(f"{NGO}에 의뢰를 보냈습니다. 응답 기한: {due}")
    expect(planner.locator("#referral-state")).to_contain_text("상태: 보냄 (응답 대기)")
    expect(planner.locator("#referral-state")).to_contain_text("긴급도: 우선")
    referral_path = re.sub(r"^https?://[^/]+", "", planner.url)

    # 보낸 의뢰: the planner's own client, by name
    menu(planner).get_by_role("link", name="서비스의뢰", exact=True).click()
    planner.get_by_role("navigation", name="의뢰 목록").get_by_role("link", name="보낸 의뢰").click()
    planner.wait_for_url(re.compile(r"box=outbox"))
    row = planner.get_by_role("table", name=re.compile("^보낸 의뢰")).get_by_role("row", name=re.compile(SERVICE))
    expect(row).to_have_count(1)
    cells = row.get_by_role("cell")
    expect(cells.nth(0)).to_have_text(NGO)
    expect(cells.nth(1)).to_have_text(CLIENT_NAME)
    expect(cells.nth(2)).to_have_text("우선")
    expect(cells.nth(3)).to_have_text(due)
    expect(cells.nth(4)).to_have_text("보냄 (응답 대기)")
    row.get_by_role("link", name=SERVICE).click()
    expect(planner.get_by_role("heading", level=1)).to_have_text(SERVICE)

    # -- 3. the food bank: 받은 의뢰, with the client's initial only -------------------------------
    menu(ngo).get_by_role("link", name="서비스의뢰", exact=True).click()
    boxes = ngo.get_by_role("navigation", name="의뢰 목록")
    expect(boxes.get_by_role("link", name=re.compile("^받은 의뢰"))).to_have_attribute("aria-current", "page")
    expect(boxes.get_by_role("link", name=re.compile("^받은 의뢰"))).to_contain_text("응답 대기 1건")
    inbox = ngo.get_by_role("table", name=re.compile("^받은 의뢰"))
    row = inbox.get_by_role("row", name=re.compile(SERVICE))
    expect(row).to_have_count(1)
    cells = row.get_by_role("cell")
    expect(cells.nth(0)).to_have_text(DONG_CENTRE)
    expect(cells.nth(1)).to_have_text(CLIENT_MASKED)
    expect(cells.nth(2)).to_have_text("우선")
    expect(cells.nth(4)).to_have_text("보냄 (응답 대기)")
    expect(inbox).not_to_contain_text(CLIENT_NAME)

    # the referral page: the client data frozen at sending, and what was asked
    row.get_by_role("link", name=SERVICE).click()
    expect(ngo.get_by_role("heading", level=1)).to_have_text(SERVICE)
    expect(ngo.locator("#referral-state")).to_contain_text("받은 의뢰")
    summary = ngo.locator("#referral-summary")
    expect(summary).to_contain_text(f"{DONG_CENTRE} · {PLANNER_NAME}")
    expect(summary).to_contain_text(due)
    expect(ngo.get_by_role("main")).to_contain_text(REASON)
    client_data = ngo.locator("#shared-client")
    expect(client_data).to_have_attribute("aria-label", "받는 기관에 보낸 대상자 정보")
    age = _age_today(BIRTH_DATE)
    for label, value in (("이름", CLIENT_NAME), ("나이", f"만 {age}세"), ("성별", "여"), ("거주 읍면동", "한림읍"),
                         ("욕구 조사 결과", f"{NEED} (높음)")):
        expect(client_data.locator("div").filter(has=ngo.locator("dt", has_text=label))
               .locator("dd")).to_have_text(value)
    expect(client_data).not_to_contain_text(NEED_NOTE)  # levels only, not the assessment's notes
    expect(ngo.get_by_role("link", name=CLIENT_NAME)).to_have_count(0)  # no way into the dong centre's records

    # 대기 등록 with a note; the planner sees it
    expect(ngo.get_by_role("button", name="서비스 시작")).to_have_count(0)  # not before accepting
    _answer(ngo, "대기 등록", note_label="대기 안내", note=WAITLIST_NOTE, state="대기 등록")
    expect(ngo.locator("#referral-summary")).to_contain_text(WAITLIST_NOTE)
    _planner_sees(planner, state="대기 등록", rows=2, last=("대기 등록", "보냄 (응답 대기) → 대기 등록"), note=WAITLIST_NOTE)
    expect(planner.locator("#referral-summary").locator("div", has=planner.locator("dt", has_text="답변 메모"))
           ).to_contain_text(WAITLIST_NOTE)
    expect(planner.get_by_role("button", name="수락")).to_have_count(0)  # the receiver's answers only

    # 수락, then 서비스 시작
    _answer(ngo, "수락", state="수락")
    _planner_sees(planner, state="수락", rows=3, last=("수락", "대기 등록 → 수락"))
    _answer(ngo, "서비스 시작", state="서비스 제공 중")
    _planner_sees(planner, state="서비스 제공 중", rows=4, last=("서비스 시작", "수락 → 서비스 제공 중"))

    # 완료 needs an outcome: refused without one (422, the input kept), then done
    complete = ngo.get_by_role("form", name="완료", exact=True)
    complete.get_by_role("button", name="완료", exact=True).click()
    outcome = ngo.get_by_role("form", name="완료", exact=True).get_by_label("서비스 결과")
    expect(outcome).to_have_attribute("aria-invalid", "true")
    expect(ngo.get_by_text("결과를 입력하세요.")).to_be_visible()
    expect(ngo.locator("#referral-state")).to_contain_text("상태: 서비스 제공 중")
    _answer(ngo, "완료", note_label="서비스 결과", note=OUTCOME, state="완료")
    expect(ngo.get_by_role("heading", name="처리")).to_have_count(0)  # nothing left to answer
    sign_out(ngo)

    # -- 4. the planner: completed, with the outcome and the whole history ------------------------
    _planner_sees(planner, state="완료", rows=5, last=("완료", "서비스 제공 중 → 완료"), note=OUTCOME)
    expect(planner.locator("#referral-summary").locator("div", has=planner.locator("dt", has_text="서비스 결과"))
           ).to_contain_text(OUTCOME)
    history = _history_rows(planner)
    expect(history.nth(0).get_by_role("cell").nth(1)).to_have_text(DONG_CENTRE)  # the planner sent it
    expect(history.nth(0).get_by_role("cell").nth(2)).to_have_text(PLANNER_NAME)
    expect(history.nth(0).get_by_role("cell").nth(3)).to_have_text("보내기")
    expect(history.get_by_role("cell", name=NGO, exact=True)).to_have_count(4)  # every answer: the food bank

    # 알림: each answer, addressed to the planner, linking to the referral
    menu(planner).get_by_role("link", name=re.compile("^알림")).click()
    expect(planner.get_by_role("heading", level=1)).to_have_text("알림")
    notices = planner.locator("#notification-list").get_by_role("listitem")
    for title in ("보낸 의뢰가 대기 등록되었습니다", "보낸 의뢰가 수락되었습니다", "의뢰한 서비스 제공이 시작되었습니다",
                  "의뢰한 서비스가 완료되었습니다"):
        notice = notices.filter(has_text=f"{title} (받은 기관: {NGO})")
        expect(notice).to_have_count(1)
        expect(notice.get_by_role("link", name=re.compile("^열기"))).to_have_attribute("href", referral_path)
    assert not any(CLIENT_NAME in text for text in notices.all_inner_texts())  # organisations only, no names
    notices.filter(has_text="의뢰한 서비스가 완료되었습니다").get_by_role("link", name=re.compile("^열기")).click()
    expect(planner.get_by_role("heading", level=1)).to_have_text(SERVICE)
    expect(planner.locator("#referral-state")).to_contain_text("상태: 완료")

    # the case: its referral section, and the timeline with every step
    planner.get_by_role("main").get_by_role("link", name=CASE_TYPE, exact=True).click()
    expect(planner.get_by_role("heading", level=1)).to_have_text(CLIENT_NAME)
    section = planner.get_by_role("region", name="서비스의뢰")
    expect(section.get_by_role("link", name=SERVICE)).to_be_visible()
    expect(section.get_by_role("listitem")).to_contain_text(f"→ {NGO} · 완료")
    tabs = planner.get_by_role("navigation", name="사례 메뉴")
    tabs.get_by_role("link", name="타임라인").click()
    expect(tabs.get_by_role("link", name="타임라인")).to_have_attribute("aria-current", "page")
    planner.get_by_label("종류").select_option(label="서비스의뢰")  # filters itself (htmx)
    planner.wait_for_url(re.compile(r"kind=referral"))
    entries = planner.locator("#timeline-list").get_by_role("listitem")
    expected = [  # newest first
        ("의뢰 서비스 완료", NGO, f"{SERVICE} → {NGO} · 완료 · {OUTCOME}"),
        ("의뢰 서비스 시작", NGO, f"{SERVICE} → {NGO} · 서비스 제공 중"),
        ("의뢰 수락", NGO, f"{SERVICE} → {NGO} · 수락"),
        ("의뢰 대기 등록", NGO, f"{SERVICE} → {NGO} · 대기 등록 · {WAITLIST_NOTE}"),
        ("서비스의뢰 보냄", DONG_CENTRE, f"{SERVICE} → {NGO} · 보냄 (응답 대기)"),
    ]
    expect(entries).to_have_count(len(expected))
    for entry, (label, tenant, summary) in zip(entries.all(), expected):
        expect(entry.locator("strong")).to_have_text(label)
        expect(entry).to_contain_text(f"{label}: {summary}")
        expect(entry.locator(".meta")).to_contain_text(tenant)
