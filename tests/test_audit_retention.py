"""Retention: entries are kept at least two years; `flask audit purge` refuses younger cut-offs,
reports what an older one would remove and prints the owner-run SQL. It deletes nothing."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import func, select

from hanaro.audit import service
from hanaro.audit.models import AccessLogEntry
from hanaro.core import clock
from hanaro.core.db import db
from hanaro.tenancy.context import acting_as

from .conftest import BACKEND


def _count(app, tenant):
    with app.app_context(), acting_as(tenant.id, None):
        return db.session.scalar(select(func.count()).select_from(AccessLogEntry))


def test_the_cutoff_is_two_years_back_and_cannot_be_configured_lower(app):
    with app.app_context():
        assert service.earliest_purge_cutoff(date(2026, 11, 22)) == date(2024, 11, 22)
        assert service.earliest_purge_cutoff(date(2028, 2, 29)) == date(2026, 2, 28)
        app.config["AUDIT_RETENTION_YEARS"] = 1
        try:
            assert service.earliest_purge_cutoff(date(2026, 11, 22)) == date(2024, 11, 22)
        finally:
            del app.config["AUDIT_RETENTION_YEARS"]


def test_purge_refuses_dates_less_than_two_years_ago(app):
    runner = app.test_cli_runner()
    too_recent = clock.today() - timedelta(days=365)
    result = runner.invoke(args=["audit", "purge", "--before", too_recent.isoformat()])
    assert result.exit_code != 0 and "refused" in result.output and "at least 2 years" in result.output
    result = runner.invoke(args=["audit", "purge", "--before", "2026-13-01"])
    assert result.exit_code != 0


def test_purge_reports_per_tenant_prints_the_owner_sql_and_deletes_nothing(app, make):
    a, b = make.tenant(code="purge-a"), make.tenant(code="purge-b")
    a_user, b_user = make.member(a), make.member(b)
    a_client, b_client = make.client(a), make.client(b)
    old = datetime(2020, 3, 1, tzinfo=timezone.utc)
    make.access(a_user, a, a_client, at=old)
    make.access(a_user, a, b_client, at=old + timedelta(days=1))
    make.access(b_user, b, b_client, at=old)
    make.access(b_user, b, b_client)  # today: never eligible
    cutoff = service.kst_day_start(date(2021, 1, 1))
    result = app.test_cli_runner().invoke(args=["audit", "purge", "--before", "2021-01-01"])
    assert result.exit_code == 0, result.output
    assert "purge-a: 2" in result.output and "purge-b: 1" in result.output and "total: 3" in result.output
    assert "This command deletes nothing" in result.output
    if BACKEND == "postgresql":
        assert "ALTER TABLE access_log DISABLE TRIGGER access_log_append_only;" in result.output
        assert f"DELETE FROM access_log WHERE at < TIMESTAMPTZ '{cutoff.isoformat()}';" in result.output
        assert "ALTER TABLE access_log ENABLE TRIGGER access_log_append_only;" in result.output
    else:
        assert "DELETE FROM access_log WHERE at < '2020-12-31 15:00:00';" in result.output
    assert _count(app, a) == 2 and _count(app, b) == 3  # b also sees a's user on its client; nothing deleted
