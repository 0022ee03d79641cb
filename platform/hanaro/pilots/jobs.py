"""Periodic pilot work (registered with ``core.schedule``; the scheduler imports this module)."""
from __future__ import annotations

from datetime import timedelta

from ..core.schedule import periodic
from . import metrics


@periodic("pilots.report_figures", every=timedelta(hours=6), per_tenant=True)
def report_figures():
    """As each tenant: post its own pilot figures to the workspaces it runs or takes part in; the
    coordinating tenant's run also asks the region's other tenants to report (see ``metrics``)."""
    return metrics.report_figures()
