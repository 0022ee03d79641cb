"""Write rules the database keeps by itself: a row points only at rows its writer reads, a grant
(case team member, client access, pilot participant, care meeting member, campaign invitation)
only at an object its writer owns and never re-aimed, a participant changes only its answer;
brings every database, however old its policies, to those the models declare (0013.json)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 18:00:00

"""
from alembic import op

from hanaro.tenancy import rls

# The policies this migration installs, frozen when it was written (migrations/policies/).
POLICIES = rls.frozen(__file__)

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

EARLIER = ("0001", "0002", "0005", "0006", "0007", "0008", "0010", "0011")


def upgrade():
    for table, entry in POLICIES.items():
        rls.install(op, table, entry)


def downgrade():
    previous = {}
    for revision_ in EARLIER:  # what each table had after the last migration that installed it
        previous.update(rls.frozen(__file__, revision_))
    for table, statements in previous.items():
        rls.install(op, table, statements)
        if op.get_bind().dialect.name == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_guard_update ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_guard_insert ON {table}")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS hanaro_guard_update()")
        op.execute("DROP FUNCTION IF EXISTS hanaro_guard_insert()")
