"""The demo referrals: loaded through the referral service under the tenancy rules (RLS on
PostgreSQL), every state present, each side seeing what it should, loaded once however often the
loader runs."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hanaro.clients.models import Consent
from hanaro.core import clock
from hanaro.core.db import db
from hanaro.demo import caseload, catalogue, referrals
from hanaro.referrals import service
from hanaro.referrals.models import Referral, ReferralEvent, ReferralMessage, State
from hanaro.tenancy import registry
from hanaro.tenancy.context import acting_as
from hanaro.tenancy.models import Membership, Role, Tenant

JEJU = Path(__file__).resolve().parents[1] / "tenants" / "jeju-pilot.toml"
SENDERS = sorted({d.sender for d in referrals.DEMO_REFERRALS})
UNRELATED = ("aewol-dong", "jeju-province", "seogwipo-city")  # never send or receive a demo referral


@pytest.fixture
def loaded(ctx):
    registry.apply(JEJU, demo=True)
    caseload.apply()
    catalogue.apply()
    result = referrals.apply()
    tenants = {t.code: t for t in db.session.scalars(select(Tenant))}
    return result, tenants


def _all(tenants) -> list[Referral]:
    found = []
    for code in SENDERS:
        with acting_as(tenants[code].id, None):
            found += db.session.scalars(select(Referral).where(Referral.tenant_id == tenants[code].id)
                                        .order_by(Referral.id)).all()
    return found


def _events(referral: Referral) -> list[ReferralEvent]:
    with acting_as(referral.tenant_id, None):
        return service.events(referral)


def _messages(referral: Referral) -> list[ReferralMessage]:
    with acting_as(referral.tenant_id, None):
        return service.messages(referral)


def _roles(tenant_id: int, user_id: int) -> list[str]:
    with acting_as(tenant_id, None):
        membership = db.session.scalar(select(Membership).where(Membership.tenant_id == tenant_id,
                                                                Membership.user_id == user_id))
    return membership.roles if membership else []


def test_every_state_is_there_and_got_there_through_the_service(loaded):
    result, tenants = loaded
    everything = _all(tenants)
    assert result["added"] == len(everything) == len(referrals.DEMO_REFERRALS) + 1  # and the re-routed one
    states = Counter(r.state.value for r in everything)
    assert set(states) == {s.value for s in State}
    assert result["states"] == {s.value: states[s.value] for s in State}
    assert referrals.summary(result).startswith(f"referrals: added {len(everything)} — draft 1, sent 3")
    by_code = {t.id: t.code for t in tenants.values()}
    for referral in everything:
        assert by_code[referral.tenant_id] in {"halla-welfare", "hallim-dong", "seogwipo-welfare", "namwon-dong"}
        assert referral.case_id and referral.reason and referral.requested_service
        assert Role.CASE_MANAGER.value in _roles(referral.tenant_id, referral.created_by_user_id)
        events = _events(referral)
        if referral.state is State.DRAFT:
            assert events == [] and referral.shared_client is None and referral.sent_at is None
            continue
        # Sent by the case worker under a referral consent, with the client data frozen.
        assert (events[0].action, events[0].actor_tenant_id, events[0].actor_user_id) == (
            "send", referral.tenant_id, referral.created_by_user_id)
        assert referral.shared_client["name"]
        with acting_as(referral.tenant_id, None):
            consent = db.session.get(Consent, referral.consent_id)
        assert consent.scope.value == "tenants" and consent.purposes == ["referral"] and consent.evidence_reference
        assert referral.receiver_tenant_id in consent.tenant_ids
        assert referral.sent_at.date() < clock.today()
        assert [e.to_state for e in events][-1] is referral.state
        for event in events[1:]:
            if event.action == "withdraw":
                assert event.actor_tenant_id == referral.tenant_id
            elif event.action == "expire":
                assert event.actor_user_id is None
            else:  # answered by the receiver's referral coordinator or tenant admin
                assert event.actor_tenant_id == referral.receiver_tenant_id
                roles = _roles(referral.receiver_tenant_id, event.actor_user_id)
                assert {Role.REFERRAL_COORDINATOR.value, Role.TENANT_ADMIN.value} & set(roles), event.action
    by_state = {state: [r for r in everything if r.state is state] for state in State}
    assert all(r.decline_reason and r.answer_note for r in by_state[State.DECLINED])
    assert {r.decline_reason.value for r in by_state[State.DECLINED]} == {"out_of_area", "ineligible"}
    assert all(r.outcome_note for r in by_state[State.COMPLETED] + by_state[State.NOT_COMPLETED])
    assert all(r.withdraw_reason for r in by_state[State.WITHDRAWN])
    assert all(r.answer_note for r in by_state[State.WAITLISTED])
    assert all(r.closed_at and r.closed_at.date() < clock.today() + timedelta(days=1)
               for state in (State.DECLINED, State.COMPLETED, State.NOT_COMPLETED, State.WITHDRAWN, State.EXPIRED)
               for r in by_state[state])
    assert sum(1 for r in everything if r.resource_id is None and r.rerouted_from_id is None) >= 1  # direct
    assert "독거 어르신 겨울철 난방비 부담으로 연료 지원 필요" in {r.reason for r in everything}


def test_sent_ones_are_overdue_due_tomorrow_and_rerouted_after_a_decline(loaded):
    _, tenants = loaded
    everything = {r.id: r for r in _all(tenants)}
    sent = [r for r in everything.values() if r.state is State.SENT]
    today = clock.today()
    assert len([r for r in sent if service.is_overdue(r)]) == 1  # overdue, the sweep has not expired it yet
    assert len([r for r in sent if r.response_due_on == today + timedelta(days=1)]) == 1
    assert [r for r in sent if r.response_due_on > today + timedelta(days=1)]  # and one with time to spare
    expired = [r for r in everything.values() if r.state is State.EXPIRED]
    assert expired and all(r.response_due_on < today for r in expired)
    rerouted = [r for r in everything.values() if r.rerouted_from_id]
    assert len(rerouted) == 1
    new, old = rerouted[0], everything[rerouted[0].rerouted_from_id]
    assert old.state is State.DECLINED and new.state is State.SENT
    assert (new.client_id, new.case_id, new.reason, new.tenant_id) == (
        old.client_id, old.case_id, old.reason, old.tenant_id)
    assert new.receiver_tenant_id != old.receiver_tenant_id and new.resource_id is None
    with acting_as(new.receiver_tenant_id, None):  # the new receiver sees the new one, not the declined one
        assert db.session.scalar(select(Referral).where(Referral.id == new.id)) is not None
        assert db.session.scalar(select(Referral).where(Referral.id == old.id)) is None


def test_each_receiver_sees_its_referrals_and_messages_and_nobody_else_does(loaded):
    _, tenants = loaded
    everything = _all(tenants)
    both = 0
    for referral in everything:
        messages = _messages(referral)
        if referral.state is State.DRAFT:
            assert messages == []
            continue
        sides = {m.actor_tenant_id for m in messages}
        assert sides <= {referral.tenant_id, referral.receiver_tenant_id}
        both += sides == {referral.tenant_id, referral.receiver_tenant_id}
        with acting_as(referral.receiver_tenant_id, None):
            seen = db.session.scalars(select(ReferralMessage.id)
                                      .where(ReferralMessage.referral_id == referral.id)).all()
        assert sorted(seen) == sorted(m.id for m in messages)
    assert both >= 5  # messages in both directions on several referrals
    for referral in everything:
        with acting_as(referral.receiver_tenant_id, None):
            seen = db.session.scalar(select(Referral).where(Referral.id == referral.id))
            counted = service.counts("inbox").get(referral.state.value)
        if referral.state is State.DRAFT:
            assert seen is None  # a draft is the sender's alone
        else:
            assert seen is not None and counted.value >= 1
        for code in UNRELATED:
            with acting_as(tenants[code].id, None):
                assert db.session.scalar(select(Referral).where(Referral.id == referral.id)) is None
                assert db.session.scalar(select(func.count()).select_from(ReferralMessage)
                                         .where(ReferralMessage.referral_id == referral.id)) == 0
    [draft] = [r for r in everything if r.state is State.DRAFT]
    with acting_as(draft.receiver_tenant_id, None):
        assert draft.id not in {r.id for r in service.list_referrals(service.ListFilter(direction="inbox")).items}
        assert "draft" not in service.counts("inbox")
    with acting_as(draft.tenant_id, None):
        assert draft.id in {r.id for r in service.list_referrals(service.ListFilter(direction="outbox")).items}


def test_loading_again_adds_nothing(loaded):
    result, tenants = loaded

    def totals():
        counts = Counter()
        for code in SENDERS:
            tenant_id = tenants[code].id
            with acting_as(tenant_id, None):
                for model in (Referral, ReferralEvent, ReferralMessage):
                    counts[model.__name__] += db.session.scalar(
                        select(func.count()).select_from(model).where(model.tenant_id == tenant_id))
                counts["consents"] += db.session.scalar(
                    select(func.count()).select_from(Consent).where(Consent.tenant_id == tenant_id))
        return counts

    before = totals()
    again = referrals.apply()
    assert again == {"added": 0, "states": result["states"]}
    assert referrals.summary(again).startswith("referrals: already present — draft 1")
    assert totals() == before


def test_the_loader_needs_the_caseload_and_the_catalogue_first(ctx):
    registry.apply(JEJU, demo=True)
    with pytest.raises(referrals.MissingDemoData, match="flask demo caseload"):
        referrals.apply()
    caseload.apply()
    with pytest.raises(referrals.MissingDemoData, match="flask demo catalogue") as error:
        referrals.apply()
    assert "flask demo caseload" not in str(error.value)
    tenants = {t.code: t for t in db.session.scalars(select(Tenant))}
    assert _all(tenants) == []


def test_the_cli_refuses_without_the_caseload_then_loads_once(app, monkeypatch):
    monkeypatch.setitem(app.config, "HANARO_DEMO", True)
    runner = app.test_cli_runner()
    with app.app_context():
        registry.apply(JEJU, demo=True)
        db.session.commit()
    result = runner.invoke(args=["demo", "referrals"])
    assert result.exit_code != 0 and "flask demo caseload" in result.output
    with app.app_context():
        caseload.apply()
        catalogue.apply()
        db.session.commit()
    result = runner.invoke(args=["demo", "referrals"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("referrals: added 17 — draft 1, sent 3, accepted 2, waitlisted 2, declined 2")
    result = runner.invoke(args=["demo", "referrals"])
    assert result.exit_code == 0 and result.output.startswith("referrals: already present")
