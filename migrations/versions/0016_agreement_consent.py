"""sharing agreements are two-sided: a status (proposed until the partner accepts), the partner's
answer, and an events table (who proposed, accepted, declined, withdrew, revoked); resources' RLS
reinstalled because AgreementPartner now requires an accepted agreement

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 17:30:00

"""
from alembic import op
import sqlalchemy as sa

from hanaro.tenancy import rls

# The policies this migration installs, frozen when it was written (migrations/policies/).
POLICIES = rls.frozen(__file__)

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _mark_revoked():
    """Revoked agreements read as revoked. Migrations run as the tables' owner, which FORCE ROW
    LEVEL SECURITY subjects to the policies (no tenant here: no rows), so lift it for this one
    statement."""
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("ALTER TABLE sharing_agreements NO FORCE ROW LEVEL SECURITY")
    op.execute("UPDATE sharing_agreements SET status = 'revoked' WHERE revoked_at IS NOT NULL")
    if postgres:
        op.execute("ALTER TABLE sharing_agreements FORCE ROW LEVEL SECURITY")


def upgrade():
    with op.batch_alter_table('sharing_agreements', schema=None) as batch_op:
        # Agreements made before this revision were in force at once: both sides had signed them.
        batch_op.add_column(sa.Column('status', sa.Enum('proposed', 'accepted', 'declined', 'withdrawn', 'revoked',
                                                        'expired', name='agreementstatus', native_enum=False,
                                                        length=20), nullable=False, server_default='accepted'))
        batch_op.add_column(sa.Column('responded_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('responded_by_user_id', ID, nullable=True))
        batch_op.add_column(sa.Column('decline_reason', sa.Text(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_sharing_agreements_responded_by_user_id_users'), 'users',
                                    ['responded_by_user_id'], ['id'])
    _mark_revoked()
    with op.batch_alter_table('sharing_agreements', schema=None) as batch_op:
        batch_op.alter_column('status', server_default=None)

    op.create_table('sharing_agreement_events',
    sa.Column('agreement_id', ID, nullable=False),
    sa.Column('counterpart_tenant_id', ID, nullable=False),
    sa.Column('action', sa.Enum('proposed', 'accepted', 'declined', 'withdrawn', 'revoked', 'expired', 'registered',
                                name='agreementaction', native_enum=False, length=20), nullable=False),
    sa.Column('actor_user_id', ID, nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', ID, nullable=False),
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['agreement_id'], ['sharing_agreements.id'],
                            name=op.f('fk_sharing_agreement_events_agreement_id_sharing_agreements')),
    sa.ForeignKeyConstraint(['counterpart_tenant_id'], ['tenants.id'],
                            name=op.f('fk_sharing_agreement_events_counterpart_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], name=op.f('fk_sharing_agreement_events_actor_user_id_users')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_sharing_agreement_events_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sharing_agreement_events'))
    )
    with op.batch_alter_table('sharing_agreement_events', schema=None) as batch_op:
        batch_op.create_index('ix_sharing_agreement_events_agreement_id', ['agreement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sharing_agreement_events_tenant_id'), ['tenant_id'], unique=False)
    rls.install(op, 'sharing_agreement_events', POLICIES['sharing_agreement_events'])
    rls.install(op, 'resources', POLICIES['resources'])  # its partner rule now reads sharing_agreements.status
    rls.install(op, 'sharing_agreements', POLICIES['sharing_agreements'])  # the partner writes only its answer


def downgrade():
    before = rls.frozen(__file__, '0013')
    for table in ('resources', 'sharing_agreements'):
        rls.install(op, table, before[table])
    with op.batch_alter_table('sharing_agreement_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sharing_agreement_events_tenant_id'))
        batch_op.drop_index('ix_sharing_agreement_events_agreement_id')
    op.drop_table('sharing_agreement_events')
    with op.batch_alter_table('sharing_agreements', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_sharing_agreements_responded_by_user_id_users'), type_='foreignkey')
        batch_op.drop_column('decline_reason')
        batch_op.drop_column('responded_by_user_id')
        batch_op.drop_column('responded_at')
        batch_op.drop_column('status')
