"""Indexes for the list pages a large tenant reads most: each reads about one page of entries

The inbox of notifications is two ranges of one index (notices to the whole tenant, notices to one
user), each ordered newest first, so a page of 50 no longer walks the notices of all the tenant's
other users. A referral's page finds the referral re-sent in its place without reading the
tenant's whole box. The feedback board reads each column's first cards (a range per status, newest
first) instead of a workspace's whole board. The oversight lists, filtered by their read policy
alone, can combine its three arms (own, the province's, disclosed to the facility) from indexes
instead of reading every tenant's inspections and corrective actions.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05 09:00:00

"""
from alembic import op
from sqlalchemy import text

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

# (name, table, columns, options): created by upgrade, dropped by downgrade.
NEW = [
    # Two partial indexes, not one with recipient_user_id NULL in it: PostgreSQL does not take
    # "recipient_user_id IS NULL" as fixing the column, so it would sort instead of reading in order.
    ("ix_notifications_to_everyone", "notifications", ["tenant_id", "created_at", "id"],
     {"postgresql_include": ["sender_tenant_id"], "postgresql_where": text("recipient_user_id IS NULL"),
      "sqlite_where": text("recipient_user_id IS NULL")}),
    ("ix_notifications_to_one", "notifications", ["tenant_id", "recipient_user_id", "created_at", "id"],
     {"postgresql_include": ["sender_tenant_id"], "postgresql_where": text("recipient_user_id IS NOT NULL"),
      "sqlite_where": text("recipient_user_id IS NOT NULL")}),
    ("ix_referrals_rerouted_from_id", "referrals", ["rerouted_from_id"],
     {"postgresql_where": text("rerouted_from_id IS NOT NULL"), "sqlite_where": text("rerouted_from_id IS NOT NULL")}),
    ("ix_pilot_feedback_workspace_status_created", "pilot_feedback", ["workspace_id", "status", "created_at", "id"],
     {"postgresql_include": ["coordinator_tenant_id", "tenant_id"]}),
    ("ix_oversight_inspections_facility_id", "oversight_inspections", ["facility_id"], {}),
    ("ix_oversight_corrective_actions_facility_id", "oversight_corrective_actions", ["facility_id"], {}),
]
# Indexes a NEW one makes redundant (its leading columns): dropped by upgrade, restored by downgrade.
REPLACED = [
    ("ix_pilot_feedback_workspace_id_status", "pilot_feedback", ["workspace_id", "status"]),
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
