"""Who may call the campaign screens, as named checks their routes declare (``core.access``).

A campaign or nomination the tenant may not see is 404 (the service's loaders); a visible one asked
for by the wrong side, or by a member without that side's role, is 403.
"""
from __future__ import annotations

from werkzeug.exceptions import NotFound

from ..core.access import Asking, check
from ..tenancy import context
from ..tenancy.models import Role
from . import service
from .states import Side

ORGANISE = (Role.CAMPAIGN_ORGANISER,)
NOMINATE = (Role.CASE_MANAGER, Role.REFERRAL_COORDINATOR, Role.TENANT_ADMIN)  # as for clients and referrals


def nomination_side(nomination, wanted: Side | None = None) -> Side | None:
    """The active tenant's side on a nomination; an organiser that also nominated acts as the
    nominator where the nominator's side is wanted."""
    if wanted is Side.NOMINATOR and nomination.nominator_tenant_id == context.current_tenant_id():
        return Side.NOMINATOR
    return service.nomination_side(nomination)


def _on_side(asking: Asking, side: Side | None, wanted: Side | None) -> bool:
    if side is None:
        raise NotFound()
    if wanted is not None and side is not wanted:
        return False
    return asking.has_role(*(ORGANISE if side is Side.ORGANISER else NOMINATE))


@check("campaign_reader")
def reads_campaign(asking: Asking) -> bool:
    """A campaign: its organiser's 자원배분 담당자 and the invited tenants' nominating staff."""
    return _on_side(asking, service.side_of(asking.subject), None)


@check("campaign_organiser")
def organises_campaign(asking: Asking) -> bool:
    """A campaign's organiser's steps: its organising tenant's 자원배분 담당자."""
    return _on_side(asking, service.side_of(asking.subject), Side.ORGANISER)


@check("campaign_nominator")
def nominates(asking: Asking) -> bool:
    """Nominating for a campaign: an invited tenant's nominating staff."""
    return _on_side(asking, service.side_of(asking.subject), Side.NOMINATOR)


@check("nomination_reader")
def reads_nomination(asking: Asking) -> bool:
    """A nomination: the campaign's 자원배분 담당자 and the nominating tenant's staff."""
    return _on_side(asking, nomination_side(asking.subject), None)


@check("nomination_organiser")
def decides_nomination(asking: Asking) -> bool:
    """Deciding on a nomination: the campaign's organising tenant's 자원배분 담당자."""
    return _on_side(asking, nomination_side(asking.subject, Side.ORGANISER), Side.ORGANISER)


@check("nomination_nominator")
def owns_nomination(asking: Asking) -> bool:
    """Changing or withdrawing a nomination: the nominating tenant's staff."""
    return _on_side(asking, nomination_side(asking.subject, Side.NOMINATOR), Side.NOMINATOR)


@check("flag_organiser")
def resolves_flag(asking: Asking) -> bool:
    """Resolving a check's flag: the campaign's organising tenant's 자원배분 담당자."""
    side = Side.ORGANISER if asking.subject.tenant_id == asking.membership.tenant_id else Side.NOMINATOR
    return _on_side(asking, side, Side.ORGANISER)
