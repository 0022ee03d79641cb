"""The referral state machine, table-driven: every (state, side, action) is either the one
transition DESIGN §3 allows or a refusal with a reason, through the service on real rows."""
from __future__ import annotations

import itertools

import pytest

from hanaro.core.rules import RuleViolation
from hanaro.referrals import states
from hanaro.referrals.models import State
from hanaro.referrals.states import Side

S = State
ALLOWED = {  # (state, side, action) -> new state; everything else is refused
    (S.DRAFT, Side.SENDER, "send"): S.SENT,
    (S.SENT, Side.RECEIVER, "accept"): S.ACCEPTED,
    (S.WAITLISTED, Side.RECEIVER, "accept"): S.ACCEPTED,
    (S.SENT, Side.RECEIVER, "waitlist"): S.WAITLISTED,
    (S.SENT, Side.RECEIVER, "decline"): S.DECLINED,
    (S.WAITLISTED, Side.RECEIVER, "decline"): S.DECLINED,
    (S.ACCEPTED, Side.RECEIVER, "start"): S.IN_PROGRESS,
    (S.ACCEPTED, Side.RECEIVER, "complete"): S.COMPLETED,
    (S.IN_PROGRESS, Side.RECEIVER, "complete"): S.COMPLETED,
    (S.ACCEPTED, Side.RECEIVER, "not_complete"): S.NOT_COMPLETED,
    (S.IN_PROGRESS, Side.RECEIVER, "not_complete"): S.NOT_COMPLETED,
    **{(state, Side.SENDER, "withdraw"): S.WITHDRAWN
       for state in (S.DRAFT, S.SENT, S.ACCEPTED, S.WAITLISTED, S.IN_PROGRESS)},
    (S.SENT, Side.SYSTEM, "expire"): S.EXPIRED,
}
CASES = list(itertools.product(list(State), list(Side), sorted(states.TRANSITIONS)))


@pytest.mark.parametrize("state, side, action", CASES, ids=[f"{s.value}-{d.value}-{a}" for s, d, a in CASES])
def test_every_state_side_and_action(state, side, action):
    expected = ALLOWED.get((state, side, action))
    if expected is None:
        with pytest.raises(RuleViolation) as refusal:
            states.check(state, side, action)
        assert str(refusal.value.message).strip()
    else:
        assert states.check(state, side, action).target is expected


def test_outsiders_can_do_nothing():
    for state, action in itertools.product(State, states.TRANSITIONS):
        with pytest.raises(RuleViolation):
            states.check(state, None, action)


def test_final_states_allow_nothing():
    for state in (S.DECLINED, S.COMPLETED, S.NOT_COMPLETED, S.WITHDRAWN, S.EXPIRED):
        for side in Side:
            assert states.actions_for(state, side) == []


def test_refusals_say_why():
    with pytest.raises(RuleViolation, match="의뢰를 받은 기관만"):
        states.check(S.SENT, Side.SENDER, "accept")
    with pytest.raises(RuleViolation, match="지금 상태\\(완료\\)에서는 '수락'"):
        states.check(S.COMPLETED, Side.RECEIVER, "accept")
