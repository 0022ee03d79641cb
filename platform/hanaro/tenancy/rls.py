"""Enforcer 2 of 2: PostgreSQL Row-Level Security.

At the start of every transaction the active tenant and user are written into transaction-local
settings with bound ``set_config(..., true)``; policies generated from ``policy`` read them.
With no context both are empty and the policies let nothing through. Migrations call
:func:`install` for each tenant-owned table.
"""
from __future__ import annotations

from sqlalchemy import event, text
from sqlalchemy.orm import Session

from . import context, policy

SET_CONTEXT = text(
    "select set_config('hanaro.tenant_id', :tenant_id, true), "
    "set_config('hanaro.user_id', :user_id, true)"
)


def _as_setting(value) -> str:
    return "" if value is None else str(value)


def apply_context(connection, ctx) -> None:
    if connection.dialect.name != "postgresql":
        return
    connection.execute(
        SET_CONTEXT,
        {
            "tenant_id": _as_setting(ctx.tenant_id if ctx else None),
            "user_id": _as_setting(ctx.user_id if ctx else None),
        },
    )


@event.listens_for(Session, "after_begin")
def _set_context_on_begin(session, transaction, connection):
    apply_context(connection, context.current())


def reapply_to_session(scoped) -> None:
    """The context changed inside an open transaction (e.g. right after login): re-apply it."""
    from flask import has_app_context

    if not has_app_context() or not scoped.registry.has():
        return
    session = scoped()
    if session.in_transaction():
        for connection in _connections(session):
            apply_context(connection, context.current())


def _connections(session):
    transaction = session.get_transaction()
    if transaction is None:
        return []
    return [conn for conn, *_ in transaction._connections.values()]


# -- migrations ------------------------------------------------------------------------------

def install(op, table: str, app_role: str | None = None) -> None:
    """ENABLE + FORCE RLS on ``table`` and (re)create its policies from ``policy``."""
    if op.get_bind().dialect.name != "postgresql":
        return
    visibility = policy.visibility_for_table(table)
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    for command in ("select", "insert", "update", "delete"):
        op.execute(f"DROP POLICY IF EXISTS {table}_{command} ON {table}")
    for statement in visibility.rls_policies(table):
        op.execute(statement)
    fix_tenant_id(op, table)


# A participant that may update a row (a referral's receiver, a nomination's nominator) passes the
# WITH CHECK of its own rule even after rewriting tenant_id to itself: only a trigger can say "never".
TENANT_ID_FIXED_FUNCTION = """
CREATE OR REPLACE FUNCTION hanaro_tenant_id_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.tenant_id IS DISTINCT FROM OLD.tenant_id THEN
    RAISE EXCEPTION 'tenant_id of a % row never changes', TG_TABLE_NAME USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$
"""


def fix_tenant_id(op, table: str) -> None:
    """A trigger refusing any change of ``tenant_id`` on ``table``, for every role."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(TENANT_ID_FIXED_FUNCTION)
    op.execute(f"DROP TRIGGER IF EXISTS {table}_tenant_id_fixed ON {table}")
    op.execute(f"CREATE TRIGGER {table}_tenant_id_fixed BEFORE UPDATE OF tenant_id ON {table} "
               f"FOR EACH ROW EXECUTE FUNCTION hanaro_tenant_id_fixed()")


def grant_app_role(connection, role: str) -> None:
    """Give the application role DML rights (and nothing more) on every table, if it exists."""
    if connection.dialect.name != "postgresql":
        return
    exists = connection.execute(text("select 1 from pg_roles where rolname = :r"), {"r": role}).scalar()
    if not exists:
        return
    quoted = '"' + role.replace('"', '""') + '"'
    connection.execute(text(f"GRANT USAGE ON SCHEMA public TO {quoted}"))
    connection.execute(text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}"))
    connection.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}"))
