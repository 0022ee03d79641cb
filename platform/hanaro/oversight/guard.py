"""Administrative sanctions are append-only in the ORM too, on every backend (as the access log is,
see ``audit.guard``):

1. the tenancy write guard: ``Sanction`` and ``SanctionFinding`` have no update or delete rule, so
   a changed or deleted row in a flush raises ``TenantWriteRefused``;
2. this module: ORM bulk ``update()`` / ``delete()`` statements on them raise ``AppendOnly``;
3. PostgreSQL: RLS lets the app role update or delete nothing, and the ``*_append_only`` triggers
   (migration 0010) refuse UPDATE, DELETE and TRUNCATE for every role.
"""
from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session

from ..audit.guard import AppendOnly
from .models import Sanction, SanctionFinding

__all__ = ["AppendOnly"]


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(orm_execute_state):
    if not (orm_execute_state.is_update or orm_execute_state.is_delete):
        return
    mapper = orm_execute_state.bind_mapper
    if mapper is not None and mapper.class_ in (Sanction, SanctionFinding):
        raise AppendOnly("administrative sanctions are append-only: record a correction instead")
