"""Journey: sign in (after one wrong password), switch tenant, sign out — in real Chromium."""
from __future__ import annotations

import re

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # conftest skips the folder (or fails it under HANARO_REQUIRE_SERVICES=1)
    expect = None

from ..conftest import ARTIFACTS
from .conftest import DEMO_PASSWORD

CASE_MANAGER = "case@halla.demo"
HIS_TENANTS = {"한라종합사회복지관", "서귀포해오름종합사회복지관"}
HANGUL_SENTENCE = re.compile(r"^\s*[가-힣][가-힣\s.,:()0-9]*$")

# The wrong password is answered 401 on purpose; Chromium logs that response as a console error.
EXPECTED_LOGIN_FAILURE = (
    r"^response: POST /login 401$",
    r"^console: Failed to load resource: the server responded with a status of 401 .*\(/login\)$",
)


def _header_tenant(page) -> str:
    return page.locator(".site-tenant span:not(.visually-hidden)").first.inner_text().strip()


def test_sign_in_switch_tenant_and_sign_out(page, live_app):
    log = page.browser_log

    # -- the login page is Korean
    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.get_by_role("heading", level=1)).to_contain_text("로그인")

    # -- a wrong password: a Korean message, and the e-mail is kept
    page.get_by_label("이메일").fill(CASE_MANAGER)
    page.get_by_label("비밀번호").fill("not-the-password")
    page.get_by_role("button", name="로그인", exact=True).click()
    failure = page.get_by_role("alert")
    expect(failure).to_contain_text("비밀번호")  # "이메일 또는 비밀번호가 올바르지 않습니다." today
    expect(failure).to_have_text(HANGUL_SENTENCE)
    expect(page.get_by_label("이메일")).to_have_value(CASE_MANAGER)
    expect(page.get_by_label("비밀번호")).to_have_value("")
    assert page.url.endswith("/login")

    # -- the right password: home of the first tenant
    page.get_by_label("비밀번호").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="로그인", exact=True).click()
    page.wait_for_url(re.compile(r"/$"))
    expect(page.locator(".site-tenant")).to_be_visible()
    first = _header_tenant(page)
    assert first in HIS_TENANTS
    (other,) = HIS_TENANTS - {first}
    expect(page.get_by_role("heading", level=1)).to_have_text(first)
    expect(page.locator(".site-user__name")).to_have_text("이사례")
    loaded_fonts = page.evaluate(
        "document.fonts.ready.then(fs => [...fs].filter(f => f.status === 'loaded').map(f => f.family))"
    )
    assert any("PretendardGOV" in family for family in loaded_fonts), loaded_fonts  # Hangul from our own font
    ARTIFACTS.mkdir(exist_ok=True)
    # caret="initial": Playwright's caret-hiding style would be refused by the strict CSP later.
    page.screenshot(path=str(ARTIFACTS / "journey-home.png"), full_page=True, caret="initial")

    # -- switch with the select (it submits itself through static/js/hanaro.js)
    switcher = page.get_by_label("기관 전환")
    other_code = switcher.locator("option", has_text=other).get_attribute("value")
    switcher.select_option(other_code)
    expect(page.locator(".site-tenant")).to_contain_text(other)
    expect(page.get_by_role("heading", level=1)).to_have_text(other)
    expect(page.locator(".flash--success[role=status]")).to_contain_text(other)  # the success flash
    expect(page.get_by_label("기관 전환")).to_have_value(other_code)

    # -- sign out: back at /login, and the server forgot the session
    page.get_by_role("button", name="로그아웃").click()
    page.wait_for_url(re.compile(r"/login$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("로그인")
    expect(page.get_by_role("status")).to_contain_text("로그아웃")
    page.goto("/")
    assert page.url.endswith("/login")
    expect(page.get_by_label("이메일")).to_be_visible()

    # -- nothing broke on the way: no JS/CSP errors, every asset loaded, nothing left the machine
    assert log.error_responses == ["POST /login 401"]  # the wrong password, and nothing else
    problems = log.problems(allow=EXPECTED_LOGIN_FAILURE)
    assert not problems, "the browser saw:\n" + "\n".join(problems)
    assert live_app.server_errors == []


@pytest.mark.parametrize("context_options", [{"java_script_enabled": False}], ids=["no-js"])
def test_tenant_switch_button_works_without_javascript(page, sign_in, live_app):
    sign_in(CASE_MANAGER)
    first = _header_tenant(page)
    (other,) = HIS_TENANTS - {first}
    switcher = page.get_by_label("기관 전환")
    switcher.select_option(switcher.locator("option", has_text=other).get_attribute("value"))
    assert _header_tenant(page) == first  # nothing submitted itself
    page.get_by_role("button", name="전환", exact=True).click()
    page.wait_for_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(other)
    expect(page.locator(".flash--success[role=status]")).to_contain_text(other)
    problems = page.browser_log.problems()
    assert not problems, "the browser saw:\n" + "\n".join(problems)
    assert live_app.server_errors == []


def test_tab_reaches_the_skip_link_first(page):
    page.goto("/login")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="본문 바로가기")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()  # shown when focused
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
    problems = page.browser_log.problems()
    assert not problems, "the browser saw:\n" + "\n".join(problems)
