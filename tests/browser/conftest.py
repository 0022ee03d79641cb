"""Browser tests: Debian's Chromium (/usr/bin/chromium) driven by Playwright against a live server.

Every test here is marked ``browser`` and ``committed``: the live server runs in a thread with
its own SQLite database, migrated and loaded with the Jeju demo registry (CSRF on), so these
tests see committed data and skip the root conftest's rolled-back transaction.

Without /usr/bin/chromium (or the playwright package) the folder is skipped, unless
HANARO_REQUIRE_SERVICES=1 (CI), where that is a failure. Never ``playwright install``.

Fixtures: ``live_server`` (base URL), ``live_app`` (the served app and its server errors),
``browser`` (session), ``page`` (a fresh ko-KR context per test) and ``browser_log`` (console
errors, page errors, failed requests and 4xx/5xx responses of that page). ``context_options``
can be overridden per test (e.g. ``@pytest.mark.parametrize("context_options",
[{"java_script_enabled": False}])``). A failing test leaves a screenshot in test-artifacts/.
"""
from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ..conftest import ARTIFACTS, REQUIRE_SERVICES, make_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DEMO_PASSWORD = "hanaro-demo-2026"
HERE = Path(__file__).resolve().parent


def _unavailable_reason() -> str | None:
    if not CHROMIUM.exists():
        return f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "browser tests need the playwright package (pip install -e '.[test]'; never `playwright install`)"
    return None


UNAVAILABLE = _unavailable_reason()


def pytest_configure(config):
    # The root conftest skips its rolled-back transaction for tests marked "committed".
    config.addinivalue_line("markers", "committed: sees committed data (no rolled-back transaction)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE not in Path(str(item.path)).resolve().parents:
            continue
        item.add_marker(pytest.mark.browser)
        item.add_marker(pytest.mark.committed)
        if UNAVAILABLE and not REQUIRE_SERVICES:
            item.add_marker(pytest.mark.skip(reason=UNAVAILABLE))


@pytest.fixture(scope="session", autouse=True)
def _browser_available():
    if UNAVAILABLE:
        if REQUIRE_SERVICES:
            pytest.fail(f"HANARO_REQUIRE_SERVICES=1 but {UNAVAILABLE}", pytrace=False)
        pytest.skip(UNAVAILABLE)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


# -- live server -------------------------------------------------------------------------------

@dataclass
class LiveApp:
    app: object
    url: str = ""
    server_errors: list = field(default_factory=list)  # exceptions raised while serving


@pytest.fixture(scope="session")
def live_app(tmp_path_factory) -> LiveApp:
    from flask import got_request_exception
    from flask_migrate import upgrade

    from hanaro.core.db import db
    from hanaro.tenancy import registry

    path = tmp_path_factory.mktemp("browser-db") / "hanaro-browser.db"
    database_config = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "MIGRATION_DATABASE_URL": f"sqlite:///{path}"}
    app = make_app(database_config, HANARO_DEMO=True, WTF_CSRF_ENABLED=True, REDIS_URL=None)
    with app.app_context():
        upgrade(directory=app.config["MIGRATIONS_DIR"])
        registry.apply(Path(app.config["TENANTS_DIR"]) / "jeju-pilot.toml", demo=True)
        db.session.commit()
    live = LiveApp(app)
    got_request_exception.connect(lambda _sender, exception, **_: live.server_errors.append(exception), app, weak=False)
    return live


@pytest.fixture(scope="session")
def live_server(live_app) -> str:
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, live_app.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="hanaro-live-server", daemon=True)
    thread.start()
    live_app.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield live_app.url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        with live_app.app.app_context():
            from hanaro.core.db import db

            db.engine.dispose()


# -- browser -----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class BrowserLog:
    """What went wrong in the page, as seen by the browser."""

    origin: str
    console_errors: list[str] = field(default_factory=list)  # console.error, CSP violations, failed loads
    page_errors: list[str] = field(default_factory=list)  # uncaught exceptions
    failed_requests: list[str] = field(default_factory=list)  # network-level failures (same origin)
    error_responses: list[str] = field(default_factory=list)  # "METHOD path status" for 4xx/5xx (same origin)
    foreign_requests: list[str] = field(default_factory=list)  # anything sent to another origin

    def same_origin(self, url: str) -> bool:
        return url.startswith(self.origin + "/") or url == self.origin

    def problems(self, allow: tuple[str, ...] = ()) -> list[str]:
        """Everything recorded, minus entries matching one of the ``allow`` regular expressions."""
        entries = (
            [f"console: {m}" for m in self.console_errors]
            + [f"page error: {m}" for m in self.page_errors]
            + [f"request failed: {m}" for m in self.failed_requests]
            + [f"response: {m}" for m in self.error_responses]
            + [f"foreign request: {m}" for m in self.foreign_requests]
        )
        return [e for e in entries if not any(re.search(pattern, e) for pattern in allow)]


@pytest.fixture
def context_options() -> dict:
    """Extra ``browser.new_context`` options; override with parametrize."""
    return {}


@pytest.fixture
def browser_log(live_server) -> BrowserLog:
    return BrowserLog(origin=live_server)


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _watch(page, log: BrowserLog) -> None:
    def on_console(message):
        if message.type == "error":
            location = message.location or {}
            where = f" ({_path(location['url'])})" if location.get("url") else ""
            log.console_errors.append(f"{message.text}{where}")

    def on_request(request):
        if not log.same_origin(request.url) and not request.url.startswith(("data:", "blob:", "about:")):
            log.foreign_requests.append(f"{request.method} {request.url}")

    def on_request_failed(request):
        # The browser aborts the favicon request when a click navigates away before it finished:
        # nothing a user notices.
        if request.failure == "net::ERR_ABORTED" and _path(request.url).startswith("/static/favicon"):
            return
        if log.same_origin(request.url):
            log.failed_requests.append(f"{request.method} {_path(request.url)}: {request.failure}")

    def on_response(response):
        if response.status >= 400 and log.same_origin(response.url):
            log.error_responses.append(f"{response.request.method} {_path(response.url)} {response.status}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: log.page_errors.append(str(error)))
    page.on("request", on_request)
    page.on("requestfailed", on_request_failed)
    page.on("response", on_response)


@pytest.fixture
def page(request, browser, live_server, browser_log, context_options):
    # Reduced motion: KRDS scrolls smoothly, and a click on a header button far above the scrolled
    # page then waited on the scroll animation (a flaky sign-out under load).
    context = browser.new_context(locale="ko-KR", timezone_id="Asia/Seoul", base_url=live_server,
                                  reduced_motion="reduce", **context_options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    _watch(page, browser_log)
    page.browser_log = browser_log
    name = re.sub(r"[^\w.-]+", "_", request.node.nodeid.split("::", 1)[-1])
    failure_shot = ARTIFACTS / f"failed-{name}.png"
    failure_shot.unlink(missing_ok=True)  # no stale screenshot from an earlier run
    try:
        yield page
    finally:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            try:
                page.screenshot(path=str(failure_shot), full_page=True, caret="initial")
            except Exception as error:  # noqa: BLE001 - a screenshot must not hide the failure
                print(f"could not save a failure screenshot: {error}")
        context.close()


@pytest.fixture
def sign_in(page):
    """Sign in through the login form: ``sign_in("case@halla.demo")``."""

    def sign_in(email: str, password: str = DEMO_PASSWORD):
        # Already on the login page (e.g. just signed out): use it. Navigating again would abort
        # the page's favicon request still in flight, a "request failed" in browser_log.
        if urlsplit(page.url).path != "/login":
            page.goto("/login")
        page.get_by_label("이메일").fill(email)
        page.get_by_label("비밀번호").fill(password)
        page.get_by_role("button", name="로그인", exact=True).click()
        page.wait_for_url(re.compile(r"/$"))
        return page

    return sign_in
