"""Sign-in, lockout, server-side sessions, CSRF, headers and the login log."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hanaro.accounts.models import LoginEvent, LoginOutcome, User, UserSession
from hanaro.core.db import db, utcnow

from .conftest import make_app
from .helpers import csrf_token_from, login


@pytest.fixture
def member(make):
    tenant = make.tenant(name="한라종합사회복지관")
    return make.member(tenant, roles=["case_manager"], email="worker@test.example")


def _events(app, user_id=None):
    with app.app_context():
        query = select(LoginEvent.outcome).order_by(LoginEvent.id)
        if user_id:
            query = query.where(LoginEvent.user_id == user_id)
        return list(db.session.scalars(query))


def test_a_member_signs_in_and_the_login_is_logged(app, client, member):
    response = login(client, "Worker@Test.example ")
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert _events(app, member.id) == [LoginOutcome.SUCCESS]


def test_a_wrong_password_shows_a_korean_message_and_keeps_the_email(app, client, member):
    response = client.post("/login", data={"email": "worker@test.example", "password": "wrong password"})
    assert response.status_code == 401
    page = response.get_data(as_text=True)
    assert "이메일 또는 비밀번호가 올바르지 않습니다." in page
    assert 'value="worker@test.example"' in page
    assert "wrong password" not in page
    assert _events(app, member.id) == [LoginOutcome.BAD_CREDENTIALS]


def test_an_unknown_email_gets_the_same_message_and_is_logged(app, client):
    response = client.post("/login", data={"email": "nobody@test.example", "password": "whatever1234"})
    assert "이메일 또는 비밀번호가 올바르지 않습니다." in response.get_data(as_text=True)
    assert _events(app) == [LoginOutcome.BAD_CREDENTIALS]


def test_empty_fields_get_messages_next_to_them(client):
    response = client.post("/login", data={"email": "", "password": ""})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="email-error"' in page and 'id="password-error"' in page
    assert "필수 입력 항목입니다." in page


def test_a_deactivated_account_cannot_sign_in(app, client, member):
    with app.app_context():
        db.session.get(User, member.id).active = False
        db.session.commit()
    response = login(client, member.email)
    assert response.status_code == 401
    assert "사용이 중지된 계정" in response.get_data(as_text=True)


def _session_cookie(client):
    return client.get_cookie(client.application.config["SESSION_COOKIE_NAME"])


def test_logout_ends_the_session_on_the_server(app, client, member):
    login(client, member.email)
    stolen = _session_cookie(client).value
    response = client.post("/logout")
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302
    # Replaying the cookie from before the logout does not bring the session back.
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], stolen)
    assert client.get("/").status_code == 302
    assert _events(app, member.id) == [LoginOutcome.SUCCESS, LoginOutcome.LOGOUT]


def test_signing_in_starts_a_fresh_session(app, client, member):
    client.get("/login")
    before = _session_cookie(client)
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    login(client, member.email)
    with client.session_transaction() as session:
        assert "planted" not in session
    assert before is None or _session_cookie(client).value != before.value


def _age_session(app, **changes):
    with app.app_context():
        user_session = db.session.scalars(select(UserSession).where(UserSession.ended_at.is_(None))).one()
        for key, delta in changes.items():
            setattr(user_session, key, getattr(user_session, key) - delta)
        db.session.commit()


def test_thirty_idle_minutes_end_the_session(app, client, member):
    login(client, member.email)
    _age_session(app, last_seen_at=timedelta(minutes=29))
    assert client.get("/").status_code == 200
    _age_session(app, last_seen_at=timedelta(minutes=31))
    assert client.get("/").status_code == 302


def test_a_session_ends_after_twelve_hours_even_when_active(app, client, member):
    login(client, member.email)
    _age_session(app, created_at=timedelta(hours=12, minutes=1))
    assert client.get("/").status_code == 302
    with app.app_context():
        ended = db.session.scalars(select(UserSession)).one()
        assert ended.end_reason == "expired"


def test_pages_are_not_cached_and_carry_security_headers(client, member):
    login(client, member.email)
    response = client.get("/")
    assert response.headers["Cache-Control"] == "no-store"
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "HX-Request" in response.headers["Vary"]


def test_session_cookie_is_httponly_samesite_and_secure_outside_the_demo(database_config):
    production_like = make_app(database_config, SESSION_COOKIE_SECURE=True)
    client = production_like.test_client()
    client.get("/login")
    cookie = _session_cookie(client)
    assert cookie.http_only and cookie.same_site == "Lax" and cookie.secure


def test_state_changing_requests_need_a_csrf_token(database_config, make):
    csrf_app = make_app(database_config, WTF_CSRF_ENABLED=True)
    user = make.member(make.tenant())
    client = csrf_app.test_client()
    assert client.post("/login", data={"email": user.email, "password": "correct horse battery"}).status_code == 400
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": user.email, "password": "correct horse battery", "csrf_token": token})
    assert response.status_code == 303
    assert client.post("/logout").status_code == 400  # no token: still signed in
    assert client.get("/").status_code == 200


@pytest.fixture
def rate_limited(app, monkeypatch):
    from hanaro.core.extensions import limiter

    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    limiter.reset()
    yield
    limiter.reset()


def test_repeated_login_attempts_are_rate_limited(client, rate_limited):
    statuses = [client.post("/login", data={"email": "a@b.c", "password": "x" * 10}).status_code for _ in range(4)]
    assert statuses[:3] == [401, 401, 401] and statuses[3] == 429
    assert "너무 많" in client.post("/login", data={}).get_data(as_text=True)


def test_the_language_can_be_switched_to_english(client, member):
    login(client, member.email)
    client.post("/language", data={"lang": "en"})
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in page and "Sign out" in page
    client.post("/language", data={"lang": "ko"})
    assert "로그아웃" in client.get("/").get_data(as_text=True)


def test_healthz_reports_database_and_redis_without_signing_in(app, client):
    body = client.get("/healthz").get_json()
    assert body["database"] == "ok"
    assert body["redis"] == ("ok" if app.config["REDIS_URL"] else "not_configured")
