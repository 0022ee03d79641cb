"""The referral state machine (DESIGN §3), in one table: which side may take which action from
which states, and where it leads. Everything that changes a referral's state goes through
:func:`check`."""
from __future__ import annotations

import enum
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from ..core.rules import RuleViolation
from .models import STATE_LABELS, State


class Side(enum.StrEnum):
    SENDER = "sender"
    RECEIVER = "receiver"
    SYSTEM = "system"


@dataclass(frozen=True)
class Transition:
    side: Side
    sources: tuple[State, ...]
    target: State
    label: str
    needs: str | None = None  # the input the action cannot do without


# Buttons in their own context: the state a button leads to may share its Korean word (STATE_LABELS).
TRANSITIONS: dict[str, Transition] = {
    "send": Transition(Side.SENDER, (State.DRAFT,), State.SENT, _l("보내기")),
    "accept": Transition(Side.RECEIVER, (State.SENT, State.WAITLISTED), State.ACCEPTED,
                         lazy_pgettext("referral action", "수락")),
    "waitlist": Transition(Side.RECEIVER, (State.SENT,), State.WAITLISTED,
                           lazy_pgettext("referral action", "대기 등록")),
    "decline": Transition(Side.RECEIVER, (State.SENT, State.WAITLISTED), State.DECLINED,
                          lazy_pgettext("referral action", "거절"), "decline_reason"),
    "start": Transition(Side.RECEIVER, (State.ACCEPTED,), State.IN_PROGRESS, _l("서비스 시작")),
    "complete": Transition(Side.RECEIVER, (State.ACCEPTED, State.IN_PROGRESS), State.COMPLETED,
                           lazy_pgettext("referral action", "완료"), "outcome_note"),
    "not_complete": Transition(Side.RECEIVER, (State.ACCEPTED, State.IN_PROGRESS), State.NOT_COMPLETED,
                               lazy_pgettext("referral action", "미완료 종결"), "outcome_note"),
    "withdraw": Transition(Side.SENDER, (State.DRAFT, State.SENT, State.ACCEPTED, State.WAITLISTED, State.IN_PROGRESS),
                           State.WITHDRAWN, lazy_pgettext("referral action", "철회"), "note"),
    "expire": Transition(Side.SYSTEM, (State.SENT,), State.EXPIRED, lazy_pgettext("referral action", "기한 만료")),
}

SIDE_REFUSALS = {
    Side.SENDER: _l("의뢰한 기관만 할 수 있습니다."),
    Side.RECEIVER: _l("의뢰를 받은 기관만 할 수 있습니다."),
    Side.SYSTEM: _l("기한이 지나면 하나로가 자동으로 처리합니다."),
}


def check(state: State, side: Side | None, action: str) -> Transition:
    """The transition ``side`` asks for, or a RuleViolation saying why not."""
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise RuleViolation(_l("알 수 없는 처리입니다."))
    if side is not transition.side:
        raise RuleViolation(SIDE_REFUSALS[transition.side])
    if state not in transition.sources:
        raise RuleViolation(_l("지금 상태(%(state)s)에서는 '%(action)s'을(를) 할 수 없습니다.",
                               state=STATE_LABELS[state], action=transition.label))
    return transition


def actions_for(state: State, side: Side | None) -> list[str]:
    """What ``side`` may do now (the buttons to show)."""
    return [name for name, t in TRANSITIONS.items() if t.side is side and state in t.sources]
