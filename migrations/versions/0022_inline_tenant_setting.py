"""Policies read the acting tenant inline (``nullif(current_setting('hanaro.tenant_id', true), '')::bigint``)
instead of through a sub-select, so PostgreSQL estimates and indexes it inside nested policies: the
largest tenant's referral inbox went from 26 084 to 358 buffers at 1 M referrals (0022.json, every
tenant-owned table)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 08:40:00

"""
from alembic import op

from hanaro.tenancy import rls

# The policies this migration installs, frozen when it was written (migrations/policies/).
POLICIES = rls.frozen(__file__)

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    for table, entry in POLICIES.items():
        rls.install(op, table, entry)


def downgrade():
    before = rls.frozen_before(__file__)
    for table in POLICIES:
        rls.install(op, table, before[table])
