"""Periodic agreement work (registered with ``core.schedule``; the scheduler imports this module)."""
from __future__ import annotations

from datetime import timedelta

from ..core.schedule import periodic
from . import service


@periodic("tenancy.expire_agreements", every=timedelta(hours=6), per_tenant=True)
def expire_agreements():
    """As each proposing tenant: mark its accepted agreements past their end as expired and tell
    both sides once. Run as the partner it does nothing (the owner writes the row)."""
    return {"expired": service.expire_agreements()}
