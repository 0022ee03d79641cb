"""A row names its writer truthfully and belongs where it points: author, actor, reporter, uploader and sender columns name the
tenant writing the row or nobody (a receiver cannot post a referral message in the sender's name, a
facility cannot file a status report as its municipality, nobody sends a notice as another tenant);
what a facility writes belongs to its municipality's records; feedback goes to its workspace's own
coordinator, and a comment stays with its feedback item (0018.json)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 18:50:00

"""
from alembic import op

from hanaro.tenancy import rls

# The policies this migration installs, frozen when it was written (migrations/policies/).
POLICIES = rls.frozen(__file__)

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    for table, entry in POLICIES.items():
        rls.install(op, table, entry)


def downgrade():
    before = rls.frozen(__file__, "0017")
    for table in POLICIES:
        rls.install(op, table, before[table])
