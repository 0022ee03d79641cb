"""Who may call the oversight screens, as named checks their routes declare (``core.access``).

A facility's records (the facility itself, its inspections, corrective actions, sanctions and
evaluations) are read by the supervising municipality's inspectors, the facility's own tenant and
the province; the municipality's other staff get 403, every other tenant 404 (the loaders). Only
the municipality's inspectors change them. The lists over every facility are for the province's
members and the municipality's inspectors.
"""
from __future__ import annotations

from werkzeug.exceptions import NotFound

from ..core.access import Asking, check
from ..tenancy.models import Role, TenantKind
from .service import SUPERVISOR_KINDS, side_of
from .states import Side

INSPECTOR_ROLES = (Role.INSPECTOR,)
# Who at the facility may answer a corrective action: anyone but view-only members.
ANSWER_ROLES = tuple(r for r in Role if r is not Role.VIEWER)


def reads_region(membership) -> bool:
    """The lists over every facility: a province's members, a municipality's inspectors."""
    kind = membership.tenant.kind
    return kind in SUPERVISOR_KINDS and (kind is TenantKind.PROVINCE or membership.has_role(*INSPECTOR_ROLES))


def _side(asking: Asking) -> Side:
    side = side_of(asking.subject)
    if side is None:
        raise NotFound()
    return side


@check("oversight_record_reader")
def reads_record(asking: Asking) -> bool:
    """A facility's record: the supervising municipality's inspectors, the facility's own tenant
    and the province read it; the municipality's other staff may not (403)."""
    return _side(asking) is not Side.INSPECTOR or asking.has_role(*INSPECTOR_ROLES)


@check("oversight_record_writer")
def writes_record(asking: Asking) -> bool:
    """A facility's record: only the supervising municipality's inspectors change it."""
    return _side(asking) is Side.INSPECTOR and asking.has_role(*INSPECTOR_ROLES)


@check("oversight_status_reporter")
def reports_status(asking: Asking) -> bool:
    """A facility's status report: the facility itself, or its municipality's inspectors for it."""
    side = _side(asking)
    return side is Side.FACILITY or (side is Side.INSPECTOR and asking.has_role(*INSPECTOR_ROLES))


@check("corrective_action_step")
def takes_action_step(asking: Asking) -> bool:
    """A step on a corrective action the member reads: the answer by any member but view-only
    ones, the municipality's steps by inspectors (which side may take it, the service decides)."""
    roles = ANSWER_ROLES if asking.args.get("step") == "answer" else INSPECTOR_ROLES
    return reads_record(asking) and asking.has_role(*roles)


@check("oversight_lists_reader")
def reads_lists(asking: Asking) -> bool:
    """Oversight lists: a tenant that does not supervise sees its own facility's; a supervising
    tenant's lists over every facility are for the province's members and the municipality's
    inspectors."""
    return asking.tenant.kind not in SUPERVISOR_KINDS or reads_region(asking.membership)


@check("oversight_region_reader")
def reads_region_lists(asking: Asking) -> bool:
    """Lists only a supervising tenant has (evaluation cycles): the province's members and the
    municipality's inspectors."""
    return reads_region(asking.membership)


@check("oversight_figures_reader")
def reads_figures(asking: Asking) -> bool:
    """Region figures: only supervising tenants have them (404 for any other kind), read by the
    province's members and the municipality's inspectors."""
    if asking.tenant.kind not in SUPERVISOR_KINDS:
        raise NotFound()
    return reads_region(asking.membership)


@check("supervising_inspector")
def supervising_inspector(asking: Asking) -> bool:
    """Creating oversight records of one's own (facilities, checklists, evaluation cycles): the
    inspectors of a supervising tenant (a 시군구, or a 광역 for its own)."""
    return asking.tenant.kind in SUPERVISOR_KINDS and asking.has_role(*INSPECTOR_ROLES)


@check("own_record_inspector")
def own_record_inspector(asking: Asking) -> bool:
    """A record only its owner sees (a checklist template): the owner's inspectors."""
    return asking.subject.tenant_id == asking.membership.tenant_id and asking.has_role(*INSPECTOR_ROLES)


@check("evaluation_cycle_reader")
def reads_cycle(asking: Asking) -> bool:
    """An evaluation cycle: its municipality's inspectors and its province read it."""
    own = asking.subject.tenant_id == asking.membership.tenant_id
    return not own or asking.has_role(*INSPECTOR_ROLES)


@check("evaluation_cycle_writer")
def writes_cycle(asking: Asking) -> bool:
    """Results in an evaluation cycle: recorded by its municipality's inspectors only."""
    return asking.subject.tenant_id == asking.membership.tenant_id and asking.has_role(*INSPECTOR_ROLES)
