"""The migrations build exactly the schema the models describe: a model change without its
migration (or a migration edited by hand into something else) fails here, on the CI database."""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from hanaro.core.db import db

from .conftest import BACKEND

# Indexes written as SQL in a migration, which the models do not express.
# DESC columns and a partial index of the search terms (0023).
MIGRATION_ONLY_INDEXES = {"ix_resource_terms_rank", "ix_resource_terms_public_name"}


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


@pytest.mark.committed
@pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL only: the index is built CONCURRENTLY there")
def test_0020_indexes_assessment_items_by_assessment_and_goes_back_down(app):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect

    def indexed_columns() -> list[list[str]]:
        engine = create_engine(app.config["MIGRATION_DATABASE_URL"])
        try:
            return [index["column_names"] for index in inspect(engine).get_indexes("assessment_items")]
        finally:
            engine.dispose()

    directory = app.config["MIGRATIONS_DIR"]
    assert ["assessment_id"] in indexed_columns()
    with app.app_context():
        before = ScriptDirectory.from_config(_alembic_config(directory)).get_revision("0020").down_revision
        try:
            downgrade(directory=directory, revision=before)
            assert ["assessment_id"] not in indexed_columns()
        finally:
            upgrade(directory=directory)
    assert ["assessment_id"] in indexed_columns()
    assert _schema_differences(app) == []


def _alembic_config(directory: str):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", directory)
    return config
