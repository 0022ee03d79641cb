"""Who may move inspections and corrective actions, from which states, to where: one table each.
Everything that changes their state goes through :func:`check`.

Refusals are :class:`~hanaro.core.rules.RuleViolation` subclasses carrying the HTTP status a screen
should answer with: :class:`WrongSide` (403: this organisation may never do it), :class:`Conflict`
(409: not in this state, or someone else just changed it); a plain ``RuleViolation`` is bad or
missing input (422, next to its ``field``).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from ..core.rules import RuleViolation
from .models import ACTION_STATE_LABELS, INSPECTION_STATUS_LABELS, ActionState, InspectionStatus


class WrongSide(RuleViolation):
    status = 403


class Conflict(RuleViolation):
    status = 409


class Side(enum.StrEnum):
    INSPECTOR = "inspector"  # the supervising municipality
    FACILITY = "facility"  # the facility's own tenant
    PROVINCE = "province"  # reads only


SIDE_REFUSALS = {
    Side.INSPECTOR: _l("관할 시군구의 지도점검 담당만 할 수 있습니다."),
    Side.FACILITY: _l("해당 시설만 할 수 있습니다."),
    Side.PROVINCE: _l("광역자치단체는 조회만 할 수 있습니다."),
}


@dataclass(frozen=True)
class Transition:
    side: Side
    sources: tuple
    target: enum.Enum
    label: object
    needs: str | None = None  # the input the step cannot do without


INSPECTION_TRANSITIONS: dict[str, Transition] = {
    "start": Transition(Side.INSPECTOR, (InspectionStatus.PLANNED,), InspectionStatus.IN_PROGRESS, _l("점검 실시"),
                        "conducted_on"),
    "complete": Transition(Side.INSPECTOR, (InspectionStatus.IN_PROGRESS,), InspectionStatus.COMPLETED,
                           _l("점검 완료")),
    "cancel": Transition(Side.INSPECTOR, (InspectionStatus.PLANNED, InspectionStatus.IN_PROGRESS),
                         InspectionStatus.CANCELLED, _l("점검 취소"), "reason"),
}

ACTION_TRANSITIONS: dict[str, Transition] = {
    "answer": Transition(Side.FACILITY, (ActionState.REQUESTED, ActionState.RETURNED), ActionState.ANSWERED,
                         _l("조치 결과 제출"), "answer"),
    # A facility not on the platform answers on paper; its inspector records the answer.
    "record_answer": Transition(Side.INSPECTOR, (ActionState.REQUESTED, ActionState.RETURNED), ActionState.ANSWERED,
                                _l("서면 조치 결과 입력"), "answer"),
    "accept": Transition(Side.INSPECTOR, (ActionState.ANSWERED,), ActionState.ACCEPTED,
                         lazy_pgettext("corrective action step", "이행 확인")),
    "return": Transition(Side.INSPECTOR, (ActionState.ANSWERED,), ActionState.RETURNED,
                         lazy_pgettext("corrective action step", "보완 요구"), "reason"),
    "cancel": Transition(Side.INSPECTOR, (ActionState.REQUESTED, ActionState.ANSWERED, ActionState.RETURNED),
                         ActionState.CANCELLED, _l("시정 요구 취소"), "reason"),
}

_TABLES = {"inspection": (INSPECTION_TRANSITIONS, INSPECTION_STATUS_LABELS),
           "action": (ACTION_TRANSITIONS, ACTION_STATE_LABELS)}


def check(table: str, state, side: Side | None, name: str) -> Transition:
    """The transition ``side`` asks for in ``table`` ("inspection" or "action"), or a refusal."""
    transitions, labels = _TABLES[table]
    transition = transitions.get(name)
    if transition is None:
        raise RuleViolation(_l("알 수 없는 처리입니다."))
    if side is not transition.side:
        raise WrongSide(SIDE_REFUSALS[transition.side])
    if state not in transition.sources:
        raise Conflict(_l("지금 상태(%(state)s)에서는 '%(action)s'을(를) 할 수 없습니다.",
                          state=labels[state], action=transition.label))
    return transition


def available(table: str, state, side: Side | None) -> list[str]:
    """What ``side`` may do now (the buttons to show)."""
    transitions, _labels = _TABLES[table]
    return [name for name, t in transitions.items() if t.side is side and state in t.sources]
