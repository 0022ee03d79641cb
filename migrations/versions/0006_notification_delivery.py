"""notification delivery: the e-mail outbox, preferences, the periodic schedule

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 05:00:44.900047

"""
from alembic import op
import sqlalchemy as sa

from hanaro.tenancy import rls


# revision identifiers, used by Alembic.
# The policies this migration installs, frozen when it was written (migrations/policies/).
POLICIES = rls.frozen(__file__)

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('scheduled_runs',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('next_run_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('runs', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduled_runs'))
    )
    op.create_table('notification_preferences',
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=50), nullable=False),
    sa.Column('email', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_preferences_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_preferences')),
    sa.UniqueConstraint('user_id', 'kind', name=op.f('uq_notification_preferences_user_id_kind'))
    )
    op.create_table('notification_deliveries',
    sa.Column('notification_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('state', sa.Enum('pending', 'sending', 'sent', 'skipped', 'failed', name='deliverystate', native_enum=False, length=20), nullable=False),
    sa.Column('skip_reason', sa.String(length=30), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('message_id', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('public_id', sa.String(length=24), nullable=False),
    sa.ForeignKeyConstraint(['notification_id'], ['notifications.id'], name=op.f('fk_notification_deliveries_notification_id_notifications')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_notification_deliveries_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_deliveries_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_deliveries')),
    sa.UniqueConstraint('tenant_id', 'notification_id', 'user_id', name=op.f('uq_notification_deliveries_tenant_id_notification_id_user_id')),
    sa.UniqueConstraint('tenant_id', 'public_id', name=op.f('uq_notification_deliveries_tenant_id_public_id'))
    )
    with op.batch_alter_table('notification_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_deliveries_public_id'), ['public_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_deliveries_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_notification_deliveries_tenant_id_state_next', ['tenant_id', 'state', 'next_attempt_at'], unique=False)

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_planned_at', sa.DateTime(timezone=True), nullable=True))
    # Notifications posted before e-mail existed are not e-mailed now: mark them planned.
    op.execute("UPDATE notifications SET email_planned_at = created_at WHERE email_planned_at IS NULL")
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_unplanned', ['tenant_id', 'created_at'], unique=False, postgresql_where=sa.text('email_planned_at IS NULL'), sqlite_where=sa.text('email_planned_at IS NULL'))

    rls.install(op, 'notification_deliveries', POLICIES['notification_deliveries'])


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_unplanned', postgresql_where=sa.text('email_planned_at IS NULL'), sqlite_where=sa.text('email_planned_at IS NULL'))
        batch_op.drop_column('email_planned_at')

    with op.batch_alter_table('notification_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_deliveries_tenant_id_state_next')
        batch_op.drop_index(batch_op.f('ix_notification_deliveries_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_notification_deliveries_public_id'))

    op.drop_table('notification_deliveries')
    op.drop_table('notification_preferences')
    op.drop_table('scheduled_runs')
