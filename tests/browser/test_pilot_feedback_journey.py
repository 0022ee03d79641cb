"""Journey (issue 6): a dong centre planner in the Jeju pilot sends feedback (현장 의견) from a
referral page; the province's pilot coordinator triages it to 반영 예정 and comments; the planner
sees the status change, the comment and the "what changed" page — in real Chromium, by
accessible names.

정의뢰 of 한림읍 행정복지센터 (planner@hallim.demo, a participant of the Jeju pilot, where the
pilot_feedback switch is on for participants) and 고시범 of 제주특별자치도청
(coordinator@jeju.demo, pilot_coordinator of the coordinating tenant), each in a browser of
their own; at the end the tenant admin of 한라요양원 (admin@carehome.demo), which does not take
part, finds neither the button nor the board.

The live server loads the registry only: the planner makes the client and the referral (a draft
to 한라종합사회복지관, which needs no consent yet) through the screens.
"""
from __future__ import annotations

import re
import struct
import zlib

try:
    from playwright.sync_api import expect
except ImportError:  # conftest skips the folder (or fails it under HANARO_REQUIRE_SERVICES=1)
    expect = None

from . import journeys
from .journeys import menu, sign_out, status, tick

PLANNER = "planner@hallim.demo"  # 정의뢰: 한림읍 행정복지센터
PLANNER_NAME = "정의뢰"
COORDINATOR = "coordinator@jeju.demo"  # 고시범: 제주특별자치도청
OUTSIDER = "admin@carehome.demo"  # 홍시설: 한라요양원, not in the pilot
DONG_CENTRE = "한림읍 행정복지센터"
PROVINCE = "제주특별자치도청"
CARE_HOME = "한라요양원"
RECEIVER = "한라종합사회복지관"

CLIENT_NAME = "문옥례"
BIRTH_DATE = "1947-02-09"
SERVICE = "어르신 밑반찬 배달"
REASON = "혼자 사시며 거동이 불편해 식사를 거르시는 날이 많습니다. 주 2회 밑반찬 배달을 요청드립니다."

CATEGORY = "불편사항"
SEVERITY = "높음"
DESCRIPTION = ("의뢰를 임시 저장한 뒤 받는 기관을 바꾸려면 처음부터 다시 써야 합니다. "
               "저장한 의뢰에서 받는 기관을 고를 수 있으면 좋겠습니다.")
CARD_TEXT = DESCRIPTION[:30]  # the board and the lists show the start of it
PLANNED = "반영 예정"
DECISION = "7월 배포에서 임시 저장한 의뢰의 받는 기관을 바꿀 수 있게 고치겠습니다."
COMMENT = "비슷한 의견이 애월읍에서도 들어와 함께 검토했습니다. 배포 전에 한림읍에서 먼저 써 봐 주세요."


def _png(width: int = 4, height: int = 3) -> bytes:
    """A small, valid PNG (a red rectangle): what a planner's screenshot would be, only smaller."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def _button(page):
    return page.get_by_role("complementary", name="현장 의견").get_by_role("link", name="의견 보내기")


def _dialog(page):
    return page.get_by_role("dialog")


def _fits_on_screen(page, dialog) -> None:
    """The whole dialog box is on the screen (a longer form scrolls inside it)."""
    box, viewport = dialog.bounding_box(), page.viewport_size
    assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], (box, viewport)
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], (box, viewport)


def test_planner_sends_feedback_from_a_referral_and_sees_it_planned(request, page, sign_in, browser, live_server,
                                                                     live_app):
    planner, planner_log = page, page.browser_log
    with journeys.another_person(browser, live_server, request, "coordinator") as (coordinator, coordinator_log):
        _journey(planner, coordinator, sign_in)

    planner_problems = planner_log.problems(allow=(
        # the first try without a description, refused on purpose
        r"^response: POST /feedback 422$",
        r"^console: Failed to load resource: the server responded with a status of 422 .*\(/feedback\)$",
        # the care home's admin asking for the board at the end
        r"^response: GET /feedback/board 404$",
        r"^console: Failed to load resource: the server responded with a status of 404 .*\(/feedback/board\)$",
    ))
    problems = [f"planner: {p}" for p in planner_problems] + [f"coordinator: {p}" for p in coordinator_log.problems()]
    assert not problems, "the browser saw:\n" + "\n".join(problems)
    assert live_app.server_errors == []


def _journey(planner, coordinator, sign_in) -> None:
    # -- 1. the planner writes a referral (a draft) and is on its page ---------------------------
    sign_in(PLANNER)
    expect(planner.get_by_role("heading", level=1)).to_have_text(DONG_CENTRE)
    journeys.register_client(planner, name=CLIENT_NAME, birth_date=BIRTH_DATE, dong="한림읍")
    planner.get_by_role("link", name="서비스 의뢰하기").click()
    expect(planner.get_by_role("heading", level=1)).to_have_text("서비스 의뢰 작성")
    planner.get_by_label("받는 기관").select_option(label=RECEIVER)
    planner.get_by_label("요청 서비스").fill(SERVICE)
    planner.get_by_label("의뢰 사유").fill(REASON)
    planner.get_by_role("button", name="임시 저장").click()
    expect(planner.get_by_role("heading", level=1)).to_have_text(SERVICE)
    expect(status(planner)).to_contain_text("의뢰를 임시 저장했습니다")
    referral_url = planner.url
    referral_id = referral_url.rstrip("/").rsplit("/", 1)[-1]
    assert re.fullmatch(r".*/referrals/[\w-]+", referral_url), referral_url

    # -- 2. the feedback button: a dialog, focus inside, Esc closes it, focus back on the button ---
    button = _button(planner)
    expect(button).to_be_visible()
    expect(button).to_have_attribute("aria-haspopup", "dialog")
    button.click()
    dialog = _dialog(planner)
    expect(dialog).to_be_visible()
    expect(dialog).to_have_accessible_name("현장 의견 보내기")
    expect(dialog.get_by_role("heading", name="현장 의견 보내기")).to_be_focused()
    _fits_on_screen(planner, dialog)
    planner.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(button).to_be_focused()

    # -- 3. feedback from the referral page: the page goes along stripped of its id --------------
    button.click()
    expect(dialog).to_be_visible()
    expect(dialog.locator("#feedback-page")).to_contain_text("함께 보내는 화면 주소: /referrals/<id>")
    expect(dialog).not_to_contain_text(referral_id)
    tick(dialog.get_by_role("group", name=re.compile("^분류")).get_by_label(CATEGORY, exact=True))
    dialog.get_by_label("중요도").select_option(label=SEVERITY)
    # sent without a description: refused next to the field, the choices kept, still on the page
    dialog.get_by_role("button", name="의견 보내기").click()
    description = dialog.get_by_label("내용")
    expect(description).to_have_attribute("aria-invalid", "true")
    expect(dialog.get_by_text("의견 내용을 적어 주세요.")).to_be_visible()
    expect(description).to_be_focused()
    expect(dialog.get_by_role("group", name=re.compile("^분류")).get_by_label(CATEGORY, exact=True)).to_be_checked()
    expect(dialog.get_by_label("중요도")).to_have_value("high")
    description.fill(DESCRIPTION)
    dialog.get_by_label("화면 사진 (선택)").set_input_files(
        {"name": "referral-draft.png", "mimeType": "image/png", "buffer": _png()})
    dialog.get_by_role("button", name="의견 보내기").click()

    thanks = dialog.get_by_role("status")
    expect(thanks).to_contain_text("의견을 보냈습니다")
    expect(dialog.get_by_role("heading", name="의견을 보냈습니다")).to_be_focused()
    assert planner.url == referral_url  # never left the referral page
    expect(planner.get_by_role("heading", level=1)).to_have_text(SERVICE)
    dialog.get_by_role("button", name="닫기").click()
    expect(dialog).to_be_hidden()
    expect(button).to_be_focused()

    # -- 4. the coordinator: the card on the board, the page without personal data ----------------
    journeys.sign_in(coordinator, COORDINATOR)
    expect(coordinator.get_by_role("heading", level=1)).to_have_text(PROVINCE)
    menu(coordinator).get_by_role("link", name="시범사업", exact=True).click()
    coordinator.get_by_role("navigation", name="시범사업 메뉴").get_by_role("link", name="현장 의견 분류").click()
    expect(coordinator.get_by_role("heading", level=1)).to_have_text("의견 분류 보드")
    received = coordinator.get_by_role("region", name=re.compile("^접수"))
    card = received.get_by_role("listitem").filter(has_text=CARD_TEXT)
    expect(card).to_have_count(1)
    expect(card).to_contain_text(CATEGORY)
    expect(card).to_contain_text(f"중요도: {SEVERITY}")
    expect(card).to_contain_text(f"{DONG_CENTRE} · 한림읍 · referrals · 오늘")
    card.get_by_role("link", name=re.compile(f"^{re.escape(CARD_TEXT)}")).click()

    expect(coordinator.get_by_role("heading", level=1)).to_have_text(f"현장 의견 · {CATEGORY}")
    summary = coordinator.locator("#feedback-summary")
    expect(summary).to_contain_text(f"{DONG_CENTRE} · {PLANNER_NAME}")
    attached = summary.locator("div", has=coordinator.locator("dt", has_text="화면")).first.locator("dd")
    expect(attached).to_have_text("/referrals/<id> (서비스의뢰)")  # the path and section only
    main = coordinator.get_by_role("main")
    for private in (referral_id, CLIENT_NAME, SERVICE):  # nothing of the referral or its client
        expect(main).not_to_contain_text(private)
    expect(main).to_contain_text(DESCRIPTION)
    shot = coordinator.get_by_role("img", name="의견과 함께 보낸 화면 사진")
    expect(shot).to_be_visible()
    assert shot.evaluate("img => img.complete && img.naturalWidth") == 4

    # 반영 예정, with a word to the dong centre; then a comment
    coordinator.get_by_label("옮길 상태").select_option(label=PLANNED)
    coordinator.get_by_label("설명 (반려할 때 필수)").fill(DECISION)
    coordinator.get_by_role("button", name="상태 바꾸기").click()
    expect(status(coordinator)).to_contain_text(f"'{PLANNED}'(으)로 옮겼습니다.")
    expect(coordinator.locator("#feedback-status")).to_contain_text(PLANNED)
    coordinator.get_by_label("댓글").fill(COMMENT)
    coordinator.get_by_role("button", name="댓글 남기기").click()
    expect(status(coordinator)).to_contain_text("댓글을 남겼습니다.")
    history = coordinator.locator(".feedback-comments").get_by_role("listitem")
    expect(history).to_have_count(2)
    expect(history.nth(0)).to_contain_text(f"{PROVINCE} · 고시범 · 상태: {PLANNED}")
    expect(history.nth(0)).to_contain_text(DECISION)
    expect(history.nth(1)).to_contain_text(COMMENT)

    # the card has moved to its column
    coordinator.get_by_role("link", name="← 의견 분류 보드").click()
    expect(coordinator.get_by_role("heading", level=1)).to_have_text("의견 분류 보드")
    expect(coordinator.get_by_role("region", name=re.compile("^접수")).get_by_role("listitem")
           .filter(has_text=CARD_TEXT)).to_have_count(0)
    planned = coordinator.get_by_role("region", name=re.compile(f"^{PLANNED}"))
    expect(planned.get_by_role("listitem").filter(has_text=CARD_TEXT)).to_contain_text("댓글 2")

    # -- 5. the planner: told, and sees the status and the comments ------------------------------
    journeys.goto(planner, referral_url)  # (any page: the menu is the way in)
    menu(planner).get_by_role("link", name=re.compile("^알림")).click()
    expect(planner.get_by_role("heading", level=1)).to_have_text("알림")
    notices = planner.locator("#notification-list").get_by_role("listitem")
    moved = notices.filter(has_text=f"보낸 현장 의견의 처리 상태가 '{PLANNED}'(으)로 바뀌었습니다")
    expect(moved).to_have_count(1)
    expect(moved).to_contain_text(f"{CATEGORY} · ")  # what kind and when, never what was written
    expect(notices.filter(has_text="보낸 현장 의견에 코디네이터의 답글이 있습니다")).to_have_count(1)
    assert not any(CARD_TEXT in text for text in notices.all_inner_texts())
    moved.get_by_role("link", name=re.compile("^열기")).click()

    expect(planner.get_by_role("heading", level=1)).to_have_text("현장 의견")
    tabs = planner.get_by_role("navigation", name="의견 목록")
    expect(tabs.get_by_role("link", name="내가 보낸 의견")).to_have_attribute("aria-current", "page")
    row = planner.get_by_role("table", name=re.compile("^의견")).get_by_role("row").filter(has_text=CARD_TEXT)
    expect(row).to_have_count(1)
    cells = row.get_by_role("cell")
    expect(cells.nth(0)).to_contain_text(CATEGORY)
    expect(cells.nth(1)).to_have_text(PLANNED)
    expect(cells.nth(2)).to_have_text("/referrals/<id>")
    expect(cells.nth(4)).to_contain_text(f"{COMMENT[:40]}")  # the coordinator's latest comment
    expect(cells.nth(4)).to_contain_text(f"({PROVINCE})")

    # 반영 소식: acted on, with the coordinator's word on the decision
    tabs.get_by_role("link", name="반영 소식").click()
    expect(planner.get_by_role("heading", level=1)).to_have_text("반영 소식")
    change = planner.locator("#feedback-changes").get_by_role("listitem").filter(has_text=CARD_TEXT)
    expect(change).to_have_count(1)
    expect(change).to_contain_text(PLANNED)
    expect(change).to_contain_text(CATEGORY)
    expect(change.locator("blockquote")).to_contain_text(DECISION)
    expect(change.locator("blockquote")).to_contain_text(f"코디네이터 · {PROVINCE}")

    # the item itself: the whole history, the triage forms only for the coordinators
    change.get_by_role("link", name=re.compile(f"^{re.escape(CARD_TEXT)}")).click()
    expect(planner.get_by_role("heading", level=1)).to_have_text(f"현장 의견 · {CATEGORY}")
    expect(planner.locator("#feedback-status")).to_contain_text(PLANNED)
    expect(planner.get_by_role("main")).to_contain_text(COMMENT)
    expect(planner.get_by_role("button", name="상태 바꾸기")).to_have_count(0)

    # -- 6. a tenant outside the pilot: no button, and no board (404) ------------------------------
    sign_out(planner)
    sign_in(OUTSIDER)
    expect(planner.get_by_role("heading", level=1)).to_have_text(CARE_HOME)
    expect(planner.get_by_role("complementary", name="현장 의견")).to_have_count(0)
    response = journeys.goto(planner, "/feedback/board")
    assert response.status == 404
    expect(planner.get_by_role("main")).not_to_contain_text(CARD_TEXT)
