"""`flask audit purge --before YYYY-MM-DD`: what a retention purge would remove, and how the table
owner removes it. The application never deletes access log entries itself: its database role
cannot (RLS allows no DELETE on access_log and, on PostgreSQL, a trigger refuses UPDATE, DELETE
and TRUNCATE), and entries younger than two years are never eligible.
"""
from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from ..core.db import db
from ..tenancy.context import acting_as
from ..tenancy.models import Tenant
from . import service
from .models import AccessLogEntry

POSTGRES_SCRIPT = """\
-- Run as the owner of access_log (MIGRATION_DATABASE_URL), never as the app role.
-- The table is locked for the few statements below; the trigger and FORCE RLS come back
-- before COMMIT, so no other session ever sees the log unprotected.
BEGIN;
ALTER TABLE access_log DISABLE TRIGGER access_log_append_only;
ALTER TABLE access_log NO FORCE ROW LEVEL SECURITY;
DELETE FROM access_log WHERE at < TIMESTAMPTZ '{bound}';
ALTER TABLE access_log FORCE ROW LEVEL SECURITY;
ALTER TABLE access_log ENABLE TRIGGER access_log_append_only;
COMMIT;"""

SQLITE_SCRIPT = """\
-- Embedded (SQLite) database: no trigger; stop the app, back up the file, then:
DELETE FROM access_log WHERE at < '{bound_naive}';"""


@click.command("purge")
@click.option("--before", "before", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="purge entries dated before this day (Korean time); at least two years ago")
@with_appcontext
def purge_command(before):
    """Report what a purge of entries before a date would remove and print the owner-run SQL.

    Refuses dates less than two years ago (the documented minimum retention)."""
    day = before.date()
    cutoff = service.earliest_purge_cutoff()
    if day > cutoff:
        raise click.ClickException(
            f"refused: entries are kept at least {service.MIN_RETENTION_YEARS} years; "
            f"--before must be {cutoff.isoformat()} or earlier"
        )
    bound = service.kst_day_start(day)
    total = 0
    click.echo(f"access log entries dated before {day.isoformat()} 00:00 KST ({bound.isoformat()}):")
    for tenant in db.session.scalars(select(Tenant).order_by(Tenant.code)):
        # Count each tenant's own entries under its context, so PostgreSQL RLS lets them through
        # (the app role sees nothing without one). One indexed count per tenant.
        with acting_as(tenant.id, None):
            count = db.session.scalar(
                select(func.count()).select_from(AccessLogEntry)
                .where(AccessLogEntry.tenant_id == tenant.id, AccessLogEntry.at < bound)
            )
        if count:
            click.echo(f"  {tenant.code}: {count}")
            total += count
    click.echo(f"total: {total}")
    click.echo("This command deletes nothing. To purge, the table owner runs:")
    if db.session.get_bind().dialect.name == "postgresql":
        click.echo(POSTGRES_SCRIPT.format(bound=bound.isoformat()))
    else:
        click.echo(SQLITE_SCRIPT.format(bound_naive=bound.strftime("%Y-%m-%d %H:%M:%S")))
