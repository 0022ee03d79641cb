"""Access log entries can be added, never changed or removed: by the ORM guard on every backend,
and on PostgreSQL by RLS (app role) and the append-only trigger (every role, even a superuser)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine, delete, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from hanaro.accounts.models import User
from hanaro.audit.guard import AppendOnly
from hanaro.audit.models import AccessAction, AccessLogEntry
from hanaro.core.db import db
from hanaro.tenancy.context import acting_as
from hanaro.tenancy.models import Region, RegionLevel, Tenant, TenantKind
from hanaro.tenancy.orm_filter import TenantWriteRefused

from .conftest import BACKEND, PG_OWNER_ROLE, _url_for

postgres_only = pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL only")


@pytest.fixture
def entry(app, make):
    tenant = make.tenant()
    user = make.member(tenant)
    person = make.client(tenant)
    return make.access(user, tenant, person, purpose="원래 목적"), tenant, user


def test_the_orm_refuses_changing_or_deleting_an_entry(app, entry):
    log_entry, tenant, user = entry
    with app.app_context(), acting_as(tenant.id, user.id):
        loaded = db.session.get(AccessLogEntry, log_entry.id)
        loaded.purpose = "고친 목적"
        with pytest.raises(TenantWriteRefused):
            db.session.flush()
        db.session.rollback()
        db.session.delete(db.session.get(AccessLogEntry, log_entry.id))
        with pytest.raises(TenantWriteRefused):
            db.session.flush()
        db.session.rollback()


def test_orm_bulk_update_and_delete_statements_are_refused_too(app, entry):
    log_entry, tenant, user = entry
    with app.app_context(), acting_as(tenant.id, user.id):
        with pytest.raises(AppendOnly):
            db.session.execute(update(AccessLogEntry).where(AccessLogEntry.id == log_entry.id).values(purpose="x"))
        with pytest.raises(AppendOnly):
            db.session.execute(delete(AccessLogEntry).where(AccessLogEntry.id == log_entry.id))
        db.session.rollback()
        assert db.session.get(AccessLogEntry, log_entry.id).purpose == "원래 목적"


@postgres_only
def test_the_app_role_cannot_change_delete_or_truncate_with_direct_sql(app, entry):
    log_entry, tenant, user = entry
    with app.app_context(), acting_as(tenant.id, user.id):
        connection = db.session.connection()
        # RLS gives the app role no row to UPDATE or DELETE, whatever the WHERE clause says...
        changed = connection.execute(text("update access_log set purpose = 'x' where id = :id"), {"id": log_entry.id})
        deleted = connection.execute(text("delete from access_log where id = :id"), {"id": log_entry.id})
        assert changed.rowcount == 0 and deleted.rowcount == 0
        # ...and it has no TRUNCATE privilege at all.
        with pytest.raises(DBAPIError, match="permission denied"):
            with connection.begin_nested():
                connection.execute(text("truncate access_log"))
        assert connection.execute(text("select purpose from access_log where id = :id"),
                                  {"id": log_entry.id}).scalar() == "원래 목적"


def _seed_entry(session: Session) -> int:
    """A region, tenant, user and one entry, inside the session's (uncommitted) transaction."""
    code = "98" + datetime.now().strftime("%H%M%S%f")[:8]
    session.add(Region(code=code, name="삭제시험지역", level=RegionLevel.PROVINCE))
    tenant = Tenant(code=f"append-only-{code}", name="삭제시험기관", kind=TenantKind.WELFARE_CENTRE, region_code=code)
    user = User(email=f"append-only-{code}@test.example", display_name="삭제시험자")
    session.add_all([tenant, user])
    session.flush()
    with acting_as(tenant.id, user.id):
        log_entry = AccessLogEntry(tenant_id=tenant.id, user_id=user.id, client_id=1, client_tenant_id=tenant.id,
                                   client_public_id="x" * 16, action=AccessAction.VIEW, what="client",
                                   at=datetime(2020, 1, 1, tzinfo=timezone.utc))
        session.add(log_entry)
        session.flush()
        return log_entry.id


@postgres_only
@pytest.mark.committed
@pytest.mark.parametrize("statement", [
    "update access_log set purpose = 'x' where id = :id",
    "delete from access_log where id = :id",
    "truncate access_log",
])
def test_the_trigger_refuses_even_a_superuser_who_bypasses_rls(superuser_engine, statement):
    with Session(bind=superuser_engine) as session:
        try:
            entry_id = _seed_entry(session)
            with pytest.raises(DBAPIError, match="append-only"):
                with session.begin_nested():
                    session.execute(text(statement), {"id": entry_id})
            assert session.execute(text("select count(*) from access_log where id = :id"), {"id": entry_id}).scalar() == 1
        finally:
            session.rollback()


@postgres_only
@pytest.mark.committed
def test_the_documented_owner_purge_script_works_and_rearms_the_protection(app, superuser_engine):
    """The SQL `flask audit purge` prints, run by the table owner, removes old entries and leaves
    the trigger and FORCE RLS on (checked inside one transaction that is then rolled back)."""
    from hanaro.audit.cli import POSTGRES_SCRIPT

    with Session(bind=superuser_engine) as seed:
        entry_id = _seed_entry(seed)
        seed.commit()
    owner = create_engine(_url_for(PG_OWNER_ROLE))
    try:
        bound = datetime(2021, 1, 1, tzinfo=timezone.utc).isoformat()
        statements = [line.rstrip(";") for line in POSTGRES_SCRIPT.format(bound=bound).splitlines()
                      if line and not line.startswith("--") and line not in ("BEGIN;", "COMMIT;")]
        assert statements[0].startswith("ALTER TABLE access_log DISABLE TRIGGER")
        with owner.connect() as connection:
            transaction = connection.begin()
            for statement in statements:
                connection.execute(text(statement))
            assert connection.execute(text("select count(*) from access_log where id = :id"), {"id": entry_id}).scalar() == 0
            forced, trigger_enabled = connection.execute(text(
                "select c.relforcerowsecurity, t.tgenabled from pg_class c join pg_trigger t on t.tgrelid = c.oid "
                "where c.relname = 'access_log' and t.tgname = 'access_log_append_only'")).one()
            assert forced is True and trigger_enabled == "O"
            transaction.rollback()
    finally:
        owner.dispose()
        with superuser_engine.begin() as cleanup:  # the seed row is removed the owner's way
            cleanup.execute(text("alter table access_log disable trigger access_log_append_only"))
            cleanup.execute(text("delete from access_log where id = :id"), {"id": entry_id})
            cleanup.execute(text("alter table access_log enable trigger access_log_append_only"))
            cleanup.execute(text("delete from users where email like 'append-only-%'"))
            cleanup.execute(text("delete from tenants where code like 'append-only-%'"))
            cleanup.execute(text("delete from regions where name = '삭제시험지역'"))
