"""The access log is append-only in the ORM too, on every backend.

Three layers refuse changing or deleting an entry:

1. the tenancy write guard (``before_flush``): ``AccessLogEntry.__visibility__`` has no update or
   delete rule, so a changed or deleted entry in a flush raises ``TenantWriteRefused``;
2. this module: ORM bulk ``update(AccessLogEntry)`` / ``delete(AccessLogEntry)`` statements, which
   bypass the flush, raise :class:`AppendOnly`;
3. PostgreSQL: RLS has no UPDATE/DELETE policy that lets a row through for the app role, and the
   ``access_log_append_only`` / ``access_log_no_truncate`` triggers refuse UPDATE, DELETE and
   TRUNCATE for every role, owner and superuser included (migration 0001).

Raw SQL on the embedded SQLite database is the one path not covered (SQLite is the demo backend).
"""
from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session

from .models import AccessLogEntry


class AppendOnly(PermissionError):
    """Access log entries are never changed or deleted."""


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(orm_execute_state):
    if not (orm_execute_state.is_update or orm_execute_state.is_delete):
        return
    mapper = orm_execute_state.bind_mapper
    if mapper is not None and mapper.class_ is AccessLogEntry:
        raise AppendOnly("the access log is append-only")
