"""The database enforces the policies the models declare, whatever migrations it went through.

Migrations carry the policies they install (migrations/policies/<revision>.json). A change of a
model's rules without a migration carrying the new ones fails here, first without a database (the
newest frozen entry of every table equals what the models declare), then on PostgreSQL (the
migrated database's ``pg_policies`` and update guards equal what the models declare).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from hanaro.tenancy import policy, rls

from .conftest import BACKEND

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def _newest_frozen() -> dict[str, dict]:
    """Per table, the policies installed by the last migration that installed them."""
    return rls.newest_frozen(MIGRATIONS)


def test_every_migration_that_installs_policies_carries_them():
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        if "rls.install(" in source:
            assert "POLICIES = rls.frozen(__file__)" in source, path.name
            assert (MIGRATIONS / "policies" / f"{path.name.split('_', 1)[0]}.json").exists(), path.name


def test_the_newest_frozen_policies_are_what_the_models_declare(app):
    installed = _newest_frozen()
    drifted = sorted(table for table in policy.REGISTRY if installed.get(table) != rls.freeze(table))
    assert drifted == [], (
        f"the rules of {drifted} changed without a migration carrying them: write one that installs "
        "them (flask tenants freeze-policies <revision> <tables>)")


@pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL only")
def test_the_migrated_database_enforces_exactly_what_the_models_declare(app):
    """``pg_policies`` keeps PostgreSQL's own rendering of each expression, so the declared policy is
    created beside the installed one under another name and both renderings are compared."""
    engine = create_engine(app.config["MIGRATION_DATABASE_URL"])
    differences = []
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            for table in sorted(policy.REGISTRY):
                differences += _policy_differences(connection, table)
                differences += _guard_differences(connection, table)
        finally:
            transaction.rollback()
    engine.dispose()
    assert differences == []


def _policy_differences(connection, table: str) -> list[str]:
    differences = []
    for statement in rls.freeze(table)["policies"]:
        name = re.match(r"CREATE POLICY (\w+) ON", statement).group(1)
        connection.execute(text(statement.replace(f"CREATE POLICY {name} ON", f"CREATE POLICY {name}_declared ON", 1)))
        rows = dict(connection.execute(text(
            "select policyname, (cmd, qual, with_check)::text from pg_policies where tablename = :t "
            "and policyname in (:installed, :declared)"), {"t": table, "installed": name, "declared": f"{name}_declared"}
        ).all())
        if rows.get(name) != rows[f"{name}_declared"]:
            differences.append(f"{name}: installed {rows.get(name)} / declared {rows[f'{name}_declared']}")
    return differences


def _trigger_arguments(connection, name: str) -> list[str] | None:
    arguments = connection.execute(text(
        "select encode(tgargs, 'escape') from pg_trigger where tgname = :name and not tgisinternal"),
        {"name": name}).scalar()
    return None if arguments is None else arguments.split("\\000")[:-1]


def _guard_differences(connection, table: str) -> list[str]:
    frozen = rls.freeze(table)
    update = frozen["update_guard"]
    declared = {
        f"{table}_guard_update": None if update is None else _update_arguments(update),
        f"{table}_guard_insert": frozen["insert_guard"],
    }
    return [f"{name}: installed {_trigger_arguments(connection, name)}, declared {arguments}"
            for name, arguments in declared.items() if _trigger_arguments(connection, name) != arguments]


def _update_arguments(update: dict) -> list[str]:
    arguments = ["{" + ",".join(update["fixed"]) + "}", "{" + ",".join(update["participant"]) + "}"]
    moves = update.get("transitions")
    if moves:
        owner = "*" if moves["owner"] is None else "{" + ",".join(moves["owner"]) + "}"
        arguments += [moves["column"], "{" + ",".join(moves["participant"]) + "}", owner]
    return arguments
