"""Who may see and write each tenant-owned row: the one place the visibility rules live.

Each tenant-owned model declares a :class:`Visibility`. From it this module builds both
enforcers: the SQLAlchemy criterion added to every ORM query (``orm_filter``) and the
PostgreSQL Row-Level Security policies installed by the migrations (``rls``). A test compares
the rows the two let through.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_

# Read once per statement thanks to the sub-select (an initplan), so indexes on the
# policy columns stay usable.
RLS_TENANT = "(select nullif(current_setting('hanaro.tenant_id', true), '')::bigint)"
RLS_USER = "(select nullif(current_setting('hanaro.user_id', true), '')::bigint)"


@dataclass(frozen=True)
class Visibility:
    """The owner (``tenant_id``) always sees and writes its rows. Others only as listed here."""

    # Tenants named in these columns also see the row (a sharing agreement's partner).
    shared_tenant_columns: tuple[str, ...] = ()
    # The user named in this column sees the row from any tenant (their own memberships).
    own_user_column: str | None = None
    # Tenants in ``shared_tenant_columns`` may update the row (never delete it).
    shared_tenants_may_update: bool = False

    # -- ORM side ---------------------------------------------------------------------------
    def read_criterion(self, cls, tenant_id, user_id):
        # No Python branching on the ids: under lambda caching they are bound parameters,
        # and ``column = NULL`` is simply false, which is what "no tenant" must mean.
        clauses = [cls.tenant_id == tenant_id]
        clauses += [getattr(cls, col) == tenant_id for col in self.shared_tenant_columns]
        if self.own_user_column:
            clauses.append(getattr(cls, self.own_user_column) == user_id)
        return or_(*clauses)

    def may_update(self, obj, tenant_id: int | None) -> bool:
        if tenant_id is None:
            return False
        if obj.tenant_id == tenant_id:
            return True
        return self.shared_tenants_may_update and any(
            getattr(obj, col) == tenant_id for col in self.shared_tenant_columns
        )

    def may_delete(self, obj, tenant_id: int | None) -> bool:
        return tenant_id is not None and obj.tenant_id == tenant_id

    # -- PostgreSQL side ---------------------------------------------------------------------
    def rls_read_sql(self) -> str:
        clauses = [f"tenant_id = {RLS_TENANT}"]
        clauses += [f"{col} = {RLS_TENANT}" for col in self.shared_tenant_columns]
        if self.own_user_column:
            clauses.append(f"{self.own_user_column} = {RLS_USER}")
        return " OR ".join(clauses)

    def rls_update_sql(self) -> str:
        clauses = [f"tenant_id = {RLS_TENANT}"]
        if self.shared_tenants_may_update:
            clauses += [f"{col} = {RLS_TENANT}" for col in self.shared_tenant_columns]
        return " OR ".join(clauses)

    def rls_owner_sql(self) -> str:
        return f"tenant_id = {RLS_TENANT}"

    def rls_policies(self, table: str) -> list[str]:
        """The CREATE POLICY statements for ``table`` (one per command, so each is explicit)."""
        return [
            f"CREATE POLICY {table}_select ON {table} FOR SELECT USING ({self.rls_read_sql()})",
            f"CREATE POLICY {table}_insert ON {table} FOR INSERT WITH CHECK ({self.rls_owner_sql()})",
            f"CREATE POLICY {table}_update ON {table} FOR UPDATE USING ({self.rls_update_sql()}) "
            f"WITH CHECK ({self.rls_update_sql()})",
            f"CREATE POLICY {table}_delete ON {table} FOR DELETE USING ({self.rls_owner_sql()})",
        ]


OWNER_ONLY = Visibility()

# table name -> Visibility, filled as tenant-owned models are declared.
REGISTRY: dict[str, Visibility] = {}


def register(table: str, visibility: Visibility) -> None:
    REGISTRY[table] = visibility


def visibility_for_table(table: str) -> Visibility:
    return REGISTRY[table]
