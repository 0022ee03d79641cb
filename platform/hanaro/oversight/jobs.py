"""Periodic oversight work (registered with ``core.schedule``; the scheduler imports this module)."""
from __future__ import annotations

from datetime import timedelta

from ..core.schedule import periodic
from . import actions


@periodic("oversight.notify_overdue", every=timedelta(hours=6), per_tenant=True)
def notify_overdue():
    """As each supervising municipality: tell both sides of every corrective action past its due
    date, once per action and due date."""
    return actions.notify_overdue()
