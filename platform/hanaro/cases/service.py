"""Rules of integrated case management (통합사례관리). Callers commit.

Who may do what, on top of the visibility policy in ``models`` (which decides what is *seen*):

* the **lead tenant** (the case's owner) runs the case: status, assessment, plan, conferences,
  team invitations and removals, closing and reopening;
* an **accepted collaborator** reads the case, writes notes (``internal`` or ``team``), updates the
  planned services it provides and completes the conference tasks assigned to it, and may leave;
* an **invited** tenant sees only the invitation (case type, lead tenant, message) until it
  accepts; the client's data is shared through an access grant that becomes active on acceptance.

Closing a case (decision): the team keeps read-only access to the case's history (members stay
``accepted``), but every client access grant of the case is revoked, so collaborators no longer
see the client's personal data; pending invitations end. Reopening restores the grants of
members whose consent still covers them and removes the others. A closed case takes no new
records until it is reopened.

Every change is a :class:`CaseEvent` on the timeline, written by the tenant that made it, with one
exception the policy forces: a tenant that *declines* an invitation is not on the team, so it may
not write a timeline row; its answer is kept on the membership row and the timeline shows it from
there (:func:`timeline`).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime

from flask import abort, has_request_context, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, event, func, or_, select, union
from sqlalchemy.orm import Session, aliased, contains_eager, joinedload, selectinload

from ..accounts.models import User
from ..clients import rrn
from ..clients import service as clients
from ..clients.models import Client, ClientAccessGrant, Consent, ConsentPurpose, GrantReason, GrantStatus
from ..core import clock
from ..core.db import db, utcnow
from ..core import paging
from ..core.paging import Count, capped_count
from ..core.rules import RuleViolation
from ..notifications.service import notify
from ..tenancy import context
from ..tenancy import service as tenancy
from ..tenancy.models import Membership, RecordKind, Region, Role, Tenant
from ..tenancy.policy import InArray
from . import deadlines
from .models import (
    CASE_STATUS_LABELS,
    Assessment,
    AssessmentItem,
    Case,
    CaseEvent,
    CaseMember,
    CaseNote,
    CaseStatus,
    CaseType,
    Conference,
    ConferenceTask,
    GoalStatus,
    MemberStatus,
    NeedDomain,
    NoteVisibility,
    PlanGoal,
    PlannedService,
    RiskLevel,
    ServiceStatus,
)

# -- the status machine ----------------------------------------------------------------------------

# Forward along the procedure, plus the usual steps back (re-assessment, plan revision).
# Closing and reopening have their own functions: they need a reason.
TRANSITIONS: dict[CaseStatus, tuple[CaseStatus, ...]] = {
    CaseStatus.INTAKE: (CaseStatus.ASSESSMENT,),
    CaseStatus.ASSESSMENT: (CaseStatus.PLANNING,),
    CaseStatus.PLANNING: (CaseStatus.IN_SERVICE, CaseStatus.ASSESSMENT),
    CaseStatus.IN_SERVICE: (CaseStatus.MONITORING, CaseStatus.PLANNING),
    CaseStatus.MONITORING: (CaseStatus.IN_SERVICE,),
    CaseStatus.CLOSED: (),
}
REOPEN_TARGETS = (CaseStatus.INTAKE, CaseStatus.ASSESSMENT)

CLOSURE_REASONS = {
    "goal_achieved": _l("목표 달성"),
    "client_refused": _l("대상자 거부"),
    "moved": _l("전출"),
    "deceased": _l("사망"),
    "transferred": _l("타 기관 이관"),
    "other": _l("기타"),
}

GOAL_STATUS_LABELS = {GoalStatus.ACTIVE: _l("진행 중"), GoalStatus.ACHIEVED: _l("달성"), GoalStatus.DROPPED: _l("중단")}

# Planned services move forward only; done and cancelled are final.
SERVICE_TRANSITIONS = {
    ServiceStatus.PLANNED: (ServiceStatus.IN_PROGRESS, ServiceStatus.DONE, ServiceStatus.CANCELLED),
    ServiceStatus.IN_PROGRESS: (ServiceStatus.DONE, ServiceStatus.CANCELLED),
    ServiceStatus.DONE: (),
    ServiceStatus.CANCELLED: (),
}

# -- the timeline ---------------------------------------------------------------------------------------

TIMELINE_CATEGORIES = {
    "status": _l("진행 단계"),
    "team": _l("사례 팀"),
    "assessment": _l("욕구사정"),
    "plan": _l("서비스 계획"),
    "note": _l("메모"),
    "conference": _l("사례회의"),
    "referral": _l("서비스의뢰"),
}

EVENT_LABELS = {
    "status.opened": _l("사례 열림"),
    "status.details": _l("기본 정보 변경"),
    "status.closed": _l("종결"),
    "status.reopened": _l("다시 열림"),
    "team.invited": _l("팀 초대"),
    "team.accepted": _l("초대 수락"),
    "team.declined": _l("초대 거절"),
    "team.left": _l("팀 탈퇴"),
    "team.removed": _l("팀에서 제외"),
    "team.consent_withdrawn": _l("동의 철회로 팀에서 제외"),
    "team.consent_lapsed": _l("동의 만료로 팀에서 제외"),
    "team.agreement_lapsed": _l("협약 종료로 팀에서 제외"),
    "assessment.saved": _l("욕구 및 위기도 조사 저장"),
    "plan.goal_added": _l("목표 추가"),
    "plan.goal_status": _l("목표 상태 변경"),
    "plan.service_added": _l("서비스 계획 추가"),
    "plan.service_status": _l("서비스 상태 변경"),
    "note.added": _l("메모"),
    "conference.held": _l("사례회의"),
    "conference.task_added": _l("후속 과제 추가"),
    "conference.task_done": _l("후속 과제 완료"),
    "referral.send": _l("서비스의뢰 보냄"),
    "referral.accept": _l("의뢰 수락"),
    "referral.waitlist": _l("의뢰 대기 등록"),
    "referral.decline": _l("의뢰 거절"),
    "referral.start": _l("의뢰 서비스 시작"),
    "referral.complete": _l("의뢰 서비스 완료"),
    "referral.not_complete": _l("의뢰 미완료 종결"),
    "referral.withdraw": _l("의뢰 철회"),
    "referral.expire": _l("의뢰 기한 만료"),
}
TIMELINE_LIMIT = 300
HIGH_NEED = 3  # 높음: the assessment's timeline entry counts the domains at or above it
# Other capabilities add their own entries to a case's timeline (e.g. referrals); each source is
# called with the case and returns TimelineEntry rows the active tenant may see.
timeline_sources: list = []


def event_label(kind: str) -> str:
    if kind.startswith("status.to_"):
        status = CaseStatus(kind.removeprefix("status.to_"))
        return str(_l("단계 변경: %(status)s", status=CASE_STATUS_LABELS[status]))
    label = EVENT_LABELS.get(kind)
    return str(label) if label else kind


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str
    summary: str
    tenant_name: str
    actor_name: str | None
    visibility: NoteVisibility

    @property
    def category(self) -> str:
        return self.kind.split(".", 1)[0]

    @property
    def label(self) -> str:
        return event_label(self.kind)


def _clip(text: str | None, length: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= length else text[: length - 1] + "…"


def _event(case: Case, kind: str, summary: str = "", actor=None,
           visibility: NoteVisibility = NoteVisibility.TEAM) -> CaseEvent:
    """A timeline row, written as the active tenant (the case's owner stays ``tenant_id``)."""
    event = CaseEvent(
        tenant_id=case.tenant_id,
        case_id=case.id,
        kind=kind,
        summary=_clip(summary, 300),
        author_tenant_id=context.current_tenant_id(),
        actor_user_id=actor.id if actor is not None else context.current_user_id(),
        visibility=visibility,
    )
    db.session.add(event)
    db.session.flush()
    return event


def timeline(case: Case, category: str | None = None) -> list[TimelineEntry]:
    """Everything that happened on the case, newest first, as far as the active tenant may see
    it (internal notes of other tenants never come back from the database)."""
    query = (
        select(CaseEvent)
        .options(joinedload(CaseEvent.author_tenant), joinedload(CaseEvent.actor))
        .where(CaseEvent.case_id == case.id)
        .order_by(CaseEvent.at.desc(), CaseEvent.id.desc())
        .limit(TIMELINE_LIMIT)
    )
    if category in TIMELINE_CATEGORIES:
        query = query.where(CaseEvent.kind.startswith(f"{category}."))
    entries = [
        TimelineEntry(e.at, e.kind, e.summary, e.author_tenant.name, e.actor.display_name if e.actor else None,
                      e.visibility)
        for e in db.session.scalars(query)
    ]
    if category in (None, "", "team"):
        entries += _declined_invitations(case)
    for source in timeline_sources:
        entries += [e for e in source(case) if category not in TIMELINE_CATEGORIES or e.category == category]
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return _within_domains(entries, case, visible_need_domains(case.client, case))


WITHHELD_DOMAIN_TEXT = _l("건강정보 제공 동의가 없어 볼 수 없습니다.")


def _within_domains(entries: list[TimelineEntry], case: Case, visible: frozenset[str]) -> list[TimelineEntry]:
    """The timeline as far as the viewer may see need domains. Its events were written for the
    whole team, so they are matched against the case's records: plan events about a goal in a
    hidden domain (they name the domain or the service's description) keep their place but not
    their text, and an assessment's count of high needs counts only the domains shown."""
    hidden_goals = list(db.session.scalars(
        select(PlanGoal).options(joinedload(PlanGoal.domain), selectinload(PlanGoal.services))
        .where(PlanGoal.case_id == case.id, PlanGoal.domain_code.not_in(visible))
    ))
    recounted = _assessment_summaries_within(case, visible)
    if not hidden_goals and not recounted:
        return entries
    names = {g.domain.name for g in hidden_goals}
    services = {text for g in hidden_goals for s in g.services if (text := _clip(s.description, 80).removesuffix("…"))}

    def withheld(entry: TimelineEntry) -> bool:
        if entry.kind.startswith("plan.goal_"):
            return any(entry.summary == name or entry.summary.startswith(f"{name}:") for name in names)
        if entry.kind.startswith("plan.service_"):
            return any(entry.summary.startswith(text) for text in services)
        return False

    shown, version = [], _latest_version(case)
    for entry in entries:  # newest first: one assessment.saved event per version, counting down
        if entry.kind == "assessment.saved":
            entry = replace(entry, summary=recounted[version]) if version in recounted else entry
            version -= 1
        shown.append(replace(entry, summary=str(WITHHELD_DOMAIN_TEXT)) if withheld(entry) else entry)
    return shown


def _assessment_summaries_within(case: Case, visible: frozenset[str]) -> dict[int, str]:
    """{version: its timeline summary counting only ``visible`` domains}, for the versions whose
    saved count included a high need in a hidden domain."""
    versions = set(db.session.scalars(
        select(Assessment.version).join(AssessmentItem, AssessmentItem.assessment_id == Assessment.id)
        .where(Assessment.case_id == case.id, AssessmentItem.level >= HIGH_NEED,
               AssessmentItem.domain_code.not_in(visible))
    ))
    if not versions:
        return {}
    counts = dict.fromkeys(versions, 0)
    counts.update(db.session.execute(
        select(Assessment.version, func.count()).join(AssessmentItem, AssessmentItem.assessment_id == Assessment.id)
        .where(Assessment.case_id == case.id, Assessment.version.in_(versions), AssessmentItem.level >= HIGH_NEED,
               AssessmentItem.domain_code.in_(visible))
        .group_by(Assessment.version)
    ).all())
    return {v: _assessment_summary(v, n) for v, n in counts.items()}


def _latest_version(case: Case) -> int:
    return db.session.scalar(select(func.max(Assessment.version)).where(Assessment.case_id == case.id)) or 0


def _assessment_summary(version: int, high: int) -> str:
    return str(_l("%(version)s차 조사 · 높음 이상 %(n)s개 영역", version=version, n=high))


def _declined_invitations(case: Case) -> list[TimelineEntry]:
    rows = db.session.scalars(
        select(CaseMember)
        .options(joinedload(CaseMember.member_tenant))
        .where(CaseMember.case_id == case.id, CaseMember.status == MemberStatus.DECLINED)
    )
    return [
        TimelineEntry(m.responded_at or m.invited_at, "team.declined",
                      _clip(f"{m.member_tenant.name}: {m.response_note or ''}", 300), m.member_tenant.name, None,
                      NoteVisibility.TEAM)
        for m in rows
    ]


# -- loading and who-is-who ----------------------------------------------------------------------------

def _tenant_id() -> int:
    return context.current_tenant_id()


def shared_or_owned(tenant_id):
    """The cases ``tenant_id`` leads or works on as an accepted team member: the shared ids first,
    from the members' index, so "owned OR shared" reads only those rows."""
    return or_(Case.tenant_id == tenant_id, InArray(Case.id, _cases_shared_with(tenant_id)))


def _case_query():
    tenant_id = _tenant_id()
    return select(Case).options(
        joinedload(Case.client), joinedload(Case.case_type), joinedload(Case.lead_worker), joinedload(Case.tenant)
    ).where(shared_or_owned(tenant_id))


def get_case_or_404(public_id: str) -> Case:
    """A case the active tenant leads or collaborates on (accepted). Invited tenants see only the
    invitation; everyone else gets 404, the same as for a case that does not exist."""
    case = db.session.scalar(_case_query().where(Case.public_id == public_id).limit(1))
    if case is None:
        abort(404)
    return case


def case_by_id_or_404(case_id: int) -> Case:
    case = db.session.scalar(_case_query().where(Case.id == case_id))
    if case is None:
        abort(404)
    return case


def own_case_or_404(public_id: str) -> Case:
    """A case the active tenant leads (for what only the lead may do)."""
    case = get_case_or_404(public_id)
    if not is_lead(case):
        abort(404)
    return case


def is_lead(case: Case) -> bool:
    return case.tenant_id == _tenant_id()


def my_membership(case: Case) -> CaseMember | None:
    """The active tenant's accepted membership of ``case`` (None for the lead and outsiders)."""
    return db.session.scalar(
        select(CaseMember).where(
            CaseMember.case_id == case.id,
            CaseMember.member_tenant_id == _tenant_id(),
            CaseMember.status == MemberStatus.ACCEPTED,
        ).limit(1)
    )


def require_lead(case: Case) -> None:
    if not is_lead(case):
        abort(404)


def _require_open(case: Case) -> None:
    if case.status is CaseStatus.CLOSED:
        raise RuleViolation(_l("종결된 사례입니다. 기록을 더하려면 먼저 사례를 다시 여세요."))


def _require_team(case: Case) -> CaseMember | None:
    """The lead or an accepted collaborator; returns the collaborator's membership."""
    if is_lead(case):
        return None
    member = my_membership(case)
    if member is None:
        abort(404)
    return member


def visible_need_domains(client: Client | None, case: Case | None = None, viewer_tenant_id: int | None = None,
                         shared_under: Consent | None = None) -> frozenset[str]:
    """The need domains (codes) ``viewer_tenant_id`` (the active tenant by default) may see of
    ``client``: on ``case`` when given, or as the receiver of data shared under ``shared_under``
    (a referral). The one rule for every screen, fragment and snapshot that shows a domain, a goal,
    a planned service or an assessed need: sensitive domains (건강, 민감정보) only for the client's
    owner, the case's lead, or a tenant whose grant (or the consent it receives under) includes
    health; every other domain for anyone who may see the case or the shared data at all."""
    domains = need_domains()
    if _may_see_health(client, case, viewer_tenant_id or _tenant_id(), shared_under):
        return frozenset(d.code for d in domains)
    return frozenset(d.code for d in domains if not d.sensitive)


def _may_see_health(client: Client | None, case: Case | None, tenant_id: int, shared_under: Consent | None) -> bool:
    if (client is not None and client.tenant_id == tenant_id) or (case is not None and case.tenant_id == tenant_id):
        return True
    if shared_under is not None:
        return shared_under.includes_health
    if client is None:
        return False
    grant = clients.grant_of(client, tenant_id, case_id=case.id if case is not None else None)
    return bool(grant and grant.includes_health)


def _tenant_members(*columns, tenant_id: int | None = None):
    """``columns`` of the tenant's active members who are active users (with their roles)."""
    return (select(*columns, Membership.roles).join(Membership, Membership.user_id == User.id)
            .where(Membership.tenant_id == (tenant_id or _tenant_id()), Membership.active.is_(True),
                   User.active.is_(True)))


def case_workers(tenant_id: int | None = None) -> list[tuple[str, str]]:
    """(public id, name) of the active members of the active tenant who hold the case manager
    role: just what the dropdowns show, not every member as ORM objects (a large tenant has
    thousands)."""
    rows = db.session.execute(_tenant_members(User.public_id, User.display_name, tenant_id=tenant_id)
                              .order_by(User.display_name, User.id))
    return [(public_id, name) for public_id, name, roles in rows if Role.CASE_MANAGER.value in (roles or [])]


def _worker(public_id: str | None, field_name: str) -> User:
    row = db.session.execute(_tenant_members(User).where(User.public_id == public_id)).first() if public_id else None
    if row is None or Role.CASE_MANAGER.value not in (row.roles or []):
        raise RuleViolation(_l("우리 기관의 사례관리자 중에서 고르세요."), field=field_name)
    return row.User


def case_types() -> list[CaseType]:
    return list(db.session.scalars(select(CaseType).order_by(CaseType.sort_order)))


_DOMAINS = "hanaro_need_domains"  # session.info key: the need domains this transaction read


def need_domains() -> list[NeedDomain]:
    """The need domains, read once per transaction: an assessment's form and its save both ask."""
    found = db.session.info.get(_DOMAINS)
    if found is None:
        found = db.session.info[_DOMAINS] = list(db.session.scalars(select(NeedDomain).order_by(NeedDomain.sort_order)))
    return list(found)


@event.listens_for(Session, "after_transaction_end")
def _forget_need_domains(session, transaction):
    if transaction.parent is None:  # loaded objects expire with their transaction
        session.info.pop(_DOMAINS, None)


def tenant_by_code(code: str | None, field_name: str) -> Tenant:
    tenant = db.session.scalar(select(Tenant).where(Tenant.code == code, Tenant.active.is_(True))) if code else None
    if tenant is None:
        raise RuleViolation(_l("목록에 있는 기관을 고르세요."), field=field_name)
    return tenant


def _dong(code: str | None) -> str | None:
    if not code:
        return None
    from ..tenancy.models import Region, RegionLevel

    region = db.session.get(Region, code)
    if region is None or region.level is not RegionLevel.DONG:
        raise RuleViolation(_l("목록에 있는 행정동을 고르세요."), field="dong_code")
    return region.code


def _notify(tenant_id: int, kind: str, title, body, case: Case | None = None, endpoint: str = "cases.case",
            public_id: str | None = None) -> None:
    """Notifications name no person: the case type and the tenants only."""
    link = None
    if has_request_context() and (case is not None or public_id):
        link = url_for(endpoint, public_id=public_id or case.public_id)
    notify(tenant_id, kind=kind, title=str(title), body=str(body), link=link)


# -- opening and the status machine ------------------------------------------------------------------

def open_case(client: Client, data: dict, actor) -> Case:
    """Open a case for one of the active tenant's own clients (the view loads it with
    ``own_client_or_404``)."""
    if client.tenant_id != _tenant_id():
        abort(404)
    case_type = db.session.get(CaseType, data["case_type"])
    if case_type is None:
        raise RuleViolation(_l("목록에 있는 사례 유형을 고르세요."), field="case_type")
    worker = _worker(data.get("lead_worker"), "lead_worker")
    if data["received_on"] > clock.today():
        raise RuleViolation(_l("접수일은 오늘 이후일 수 없습니다."), field="received_on")
    if client.vital_status.value == "deceased":
        raise RuleViolation(_l("사망으로 기록된 대상자에게는 사례를 열 수 없습니다."), field="client")
    duplicate = db.session.scalar(
        select(Case.id).where(
            Case.tenant_id == _tenant_id(), Case.client_id == client.id, Case.case_type_code == case_type.code,
            Case.status != CaseStatus.CLOSED,
        ).limit(1)
    )
    if duplicate is not None:
        raise RuleViolation(_l("이 대상자에게 같은 유형의 진행 중인 사례가 이미 있습니다."), field="case_type")
    case = Case(
        client_id=client.id,
        case_type_code=case_type.code,
        lead_worker_user_id=worker.id,
        status=CaseStatus.INTAKE,
        risk_level=RiskLevel(data["risk_level"]),
        dong_code=_dong(data.get("dong_code")) or client.dong_code,
        received_on=data["received_on"],
        opened_on=clock.today(),
    )
    db.session.add(case)
    db.session.flush()
    _event(case, "status.opened", f"{case_type.name} · {worker.display_name}", actor)
    return case


def update_details(case: Case, data: dict, actor) -> None:
    """Risk level, lead worker and dong (the lead's inline edit)."""
    require_lead(case)
    _require_open(case)
    worker = _worker(data.get("lead_worker"), "lead_worker")
    changes = []
    risk = RiskLevel(data["risk_level"])
    if risk is not case.risk_level:
        changes.append(str(_l("위기도 %(before)s → %(after)s", before=case.risk_label,
                              after=_risk_label(risk))))
        case.risk_level = risk
    if worker.id != case.lead_worker_user_id:
        changes.append(str(_l("담당자 %(name)s", name=worker.display_name)))
        case.lead_worker_user_id = worker.id
        case.lead_worker = worker
    dong = _dong(data.get("dong_code"))
    if dong != case.dong_code:
        changes.append(str(_l("행정동 변경")))
        case.dong_code = dong
    db.session.flush()
    if changes:
        _event(case, "status.details", ", ".join(changes), actor)


def _risk_label(risk: RiskLevel) -> str:
    from .models import RISK_LABELS

    return str(RISK_LABELS[risk])


def allowed_transitions(case: Case) -> tuple[CaseStatus, ...]:
    return TRANSITIONS[case.status]


def _assessed_since_received(case: Case) -> bool:
    return db.session.scalar(
        select(Assessment.id).where(Assessment.case_id == case.id, Assessment.assessed_on >= case.received_on).limit(1)
    ) is not None


def _has_active_goal(case: Case) -> bool:
    return db.session.scalar(
        select(PlanGoal.id).where(PlanGoal.case_id == case.id, PlanGoal.status == GoalStatus.ACTIVE).limit(1)
    ) is not None


def change_status(case: Case, target, actor) -> None:
    require_lead(case)
    _require_open(case)
    target = CaseStatus(target)
    if target is CaseStatus.CLOSED:
        raise RuleViolation(_l("종결은 종결 사유와 평가를 입력해서 처리하세요."), field="status")
    if target not in TRANSITIONS[case.status]:
        raise RuleViolation(
            _l("'%(current)s' 단계에서 '%(target)s' 단계로 바로 옮길 수 없습니다.",
               current=CASE_STATUS_LABELS[case.status], target=CASE_STATUS_LABELS[target]),
            field="status",
        )
    if target is CaseStatus.PLANNING and not _assessed_since_received(case):
        raise RuleViolation(_l("계획 수립 단계로 가려면 먼저 욕구 및 위기도 조사를 저장하세요."), field="status")
    if target is CaseStatus.IN_SERVICE and not _has_active_goal(case):
        raise RuleViolation(_l("서비스 제공 단계로 가려면 서비스 계획에 진행 중인 목표가 하나 이상 있어야 합니다."),
                            field="status")
    case.status = target
    db.session.flush()
    _event(case, f"status.to_{target.value}", "", actor)


def close_case(case: Case, reason: str, evaluation: str, actor) -> set[int]:
    """Close with a reason and an evaluation. Returns the tenants whose client access ended."""
    require_lead(case)
    if case.status is CaseStatus.CLOSED:
        raise RuleViolation(_l("이미 종결된 사례입니다."))
    if reason not in CLOSURE_REASONS:
        raise RuleViolation(_l("목록에 있는 종결 사유를 고르세요."), field="closure_reason")
    evaluation = (evaluation or "").strip()
    if len(evaluation) < 2:
        raise RuleViolation(_l("종결 평가를 입력하세요."), field="closure_evaluation")
    case.status = CaseStatus.CLOSED
    case.closed_on = clock.today()
    case.closure_reason = reason
    case.closure_evaluation = evaluation
    for member in _members(case, MemberStatus.INVITED):
        member.status = MemberStatus.REMOVED
        member.ended_at = utcnow()
        member.response_note = str(_l("사례 종결로 초대가 취소되었습니다."))
    affected = clients.revoke_grants(reason="case_closed", case_id=case.id)
    db.session.flush()
    reason_label = str(CLOSURE_REASONS[reason])
    # The evaluation is kept in full as a team note: reopening clears the closure fields, the
    # history stays.
    _add_note_row(case, NoteVisibility.TEAM, f"[{_l('종결 평가')} · {reason_label}]\n{evaluation}", actor)
    _event(case, "status.closed", f"{reason_label}: {evaluation}", actor)
    for tenant_id in sorted(affected | {m.member_tenant_id for m in _members(case, MemberStatus.ACCEPTED)}):
        _notify(tenant_id, "case_closed", _l("함께하던 사례가 종결되었습니다."),
                _l("%(lead)s의 %(type)s 사례가 종결되어 대상자 정보 공유가 끝났습니다. 사례 기록은 계속 읽을 수 있습니다.",
                   lead=case.tenant.name, type=case.case_type.name), case)
    return affected


def reopen_case(case: Case, target, reason: str, actor) -> None:
    """Reopen a closed case at 접수 or 조사. It is a new 접수: deadlines count from today; the
    history (earlier events, notes, assessments, the closure) stays."""
    require_lead(case)
    if case.status is not CaseStatus.CLOSED:
        raise RuleViolation(_l("종결된 사례만 다시 열 수 있습니다."))
    target = CaseStatus(target)
    if target not in REOPEN_TARGETS:
        raise RuleViolation(_l("다시 열 때는 '접수' 또는 '욕구·위기도 조사' 단계를 고르세요."), field="status")
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise RuleViolation(_l("다시 여는 사유를 입력하세요."), field="reason")
    previous_received = case.received_on
    case.status = target
    case.reopen_count += 1
    case.received_on = clock.today()
    case.closed_on = None
    case.closure_reason = None
    case.closure_evaluation = None
    db.session.flush()
    _event(case, "status.reopened",
           str(_l("%(reason)s (이전 접수일 %(day)s)", reason=reason, day=previous_received.isoformat())), actor)
    _restore_team_access(case, actor)


def _restore_team_access(case: Case, actor) -> None:
    today = clock.today()
    for member in _members(case, MemberStatus.ACCEPTED):
        consent = db.session.get(Consent, member.consent_id)
        consented = consent is not None and clients.covers(consent, case.client, member.member_tenant,
                                                            ConsentPurpose.CASE_COLLABORATION, today)
        agreed = tenancy.agreement_covers(member.member_tenant_id, RecordKind.CLIENT.value, RecordKind.CASE.value)
        if consented and agreed:
            clients.grant_access(case.client, member.member_tenant_id, consent, GrantReason.CASE, case_id=case.id,
                                 status=GrantStatus.ACTIVE)
            _notify(member.member_tenant_id, "case_reopened", _l("함께하던 사례가 다시 열렸습니다."),
                    _l("%(lead)s의 %(type)s 사례가 다시 열렸습니다.", lead=case.tenant.name, type=case.case_type.name),
                    case)
        else:
            member.status = MemberStatus.REMOVED
            member.ended_at = utcnow()
            db.session.flush()
            _event(case, "team.consent_lapsed" if not consented else "team.agreement_lapsed",
                   member.member_tenant.name, actor)


# -- the case team --------------------------------------------------------------------------------------

def _members(case: Case, *statuses: MemberStatus) -> list[CaseMember]:
    query = select(CaseMember).options(joinedload(CaseMember.member_tenant)).where(CaseMember.case_id == case.id)
    if statuses:
        query = query.where(CaseMember.status.in_(statuses))
    return list(db.session.scalars(query.order_by(CaseMember.invited_at)))


def team_of(case: Case) -> list[CaseMember]:
    """The memberships the active tenant may see (the lead: all; a collaborator: its own),
    current ones first."""
    rows = db.session.scalars(
        select(CaseMember)
        .options(joinedload(CaseMember.member_tenant), joinedload(CaseMember.worker))
        .where(CaseMember.case_id == case.id)
        .order_by(CaseMember.invited_at)
    )
    current = (MemberStatus.ACCEPTED, MemberStatus.INVITED)
    return sorted(rows, key=lambda m: (m.status not in current, current.index(m.status) if m.status in current else 0))


def team_tenants(case: Case) -> list[Tenant]:
    """The lead tenant and the accepted collaborators (for task assignees)."""
    return [case.tenant] + [m.member_tenant for m in _members(case, MemberStatus.ACCEPTED)]


def invite(case: Case, tenant: Tenant, worker_name: str | None, message: str | None, actor) -> CaseMember:
    """Invite another tenant to the team. Needs an accepted agreement in force with that tenant
    covering 대상자 and 사례, and a valid consent of the client that covers sharing with that
    tenant for case collaboration; the client's data is shared (a pending
    grant) only once the invitation is accepted."""
    require_lead(case)
    _require_open(case)
    if tenant.id == case.tenant_id:
        raise RuleViolation(_l("사례를 맡은 우리 기관은 초대할 수 없습니다."), field="tenant")
    if any(m.member_tenant_id == tenant.id for m in _members(case, MemberStatus.INVITED, MemberStatus.ACCEPTED)):
        raise RuleViolation(_l("이미 팀에 참여 중이거나 초대한 기관입니다."), field="tenant")
    if not tenancy.agreement_covers(tenant.id, RecordKind.CLIENT.value, RecordKind.CASE.value):
        raise RuleViolation(
            _l("이 기관과 맺은 유효한 협약 중 대상자와 사례를 함께 공유하는 협약이 없습니다. "
               "기관 관리자가 협약을 제안하고 상대 기관이 수락해야 사례 팀에 초대할 수 있습니다."),
            field="tenant",
        )
    client = case.client
    # Health information travels only when the client agreed to it; prefer a consent that covers it.
    consent = (clients.covering_consent(client, tenant, ConsentPurpose.CASE_COLLABORATION, health=True)
               or clients.covering_consent(client, tenant, ConsentPurpose.CASE_COLLABORATION))
    if consent is None:
        raise RuleViolation(
            _l("이 기관과 대상자 정보를 공유할 수 있는 유효한 정보제공 동의(통합사례관리 협업)가 없습니다. "
               "대상자의 동의를 먼저 기록하세요."),
            field="tenant",
        )
    member = CaseMember(
        case_id=case.id,
        member_tenant_id=tenant.id,
        invited_worker_name=(worker_name or "").strip() or None,
        consent_id=consent.id,
        status=MemberStatus.INVITED,
        message=(message or "").strip() or None,
        invited_by_user_id=actor.id,
    )
    db.session.add(member)
    db.session.flush()
    clients.grant_access(client, tenant.id, consent, GrantReason.CASE, case_id=case.id, status=GrantStatus.PENDING)
    _event(case, "team.invited", tenant.name + (f" ({member.invited_worker_name})" if member.invited_worker_name else ""),
           actor)
    _notify(tenant.id, "case_invitation", _l("사례관리 협업 초대가 도착했습니다."),
            _l("%(lead)s에서 %(type)s 사례의 팀 참여를 요청했습니다.", lead=case.tenant.name, type=case.case_type.name),
            endpoint="cases.invitation", public_id=member.public_id)
    return member


def pending_invitations() -> list[CaseMember]:
    """Invitations to the active tenant still waiting for an answer."""
    return list(db.session.scalars(
        select(CaseMember)
        .options(joinedload(CaseMember.case).joinedload(Case.case_type),
                 joinedload(CaseMember.case).joinedload(Case.tenant))
        .where(CaseMember.member_tenant_id == _tenant_id(), CaseMember.status == MemberStatus.INVITED)
        .order_by(CaseMember.invited_at.desc())
    ))


def get_invitation_or_404(public_id: str) -> CaseMember:
    """An invitation addressed to the active tenant (answered ones too, to show the outcome)."""
    member = db.session.scalar(
        select(CaseMember)
        .options(joinedload(CaseMember.case).joinedload(Case.case_type),
                 joinedload(CaseMember.case).joinedload(Case.tenant))
        .where(CaseMember.public_id == public_id, CaseMember.member_tenant_id == _tenant_id())
        .limit(1)
    )
    if member is None:
        abort(404)
    return member


def _pending_grant(member: CaseMember) -> ClientAccessGrant | None:
    return db.session.scalar(
        select(ClientAccessGrant).where(
            ClientAccessGrant.case_id == member.case_id,
            ClientAccessGrant.grantee_tenant_id == member.member_tenant_id,
            ClientAccessGrant.consent_id == member.consent_id,
            ClientAccessGrant.status == GrantStatus.PENDING,
        ).limit(1)
    )


def accept_invitation(member: CaseMember, worker_public_id: str | None, note: str | None, actor) -> Case:
    if member.member_tenant_id != _tenant_id():
        abort(404)
    if member.status is not MemberStatus.INVITED:
        raise RuleViolation(_l("이미 답한 초대입니다."))
    if not tenancy.agreement_covers(member.case.tenant_id, RecordKind.CLIENT.value, RecordKind.CASE.value):
        raise RuleViolation(_l("초대한 기관과 대상자와 사례를 공유하는 유효한 협약이 없어 참여할 수 없습니다. "
                               "기관 관리자에게 협약을 확인해 달라고 하세요."))
    worker = _worker(worker_public_id, "worker")
    grant = _pending_grant(member)
    if grant is None or (grant.expires_at is not None and grant.expires_at <= utcnow()):
        raise RuleViolation(_l("대상자의 정보제공 동의가 더 이상 유효하지 않아 참여할 수 없습니다. 초대한 기관에 문의하세요."))
    case = member.case
    member.status = MemberStatus.ACCEPTED
    member.worker_user_id = worker.id
    member.responded_at = utcnow()
    member.response_note = (note or "").strip() or None
    clients.set_grant_status(grant, GrantStatus.ACTIVE)
    db.session.flush()  # on the team from here on: the timeline row below is ours to write
    _event(case, "team.accepted", f"{member.member_tenant.name} · {worker.display_name}", actor)
    _notify(case.tenant_id, "case_invitation_accepted", _l("사례관리 협업 초대가 수락되었습니다."),
            _l("%(tenant)s에서 %(type)s 사례의 팀 참여를 수락했습니다.", tenant=member.member_tenant.name,
               type=case.case_type.name), case)
    return case


def decline_invitation(member: CaseMember, note: str, actor) -> None:
    if member.member_tenant_id != _tenant_id():
        abort(404)
    if member.status is not MemberStatus.INVITED:
        raise RuleViolation(_l("이미 답한 초대입니다."))
    note = (note or "").strip()
    if len(note) < 2:
        raise RuleViolation(_l("거절 사유를 입력하세요."), field="note")
    case = member.case
    lead_id, type_name, public_id = case.tenant_id, case.case_type.name, case.public_id
    member.status = MemberStatus.DECLINED
    member.responded_at = utcnow()
    member.response_note = note
    clients.revoke_grants(reason="invitation_declined", case_id=member.case_id, grantee_tenant_id=_tenant_id())
    db.session.flush()
    # No timeline row from here: a tenant that is not on the team may not write one (see the
    # module docstring); the timeline shows the declined membership instead.
    _notify(lead_id, "case_invitation_declined", _l("사례관리 협업 초대가 거절되었습니다."),
            _l("%(tenant)s에서 %(type)s 사례의 팀 참여를 거절했습니다.", tenant=member.member_tenant.name,
               type=type_name), public_id=public_id)


def leave_case(case: Case, actor) -> None:
    """An accepted collaborator leaves; its client access for this case ends."""
    member = my_membership(case)
    if member is None:
        abort(404)
    # Written while still on the team: afterwards the policy no longer lets us.
    _event(case, "team.left", member.member_tenant.name, actor)
    member.status = MemberStatus.LEFT
    member.ended_at = utcnow()
    clients.revoke_grants(reason="left_case", case_id=case.id, grantee_tenant_id=member.member_tenant_id)
    db.session.flush()
    _notify(case.tenant_id, "case_member_left", _l("협업 기관이 사례 팀에서 나갔습니다."),
            _l("%(tenant)s이(가) %(type)s 사례 팀에서 나갔습니다.", tenant=member.member_tenant.name,
               type=case.case_type.name), case)


def get_member_or_404(public_id: str) -> CaseMember:
    """A membership of a case the active tenant leads."""
    member = db.session.scalar(
        select(CaseMember).options(joinedload(CaseMember.member_tenant))
        .where(CaseMember.public_id == public_id, CaseMember.tenant_id == _tenant_id()).limit(1)
    )
    if member is None:
        abort(404)
    return member


def remove_member(member: CaseMember, actor) -> Case:
    case = case_by_id_or_404(member.case_id)
    require_lead(case)
    if member.status not in (MemberStatus.INVITED, MemberStatus.ACCEPTED):
        raise RuleViolation(_l("이미 팀에서 나간 기관입니다."))
    member.status = MemberStatus.REMOVED
    member.ended_at = utcnow()
    clients.revoke_grants(reason="removed_from_case", case_id=case.id, grantee_tenant_id=member.member_tenant_id)
    db.session.flush()
    _event(case, "team.removed", member.member_tenant.name, actor)
    _notify(member.member_tenant_id, "case_member_removed", _l("사례 팀에서 제외되었습니다."),
            _l("%(lead)s의 %(type)s 사례 팀에서 제외되어 사례와 대상자 정보를 더 이상 볼 수 없습니다.",
               lead=case.tenant.name, type=case.case_type.name))
    return case


def end_memberships_for_withdrawn_consent(consent: Consent) -> set[int]:
    """Called by ``clients.service.withdraw_consent`` (which revokes the grants and notifies):
    every membership resting on ``consent`` ends at once. Returns the member tenants' ids."""
    members = db.session.scalars(
        select(CaseMember).options(joinedload(CaseMember.member_tenant)).where(
            CaseMember.consent_id == consent.id,
            CaseMember.status.in_((MemberStatus.INVITED, MemberStatus.ACCEPTED)),
        )
    ).all()
    affected: set[int] = set()
    for member in members:
        member.status = MemberStatus.REMOVED
        member.ended_at = utcnow()
        member.response_note = str(_l("대상자의 정보제공 동의 철회"))
        affected.add(member.member_tenant_id)
    db.session.flush()
    cases = {c.id: c for c in db.session.scalars(select(Case).where(Case.id.in_({m.case_id for m in members})))}
    for member in members:
        _event(cases[member.case_id], "team.consent_withdrawn", member.member_tenant.name)
    return affected


# -- needs assessment ----------------------------------------------------------------------------------------

def assessments_of(case: Case) -> list[Assessment]:
    return list(db.session.scalars(
        select(Assessment).options(joinedload(Assessment.assessed_by))
        .where(Assessment.case_id == case.id).order_by(Assessment.version.desc())
    ))


def _with_items(query):
    return query.options(selectinload(Assessment.items).joinedload(AssessmentItem.domain),
                         joinedload(Assessment.assessed_by))


def latest_assessment(case: Case) -> Assessment | None:
    return db.session.scalar(
        _with_items(select(Assessment)).where(Assessment.case_id == case.id).order_by(Assessment.version.desc()).limit(1)
    )


def get_assessment_or_404(public_id: str) -> tuple[Assessment, Case]:
    assessment = db.session.scalar(_with_items(select(Assessment)).where(Assessment.public_id == public_id).limit(1))
    if assessment is None:
        abort(404)
    return assessment, case_by_id_or_404(assessment.case_id)


def save_assessment(case: Case, data: dict, actor) -> Assessment:
    """A new version of the needs assessment; earlier versions stay as they were."""
    require_lead(case)
    _require_open(case)
    if data["assessed_on"] > clock.today():
        raise RuleViolation(_l("조사일은 오늘 이후일 수 없습니다."), field="assessed_on")
    if data["assessed_on"] < case.received_on:
        raise RuleViolation(_l("조사일은 접수일(%(day)s) 이후여야 합니다.", day=case.received_on.isoformat()),
                            field="assessed_on")
    version = (db.session.scalar(select(func.max(Assessment.version)).where(Assessment.case_id == case.id)) or 0) + 1
    assessment = Assessment(
        tenant_id=case.tenant_id,
        case_id=case.id,
        version=version,
        assessed_on=data["assessed_on"],
        assessed_by_user_id=actor.id,
        author_tenant_id=_tenant_id(),
        summary=data.get("summary"),
    )
    db.session.add(assessment)
    db.session.flush()
    for domain in need_domains():
        db.session.add(AssessmentItem(
            tenant_id=case.tenant_id, assessment_id=assessment.id, case_id=case.id, domain_code=domain.code,
            level=data[f"level_{domain.code}"], notes=data.get(f"notes_{domain.code}"),
        ))
    db.session.flush()
    high = sum(1 for key, value in data.items() if key.startswith("level_") and value >= HIGH_NEED)
    _event(case, "assessment.saved", _assessment_summary(version, high), actor)
    return assessment


# -- service plan -------------------------------------------------------------------------------------------

def goals_of(case: Case) -> list[PlanGoal]:
    return list(db.session.scalars(
        select(PlanGoal)
        .options(joinedload(PlanGoal.domain),
                 selectinload(PlanGoal.services).joinedload(PlannedService.provider_tenant))
        .where(PlanGoal.case_id == case.id)
        .order_by(PlanGoal.created_at, PlanGoal.id)
    ))


def _goal_of_case(case: Case, public_id: str | None) -> PlanGoal:
    goal = db.session.scalar(
        select(PlanGoal).where(PlanGoal.case_id == case.id, PlanGoal.public_id == public_id).limit(1)
    ) if public_id else None
    if goal is None:
        raise RuleViolation(_l("목록에 있는 목표를 고르세요."), field="goal")
    return goal


def add_goal(case: Case, data: dict, actor) -> PlanGoal:
    require_lead(case)
    _require_open(case)
    domain = db.session.get(NeedDomain, data["domain"])
    if domain is None:
        raise RuleViolation(_l("목록에 있는 욕구 영역을 고르세요."), field="domain")
    goal = PlanGoal(tenant_id=case.tenant_id, case_id=case.id, domain_code=domain.code, goal=data["goal"],
                    created_by_user_id=actor.id)
    db.session.add(goal)
    db.session.flush()
    _event(case, "plan.goal_added", f"{domain.name}: {'' if domain.sensitive else data['goal']}".rstrip(": "), actor)
    return goal


def get_goal_or_404(public_id: str) -> tuple[PlanGoal, Case]:
    goal = db.session.scalar(select(PlanGoal).where(PlanGoal.public_id == public_id).limit(1))
    if goal is None:
        abort(404)
    return goal, case_by_id_or_404(goal.case_id)


def set_goal_status(goal: PlanGoal, case: Case, status, actor) -> None:
    require_lead(case)
    _require_open(case)
    status = GoalStatus(status)
    if status is goal.status:
        return
    goal.status = status
    db.session.flush()
    _event(case, "plan.goal_status", f"{goal.domain.name}: {GOAL_STATUS_LABELS[status]}", actor)


def add_service(case: Case, data: dict, actor) -> PlannedService:
    require_lead(case)
    _require_open(case)
    goal = _goal_of_case(case, data.get("goal"))
    provider = tenant_by_code(data["provider_tenant"], "provider_tenant") if data.get("provider_tenant") else None
    if provider is None and not data.get("provider_name"):
        raise RuleViolation(_l("제공 기관을 고르거나 기관 이름을 입력하세요."), field="provider_name")
    service = PlannedService(
        tenant_id=case.tenant_id,
        case_id=case.id,
        goal_id=goal.id,
        description=data["description"],
        provider_tenant_id=provider.id if provider else None,
        provider_name=None if provider else data["provider_name"],
        due_on=data.get("due_on"),
    )
    db.session.add(service)
    db.session.flush()
    _event(case, "plan.service_added", f"{data['description']} · {provider.name if provider else data['provider_name']}",
           actor)
    return service


def get_service_or_404(public_id: str) -> tuple[PlannedService, Case]:
    service = db.session.scalar(
        select(PlannedService).options(joinedload(PlannedService.provider_tenant), joinedload(PlannedService.goal))
        .where(PlannedService.public_id == public_id).limit(1)
    )
    if service is None:
        abort(404)
    return service, case_by_id_or_404(service.case_id)


def may_update_service(service: PlannedService, case: Case) -> bool:
    """The lead, or the collaborator that provides the service."""
    return is_lead(case) or service.provider_tenant_id == _tenant_id()


def set_service_status(service: PlannedService, case: Case, status, actor) -> None:
    _require_team(case)
    if not may_update_service(service, case):
        abort(404)
    _require_open(case)
    status = ServiceStatus(status)
    if status is service.status:
        return
    if status not in SERVICE_TRANSITIONS[service.status]:
        raise RuleViolation(_l("완료되거나 취소된 서비스는 상태를 바꿀 수 없고, 진행 중인 서비스는 예정으로 되돌릴 수 없습니다."),
                            field="status")
    service.status = status
    db.session.flush()
    from .models import SERVICE_STATUS_LABELS

    _event(case, "plan.service_status", f"{_clip(service.description, 80)}: {SERVICE_STATUS_LABELS[status]}", actor)


# -- notes -----------------------------------------------------------------------------------------------------

def notes_of(case: Case) -> list[CaseNote]:
    """Team notes and the active tenant's own internal ones (the policy hides the rest)."""
    return list(db.session.scalars(
        select(CaseNote)
        .options(joinedload(CaseNote.author), joinedload(CaseNote.author_tenant))
        .where(CaseNote.case_id == case.id)
        .order_by(CaseNote.created_at.desc(), CaseNote.id.desc())
    ))


def _add_note_row(case: Case, visibility: NoteVisibility, body: str, actor) -> CaseNote:
    note = CaseNote(tenant_id=case.tenant_id, case_id=case.id, author_tenant_id=_tenant_id(), author_user_id=actor.id,
                    visibility=visibility, body=body)
    db.session.add(note)
    db.session.flush()
    return note


def add_note(case: Case, visibility, body: str, actor) -> CaseNote:
    """The lead or an accepted collaborator writes a note, always as itself."""
    _require_team(case)
    _require_open(case)
    visibility = NoteVisibility(visibility)
    note = _add_note_row(case, visibility, body, actor)
    # The timeline row is as visible as the note it announces.
    _event(case, "note.added", _clip(body, 120), actor, visibility=visibility)
    return note


# -- case conferences ------------------------------------------------------------------------------------------

def conferences_of(case: Case) -> list[Conference]:
    return list(db.session.scalars(
        select(Conference)
        .options(selectinload(Conference.tasks).joinedload(ConferenceTask.assignee_tenant))
        .where(Conference.case_id == case.id)
        .order_by(Conference.held_on.desc(), Conference.id.desc())
    ))


def hold_conference(case: Case, data: dict, actor) -> Conference:
    require_lead(case)
    _require_open(case)
    if data["held_on"] > clock.today():
        raise RuleViolation(_l("회의일은 오늘 이후일 수 없습니다. 회의를 연 뒤에 기록하세요."), field="held_on")
    conference = Conference(tenant_id=case.tenant_id, case_id=case.id, held_on=data["held_on"],
                            attendees=data["attendees"], agenda=data["agenda"], decisions=data.get("decisions"),
                            created_by_user_id=actor.id)
    db.session.add(conference)
    db.session.flush()
    organisations = sorted({a["tenant"] for a in data["attendees"] if a.get("tenant")})
    _event(case, "conference.held",
           str(_l("참석 %(n)s명", n=len(data["attendees"]))) + (f" ({', '.join(organisations)})" if organisations else "")
           + f" · {_clip(data['agenda'], 100)}", actor)
    return conference


def get_conference_or_404(public_id: str) -> tuple[Conference, Case]:
    conference = db.session.scalar(select(Conference).where(Conference.public_id == public_id).limit(1))
    if conference is None:
        abort(404)
    return conference, case_by_id_or_404(conference.case_id)


def add_task(conference: Conference, case: Case, data: dict, actor) -> ConferenceTask:
    require_lead(case)
    _require_open(case)
    assignee = None
    if data.get("assignee_tenant"):
        assignee = next((t for t in team_tenants(case) if t.code == data["assignee_tenant"]), None)
        if assignee is None:
            raise RuleViolation(_l("사례 팀의 기관 중에서 고르세요."), field="assignee_tenant")
    task = ConferenceTask(tenant_id=case.tenant_id, conference_id=conference.id, case_id=case.id,
                          description=data["description"], assignee_tenant_id=assignee.id if assignee else None,
                          due_on=data.get("due_on"))
    db.session.add(task)
    db.session.flush()
    _event(case, "conference.task_added", _clip(data["description"], 120) + (f" · {assignee.name}" if assignee else ""),
           actor)
    return task


def get_task_or_404(public_id: str) -> tuple[ConferenceTask, Case]:
    task = db.session.scalar(
        select(ConferenceTask).options(joinedload(ConferenceTask.assignee_tenant))
        .where(ConferenceTask.public_id == public_id).limit(1)
    )
    if task is None:
        abort(404)
    return task, case_by_id_or_404(task.case_id)


def may_complete_task(task: ConferenceTask, case: Case) -> bool:
    return is_lead(case) or task.assignee_tenant_id == _tenant_id()


def complete_task(task: ConferenceTask, case: Case, actor) -> None:
    _require_team(case)
    if not may_complete_task(task, case):
        abort(404)
    _require_open(case)
    if task.done_at is not None:
        raise RuleViolation(_l("이미 완료한 과제입니다."))
    task.done_at = utcnow()
    db.session.flush()
    _event(case, "conference.task_done", _clip(task.description, 120), actor)


# -- the case page's schedule ---------------------------------------------------------------------------------

def schedule(case: Case) -> list[deadlines.Milestone]:
    """The procedure's steps since the latest 접수, with due and done dates (one query)."""
    since = case.received_on
    assessed = select(func.min(Assessment.assessed_on)).where(
        Assessment.case_id == case.id, Assessment.assessed_on >= since).scalar_subquery()
    conferred = select(func.min(Conference.held_on)).where(
        Conference.case_id == case.id, Conference.held_on >= since).scalar_subquery()
    in_service = select(func.min(CaseEvent.at)).where(
        CaseEvent.case_id == case.id, CaseEvent.kind == f"status.to_{CaseStatus.IN_SERVICE.value}").scalar_subquery()
    assessed_on, conference_on, in_service_at = db.session.execute(select(assessed, conferred, in_service)).one()
    plan_done = in_service_at.astimezone(clock.SEOUL).date() if isinstance(in_service_at, datetime) else None
    if plan_done is not None and plan_done < since:
        plan_done = None
    return deadlines.milestones(case, _as_date(assessed_on), _as_date(conference_on), plan_done)


def _as_date(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])  # SQLite returns aggregates of dates as text


# -- lists ---------------------------------------------------------------------------------------------------------

PAGE_SIZE = 20
SCOPES = ("mine", "tenant", "shared")


@dataclass
class CaseFilters:
    scope: str = "mine"
    case_type: str | None = None
    status: str | None = None
    risk: str | None = None
    worker: str | None = None  # a user's public id
    dong: str | None = None
    q: str | None = None
    after: str | None = None  # the public id of the previous page's last case


@dataclass
class CasePage:
    cases: list[Case] = field(default_factory=list)
    next_cursor: str | None = None
    total: Count = Count(0)  # of the whole filtered list, capped


def _encode_cursor(case: Case) -> str:
    """The last row's public id: no row id ever reaches the page."""
    return case.public_id


def _decode_cursor(cursor: str | None) -> tuple[date, int] | None:
    """(opened_on, id) of the cursor's case, if the active tenant may still see it (otherwise
    the list starts again from the top)."""
    if not cursor:
        return None
    tenant_id = _tenant_id()
    row = db.session.execute(
        select(Case.opened_on, Case.id).where(
            Case.public_id == cursor, shared_or_owned(tenant_id)
        ).limit(1)
    ).first()
    return (row.opened_on, row.id) if row else None


def _client_text_filter(text: str):
    try:
        return Client.rrn_blind_index == rrn.blind_index(rrn.parse(text))
    except rrn.InvalidRRN:
        pass
    if text[:1].isdigit():
        return Client.rrn_masked.startswith(text.rstrip("*"), autoescape=True)
    return Client.name.contains(text, autoescape=True)


def list_cases(filters: CaseFilters, user, limit: int | None = None) -> CasePage:
    """Cases the active tenant may work on (led or accepted), newest first, keyset-paginated
    by (opened_on, id) (the cursor names the last case by its public id). The client is outer-joined: a closed shared case stays listed without
    its client, whose data is no longer shared."""
    tenant_id, limit = _tenant_id(), limit or PAGE_SIZE
    query = select(Case).outerjoin(Case.client)
    if filters.case_type:
        query = query.where(Case.case_type_code == filters.case_type)
    if filters.status == "open":
        query = query.where(Case.status != CaseStatus.CLOSED)
    elif filters.status:
        query = query.where(Case.status == filters.status)
    if filters.risk:
        query = query.where(Case.risk_level == filters.risk)
    if filters.dong:
        query = query.where(Case.dong_code == filters.dong)
    if filters.worker:
        worker_id = db.session.scalar(select(User.id).where(User.public_id == filters.worker))
        query = query.where(_worked_by(tenant_id, worker_id))
    if filters.q and filters.q.strip():
        query = query.where(Client.id.is_not(None), _client_text_filter(filters.q.strip()))
    parts = [query.where(scope) for scope in _scope_parts(filters.scope, tenant_id, user.id)]
    total = _capped_count_of(parts)
    cursor = _decode_cursor(filters.after)
    if cursor:
        day, case_id = cursor
        parts = [part.where(or_(Case.opened_on < day, and_(Case.opened_on == day, Case.id < case_id)))
                 for part in parts]
    newest_first = (Case.opened_on.desc(), Case.id.desc())
    # The page's ids first, each part from its own index range in list order, then their clients,
    # types and workers: joined before the LIMIT, every case of a busy worker (hundreds) would be
    # joined to be sorted and thrown away.
    tops = [part.with_only_columns(Case.id).order_by(*newest_first).limit(limit + 1).subquery() for part in parts]
    ids = union(*[select(top.c.id) for top in tops]).subquery()
    shown = (select(Case).join(ids, ids.c.id == Case.id).outerjoin(Case.client).order_by(*newest_first)
             .limit(limit + 1)
             .options(contains_eager(Case.client), joinedload(Case.case_type), joinedload(Case.lead_worker),
                      joinedload(Case.tenant)))
    rows = list(db.session.scalars(shown).unique())
    page = CasePage(cases=rows[:limit], total=total)
    if len(rows) > limit:
        page.next_cursor = _encode_cursor(rows[limit - 1])
    return page


def _scope_parts(scope: str, tenant_id: int, user_id: int) -> list:
    """The scope as criteria whose union it is, each answered by one index range in list order:
    "mine" is the cases the user leads plus those they work on as a member."""
    if scope == "tenant":
        return [Case.tenant_id == tenant_id]
    if scope == "shared":
        return [and_(Case.tenant_id != tenant_id, Case.id.in_(_cases_shared_with(tenant_id)))]
    return [and_(Case.tenant_id == tenant_id, Case.lead_worker_user_id == user_id),
            Case.id.in_(_cases_shared_with(tenant_id, user_id))]


def _capped_count_of(parts: list) -> Count:
    """The capped count of the union of ``parts`` (each read no further than the cap)."""
    if len(parts) == 1:
        return capped_count(parts[0])
    limited = [part.with_only_columns(Case.id).limit(paging.COUNT_CAP + 1).subquery() for part in parts]
    return capped_count(union(*[select(part.c.id) for part in limited]))


def _cases_shared_with(tenant_id: int, worker_id: int | None = None):
    """Ids of the cases the tenant works on as an accepted member (of one of its workers), read
    from case_members by member tenant."""
    statement = select(CaseMember.case_id).where(CaseMember.member_tenant_id == tenant_id,
                                                 CaseMember.status == MemberStatus.ACCEPTED)
    if worker_id is not None:
        statement = statement.where(CaseMember.worker_user_id == worker_id)
    return statement


def _worked_by(tenant_id: int, worker_id: int | None):
    """Cases the worker leads for the tenant or works on as its member. One IN over a UNION, so
    each side reads its own index; an OR with an EXISTS made PostgreSQL read every case of the
    tenant to find one worker's."""
    led = select(Case.id).where(Case.tenant_id == tenant_id, Case.lead_worker_user_id == worker_id)
    return Case.id.in_(union(led, _cases_shared_with(tenant_id, worker_id)))


def dong_options() -> list[tuple[str, str]]:
    """Dongs the active tenant's cases are in (its own and those shared with it), by name."""
    tenant_id = _tenant_id()
    shared = select(Case.dong_code).where(Case.id.in_(_cases_shared_with(tenant_id)), Case.dong_code.is_not(None))
    codes = union(_own_dongs(tenant_id), shared).subquery()
    rows = db.session.execute(select(Region.code, Region.name).where(Region.code.in_(select(codes.c[0])))
                              .order_by(Region.name, Region.code))
    return [tuple(row) for row in rows]


def _own_dongs(tenant_id: int):
    """The distinct dongs of the tenant's own cases, walked through ``ix_cases_tenant_id_dong``
    one dong at a time (each step: the least dong after the previous one). A DISTINCT would read
    an index entry per case, 134 k of them for a large municipality; this reads a few per dong."""
    def least_after(previous=None):
        following = aliased(Case)
        statement = select(func.min(following.dong_code)).where(following.tenant_id == tenant_id,
                                                                following.dong_code.is_not(None))
        if previous is not None:
            statement = statement.where(following.dong_code > previous)
        return statement

    walk = least_after().cte("case_dongs", recursive=True)
    walk = walk.union_all(select(least_after(walk.c[0]).scalar_subquery()).where(walk.c[0].is_not(None)))
    return select(walk.c[0]).where(walk.c[0].is_not(None))


# -- the integrated view (정보연계) ----------------------------------------------------------------------------

@dataclass
class IntegratedView:
    client: Client
    cases: list[Case]
    goals: dict[int, list[PlanGoal]]  # by case id
    notes: list[CaseNote]
    members: dict[int, list[CaseMember]]  # by case id
    domains: dict[int, frozenset[str]]  # by case id: the need domains the viewer may see on it

    def case_of(self, record) -> Case:
        return next(c for c in self.cases if c.id == record.case_id)


def integrated_view(client: Client) -> IntegratedView:
    """Everything about ``client`` the active tenant may see across agencies: the cases it leads
    or collaborates on, their plans, and the notes visible to it, each with its source tenant."""
    tenant_id = _tenant_id()
    cases = list(db.session.scalars(
        select(Case)
        .options(joinedload(Case.case_type), joinedload(Case.lead_worker), joinedload(Case.tenant))
        .where(Case.client_id == client.id, shared_or_owned(tenant_id))
        .order_by(Case.opened_on.desc(), Case.id.desc())
    ))
    case_ids = [c.id for c in cases]
    goals: dict[int, list[PlanGoal]] = {c.id: [] for c in cases}
    members: dict[int, list[CaseMember]] = {c.id: [] for c in cases}
    notes: list[CaseNote] = []
    if case_ids:
        for goal in db.session.scalars(
            select(PlanGoal)
            .options(joinedload(PlanGoal.domain), selectinload(PlanGoal.services).joinedload(PlannedService.provider_tenant))
            .where(PlanGoal.case_id.in_(case_ids)).order_by(PlanGoal.created_at, PlanGoal.id)
        ):
            goals[goal.case_id].append(goal)
        for member in db.session.scalars(
            select(CaseMember).options(joinedload(CaseMember.member_tenant))
            .where(CaseMember.case_id.in_(case_ids), CaseMember.status == MemberStatus.ACCEPTED)
        ):
            members[member.case_id].append(member)
        notes = list(db.session.scalars(
            select(CaseNote)
            .options(joinedload(CaseNote.author), joinedload(CaseNote.author_tenant))
            .where(CaseNote.case_id.in_(case_ids))
            .order_by(CaseNote.created_at.desc(), CaseNote.id.desc()).limit(200)
        ))
    domains = {c.id: visible_need_domains(client, c) for c in cases}
    return IntegratedView(client, cases, goals, notes, members, domains)
