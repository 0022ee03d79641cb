"""Referral rules on real rows: sending under consent with data frozen, answering through the
state table, concurrency, consent withdrawal, re-routing, messages, files, timeline, expiry."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hanaro.cases.models import Case
from hanaro.clients.models import Client
from hanaro.core import clock
from hanaro.core.db import db
from hanaro.core.rules import RuleViolation
from hanaro.notifications.models import Notification
from hanaro.referrals import service
from hanaro.referrals.models import Referral, ReferralEvent, State
from hanaro.resources.models import Resource
from hanaro.tenancy.context import acting_as
from hanaro.tenancy.models import TenantKind

from .factories import _Actor


class World:
    pass


@pytest.fixture
def world(app, make):
    w = World()
    w.sender = make.tenant(name="한림읍 맞춤형복지팀", kind=TenantKind.DONG_CENTRE)
    w.receiver = make.tenant(name="나눔푸드뱅크", kind=TenantKind.NGO)
    w.stranger = make.tenant(name="무관복지관")
    w.planner = make.member(w.sender, roles=["case_manager"])
    w.coordinator = make.member(w.receiver, roles=["referral_coordinator"])
    w.client = make.client(w.sender, name="김순자", dong_code=None)
    w.consent = make.consent(w.client, scope="tenants", tenants=[w.receiver], purposes=["referral"])
    w.case = make.case(w.client, w.planner)
    with app.app_context(), acting_as(w.sender.id, w.planner.id):
        from hanaro.cases import service as cases

        case = db.session.get(Case, w.case.id)
        levels = {f"level_{d.code}": 0 for d in cases.need_domains()}
        cases.save_assessment(case, {**levels, "level_economy": 3, "level_health": 3,
                                     "assessed_on": clock.today()}, _Actor(w.planner.id))
        db.session.commit()
    w.resource = make.resource(w.receiver, name="긴급 식품 지원", scope="platform", need_domains=["economy"])
    return w


def _as(app, tenant, user):
    return acting_as(tenant.id, user.id)


def _draft(app, w, **values):
    with app.app_context(), _as(app, w.sender, w.planner):
        referral = service.create(
            {"reason": "식료품이 떨어져 긴급 지원이 필요합니다.", **values},
            db.session.get(Client, w.client.id), _Actor(w.planner.id), case=db.session.get(Case, w.case.id),
            resource=db.session.get(Resource, w.resource.id))
        db.session.commit()
        return referral.public_id


def _send(app, w, public_id, **kwargs):
    with app.app_context(), _as(app, w.sender, w.planner):
        service.send(service.get_referral_or_404(public_id), _Actor(w.planner.id), **kwargs)
        db.session.commit()


def _act(app, w, public_id, action, side="receiver", **kwargs):
    tenant, user = (w.receiver, w.coordinator) if side == "receiver" else (w.sender, w.planner)
    with app.app_context(), _as(app, tenant, user):
        service.act(service.get_referral_or_404(public_id), action, _Actor(user.id), **kwargs)
        db.session.commit()


def _load(app, tenant, public_id):
    with app.app_context(), acting_as(tenant.id, None):
        referral = db.session.scalar(select(Referral).where(Referral.public_id == public_id))
        if referral is not None:
            db.session.expunge(referral)
        return referral


def test_sending_freezes_the_chosen_client_data_and_tells_the_receiver(app, world):
    w = world
    public_id = _draft(app, w)
    assert _load(app, w.receiver, public_id) is None  # a draft is the sender's alone
    _send(app, w, public_id)
    seen = _load(app, w.receiver, public_id)
    assert seen.state is State.SENT and seen.receiver_tenant_id == w.receiver.id
    assert seen.shared_client["name"] == "김순자" and "phone" not in seen.shared_client
    assert seen.shared_client["needs"] == [{"domain": "경제", "level": 3}]  # health needs its own consent
    with app.app_context(), acting_as(w.sender.id, None):
        db.session.get(Client, w.client.id).name = "김순자(개명)"
        db.session.commit()
    assert _load(app, w.receiver, public_id).shared_client["name"] == "김순자"
    with app.app_context(), acting_as(w.receiver.id, None):
        notice = db.session.scalar(select(Notification).where(Notification.kind == "referral_received"))
        assert "한림읍 맞춤형복지팀" in notice.title and "김순자" not in notice.title + (notice.body or "")


def test_sending_without_a_covering_consent_is_refused_and_nothing_is_frozen(app, make, world):
    w = world
    with app.app_context(), acting_as(w.sender.id, None):
        from hanaro.clients.models import Consent

        db.session.get(Consent, w.consent.id).tenant_ids = [w.stranger.id]
        db.session.commit()
    public_id = _draft(app, w)
    with pytest.raises(RuleViolation, match="정보제공 동의에 나눔푸드뱅크"):
        _send(app, w, public_id)
    referral = _load(app, w.sender, public_id)
    assert referral.state is State.DRAFT and referral.shared_client is None


def test_a_health_consent_shares_health_needs(app, make, world):
    w = world
    make.consent(w.client, scope="tenants", tenants=[w.receiver], purposes=["referral"], includes_health=True,
                 granted_on=clock.today())
    public_id = _draft(app, w, shared_fields=["age", "needs"])
    _send(app, w, public_id)
    shared = _load(app, w.receiver, public_id).shared_client
    assert {n["domain"] for n in shared["needs"]} == {"경제", "건강"} and "name" not in shared


def test_the_whole_happy_path_records_an_event_per_step(app, world):
    w = world
    public_id = _draft(app, w)
    _send(app, w, public_id)
    _act(app, w, public_id, "waitlist", note="다음 주 배분")
    _act(app, w, public_id, "accept")
    _act(app, w, public_id, "start")
    _act(app, w, public_id, "complete", note="식료품 꾸러미 2회 전달")
    with app.app_context(), acting_as(w.sender.id, None):
        referral = service.get_referral_or_404(public_id)
        assert referral.state is State.COMPLETED and referral.outcome_note == "식료품 꾸러미 2회 전달"
        steps = [(e.action, e.actor_tenant_id) for e in service.events(referral)]
        assert steps == [("send", w.sender.id), ("waitlist", w.receiver.id), ("accept", w.receiver.id),
                         ("start", w.receiver.id), ("complete", w.receiver.id)]
        kinds = [n.kind for n in db.session.scalars(select(Notification).where(Notification.tenant_id == w.sender.id))]
        assert kinds.count("referral_answered") == 3 and kinds.count("referral_completed") == 1


def test_the_wrong_side_and_missing_reasons_are_refused(app, world):
    w = world
    public_id = _draft(app, w)
    _send(app, w, public_id)
    with pytest.raises(RuleViolation, match="의뢰를 받은 기관만"):
        _act(app, w, public_id, "accept", side="sender")
    with pytest.raises(RuleViolation, match="거절 사유"):
        _act(app, w, public_id, "decline", decline_reason="bored")
    with pytest.raises(RuleViolation, match="기타"):
        _act(app, w, public_id, "decline", decline_reason="other")
    assert _load(app, w.sender, public_id).state is State.SENT


def test_two_people_accepting_at_once_leave_one_consistent_state(app, make, world):
    w = world
    public_id = _draft(app, w)
    _send(app, w, public_id)
    other = make.member(w.receiver, roles=["referral_coordinator"])
    with app.app_context(), acting_as(w.receiver.id, other.id):
        stale = service.get_referral_or_404(public_id)  # on screen before the colleague's answer
        db.session.expunge(stale)
    _act(app, w, public_id, "accept")  # the colleague answers first
    with app.app_context(), acting_as(w.receiver.id, other.id):
        with pytest.raises(RuleViolation, match="방금 이 의뢰를 처리했습니다"):
            service.act(db.session.merge(stale, load=False), "decline", _Actor(other.id), decline_reason="capacity")
    with app.app_context(), acting_as(w.sender.id, None):
        referral = service.get_referral_or_404(public_id)
        assert referral.state is State.ACCEPTED
        assert [e.action for e in service.events(referral)] == ["send", "accept"]


def test_a_double_click_is_refused_cleanly(app, world):
    w = world
    public_id = _draft(app, w)
    _send(app, w, public_id)
    _act(app, w, public_id, "accept")
    with pytest.raises(RuleViolation, match="지금 상태\\(수락\\)"):
        _act(app, w, public_id, "accept")


def test_withdrawing_consent_hides_the_client_data_from_the_receiver(app, world):
    w = world
    public_id = _draft(app, w)
    _send(app, w, public_id)
    with app.app_context(), acting_as(w.sender.id, w.planner.id):
        from hanaro.clients import service as clients
        from hanaro.clients.models import Consent

        clients.withdraw_consent(db.session.get(Consent, w.consent.id), "본인 요청", _Actor(w.planner.id))
        db.session.commit()
    with app.app_context(), acting_as(w.receiver.id, w.coordinator.id):
        referral = service.get_referral_or_404(public_id)
        assert service.shared_client(referral) is None and referral.shared_client is None
        assert db.session.scalar(select(Notification).where(Notification.kind == "consent_withdrawn"))


def test_an_expired_consent_hides_the_frozen_data(app, world):
    w = world
    public_id = _draft(app, w)
    _send(app, w, public_id)
    with app.app_context(), acting_as(w.sender.id, None):
        db.session.scalar(select(Referral).where(Referral.public_id == public_id)).consent_expires_on = \
            clock.today() - timedelta(days=1)
        db.session.commit()
    with app.app_context(), acting_as(w.receiver.id, None):
        assert service.shared_client(service.get_referral_or_404(public_id)) is None


def test_duplicates_warn_before_sending(app, world):
    w = world
    first = _draft(app, w)
    _send(app, w, first)
    second = _draft(app, w)
    with pytest.raises(service.DuplicateWarning):
        _send(app, w, second)
    _send(app, w, second, confirm_duplicate=True)
    assert _load(app, w.receiver, second).state is State.SENT


def test_a_send_reads_each_thing_once_and_writes_the_referral_its_event_and_the_notice(app, world):
    """Statements of one send (referral loaded, commit included): case, duplicates (skipped once
    the sender confirmed them), receiver, sender, consent, needs, then one UPDATE and two INSERTs.
    Confirmed sends ran the duplicates query too before."""
    from .helpers import count_queries

    w = world
    counts = {}
    for confirmed in (False, True):
        public_id = _draft(app, w, requested_service=f"방문 목욕 {confirmed}")
        with app.app_context(), _as(app, w.sender, w.planner):
            referral, actor = service.get_referral_or_404(public_id), _Actor(w.planner.id)
            with count_queries() as n:
                service.send(referral, actor, confirm_duplicate=confirmed)
                db.session.commit()
            counts[confirmed] = n()
        assert _load(app, w.receiver, public_id).state is State.SENT
    assert counts == {False: 9, True: 8}


def test_a_declined_referral_is_rerouted_in_one_step_keeping_the_link(app, make, world):
    w = world
    public_id = _draft(app, w)
    _send(app, w, public_id)
    _act(app, w, public_id, "decline", decline_reason="capacity")
    elsewhere = make.tenant(name="다른푸드뱅크", kind=TenantKind.NGO)
    with app.app_context(), _as(app, w.sender, w.planner):
        from hanaro.tenancy.models import Tenant

        old = service.get_referral_or_404(public_id)
        new = service.reroute(old, _Actor(w.planner.id), receiver=db.session.get(Tenant, elsewhere.id))
        db.session.commit()
        assert new.state is State.DRAFT and new.rerouted_from_id == old.id and new.reason == old.reason
        with pytest.raises(RuleViolation, match="거절되었거나"):
            service.reroute(new, _Actor(w.planner.id), receiver=db.session.get(Tenant, elsewhere.id))


def test_referring_to_oneself_or_someone_elses_client_is_refused(app, make, world):
    w = world
    with app.app_context(), _as(app, w.sender, w.planner):
        from hanaro.tenancy.models import Tenant

        with pytest.raises(RuleViolation, match="우리 기관으로는"):
            service.create({"reason": "x", "requested_service": "y"}, db.session.get(Client, w.client.id),
                           _Actor(w.planner.id), receiver=db.session.get(Tenant, w.sender.id))
    with app.app_context(), acting_as(w.receiver.id, w.coordinator.id):
        with pytest.raises(RuleViolation, match="우리 기관 대상자만"):
            service.create({"reason": "x", "requested_service": "y"}, _Foreign(w.client),
                           _Actor(w.coordinator.id), receiver=w.stranger)


class _Foreign:
    def __init__(self, client):
        self.id, self.tenant_id = client.id, client.tenant_id


def test_messages_and_files_from_both_sides_and_nobody_else(app, world):
    w = world
    public_id = _draft(app, w)
    _send(app, w, public_id)
    with app.app_context(), _as(app, w.receiver, w.coordinator):
        referral = service.get_referral_or_404(public_id)
        service.add_message(referral, "방문 가능한 시간을 알려 주세요.", _Actor(w.coordinator.id))
        with pytest.raises(RuleViolation, match="PDF"):
            service.add_attachment(referral, "악성.exe", b"MZ\x90\x00", _Actor(w.coordinator.id))
        with pytest.raises(RuleViolation, match="파일 내용이 확장자와 맞지 않습니다"):
            service.add_attachment(referral, "가짜.pdf", b"not a pdf", _Actor(w.coordinator.id))
        with pytest.raises(RuleViolation, match="5MB"):
            service.add_attachment(referral, "큰.pdf", b"%PDF" + b"0" * service.MAX_ATTACHMENT_BYTES,
                                   _Actor(w.coordinator.id))
        service.add_attachment(referral, "안내문.pdf", b"%PDF-1.4 test", _Actor(w.coordinator.id))
        db.session.commit()
    with app.app_context(), _as(app, w.sender, w.planner):
        referral = service.get_referral_or_404(public_id)
        assert [m.body for m in service.messages(referral)] == ["방문 가능한 시간을 알려 주세요."]
        assert [a.filename for a in service.attachments(referral)] == ["안내문.pdf"]
    with app.app_context(), acting_as(w.stranger.id, None):
        from werkzeug.exceptions import NotFound

        with pytest.raises(NotFound):
            service.get_referral_or_404(public_id)


def test_the_case_timeline_shows_the_referral_on_the_sender_side(app, world):
    w = world
    public_id = _draft(app, w)
    _send(app, w, public_id)
    _act(app, w, public_id, "accept")
    with app.app_context(), _as(app, w.sender, w.planner):
        from hanaro.cases import service as cases

        entries = cases.timeline(db.session.get(Case, w.case.id))
        kinds = [e.kind for e in entries]
        assert "referral.send" in kinds and "referral.accept" in kinds
        assert any("긴급 식품 지원 → 나눔푸드뱅크" in e.summary for e in entries)
        assert [e.kind for e in cases.timeline(db.session.get(Case, w.case.id), "referral")][0] == "referral.accept"


def test_reminder_the_day_before_and_expiry_after_the_deadline(app, world):
    w = world
    public_id = _draft(app, w, response_due_on=clock.today() + timedelta(days=1))
    _send(app, w, public_id)
    for _ in range(2):  # running twice reminds once
        with app.app_context(), acting_as(w.sender.id, None):
            service.remind_and_expire()
            db.session.commit()
    with app.app_context(), acting_as(w.receiver.id, None):
        reminders = db.session.scalars(select(Notification).where(Notification.kind == "referral_overdue")).all()
        assert len(reminders) == 1 and "기한이 다가옵니다" in reminders[0].title
    with app.app_context(), acting_as(w.sender.id, None):
        assert service.remind_and_expire(today=clock.today() + timedelta(days=2)) == {"reminded": 0, "expired": 1}
        db.session.commit()
        referral = service.get_referral_or_404(public_id)
        assert referral.state is State.EXPIRED
        assert service.events(referral)[-1].action == "expire"
        assert service.remind_and_expire(today=clock.today() + timedelta(days=3)) == {"reminded": 0, "expired": 0}


def test_the_deadline_job_run_as_another_tenant_reminds_and_expires_nothing_of_this_referral(app, world):
    w = world
    public_id = _draft(app, w, response_due_on=clock.today() + timedelta(days=1))
    _send(app, w, public_id)
    for tenant in (w.stranger, w.receiver):  # only the sender's run acts on it
        with app.app_context(), acting_as(tenant.id, None):
            assert service.remind_and_expire(today=clock.today() + timedelta(days=2)) == {"reminded": 0, "expired": 0}
            db.session.commit()
    assert _load(app, w.sender, public_id).state is State.SENT
    with app.app_context(), acting_as(w.receiver.id, None):
        assert not db.session.scalars(select(Notification).where(Notification.kind == "referral_overdue")).all()


def test_files_attached_to_a_draft_reach_the_receiver_only_once_it_is_sent(app, world):
    from hanaro.referrals.models import ReferralAttachment

    w = world
    public_id = _draft(app, w)
    with app.app_context(), _as(app, w.sender, w.planner):
        referral = service.get_referral_or_404(public_id)
        service.add_attachment(referral, "의뢰서.pdf", b"%PDF-1.4 draft", _Actor(w.planner.id))
        with pytest.raises(RuleViolation, match="보낸 뒤에"):
            service.add_message(referral, "초안 메모", _Actor(w.planner.id))
        db.session.commit()
    with app.app_context(), acting_as(w.receiver.id, None):
        assert db.session.scalars(select(ReferralAttachment)).all() == []
    _send(app, w, public_id)
    with app.app_context(), acting_as(w.receiver.id, None):
        assert [a.filename for a in db.session.scalars(select(ReferralAttachment))] == ["의뢰서.pdf"]


def test_choosing_no_client_data_is_refused_never_widened_to_the_defaults(app, world):
    w = world
    with pytest.raises(RuleViolation, match="하나 이상") as refused:
        _draft(app, w, shared_fields=[])
    assert refused.value.field == "shared_fields"
    with pytest.raises(RuleViolation, match="하나 이상"):
        _draft(app, w, shared_fields=["blood_type"])  # nothing shareable left
    public_id = _draft(app, w, shared_fields=["age"])
    with app.app_context(), _as(app, w.sender, w.planner):
        referral = service.get_referral_or_404(public_id)
        with pytest.raises(RuleViolation, match="하나 이상"):
            service.update_draft(referral, {"shared_fields": []})
        db.session.rollback()
    _send(app, w, public_id)
    assert set(_load(app, w.receiver, public_id).shared_client) == {"client_public_id", "age"}


def _close_case(app, w):
    from hanaro.cases import service as cases

    with app.app_context(), _as(app, w.sender, w.planner):
        cases.close_case(db.session.get(Case, w.case.id), "goal_achieved", "자립 기반 마련", _Actor(w.planner.id))
        db.session.commit()


def test_a_closed_case_cannot_refer_and_a_draft_from_it_cannot_be_sent(app, world):
    w = world
    public_id = _draft(app, w)
    _close_case(app, w)
    with pytest.raises(RuleViolation, match="종결된 사례"):
        _draft(app, w)
    with pytest.raises(RuleViolation, match="종결된 사례"):
        _send(app, w, public_id)
    assert _load(app, w.sender, public_id).state is State.DRAFT
    assert _load(app, w.receiver, public_id) is None


def test_after_consent_withdrawal_the_receiver_cannot_open_the_senders_files_only_its_own(app, world):
    from werkzeug.exceptions import NotFound

    w = world
    public_id = _draft(app, w)
    with app.app_context(), _as(app, w.sender, w.planner):
        sender_file = service.add_attachment(service.get_referral_or_404(public_id), "상담기록.pdf",
                                             b"%PDF-1.4 sender", _Actor(w.planner.id)).public_id
        db.session.commit()
    _send(app, w, public_id)
    with app.app_context(), _as(app, w.receiver, w.coordinator):
        referral = service.get_referral_or_404(public_id)
        assert service.get_attachment_or_404(referral, sender_file).filename == "상담기록.pdf"
        own_file = service.add_attachment(referral, "안내문.pdf", b"%PDF-1.4 own", _Actor(w.coordinator.id)).public_id
        db.session.commit()
    with app.app_context(), acting_as(w.sender.id, w.planner.id):
        from hanaro.clients import service as clients
        from hanaro.clients.models import Consent

        clients.withdraw_consent(db.session.get(Consent, w.consent.id), "본인 요청", _Actor(w.planner.id))
        db.session.commit()
    with app.app_context(), _as(app, w.receiver, w.coordinator):
        referral = service.get_referral_or_404(public_id)
        with pytest.raises(NotFound):
            service.get_attachment_or_404(referral, sender_file)
        assert service.get_attachment_or_404(referral, own_file).filename == "안내문.pdf"
    with app.app_context(), _as(app, w.sender, w.planner):
        assert service.get_attachment_or_404(service.get_referral_or_404(public_id), sender_file)
