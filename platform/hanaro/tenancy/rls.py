"""Enforcer 2 of 2: PostgreSQL Row-Level Security.

At the start of every transaction the active tenant and user are written into transaction-local
settings with bound ``set_config(..., true)``; policies generated from ``policy`` read them.
With no context both are empty and the policies let nothing through. Migrations call
:func:`install` for each tenant-owned table.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from . import context, policy

SET_CONTEXT = text(
    "select set_config('hanaro.tenant_id', :tenant_id, true), "
    "set_config('hanaro.user_id', :user_id, true)"
)


def _as_setting(value) -> str:
    return "" if value is None else str(value)


# What a connection's current transaction has been given: (transaction, (tenant, user)). Only
# a change costs a round trip (a request changes the context three times, mostly to the same).
APPLIED = "hanaro_rls_applied"
EMPTY = ("", "")


def apply_context(connection, ctx) -> None:
    if connection.dialect.name != "postgresql":
        return
    wanted = (_as_setting(ctx.tenant_id if ctx else None), _as_setting(ctx.user_id if ctx else None))
    transaction = connection.get_transaction()
    applied = connection.info.get(APPLIED)
    if applied is not None and applied[0] is transaction and applied[1] == wanted:
        return
    connection.execute(SET_CONTEXT, {"tenant_id": wanted[0], "user_id": wanted[1]})
    connection.info[APPLIED] = (transaction, wanted)


@event.listens_for(Session, "after_begin")
def _set_context_on_begin(session, transaction, connection):
    # The settings are transaction-local (set_config(..., true)), so a new database transaction
    # starts with both empty: with no context there is nothing to send. A session joining a
    # transaction already under way (a savepoint) keeps what that transaction was given.
    applied = connection.info.get(APPLIED)
    if applied is None or applied[0] is not connection.get_transaction():
        connection.info[APPLIED] = (connection.get_transaction(), EMPTY)
    apply_context(connection, context.current())


@event.listens_for(Engine, "rollback_savepoint")
def _forget_on_savepoint_rollback(connection, name, context_):
    # Rolling back to a savepoint undoes a set_config made after it: send the next one again.
    connection.info[APPLIED] = (connection.get_transaction(), None)


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
    """The transaction's connections, each once (it lists a connection under its engine too)."""
    transaction = session.get_transaction()
    if transaction is None:
        return []
    return list({id(conn): conn for conn, *_ in transaction._connections.values()}.values())


# -- migrations ------------------------------------------------------------------------------
#
# A migration carries the policies it installs: they are frozen, when it is written, into
# migrations/policies/<revision>.json (``flask tenancy freeze-policies``), so replaying an old
# migration installs what it installed then, and a change of a model's rules needs a migration
# that carries the new ones (tests compare ``pg_policies`` with the models).

def frozen(migration_file: str, revision: str | None = None) -> dict:
    """The frozen policies of the migration at ``migration_file`` (its revision is the file
    name's prefix), or of another ``revision`` beside it: table name -> its entry (see :func:`freeze`)."""
    path = Path(migration_file).resolve()
    revision = revision or path.name.split("_", 1)[0]
    return json.loads((path.parent.parent / "policies" / f"{revision}.json").read_text(encoding="utf-8"))


def revision_order(migrations_dir: Path) -> list[str]:
    """Revision ids from oldest to newest, following each migration's ``down_revision``."""
    parents = {}
    for path in (migrations_dir / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision = re.search(r"^revision = '([^']+)'", source, re.M).group(1)
        parents[revision] = re.search(r"^down_revision = (?:'([^']+)'|None)", source, re.M).group(1)
    order, current = [], next(r for r in parents if r not in parents.values())  # the head
    while current:
        order.append(current)
        current = parents[current]
    return order[::-1]


def newest_frozen(migrations_dir: Path, before: str | None = None) -> dict[str, dict]:
    """Per table, the entry installed by the last migration (older than ``before``) that installed it:
    what a migration's downgrade puts back."""
    installed = {}
    for revision in revision_order(migrations_dir):
        if revision == before:
            break
        path = migrations_dir / "policies" / f"{revision}.json"
        if path.exists():
            for table, entry in json.loads(path.read_text(encoding="utf-8")).items():
                installed[table] = entry if isinstance(entry, dict) else {"policies": entry, "update_guard": None}
    return installed


def frozen_before(migration_file: str) -> dict[str, dict]:
    """For a migration's downgrade: each table's entry as the migrations before it left it."""
    path = Path(migration_file).resolve()
    return newest_frozen(path.parent.parent, before=path.name.split("_", 1)[0])


def freeze(table: str) -> dict:
    """Today's policies and update guard of ``table``, as a migration carries them."""
    from .owned import references

    visibility = policy.visibility_for_table(table)
    return {"policies": visibility.rls_policies(table), "insert_guard": visibility.insert_guard(references(table)),
            "update_guard": visibility.update_guard()}


def install(op, table: str, entry) -> None:
    """ENABLE + FORCE RLS on ``table`` and (re)create its policies from a frozen ``entry`` (a
    list of statements, as the first migrations froze them, or a :func:`freeze` dict)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    statements = entry if isinstance(entry, list) else entry["policies"]
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    for command in ("select", "insert", "update", "delete"):
        op.execute(f"DROP POLICY IF EXISTS {table}_{command} ON {table}")
    for statement in statements:
        op.execute(statement)
    fix_tenant_id(op, table)
    if isinstance(entry, dict):
        guard_updates(op, table, entry.get("update_guard"))
        guard_inserts(op, table, entry.get("insert_guard"))


# Row-level rules a policy cannot state, because WITH CHECK sees only the new row: a grant is
# never re-aimed, and a participant (not the owner) changes only its answer. With no tenant in
# the context RLS already refuses the application role everything; maintenance roles pass.
GUARD_UPDATE_FUNCTION = """
CREATE OR REPLACE FUNCTION hanaro_guard_update() RETURNS trigger LANGUAGE plpgsql
SET search_path = public, pg_temp AS $$
DECLARE
  fixed text[] := TG_ARGV[0]::text[];
  participant text[] := TG_ARGV[1]::text[];
  acting bigint := nullif(current_setting('hanaro.tenant_id', true), '')::bigint;
  before jsonb := to_jsonb(OLD);
  after jsonb := to_jsonb(NEW);
  name text;
  moves text;
BEGIN
  FOREACH name IN ARRAY fixed LOOP
    IF before -> name IS DISTINCT FROM after -> name THEN
      RAISE EXCEPTION '%.% never changes', TG_TABLE_NAME, name USING ERRCODE = 'insufficient_privilege';
    END IF;
  END LOOP;
  IF acting IS NULL THEN
    RETURN NEW;
  END IF;
  IF acting IS DISTINCT FROM OLD.tenant_id THEN
    FOR name IN SELECT jsonb_object_keys(after) LOOP
      IF NOT (name = ANY(participant)) AND before -> name IS DISTINCT FROM after -> name THEN
        RAISE EXCEPTION 'only the owner of a % row may change %', TG_TABLE_NAME, name
          USING ERRCODE = 'insufficient_privilege';
      END IF;
    END LOOP;
  END IF;
  -- A state column: each side makes only its own moves ('from>to'; '*' for any).
  IF TG_NARGS > 2 AND before ->> TG_ARGV[2] IS DISTINCT FROM after ->> TG_ARGV[2] THEN
    moves := CASE WHEN acting = OLD.tenant_id THEN TG_ARGV[4] ELSE TG_ARGV[3] END;
    IF moves <> '*' AND NOT ((before ->> TG_ARGV[2]) || '>' || (after ->> TG_ARGV[2])) = ANY(moves::text[]) THEN
      RAISE EXCEPTION '%.% may not move from % to % for this tenant', TG_TABLE_NAME, TG_ARGV[2],
        before ->> TG_ARGV[2], after ->> TG_ARGV[2] USING ERRCODE = 'insufficient_privilege';
    END IF;
  END IF;
  RETURN NEW;
END $$
"""


# A new row points only at rows its writer reads, a grant only at an object its writer owns, and a
# writer column (author, actor, sender) names the writing tenant or nobody;
# so does a row whose foreign key an update changes. A trigger, not the insert policy: a parent's
# read policy may read the child's table (a case reads its team), and PostgreSQL refuses a policy
# that comes back to its own table. Inside the trigger the parent is read under RLS as usual: a row
# the writer cannot see has no owner here. The search_path is pinned and the parent
# schema-qualified, so a temporary table cannot stand in for the parent.
GUARD_INSERT_FUNCTION = """
CREATE OR REPLACE FUNCTION hanaro_guard_insert() RETURNS trigger LANGUAGE plpgsql
SET search_path = public, pg_temp AS $$
DECLARE
  acting bigint := nullif(current_setting('hanaro.tenant_id', true), '')::bigint;
  fields jsonb := to_jsonb(NEW);
  earlier jsonb := CASE WHEN TG_OP = 'UPDATE' THEN to_jsonb(OLD) END;
  parent_id bigint;
  owner bigint;
  i int := 0;
BEGIN
  IF acting IS NULL THEN
    RETURN NEW;
  END IF;
  WHILE i < TG_NARGS LOOP
    parent_id := (fields ->> TG_ARGV[i])::bigint;
    IF TG_ARGV[i + 2] = 'self' THEN
      IF earlier IS NULL AND parent_id IS DISTINCT FROM acting AND parent_id IS NOT NULL THEN
        RAISE EXCEPTION '%.% names another tenant than the one writing', TG_TABLE_NAME, TG_ARGV[i]
          USING ERRCODE = 'insufficient_privilege';
      END IF;
    ELSIF parent_id IS NOT NULL AND (earlier IS NULL OR earlier ->> TG_ARGV[i] IS DISTINCT FROM fields ->> TG_ARGV[i]) THEN
      owner := NULL;
      EXECUTE format('SELECT tenant_id FROM %I.%I WHERE id = $1', TG_TABLE_SCHEMA, TG_ARGV[i + 1])
        INTO owner USING parent_id;
      IF owner IS NULL OR (TG_ARGV[i + 2] = 'owns' AND owner <> acting) THEN
        RAISE EXCEPTION '%.% points at a % row this tenant may not use', TG_TABLE_NAME, TG_ARGV[i], TG_ARGV[i + 1]
          USING ERRCODE = 'insufficient_privilege';
      END IF;
    END IF;
    i := i + 3;
  END LOOP;
  RETURN NEW;
END $$
"""


def guard_inserts(op, table: str, triples: list[str] | None) -> None:
    """(Re)create or drop ``table``'s reference trigger for its (column, parent, reads/owns) ``triples``."""
    op.execute(GUARD_INSERT_FUNCTION)
    op.execute(f"DROP TRIGGER IF EXISTS {table}_guard_insert ON {table}")
    if triples:
        arguments = ", ".join(f"'{name}'" for name in triples)
        op.execute(f"CREATE TRIGGER {table}_guard_insert BEFORE INSERT OR UPDATE ON {table} FOR EACH ROW "
                   f"EXECUTE FUNCTION hanaro_guard_insert({arguments})")


def _text_array(names) -> str:
    return "{" + ",".join(names) + "}"


def guard_updates(op, table: str, guard: dict | None) -> None:
    """(Re)create or drop ``table``'s update guard trigger (see :func:`freeze`)."""
    op.execute(GUARD_UPDATE_FUNCTION)
    op.execute(f"DROP TRIGGER IF EXISTS {table}_guard_update ON {table}")
    if guard is None:
        return
    arguments = [_text_array(guard["fixed"]), _text_array(guard["participant"])]
    moves = guard.get("transitions")
    if moves:
        owner = "*" if moves["owner"] is None else _text_array(moves["owner"])
        arguments += [moves["column"], _text_array(moves["participant"]), owner]
    quoted = ", ".join(f"'{argument}'" for argument in arguments)
    op.execute(f"CREATE TRIGGER {table}_guard_update BEFORE UPDATE ON {table} FOR EACH ROW "
               f"EXECUTE FUNCTION hanaro_guard_update({quoted})")


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
