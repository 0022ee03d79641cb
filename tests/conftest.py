"""Test harness: one database per run (PostgreSQL with RLS when reachable, else SQLite),
migrated once, and every test inside a transaction that is rolled back."""
from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from flask_migrate import upgrade
from flask_sqlalchemy.session import _app_ctx_id
from sqlalchemy import create_engine, text
from sqlalchemy.orm import scoped_session, sessionmaker

from hanaro import create_app
from hanaro.core.db import db

from .factories import Factory
from .helpers import count_queries  # noqa: F401  (re-exported for tests)

REQUIRE_SERVICES = os.environ.get("HANARO_REQUIRE_SERVICES") == "1"
PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
PG_TEST_DB = os.environ.get("HANARO_TEST_DB", "hanaro_test")
PG_OWNER_ROLE = "hanaro_test_owner"
PG_APP_ROLE = "hanaro_test_app"


def _postgres_reachable() -> bool:
    try:
        engine = create_engine(PG_ADMIN_URL)
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        return False


def _redis_reachable() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


BACKEND = "postgresql" if _postgres_reachable() else "sqlite"
REDIS_AVAILABLE = _redis_reachable()


def pytest_report_header(config):
    return f"hanaro: database={BACKEND}, redis={'yes' if REDIS_AVAILABLE else 'no'}"


def pytest_sessionstart(session):
    missing = [name for name, ok in (("PostgreSQL", BACKEND == "postgresql"), ("Redis", REDIS_AVAILABLE)) if not ok]
    if REQUIRE_SERVICES and missing:
        pytest.exit(f"HANARO_REQUIRE_SERVICES=1 but not reachable: {', '.join(missing)}", returncode=3)


def _url_for(role: str, database: str = PG_TEST_DB) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    scheme, rest = base.split("://", 1)
    host = rest.split("@", 1)[-1]
    return f"{scheme}://{role}@{host}/{database}"


def _create_postgres_database() -> dict:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {PG_TEST_DB} WITH (FORCE)"))
        for role in (PG_OWNER_ROLE, PG_APP_ROLE):
            exists = connection.execute(text("select 1 from pg_roles where rolname = :r"), {"r": role}).scalar()
            if not exists:
                connection.execute(text(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"))
        connection.execute(text(f"CREATE DATABASE {PG_TEST_DB} OWNER {PG_OWNER_ROLE}"))
    admin.dispose()
    return {
        "SQLALCHEMY_DATABASE_URI": _url_for(PG_APP_ROLE),
        "MIGRATION_DATABASE_URL": _url_for(PG_OWNER_ROLE),
        "HANARO_DB_APP_ROLE": PG_APP_ROLE,
    }


@pytest.fixture(scope="session")
def database_config(tmp_path_factory) -> dict:
    if BACKEND == "postgresql":
        return _create_postgres_database()
    path = tmp_path_factory.mktemp("db") / "hanaro-test.db"
    return {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "MIGRATION_DATABASE_URL": f"sqlite:///{path}"}


def make_app(database_config: dict, **overrides):
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "HANARO_DEMO": False,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": True,
        "LOGIN_RATE_LIMIT": "10000 per minute",  # the rate-limit test lowers it
        "SESSION_COOKIE_SECURE": False,
        "REDIS_URL": REDIS_URL if REDIS_AVAILABLE else None,
        "JOBS_IN_PROCESS": True,
        "DATA_ENCRYPTION_KEY": "dGVzdC1vbmx5LWRhdGEta2V5LTMyLWJ5dGVzLWxvbmc=",
        **database_config,
        **overrides,
    }
    return create_app(config)


@pytest.fixture(scope="session")
def app(database_config):
    app = make_app(database_config)
    with app.app_context():
        upgrade(directory=app.config["MIGRATIONS_DIR"])
    return app


@pytest.fixture(scope="session")
def superuser_engine(database_config):
    """Bypasses RLS (PostgreSQL superuser) to see the ground truth. PostgreSQL only."""
    if BACKEND != "postgresql":
        pytest.skip("PostgreSQL only")
    engine = create_engine(_url_for("postgres"))
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def _rolled_back_transaction(request, app):
    """Every session of the test joins one outer transaction, rolled back at the end."""
    if request.node.get_closest_marker("committed"):
        yield
        return
    with app.app_context():
        connection = db.engine.connect()
    outer = connection.begin()
    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    original = db.session
    db.session = scoped_session(factory, scopefunc=_app_ctx_id)
    try:
        yield connection
    finally:
        db.session = original
        outer.rollback()
        connection.close()


@pytest.fixture
def make(app) -> Factory:
    return Factory(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def ctx(app):
    """An application context for service-level tests (no requests inside it)."""
    with app.app_context():
        yield


@pytest.fixture(autouse=True)
def _no_outbound_network(monkeypatch):
    """Tests talk to local services only: no mail, no outside hosts."""
    real_connect = socket.socket.connect

    def guarded_connect(sock, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (
            host in ("localhost", "::1") or host.startswith("127.") or host.startswith("/")
        ):
            raise RuntimeError(f"outbound connection to {host} blocked in tests")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    import smtplib

    def no_smtp(*args, **kwargs):
        raise RuntimeError("sending mail is blocked in tests")

    monkeypatch.setattr(smtplib.SMTP, "connect", no_smtp)


ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@pytest.fixture
def signed_in(app, make):
    """``signed_in("tenant_admin", tenant=None)`` → (client, user, tenant): a client signed in
    with that role in a tenant (a new one unless given)."""
    from .helpers import login

    def sign_in(*roles, tenant=None):
        tenant = tenant or make.tenant()
        user = make.member(tenant, roles=list(roles) or ["viewer"])
        client = app.test_client()
        assert login(client, user.email).status_code == 303
        return client, user, tenant

    return sign_in
