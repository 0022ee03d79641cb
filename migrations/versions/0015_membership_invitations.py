"""Membership invitations (a membership is pending until the person accepts) and the tenant a
user last worked in (where sign-in lands)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 17:30:00

Membership's visibility is unchanged (owner, and the user themselves read it), so no RLS
policy is reinstalled here.
"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("memberships") as batch:
        batch.add_column(sa.Column("joined_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("invitation_status", sa.String(20), nullable=True))
        batch.add_column(sa.Column("invited_email", sa.String(254), nullable=True))
        batch.add_column(sa.Column("invited_by_user_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("invited_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True))
    # Every membership so far was granted at once: its members joined when it was created.
    op.execute("UPDATE memberships SET joined_at = created_at")
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("last_tenant_id", sa.BigInteger(), nullable=True))
        batch.create_foreign_key("fk_users_last_tenant_id_tenants", "tenants", ["last_tenant_id"], ["id"])


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("fk_users_last_tenant_id_tenants", type_="foreignkey")
        batch.drop_column("last_tenant_id")
    # Pending, declined and cancelled invitations granted nothing: they go with the columns.
    op.execute("DELETE FROM memberships WHERE joined_at IS NULL")
    with op.batch_alter_table("memberships") as batch:
        for name in ("answered_at", "invited_at", "invited_by_user_id", "invited_email", "invitation_status",
                     "joined_at"):
            batch.drop_column(name)
