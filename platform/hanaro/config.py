"""Configuration, from environment variables only."""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def from_environment() -> dict:
    demo = _flag("HANARO_DEMO")
    database_url = os.environ.get("DATABASE_URL", f"sqlite:///{REPO_ROOT / 'var' / 'hanaro.db'}")
    redis_url = os.environ.get("REDIS_URL")
    secret_key = os.environ.get("SECRET_KEY")
    return {
        "HANARO_DEMO": demo,
        "SECRET_KEY": secret_key or (os.urandom(32).hex() if demo else None),
        "SQLALCHEMY_DATABASE_URI": database_url,
        # Migrations run as the table owner; the app connects as a role that owns nothing.
        "MIGRATION_DATABASE_URL": os.environ.get("MIGRATION_DATABASE_URL") or database_url,
        "HANARO_DB_APP_ROLE": os.environ.get("HANARO_DB_APP_ROLE", "hanaro_app"),
        "REDIS_URL": redis_url,
        # Without Redis (embedded default) jobs run in-process, synchronously.
        "JOBS_IN_PROCESS": _flag("HANARO_JOBS_IN_PROCESS", default=redis_url is None),
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "DATA_ENCRYPTION_KEY": os.environ.get("HANARO_DATA_KEY"),
        "SESSION_COOKIE_SECURE": _flag("HANARO_SECURE_COOKIES", default=not demo),
        "FORCE_HTTPS": _flag("HANARO_FORCE_HTTPS", default=False),
        "MAIL_SERVER": os.environ.get("MAIL_SERVER"),
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "587")),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME"),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD"),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "hanaro@localhost"),
    }


DEFAULTS = {
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_NAME": "hanaro_session",
    "SESSION_IDLE_TIMEOUT": timedelta(minutes=30),
    "SESSION_ABSOLUTE_LIFETIME": timedelta(hours=12),
    "LOGIN_LOCKOUT_THRESHOLD": 5,
    "LOGIN_LOCKOUT_DURATION": timedelta(minutes=15),
    "LOGIN_RATE_LIMIT": "20 per minute",
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "BABEL_DEFAULT_LOCALE": "ko",
    "BABEL_DEFAULT_TIMEZONE": "Asia/Seoul",
    "BABEL_TRANSLATION_DIRECTORIES": str(REPO_ROOT / "platform" / "hanaro" / "translations"),
    "LANGUAGES": ("ko", "en"),
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the (server-checked) session
    "MIGRATIONS_DIR": str(REPO_ROOT / "migrations"),
    "TENANTS_DIR": str(REPO_ROOT / "tenants"),
}
