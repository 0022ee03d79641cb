"""Each side makes only its own moves: a state column's transitions per side (an agreement accepted
only by its partner, withdrawn only by its proposer; a team invitation, an access grant, a referral,
a corrective action, a nomination moved by the other side only as its answer), an agreement's terms
fixed once proposed, and the reference trigger also checking foreign keys an update changes, with
its parent schema-qualified (0017.json)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 18:30:00

"""
from alembic import op

from hanaro.tenancy import rls

# The policies this migration installs, frozen when it was written (migrations/policies/).
POLICIES = rls.frozen(__file__)

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    for table, entry in POLICIES.items():
        rls.install(op, table, entry)


def downgrade():
    earlier = {}
    for revision_ in ("0013", "0016"):
        earlier.update(rls.frozen(__file__, revision_))
    for table in POLICIES:
        rls.install(op, table, earlier[table])
