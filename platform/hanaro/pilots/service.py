"""Rules of pilot workspaces: who runs and who takes part in which workspace, its phases.
Callers commit."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask import abort, g
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..accounts.models import User
from ..core import clock
from ..core.db import db, utcnow
from ..core.rules import RuleViolation
from ..tenancy import context
from ..tenancy.models import Region, Role, Tenant
from . import features
from .features import FEATURES
from .models import (PHASE_LABELS, FeatureSwitch, Participant, Phase, PhasePeriod, SwitchState, VillagePlanner,
                     Workspace, WorkspaceStatus)


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


def current_phase(workspace: Workspace, today: date | None = None,
                  periods: list[PhasePeriod] | None = None) -> PhasePeriod | None:
    """The period running ``today``; ``periods`` saves a query when the caller has them."""
    today = today or clock.today()
    current = None
    for period in phases(workspace) if periods is None else periods:
        if period.starts_on <= today and (period.ends_on is None or today <= period.ends_on):
            current = period
    return current


# -- what the workspace pages show ----------------------------------------------------------------

def visible_workspaces() -> list[Workspace]:
    """Every workspace the active tenant runs or takes part in now (the policy decides)."""
    return list(db.session.scalars(select(Workspace).order_by(Workspace.status, Workspace.created_at.desc(),
                                                              Workspace.id)))


def shows_menu() -> bool:
    """Does the active tenant run or take part in a workspace? Asked once per request (the menu)."""
    if "pilots_in_menu" not in g:
        g.pilots_in_menu = context.current_tenant_id() is not None and db.session.scalar(
            select(menu_clause())) is True
    return g.pilots_in_menu


def menu_clause():
    """``shows_menu`` as an EXISTS, for a tenant (the header asks it with the other menu questions)."""
    return select(Workspace.id).exists()


def planners(workspace: Workspace) -> list[VillagePlanner]:
    return list(db.session.scalars(select(VillagePlanner).where(VillagePlanner.workspace_id == workspace.id)
                                   .order_by(VillagePlanner.dong_code, VillagePlanner.name, VillagePlanner.id)))


def regions_of(workspace: Workspace) -> list[Region]:
    """The workspace's regions in the order the workspace lists them (unknown codes left out)."""
    found = {r.code: r for r in db.session.scalars(select(Region).where(Region.code.in_(workspace.region_codes)))}
    return [found[code] for code in workspace.region_codes if code in found]


@dataclass(frozen=True)
class FeatureState:
    key: str
    label: str
    state: SwitchState  # what the switch says (its default when no row exists yet)
    on_here: bool  # on for the workspace's tenants
    managed_here: bool  # this workspace's coordinators may change it
    changed_at: datetime | None
    changed_by: User | None


def feature_states(workspace: Workspace) -> list[FeatureState]:
    rows = {s.key: s for s in db.session.scalars(select(FeatureSwitch).where(FeatureSwitch.key.in_(FEATURES)))}
    states = []
    for key, (label, default_on) in FEATURES.items():
        row = rows.get(key)
        state = row.state if row else (SwitchState.EVERYONE if default_on else SwitchState.OFF)
        states.append(FeatureState(
            key=key, label=str(label), state=state,
            # As decided for the coordinating tenant, which takes part in its workspace like every
            # participant does (decided where every switch is decided: ``features``).
            on_here=features.is_enabled(key, workspace.tenant_id),
            managed_here=row is None or row.workspace_id in (None, workspace.id),
            changed_at=row.changed_at if row else None,
            changed_by=db.session.get(User, row.changed_by_user_id) if row and row.changed_by_user_id else None,
        ))
    return states


# -- what coordinators change ----------------------------------------------------------------------

def add_participant(workspace: Workspace, tenant: Tenant, joined_on: date | None = None) -> Participant:
    """Add ``tenant``, or take it back after it left (its leaving date is cleared)."""
    if tenant.id == workspace.tenant_id:
        raise RuleViolation(_l("운영 기관은 참여 기관으로 추가하지 않습니다."), "tenant")
    joined_on = joined_on or clock.today()
    if joined_on > clock.today():  # taking part starts when the row exists: no joining in the future
        raise RuleViolation(_l("참여일은 오늘이나 그 이전이어야 합니다."), "joined_on")
    existing = db.session.scalar(select(Participant).where(Participant.workspace_id == workspace.id,
                                                           Participant.participant_tenant_id == tenant.id))
    if existing is not None and existing.left_on is None:
        raise RuleViolation(_l("이미 참여 중인 기관입니다."), "tenant")
    if existing is not None:
        existing.left_on, existing.joined_on = None, joined_on
        participant = existing
    else:
        participant = Participant(workspace_id=workspace.id, participant_tenant_id=tenant.id, joined_on=joined_on)
        db.session.add(participant)
    db.session.flush()
    _forget_decisions()
    return participant


def remove_participant(workspace: Workspace, tenant: Tenant) -> Participant:
    """The tenant leaves today: from now on it neither sees the workspace nor gets its pilot-only features."""
    participant = db.session.scalar(select(Participant).where(Participant.workspace_id == workspace.id,
                                                              Participant.participant_tenant_id == tenant.id,
                                                              Participant.left_on.is_(None)))
    if participant is None:
        raise RuleViolation(_l("참여 중인 기관이 아닙니다."), "tenant")
    participant.left_on = max(clock.today(), participant.joined_on)
    db.session.flush()
    _forget_decisions()
    return participant


@dataclass(frozen=True)
class PhaseProblem:
    phase: Phase
    field: str  # "start" or "end"
    kind: str  # end_before_start | overlap | order
    other: Phase | None = None


PHASE_ORDER = list(Phase)


def phase_problems(periods: dict[Phase, tuple[date, date | None]]) -> list[PhaseProblem]:
    """Each period ends on or after its start; the phases start in their order (준비 → 시범운영 →
    평가 → 확대); and none overlaps the next (an open end runs forever). A problem sits on the field
    to correct: the end that comes too early, or the start of the later phase."""
    problems: dict[tuple[Phase, str], PhaseProblem] = {}
    for phase, (start, end) in periods.items():
        if end is not None and end < start:
            problems[(phase, "end")] = PhaseProblem(phase, "end", "end_before_start")
    present = [phase for phase in PHASE_ORDER if phase in periods]
    pairs = list(zip(present, present[1:]))
    for before, after in pairs:
        if periods[after][0] < periods[before][0]:
            problems.setdefault((after, "start"), PhaseProblem(after, "start", "order", before))
    if not any(p.kind == "order" for p in problems.values()):  # in order: each only needs to end before the next
        for before, after in pairs:
            before_end = periods[before][1]
            if before_end is None or before_end >= periods[after][0]:
                problems.setdefault((after, "start"), PhaseProblem(after, "start", "overlap", before))
    return sorted(problems.values(), key=lambda p: (PHASE_ORDER.index(p.phase), p.field))


PHASE_MESSAGES = {
    "end_before_start": lambda other: _l("종료일은 시작일과 같거나 그 뒤여야 합니다."),
    "overlap": lambda other: _l("%(phase)s 기간과 겹칩니다.", phase=PHASE_LABELS[other]),
    "order": lambda other: _l("%(phase)s 단계보다 먼저 시작할 수 없습니다.", phase=PHASE_LABELS[other]),
}


def save_phases(workspace: Workspace, periods: dict[Phase, tuple[date, date | None]]) -> None:
    """Replace the workspace's phase dates: phases in ``periods`` are set, the others removed."""
    problems = phase_problems(periods)
    if problems:
        first = problems[0]
        raise RuleViolation(PHASE_MESSAGES[first.kind](first.other), f"{first.phase.value}_{first.field}")
    existing = {p.phase: p for p in phases(workspace)}
    for phase, period in existing.items():
        if phase not in periods:
            db.session.delete(period)
    for phase, (start, end) in periods.items():
        period = existing.get(phase)
        if period is None:
            db.session.add(PhasePeriod(workspace_id=workspace.id, phase=phase, starts_on=start, ends_on=end))
        else:
            period.starts_on, period.ends_on = start, end
    db.session.flush()


def add_planner(workspace: Workspace, name: str, dong_code: str) -> VillagePlanner:
    if dong_code not in workspace.region_codes:
        raise RuleViolation(_l("시범사업 지역 가운데서 고르세요."), "dong_code")
    planner = VillagePlanner(workspace_id=workspace.id, name=name, dong_code=dong_code)
    db.session.add(planner)
    db.session.flush()
    return planner


def set_switch(workspace: Workspace, key: str, state: SwitchState, actor) -> FeatureSwitch:
    """Switch ``key`` off, on for this workspace's tenants only, or on for everyone; recorded with
    who and when. Takes effect with the next request (and for the rest of this one)."""
    if key not in FEATURES:
        raise RuleViolation(_l("목록에 있는 기능을 고르세요."), "key")
    switch = db.session.scalar(select(FeatureSwitch).where(FeatureSwitch.key == key))
    if switch is not None and switch.workspace_id not in (None, workspace.id):
        raise RuleViolation(_l("다른 시범사업이 관리하는 기능입니다."), "state")
    if switch is None:
        switch = FeatureSwitch(key=key)
        db.session.add(switch)
    switch.state, switch.workspace_id = state, workspace.id
    switch.changed_by_user_id, switch.changed_at = actor.id, utcnow()
    db.session.flush()
    _forget_decisions()
    return switch


def _forget_decisions() -> None:
    """Feature decisions are cached per request: drop them once participation or a switch changes."""
    g.pop("feature_switches", None)
    g.pop("feature_switch_rows", None)
    g.pop("pilots_in_menu", None)
