"""Who may answer a sharing agreement, as named checks its routes declare (``core.access``).

An agreement of two other tenants is 404 (the service's loader); the party that may not take a step
(the proposer accepting its own proposal, the partner withdrawing it) is 403.
"""
from __future__ import annotations

from ..core.access import Asking, check


@check("agreement_partner")
def partner_of_agreement(asking: Asking) -> bool:
    """The agreement's partner: it accepts or declines a proposal made to it."""
    return asking.subject.partner_tenant_id == asking.membership.tenant_id


@check("agreement_proposer")
def proposer_of_agreement(asking: Asking) -> bool:
    """The agreement's proposer: it withdraws a proposal not answered yet."""
    return asking.subject.tenant_id == asking.membership.tenant_id
