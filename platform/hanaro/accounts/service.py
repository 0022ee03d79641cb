"""Passwords, sign-in with lockout, and server-side sessions."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..core.db import db, utcnow
from .models import LoginEvent, LoginOutcome, User, UserSession

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
    locked_until: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is LoginOutcome.SUCCESS


def sign_in(email: str, password: str, ip: str | None) -> SignInResult:
    """Check the credentials, count failures, lock after too many. Writes a LoginEvent."""
    user = find_user_by_email(email)
    now = utcnow()
    if user is not None and user.locked_until is not None and user.locked_until > now:
        result = SignInResult(LoginOutcome.LOCKED, user, user.locked_until)
    elif not password_matches(user, password):
        result = SignInResult(LoginOutcome.BAD_CREDENTIALS, user)
        if user is not None:
            _count_failure(user, now)
            if user.locked_until is not None and user.locked_until > now:
                result = SignInResult(LoginOutcome.LOCKED, user, user.locked_until)
    elif not user.active:
        result = SignInResult(LoginOutcome.INACTIVE, user)
    else:
        user.failed_logins = 0
        user.locked_until = None
        user.last_login_at = now
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        result = SignInResult(LoginOutcome.SUCCESS, user)
    record_login_event(email, result.outcome, result.user, ip)
    return result


def _count_failure(user: User, now: datetime) -> None:
    user.failed_logins = (user.failed_logins or 0) + 1
    if user.failed_logins >= current_app.config["LOGIN_LOCKOUT_THRESHOLD"]:
        user.locked_until = now + current_app.config["LOGIN_LOCKOUT_DURATION"]
        user.failed_logins = 0


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
