"""``flask scale seed``: generate the national-shape data set into a migrated PostgreSQL database."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from ..config import REPO_ROOT

scale_cli = AppGroup("scale", help="National-scale benchmark data.")


@scale_cli.command("seed")
@click.option("--database", default="hanaro_scale", show_default=True, help="A freshly migrated database.")
@click.option("--tenants", default=1000, show_default=True)
@click.option("--cases", default=1_000_000, show_default=True)
@click.option("--clients", type=int, help="Default: as many as cases.")
@click.option("--referrals", type=int, help="Default: as many as cases.")
@click.option("--resources", type=int, help="Default: cases / 10.")
@click.option("--notifications", type=int, help="Default: 1.8 x cases.")
@click.option("--access-log", type=int, help="Default: as many as cases.")
@click.option("--seed", default=1, show_default=True)
@click.option("--server", default="postgresql://postgres@127.0.0.1:5432", show_default=True,
              help="A superuser's URL without the database.")
@click.option("--app-role", default="hanaro_scale_app", show_default=True, help="Opens the pages to check them.")
@click.option("--manifest-dir", "manifest_dirs", multiple=True, type=click.Path(path_type=Path),
              help="Where <database>.json goes (repeatable). Default: <repo>/var/scale.")
@click.option("--verify/--no-verify", default=True, show_default=True, help="Open every manifest page as its login.")
def seed_command(database, tenants, cases, clients, referrals, resources, notifications, access_log, seed, server,
                 app_role, manifest_dirs, verify):
    """Generate the set (COPY as a superuser, triggers off), write its manifest, print logins."""
    import psycopg

    from . import pages
    from .plan import Sizes
    from .seed import forget_visits, generate

    sizes = Sizes(tenants, cases, clients, referrals, resources, notifications, access_log)
    with psycopg.connect(f"{server}/{database}") as connection:
        manifest = generate(connection, sizes, seed, progress=lambda line: click.echo(f"  {line}", err=True))
    manifest["database"] = database
    for path in pages.write(manifest, list(manifest_dirs) or [REPO_ROOT / "var" / "scale"]):
        click.echo(f"manifest: {path}")
    click.echo(f"generated in {manifest['seconds']} s: " + ", ".join(f"{k} {v}" for k, v in manifest["sizes"].items()))
    _print_logins(manifest)
    if verify:
        failures = pages.verify(_app_for(server, database, app_role), manifest)
        with psycopg.connect(f"{server}/{database}") as connection:
            forget_visits(connection, manifest)
        for failure in failures:
            click.echo(f"NOT 200: {failure}", err=True)
        if failures:
            raise click.ClickException(f"{len(failures)} manifest pages do not answer 200")
        click.echo("every manifest page answers 200 for its login")


def _print_logins(manifest: dict) -> None:
    click.echo(f"password (every user): {manifest['password']}")
    for role, tenant in manifest["tenants"].items():
        emails = sorted({p["email"] for p in tenant["pages"].values() if p["email"]})
        click.echo(f"{role}: {tenant['name']} ({tenant['code']}, {tenant['kind']}, {tenant['cases']} cases): "
                   + ", ".join(emails))


def _app_for(server: str, database: str, app_role: str):
    from .. import create_app

    host = server.split("@", 1)[-1]
    return create_app({
        "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://{app_role}@{host}/{database}",
        "TESTING": True, "SECRET_KEY": "scale-verify", "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
        "SESSION_COOKIE_SECURE": False, "REDIS_URL": None, "JOBS_IN_PROCESS": True, "HANARO_DEMO": False,
    })
