"""Rules of regional care meetings (지역케어회의). Callers commit.

Who may do what, on top of the visibility policy in ``models`` (which decides what is *seen*):

* the **organising tenant** owns the meeting. Its pilot coordinators and tenant admins (the
  *editors*) create meetings, change their details and members, write the minutes, put items on
  the agenda with their discussion and decision, and assign follow-up actions;
* **member tenants** read the meeting, its agenda and its actions. The policy shows a member its
  own membership row only, so a member sees the organiser and itself, not the whole list;
* the tenant an action is **assigned to** (a member tenant, or the organiser itself) changes its
  status with a note, as do the organiser's editors. Viewer-only staff change nothing.

A **case on the agenda** is shown to a viewer only when the viewer could open that case itself:
``cases.get_case_or_404`` succeeds for its tenant (the case's lead or an accepted collaborator,
so consent and team rules apply unchanged) and the user holds a role that reads cases. Everyone
else sees a placeholder, never the client's name — and not the item's title, discussion or
decision either, which are about the client. Showing a case item's client data is access-logged
(``what="care_meeting"``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import g
from flask_babel import lazy_gettext as _l
from sqlalchemy import case as sql_case
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import Forbidden, NotFound

from ..audit import service as audit
from ..audit.models import AccessAction
from ..cases import service as cases
from ..cases.models import Case, CaseStatus
from ..core import clock
from ..core.db import db
from ..core.rules import RuleViolation
from ..tenancy import context
from ..tenancy import service as tenancy
from ..tenancy.models import Role, Tenant
from . import features
from . import service as workspaces
from .models import (
    ACTION_STATUS_LABELS,
    ActionStatus,
    AgendaItem,
    AgendaKind,
    CareMeeting,
    CareMeetingMember,
    MeetingAction,
    Workspace,
)

FEATURE = "care_meetings"
EDITOR_ROLES = (Role.PILOT_COORDINATOR, Role.TENANT_ADMIN)
# The roles that read cases on the case screens (cases.views.READ).
CASE_READER_ROLES = (Role.CASE_MANAGER, Role.VIEWER)
WHAT = "care_meeting"
MAX_EXPERTS = 30
AGENDA_KIND_LABELS = {AgendaKind.CASE: _l("사례"), AgendaKind.POLICY: _l("정책·제도")}
HIDDEN_CASE = _l("비공개 사례 (사례 관리 기관만 볼 수 있습니다)")
HIDDEN_CASE_ROLE = _l("비공개 사례 (사례관리 권한이 있는 직원만 볼 수 있습니다)")

# The access log names what was looked at; register our label next to the others.
audit.WHAT_LABELS.setdefault(WHAT, _l("지역케어회의"))


# -- who is who ----------------------------------------------------------------------------------------

def _tenant_id() -> int:
    return context.current_tenant_id()


def _membership():
    return g.get("membership")


def may_organise() -> bool:
    """May the active user create meetings for the active tenant?"""
    membership = _membership()
    return bool(membership and membership.has_role(*EDITOR_ROLES))


def reads_cases() -> bool:
    membership = _membership()
    return bool(membership and membership.has_role(*CASE_READER_ROLES))


def is_organiser(meeting: CareMeeting) -> bool:
    return meeting.tenant_id == _tenant_id()


def can_edit(meeting: CareMeeting) -> bool:
    return is_organiser(meeting) and may_organise()


def _writer() -> bool:
    """Anyone but viewer-only staff may answer for their tenant's actions."""
    membership = _membership()
    return bool(membership and any(role != Role.VIEWER.value for role in membership.roles))


def may_update_action(action: MeetingAction) -> bool:
    if action.assignee_tenant_id == _tenant_id() and _writer():
        return True
    return action.tenant_id == _tenant_id() and may_organise()


def is_overdue(action: MeetingAction, today: date | None = None) -> bool:
    return action.status is ActionStatus.OPEN and action.due_on < (today or clock.today())


# -- loading ------------------------------------------------------------------------------------------

def get_meeting_or_404(public_id: str) -> CareMeeting:
    """A meeting the active tenant organises or is a member of; anyone else gets 404."""
    meeting = db.session.scalar(select(CareMeeting).where(CareMeeting.public_id == public_id).limit(1))
    if meeting is None:
        raise NotFound()
    return meeting


def get_action_or_404(public_id: str) -> MeetingAction:
    """An action of a meeting the active tenant organises or attends, or one assigned to it."""
    action = db.session.scalar(select(MeetingAction).options(joinedload(MeetingAction.assignee))
                               .where(MeetingAction.public_id == public_id).limit(1))
    if action is None:
        raise NotFound()
    return action


def meeting_of(action: MeetingAction) -> CareMeeting | None:
    """The action's meeting, if the active tenant attends it (an assignee always should)."""
    return db.session.scalar(select(CareMeeting).where(CareMeeting.id == action.meeting_id).limit(1))


def get_item_or_404(meeting: CareMeeting, position: int) -> AgendaItem:
    item = db.session.scalar(select(AgendaItem).where(AgendaItem.meeting_id == meeting.id,
                                                      AgendaItem.position == position).limit(1))
    if item is None:
        raise NotFound()
    return item


def _tenant_names(ids) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db.session.execute(select(Tenant.id, Tenant.name).where(Tenant.id.in_(ids))).all())


def tenant_name(tenant_id: int) -> str:
    tenant = db.session.get(Tenant, tenant_id)
    return tenant.name if tenant else ""


# -- the list -----------------------------------------------------------------------------------------

@dataclass
class MeetingRow:
    meeting: CareMeeting
    organiser: str
    workspace: str | None
    open_actions: int
    overdue_actions: int
    upcoming: bool
    organised: bool


def list_meetings(today: date | None = None) -> list[MeetingRow]:
    """Meetings the active tenant organises or is a member of: upcoming ones first (soonest
    first), then past ones (latest first)."""
    today = today or clock.today()
    meetings = list(db.session.scalars(select(CareMeeting)))
    ids = [m.id for m in meetings]
    counts: dict[int, tuple[int, int]] = {}
    if ids:
        rows = db.session.execute(
            select(MeetingAction.meeting_id, func.count(),
                   func.sum(sql_case((MeetingAction.due_on < today, 1), else_=0)))
            .where(MeetingAction.meeting_id.in_(ids), MeetingAction.status == ActionStatus.OPEN)
            .group_by(MeetingAction.meeting_id)
        ).all()
        counts = {meeting_id: (n, int(late or 0)) for meeting_id, n, late in rows}
    workspace_ids = {m.workspace_id for m in meetings if m.workspace_id}
    names = dict(db.session.execute(select(Workspace.id, Workspace.name)
                                    .where(Workspace.id.in_(workspace_ids))).all()) if workspace_ids else {}
    tenants = _tenant_names({m.tenant_id for m in meetings})
    own = _tenant_id()
    result = [MeetingRow(m, tenants.get(m.tenant_id, ""), names.get(m.workspace_id), *counts.get(m.id, (0, 0)),
                         upcoming=m.held_on >= today, organised=m.tenant_id == own) for m in meetings]
    upcoming = sorted((r for r in result if r.upcoming), key=lambda r: (r.meeting.held_on, r.meeting.id))
    past = sorted((r for r in result if not r.upcoming), key=lambda r: (r.meeting.held_on, r.meeting.id), reverse=True)
    return upcoming + past


# -- creating and editing a meeting -----------------------------------------------------------------

def default_member_tenants() -> list[Tenant]:
    """The participants of the active tenant's workspace that it may see (for the coordinating
    tenant: all of them), without the active tenant itself."""
    workspace = workspaces.workspace_for_tenant()
    if workspace is None:
        return []
    own = _tenant_id()
    tenants = [p.participant for p in workspaces.participants(workspace)]
    return [t for t in tenants if t.id != own and t.active]


def other_tenants(exclude_ids) -> list[Tenant]:
    own = _tenant_id()
    return [t for t in tenancy.all_tenants() if t.active and t.id != own and t.id not in exclude_ids]


def _tenants_by_code(codes) -> list[Tenant]:
    codes = list(dict.fromkeys(c for c in codes if c))
    if not codes:
        return []
    found = {t.code: t for t in db.session.scalars(select(Tenant).where(Tenant.code.in_(codes),
                                                                      Tenant.active.is_(True)))}
    if len(found) != len(codes):
        raise RuleViolation(_l("목록에 있는 기관을 고르세요."), field="member_tenants")
    own = _tenant_id()
    return [found[c] for c in codes if found[c].id != own]  # the organiser takes part anyway


def _check_members(tenants: list[Tenant], experts: list[dict]) -> None:
    if not tenants and not experts:
        raise RuleViolation(_l("참석 기관이나 외부 전문가를 한 곳 이상 정하세요."), field="member_tenants")


def create_meeting(data: dict, actor) -> CareMeeting:
    """``data``: title, held_on, location, member_tenants (tenant codes), experts
    ([{"name", "affiliation"}])."""
    if not may_organise():
        raise Forbidden()
    tenants = _tenants_by_code(data.get("member_tenants") or [])
    experts = data.get("experts") or []
    _check_members(tenants, experts)
    workspace = workspaces.workspace_for_tenant()
    meeting = CareMeeting(workspace_id=workspace.id if workspace else None, title=data["title"],
                          held_on=data["held_on"], location=data.get("location"), created_by_user_id=actor.id)
    db.session.add(meeting)
    db.session.flush()
    for tenant in tenants:
        db.session.add(CareMeetingMember(meeting_id=meeting.id, member_tenant_id=tenant.id))
    for expert in experts:
        db.session.add(CareMeetingMember(meeting_id=meeting.id, external_name=expert["name"],
                                         external_affiliation=expert.get("affiliation") or None))
    meeting.roster = _roster(tenants, experts)
    db.session.flush()
    return meeting


def _roster(tenants: list[Tenant], experts: list[dict]) -> list[dict]:
    """Who attends, by name only, for every member to read: a member tenant sees only its own
    member row, yet should know who else sits at the table."""
    return ([{"name": t.name} for t in sorted(tenants, key=lambda t: t.name)]
            + [{"name": e["name"], "affiliation": e.get("affiliation") or None, "expert": True} for e in experts])


def update_meeting(meeting: CareMeeting, data: dict) -> None:
    """New details and members. A member tenant with actions assigned stays; the date may not move
    past an action's due date."""
    _require_editor(meeting)
    tenants = _tenants_by_code(data.get("member_tenants") or [])
    experts = data.get("experts") or []
    _check_members(tenants, experts)
    actions = actions_of(meeting)
    late = [a for a in actions if a.due_on < data["held_on"]]
    if late:
        raise RuleViolation(_l("후속 조치의 기한(%(day)s)보다 늦은 날로 회의일을 바꿀 수 없습니다.",
                               day=min(a.due_on for a in late).isoformat()), field="held_on")
    keep = {t.id for t in tenants}
    assigned = {a.assignee_tenant_id for a in actions} - keep - {meeting.tenant_id}
    if assigned:
        raise RuleViolation(_l("후속 조치를 맡은 기관은 뺄 수 없습니다: %(names)s",
                               names=", ".join(sorted(tenant_name(t) for t in assigned))), field="member_tenants")
    meeting.title, meeting.held_on, meeting.location = data["title"], data["held_on"], data.get("location")
    current = members_of(meeting)
    present = {m.member_tenant_id: m for m in current if m.member_tenant_id}
    for tenant_id, member in present.items():
        if tenant_id not in keep:
            db.session.delete(member)
    for tenant in tenants:
        if tenant.id not in present:
            db.session.add(CareMeetingMember(meeting_id=meeting.id, member_tenant_id=tenant.id))
    for member in current:
        if member.member_tenant_id is None:
            db.session.delete(member)
    for expert in experts:
        db.session.add(CareMeetingMember(meeting_id=meeting.id, external_name=expert["name"],
                                         external_affiliation=expert.get("affiliation") or None))
    meeting.roster = _roster(tenants, experts)
    db.session.flush()


def tenants_without_feature(tenant_ids) -> list[str]:
    """Names of member tenants the care-meeting screens are not switched on for (they cannot open
    the meeting until they are)."""
    return sorted(tenant_name(t) for t in tenant_ids if not features.is_enabled(FEATURE, t))


def _require_editor(meeting: CareMeeting) -> None:
    """Members see the meeting but may not change it: 403 (an outsider never gets this far)."""
    if not can_edit(meeting):
        raise Forbidden()


# -- members ----------------------------------------------------------------------------------------

def members_of(meeting: CareMeeting) -> list[CareMeetingMember]:
    """The memberships the active tenant may see: the organiser all of them, a member its own."""
    return list(db.session.scalars(
        select(CareMeetingMember).options(joinedload(CareMeetingMember.member_tenant))
        .where(CareMeetingMember.meeting_id == meeting.id).order_by(CareMeetingMember.id)
    ))


def roster_of(meeting: CareMeeting) -> list[dict]:
    """The attendance list to show; meetings saved before the roster existed fall back to the
    member rows the viewer may see."""
    if meeting.roster:
        return meeting.roster
    members = members_of(meeting)
    return _roster([m.member_tenant for m in members if m.member_tenant is not None],
                   [{"name": m.external_name, "affiliation": m.external_affiliation}
                    for m in members if m.member_tenant_id is None])


def member_tenant_ids(meeting: CareMeeting) -> set[int]:
    return {m.member_tenant_id for m in members_of(meeting) if m.member_tenant_id}


def assignee_options(meeting: CareMeeting) -> list[Tenant]:
    """Who an action may be assigned to: the organiser and the member tenants."""
    members = [m.member_tenant for m in members_of(meeting) if m.member_tenant is not None]
    return [db.session.get(Tenant, meeting.tenant_id)] + sorted(members, key=lambda t: t.name)


# -- minutes and agenda ------------------------------------------------------------------------------

def save_minutes(meeting: CareMeeting, minutes: str | None) -> None:
    _require_editor(meeting)
    meeting.minutes = minutes


def items_of(meeting: CareMeeting) -> list[AgendaItem]:
    return list(db.session.scalars(select(AgendaItem).where(AgendaItem.meeting_id == meeting.id)
                                   .order_by(AgendaItem.position, AgendaItem.id)))


def _visible_cases_query(tenant_id: int):
    return select(Case).options(joinedload(Case.client), joinedload(Case.case_type), joinedload(Case.tenant)) \
        .where(cases.shared_or_owned(tenant_id))


def case_options() -> list[tuple[str, str]]:
    """Open cases the active tenant leads or collaborates on (an accepted team member), for a
    case item; labelled with the client's initial only. Empty for users who do not read cases."""
    if not reads_cases():
        return []
    rows = db.session.scalars(_visible_cases_query(_tenant_id()).where(Case.status != CaseStatus.CLOSED)
                              .order_by(Case.opened_on.desc(), Case.id.desc()).limit(300))
    return [(c.public_id, case_label(c)) for c in rows]


def case_label(case: Case) -> str:
    parts = [case.case_type.name]
    if case.client is not None:
        parts.append(masked_name(case.client.name))
    parts.append(case.tenant.name)
    return " · ".join(parts)


def masked_name(name: str | None) -> str:
    """The initial only: 김순자 → 김○○."""
    name = (name or "").strip()
    return name[:1] + "○" * max(len(name) - 1, 1) if name else ""


def add_item(meeting: CareMeeting, data: dict) -> AgendaItem:
    """``data``: kind ("case" | "policy"), case (a case public id, for a case item), title."""
    _require_editor(meeting)
    kind = AgendaKind(data["kind"])
    case_id = None
    title = (data.get("title") or "").strip()
    if kind is AgendaKind.CASE:
        if not reads_cases():
            raise RuleViolation(_l("사례를 안건으로 올리려면 사례관리자나 조회 권한이 필요합니다."), field="case")
        public_id = data.get("case")
        if not public_id:
            raise RuleViolation(_l("안건으로 올릴 사례를 고르세요."), field="case")
        try:
            case = cases.get_case_or_404(public_id)
        except NotFound:
            raise RuleViolation(_l("목록에 있는 사례를 고르세요."), field="case") from None
        if any(i.case_id == case.id for i in items_of(meeting)):
            raise RuleViolation(_l("이 사례는 이미 안건에 있습니다."), field="case")
        case_id = case.id
        title = title or str(_l("%(type)s 사례 검토", type=case.case_type.name))
    elif not title:
        raise RuleViolation(_l("안건 제목을 입력하세요."), field="title")
    position = (db.session.scalar(select(func.max(AgendaItem.position)).where(AgendaItem.meeting_id == meeting.id))
                or 0) + 1
    item = AgendaItem(meeting_id=meeting.id, kind=kind, title=title, case_id=case_id, position=position)
    db.session.add(item)
    db.session.flush()
    return item


def update_item(meeting: CareMeeting, item: AgendaItem, data: dict) -> None:
    _require_editor(meeting)
    item.discussion = data.get("discussion")
    item.decision = data.get("decision")


def move_item(meeting: CareMeeting, item: AgendaItem, direction: str) -> None:
    """Swap ``item`` with its neighbour ("up" or "down")."""
    _require_editor(meeting)
    items = items_of(meeting)
    index = next(i for i, other in enumerate(items) if other.id == item.id)
    other_index = index - 1 if direction == "up" else index + 1
    if not 0 <= other_index < len(items):
        return
    other = items[other_index]
    # Positions are 1..n in order; renumber so gaps or ties never confuse the URLs.
    for n, row in enumerate(items, start=1):
        row.position = n
    item.position, other.position = other.position, item.position
    db.session.flush()


@dataclass
class AgendaEntry:
    """One agenda item as the active user may see it."""

    item: AgendaItem
    visible: bool  # title, discussion and decision may be shown
    case: Case | None = None  # a case item the viewer may open
    client_initial: str | None = None
    hidden_reason: str | None = None


def agenda_for_viewer(meeting: CareMeeting) -> list[AgendaEntry]:
    """The agenda as the active user may see it. A case item's case is looked up as the viewer
    (``cases.case_by_id_or_404``); showing its client data is recorded in the access log."""
    entries = []
    logged: set[int] = set()
    for item in items_of(meeting):
        if item.kind is not AgendaKind.CASE or item.case_id is None:
            entries.append(AgendaEntry(item, visible=True))
            continue
        if not reads_cases():
            entries.append(AgendaEntry(item, visible=False, hidden_reason=str(HIDDEN_CASE_ROLE)))
            continue
        try:
            case = cases.case_by_id_or_404(item.case_id)
        except NotFound:
            entries.append(AgendaEntry(item, visible=False, hidden_reason=str(HIDDEN_CASE)))
            continue
        initial = None
        if case.client is not None:
            initial = masked_name(case.client.name)
            if case.client.id not in logged:
                audit.record(case.client, AccessAction.VIEW, what=WHAT)
                logged.add(case.client.id)
        entries.append(AgendaEntry(item, visible=True, case=case, client_initial=initial))
    return entries


# -- actions ---------------------------------------------------------------------------------------------

def actions_of(meeting: CareMeeting) -> list[MeetingAction]:
    return list(db.session.scalars(select(MeetingAction).options(joinedload(MeetingAction.assignee))
                                   .where(MeetingAction.meeting_id == meeting.id)
                                   .order_by(MeetingAction.due_on, MeetingAction.id)))


def add_action(meeting: CareMeeting, data: dict) -> MeetingAction:
    """``data``: description, assignee (tenant code), due_on, item (an agenda position, optional)."""
    _require_editor(meeting)
    code = data.get("assignee")
    assignee = next((t for t in assignee_options(meeting) if t.code == code), None) if code else None
    if assignee is None:
        raise RuleViolation(_l("회의 참석 기관 중에서 담당 기관을 고르세요."), field="assignee")
    if data["due_on"] < meeting.held_on:
        raise RuleViolation(_l("기한은 회의일(%(day)s) 이후로 정하세요.", day=meeting.held_on.isoformat()),
                            field="due_on")
    item_id = None
    if data.get("item"):
        item = db.session.scalar(select(AgendaItem).where(AgendaItem.meeting_id == meeting.id,
                                                          AgendaItem.position == data["item"]))
        if item is None:
            raise RuleViolation(_l("목록에 있는 안건을 고르세요."), field="item")
        item_id = item.id
    action = MeetingAction(meeting_id=meeting.id, item_id=item_id, assignee_tenant_id=assignee.id,
                           description=data["description"], due_on=data["due_on"])
    db.session.add(action)
    db.session.flush()
    return action


def item_label(action: MeetingAction) -> str | None:
    """"2. 제목" of the action's agenda item, or "2. 비공개 사례" when it is a case item the
    active user may not see (no client data either way: nothing is logged)."""
    if action.item_id is None:
        return None
    item = db.session.scalar(select(AgendaItem).where(AgendaItem.id == action.item_id))
    if item is None:
        return None
    if item.kind is AgendaKind.CASE and item.case_id is not None:
        try:
            if not reads_cases():
                raise NotFound()
            cases.case_by_id_or_404(item.case_id)
        except NotFound:
            return f"{item.position}. {_l('비공개 사례')}"
    return f"{item.position}. {item.title}"


def set_action_status(action: MeetingAction, status, note: str | None) -> None:
    """The assignee tenant or the organiser's editors (the view answers 403 to the others)."""
    if not may_update_action(action):
        raise Forbidden()
    status = ActionStatus(status)
    if status is ActionStatus.DROPPED and not (note or "").strip():
        raise RuleViolation(_l("취소하는 이유를 메모에 적어 주세요."), field="status_note")
    action.status = status
    action.status_note = note


def status_label(action: MeetingAction) -> str:
    return str(ACTION_STATUS_LABELS[action.status])


# -- the task list -------------------------------------------------------------------------------------

TASK_FILTERS = ("open", "done", "all")


@dataclass
class TaskRow:
    action: MeetingAction
    meeting: CareMeeting | None  # None when the tenant no longer attends the meeting
    organiser: str
    overdue: bool
    can_update: bool


def task_list(which: str = "open", today: date | None = None) -> list[TaskRow]:
    """The active tenant's assigned actions across meetings: overdue first, then by due date.
    ``which``: open, done (완료 or 취소) or all."""
    today = today or clock.today()
    query = select(MeetingAction).where(MeetingAction.assignee_tenant_id == _tenant_id())
    if which == "open":
        query = query.where(MeetingAction.status == ActionStatus.OPEN)
    elif which == "done":
        query = query.where(MeetingAction.status != ActionStatus.OPEN)
    actions = list(db.session.scalars(query.order_by(MeetingAction.due_on, MeetingAction.id)))
    meeting_ids = {a.meeting_id for a in actions}
    meetings = {m.id: m for m in db.session.scalars(select(CareMeeting).where(CareMeeting.id.in_(meeting_ids)))} \
        if meeting_ids else {}
    owners = _tenant_names({a.tenant_id for a in actions})
    rows = [TaskRow(a, meetings.get(a.meeting_id), owners.get(a.tenant_id, ""), is_overdue(a, today),
                    may_update_action(a)) for a in actions]
    return sorted(rows, key=lambda r: (not r.overdue, r.action.status is not ActionStatus.OPEN, r.action.due_on))


def task_counts(today: date | None = None) -> tuple[int, int]:
    """(open, overdue) actions assigned to the active tenant."""
    today = today or clock.today()
    row = db.session.execute(
        select(func.count(), func.sum(sql_case((MeetingAction.due_on < today, 1), else_=0)))
        .where(MeetingAction.assignee_tenant_id == _tenant_id(), MeetingAction.status == ActionStatus.OPEN)
    ).one()
    return int(row[0] or 0), int(row[1] or 0)
