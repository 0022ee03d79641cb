"""Feedback from the field (현장 의견): the button for pilot tenants only, sending with htmx and
without, the page stripped of personal data, screenshots, who sees what, the triage board with its
transitions, merges and bulk moves, concurrent changes, what changed, the export and notices."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import func, select, update

from hanaro.core import clock
from hanaro.core.db import db
from hanaro.core.rules import RuleViolation
from hanaro.notifications.kinds import KINDS
from hanaro.notifications.models import Notification
from hanaro.pilots import feedback as service
from hanaro.pilots.models import (
    FeatureSwitch, Feedback, FeedbackComment, FeedbackStatus, Participant, Phase, PhasePeriod, SwitchState, Workspace,
)
from hanaro.tenancy.context import acting_as
from hanaro.tenancy.models import RegionLevel, TenantKind

from .helpers import login

TODAY = clock.today()
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 64
GIF = b"GIF89a" + b"\x00" * 64
ID_A = "AbCdEfGh12345678"  # looks like a public id (16 URL-safe characters)
ID_B = "Zy_-9876xwVUtsrq"


class World:
    """A province coordinating a workspace; a dong centre and a welfare centre taking part; an
    outsider tenant not in the pilot. The pilot_feedback switch is on for the workspace."""

    def __init__(self, app, make):
        self.app, self.make = app, make
        province = make.region("9600000000", "의견도", RegionLevel.PROVINCE)
        self.dong_a = make.region(name="한림동", parent_code=province.code)
        self.dong_b = make.region(name="남원동", parent_code=province.code)
        self.province = make.tenant(name="의견도청", kind=TenantKind.PROVINCE, region=province)
        self.dong = make.tenant(name="한림동 행정복지센터", kind=TenantKind.DONG_CENTRE, region=self.dong_a)
        self.centre = make.tenant(name="남원종합사회복지관", region=self.dong_b)
        self.outsider = make.tenant(name="바깥복지관", region=province)
        self.coordinator = make.member(self.province, roles=["pilot_coordinator"], name="고코디")
        self.coordinator2 = make.member(self.province, roles=["pilot_coordinator", "tenant_admin"], name="한코디")
        self.province_viewer = make.member(self.province, roles=["viewer"], name="도청조회")
        self.planner = make.member(self.dong, roles=["case_manager"], name="박플래너")
        self.colleague = make.member(self.dong, roles=["viewer"], name="동료직원")
        self.worker = make.member(self.centre, roles=["case_manager"], name="복지관직원")
        self.stranger = make.member(self.outsider, roles=["tenant_admin", "case_manager", "pilot_coordinator"],
                                    name="바깥관리자")
        with make.as_tenant(self.province) as session:
            workspace = Workspace(code=f"feedback-{self.province.id}", name="의견도 시범사업",
                                  region_codes=[self.dong_a.code, self.dong_b.code])
            session.add(workspace)
            session.flush()
            for tenant in (self.dong, self.centre):
                session.add(Participant(workspace_id=workspace.id, participant_tenant_id=tenant.id,
                                        joined_on=TODAY - timedelta(days=60)))
            session.add(PhasePeriod(workspace_id=workspace.id, phase=Phase.PILOT, starts_on=TODAY - timedelta(days=30),
                                    ends_on=TODAY + timedelta(days=30)))
            self.workspace = workspace
        self.switch(SwitchState.PILOT)
        self._browsers = {}

    def switch(self, state):
        with self.app.app_context():
            row = db.session.scalar(select(FeatureSwitch).where(FeatureSwitch.key == "pilot_feedback"))
            if row is None:
                row = FeatureSwitch(key="pilot_feedback")
                db.session.add(row)
            row.state, row.workspace_id = state, self.workspace.id
            db.session.commit()

    def browser(self, user):
        if user.id not in self._browsers:
            browser = self.app.test_client()
            assert login(browser, user.email).status_code == 303
            self._browsers[user.id] = browser
        return self._browsers[user.id]

    def send(self, user, description="검색 결과가 너무 느립니다.", category="discomfort", severity="medium",
             page_url=None, screenshot=None, htmx=False, token=None):
        data = {"category": category, "severity": severity, "description": description,
                "page_url": page_url or "/resources/search", "page_title": "자원 검색 · 하나로",
                "submission_token": token or f"fb-{next(_tokens)}"}
        if screenshot is not None:
            data["screenshot"] = (io.BytesIO(screenshot[1]), screenshot[0])
        headers = {"HX-Request": "true", "HX-Target": "feedback-panel"} if htmx else {}
        return self.browser(user).post("/feedback", data=data, headers=headers, content_type="multipart/form-data")

    def item(self, user, description="검색 결과가 너무 느립니다.", **kwargs) -> Feedback:
        response = self.send(user, description=description, **kwargs)
        assert response.status_code == 303, _text(response)
        public_id = response.headers["Location"].rsplit("/", 1)[-1]
        return self.load(public_id)

    def load(self, public_id) -> Feedback:
        with self.app.app_context(), acting_as(self.province.id, self.coordinator.id):
            return db.session.scalar(select(Feedback).where(Feedback.public_id == public_id))

    def comments(self, item) -> list[FeedbackComment]:
        with self.app.app_context(), acting_as(self.province.id, self.coordinator.id):
            return list(db.session.scalars(select(FeedbackComment).where(FeedbackComment.feedback_id == item.id)
                                           .order_by(FeedbackComment.id)))

    def move(self, item, status, comment=None, user=None, version=None, token=None):
        data = {"status": status, "version": str(version if version is not None else self.load(item.public_id).version)}
        if comment:
            data["comment"] = comment
        if token:
            data["submission_token"] = token
        return self.browser(user or self.coordinator).post(f"/feedback/{item.public_id}/status", data=data)


def _counter():
    n = 0
    while True:
        n += 1
        yield n


_tokens = _counter()


def _text(response) -> str:
    return unescape(response.get_data(as_text=True))


@pytest.fixture
def w(app, make):
    return World(app, make)


# -- the button and the switch ----------------------------------------------------------------------------

def test_the_button_shows_for_pilot_tenants_only(w):
    for user in (w.planner, w.worker, w.coordinator):
        page = _text(w.browser(user).get("/"))
        assert 'id="feedback-open"' in page and 'id="feedback-dialog"' in page, user.display_name
        assert 'hx-get="/feedback/new"' in page and "js/feedback.js" in page
    outsider_page = _text(w.browser(w.stranger).get("/"))
    assert 'id="feedback-open"' not in outsider_page and "feedback.js" not in outsider_page
    w.switch(SwitchState.OFF)
    assert 'id="feedback-open"' not in _text(w.browser(w.planner).get("/"))
    assert w.browser(w.planner).get("/feedback/mine").status_code == 404


def test_a_tenant_outside_the_pilot_gets_404_on_every_feedback_route(w, app):
    item = w.item(w.planner, screenshot=("화면.png", PNG))
    routes = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("feedback.")]
    assert len(routes) >= 14
    stranger = w.browser(w.stranger)
    for rule in routes:
        values = {"public_id": item.public_id} if "public_id" in rule.arguments else {}
        if "fmt" in rule.arguments:
            values["fmt"] = "csv"
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **values)
        method = "POST" if "POST" in rule.methods else "GET"
        response = stranger.open(url, method=method, data={"status": "planned", "body": "침입", "description": "침입",
                                                             "category": "bug", "target": item.public_id})
        assert response.status_code == 404, (rule.endpoint, response.status_code)
        assert "검색 결과가 너무 느립니다" not in _text(response)
    assert w.load(item.public_id).status is FeedbackStatus.RECEIVED
    with app.app_context(), acting_as(w.province.id, None):
        assert db.session.scalar(select(func.count()).select_from(Feedback)) == 1


# -- the page attached, stripped of personal data ------------------------------------------------------

@pytest.mark.parametrize("url, path, capability", [
    (f"/clients/{ID_A}?q=김순자#consents", "/clients/<id>", "clients"),
    (f"http://127.0.0.1:5000/referrals/{ID_A}/files/{ID_B}?x=1", "/referrals/<id>/files/<id>", "referrals"),
    (f"/referrals/{ID_A}/accept", "/referrals/<id>/accept", "referrals"),
    (f"/cases/{ID_A}/assessment", "/cases/<id>/assessment", "cases"),
    ("/resources/search?q=김장김치&age=81", "/resources/search", "resources"),
    ("/referrals?box=outbox&state=sent", "/referrals", "referrals"),
    ("/", "/", "home"),
    (f"/nowhere/{ID_A}/%EA%B9%80%EC%88%9C%EC%9E%90/9001011234567/plain", "/nowhere/<id>/<id>/<id>/plain", "nowhere"),
])
def test_the_page_url_keeps_the_path_only_with_ids_replaced(app, url, path, capability):
    with app.test_request_context():
        page = service.strip_page(url)
    assert (page.path, page.capability) == (path, capability)


def test_an_object_pages_title_loses_the_records_name(app):
    with app.test_request_context():
        assert service.strip_page(f"/clients/{ID_A}", "김순자 · 대상자 · 하나로").title == "대상자"
        assert service.strip_page(f"/resources/{ID_A}", "김장김치 나눔 · 자원 · 하나로").title == "자원"
        assert service.strip_page("/referrals", "받은 의뢰 · 서비스의뢰 · 하나로").title == "받은 의뢰 · 서비스의뢰"
        assert service.strip_page(None, None) == service.Page(None, None, None)


def test_submitting_stores_the_stripped_page_the_region_the_workspace_and_the_phase(w):
    response = w.send(w.planner, description="동의서 화면에서 저장이 안 됩니다.", category="bug", severity="high",
                      page_url=f"/clients/{ID_A}?name=김순자")
    assert response.status_code == 303
    item = w.load(response.headers["Location"].rsplit("/", 1)[-1])
    assert item.page_url == "/clients/<id>" and item.capability == "clients"
    assert item.page_title is None  # an object page: its title's first part would be the record's name
    assert item.dong_code == w.dong_a.code and item.phase is Phase.PILOT
    assert item.workspace_id == w.workspace.id and item.coordinator_tenant_id == w.province.id
    assert item.tenant_id == w.dong.id and item.submitter_user_id == w.planner.id
    assert item.status is FeedbackStatus.RECEIVED and item.tags == []
    assert "김순자" not in repr((item.page_url, item.page_title))


# -- sending: htmx and without script ----------------------------------------------------------------------

def test_the_dialog_form_and_the_thank_you_come_as_fragments(w):
    browser = w.browser(w.planner)
    form = browser.get("/feedback/new", headers={"HX-Request": "true", "HX-Target": "feedback-panel",
                                                  "HX-Current-URL": f"http://localhost/clients/{ID_A}?q=김순자"})
    html = _text(form)
    assert form.status_code == 200 and "<html" not in html and "data-feedback-form" in html
    assert 'hx-post="/feedback"' in html and 'value="/clients/<id>"' in html and ID_A not in html and "김순자" not in html
    for label in ("불편사항", "오류", "개선 제안", "제도 보완 필요"):
        assert label in html
    token = re.search(r'name="submission_token" value="([^"]+)"', html).group(1)
    sent = w.send(w.planner, description="htmx로 보낸 의견", htmx=True, token=token)
    thanks = _text(sent)
    assert sent.status_code == 200 and "<html" not in thanks and "의견을 보냈습니다" in thanks
    assert "data-feedback-focus" in thanks and "data-feedback-close" in thanks
    again = w.send(w.planner, description="htmx로 보낸 의견", htmx=True, token=token)
    assert again.status_code == 200 and "의견을 보냈습니다" in _text(again)
    with w.app.app_context(), acting_as(w.dong.id, None):
        assert db.session.scalar(select(func.count()).select_from(Feedback)) == 1


def test_without_script_the_form_is_a_page_with_the_referer_stripped(w):
    browser = w.browser(w.planner)
    page = browser.get("/feedback/new", headers={"Referer": f"http://localhost/referrals/{ID_A}?box=outbox"})
    html = _text(page)
    assert page.status_code == 200 and "<html" in html and 'value="/referrals/<id>"' in html and ID_A not in html
    assert 'id="feedback-open"' not in html  # no button on the form's own page
    response = w.send(w.planner, description="의뢰 화면 글자가 작습니다.", page_url="/referrals/<id>")
    assert response.status_code == 303 and response.headers["Location"].startswith("/feedback/")
    shown = _text(browser.get(response.headers["Location"]))
    assert "의뢰 화면 글자가 작습니다." in shown and "의견을 보냈습니다" in shown


def test_a_double_submit_creates_one_item(w):
    first = w.send(w.planner, description="두 번 눌렀습니다", token="same-token")
    second = w.send(w.planner, description="두 번 눌렀습니다", token="same-token")
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    with w.app.app_context(), acting_as(w.dong.id, None):
        assert db.session.scalar(select(func.count()).select_from(Feedback)) == 1


def test_missing_input_is_refused_in_korean_next_to_the_field(w):
    response = w.send(w.planner, description="", category="")
    html = _text(response)
    assert response.status_code == 422
    assert "의견 내용을 적어 주세요." in html and "분류를 고르세요." in html
    too_long = w.send(w.planner, description="가" * 2001)
    assert too_long.status_code == 422 and "2000자 이하로 입력하세요." in _text(too_long)
    with w.app.app_context(), acting_as(w.dong.id, None):
        assert db.session.scalar(select(func.count()).select_from(Feedback)) == 0


# -- screenshots -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, content, message", [
    ("그림.gif", GIF, "PNG, JPG, WebP 파일만 올릴 수 있습니다."),
    ("가짜.png", b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "파일 내용이 확장자와 맞지 않습니다."),
    ("no-extension", b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "파일 내용이 확장자와 맞지 않습니다."),
    ("큰그림.png", PNG + b"\x00" * (2 * 1024 * 1024), "파일은 2MB 이하만 올릴 수 있습니다."),
])
def test_screenshots_of_another_type_or_too_large_are_refused(w, name, content, message):
    response = w.send(w.planner, screenshot=(name, content))
    assert response.status_code == 422 and message in _text(response)
    with w.app.app_context(), acting_as(w.dong.id, None):
        assert db.session.scalar(select(func.count()).select_from(Feedback)) == 0


@pytest.mark.parametrize("name, content, kind", [("a.png", PNG, "image/png"), ("b.jpg", JPEG, "image/jpeg"),
                                                 ("c.webp", WEBP, "image/webp"), ("no-extension", PNG, "image/png")])
def test_screenshots_are_typed_by_their_first_bytes_and_served_with_nosniff(w, name, content, kind):
    item = w.item(w.planner, screenshot=(name, content))
    assert item.screenshot_type == kind
    for user in (w.planner, w.coordinator):
        response = w.browser(user).get(f"/feedback/{item.public_id}/screenshot")
        assert response.status_code == 200 and response.data == content
        assert response.headers["Content-Type"] == kind and response.headers["X-Content-Type-Options"] == "nosniff"
    assert w.browser(w.worker).get(f"/feedback/{item.public_id}/screenshot").status_code == 404


def test_an_item_without_a_screenshot_has_no_screenshot_url(w):
    item = w.item(w.planner)
    assert w.browser(w.coordinator).get(f"/feedback/{item.public_id}/screenshot").status_code == 404


# -- who sees what -------------------------------------------------------------------------------------------

def test_feedback_is_seen_by_the_submitters_tenant_and_the_coordinators_only(w):
    item = w.item(w.planner, description="한림동의 비밀 의견")
    for user in (w.planner, w.colleague, w.coordinator, w.coordinator2):
        page = w.browser(user).get(f"/feedback/{item.public_id}")
        assert page.status_code == 200 and "한림동의 비밀 의견" in _text(page), user.display_name
    # Another participant, and the coordinating tenant's members who do not coordinate: 404.
    for user in (w.worker, w.province_viewer):
        browser = w.browser(user)
        for path in (f"/feedback/{item.public_id}", f"/feedback/{item.public_id}/screenshot"):
            assert browser.get(path).status_code == 404, (user.display_name, path)
        assert browser.post(f"/feedback/{item.public_id}/comments",
                            data={"body": "끼어들기", "submission_token": f"x-{user.id}"}).status_code == 404
        for path in ("/feedback/mine", "/feedback/mine?scope=tenant", "/feedback/changes"):
            assert "한림동의 비밀 의견" not in _text(browser.get(path)), (user.display_name, path)
    with w.app.app_context(), acting_as(w.centre.id, w.worker.id):
        assert db.session.scalars(select(Feedback)).all() == []
        assert db.session.scalars(select(FeedbackComment)).all() == []
    assert len(w.comments(item)) == 0


def test_my_feedback_and_my_organisations_feedback(w):
    w.item(w.planner, description="내가 쓴 의견")
    w.item(w.colleague, description="동료가 쓴 의견")
    browser = w.browser(w.planner)
    mine = _text(browser.get("/feedback/mine"))
    assert "내가 쓴 의견" in mine and "동료가 쓴 의견" not in mine
    ours = _text(browser.get("/feedback/mine?scope=tenant"))
    assert "내가 쓴 의견" in ours and "동료가 쓴 의견" in ours and "동료직원" in ours
    assert browser.get("/feedback/mine?scope=everyone").status_code == 200  # a bad filter is dropped


def test_the_board_is_for_the_coordinating_tenants_coordinators_only(w):
    w.item(w.planner, description="보드에 나올 의견")
    board = w.browser(w.coordinator).get("/feedback/board")
    assert board.status_code == 200 and "보드에 나올 의견" in _text(board)
    for user in (w.planner, w.province_viewer, w.worker):
        for path in ("/feedback/board", "/feedback/board/cards?more=received&offset=30", "/feedback/export.csv",
                     "/feedback/export.xlsx"):
            assert w.browser(user).get(path).status_code == 403, (user.display_name, path)
        assert w.browser(user).post("/feedback/bulk", data={"status": "planned"}).status_code == 403


# -- the board -----------------------------------------------------------------------------------------------

def test_board_cards_and_filters_in_the_url_with_htmx(w):
    a = w.item(w.planner, description="한림 불편", category="discomfort", page_url=f"/cases/{ID_A}")
    b = w.item(w.worker, description="복지관 오류", category="bug", severity="high")
    browser = w.browser(w.coordinator)
    board = _text(browser.get("/feedback/board"))
    for text in ("접수", "검토 중", "반영 예정", "반영 완료", "반려", "한림 불편", "복지관 오류", "한림동 행정복지센터",
                 "남원종합사회복지관", "한림동", "남원동", "cases", "중요도: 높음", "오늘", "미지정", "댓글 0"):
        assert text in board, text
    only_bug = _text(browser.get("/feedback/board?category=bug"))
    assert "복지관 오류" in only_bug and "한림 불편" not in only_bug
    only_dong = _text(browser.get(f"/feedback/board?tenant={w.dong.code}"))
    assert "한림 불편" in only_dong and "복지관 오류" not in only_dong
    by_region = _text(browser.get(f"/feedback/board?dong={w.dong_b.code}&phase=pilot&capability=resources"))
    assert "복지관 오류" in by_region and "한림 불편" not in by_region
    fragment = browser.get("/feedback/board?severity=high", headers={"HX-Request": "true", "HX-Target": "feedback-board"})
    html = _text(fragment)
    assert fragment.status_code == 200 and "<html" not in html and html.lstrip().startswith('<div id="feedback-board"')
    assert "복지관 오류" in html and "한림 불편" not in html and "export.csv?severity=high" in html
    assert "HX-Request" in fragment.headers.get("Vary", "")
    assert browser.get("/feedback/board?category=nonsense").status_code == 200
    assert a.public_id in board and b.public_id in board


def _shown(html: str) -> list[str]:
    return re.findall(r'feedback-card__title"><a [^>]*>접수된 의견 (\d)번', html)


def _more_link(board: str, status: str) -> tuple[str, str] | None:
    """(href, hx-get) of the column's "더 보기", if it has one."""
    found = re.search(rf'<li class="feedback-cards__more" id="more-{status}">\s*<a[^>]* href="([^"]+)"\s*hx-get="([^"]+)"',
                      board)
    return (unescape(found.group(1)), unescape(found.group(2))) if found else None


def test_a_board_column_shows_its_first_cards_and_more_on_demand(w, monkeypatch):
    from hanaro.core import paging

    monkeypatch.setattr(service, "BOARD_PAGE", 2)
    for n in range(5):
        w.item(w.planner, description=f"접수된 의견 {n}번", category="bug" if n else "discomfort")
    browser = w.browser(w.coordinator)
    board = _text(browser.get("/feedback/board"))
    shown = _shown(board)
    assert shown == ["4", "3"] and "접수 <span class=\"feedback-column__count\">5건" in board
    assert "조건에 맞는 의견 5건" in board and _more_link(board, "reviewing") is None
    href, hx_get = _more_link(board, "received")
    more = browser.get(hx_get, headers={"HX-Request": "true"})
    assert more.status_code == 200 and "<html" not in _text(more)
    assert _shown(_text(more)) == ["2", "1"]
    _href, last = _more_link(_text(more), "received")
    rest = _text(browser.get(last, headers={"HX-Request": "true"}))
    assert _shown(rest) == ["0"] and _more_link(rest, "received") is None
    # Without htmx the link shows the board with more of the column; the filters stay.
    assert _shown(_text(browser.get(href))) == ["4", "3", "2", "1"]
    bugs = _text(browser.get("/feedback/board?category=bug"))
    _href, bugs_more = _more_link(bugs, "received")
    assert "category=bug" in bugs_more
    assert _shown(_text(browser.get(bugs_more))) == ["2", "1"]
    assert browser.get("/feedback/board/cards?more=nonsense").status_code == 404
    assert w.browser(w.planner).get(hx_get).status_code == 403
    monkeypatch.setattr(paging, "COUNT_CAP", 3)
    capped = _text(browser.get("/feedback/board"))
    assert "접수 <span class=\"feedback-column__count\">3건 이상" in capped and "조건에 맞는 의견 3건 이상" in capped


def test_assignment_to_a_coordinator_and_normalised_tags(w):
    item = w.item(w.planner)
    browser = w.browser(w.coordinator)
    version = w.load(item.public_id).version
    assert browser.post(f"/feedback/{item.public_id}/assign",
                        data={"assignee": w.coordinator2.public_id, "version": version}).status_code == 303
    assert w.load(item.public_id).assignee_user_id == w.coordinator2.id
    refused = browser.post(f"/feedback/{item.public_id}/assign",
                           data={"assignee": w.planner.public_id, "version": w.load(item.public_id).version})
    assert refused.status_code == 422 and "코디네이터만 담당자로" in _text(refused)
    assert browser.post(f"/feedback/{item.public_id}/tags",
                        data={"tags": " #검색, 자원   검색 ,검색, ＳＥＡＲＣＨ", "version": w.load(item.public_id).version}
                        ).status_code == 303
    assert w.load(item.public_id).tags == ["검색", "자원 검색", "search"]
    too_many = browser.post(f"/feedback/{item.public_id}/tags", data={"tags": ",".join(f"t{i}" for i in range(11))})
    assert too_many.status_code == 422 and "태그는 10개까지" in _text(too_many)
    other = w.item(w.worker, description="태그 없는 의견")
    tagged = _text(browser.get("/feedback/board?tag=검색"))
    assert "검색 결과가 너무 느립니다" in tagged and "태그 없는 의견" not in tagged
    assigned = _text(browser.get(f"/feedback/board?assignee={w.coordinator2.public_id}"))
    assert "검색 결과가 너무 느립니다" in assigned and "태그 없는 의견" not in assigned
    unassigned = _text(browser.get("/feedback/board?assignee=none"))
    assert "태그 없는 의견" in unassigned and "검색 결과가 너무 느립니다" not in unassigned
    assert other.assignee_user_id is None
    # The submitter's side may read, never triage.
    assert w.browser(w.planner).post(f"/feedback/{item.public_id}/tags", data={"tags": "x"}).status_code == 403
    assert w.browser(w.planner).post(f"/feedback/{item.public_id}/assign", data={"assignee": ""}).status_code == 403


# -- transitions ------------------------------------------------------------------------------------------------

def test_status_moves_follow_the_columns_and_are_recorded(w):
    item = w.item(w.planner)
    skipped = w.move(item, "done")
    assert skipped.status_code == 409 and "'접수'에서 '반영 완료'(으)로 바로 옮길 수 없습니다." in _text(skipped)
    assert w.move(item, "reviewing", comment="살펴보는 중입니다.").status_code == 303
    no_reason = w.move(item, "rejected")
    assert no_reason.status_code == 422 and "반려할 때는 이유를 적어 주세요." in _text(no_reason)
    assert w.move(item, "planned", comment="다음 배포에 반영합니다.").status_code == 303
    assert w.move(item, "done").status_code == 303
    assert w.load(item.public_id).status is FeedbackStatus.DONE
    history = [(c.status_to, c.body) for c in w.comments(item)]
    assert history == [(FeedbackStatus.REVIEWING, "살펴보는 중입니다."), (FeedbackStatus.PLANNED, "다음 배포에 반영합니다."),
                       (FeedbackStatus.DONE, None)]
    assert w.browser(w.planner).post(f"/feedback/{item.public_id}/status", data={"status": "reviewing"}).status_code == 403
    page = _text(w.browser(w.planner).get(f"/feedback/{item.public_id}"))
    assert "다음 배포에 반영합니다." in page and "반영 완료" in page and 'id="status-form"' not in page


def test_a_concurrent_change_is_refused_cleanly(w):
    item = w.item(w.planner)
    seen = w.load(item.public_id).version
    assert w.move(item, "reviewing", version=seen).status_code == 303
    late = w.move(item, "rejected", comment="중복입니다.", user=w.coordinator2, version=seen)
    assert late.status_code == 409 and "다른 코디네이터가 방금 이 의견을 바꿨습니다" in _text(late)
    assert w.load(item.public_id).status is FeedbackStatus.REVIEWING
    assert [c.status_to for c in w.comments(item)] == [FeedbackStatus.REVIEWING]


def test_a_double_click_on_a_triage_form_moves_once_without_a_refusal(w):
    item = w.item(w.planner)
    seen = w.load(item.public_id).version
    first = w.move(item, "reviewing", comment="한 번만", version=seen, token="twice")
    second = w.move(item, "reviewing", comment="한 번만", version=seen, token="twice")
    assert first.status_code == second.status_code == 303
    assert second.headers["Location"] == f"/feedback/{item.public_id}"
    assert [c.body for c in w.comments(item)] == ["한 번만"]
    page = _text(w.browser(w.coordinator).get(f"/feedback/{item.public_id}"))
    tokens = re.findall(r'name="submission_token" value="([^"]+)"', page)
    assert len(tokens) == len(set(tokens)) == 5  # one per form, none reused


def test_a_change_racing_at_the_database_is_refused_by_the_version_column(w, app):
    item = w.item(w.planner)
    from flask import g

    with app.test_request_context(), acting_as(w.province.id, w.coordinator.id):
        g.membership = _membership(w.province, w.coordinator)
        loaded = db.session.scalar(select(Feedback).where(Feedback.id == item.id))
        db.session.execute(update(Feedback).where(Feedback.id == item.id).values(version=Feedback.version + 1)
                           .execution_options(synchronize_session=False))
        with pytest.raises(service.StaleChange):
            service.change_status(loaded, FeedbackStatus.REVIEWING, _user(w.coordinator))
        db.session.rollback()


def _membership(tenant, user):
    from hanaro.tenancy.models import Membership

    return db.session.scalar(select(Membership).where(Membership.tenant_id == tenant.id, Membership.user_id == user.id))


def _user(user):
    from hanaro.accounts.models import User

    return db.session.get(User, user.id)


# -- merging duplicates -------------------------------------------------------------------------------------

def _merge(w, source, target, user=None):
    return w.browser(user or w.coordinator).post(f"/feedback/{source.public_id}/merge",
                                                 data={"target": target.public_id,
                                                       "version": w.load(source.public_id).version})


def test_a_merged_item_follows_its_survivor(w):
    survivor = w.item(w.worker, description="복지관이 먼저 보낸 같은 의견")
    duplicate = w.item(w.planner, description="한림동이 보낸 같은 의견")
    assert w.move(survivor, "reviewing").status_code == 303
    assert _merge(w, duplicate, survivor).status_code == 303
    merged = w.load(duplicate.public_id)
    assert merged.merged_into_id == survivor.id and merged.status is FeedbackStatus.REVIEWING
    assert w.move(survivor, "planned", comment="다음 달에 고칩니다.").status_code == 303
    assert w.load(duplicate.public_id).status is FeedbackStatus.PLANNED
    assert [c.status_to for c in w.comments(w.load(duplicate.public_id))] == [FeedbackStatus.REVIEWING,
                                                                               FeedbackStatus.PLANNED]
    assert w.comments(w.load(duplicate.public_id))[-1].body == "다음 달에 고칩니다."
    # The coordinators see where it went; it cannot move on its own.
    board = _text(w.browser(w.coordinator).get("/feedback/board"))
    assert f"→ 중복: <a href=\"/feedback/{survivor.public_id}\">{survivor.public_id}</a>" in board
    alone = w.move(duplicate, "done")
    assert alone.status_code == 409 and "중복으로 합쳐진 의견은 따로 옮길 수 없습니다" in _text(alone)
    # The submitter sees the survivor's status on their own item, never the other tenant's item.
    page = _text(w.browser(w.planner).get(f"/feedback/{duplicate.public_id}"))
    assert "반영 예정" in page and "다음 달에 고칩니다." in page and "다른 의견과 함께 처리" in page
    assert survivor.public_id not in page and "복지관이 먼저 보낸" not in page and "남원종합사회복지관" not in page
    changes = _text(w.browser(w.planner).get("/feedback/changes"))
    assert "한림동이 보낸 같은 의견" in changes and "다음 달에 고칩니다." in changes


def test_merging_into_itself_or_into_a_merged_item_is_refused(w):
    first, second, third = (w.item(w.planner, description=f"의견 {n}") for n in (1, 2, 3))
    itself = _merge(w, first, first)
    assert itself.status_code == 422 and "자기 자신에게 합칠 수 없습니다" in _text(itself)
    assert _merge(w, second, first).status_code == 303
    chain = _merge(w, third, second)
    assert chain.status_code == 422 and "이미 다른 의견에 합쳐져 있습니다" in _text(chain)
    assert w.load(third.public_id).merged_into_id is None
    # Merging a survivor elsewhere takes its merged items along: never a chain.
    assert _merge(w, first, third).status_code == 303
    assert w.load(first.public_id).merged_into_id == third.id
    assert w.load(second.public_id).merged_into_id == third.id


# -- bulk moves -------------------------------------------------------------------------------------------------

def test_bulk_moves_are_all_or_nothing(w):
    one, two = w.item(w.planner, description="첫째"), w.item(w.worker, description="둘째")
    survivor, merged = w.item(w.planner, description="남는 의견"), w.item(w.worker, description="합쳐진 의견")
    assert _merge(w, merged, survivor).status_code == 303
    browser = w.browser(w.coordinator)

    def selection(*items):
        return [f"{i.public_id}:{w.load(i.public_id).version}" for i in items]

    refused = browser.post("/feedback/bulk", data={"items": selection(one, two, merged), "status": "reviewing"})
    html = _text(refused)
    assert refused.status_code == 409 and "아무것도 옮기지 않았습니다" in html
    assert "합쳐진 의견 (남원종합사회복지관): 중복으로 합쳐진 의견은 따로 옮길 수 없습니다" in html
    assert {w.load(i.public_id).status for i in (one, two, merged)} == {FeedbackStatus.RECEIVED}
    reject = browser.post("/feedback/bulk", data={"items": selection(one, two), "status": "rejected"})
    assert reject.status_code == 422 and "반려할 때는 이유를 적어 주세요" in _text(reject)
    nothing = browser.post("/feedback/bulk", data={"status": "reviewing"})
    assert nothing.status_code == 422 and "옮길 의견을 하나 이상 고르세요" in _text(nothing)
    moved = browser.post("/feedback/bulk", data={"items": selection(one, two, survivor), "status": "reviewing",
                                                 "comment": "함께 검토합니다.", "filters": "category=discomfort"})
    assert moved.status_code == 303 and moved.headers["Location"] == "/feedback/board?category=discomfort"
    assert {w.load(i.public_id).status for i in (one, two, survivor, merged)} == {FeedbackStatus.REVIEWING}
    assert w.comments(w.load(merged.public_id))[-1].body == "함께 검토합니다."
    stale = browser.post("/feedback/bulk", data={"items": [f"{one.public_id}:1"], "status": "planned"})
    assert stale.status_code == 409 and "다른 코디네이터가 방금" in _text(stale)
    skip = browser.post("/feedback/bulk", data={"items": selection(one), "status": "done"})
    assert skip.status_code == 409 and "바로 옮길 수 없습니다" in _text(skip)
    assert w.load(one.public_id).status is FeedbackStatus.REVIEWING


# -- comments, notices, what changed ----------------------------------------------------------------------------

def test_status_changes_and_replies_notify_the_submitter_without_personal_data(w):
    item = w.item(w.planner, description="김순자 님 화면에서 오류가 납니다")
    assert w.move(item, "reviewing", comment="확인하고 있습니다.").status_code == 303
    reply = w.browser(w.coordinator).post(f"/feedback/{item.public_id}/comments",
                                          data={"body": "어느 단계에서였나요?", "submission_token": "c1"})
    assert reply.status_code == 303
    with w.app.app_context(), acting_as(w.dong.id, w.planner.id):
        notices = db.session.scalars(select(Notification).where(Notification.kind == "pilot_feedback")
                                     .order_by(Notification.id)).all()
    assert [n.title for n in notices] == ["보낸 현장 의견의 처리 상태가 '검토 중'(으)로 바뀌었습니다",
                                          "보낸 현장 의견에 코디네이터의 답글이 있습니다"]
    for notice in notices:
        assert notice.recipient_user_id == w.planner.id and notice.link == "/feedback/mine"
        assert notice.tenant_id == w.dong.id and notice.sender_tenant_id == w.province.id
        assert "김순자" not in notice.title and "김순자" not in (notice.body or "") and "확인하고" not in notice.title
    assert "pilot_feedback" in KINDS
    answer = w.browser(w.planner).post(f"/feedback/{item.public_id}/comments",
                                       data={"body": "저장 단계에서였습니다.", "submission_token": "c2"})
    assert answer.status_code == 303
    page = _text(w.browser(w.coordinator).get(f"/feedback/{item.public_id}"))
    assert "어느 단계에서였나요?" in page and "저장 단계에서였습니다." in page
    again = w.browser(w.planner).post(f"/feedback/{item.public_id}/comments",
                                      data={"body": "저장 단계에서였습니다.", "submission_token": "c2"})
    assert again.status_code == 303
    assert [c.body for c in w.comments(item)].count("저장 단계에서였습니다.") == 1


def test_what_changed_lists_what_was_acted_on_newest_first(w):
    planned = w.item(w.planner, description="반영될 의견")
    rejected = w.item(w.planner, description="반려될 의견")
    waiting = w.item(w.planner, description="아직 검토 중인 의견")
    theirs = w.item(w.worker, description="다른 기관의 반영 의견")
    w.move(planned, "planned", comment="3월 배포에 넣습니다.")
    w.move(waiting, "reviewing")
    w.move(theirs, "planned", comment="복지관 건도 반영")
    w.move(rejected, "rejected", comment="제도상 바꿀 수 없습니다.")
    page = _text(w.browser(w.colleague).get("/feedback/changes"))
    assert "반영될 의견" in page and "3월 배포에 넣습니다." in page
    assert "반려될 의견" in page and "제도상 바꿀 수 없습니다." in page
    assert "아직 검토 중인 의견" not in page and "다른 기관의 반영 의견" not in page
    assert page.index("반려될 의견") < page.index("반영될 의견")
    coordinator_page = _text(w.browser(w.coordinator).get("/feedback/changes"))
    assert "다른 기관의 반영 의견" in coordinator_page and "반영될 의견" in coordinator_page
    assert "아직 검토 중인 의견" not in coordinator_page


# -- export ------------------------------------------------------------------------------------------------------

def test_the_export_follows_the_filter_and_neutralises_formulas(w):
    formula = w.item(w.planner, description='=HYPERLINK("http://evil.example","클릭")', category="bug")
    w.item(w.worker, description="다른 분류", category="suggestion")
    browser = w.browser(w.coordinator)
    w.browser(w.coordinator).post(f"/feedback/{formula.public_id}/tags",
                                  data={"tags": "@위험, 검색", "version": w.load(formula.public_id).version})
    response = browser.get("/feedback/export.csv?category=bug")
    assert response.status_code == 200 and response.data.startswith(b"\xef\xbb\xbf")
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0] == ["의견 ID", "접수 일시(KST)", "기관", "읍면동", "단계", "분류", "중요도", "화면(기능)", "상태",
                       "담당자", "태그", "내용", "합쳐진 의견", "댓글 수"]
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1]))
    assert row["의견 ID"] == formula.public_id and row["기관"] == "한림동 행정복지센터" and row["읍면동"] == "한림동"
    assert row["단계"] == "시범운영" and row["분류"] == "오류" and row["상태"] == "접수" and row["화면(기능)"] == "resources"
    assert row["내용"] == '\'=HYPERLINK("http://evil.example","클릭")' and row["태그"] == "'@위험, 검색"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", row["접수 일시(KST)"])
    assert "박플래너" not in response.data.decode("utf-8-sig")  # no submitter names
    excel = browser.get("/feedback/export.xlsx")
    assert excel.status_code == 200
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(excel.data)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert len(values) == 3 and values[0][0] == "의견 ID"
    assert '\'=HYPERLINK("http://evil.example","클릭")' in [r[11] for r in values]
    assert all(c.data_type == "s" for row in sheet.iter_rows() for c in row if c.value is not None)


# -- rules without HTTP ----------------------------------------------------------------------------------------------

def test_tag_normalisation_and_screenshot_checks(app):
    with app.test_request_context():
        assert service.normalise_tags("#자원, 자원 ,  서비스   의뢰,,Referral") == ["자원", "서비스 의뢰", "referral"]
        assert service.check_screenshot(("a.png", PNG)).content_type == "image/png"
        assert service.check_screenshot(None) is None
        with pytest.raises(RuleViolation) as refused:
            service.check_screenshot(("a.png", b"%PDF-1.4"))
        assert refused.value.field == "screenshot"


def test_a_tenant_with_the_switch_on_but_no_workspace_cannot_send(w, make):
    w.switch(SwitchState.EVERYONE)
    browser = w.browser(w.stranger)
    assert 'id="feedback-open"' in _text(browser.get("/"))
    response = w.send(w.stranger)
    assert response.status_code == 422 and "참여하는 시범사업이 없어" in _text(response)
