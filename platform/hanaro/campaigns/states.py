"""The campaign and nomination state machines, each in one table: who may take which action from
which states, and where it leads. Everything that changes a status goes through :func:`check`."""
from __future__ import annotations

import enum
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from ..core.rules import RuleViolation
from .models import CAMPAIGN_STATUS_LABELS, NOMINATION_STATUS_LABELS, CampaignStatus, NominationStatus


class Side(enum.StrEnum):
    ORGANISER = "organiser"
    NOMINATOR = "nominator"


@dataclass(frozen=True)
class Transition:
    side: Side
    sources: tuple
    target: object
    label: str


# 준비 → 추천 접수 → 검토 → 확정 → 지급 완료
CAMPAIGN_TRANSITIONS: dict[str, Transition] = {
    "open": Transition(Side.ORGANISER, (CampaignStatus.PREPARATION,), CampaignStatus.OPEN, _l("추천 접수 시작")),
    "review": Transition(Side.ORGANISER, (CampaignStatus.OPEN,), CampaignStatus.REVIEW, _l("추천 마감 후 검토")),
    "confirm": Transition(Side.ORGANISER, (CampaignStatus.REVIEW,), CampaignStatus.CONFIRMED, _l("배분 확정")),
    "complete": Transition(Side.ORGANISER, (CampaignStatus.CONFIRMED,), CampaignStatus.COMPLETED, _l("지급 완료")),
}

NOMINATION_TRANSITIONS: dict[str, Transition] = {
    "accept": Transition(Side.ORGANISER, (NominationStatus.SUBMITTED, NominationStatus.REJECTED),
                         NominationStatus.ACCEPTED, lazy_pgettext("nomination action", "선정")),
    "reject": Transition(Side.ORGANISER, (NominationStatus.SUBMITTED, NominationStatus.ACCEPTED),
                         NominationStatus.REJECTED, lazy_pgettext("nomination action", "제외")),
    "withdraw": Transition(Side.NOMINATOR, (NominationStatus.SUBMITTED,), NominationStatus.WITHDRAWN, _l("추천 철회")),
}

# While the campaign is in these statuses, nominations may take these actions.
NOMINATION_ACTIONS_WHILE = {
    "accept": (CampaignStatus.OPEN, CampaignStatus.REVIEW),
    "reject": (CampaignStatus.OPEN, CampaignStatus.REVIEW),
    "withdraw": (CampaignStatus.OPEN,),
}

SIDE_REFUSALS = {
    Side.ORGANISER: _l("캠페인을 주관하는 기관만 할 수 있습니다."),
    Side.NOMINATOR: _l("추천한 기관만 할 수 있습니다."),
}


def check_campaign(status: CampaignStatus, side: Side | None, action: str) -> Transition:
    """The campaign transition ``side`` asks for, or a RuleViolation saying why not."""
    transition = _transition(CAMPAIGN_TRANSITIONS, side, action)
    if status not in transition.sources:
        raise RuleViolation(_l("지금 상태(%(state)s)에서는 '%(action)s'을(를) 할 수 없습니다.",
                               state=CAMPAIGN_STATUS_LABELS[status], action=transition.label))
    return transition


def check_nomination(status: NominationStatus, campaign_status: CampaignStatus, side: Side | None,
                     action: str) -> Transition:
    transition = _transition(NOMINATION_TRANSITIONS, side, action)
    if campaign_status not in NOMINATION_ACTIONS_WHILE[action]:
        raise RuleViolation(_l("캠페인이 '%(state)s' 상태라 '%(action)s'을(를) 할 수 없습니다.",
                               state=CAMPAIGN_STATUS_LABELS[campaign_status], action=transition.label))
    if status not in transition.sources:
        raise RuleViolation(_l("지금 상태(%(state)s)의 추천은 '%(action)s'할 수 없습니다.",
                               state=NOMINATION_STATUS_LABELS[status], action=transition.label))
    return transition


def _transition(table: dict[str, Transition], side: Side | None, action: str) -> Transition:
    transition = table.get(action)
    if transition is None:
        raise RuleViolation(_l("알 수 없는 처리입니다."))
    if side is not transition.side:
        raise RuleViolation(SIDE_REFUSALS[transition.side])
    return transition


def campaign_actions(status: CampaignStatus, side: Side | None) -> list[str]:
    """What ``side`` may do to the campaign now (the buttons to show)."""
    return [name for name, t in CAMPAIGN_TRANSITIONS.items() if t.side is side and status in t.sources]


def nomination_actions(status: NominationStatus, campaign_status: CampaignStatus, side: Side | None) -> list[str]:
    return [name for name, t in NOMINATION_TRANSITIONS.items()
            if t.side is side and status in t.sources and campaign_status in NOMINATION_ACTIONS_WHILE[name]]
