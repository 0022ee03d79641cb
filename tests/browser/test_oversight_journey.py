"""Journey (issue 7): a municipal inspector records a regular inspection of a care home with two
findings, each requiring a corrective action; the care home answers one with a text and a PDF;
the inspector accepts it; the other runs past its due date and both sides see it overdue; an NGO
gets 404 on every address of it — in real Chromium, by accessible names.

Three people, each in a browser of their own: 문점검 of 제주시청 (inspector@jejucity.demo:
inspector), 홍시설 of 한라요양원 (admin@carehome.demo: tenant_admin, a facility tenant) and 오나눔 of
제주나눔푸드뱅크 (registrar@foodbank.demo, an NGO). The live server loads the registry only (not
`flask demo oversight`), so the inspector registers the care home as a facility of 제주시 linked
to its 하나로 tenant, and copies the platform's default checklist, through the screens — unless
an earlier journey of the same live server already did, then it uses them.

"Overdue" needs days to pass. The live server runs in this process (a thread of the test
session), and every oversight rule reads the date through ``hanaro.core.clock.today``; the
journey moves that clock forward with ``monkeypatch`` (as tests/test_cases_lifecycle.py does), so
the server itself — not a database edit — finds the second action past its due date.
"""
from __future__ import annotations

import re
from datetime import date, timedelta

try:
    from playwright.sync_api import expect
except ImportError:  # conftest skips the folder (or fails it under HANARO_REQUIRE_SERVICES=1)
    expect = None

from . import journeys
from .journeys import menu, path_of, sign_out, status, tick

INSPECTOR = "inspector@jejucity.demo"  # 문점검: 제주시청 (inspector)
INSPECTOR_NAME = "문점검"
FACILITY_ADMIN = "admin@carehome.demo"  # 홍시설: 한라요양원 (tenant_admin)
FACILITY_ADMIN_NAME = "홍시설"
NGO_ADMIN = "registrar@foodbank.demo"  # 오나눔: 제주나눔푸드뱅크
CITY = "제주시청"
CARE_HOME = "한라요양원"  # the tenant, and the facility record's name
NGO = "제주나눔푸드뱅크"

FACILITY_TYPE = "노인복지시설"
OPERATOR = "사회복지법인 한라복지재단"
LICENCE = "제주시-노인요양-2019-07"
ADDRESS = "제주특별자치도 제주시 한림읍 한림로 321"
DONG = "한림읍"
DEFAULT_CHECKLIST = f"기본: {FACILITY_TYPE} 지도점검표 (기본)"
CHECKLIST = "노인요양시설 정기점검표 (제주시)"
CHECKLIST_ITEMS = 18  # the default for 노인복지시설: 15 common items, 급식, 2 of its own

FIRE_ITEM = "소방시설 자체점검과 소방훈련을 하고 기록을 보관하는가"  # 시설안전
MEALS_ITEM = "영양사가 확인한 식단을 게시하고 보존식을 144시간 보관하는가"  # 급식·위생
FIRE_NOTE = "상반기 소방훈련 기록 없음, 소방시설 자체점검표 미비치"
MEALS_NOTE = "보존식 냉동고에 48시간분만 보관"
FIRE_FINDING = "상반기 소방훈련을 실시하지 않았고 소방시설 자체점검 기록을 보관하지 않음"
FIRE_REQUIREMENT = "소방훈련을 실시하고 자체점검 결과와 훈련 결과 보고서를 제출하세요."
MEALS_FINDING = "보존식을 144시간 보관하지 않음 (48시간분만 보관)"
MEALS_REQUIREMENT = "보존식을 144시간 이상 -18℃ 이하로 보관하고 보관 대장 사본을 제출하세요."
SUMMARY = "운영 전반은 양호하나 소방훈련과 보존식 관리의 보완이 필요함."
ANSWER = "6월 12일 야간 화재 대피 훈련을 실시했고, 소방시설 자체점검을 전문업체에 맡겨 결과를 받았습니다."
EVIDENCE = "소방훈련-결과보고서.pdf"
ACCEPT_NOTE = "훈련 결과 보고서와 자체점검 결과를 확인함."

FIRE_DUE_DAYS = 14
MEALS_DUE_DAYS = 3  # due soon
DAYS_LATER = 5  # the clock moves on: the 급식 action is 2 days overdue


def _pdf() -> bytes:
    """A small, valid one-page PDF: what a facility would scan, only smaller."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_inspection_findings_one_answered_and_accepted_the_other_overdue(request, page, sign_in, browser,
                                                                          live_server, live_app, monkeypatch):
    from hanaro.core import clock

    inspector, inspector_log = page, page.browser_log
    typed = []  # addresses the NGO types in, answered 404 on purpose

    def move_clock(days: int) -> None:
        later = clock.today() + timedelta(days=days)
        monkeypatch.setattr(clock, "today", lambda: later)

    with journeys.another_person(browser, live_server, request, "facility") as (facility, facility_log), \
            journeys.another_person(browser, live_server, request, "ngo") as (ngo, ngo_log):
        _journey(inspector, facility, ngo, sign_in, clock.today(), move_clock, typed)

    inspector_problems = inspector_log.problems(allow=(
        *journeys.answered_on_purpose("POST", "/oversight/facilities/new", 422),  # the registration without details
        *journeys.answered_on_purpose("POST", r"/oversight/inspections/[\w-]+/findings", 422),  # no description
    ))
    facility_problems = facility_log.problems(allow=journeys.answered_on_purpose(  # an answer without a text
        "POST", r"/oversight/actions/[\w-]+/answer", 422))
    ngo_problems = ngo_log.problems(allow=tuple(
        pattern for path in typed for pattern in journeys.answered_on_purpose("GET", re.escape(path), 404)))
    problems = ([f"inspector: {p}" for p in inspector_problems] + [f"facility: {p}" for p in facility_problems]
                + [f"ngo: {p}" for p in ngo_problems])
    assert not problems, "the browser saw:\n" + "\n".join(problems)
    assert live_app.server_errors == []


def _journey(inspector, facility, ngo, sign_in, today: date, move_clock, typed: list) -> None:
    fire_due = (today + timedelta(days=FIRE_DUE_DAYS)).isoformat()
    meals_due = (today + timedelta(days=MEALS_DUE_DAYS)).isoformat()

    # -- 1. the inspector: the care home as a facility of 제주시, linked to its 하나로 tenant --------
    sign_in(INSPECTOR)
    expect(inspector.get_by_role("heading", level=1)).to_have_text(CITY)
    menu(inspector).get_by_role("link", name="지도점검", exact=True).click()
    expect(inspector.get_by_role("heading", level=1)).to_have_text("지도점검")
    listed = inspector.locator("#facility-results").get_by_role("link", name=CARE_HOME, exact=True)
    if listed.count():  # an earlier journey on this live server registered it
        listed.click()
    else:
        _register_facility(inspector)
    expect(inspector.get_by_role("heading", level=1)).to_contain_text(CARE_HOME)
    details = inspector.locator("#details-title + dl")
    expect(details.locator("div", has=inspector.locator("dt", has_text="하나로 이용")).locator("dd")).to_have_text(
        CARE_HOME)
    facility_path = path_of(inspector)

    # -- 2. a checklist of 제주시's own (a copy of the platform default), then the inspection -------
    _checklist(inspector)
    journeys.goto(inspector, facility_path)
    inspector.get_by_role("link", name="점검 계획", exact=True).click()
    expect(inspector.get_by_role("heading", level=1)).to_have_text("점검 계획")
    tick(inspector.get_by_role("group", name=re.compile("^점검 종류")).get_by_label("정기 점검", exact=True))
    inspector.get_by_label("점검 예정일").fill(today.isoformat())
    expect(inspector.get_by_role("group", name=re.compile("^점검자")).get_by_label(INSPECTOR_NAME, exact=True)
           ).to_be_checked()  # the inspector themself, by default
    inspector.get_by_label("점검표").select_option(label=CHECKLIST)
    inspector.get_by_role("button", name="점검 계획", exact=True).click()
    expect(inspector.get_by_role("heading", level=1)).to_have_text(f"{CARE_HOME} 정기 점검")
    expect(status(inspector)).to_contain_text("정기 점검을 계획했습니다. 시설에 일정을 알렸습니다.")
    expect(inspector.locator("#inspection-state")).to_contain_text("상태: 계획")
    inspection_path = path_of(inspector)

    # 점검 시작 on the day (the date offered is today)
    expect(inspector.get_by_label("점검 실시일")).to_have_value(today.isoformat())
    inspector.get_by_role("button", name="점검 시작").click()
    expect(status(inspector)).to_contain_text("점검을 시작했습니다")
    expect(inspector.locator("#inspection-state")).to_contain_text("상태: 실시")

    # a result for every item: 부적합 with a note for two, 적합 for the others
    items = inspector.locator(".checklist-form .checklist-item")
    expect(items).to_have_count(CHECKLIST_ITEMS)
    notes = {FIRE_ITEM: FIRE_NOTE, MEALS_ITEM: MEALS_NOTE}
    for item in items.all():
        legend = item.locator("legend").inner_text()
        text = next((t for t in notes if t in legend), None)
        tick(item.get_by_label("부적합" if text else "적합", exact=True))
        if text:
            item.get_by_label(re.compile(r"^메모 \(\d+번 항목\)")).fill(notes[text])
    inspector.get_by_role("button", name="점검 결과 저장").click()
    expect(status(inspector)).to_contain_text(
        f"점검 결과를 저장했습니다 (결과를 입력한 항목 {CHECKLIST_ITEMS} / {CHECKLIST_ITEMS}개).")
    expect(inspector.locator("#checklist-title")).to_contain_text(
        f"결과 입력 {CHECKLIST_ITEMS} / {CHECKLIST_ITEMS}")

    # a finding without its description is refused next to the field, with what was typed kept
    form = inspector.locator("#finding-form")
    fire_option = _item_option(inspector, FIRE_ITEM)
    form.get_by_label("점검 항목").select_option(label=fire_option)
    form.get_by_label("시정할 내용").fill(FIRE_REQUIREMENT)
    form.get_by_label("조치 기한").fill(fire_due)
    form.get_by_role("button", name="지적사항 기록").click()
    form = inspector.locator("#finding-form")
    _error_summary_has_focus(inspector, "저장하지 못했습니다. 아래 표시한 입력 내용을 확인하세요.")
    expect(form.get_by_label("시정할 내용")).to_have_value(FIRE_REQUIREMENT)
    expect(form.get_by_label("조치 기한")).to_have_value(fire_due)
    expect(form.get_by_label("점검 항목")).to_have_value(fire_option.split(".", 1)[0])
    expect(inspector.locator("#finding-list")).to_have_count(0)  # nothing recorded
    _described_by_its_message(inspector, form.get_by_label("지적 내용"), "지적 내용을 입력하세요.")

    # two findings, each requiring a corrective action: 14 days, and due soon
    _record_finding(inspector, FIRE_ITEM, FIRE_FINDING, FIRE_REQUIREMENT, fire_due, refused_before=True)
    _record_finding(inspector, MEALS_ITEM, MEALS_FINDING, MEALS_REQUIREMENT, meals_due)
    findings = inspector.locator("#finding-list > li")
    expect(findings).to_have_count(2)
    fire_path = _action_link(inspector, FIRE_FINDING)
    meals_path = _action_link(inspector, MEALS_FINDING)

    inspector.get_by_label("총평").fill(SUMMARY)
    inspector.get_by_role("button", name="점검 완료").click()
    expect(status(inspector)).to_contain_text("점검을 완료했습니다. 시설에 결과를 알렸습니다.")
    expect(inspector.locator("#inspection-state")).to_contain_text("상태: 완료")
    expect(inspector.locator("#inspection-state")).to_contain_text("미이행 시정 요구 2건")

    # the printable report: the counts and both findings with their actions
    inspector.get_by_role("link", name="점검 결과서 (인쇄용)").click()
    expect(inspector.get_by_role("heading", level=1)).to_have_text("지도점검 결과서")
    counts = inspector.locator("#report-count-table tbody td")
    expect(counts).to_have_text([str(CHECKLIST_ITEMS), str(CHECKLIST_ITEMS - 2), "2", "0", "0", "2", "2", "2"])
    rows = inspector.locator("#report-finding-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).get_by_role("cell")).to_have_text(
        ["1", "시설안전", FIRE_FINDING, FIRE_REQUIREMENT, fire_due, "조치 요구"])
    expect(rows.nth(1).get_by_role("cell")).to_have_text(
        ["2", "급식·위생", MEALS_FINDING, MEALS_REQUIREMENT, meals_due, "조치 요구"])
    expect(inspector.locator(".report-summary")).to_have_text(SUMMARY)
    report_path = path_of(inspector)
    inspector.get_by_role("link", name="← 점검 화면으로").click()
    expect(inspector.get_by_role("heading", level=1)).to_have_text(f"{CARE_HOME} 정기 점검")

    # -- 3. the care home: its open corrective actions; it answers the 소방 one with a PDF ----------
    journeys.sign_in(facility, FACILITY_ADMIN)
    expect(facility.get_by_role("heading", level=1)).to_have_text(CARE_HOME)
    _notice(facility, inspection_path, f"지도점검 결과가 통보되었습니다 ({CITY}, {today.isoformat()}, 시정 요구 2건)")
    menu(facility).get_by_role("link", name="지도점검", exact=True).click()
    facility.wait_for_url(re.compile(re.escape(facility_path) + "$"))  # straight to its own page
    expect(facility.get_by_role("heading", level=1)).to_contain_text(f"{CARE_HOME} {FACILITY_TYPE}")
    fire_row, meals_row = _open_action_row(facility, fire_path), _open_action_row(facility, meals_path)
    expect(fire_row.get_by_role("rowheader")).to_have_text(f"시설안전 · {FIRE_FINDING}")
    expect(fire_row.get_by_role("cell")).to_have_text([FIRE_REQUIREMENT, fire_due, "조치 요구"])
    expect(meals_row.get_by_role("rowheader")).to_have_text(f"급식·위생 · {MEALS_FINDING}")
    expect(meals_row.get_by_role("cell")).to_have_text([MEALS_REQUIREMENT, meals_due, "조치 요구"])
    expect(fire_row.get_by_text("기한 지남")).to_have_count(0)
    expect(meals_row.get_by_text("기한 지남")).to_have_count(0)
    fire_row.get_by_role("link").click()
    facility.wait_for_url(re.compile(re.escape(fire_path) + "$"))
    expect(facility.get_by_role("heading", level=1)).to_have_text(f"시정 요구: {FIRE_FINDING}")
    expect(facility.locator("#action-state")).to_contain_text("상태: 조치 요구")

    # sent without a text: refused next to the field, the file to choose again
    answer = facility.get_by_role("form", name="조치 결과 제출")
    answer.get_by_label("증빙 파일").set_input_files(
        {"name": EVIDENCE, "mimeType": "application/pdf", "buffer": _pdf()})
    answer.get_by_role("button", name="조치 결과 제출").click()
    answer = facility.get_by_role("form", name="조치 결과 제출")
    _error_summary_has_focus(facility, "처리하지 못했습니다. 아래 표시한 입력 내용을 확인하세요.")
    _described_by_its_message(facility, answer.get_by_label("조치한 내용"), "어떻게 조치했는지 입력하세요.")
    expect(answer.get_by_text("보안을 위해 고른 파일은 다시 골라야 합니다.")).to_be_visible()
    expect(facility.locator("#action-state")).to_contain_text("상태: 조치 요구")

    answer.get_by_label("조치한 내용").fill(ANSWER)
    answer.get_by_label("증빙 파일").set_input_files(
        {"name": EVIDENCE, "mimeType": "application/pdf", "buffer": _pdf()})
    answer.get_by_role("button", name="조치 결과 제출").click()
    expect(status(facility)).to_contain_text("조치 결과를 제출했습니다. 지도점검 담당자가 확인합니다.")
    expect(facility.locator("#action-state")).to_contain_text("상태: 조치 결과 검토 중")
    expect(facility.get_by_text("제출한 조치 결과를 지도점검 담당자가 검토하고 있습니다.")).to_be_visible()
    expect(facility.get_by_role("form", name="조치 결과 제출")).to_have_count(0)
    latest = _history(facility).last.get_by_role("cell")
    expect(latest.nth(1)).to_have_text(CARE_HOME)
    expect(latest.nth(2)).to_have_text(FACILITY_ADMIN_NAME)
    expect(latest.nth(4)).to_have_text("조치 요구 → 조치 결과 검토 중")
    expect(latest.nth(5)).to_have_text(ANSWER)
    expect(latest.nth(6)).to_contain_text(EVIDENCE)

    # -- the inspector: told in 알림, sees the answer and the PDF, accepts -------------------------
    _notice(inspector, fire_path, f"시설이 시정 조치 결과를 제출했습니다 ({CARE_HOME})").get_by_role(
        "link", name=re.compile("^열기")).click()
    expect(inspector.get_by_role("heading", level=1)).to_have_text(f"시정 요구: {FIRE_FINDING}")
    expect(inspector.locator("#action-state")).to_contain_text("상태: 조치 결과 검토 중")
    expect(inspector.locator("#latest-answer + p")).to_have_text(ANSWER)
    evidence = _history(inspector).last.get_by_role("link", name=EVIDENCE)
    downloaded = inspector.request.get(evidence.get_attribute("href"))
    assert downloaded.status == 200 and downloaded.body() == _pdf()
    assert downloaded.headers["content-type"] == "application/pdf"
    evidence_path = evidence.get_attribute("href")
    accept = inspector.get_by_role("form", name="이행 확인")
    accept.get_by_label("확인 메모").fill(ACCEPT_NOTE)
    accept.get_by_role("button", name="이행 확인").click()
    expect(status(inspector)).to_contain_text("이행 확인했습니다. 시설에 알렸습니다.")
    expect(inspector.locator("#action-state")).to_contain_text("상태: 이행 확인")
    latest = _history(inspector).last.get_by_role("cell")
    expect(latest.nth(1)).to_have_text(CITY)
    expect(latest.nth(2)).to_have_text(INSPECTOR_NAME)
    expect(latest.nth(4)).to_have_text("조치 결과 검토 중 → 이행 확인")
    expect(latest.nth(5)).to_have_text(ACCEPT_NOTE)

    # the care home is told, sees it accepted, and the 급식 action still open
    _notice(facility, fire_path, f"제출한 조치 결과가 이행 확인되었습니다 ({CITY})").get_by_role(
        "link", name=re.compile("^열기")).click()
    expect(facility.get_by_role("heading", level=1)).to_have_text(f"시정 요구: {FIRE_FINDING}")
    expect(facility.locator("#action-state")).to_contain_text("상태: 이행 확인")
    expect(_history(facility).last.get_by_role("cell").nth(5)).to_have_text(ACCEPT_NOTE)
    expect(facility.get_by_role("heading", name="처리")).to_have_count(0)  # nothing left to do
    facility.get_by_role("link", name=CARE_HOME, exact=True).click()
    expect(facility.get_by_role("heading", level=1)).to_contain_text(CARE_HOME)
    expect(_open_action_row(facility, fire_path)).to_have_count(0)
    expect(_open_action_row(facility, meals_path)).to_have_count(1)
    closed = facility.locator("details", has=facility.locator("summary", has_text="끝난 시정 요구"))
    closed.locator("summary").click()
    accepted = closed.get_by_role("listitem").filter(has=facility.locator(f'a[href="{fire_path}"]'))
    expect(accepted).to_have_text(f"시설안전 · {FIRE_FINDING} · 이행 확인")

    # -- 4. days pass: the 급식 action runs past its due date, unanswered ---------------------------
    move_clock(DAYS_LATER)
    late = f"기한 {DAYS_LATER - MEALS_DUE_DAYS}일 지남"

    # the inspector's overview: under 기한 지난 시정 요구, and on the care home's row
    menu(inspector).get_by_role("link", name="지도점검", exact=True).click()
    expect(inspector.get_by_role("heading", level=1)).to_have_text("지도점검")
    overdue = inspector.get_by_role("region", name=re.compile("^기한 지난 시정 요구"))
    listed = overdue.get_by_role("listitem").filter(has=inspector.locator(f'a[href="{meals_path}"]'))
    expect(listed).to_contain_text(f"{CARE_HOME} · 급식·위생")
    expect(listed).to_contain_text(f"기한 {meals_due}")
    expect(overdue.locator(f'a[href="{fire_path}"]')).to_have_count(0)  # accepted: never overdue
    row = inspector.locator("#facility-table tbody tr").filter(
        has=inspector.get_by_role("link", name=CARE_HOME, exact=True))
    expect(row).to_have_class(re.compile(r"\brow--overdue\b"))
    expect(row.get_by_role("cell").nth(4)).to_have_text(re.compile(r"^[1-9]\d*건$"))  # 기한 지남 (1 here, unless
    # an earlier journey on this live server left actions of its own to run out too)
    listed.get_by_role("link").click()
    expect(inspector.get_by_role("heading", level=1)).to_have_text(f"시정 요구: {MEALS_FINDING}")
    expect(inspector.locator("#action-state")).to_contain_text(late)
    expect(inspector.locator("#action-state")).to_contain_text("상태: 조치 요구")
    _overdue_in_the_list(inspector, meals_path, fire_path, late, "시정 요구")

    # the care home's page: the 급식 row flagged 기한 지남; the action page says by how much
    _reload(facility)
    meals_row = _open_action_row(facility, meals_path)
    expect(meals_row).to_have_class(re.compile(r"\brow--overdue\b"))
    expect(meals_row.get_by_role("cell").nth(1)).to_have_text(f"{meals_due} 기한 지남")
    meals_row.get_by_role("link").click()
    expect(facility.get_by_role("heading", level=1)).to_have_text(f"시정 요구: {MEALS_FINDING}")
    expect(facility.locator("#action-state")).to_contain_text(late)
    expect(facility.get_by_role("form", name="조치 결과 제출")).to_be_visible()  # it can still answer
    _overdue_in_the_list(facility, meals_path, fire_path, late, "우리 시설이 받은 시정 요구")
    sign_out(facility)

    # -- 5. an NGO: 404 on every address of the inspection and its actions -------------------------
    journeys.sign_in(ngo, NGO_ADMIN)
    expect(ngo.get_by_role("heading", level=1)).to_have_text(NGO)
    expect(menu(ngo).get_by_role("link", name="지도점검", exact=True)).to_have_count(0)
    for path in (inspection_path, report_path, fire_path, meals_path, evidence_path, facility_path):
        typed.append(path)
        journeys.not_found(ngo, path)
        expect(ngo.get_by_role("main")).not_to_contain_text(CARE_HOME)
    sign_out(ngo)


def _register_facility(page) -> None:
    """시설 등록, refused once without its details (messages next to the fields, the name kept)."""
    page.get_by_role("main").get_by_role("link", name="시설 등록").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("시설 등록")
    page.get_by_label("시설 이름").fill(CARE_HOME)
    page.get_by_role("button", name="등록", exact=True).click()
    _error_summary_has_focus(page, "저장하지 못했습니다. 아래 표시한 입력 내용을 확인하세요.")
    expect(page.get_by_label("시설 유형")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("신고·허가 번호")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("시설 이름")).to_have_value(CARE_HOME)
    expect(page.get_by_role("heading", level=1)).to_have_text("시설 등록")

    page.get_by_label("시설 유형").select_option(label=FACILITY_TYPE)
    tick(page.get_by_role("group", name=re.compile("^운영 주체 구분")).get_by_label("법인", exact=True))
    page.get_by_label("운영 주체 (법인 또는 개인) 이름").fill(OPERATOR)
    page.get_by_label("신고·허가 번호").fill(LICENCE)
    page.get_by_label("신고·허가일").fill("2019-03-15")
    page.get_by_label("정원 (명)").fill("49")
    page.get_by_label("주소").fill(ADDRESS)
    page.get_by_label("읍면동").select_option(label=DONG)
    page.get_by_label("대표 전화").fill("064-796-3120")
    page.get_by_label("하나로를 이용하는 시설 기관").select_option(label=CARE_HOME)
    page.get_by_role("button", name="등록", exact=True).click()
    expect(status(page)).to_contain_text("시설을 등록했습니다.")
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{CARE_HOME} {FACILITY_TYPE}")
    details = page.locator("#details-title + dl")
    expect(details).to_contain_text(f"{OPERATOR} (법인)")
    expect(details).to_contain_text(f"{LICENCE} · 2019-03-15")
    expect(details).to_contain_text("49명")
    expect(details).to_contain_text(f"{ADDRESS} ({DONG})")
    expect(details).to_contain_text(CITY)


def _checklist(page) -> None:
    """점검표: 제주시's own 노인복지시설 checklist, copied from the platform default unless it has one."""
    page.get_by_role("navigation", name="지도점검 메뉴").get_by_role("link", name="점검표", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("점검표")
    if page.locator("#template-table").get_by_role("link", name=CHECKLIST, exact=True).count():
        return
    copy = page.get_by_role("form", name="점검표 복사")
    copy.get_by_label("복사할 점검표").select_option(label=DEFAULT_CHECKLIST)
    copy.get_by_label("새 점검표 이름").fill(CHECKLIST)
    copy.get_by_role("button", name="복사", exact=True).click()
    expect(status(page)).to_contain_text("점검표를 복사했습니다. 이름과 항목을 고치세요.")
    page.get_by_role("navigation", name="지도점검 메뉴").get_by_role("link", name="점검표", exact=True).click()
    row = page.locator("#template-table tbody tr").filter(has=page.get_by_role("link", name=CHECKLIST, exact=True))
    expect(row.get_by_role("cell")).to_have_text([FACILITY_TYPE, str(CHECKLIST_ITEMS), "사용 중"])


def _item_option(page, text: str) -> str:
    """The finding form's option for the checklist item ``text`` ("<n>. <text>")."""
    return page.locator("#finding-item option", has_text=text).inner_text()


def _record_finding(page, item: str, description: str, requirement: str, due: str, refused_before=False) -> None:
    form = page.locator("#finding-form")
    if not refused_before:
        form.get_by_label("점검 항목").select_option(label=_item_option(page, item))
        form.get_by_label("시정할 내용").fill(requirement)
        form.get_by_label("조치 기한").fill(due)
    expect(form.get_by_label("시정 조치를 요구합니다")).to_be_checked()  # the default
    form.get_by_label("지적 내용").fill(description)
    form.get_by_role("button", name="지적사항 기록").click()
    expect(status(page)).to_contain_text(f"지적사항을 기록했습니다. 시정 요구 기한: {due}")
    card = page.locator("#finding-list > li").filter(has_text=description)
    expect(card).to_contain_text(f"시정 요구: {requirement}")
    expect(card).to_contain_text(f"조치 요구 기한 {due}")


def _notice(page, link: str, title: str):
    """알림: the notice linking to ``link``, with ``title``."""
    menu(page).get_by_role("link", name=re.compile("^알림")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("알림")
    notice = page.locator("#notification-list").get_by_role("listitem").filter(
        has=page.locator(f'a[href="{link}"]')).filter(has_text=title)
    expect(notice).to_have_count(1)
    return notice


def _overdue_in_the_list(page, late_path: str, accepted_path: str, late: str, heading: str) -> None:
    """From an action page, "← 시정 요구 목록", then its 기한 지남 filter: the late action with its
    badge, never the accepted one."""
    page.get_by_role("link", name="← 시정 요구 목록").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    filters = page.get_by_role("navigation", name="시정 요구 거르기")
    filters.get_by_role("link", name=re.compile("^기한 지남")).click()
    page.wait_for_url(re.compile(r"show=overdue"))
    expect(filters.get_by_role("link", name=re.compile("^기한 지남"))).to_have_attribute("aria-current", "true")
    row = page.locator("#action-table tbody tr").filter(has=page.locator(f'a[href="{late_path}"]'))
    expect(row).to_have_class(re.compile(r"\brow--overdue\b"))
    expect(row.get_by_role("cell").nth(4)).to_have_text(f"조치 요구 {late}")
    expect(page.locator(f'#action-table a[href="{accepted_path}"]')).to_have_count(0)


def _open_action_row(page, action_path: str):
    """The facility page's row of one open corrective action."""
    return page.locator("#open-action-table tbody tr").filter(has=page.locator(f'a[href="{action_path}"]'))


def _action_link(page, description: str) -> str:
    card = page.locator("#finding-list > li").filter(has_text=description)
    return card.get_by_role("link", name="시정 조치 보기").get_attribute("href")


def _history(page):
    return page.locator("#action-events tbody tr")


def _reload(page) -> None:
    page.wait_for_load_state("networkidle")  # a reload must not abort a request still in flight
    page.reload()


def _error_summary_has_focus(page, text: str) -> None:
    """A refused form: the page comes back at its top, so the error summary there takes the focus
    (read out, and where Tab starts) rather than leaving it on <body>."""
    summary = page.locator("#form-error")
    expect(summary).to_have_text(text)
    expect(summary).to_have_attribute("role", "alert")
    expect(summary).to_be_focused()


def _described_by_its_message(page, control, message: str) -> None:
    """The refused field is marked invalid and its message is its description (read with it)."""
    expect(control).to_have_attribute("aria-invalid", "true")
    described_by = control.get_attribute("aria-describedby").split()
    expect(page.locator(f"#{described_by[0]}")).to_have_text(message)
