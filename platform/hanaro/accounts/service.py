"""Passwords, sign-in with lockout per account and address, and server-side sessions."""
from __future__ import annotations

import hashlib
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime
from email.utils import make_msgid

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, render_template
from flask_babel import force_locale, format_datetime, gettext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ..core import jobs, mail
from ..core.db import db, utcnow
from .models import LoginEvent, LoginOutcome, LoginThrottle, User, UserSession

_hasher = PasswordHasher()
# Verifying against this keeps the time of "no such user" close to "wrong password".
_DUMMY_HASH = _hasher.hash("hanaro-timing-equaliser")

MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(user: User | None, password: str) -> bool:
    stored = user.password_hash if user and user.password_hash else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
    return user is not None and user.password_hash is not None


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


@dataclass(frozen=True)
class SignInResult:
    outcome: LoginOutcome
    user: User | None = None
    # On success: when this account was last locked out somewhere since its previous sign-in.
    locked_out_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is LoginOutcome.SUCCESS


def sign_in(email: str, password: str, ip: str | None) -> SignInResult:
    """Check the credentials sent from ``ip``. Wrong passwords are counted per account and address;
    a lock stops that address only (``LoginThrottle``). The password is verified on every path —
    against a dummy hash for unknown accounts, and for locked ones too — so the time of the answer
    does not tell them apart. Writes a LoginEvent with the real reason."""
    user = find_user_by_email(email)
    now = utcnow()
    address = throttle_address(ip)
    matches = password_matches(user, password)
    if user is not None and _locked_out(user, address, now):
        result = SignInResult(LoginOutcome.LOCKED, user)
    elif not matches:
        result = SignInResult(LoginOutcome.BAD_CREDENTIALS, user)
        if user is not None and _count_failure(user, address, now):
            result = SignInResult(LoginOutcome.LOCKED, user)
    elif not user.active:
        result = SignInResult(LoginOutcome.INACTIVE, user)
    else:
        result = SignInResult(LoginOutcome.SUCCESS, user, _last_lockout_since(user, user.last_login_at))
        _forget_failures(user, address)
        user.last_login_at = now
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
    record_login_event(email, result.outcome, result.user, ip)
    return result


# -- lockout per account and address -----------------------------------------------------------

def throttle_address(ip: str | None) -> str:
    """The address wrong passwords are counted for. An IPv6 client counts as its /64 (what one
    subscriber gets), so hopping through it does not start the count again."""
    if not ip:
        return "unknown"
    try:
        parsed = ipaddress.ip_address(ip)
    except ValueError:
        return ip[:45]
    if parsed.version == 6 and parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def _throttle(user: User, address: str, for_update: bool = False) -> LoginThrottle | None:
    query = select(LoginThrottle).where(LoginThrottle.user_id == user.id, LoginThrottle.address == address)
    return db.session.scalar(query.with_for_update() if for_update else query)


def _locked_out(user: User, address: str, now: datetime) -> bool:
    throttle = _throttle(user, address)
    return throttle is not None and throttle.locked(now)


def _count_failure(user: User, address: str, now: datetime) -> bool:
    """Count a wrong password from ``address``; True when it locks that address out."""
    config = current_app.config
    throttle = _throttle(user, address, for_update=True) or _new_throttle(user, address)
    if throttle.last_failure_at is None or now - throttle.last_failure_at > config["LOGIN_FAILURE_WINDOW"]:
        throttle.failures = 0
    throttle.failures += 1
    throttle.last_failure_at = now
    if throttle.failures < config["LOGIN_LOCKOUT_THRESHOLD"]:
        db.session.flush()
        return False
    throttle.failures = 0
    throttle.locked_at, throttle.locked_until = now, now + config["LOGIN_LOCKOUT_DURATION"]
    _email_owner_about_lockout(user, throttle, now)
    db.session.flush()
    return True


def _new_throttle(user: User, address: str) -> LoginThrottle:
    throttle = LoginThrottle(user_id=user.id, address=address, failures=0)
    try:
        with db.session.begin_nested():
            db.session.add(throttle)
    except IntegrityError:  # a concurrent attempt from the same address created it first
        return _throttle(user, address, for_update=True)
    return throttle


def _email_owner_about_lockout(user: User, throttle: LoginThrottle, now: datetime) -> None:
    """Tell the owner, once per LOGIN_LOCKOUT_EMAIL_INTERVAL however many addresses get locked.
    The e-mail goes out after the commit, from a job: sending in the request would make the
    answer that locks slower than the others."""
    since = now - current_app.config["LOGIN_LOCKOUT_EMAIL_INTERVAL"]
    emailed_recently = db.session.scalar(select(LoginThrottle.id).where(
        LoginThrottle.user_id == user.id, LoginThrottle.owner_emailed_at > since).limit(1))
    if emailed_recently is not None:
        return
    throttle.owner_emailed_at = now
    jobs.after_commit(send_lockout_email, user.id, now.isoformat(), tenant_id=None)


def send_lockout_email(user_id: int, locked_at: str) -> None:
    """Job: the lockout e-mail. It names no address and no other account data: only that sign-in
    was locked somewhere, when, and what to do."""
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        return
    config = current_app.config
    with force_locale(user.locale or "ko"):
        text = render_template(
            "accounts/lockout_email.txt", locked_at=format_datetime(datetime.fromisoformat(locked_at), "yyyy-MM-dd HH:mm"),
            threshold=config["LOGIN_LOCKOUT_THRESHOLD"],
            minutes=int(config["LOGIN_LOCKOUT_DURATION"].total_seconds() // 60),
            login_url=config["PUBLIC_BASE_URL"] + "/login",
        )
        subject = gettext("[하나로] 로그인 잠금 알림")
    message_id = make_msgid("login-lockout", domain=mail.message_domain())
    mail.send(mail.make_message(user.email, subject, text, message_id))


def _last_lockout_since(user: User, since: datetime | None) -> datetime | None:
    query = select(func.max(LoginThrottle.locked_at)).where(LoginThrottle.user_id == user.id)
    if since is not None:
        query = query.where(LoginThrottle.locked_at > since)
    return db.session.scalar(query)


def _forget_failures(user: User, address: str) -> None:
    throttle = _throttle(user, address)
    if throttle is not None:
        throttle.failures = 0


def lift_lockouts(user: User) -> None:
    """Every address may try again (an operator reset the password)."""
    for throttle in db.session.scalars(select(LoginThrottle).where(LoginThrottle.user_id == user.id)):
        throttle.failures, throttle.locked_until = 0, None
    db.session.flush()


def record_login_event(login: str, outcome: LoginOutcome, user: User | None, ip: str | None) -> None:
    db.session.add(
        LoginEvent(login_attempted=login.strip()[:254], outcome=outcome, user_id=user.id if user else None, ip=ip)
    )
    db.session.flush()


# -- server-side sessions ----------------------------------------------------------------------

def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, active_tenant_id: int | None) -> str:
    """Create a new server-side session and return the token for the cookie."""
    token = secrets.token_urlsafe(32)
    db.session.add(UserSession(token_hash=_hash_token(token), user=user, active_tenant_id=active_tenant_id))
    db.session.flush()
    return token


def load_session(token: str | None) -> UserSession | None:
    """The live session for ``token``, or None. Ends sessions past the idle or absolute limit."""
    if not token:
        return None
    user_session = db.session.scalar(
        select(UserSession).options(joinedload(UserSession.user)).where(UserSession.token_hash == _hash_token(token))
    )
    if user_session is None or user_session.ended_at is not None:
        return None
    now = utcnow()
    config = current_app.config
    if now - user_session.created_at > config["SESSION_ABSOLUTE_LIFETIME"]:
        end_session(user_session, "expired")
        return None
    if now - user_session.last_seen_at > config["SESSION_IDLE_TIMEOUT"]:
        end_session(user_session, "idle")
        return None
    if not user_session.user.active:
        end_session(user_session, "inactive")
        return None
    # Avoid a write on every request: a minute's precision is plenty for a 30-minute timeout.
    if (now - user_session.last_seen_at).total_seconds() > 60:
        user_session.last_seen_at = now
    return user_session


def end_session(user_session: UserSession, reason: str) -> None:
    user_session.ended_at = utcnow()
    user_session.end_reason = reason
    db.session.flush()
