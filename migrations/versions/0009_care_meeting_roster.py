"""care meeting roster: the attendee list every member may read

Members see only their own care_meeting_members row (a policy on that table that looked at the
table itself would recurse), so the meeting carries a copy of who attends, written by the
organiser whenever the members change.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 08:50:00.000000

"""
from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('care_meetings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('roster', sa.JSON(), nullable=False, server_default='[]'))


def downgrade():
    with op.batch_alter_table('care_meetings', schema=None) as batch_op:
        batch_op.drop_column('roster')
