"""Periodic referral work (registered with ``core.schedule``; the scheduler imports this module)."""
from __future__ import annotations

from datetime import timedelta

from ..core.schedule import periodic
from . import service


@periodic("referrals.remind_and_expire", every=timedelta(hours=1), per_tenant=True)
def remind_and_expire():
    """As each sending tenant: remind receivers the day before the deadline, expire overdue ones."""
    return service.remind_and_expire()
