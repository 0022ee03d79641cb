"""Due dates of the official 통합사례관리 procedure, as municipalities publish it.

대상자 접수 → 욕구 및 위기도 조사 (about 10 days after 접수) → 사례회의 → 대상자 구분·선정 (about
5 days) → 서비스 제공계획 수립 (within 30 days of 접수) → 서비스 제공 및 점검 → 종결.

The current stage's due date depends only on the case's status and 접수일 (``received_on``), so
lists can show it without extra queries. A reopened case is a new 접수: reopening sets
``received_on`` to the day it was reopened, and the deadlines count from there. The case page also
shows the whole schedule (:func:`milestones`), with the dates each step was done.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l

from ..core import clock
from .models import CaseStatus

ASSESSMENT_DAYS = 10  # 욕구 및 위기도 조사: about 10 days after 접수
SELECTION_DAYS = 5  # 사례회의·대상자 구분·선정: about 5 days after the assessment
PLAN_DAYS = 30  # 서비스 제공계획 수립: within 30 days of 접수

ASSESSMENT_LABEL = _l("욕구 및 위기도 조사")
SELECTION_LABEL = _l("사례회의·대상자 선정")
PLAN_LABEL = _l("서비스 제공계획 수립")


@dataclass(frozen=True)
class StageDue:
    """What the current stage must produce, by when."""

    label: str
    due_on: date
    today: date

    @property
    def overdue(self) -> bool:
        return self.today > self.due_on

    @property
    def days_left(self) -> int:
        return (self.due_on - self.today).days


def assessment_due(received_on: date) -> date:
    return received_on + timedelta(days=ASSESSMENT_DAYS)


def plan_due(received_on: date) -> date:
    return received_on + timedelta(days=PLAN_DAYS)


def stage_due(case, today: date | None = None) -> StageDue | None:
    """The due date of the case's current stage, or None when the procedure sets none."""
    today = today or clock.today()
    if case.status in (CaseStatus.INTAKE, CaseStatus.ASSESSMENT):
        return StageDue(str(ASSESSMENT_LABEL), assessment_due(case.received_on), today)
    if case.status is CaseStatus.PLANNING:
        return StageDue(str(PLAN_LABEL), plan_due(case.received_on), today)
    return None


@dataclass(frozen=True)
class Milestone:
    label: str
    due_on: date | None
    done_on: date | None
    today: date
    active: bool = True  # False once the case is closed: nothing is overdue any more

    @property
    def overdue(self) -> bool:
        return self.active and self.due_on is not None and self.done_on is None and self.today > self.due_on

    @property
    def late(self) -> bool:
        """Done, but after its due date."""
        return self.due_on is not None and self.done_on is not None and self.done_on > self.due_on


def milestones(case, assessed_on: date | None, conference_on: date | None, plan_done_on: date | None,
               today: date | None = None) -> list[Milestone]:
    """The procedure's steps since the latest 접수, with due and done dates.

    ``assessed_on``: first assessment since 접수; ``conference_on``: first case conference since
    then; ``plan_done_on``: the day the case first moved to 서비스 제공 since 접수.
    """
    today = today or clock.today()
    assessment = assessment_due(case.received_on)
    selection = (assessed_on or assessment) + timedelta(days=SELECTION_DAYS)
    active = case.status is not CaseStatus.CLOSED
    return [
        Milestone(str(_l("대상자 접수")), None, case.received_on, today, active),
        Milestone(str(ASSESSMENT_LABEL), assessment, assessed_on, today, active),
        Milestone(str(SELECTION_LABEL), selection, conference_on, today, active),
        Milestone(str(PLAN_LABEL), plan_due(case.received_on), plan_done_on, today, active),
    ]
