"""`flask demo ...`: demo-only data."""
from __future__ import annotations

from importlib import import_module

import click
from flask import current_app
from flask.cli import with_appcontext

from ..core.db import db
from . import caseload


def _require_demo_mode() -> None:
    if not current_app.config["HANARO_DEMO"]:
        raise click.ClickException("demo data exists only in demo mode (HANARO_DEMO=1)")


def _load(name: str) -> None:
    """Run demo loader ``name`` (a module with apply() and summary()), commit, print its summary."""
    _require_demo_mode()
    from .referrals import MissingDemoData

    loader = import_module(f"{__package__}.{name}")
    try:
        result = loader.apply()
    except MissingDemoData as missing:  # raised before anything is written
        raise click.ClickException(str(missing)) from None
    db.session.commit()
    click.echo(loader.summary(result))


@click.group("demo", help="데모 데이터")
def demo_cli():
    pass


@demo_cli.command("caseload")
@with_appcontext
def apply_caseload():
    """Register fictional clients, consents and cases for the Jeju pilot tenants (idempotent)."""
    _require_demo_mode()
    created = caseload.apply()
    db.session.commit()
    click.echo("caseload: " + (", ".join(f"{code} {n}" for code, n in created.items()) or "already present"))


@demo_cli.command("catalogue")
@with_appcontext
def apply_catalogue():
    """Register the fictional resource catalogue of the Jeju pilot tenants (idempotent)."""
    _require_demo_mode()
    from . import catalogue

    created = catalogue.apply()
    db.session.commit()
    click.echo("catalogue: " + (", ".join(f"{code} {n}" for code, n in created.items()) or "already present"))


@demo_cli.command("referrals")
@with_appcontext
def apply_referrals():
    """Send demo service referrals between the Jeju pilot tenants, one or more in every state
    (idempotent; needs `flask demo caseload` and `flask demo catalogue` first)."""
    _load("referrals")


@demo_cli.command("pilots")
@with_appcontext
def apply_pilots():
    """Feedback from the field in every column of the Jeju pilot's triage board and two regional
    care meetings (idempotent; needs `flask demo caseload` and `flask demo referrals` first)."""
    _load("pilots")


@demo_cli.command("campaigns")
@with_appcontext
def apply_campaigns():
    """A running and a finished 김장김치 나눔 of 제주시청, nominated by the Jeju pilot's agencies, every
    check with something to flag (idempotent; needs `flask demo caseload` and the demo resident
    registry, HANARO_RESIDENT_REGISTRY_CSV)."""
    _load("campaigns")


@demo_cli.command("oversight")
@with_appcontext
def apply_oversight():
    """Facilities supervised by 제주시청 (and 서귀포시청) with inspections, corrective actions in every
    state, sanctions and evaluations; 한라요양원 answers for itself (idempotent; needs
    `flask tenants apply --demo` first)."""
    _load("oversight")
