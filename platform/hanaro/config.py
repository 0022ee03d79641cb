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
        # How many reverse proxies in front of the app append X-Forwarded-For / set X-Forwarded-Proto.
        # 0 (default): the headers are ignored, so a client cannot forge its address.
        "TRUSTED_PROXIES": int(os.environ.get("HANARO_TRUSTED_PROXIES") or "0"),
        "MAIL_SERVER": os.environ.get("MAIL_SERVER"),
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "587")),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME"),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD"),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "hanaro@localhost"),
        # STARTTLS on MAIL_PORT (587); MAIL_USE_SSL for implicit TLS (465) instead.
        "MAIL_USE_TLS": _flag("MAIL_USE_TLS", default=True),
        "MAIL_USE_SSL": _flag("MAIL_USE_SSL", default=False),
        # smtp | file | memory | module:Class; empty: smtp with MAIL_SERVER, else .eml files in MAIL_FILE_DIR.
        "MAIL_TRANSPORT": os.environ.get("MAIL_TRANSPORT", ""),
        "MAIL_FILE_DIR": os.environ.get("MAIL_FILE_DIR", str(REPO_ROOT / "var" / "mail")),
        # Links in e-mails are absolute: where users reach this installation.
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        # Resource distribution campaigns: the resident registry the checks ask (a CSV of status
        # changes, or "module:Class" for a live link) and the concentration period in days.
        "RESIDENT_REGISTRY_CSV": os.environ.get("HANARO_RESIDENT_REGISTRY_CSV") or None,
        "RESIDENT_REGISTRY": os.environ.get("HANARO_RESIDENT_REGISTRY") or None,
        "CAMPAIGN_CONCENTRATION_DAYS": int(os.environ.get("HANARO_CAMPAIGN_CONCENTRATION_DAYS", "365")),
        # The largest request body, refused (413) before it is parsed. The largest legitimate one
        # is a form with ten 5 MB files (referral attachments, corrective-action evidence).
        "MAX_CONTENT_LENGTH": int(os.environ.get("HANARO_MAX_REQUEST_MB", "60")) * 1024 * 1024,
        # Rows a notification delivery job plans or claims per transaction (see DEFAULTS).
        "NOTIFY_BATCH_SIZE": int(os.environ.get("HANARO_NOTIFY_BATCH_SIZE", "100")),
    }


DEFAULTS = {
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_NAME": "hanaro_session",
    "SESSION_IDLE_TIMEOUT": timedelta(minutes=30),
    "SESSION_ABSOLUTE_LIFETIME": timedelta(hours=12),
    # Wrong passwords for one account from one address (failures further apart than the window
    # start the count again) before that address is locked out of that account, and for how long.
    "LOGIN_LOCKOUT_THRESHOLD": 5,
    "LOGIN_FAILURE_WINDOW": timedelta(minutes=15),
    "LOGIN_LOCKOUT_DURATION": timedelta(minutes=15),
    # The owner is e-mailed about a lock at most this often (locks from many addresses: one e-mail).
    "LOGIN_LOCKOUT_EMAIL_INTERVAL": timedelta(hours=1),
    "LOGIN_RATE_LIMIT": "20 per minute",
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "BABEL_DEFAULT_LOCALE": "ko",
    "BABEL_DEFAULT_TIMEZONE": "Asia/Seoul",
    "BABEL_TRANSLATION_DIRECTORIES": str(REPO_ROOT / "platform" / "hanaro" / "translations"),
    "LANGUAGES": ("ko", "en"),
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the (server-checked) session
    "MIGRATIONS_DIR": str(REPO_ROOT / "migrations"),
    "TENANTS_DIR": str(REPO_ROOT / "tenants"),
    # Notification e-mail (hanaro.notifications.delivery): attempts before a delivery is "failed",
    # the first retry delay (doubled each time), how long a worker's claim on a delivery lasts,
    # and how old undelivered work must be before the sweep re-enqueues it. A delivery job plans
    # and claims at most NOTIFY_BATCH_SIZE rows per transaction and hands what is left to a new job
    # after NOTIFY_JOB_SECONDS (well inside its rq timeout; see notifications/delivery.py).
    "MAIL_TIMEOUT": 30,
    "MAIL_MAX_ATTEMPTS": 5,
    "MAIL_RETRY_BASE_SECONDS": 300,
    "MAIL_SEND_LEASE_SECONDS": 300,
    "NOTIFY_SWEEP_GRACE_SECONDS": 120,
    "NOTIFY_JOB_SECONDS": 60,
    # The periodic scheduler (`flask scheduler`, hanaro.core.schedule): seconds between ticks.
    "SCHEDULER_TICK_SECONDS": 30,
}


def postgresql_engine_options(options: dict) -> dict:
    """JIT off for the app's connections: its statements are short indexed queries, but RLS policies
    with correlated sub-selects make the planner's estimate cross the JIT threshold, and compiling
    then costs far more than the query (measured on the oversight tables: 550–940 ms with JIT for
    what takes 2–20 ms without)."""
    connect_args = dict(options.get("connect_args") or {})
    connect_args["options"] = f"{connect_args.get('options', '')} -c jit=off".strip()
    return {**options, "connect_args": connect_args}
