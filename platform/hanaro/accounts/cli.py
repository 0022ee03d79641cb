"""`flask accounts ...`: operator maintenance of user accounts."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..core.db import db
from . import service


@click.group("accounts", help="사용자 계정 관리")
def accounts_cli():
    pass


@accounts_cli.command("set-password")
@click.argument("email")
@click.password_option()
@with_appcontext
def set_password(email, password):
    """Set a user's password (e.g. the first platform operator's)."""
    user = service.find_user_by_email(email)
    if user is None:
        raise click.ClickException(f"no user with e-mail {email}")
    if len(password) < service.MIN_PASSWORD_LENGTH:
        raise click.ClickException(f"password must have at least {service.MIN_PASSWORD_LENGTH} characters")
    user.password_hash = service.hash_password(password)
    service.lift_lockouts(user)
    db.session.commit()
    click.echo(f"password set for {email}")
