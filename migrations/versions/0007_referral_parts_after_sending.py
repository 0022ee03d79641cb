"""referral events, messages and files reach the receiver only once the referral is sent

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 05:30:00.000000

"""
from alembic import op

from hanaro.tenancy import rls

# revision identifiers, used by Alembic.
# The policies this migration installs, frozen when it was written (migrations/policies/).
POLICIES = rls.frozen(__file__)

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

PARTS = ("referral_events", "referral_messages", "referral_attachments")


def upgrade():
    for table in PARTS:
        rls.install(op, table, POLICIES[table])


def downgrade():
    pass  # the policies are generated from the models; older ones are not kept
