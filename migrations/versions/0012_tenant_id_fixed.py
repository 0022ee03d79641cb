"""tenant_id never changes: a trigger on every tenant-owned table, for every role (RLS alone lets a
participant that may update a row rewrite its owner to itself)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 17:00:00

"""
from alembic import op
from sqlalchemy import text

from hanaro.tenancy import rls

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def _tenant_owned_tables() -> list[str]:
    return list(op.get_bind().execute(text(
        "select c.table_name from information_schema.columns c join information_schema.tables t "
        "on t.table_schema = c.table_schema and t.table_name = c.table_name "
        "where c.table_schema = current_schema() and c.column_name = 'tenant_id' and t.table_type = 'BASE TABLE' "
        "order by c.table_name")).scalars())


def upgrade():
    if op.get_bind().dialect.name != "postgresql":  # information_schema and triggers: PostgreSQL only
        return
    for table in _tenant_owned_tables():
        rls.fix_tenant_id(op, table)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in _tenant_owned_tables():
        op.execute(f"DROP TRIGGER IF EXISTS {table}_tenant_id_fixed ON {table}")
    op.execute("DROP FUNCTION IF EXISTS hanaro_tenant_id_fixed()")
