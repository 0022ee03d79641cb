"""Campaign rules on real rows: the organiser's campaign and its states, nominations under consent
within the window and the stock, duplicates across nominators kept private, review, allocation,
results notified, deliveries, consent withdrawal, and 404 for everyone else."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.exceptions import NotFound

from hanaro.campaigns import service
from hanaro.campaigns.models import Campaign, CampaignStatus, Flag, FlagKind, Nomination, NominationStatus
from hanaro.clients.models import Client, Consent
from hanaro.core import clock
from hanaro.core.db import db
from hanaro.core.rules import RuleViolation
from hanaro.notifications.models import Notification
from hanaro.tenancy.context import acting_as

from .campaign_world import CampaignWorld, born, rrn_for


@pytest.fixture
def w(make):
    return CampaignWorld(make)


def _refused(callable_, *args, **kwargs) -> RuleViolation:
    with pytest.raises(RuleViolation) as refused:
        callable_(*args, **kwargs)
    return refused.value


def _base(w, **changes):
    data = {"title": "난방유 지원", "category": "heating", "item_description": "난방유 200리터", "quantity": 10,
            "unit": "드럼", "per_household": 1, "opens_on": clock.today(), "closes_on": clock.today() + timedelta(days=7),
            "nominators": [{"tenant": w.a.code, "quota": None}]}
    data.update(changes)
    return data


# -- the organiser's campaign -------------------------------------------------------------------------

@pytest.mark.parametrize("changes, field, message", [
    ({"title": "  "}, "title", "캠페인 이름을 입력하세요."),
    ({"category": "cars"}, "category", "지원 종류를 목록에서 고르세요."),
    ({"item_description": ""}, "item_description", "배분할 후원 물품을 고르거나 물품 내용을 입력하세요."),
    ({"quantity": 0}, "quantity", "배분할 수량을 1 이상으로 입력하세요."),
    ({"per_household": 11}, "per_household", "가구당 수량이 배분할 수량보다 많습니다."),
    ({"unit": ""}, "unit", "수량 단위를 입력하세요 (예: 상자, 포기, 장)."),
    ({"closes_on": clock.today() - timedelta(days=1), "opens_on": clock.today() - timedelta(days=3)}, "closes_on",
     "추천 마감일은 오늘 이후여야 합니다."),
    ({"opens_on": clock.today() + timedelta(days=9)}, "closes_on", "추천 마감일은 시작일 이후여야 합니다."),
    ({"nominators": [{"tenant": "no-such-agency", "quota": None}]}, "nominators", "목록에 있는 이용 중인 기관을 고르세요."),
    ({"nominators": [{"tenant": "x", "quota": -1}]}, "nominators", "기관별 추천 한도는 0 이상으로 입력하세요."),
    ({"dong_quotas": [{"dong": "0000000000", "quota": 3}]}, "dong_quotas", "목록에 있는 읍면동을 고르세요."),
])
def test_bad_campaign_input_is_refused_in_korean_next_to_its_field(w, changes, field, message):
    with w.acting(w.organiser, commit=False) as actor:
        refused = _refused(service.create_campaign, _base(w, **changes), actor)
    assert (refused.field, refused.message) == (field, message)


def test_a_linked_resource_caps_the_quantity_at_its_stock_and_gives_the_unit(w, make):
    kimchi = make.resource(w.c, name="후원 김장김치", scope="platform", kind="in_kind", quantity=40, quantity_unit="상자")
    with w.acting(w.organiser, commit=False) as actor:
        refused = _refused(service.create_campaign, _base(w, resource=kimchi.public_id, item_description="", quantity=41,
                                                          unit=""), actor)
        assert (refused.field, refused.message) == ("quantity", "배분할 수량이 후원 물품의 재고(40상자)보다 많습니다.")
        campaign = service.create_campaign(_base(w, resource=kimchi.public_id, item_description="", quantity=40,
                                                 unit=""), actor)
        assert (campaign.resource_id, campaign.unit, campaign.quantity) == (kimchi.id, "상자", 40)
        service_resource = make.resource(w.c, name="상담", scope="platform")
        refused = _refused(service.create_campaign, _base(w, resource=service_resource.public_id), actor)
        assert refused.field == "resource"


def test_campaign_states_follow_the_table_and_refuse_shortcuts_with_the_reason(w):
    public_id = w.campaign(opened=False, nominators=[])
    with w.acting(w.organiser, commit=False) as actor:
        campaign = service.get_campaign_or_404(public_id)
        assert _refused(service.open_nominations, campaign, actor).message == "추천 기관을 한 곳 이상 초대하세요."
        assert _refused(service.close_nominations, campaign, actor).message == \
            "지금 상태(준비)에서는 '추천 마감 후 검토'을(를) 할 수 없습니다."
        assert _refused(service.complete, campaign, actor).message == "지금 상태(준비)에서는 '지급 완료'을(를) 할 수 없습니다."
        service.update_campaign(campaign, {"nominators": [{"tenant": w.a.code, "quota": 3}]}, actor)
        service.open_nominations(campaign, actor)
        assert campaign.status is CampaignStatus.OPEN
        assert _refused(service.finalise, campaign, actor).message == "지금 상태(추천 접수)에서는 '배분 확정'을(를) 할 수 없습니다."
        assert service.states.campaign_actions(campaign.status, service.side_of(campaign)) == ["review"]


def test_only_the_organiser_moves_a_campaign(w):
    public_id = w.campaign()
    with w.acting(w.a, commit=False) as actor:
        campaign = service.get_campaign_or_404(public_id)
        assert _refused(service.close_nominations, campaign, actor).message == "캠페인을 주관하는 기관만 할 수 있습니다."
        assert _refused(service.update_campaign, campaign, {"closes_on": clock.today()}, actor).message == \
            "캠페인을 주관하는 기관만 할 수 있습니다."


def test_opening_tells_each_invited_tenant_without_personal_data_and_once(w):
    public_id = w.campaign()
    with w.app.app_context(), acting_as(w.a.id, None):
        notices = db.session.scalars(select(Notification).where(Notification.kind == "campaign_invitation")).all()
    assert [n.title for n in notices] == ["자원배분 추천 요청이 왔습니다 (주관: 성동구청 복지정책과)"]
    with w.app.app_context(), acting_as(w.outsider.id, None):
        assert not db.session.scalars(select(Notification).where(Notification.kind == "campaign_invitation")).all()


def test_while_open_only_the_closing_date_notes_and_quotas_change(w):
    public_id = w.campaign()
    with w.acting(w.organiser) as actor:
        campaign = service.get_campaign_or_404(public_id)
        service.update_campaign(campaign, {"closes_on": clock.today() + timedelta(days=20), "title": "바뀐 이름",
                                           "nominators": [{"tenant": w.a.code, "quota": 5}]}, actor)
        assert campaign.title == "2026 사랑의 김장김치 나눔" and campaign.closes_on == clock.today() + timedelta(days=20)
        assert service.invitation_of(campaign, w.a.id).quota == 5
        refused = _refused(service.update_campaign, campaign,
                           {"nominators": [{"tenant": w.outsider.code, "quota": None}]}, actor)
        assert refused.field == "nominators"


# -- who sees what ----------------------------------------------------------------------------------

def test_invitees_see_a_campaign_once_it_opens_and_everyone_else_gets_404(w):
    public_id = w.campaign(opened=False)
    for tenant in (w.a, w.outsider):
        with w.acting(tenant, commit=False):
            with pytest.raises(NotFound):
                service.get_campaign_or_404(public_id)
            assert service.campaigns_invited() == []
    w.as_organiser(lambda campaign, actor: service.open_nominations(campaign, actor), public_id)
    with w.acting(w.a, commit=False):
        assert [c.public_id for c in service.campaigns_invited()] == [public_id]
        with pytest.raises(NotFound):
            service.own_campaign_or_404(public_id)  # the organiser's screens
    with w.acting(w.outsider, commit=False):
        with pytest.raises(NotFound):
            service.get_campaign_or_404(public_id)


def test_every_loader_answers_404_to_tenants_outside_the_record(w):
    campaign_id = w.campaign()
    mine = w.client(w.a, w.d1, rrn_for(born(1941)))
    nomination = w.nominate(w.a, campaign_id, mine).nomination
    w.as_organiser(service.run_checks, campaign_id)
    w.as_organiser(lambda campaign, actor: service.update_campaign(
        campaign, {"dong_quotas": [{"dong": w.d1.code, "quota": 0}]}, actor), campaign_id)
    w.as_organiser(service.run_checks, campaign_id)
    with w.acting(w.organiser, commit=False):
        flag = service.flags_of(service.get_campaign_or_404(campaign_id))[0]
    for tenant in (w.b, w.outsider):  # another nominator of the campaign, and a tenant outside it
        with w.acting(tenant, commit=False):
            for loader, public_id in ((service.get_nomination_or_404, nomination.public_id),
                                      (service.get_flag_or_404, flag.public_id)):
                with pytest.raises(NotFound):
                    loader(public_id)
    with w.acting(w.outsider, commit=False):
        with pytest.raises(NotFound):
            service.get_campaign_or_404(campaign_id)
    with w.acting(w.a, commit=False):
        assert service.get_flag_or_404(flag.public_id).kind is FlagKind.OVER_DONG_QUOTA
        assert service.get_nomination_or_404(nomination.public_id).public_id == nomination.public_id


# -- nominating ----------------------------------------------------------------------------------------

def test_a_nomination_shares_a_snapshot_under_consent_and_a_double_submit_does_not_duplicate(w):
    campaign_id = w.campaign()
    person = w.client(w.a, w.d1, rrn_for(born(1944)), name="박순이")
    first = w.nominate(w.a, campaign_id, person, priority="urgent")
    again = w.nominate(w.a, campaign_id, person)
    assert (first.existing, again.existing, again.nomination.public_id) == (False, True, first.nomination.public_id)
    with w.acting(w.organiser, commit=False):
        rows = db.session.scalars(select(Nomination)).all()
        assert len(rows) == 1
        assert rows[0].snapshot["name"] == "박순이" and rows[0].snapshot["dong"] == "성수1가1동"
        assert rows[0].snapshot["rrn_masked"].endswith("******") and rows[0].priority.value == "urgent"
        assert rows[0].quantity == 1 and rows[0].nominator_tenant_id == w.a.id and rows[0].tenant_id == w.organiser.id


def test_nominating_without_a_consent_covering_the_organiser_for_campaigns_is_refused(w, make):
    campaign_id = w.campaign()
    person = w.client(w.a, w.d1, consent=False)
    make.consent(person, scope="tenants", tenants=[w.organiser], purposes=["referral"])  # another purpose
    with w.acting(w.a, commit=False) as actor:
        refused = _refused(service.nominate, service.get_campaign_or_404(campaign_id),
                           db.session.get(Client, person.id), {"reason": "사유"}, actor)
    assert refused.field == "consent"
    assert refused.message.startswith("대상자의 자원배분 추천 정보제공 동의에 성동구청 복지정책과이(가) 포함되어 있지 않아")


@pytest.mark.parametrize("day, opened", [(1, True), (-3, True), (0, False)])
def test_nominating_outside_the_window_or_before_opening_is_refused(w, monkeypatch, day, opened):
    campaign_id = w.campaign(opened=opened)
    person = w.client(w.a, w.d1)
    if opened:  # pretend today lies after the closing date (day=1 → 11 days on) or before the opening
        today = clock.today() + timedelta(days=11 if day > 0 else -3)
        monkeypatch.setattr(clock, "today", lambda: today)
    else:  # in preparation the invitee cannot even see it
        with w.acting(w.a, commit=False):
            with pytest.raises(NotFound):
                service.get_campaign_or_404(campaign_id)
        return
    with w.acting(w.a, commit=False) as actor:
        campaign = service.get_campaign_or_404(campaign_id)
        refused = _refused(service.nominate, campaign, db.session.get(Client, person.id), {"reason": "사유"}, actor)
    assert refused.message == (f"추천 기간({campaign.opens_on.isoformat()} ~ {campaign.closes_on.isoformat()})이 아니어서 "
                               "추천할 수 없습니다.")


def test_nominating_after_the_organiser_closed_nominations_is_refused(w):
    campaign_id = w.campaign()
    w.as_organiser(service.close_nominations, campaign_id)
    person = w.client(w.a, w.d1)
    with w.acting(w.a, commit=False) as actor:
        refused = _refused(service.nominate, service.get_campaign_or_404(campaign_id),
                           db.session.get(Client, person.id), {"reason": "사유"}, actor)
    assert refused.message.startswith("추천 기간(")


def test_nominations_beyond_the_stock_are_refused(w):
    campaign_id = w.campaign(quantity=3, per_household=1)
    for tenant in (w.a, w.b, w.c):
        w.nominate(tenant, campaign_id, w.client(tenant, w.d2))
    with w.acting(w.b, commit=False) as actor:
        refused = _refused(service.nominate, service.get_campaign_or_404(campaign_id),
                           db.session.get(Client, w.client(w.b, w.d3).id), {"reason": "사유"}, actor)
    assert refused.message == "배분할 수량(3상자)만큼 이미 추천되어 더 추천할 수 없습니다."


@pytest.mark.parametrize("case, field, message", [
    ("not_invited", None, "이 캠페인에 추천 기관으로 초대받지 않았습니다."),
    ("no_reason", "reason", "추천 사유를 입력하세요."),
    ("bad_priority", "priority", "우선순위를 목록에서 고르세요."),
    ("deceased", "client", "사망으로 기록된 대상자는 추천할 수 없습니다."),
    ("no_dong", "client", "대상자의 거주 읍면동을 먼저 입력하세요."),
    ("outside", "client", "주관 기관의 관할 지역(성동구) 밖에 사는 대상자는 추천할 수 없습니다."),
    ("same_household", "client", "이 가구는 이미 우리 기관이 추천했습니다."),
])
def test_bad_nominations_are_refused_in_korean(w, case, field, message):
    from hanaro.clients import service as clients
    from hanaro.clients.models import VitalStatus

    campaign_id = w.campaign(nominators=[(w.a, None)])
    tenant, data = w.a, {"reason": "혼자 사는 어르신", "priority": "normal"}
    person = w.client(w.a, w.outside if case == "outside" else (None if case == "no_dong" else w.d1),
                      rrn_for(born(1939)))
    if case == "not_invited":  # the organiser sees the campaign but nominates only when it invites itself
        tenant, person = w.organiser, w.client(w.organiser, w.d1)
    elif case == "no_reason":
        data["reason"] = " "
    elif case == "bad_priority":
        data["priority"] = "vip"
    elif case == "deceased":
        with w.acting(w.a):
            clients.set_vital_status(db.session.get(Client, person.id), VitalStatus.DECEASED, clock.today())
    elif case == "same_household":
        w.nominate(w.a, campaign_id, person)
        person = w.member_of(w.a, person, rrn_for(born(1941)))
    with w.acting(tenant, commit=False) as actor:
        refused = _refused(service.nominate, service.get_campaign_or_404(campaign_id),
                           db.session.get(Client, person.id), data, actor)
    assert (refused.field, refused.message) == (field, message)


def test_another_tenants_client_cannot_be_nominated(w):
    campaign_id = w.campaign()
    theirs = w.client(w.b, w.d1)
    with w.acting(w.a, commit=False) as actor:
        campaign = service.get_campaign_or_404(campaign_id)
        refused = _refused(service.nominate, campaign, type("C", (), {"tenant_id": w.b.id, "id": theirs.id})(),
                           {"reason": "사유"}, actor)
    assert (refused.field, refused.message) == ("client", "우리 기관 대상자만 추천할 수 있습니다.")


def test_a_withdrawn_nomination_nominated_again_is_the_same_row(w):
    campaign_id = w.campaign()
    person = w.client(w.a, w.d1, rrn_for(born(1940)))
    first = w.nominate(w.a, campaign_id, person).nomination
    with w.acting(w.a) as actor:
        service.withdraw(service.get_nomination_or_404(first.public_id), "가족이 지원하기로 함", actor)
    with w.acting(w.a, commit=False) as actor:
        refused = _refused(service.withdraw, service.get_nomination_or_404(first.public_id), None, actor)
        assert refused.message == "지금 상태(철회)의 추천은 '추천 철회'할 수 없습니다."
    again = w.nominate(w.a, campaign_id, person, reason="다시 필요해짐")
    assert again.nomination.public_id == first.public_id and not again.existing
    with w.acting(w.organiser, commit=False):
        assert db.session.scalar(select(func.count()).select_from(Nomination)) == 1
        assert service.get_nomination_or_404(first.public_id).status is NominationStatus.SUBMITTED


def test_the_nominator_edits_its_nomination_while_open_and_the_organiser_cannot_withdraw_it(w):
    campaign_id = w.campaign()
    nomination = w.nominate(w.a, campaign_id, w.client(w.a, w.d1)).nomination
    with w.acting(w.a) as actor:
        own = service.get_nomination_or_404(nomination.public_id)
        service.update_nomination(own, {"reason": "난방이 끊긴 가구", "priority": "high"}, actor)
        assert _refused(service.update_nomination, own, {"reason": ""}, actor).field == "reason"
    with w.acting(w.organiser, commit=False) as actor:
        theirs = service.get_nomination_or_404(nomination.public_id)
        assert (theirs.reason, theirs.priority.value) == ("난방이 끊긴 가구", "high")
        assert _refused(service.withdraw, theirs, None, actor).message == "추천한 기관만 할 수 있습니다."
        assert _refused(service.update_nomination, theirs, {"reason": "x"}, actor).message == "추천한 기관만 할 수 있습니다."


# -- duplicates across nominators stay private -----------------------------------------------------------------

def test_a_nominator_learns_only_that_a_household_is_already_nominated_never_by_whom(w):
    campaign_id = w.campaign()
    number = rrn_for(born(1938))
    # The same person is a client of the dong centre and of the welfare centre (separate records).
    at_a = w.client(w.a, w.d1, number, name="김복순")
    at_b = w.client(w.b, w.d1, number, name="김복순")
    first = w.nominate(w.a, campaign_id, at_a)
    second = w.nominate(w.b, campaign_id, at_b)
    assert (first.duplicate_elsewhere, second.duplicate_elsewhere) == (False, True)
    w.as_organiser(service.run_checks, campaign_id)
    with w.acting(w.b, commit=False):
        own = service.get_nomination_or_404(second.nomination.public_id)
        assert service.nominator_notices(own) == ["이미 다른 기관이 추천한 가구입니다."]
        assert service.nominated_elsewhere(own) is True
        assert service.duplicates_of(own) == []  # nothing about the other nomination
        visible = db.session.scalars(select(Flag)).all()
        assert [(f.nominator_tenant_id, f.kind, f.details) for f in visible] == [(w.b.id, FlagKind.DUPLICATE, {})]
        assert service.flag_reason(visible[0]) == "이미 다른 기관이 추천한 가구입니다."
        assert [n.public_id for n in db.session.scalars(select(Nomination))] == [second.nomination.public_id]
        campaign = service.get_campaign_or_404(campaign_id)
        assert [n.public_id for n in service.nominations_of(campaign)] == [second.nomination.public_id]
        with pytest.raises(NotFound):
            service.get_nomination_or_404(first.nomination.public_id)
    with w.acting(w.organiser, commit=False):
        theirs = service.get_nomination_or_404(second.nomination.public_id)
        matches = service.duplicates_of(theirs)
        assert [(m.nomination.public_id, m.same_person) for m in matches] == [(first.nomination.public_id, True)]
        flag = service.flags_of_nomination(theirs)[0]
        assert service.flag_reason(flag) == "같은 사람 또는 가구를 다른 기관도 추천했습니다: 성수1가1동 주민센터"


def test_a_nominators_own_second_nomination_of_a_person_is_not_a_cross_agency_duplicate(w):
    campaign_id = w.campaign()
    number = rrn_for(born(1937))
    w.nominate(w.a, campaign_id, w.client(w.a, w.d1, number))
    w.as_organiser(service.run_checks, campaign_id)
    with w.acting(w.organiser, commit=False):
        assert service.flags_of(service.get_campaign_or_404(campaign_id)) == []


def test_nominating_starts_the_organisers_checks_in_a_job_after_the_commit(w):
    from hanaro.core import jobs

    campaign_id = w.campaign()
    number = rrn_for(born(1936))
    w.nominate(w.a, campaign_id, w.client(w.a, w.d1, number))
    with w.app.app_context():
        with acting_as(w.b.id, w.user_of(w.b).id):
            service.nominate(service.get_campaign_or_404(campaign_id),
                             db.session.get(Client, w.client(w.b, w.d1, number).id), {"reason": "사유"}, None)
            db.session.commit()
        assert jobs.run_deferred() == 1
    with w.acting(w.organiser, commit=False):
        assert sorted(f.nominator_tenant_id for f in service.flags_of(service.get_campaign_or_404(campaign_id))) == \
            sorted([w.a.id, w.b.id])


def test_the_checks_job_run_as_another_tenant_finds_no_campaign_and_writes_nothing(w):
    campaign_id = w.campaign()
    number = rrn_for(born(1937))
    w.nominate(w.a, campaign_id, w.client(w.a, w.d1, number))
    w.nominate(w.b, campaign_id, w.client(w.b, w.d1, number))
    with w.acting(w.organiser, commit=False):
        row_id = service.get_campaign_or_404(campaign_id).id
        flags_before = len(service.flags_of(service.get_campaign_or_404(campaign_id)))
    for stranger in (w.outsider, w.a):  # a tenant with nothing to do with it, and a nominator
        with w.acting(stranger):
            service.run_checks_job(row_id)
    with w.acting(w.organiser, commit=False):
        assert len(service.flags_of(service.get_campaign_or_404(campaign_id))) == flags_before


def test_keeping_one_duplicate_rejects_the_others_with_a_reason_that_names_nobody(w):
    campaign_id = w.campaign()
    number = rrn_for(born(1935))
    kept = w.nominate(w.a, campaign_id, w.client(w.a, w.d1, number)).nomination
    other = w.nominate(w.b, campaign_id, w.client(w.b, w.d1, number)).nomination
    w.as_organiser(service.run_checks, campaign_id)
    with w.acting(w.organiser) as actor:
        assert _refused(service.accept, service.get_nomination_or_404(kept.public_id), actor).message == \
            "확인하지 않은 점검 결과(중복 추천)가 있어 선정할 수 없습니다. 먼저 해결하세요."
        rejected = service.keep_duplicate(service.get_nomination_or_404(kept.public_id), actor)
        assert [n.public_id for n in rejected] == [other.public_id]
        service.accept(service.get_nomination_or_404(kept.public_id), actor)
    with w.acting(w.b, commit=False):
        theirs = service.get_nomination_or_404(other.public_id)
        assert (theirs.status, theirs.reject_reason_label) == (NominationStatus.REJECTED, "중복 추천")
        assert w.a.name not in theirs.decision_note and "다른 기관" in theirs.decision_note
        assert [f.status.value for f in service.flags_of_nomination(theirs)] == ["resolved"]
    summary = w.as_organiser(service.run_checks, campaign_id)
    assert summary.open == {} and summary.new == 0
    with w.acting(w.organiser, commit=False):
        assert {f.status.value for f in service.flags_of(service.get_campaign_or_404(campaign_id))} == {"resolved"}


# -- review, allocation, results, delivery ------------------------------------------------------------

def _reviewed_campaign(w, quantity=10):
    campaign_id = w.campaign(quantity=quantity)
    nominations = {tenant.id: [w.nominate(tenant, campaign_id, w.client(tenant, w.d2)).nomination.public_id
                               for _ in range(2)] for tenant in (w.a, w.b)}
    w.as_organiser(service.close_nominations, campaign_id)
    return campaign_id, nominations


def test_reject_needs_a_reason_from_the_list_and_a_note_for_other(w):
    campaign_id, nominations = _reviewed_campaign(w)
    with w.acting(w.organiser, commit=False) as actor:
        nomination = service.get_nomination_or_404(nominations[w.a.id][0])
        assert _refused(service.reject, nomination, "dislike", actor).field == "reject_reason"
        refused = _refused(service.reject, nomination, "other", actor, note=" ")
        assert (refused.field, refused.message) == ("note", "'기타'를 고르면 사유를 적어 주세요.")
    with w.acting(w.a, commit=False) as actor:
        assert _refused(service.reject, service.get_nomination_or_404(nominations[w.a.id][0]), "other", actor,
                        note="x").message == "캠페인을 주관하는 기관만 할 수 있습니다."


def test_finalising_needs_every_nomination_decided_and_allocations_within_stock(w):
    campaign_id, nominations = _reviewed_campaign(w, quantity=4)
    with w.acting(w.organiser) as actor:
        campaign = service.get_campaign_or_404(campaign_id)
        assert _refused(service.finalise, campaign, actor).message == "아직 선정하거나 제외하지 않은 추천이 4건 있습니다."
        for public_id in nominations[w.a.id] + nominations[w.b.id][:1]:
            service.accept(service.get_nomination_or_404(public_id), actor)
        service.reject(service.get_nomination_or_404(nominations[w.b.id][1]), "ineligible", actor, note="소득 기준 초과")
    with w.acting(w.organiser) as actor:
        campaign = service.get_campaign_or_404(campaign_id)
        refused = _refused(service.finalise, campaign, actor, {nominations[w.a.id][0]: 3})
        assert (refused.field, refused.message) == ("allocations", "배정 수량 합계(5상자)가 재고(4상자)를 넘습니다.")
    with w.acting(w.organiser) as actor:
        campaign = service.get_campaign_or_404(campaign_id)
        assert service.finalise(campaign, actor, {nominations[w.a.id][0]: 2}) == {"households": 3, "units": 4}
        assert campaign.status is CampaignStatus.CONFIRMED
    with w.acting(w.a, commit=False):
        notices = db.session.scalars(select(Notification).where(Notification.kind == "campaign_result")).all()
        assert [(n.title, n.body) for n in notices] == [
            ("자원배분 추천 결과가 확정되었습니다 (주관: 성동구청 복지정책과)", "선정 2가구, 제외 0가구")]
        allocated = sorted(service.get_nomination_or_404(p).allocated_quantity for p in nominations[w.a.id])
        assert allocated == [1, 2]
    with w.acting(w.b, commit=False):
        notices = db.session.scalars(select(Notification).where(Notification.kind == "campaign_result")).all()
        assert [n.body for n in notices] == ["선정 1가구, 제외 1가구"]
        rejected = service.get_nomination_or_404(nominations[w.b.id][1])
        assert (rejected.reject_reason_label, rejected.decision_note) == ("지원 기준 미충족", "소득 기준 초과")


def test_deliveries_are_recorded_per_household_before_the_campaign_completes(w):
    campaign_id, nominations = _reviewed_campaign(w)
    with w.acting(w.organiser) as actor:
        for public_id in nominations[w.a.id] + nominations[w.b.id]:
            service.accept(service.get_nomination_or_404(public_id), actor)
        refused = _refused(service.record_delivery, service.get_nomination_or_404(nominations[w.a.id][0]),
                           {"status": "delivered", "delivered_on": clock.today()}, actor)
        assert refused.message == "지급 결과는 배분이 확정된 뒤, 지급 완료 전에 기록합니다."
        service.finalise(service.get_campaign_or_404(campaign_id), actor)
    with w.acting(w.a) as actor:  # the nominating agency hands the boxes out
        own = service.get_nomination_or_404(nominations[w.a.id][0])
        assert _refused(service.record_delivery, own, {"status": "delivered"}, actor).field == "delivered_on"
        assert _refused(service.record_delivery, own, {"status": "delivered",
                                                       "delivered_on": clock.today() + timedelta(days=1)}, actor).field \
            == "delivered_on"
        assert _refused(service.record_delivery, own, {"status": "not_delivered"}, actor).message == \
            "지급하지 못한 사유를 적어 주세요."
        service.record_delivery(own, {"status": "delivered", "delivered_on": clock.today()}, actor)
        service.record_delivery(service.get_nomination_or_404(nominations[w.a.id][1]),
                                {"status": "not_delivered", "note": "연락 두절"}, actor)
    with w.acting(w.organiser) as actor:
        campaign = service.get_campaign_or_404(campaign_id)
        assert _refused(service.complete, campaign, actor).message == "지급 결과를 기록하지 않은 가구가 2곳 있습니다."
        for public_id in nominations[w.b.id]:
            service.record_delivery(service.get_nomination_or_404(public_id),
                                    {"status": "delivered", "delivered_on": clock.today()}, actor)
        service.complete(campaign, actor)
        assert campaign.status is CampaignStatus.COMPLETED
        refused = _refused(service.record_delivery, service.get_nomination_or_404(nominations[w.b.id][0]),
                           {"status": "delivered", "delivered_on": clock.today()}, actor)
        assert refused.message == "지급 결과는 배분이 확정된 뒤, 지급 완료 전에 기록합니다."


def test_the_organisers_view_of_a_nominee_is_access_logged(w):
    from hanaro.audit.models import AccessLogEntry

    campaign_id = w.campaign()
    person = w.client(w.a, w.d1)
    nomination = w.nominate(w.a, campaign_id, person).nomination
    with w.acting(w.organiser):
        service.record_organiser_view(service.get_nomination_or_404(nomination.public_id))
    with w.acting(w.organiser, commit=False):
        entries = db.session.scalars(select(AccessLogEntry)).all()
        assert [(e.client_id, e.client_tenant_id, e.what) for e in entries] == \
            [(person.id, w.a.id, "campaign_nomination")]


def test_withdrawing_consent_takes_the_nominee_away_from_the_organiser_at_once(w):
    from hanaro.clients import service as clients

    campaign_id = w.campaign()
    person = w.client(w.a, w.d1, rrn_for(born(1942)))
    nomination = w.nominate(w.a, campaign_id, person).nomination
    with w.acting(w.a) as actor:
        consent = db.session.scalar(select(Consent).where(Consent.client_id == person.id))
        affected = clients.withdraw_consent(consent, "본인 요청", actor)
    assert w.organiser.id in affected
    with w.acting(w.organiser, commit=False):
        theirs = service.get_nomination_or_404(nomination.public_id)
        assert (theirs.snapshot, theirs.status) == (None, NominationStatus.WITHDRAWN)
        assert db.session.scalar(select(func.count()).select_from(service.NominationKey)) == 0
        notices = db.session.scalars(select(Notification).where(Notification.kind == "consent_withdrawn")).all()
        assert len(notices) == 1


def test_two_organiser_staff_deciding_at_once_leave_one_decision(w, make):
    campaign_id = w.campaign()
    public_id = w.nominate(w.a, campaign_id, w.client(w.a, w.d1)).nomination.public_id
    colleague = make.member(w.organiser, roles=["tenant_admin"])
    with w.app.app_context(), acting_as(w.organiser.id, colleague.id):
        stale = service.get_nomination_or_404(public_id)  # on screen before the other decision
        stale.campaign  # noqa: B018 - loaded with it
        db.session.expunge_all()
    with w.acting(w.organiser) as actor:
        service.accept(service.get_nomination_or_404(public_id), actor)
    with w.app.app_context(), acting_as(w.organiser.id, colleague.id):
        with pytest.raises(RuleViolation, match="다른 사람이 방금 이 내용을 바꾸었습니다"):
            service.reject(db.session.merge(stale, load=False), "ineligible", type("A", (), {"id": colleague.id})())
    with w.acting(w.a, commit=False):
        assert service.get_nomination_or_404(public_id).status is NominationStatus.ACCEPTED
