"""The migrations build exactly the schema the models describe: a model change without its
migration (or a migration edited by hand into something else) fails here, on the CI database."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from hanaro.core.db import db

# PostgreSQL-only objects written as SQL in a migration, which the models cannot express.
MIGRATION_ONLY_INDEXES = {"ix_resources_search_terms"}  # bigram GIN expression index (0003)


def _include(obj, name, type_, reflected, compare_to) -> bool:
    return not (type_ == "index" and reflected and compare_to is None and name in MIGRATION_ONLY_INDEXES)


def _schema_differences(app) -> list:
    engine = create_engine(app.config["MIGRATION_DATABASE_URL"])
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": _include})
            return compare_metadata(context, db.metadata)
    finally:
        engine.dispose()


def test_models_and_migrations_describe_the_same_schema(app):
    assert _schema_differences(app) == []
