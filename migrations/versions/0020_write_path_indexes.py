"""Indexes the write paths need at national scale: assessment items by their assessment (a
referral's send loads the latest assessment's items; without it each send read every item of the
platform, ~200 ms at 8.8 M items)

On PostgreSQL the index is built CONCURRENTLY, outside the migration's transaction, so a live
database keeps taking writes to assessment_items while it builds.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 06:00:00

"""
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

INDEXES = [("ix_assessment_items_assessment_id", "assessment_items", ["assessment_id"])]


def _concurrently() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    if _concurrently():
        with op.get_context().autocommit_block():
            for name, table, columns in INDEXES:
                op.create_index(name, table, columns, postgresql_concurrently=True, if_not_exists=True)
    else:
        for name, table, columns in INDEXES:
            op.create_index(name, table, columns)


def downgrade():
    if _concurrently():
        with op.get_context().autocommit_block():
            for name, table, _ in INDEXES:
                op.drop_index(name, table_name=table, postgresql_concurrently=True, if_exists=True)
    else:
        for name, table, _ in INDEXES:
            op.drop_index(name, table_name=table)
