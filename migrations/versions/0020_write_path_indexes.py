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

from hanaro.core import migration_indexes

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

INDEXES = [("ix_assessment_items_assessment_id", "assessment_items", ["assessment_id"])]


def upgrade():
    migration_indexes.create(op, INDEXES)


def downgrade():
    migration_indexes.drop(op, INDEXES)
