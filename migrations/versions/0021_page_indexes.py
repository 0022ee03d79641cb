"""Indexes ordered like each main page's query: a page reads what its own tenant's rows cost

Each list leads with the tenant column it is filtered by and continues in the list's sort order, so
a page of 50 stops after 50 index entries instead of sorting all the tenant's rows; the counts
beside a list read capped ranges of the same indexes (core.paging.capped_count). The header's unread
count gets a small partial index of unread notifications.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 06:00:00

"""
from alembic import op
from sqlalchemy import text

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

# (name, table, columns, options): created by upgrade, dropped by downgrade.
NEW = [
    ("ix_notifications_unread", "notifications", ["tenant_id", "recipient_user_id"],
     {"postgresql_include": ["sender_tenant_id"], "postgresql_where": text("read_at IS NULL"),
      "sqlite_where": text("read_at IS NULL")}),
    ("ix_referrals_tenant_id_due", "referrals", ["tenant_id", "response_due_on", "id"], {}),
    ("ix_referrals_receiver_tenant_id_due", "referrals", ["receiver_tenant_id", "response_due_on", "id"], {}),
    ("ix_referrals_tenant_id_state_due", "referrals", ["tenant_id", "state", "response_due_on", "id"],
     {"postgresql_include": ["receiver_tenant_id"]}),
    ("ix_referrals_receiver_tenant_id_state_due", "referrals", ["receiver_tenant_id", "state", "response_due_on", "id"],
     {"postgresql_include": ["tenant_id"]}),
    ("ix_cases_tenant_id_opened", "cases", ["tenant_id", "opened_on", "id"], {}),
    ("ix_cases_tenant_id_lead_opened", "cases", ["tenant_id", "lead_worker_user_id", "opened_on", "id"], {}),
    ("ix_cases_tenant_id_dong", "cases", ["tenant_id", "dong_code"], {"postgresql_include": ["id"]}),
    ("ix_clients_tenant_id_name", "clients", ["tenant_id", "name", "id"], {}),
    # The public directory lists every tenant's public resources by name: led by scope, not tenant.
    ("ix_resources_scope_name", "resources", ["scope", "name", "id"], {}),
]
# Indexes a NEW one makes redundant (its leading columns): dropped by upgrade, restored by downgrade.
REPLACED = [
    ("ix_referrals_tenant_id_state", "referrals", ["tenant_id", "state"]),
    ("ix_referrals_receiver_tenant_id_state", "referrals", ["receiver_tenant_id", "state"]),
    ("ix_clients_tenant_id_name", "clients", ["tenant_id", "name"]),
]


def upgrade():
    for name, table, columns in REPLACED:
        op.drop_index(name, table_name=table)
    for name, table, columns, options in NEW:
        op.create_index(name, table, columns, **options)


def downgrade():
    for name, table, columns, options in reversed(NEW):
        op.drop_index(name, table_name=table)
    for name, table, columns in REPLACED:
        op.create_index(name, table, columns)
