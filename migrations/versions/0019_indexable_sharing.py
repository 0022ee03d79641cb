"""Shared rows found from an index: "shared with me" rules render as ``column = ANY (ARRAY(ids))``
(case teams, client access grants, pilot and meeting members, campaign invitations, facility
tenants, province oversight, partner agreements), so "owned OR shared" reads the tenant's rows and its
shared ones instead of the whole table (0019.json)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 05:40:00

"""
from alembic import op

from hanaro.tenancy import rls

# The policies this migration installs, frozen when it was written (migrations/policies/).
POLICIES = rls.frozen(__file__)

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    for table, entry in POLICIES.items():
        rls.install(op, table, entry)


def downgrade():
    before = rls.frozen_before(__file__)
    for table in POLICIES:
        rls.install(op, table, before[table])
