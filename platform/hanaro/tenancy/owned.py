"""The mixin every tenant-owned model uses."""
from __future__ import annotations

from typing import ClassVar

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import BigId
from . import policy


class TenantOwned:
    """A row owned by one tenant. ``tenant_id`` is stamped from the active tenant on insert
    and can never change; reads are filtered by the model's ``__visibility__``."""

    __visibility__: ClassVar[policy.Visibility] = policy.OWNER_ONLY

    tenant_id: Mapped[int] = mapped_column(BigId, ForeignKey("tenants.id"), nullable=False, index=True)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        table = cls.__dict__.get("__tablename__")
        if table:
            policy.register(table, cls.__visibility__)

    @classmethod
    def _visible_criterion(cls, tenant_id, user_id):
        return cls.__visibility__.read_criterion(cls, tenant_id, user_id)


def references(table_name: str) -> list[tuple[str, str]]:
    """The (column, parent table) foreign keys of ``table_name`` to other tenant-owned rows."""
    from ..core.db import db

    table = db.metadata.tables[table_name]
    return sorted(
        (fk.parent.name, fk.column.table.name)
        for fk in table.foreign_keys
        if fk.column.table.name in policy.REGISTRY and fk.parent.name != "tenant_id"
    )
