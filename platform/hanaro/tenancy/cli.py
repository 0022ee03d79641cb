"""`flask tenants apply FILE...`: apply tenant registry files."""
from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from ..core.db import db
from . import registry


@click.group("tenants", help="기관 레지스트리(tenants/*.toml) 적용")
def tenants_cli():
    pass


@tenants_cli.command("apply")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--demo", is_flag=True, help="also set the demo passwords (refused outside demo mode)")
@with_appcontext
def apply_files(files, demo):
    """Validate and apply registry files (all of tenants/ when none are named)."""
    if demo and not current_app.config["HANARO_DEMO"]:
        raise click.ClickException("--demo needs HANARO_DEMO=1: demo passwords exist only in demo mode")
    files = files or sorted(Path(current_app.config["TENANTS_DIR"]).glob("*.toml"))
    try:
        for path in files:
            report = registry.apply(path, demo=demo)
            click.echo(f"{path.name}: {report.summary()}")
    except registry.RegistryError as error:
        db.session.rollback()
        raise click.ClickException(f"nothing was changed.\n{error}") from error
    db.session.commit()


@click.command("demo-logins")
@with_appcontext
def demo_logins():
    """Print one demo login per role (demo mode only)."""
    if not current_app.config["HANARO_DEMO"]:
        raise click.ClickException("demo logins exist only in demo mode (HANARO_DEMO=1)")
    click.echo("데모 로그인 (demo logins):")
    for path in sorted(Path(current_app.config["TENANTS_DIR"]).glob("*.toml")):
        data = registry.load(path)
        password = data["demo"]["password"] if data["demo"] else "(none)"
        for line in registry.login_lines(data):
            click.echo(f"  {line}")
        click.echo(f"  password for all of them: {password}")


@tenants_cli.command("freeze-policies")
@click.argument("revision")
@click.argument("tables", nargs=-1)
@with_appcontext
def freeze_policies(revision, tables):
    """Write migrations/policies/REVISION.json: the RLS policies and update guards the models
    declare today for TABLES (every tenant-owned table when none are named), for the migration
    REVISION to install with rls.install(op, table, POLICIES[table])."""
    from . import policy, rls

    tables = tables or sorted(policy.REGISTRY)
    frozen = {table: rls.freeze(table) for table in tables}
    path = Path(current_app.config["MIGRATIONS_DIR"]) / "policies" / f"{revision}.json"
    path.write_text(json.dumps(frozen, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    click.echo(f"{path}: {len(frozen)} tables")
