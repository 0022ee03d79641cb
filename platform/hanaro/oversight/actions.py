"""The corrective-action loop (시정 요구 → 조치 결과 제출 → 이행 확인 | 보완 요구), through
``states.ACTION_TRANSITIONS``: the facility answers with what it did and evidence files; the
inspector accepts or sends it back with a reason, or cancels the requirement. A facility that is
not on the platform answers on paper and its inspector records the answer. Every step is an
``ActionEvent``; the version column refuses the second of two concurrent steps. Callers commit.

An action is **overdue** while the facility has to act (요구 or 보완 요구) after its due date; a
periodic job per municipality tells both sides once per action and due date.
"""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import NotFound

from ..core import clock
from ..core.db import db, utcnow
from ..core.rules import RuleViolation
from ..notifications.service import notify
from ..tenancy import context
from . import files, states
from .models import (
    AWAITING_FACILITY, OPEN_ACTION_STATES, ActionEvent, ActionState, CorrectiveAction, Facility, FileKind,
    OversightFile,
)
from .service import link, notify_facility, part_of, side_of
from .states import Conflict, Side, WrongSide


def get_action_or_404(public_id: str) -> CorrectiveAction:
    action = db.session.scalar(select(CorrectiveAction)
                               .options(selectinload(CorrectiveAction.finding), selectinload(CorrectiveAction.facility))
                               .where(CorrectiveAction.public_id == public_id).limit(1))
    if action is None:
        raise NotFound()
    return action


def available_actions(action: CorrectiveAction) -> list[str]:
    """The steps the active tenant may take now: names of ``states.ACTION_TRANSITIONS`` for
    :func:`act` (``record_answer`` only for a facility not on the platform), and ``extend`` for
    :func:`extend_due`."""
    names = states.available("action", action.state, side_of(action))
    if action.facility.facility_tenant_id is not None and "record_answer" in names:
        names.remove("record_answer")
    if side_of(action) is Side.INSPECTOR and action.state in AWAITING_FACILITY:
        names.append("extend")
    return names


def is_overdue(action: CorrectiveAction, today: date | None = None) -> bool:
    return action.state in AWAITING_FACILITY and action.due_on < (today or clock.today())


def days_overdue(action: CorrectiveAction, today: date | None = None) -> int:
    return max(0, ((today or clock.today()) - action.due_on).days) if is_overdue(action, today) else 0


# -- the steps ----------------------------------------------------------------------------------------------

def act(action: CorrectiveAction, name: str, actor, values: dict | None = None,
        evidence: list[tuple[str, bytes]] = ()) -> ActionEvent:
    """Take step ``name`` as the active tenant's side:

    * ``answer`` (the facility) / ``record_answer`` (its inspector, for a facility not on the
      platform): ``values["answer"]`` what was done, ``evidence`` files (name, bytes);
    * ``accept`` (inspector): ``values["note"]`` optional;
    * ``return`` / ``cancel`` (inspector): ``values["reason"]`` required.

    ``values["version"]``, when given, is the version the user saw: a step taken on a stale page
    is refused like a concurrent one.
    """
    values = values or {}
    side = side_of(action)
    transition = states.check("action", action.state, side, name)
    check_version(action, values)
    facility = db.session.get(Facility, action.facility_id)
    if name == "record_answer" and facility.facility_tenant_id is not None:
        raise WrongSide(_l("이 시설은 하나로를 이용하고 있어 시설이 직접 조치 결과를 제출합니다."))
    note = _needed(transition.needs, values)
    if name not in ("answer", "record_answer") and evidence:
        raise RuleViolation(_l("증빙 파일은 조치 결과와 함께 제출합니다."), field="file")
    files.check_count(0, len(evidence))
    for filename, content in evidence:  # a bad file refuses the step before anything changes
        files.check(FileKind.EVIDENCE, filename, content)
    _apply(action, name, note, actor)
    event = _move(action, name, transition.target, actor, note)
    for filename, content in evidence:
        files.add(FileKind.EVIDENCE, action, filename, content, actor, action_id=action.id, event_id=event.id)
    _tell_other_side(action, facility, name, side)
    return event


def check_version(action: CorrectiveAction, values: dict) -> None:
    """``values["version"]``, when given, is the version the user's page showed."""
    if values.get("version") not in (None, "") and int(values["version"]) != action.version:
        raise Conflict(_stale())


def _needed(needs: str | None, values: dict) -> str | None:
    if needs == "answer":
        answer = (values.get("answer") or "").strip()
        if not answer:
            raise RuleViolation(_l("어떻게 조치했는지 입력하세요."), field="answer")
        return answer
    if needs == "reason":
        reason = (values.get("reason") or "").strip()
        if not reason:
            raise RuleViolation(_l("사유를 입력하세요."), field="reason")
        return reason
    return (values.get("note") or "").strip() or None


def _apply(action: CorrectiveAction, name: str, note: str | None, actor) -> None:
    user_id = actor.id if actor else None
    if name in ("answer", "record_answer"):
        action.answer, action.answered_at, action.answered_by_user_id = note, utcnow(), user_id
    elif name == "return":
        action.return_reason = note
    elif name == "cancel":
        action.cancel_reason = note
    if name in ("accept", "return", "cancel"):
        action.decided_at, action.decided_by_user_id = utcnow(), user_id


def _move(action: CorrectiveAction, name: str, target: ActionState, actor, note: str | None,
          due_on: date | None = None) -> ActionEvent:
    before = action.state
    action.state = target
    action.updated_at = utcnow()  # a step that changes nothing else still bumps the version
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise Conflict(_stale()) from None
    event = ActionEvent(tenant_id=action.tenant_id, facility_id=action.facility_id, action_id=action.id, action=name,
                        from_state=before, to_state=target, note=note, due_on=due_on or action.due_on,
                        actor_tenant_id=context.current_tenant_id(), actor_user_id=actor.id if actor else None)
    db.session.add(event)
    db.session.flush()
    return event


def _stale() -> str:
    return str(_l("다른 사람이 방금 이 시정 요구를 처리했습니다. 화면을 새로 고쳐 지금 상태를 확인하세요."))


NOTICES = {
    "accept": _l("제출한 조치 결과가 이행 확인되었습니다 (%(tenant)s)"),
    "return": _l("제출한 조치 결과에 보완 요구가 있습니다 (%(tenant)s)"),
    "cancel": _l("시정 요구가 취소되었습니다 (%(tenant)s)"),
}


def _tell_other_side(action: CorrectiveAction, facility: Facility, name: str, side: Side) -> None:
    if name == "answer":
        notify(action.tenant_id, kind="oversight_action_answered", link=link("action", action.public_id),
               title=str(_l("시설이 시정 조치 결과를 제출했습니다 (%(facility)s)", facility=facility.name)))
    elif name in NOTICES:
        notify_facility(facility, "oversight_action_decided", str(NOTICES[name] % {"tenant": facility.tenant.name}),
                        link("action", action.public_id))


def extend_due(action: CorrectiveAction, values: dict, actor) -> ActionEvent:
    """기한 연장: ``due_on`` (after the current one) with a ``reason``, while the facility has to act;
    ``version`` as for :func:`act`."""
    if side_of(action) is not Side.INSPECTOR:
        raise WrongSide(states.SIDE_REFUSALS[Side.INSPECTOR])
    if action.state not in AWAITING_FACILITY:
        raise Conflict(_l("시설의 조치를 기다리는 시정 요구만 기한을 바꿀 수 있습니다."))
    check_version(action, values)
    due_on = values.get("due_on")
    if due_on is None:
        raise RuleViolation(_l("새 조치 기한을 입력하세요."), field="due_on")
    if due_on <= action.due_on:
        raise RuleViolation(_l("새 기한은 지금 기한(%(due)s)보다 뒤여야 합니다.", due=action.due_on.isoformat()),
                            field="due_on")
    reason = _needed("reason", values)
    action.due_on = due_on
    event = _move(action, "extend", action.state, actor, reason, due_on)
    facility = db.session.get(Facility, action.facility_id)
    notify_facility(facility, "oversight_action_decided",
                    str(_l("시정 조치 기한이 %(due)s(으)로 연장되었습니다 (%(tenant)s)", due=due_on.isoformat(),
                           tenant=facility.tenant.name)), link("action", action.public_id))
    return event


# -- reading ------------------------------------------------------------------------------------------------

def events(action: CorrectiveAction) -> list[ActionEvent]:
    return list(db.session.scalars(
        select(ActionEvent).options(selectinload(ActionEvent.actor_tenant), selectinload(ActionEvent.actor))
        .where(part_of(ActionEvent, action, "action_id")).order_by(ActionEvent.at, ActionEvent.id)))


def evidence(action: CorrectiveAction) -> dict[int, list[OversightFile]]:
    """{answer event id: the evidence sent with it} (content not loaded)."""
    grouped: dict[int, list[OversightFile]] = {}
    for stored in db.session.scalars(select(OversightFile).where(
            part_of(OversightFile, action, "action_id"), OversightFile.kind == FileKind.EVIDENCE.value)
            .order_by(OversightFile.at, OversightFile.id)):
        grouped.setdefault(stored.event_id, []).append(stored)
    return grouped


def _listed(*conditions) -> list[CorrectiveAction]:
    return list(db.session.scalars(
        select(CorrectiveAction)
        .options(selectinload(CorrectiveAction.finding), selectinload(CorrectiveAction.facility))
        .where(*conditions).order_by(CorrectiveAction.due_on, CorrectiveAction.id).limit(500)))


def open_actions(facility: Facility | None = None) -> list[CorrectiveAction]:
    """Open actions the active tenant sees (a facility: its own; a municipality: all it requested),
    soonest due first; of one facility when given."""
    conditions = [CorrectiveAction.state.in_([s.value for s in OPEN_ACTION_STATES])]
    if facility is not None:
        conditions.append(part_of(CorrectiveAction, facility))
    return _listed(*conditions)


def all_actions() -> list[CorrectiveAction]:
    """Every action the active tenant sees, open first, then by due date."""
    return sorted(_listed(), key=lambda a: (not a.is_open, a.due_on))


def overdue_actions(today: date | None = None) -> list[CorrectiveAction]:
    return _listed(CorrectiveAction.state.in_([s.value for s in AWAITING_FACILITY]),
                   CorrectiveAction.due_on < (today or clock.today()))


def actions_of(facility: Facility) -> list[CorrectiveAction]:
    """All of a facility's actions, open first then by due date (its history)."""
    actions = _listed(part_of(CorrectiveAction, facility))
    return sorted(actions, key=lambda a: (not a.is_open, a.due_on))


# -- overdue notices (a periodic job per municipality) --------------------------------------------------------

def notify_overdue(today: date | None = None) -> dict[str, int]:
    """For the active tenant's own actions past their due date while the facility has to act: one
    notice to the municipality and one to the facility, once per action and due date (a later
    extension that runs out again is told again). Safe to run again."""
    today = today or clock.today()
    overdue = list(db.session.scalars(
        select(CorrectiveAction).options(selectinload(CorrectiveAction.facility))
        .where(CorrectiveAction.tenant_id == context.current_tenant_id(),
               CorrectiveAction.state.in_([s.value for s in AWAITING_FACILITY]), CorrectiveAction.due_on < today)))
    notified = 0
    for action in overdue:
        key = f"oversight-overdue:{action.public_id}:{action.due_on.isoformat()}"
        facility = action.facility
        posted = notify(action.tenant_id, kind="oversight_action_overdue", link=link("action", action.public_id),
                        dedupe_key=key,
                        title=str(_l("시정 조치 기한이 지났습니다 (%(facility)s, %(due)s까지)", facility=facility.name,
                                     due=action.due_on.isoformat())))
        notify_facility(facility, "oversight_action_overdue",
                        str(_l("시정 조치 기한이 지났습니다 (%(tenant)s, %(due)s까지)", tenant=facility.tenant.name,
                               due=action.due_on.isoformat())), link("action", action.public_id), dedupe_key=key)
        notified += posted is not None
    return {"overdue": len(overdue), "notified": notified}

