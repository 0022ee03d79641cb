"""Rules of pilot workspaces: who runs and who takes part in which workspace, its phases.
Callers commit."""
from __future__ import annotations

from datetime import date

from flask import abort, g
from sqlalchemy import select

from ..core import clock
from ..core.db import db
from ..tenancy import context
from ..tenancy.models import Role
from .models import Participant, PhasePeriod, Workspace, WorkspaceStatus


def get_workspace_or_404(public_id: str) -> Workspace:
    """A workspace the active tenant runs or takes part in; anyone else gets 404."""
    workspace = db.session.scalar(select(Workspace).where(Workspace.public_id == public_id))
    if workspace is None:
        abort(404)
    return workspace


def workspace_for_tenant(tenant_id: int | None = None) -> Workspace | None:
    """The active workspace ``tenant_id`` (default: the active tenant) runs or takes part in now."""
    tenant_id = tenant_id or context.current_tenant_id()
    if tenant_id is None:
        return None
    taking_part = select(Participant.workspace_id).where(Participant.participant_tenant_id == tenant_id,
                                                         Participant.left_on.is_(None))
    return db.session.scalar(
        select(Workspace).where(Workspace.status == WorkspaceStatus.ACTIVE.value,
                                (Workspace.tenant_id == tenant_id) | Workspace.id.in_(taking_part))
        .order_by(Workspace.id).limit(1)
    )


def runs(workspace: Workspace) -> bool:
    """Is the active tenant the workspace's coordinating tenant?"""
    return workspace.tenant_id == context.current_tenant_id()


def is_coordinator(workspace: Workspace) -> bool:
    """A pilot coordinator of the coordinating tenant."""
    membership = g.get("membership")
    return runs(workspace) and membership is not None and membership.has_role(Role.PILOT_COORDINATOR)


def coordinated_workspaces() -> list[Workspace]:
    return list(db.session.scalars(select(Workspace).where(Workspace.tenant_id == context.current_tenant_id())
                                   .order_by(Workspace.created_at.desc())))


def participants(workspace: Workspace, include_left: bool = False) -> list[Participant]:
    statement = select(Participant).where(Participant.workspace_id == workspace.id)
    if not include_left:
        statement = statement.where(Participant.left_on.is_(None))
    return list(db.session.scalars(statement.order_by(Participant.joined_on, Participant.id)))


def phases(workspace: Workspace) -> list[PhasePeriod]:
    return list(db.session.scalars(select(PhasePeriod).where(PhasePeriod.workspace_id == workspace.id)
                                   .order_by(PhasePeriod.starts_on)))


def current_phase(workspace: Workspace, today: date | None = None) -> PhasePeriod | None:
    today = today or clock.today()
    current = None
    for period in phases(workspace):
        if period.starts_on <= today and (period.ends_on is None or today <= period.ends_on):
            current = period
    return current
