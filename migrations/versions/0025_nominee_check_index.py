"""The index a nomination's check needs: a campaign's nominations in one dong (the dong quota
ranks them), so checking one nomination reads its dong's rows, not the whole campaign's.

On PostgreSQL the index is built CONCURRENTLY, outside the migration's transaction, so a live
database keeps taking nominations while it builds.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05 09:00:00

"""
from alembic import op

from hanaro.core import migration_indexes

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

INDEXES = [("ix_campaign_nominations_campaign_id_dong_code", "campaign_nominations", ["campaign_id", "dong_code"])]


def upgrade():
    migration_indexes.create(op, INDEXES)


def downgrade():
    migration_indexes.drop(op, INDEXES)
