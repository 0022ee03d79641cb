"""Sign-in answers that give nothing away, and a lockout per account and client address that
nobody can use to lock the owner out; the owner hears about it."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from hanaro.accounts import service
from hanaro.accounts.models import LoginEvent, LoginOutcome, LoginThrottle
from hanaro.core import mail
from hanaro.core.db import db, utcnow

ATTACKER = "198.51.100.23"
OWNER = "203.0.113.5"
RIGHT = "correct horse battery"
CSRF_TOKEN = re.compile(r'(name="csrf[-_]token" (?:content|value)=")[^"]*"')


@pytest.fixture
def member(make):
    return make.member(make.tenant(), roles=["case_manager"], email="worker@test.example")


@pytest.fixture
def outbox(app):
    sent = mail.outbox(app)
    sent.clear()
    yield sent
    sent.clear()


def attempt(client, email, password, address):
    return client.post("/login", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def fail(client, member, times, address=ATTACKER):
    for _ in range(times):
        assert attempt(client, member.email, "wrong password", address).status_code == 401


def _answer(response, email):
    """Status and page, without the typed e-mail and the CSRF tokens (signed with the time)."""
    page = CSRF_TOKEN.sub(r'\1TOKEN"', response.get_data(as_text=True).replace(email, "EMAIL"))
    return response.status_code, page


def test_unknown_wrong_and_locked_answers_are_identical(app, client, member):
    fail(client, member, 5)
    locked = attempt(client, member.email, RIGHT, ATTACKER)
    wrong = attempt(client, member.email, "wrong password", OWNER)
    unknown = attempt(client, "nobody@test.example", "whatever1234", OWNER)
    assert _answer(locked, member.email) == _answer(wrong, member.email) == _answer(unknown, "nobody@test.example")
    assert locked.status_code == 401
    assert "이메일 또는 비밀번호가 올바르지 않습니다." in locked.get_data(as_text=True)
    with app.app_context():
        outcomes = list(db.session.scalars(select(LoginEvent.outcome).order_by(LoginEvent.id)))
    # The log keeps the real reasons: four wrong passwords, the fifth that locked, the locked try.
    assert outcomes == [LoginOutcome.BAD_CREDENTIALS] * 4 + [LoginOutcome.LOCKED] * 2 + [LoginOutcome.BAD_CREDENTIALS] * 2


def test_an_attacker_failing_from_one_address_does_not_stop_the_owner_elsewhere(app, client, member):
    fail(client, member, 12)
    assert attempt(client, member.email, RIGHT, ATTACKER).status_code == 401  # that address is locked out
    assert attempt(client, member.email, RIGHT, OWNER).status_code == 303
    with app.app_context():
        events = db.session.execute(select(LoginEvent.outcome, LoginEvent.ip).order_by(LoginEvent.id.desc())).all()
    assert events[:2] == [(LoginOutcome.SUCCESS, OWNER), (LoginOutcome.LOCKED, ATTACKER)]


def test_hopping_within_an_ipv6_64_does_not_start_the_count_again(client, member):
    for host in range(1, 6):
        attempt(client, member.email, "wrong password", f"2001:db8:7:9::{host}")
    assert attempt(client, member.email, RIGHT, "2001:db8:7:9::99").status_code == 401
    assert attempt(client, member.email, RIGHT, "2001:db8:7:a::1").status_code == 303


def test_the_lock_ends_after_its_time_and_slow_failures_do_not_add_up(app, client, member):
    fail(client, member, 5)
    with app.app_context():
        db.session.execute(update(LoginThrottle).values(locked_until=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert attempt(client, member.email, RIGHT, ATTACKER).status_code == 303
    fail(client, member, 4)
    with app.app_context():  # the last failure was long ago: the next one counts as the first
        db.session.execute(update(LoginThrottle).values(last_failure_at=utcnow() - timedelta(minutes=16)))
        db.session.commit()
    fail(client, member, 1)
    assert attempt(client, member.email, RIGHT, ATTACKER).status_code == 303


def test_the_owner_is_emailed_once_about_lockouts_without_the_address(client, member, outbox):
    fail(client, member, 4)
    assert outbox == []
    fail(client, member, 1)
    assert len(outbox) == 1
    message = outbox[0]
    assert message["To"] == member.email and "로그인 잠금" in message["Subject"]
    body = message.get_content()
    assert "5번" in body and "15분" in body and ATTACKER not in body
    fail(client, member, 5, address="192.0.2.77")  # another address locked within the hour: no second e-mail
    assert len(outbox) == 1


def test_the_owner_is_told_at_the_next_sign_in(client, member):
    fail(client, member, 5)
    assert attempt(client, member.email, RIGHT, OWNER).status_code == 303
    notice = "비밀번호가 여러 번 틀려 로그인이 잠긴 적이 있습니다"
    assert notice in client.get("/", follow_redirects=True).get_data(as_text=True)
    client.post("/logout")
    attempt(client, member.email, RIGHT, OWNER)
    assert notice not in client.get("/", follow_redirects=True).get_data(as_text=True)


@pytest.fixture
def verified_hashes(monkeypatch):
    """The hashes argon2 was asked to verify against."""
    real = service._hasher
    hashes = []

    class Spy:
        def __getattr__(self, name):
            return getattr(real, name)

        def verify(self, stored, password):
            hashes.append(stored)
            return real.verify(stored, password)

    monkeypatch.setattr(service, "_hasher", Spy())
    return hashes


def test_the_password_is_verified_for_unknown_and_locked_accounts(client, member, verified_hashes):
    attempt(client, "nobody@test.example", RIGHT, ATTACKER)
    assert verified_hashes == [service._DUMMY_HASH]
    fail(client, member, 5)
    verified_hashes.clear()
    attempt(client, member.email, RIGHT, ATTACKER)
    assert len(verified_hashes) == 1 and verified_hashes[0] != service._DUMMY_HASH


def test_setting_a_new_password_lifts_the_locks(app, client, member):
    fail(client, member, 5)
    result = app.test_cli_runner().invoke(args=["accounts", "set-password", member.email,
                                                "--password", "a new password 2026"])
    assert result.exit_code == 0, result.output
    assert attempt(client, member.email, "a new password 2026", ATTACKER).status_code == 303
