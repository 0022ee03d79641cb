"""Behind a TLS-terminating proxy: with HANARO_TRUSTED_PROXIES the client's address comes from
X-Forwarded-For (login events, the access log, rate limits); without it the header is ignored."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from hanaro import config
from hanaro.accounts.models import LoginEvent
from hanaro.audit.models import AccessLogEntry
from hanaro.core.db import db
from hanaro.core.extensions import limiter
from hanaro.tenancy.context import acting_as

from .conftest import make_app
from .helpers import login

PROXY = "10.0.0.2"
CLIENT = "203.0.113.7"
OTHER_CLIENT = "198.51.100.9"


@pytest.fixture
def behind_one_proxy(database_config):
    return make_app(database_config, TRUSTED_PROXIES=1)


def via_proxy(forwarded_for):
    return {"environ_base": {"REMOTE_ADDR": PROXY}, "headers": {"X-Forwarded-For": forwarded_for}}


def _login_ips(app):
    with app.app_context():
        return list(db.session.scalars(select(LoginEvent.ip).order_by(LoginEvent.id)))


def test_the_setting_is_read_from_the_environment_and_off_by_default(monkeypatch):
    monkeypatch.delenv("HANARO_TRUSTED_PROXIES", raising=False)
    assert config.from_environment()["TRUSTED_PROXIES"] == 0
    monkeypatch.setenv("HANARO_TRUSTED_PROXIES", "2")
    assert config.from_environment()["TRUSTED_PROXIES"] == 2


def test_login_events_record_the_forwarded_client_address(behind_one_proxy, make):
    user = make.member(make.tenant())
    client = behind_one_proxy.test_client()
    # A client-made entry before the proxy's own is not trusted: one proxy, one entry from the right.
    client.post("/login", data={"email": user.email, "password": "wrong password"},
                **via_proxy(f"6.6.6.6, {CLIENT}"))
    assert _login_ips(behind_one_proxy) == [CLIENT]


def test_without_the_setting_a_forged_forwarded_for_is_ignored(app, client, make):
    user = make.member(make.tenant())
    client.post("/login", data={"email": user.email, "password": "wrong password"}, **via_proxy(CLIENT))
    assert _login_ips(app) == [PROXY]


def test_the_access_log_records_the_forwarded_client_address(behind_one_proxy, make):
    tenant = make.tenant()
    user = make.member(tenant, roles=["case_manager"])
    person = make.client(tenant)
    client = behind_one_proxy.test_client()
    client.environ_base.update(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=CLIENT)
    assert login(client, user.email).status_code == 303
    assert client.get(f"/clients/{person.public_id}").status_code == 200
    with behind_one_proxy.app_context(), acting_as(tenant.id, None):
        assert db.session.scalars(select(AccessLogEntry.ip)).all() == [CLIENT]


@pytest.fixture
def three_per_minute():
    limiter.reset()
    yield "3 per minute"
    limiter.reset()


def _statuses(app, forwarded_for, times):
    client = app.test_client()
    return [client.post("/login", data={"email": "a@b.c", "password": "x" * 10}, **via_proxy(forwarded_for)).status_code
            for _ in range(times)]


def test_rate_limits_count_per_forwarded_client(database_config, three_per_minute):
    app = make_app(database_config, TRUSTED_PROXIES=1, LOGIN_RATE_LIMIT=three_per_minute)
    assert _statuses(app, CLIENT, 4) == [401, 401, 401, 429]
    assert _statuses(app, OTHER_CLIENT, 1) == [401]  # one client does not lock the others out


def test_without_the_setting_forged_addresses_do_not_escape_the_rate_limit(database_config, three_per_minute):
    app = make_app(database_config, LOGIN_RATE_LIMIT=three_per_minute)
    assert _statuses(app, CLIENT, 3) == [401, 401, 401]
    assert _statuses(app, OTHER_CLIENT, 1) == [429]
