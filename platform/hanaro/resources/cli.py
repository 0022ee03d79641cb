"""`flask resources ...`: scheduled maintenance of the resource registry."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from . import reminders


@click.group("resources", help="자원 관리")
def resources_cli():
    pass


@resources_cli.command("remind-stale")
@with_appcontext
def remind_stale():
    """Remind registrars of listings about to go stale or already hidden (one job per tenant;
    safe to run any number of times a day)."""
    results = reminders.sweep()
    posted = [n for n in results.values() if isinstance(n, int)]
    if len(posted) == len(results):
        click.echo(f"resource reminders: {sum(posted)} posted for {len(results)} tenants")
    else:
        click.echo(f"resource reminders: {len(results)} tenant jobs queued")
