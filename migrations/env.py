"""Alembic environment: migrations run as the table owner (MIGRATION_DATABASE_URL), then the
application role is granted DML rights on every table."""
import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app
from sqlalchemy import create_engine

from hanaro.tenancy import rls

config = context.config
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_metadata = current_app.extensions["migrate"].db.metadata


def _migration_url() -> str:
    return current_app.config["MIGRATION_DATABASE_URL"]


def _skip_empty_autogenerate(context_, revision, directives):
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        logger.info("No changes in schema detected.")


def _render_item(type_, obj, autogen_context):
    """Render our column types as plain SQLAlchemy ones so migrations never import models."""
    from hanaro.core.db import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_offline():
    context.configure(url=_migration_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    engine = create_engine(_migration_url())
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            process_revision_directives=_skip_empty_autogenerate,
            render_item=_render_item,
        )
        with context.begin_transaction():
            context.run_migrations()
            rls.grant_app_role(connection, current_app.config["HANARO_DB_APP_ROLE"])
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
