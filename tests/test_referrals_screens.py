"""Referral screens: writing (draft or send at once) from a case and a resource, consent refusal and
duplicate warnings, inbox and outbox, the referral page for each side, answers, messages, files,
re-routing, and what the receiver may see of the client."""
from __future__ import annotations

from html import unescape
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from hanaro.audit.models import AccessLogEntry
from hanaro.cases.models import Case
from hanaro.clients.models import Client, Consent
from hanaro.core import clock
from hanaro.core.db import db
from hanaro.referrals.models import Referral, ReferralAttachment, ReferralEvent, ReferralMessage, State
from hanaro.tenancy.context import acting_as
from hanaro.tenancy.models import TenantKind

from .factories import _Actor
from .helpers import login

PDF = b"%PDF-1.4 referral test"


class World:
    pass


@pytest.fixture
def world(app, make):
    w = World()
    w.app, w.make = app, make
    w.sender = make.tenant(name="한림읍 맞춤형복지팀", kind=TenantKind.DONG_CENTRE)
    w.receiver = make.tenant(name="나눔푸드뱅크", kind=TenantKind.NGO)
    w.stranger = make.tenant(name="무관복지관")
    w.planner = make.member(w.sender, roles=["case_manager"], name="박플래너")
    w.coordinator = make.member(w.receiver, roles=["referral_coordinator"], name="이코디")
    w.outsider = make.member(w.stranger, roles=["tenant_admin", "case_manager", "referral_coordinator"])
    w.client = make.client(w.sender, name="김순자")
    with make.as_tenant(w.sender) as session:
        person = session.get(Client, w.client.id)
        person.phone, person.address = "010-9876-5432", "제주시 비밀로 12"
    w.consent = make.consent(w.client, scope="tenants", tenants=[w.receiver], purposes=["referral"])
    w.case = make.case(w.client, w.planner)
    with app.app_context(), acting_as(w.sender.id, w.planner.id):
        from hanaro.cases import service as cases

        levels = {f"level_{d.code}": 0 for d in cases.need_domains()}
        cases.save_assessment(db.session.get(Case, w.case.id), {**levels, "level_economy": 3,
                                                                 "assessed_on": clock.today()}, _Actor(w.planner.id))
        db.session.commit()
    w.resource = make.resource(w.receiver, name="긴급 식품 지원", scope="platform", need_domains=["economy"])
    w.sending = _browser(app, w.planner)
    w.receiving = _browser(app, w.coordinator)
    return w


def _browser(app, user):
    browser = app.test_client()
    assert login(browser, user.email).status_code == 303
    return browser


def _form(w, token=None, **values):
    data = {"case": w.case.public_id, "resource": w.resource.public_id, "requested_service": "긴급 식품 지원",
            "reason": "식료품이 떨어져 긴급 지원이 필요합니다.", "urgency": "urgent",
            "response_due_on": (clock.today() + timedelta(days=7)).isoformat(),
            "shared_fields": ["name", "age", "sex", "needs"], "intent": "send",
            "submission_token": token or f"tok-{next(_tokens)}"}
    data.update(values)
    return {k: v for k, v in data.items() if v is not None}


def _counter():
    n = 0
    while True:
        n += 1
        yield n


_tokens = _counter()


def _new(w, **values):
    return w.sending.post("/referrals/new", data=_form(w, **values))


def _public_id(response) -> str:
    assert response.status_code == 303, _errors_in(response)
    return response.headers["Location"].rsplit("/", 1)[-1].split("#")[0]


def _errors_in(response) -> list[str]:
    """The error messages on a refused form's page (for assertion messages)."""
    return re.findall(r'(?:form-error|role="alert")[^>]*>([^<]+)<', _text(response))


def _sent(w, **values) -> str:
    return _public_id(_new(w, **values))


def _referrals(w, tenant=None) -> list[Referral]:
    with w.app.app_context(), acting_as((tenant or w.sender).id, None):
        rows = list(db.session.scalars(select(Referral).order_by(Referral.id)))
        for row in rows:
            db.session.expunge(row)
        return rows


def _state(w, public_id) -> State:
    with w.app.app_context(), acting_as(w.sender.id, None):
        return db.session.scalar(select(Referral.state).where(Referral.public_id == public_id))


def _text(response) -> str:
    return unescape(response.get_data(as_text=True))


def _events(w, public_id) -> list[str]:
    with w.app.app_context(), acting_as(w.sender.id, None):
        referral_id = db.session.scalar(select(Referral.id).where(Referral.public_id == public_id))
        return list(db.session.scalars(select(ReferralEvent.action).where(ReferralEvent.referral_id == referral_id)
                                       .order_by(ReferralEvent.id)))


# -- writing and sending ----------------------------------------------------------------------------

def test_a_case_manager_sends_a_referral_from_a_case_with_a_resource(world):
    w = world
    page = w.sending.get(f"/referrals/new?case={w.case.public_id}&resource={w.resource.public_id}")
    html = _text(page)
    assert page.status_code == 200
    assert 'value="긴급 식품 지원"' in html  # requested service prefilled from the resource
    assert "김순자" in html and "나눔푸드뱅크" in html
    assert "정보제공 동의가 허용하는 것만" in html and "건강정보" in html  # what is sent, in the help text
    assert 'name="submission_token"' in html and 'enctype="multipart/form-data"' in html
    assert (clock.today() + timedelta(days=7)).isoformat() in html  # default deadline
    public_id = _sent(w)
    [referral] = _referrals(w)
    assert referral.public_id == public_id and referral.state is State.SENT
    assert referral.urgency.value == "urgent" and referral.case_id == w.case.id
    assert referral.shared_client["name"] == "김순자" and "phone" not in referral.shared_client
    shown = _text(w.sending.get(f"/referrals/{public_id}"))
    assert "보냄 (응답 대기)" in shown and "김순자" in shown and "나눔푸드뱅크" in shown


def test_only_referral_roles_may_write_and_viewers_only_read(app, world, signed_in):
    w = world
    viewer = w.make.member(w.sender, roles=["viewer"])
    browser = _browser(app, viewer)
    assert browser.get(f"/referrals/new?case={w.case.public_id}").status_code == 403
    assert browser.post("/referrals/new", data=_form(w)).status_code == 403
    assert browser.get("/referrals?box=outbox").status_code == 200
    registrar, _user, _tenant = signed_in("resource_registrar")
    assert registrar.get("/referrals").status_code == 403
    assert _referrals(w) == []


def test_a_draft_is_the_senders_alone_until_it_is_sent(world):
    w = world
    public_id = _sent(w, intent="draft")
    assert _state(w, public_id) is State.DRAFT
    assert w.receiving.get(f"/referrals/{public_id}").status_code == 404
    assert "긴급 식품 지원" not in _text(w.receiving.get("/referrals"))
    page = _text(w.sending.get(f"/referrals/{public_id}"))
    assert "의뢰 고치기와 보내기" in page and "식료품이 떨어져" in page
    response = w.sending.post(f"/referrals/{public_id}/send", data=_form(
        w, reason="고친 사유: 이번 주 안에 식료품이 필요합니다.", case=None, resource=None))
    assert response.status_code == 303
    assert _state(w, public_id) is State.SENT
    received = _text(w.receiving.get(f"/referrals/{public_id}"))
    assert "고친 사유" in received and _events(w, public_id) == ["send"]


def test_a_referral_without_covering_consent_is_refused_keeping_the_input_and_creating_nothing(app, world):
    w = world
    with app.app_context(), acting_as(w.sender.id, None):
        db.session.get(Consent, w.consent.id).tenant_ids = [w.stranger.id]
        db.session.commit()
    response = _new(w, reason="동의 확인이 필요한 사유입니다", token="consent-token",
                    file=(io.BytesIO(PDF), "의뢰서.pdf"))
    html = _text(response)
    assert response.status_code == 422
    assert 'role="alert" id="consent-error"' in html and "정보제공 동의에 나눔푸드뱅크" in html
    assert f'/clients/{w.client.public_id}#consents' in html  # a link to the consent page
    assert "동의 확인이 필요한 사유입니다" in html and 'value="urgent" checked' in html
    assert "다시 골라야 합니다" in html  # files cannot be kept by the browser
    with app.app_context(), acting_as(w.sender.id, None):
        assert db.session.scalar(select(func.count()).select_from(Referral)) == 0
        assert db.session.scalar(select(func.count()).select_from(ReferralAttachment)) == 0
    # The same form (same token) goes through once the consent covers the receiver.
    with app.app_context(), acting_as(w.sender.id, None):
        db.session.get(Consent, w.consent.id).tenant_ids = [w.receiver.id]
        db.session.commit()
    assert _new(w, token="consent-token").status_code == 303
    assert [r.state for r in _referrals(w)] == [State.SENT]


def test_a_duplicate_warns_and_sends_only_when_confirmed(world):
    w = world
    first = _sent(w)
    response = _new(w, token="dup-token")
    html = _text(response)
    assert response.status_code == 422
    assert "진행 중인 비슷한 의뢰" in html and "그래도 보내기" in html and f"/referrals/{first}" in html
    assert len(_referrals(w)) == 1
    second = _public_id(_new(w, token="dup-token", confirm_duplicate="1"))
    assert {r.public_id: r.state for r in _referrals(w)} == {first: State.SENT, second: State.SENT}


def test_a_double_submitted_referral_is_created_once(world):
    w = world
    first = _new(w, token="same-token")
    again = _new(w, token="same-token")
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    assert len(_referrals(w)) == 1


def test_input_errors_are_shown_next_to_the_fields(world):
    w = world
    response = _new(w, reason="", shared_fields=None, response_due_on=(clock.today() - timedelta(days=1)).isoformat())
    html = _text(response)
    assert response.status_code == 422
    assert 'id="reason-error"' in html and "보낼 항목을 하나 이상" in html
    assert _referrals(w) == []
    past = _new(w, response_due_on=(clock.today() - timedelta(days=1)).isoformat())
    assert past.status_code == 422 and "응답 기한은 오늘 이후" in _text(past)


def test_from_a_resource_page_one_chooses_a_case_and_from_a_client_a_tenant(app, world):
    w = world
    resource_page = _text(w.sending.get(f"/resources/{w.resource.public_id}"))
    assert f"/referrals/new?resource={w.resource.public_id}" in resource_page
    chooser = _text(w.sending.get(f"/referrals/new?resource={w.resource.public_id}"))
    assert 'name="case"' in chooser and w.case.public_id in chooser
    missing = w.sending.post("/referrals/new", data=_form(w, case=""))
    assert missing.status_code == 422 and "의뢰할 사례를 고르세요" in _text(missing)
    direct = _text(w.sending.get(f"/referrals/new?client={w.client.public_id}"))
    assert 'name="tenant"' in direct and w.receiver.code in direct and w.sender.code not in direct
    public_id = _sent(w, case=None, resource=None, client=w.client.public_id, tenant=w.receiver.code,
                      requested_service="기관 직접 의뢰", shared_fields=["name"])
    [referral] = _referrals(w)
    assert referral.public_id == public_id and referral.receiver_tenant_id == w.receiver.id
    assert referral.resource_id is None and referral.case_id is None


def test_the_case_and_resource_finder_lead_to_a_referral(world):
    w = world
    matches = _text(w.sending.get(f"/resources/for-case/{w.case.public_id}"))
    assert f"/referrals/new?case={w.case.public_id}&resource={w.resource.public_id}" in matches
    public_id = _sent(w)
    case_page = _text(w.sending.get(f"/cases/{w.case.public_id}"))
    assert f'hx-get="/referrals/for-case/{w.case.public_id}" hx-trigger="load"' in case_page
    assert "서비스 의뢰하기" in case_page
    section = w.sending.get(f"/referrals/for-case/{w.case.public_id}",
                            headers={"HX-Request": "true", "HX-Target": "case-referrals"})
    assert _text(section).lstrip().startswith('<section class="case-referrals" id="case-referrals"')
    assert f"/referrals/{public_id}" in _text(section) and "보냄 (응답 대기)" in _text(section)
    assert "<html" in _text(w.sending.get(f"/referrals/for-case/{w.case.public_id}"))  # without JavaScript
    assert w.receiving.get(f"/referrals/for-case/{w.case.public_id}").status_code == 404  # not on the case team
    w.receiving.post(f"/referrals/{public_id}/accept")
    timeline = _text(w.sending.get(f"/cases/{w.case.public_id}/timeline"))
    assert "긴급 식품 지원 → 나눔푸드뱅크" in timeline and "수락" in timeline
    client_page = _text(w.sending.get(f"/clients/{w.client.public_id}"))
    assert 'id="client-referrals"' in client_page and f"/referrals/{public_id}" in client_page


# -- what the receiver sees ----------------------------------------------------------------------------

def test_the_receiver_sees_only_the_frozen_data_and_lists_show_an_initial(app, world):
    w = world
    public_id = _sent(w, shared_fields=["name", "age"])
    with w.make.as_tenant(w.sender) as session:
        session.get(Client, w.client.id).name = "김순자개명"
    inbox = _text(w.receiving.get("/referrals"))
    assert "김○○" in inbox and "김순자" not in inbox and "한림읍 맞춤형복지팀" in inbox
    page = _text(w.receiving.get(f"/referrals/{public_id}"))
    assert "김순자" in page and "김순자개명" not in page
    for never in ("010-9876-5432", "제주시 비밀로 12", w.client.public_id, "경제"):
        assert never not in page
    outbox = _text(w.sending.get("/referrals?box=outbox"))
    assert "김순자개명" in outbox  # the sender sees its own client's name
    with app.app_context(), acting_as(w.sender.id, None):
        views = db.session.scalars(select(AccessLogEntry).where(AccessLogEntry.client_id == w.client.id,
                                                                AccessLogEntry.user_id == w.coordinator.id)).all()
        assert [(v.action.value, v.what) for v in views] == [("view", "referral")]


def test_withdrawn_consent_hides_the_client_data_and_the_senders_files(app, world):
    w = world
    public_id = _sent(w, file=(io.BytesIO(PDF), "소득증빙.pdf"))
    with app.app_context(), acting_as(w.sender.id, w.planner.id):
        from hanaro.clients import service as clients

        clients.withdraw_consent(db.session.get(Consent, w.consent.id), "본인 요청", _Actor(w.planner.id))
        db.session.commit()
    page = _text(w.receiving.get(f"/referrals/{public_id}"))
    assert "정보제공 동의가 철회되었거나 만료되어 대상자 정보를 볼 수 없습니다." in page
    assert "김순자" not in page and "소득증빙.pdf" in page
    assert "(비공개)" in _text(w.receiving.get("/referrals"))
    file_id = re.search(r'/files/([^"]+)"', _text(w.sending.get(f"/referrals/{public_id}"))).group(1)
    assert w.receiving.get(f"/referrals/{public_id}/files/{file_id}").status_code == 404
    assert w.sending.get(f"/referrals/{public_id}/files/{file_id}").status_code == 200


def test_withdrawn_consent_hides_the_senders_reason_notes_and_messages_from_the_receiver(app, world):
    w = world
    public_id = _sent(w, reason="치매 초기로 혼자 장보기가 어렵습니다.")
    assert w.sending.post(f"/referrals/{public_id}/messages",
                          data={"body": "공동현관 비밀번호는 1234입니다.", "submission_token": "wm1"}).status_code == 303
    assert w.receiving.post(f"/referrals/{public_id}/messages",
                            data={"body": "수요일 오후에 방문하겠습니다.", "submission_token": "wm2"}).status_code == 303
    with app.app_context(), acting_as(w.sender.id, w.planner.id):
        from hanaro.clients import service as clients

        clients.withdraw_consent(db.session.get(Consent, w.consent.id), "본인 요청", _Actor(w.planner.id))
        db.session.commit()
    assert w.sending.post(f"/referrals/{public_id}/withdraw", data={"note": "요양병원 입원으로 철회"}).status_code == 303
    withheld = "대상자의 정보제공 동의가 철회되었거나 만료되어 내용을 볼 수 없습니다."
    page = _text(w.receiving.get(f"/referrals/{public_id}"))
    for words in ("치매 초기로 혼자 장보기가 어렵습니다.", "공동현관 비밀번호는 1234입니다.", "요양병원 입원으로 철회"):
        assert words not in page
    assert page.count(withheld) >= 4  # reason, withdrawal reason, its history note, the message
    assert "수요일 오후에 방문하겠습니다." in page  # the receiver's own words stay its own
    thread = _text(w.receiving.get(f"/referrals/{public_id}", headers={"HX-Request": "true", "HX-Target": "messages"}))
    assert "공동현관 비밀번호는 1234입니다." not in thread and withheld in thread
    mine = _text(w.sending.get(f"/referrals/{public_id}"))
    assert withheld not in mine
    for words in ("치매 초기로 혼자 장보기가 어렵습니다.", "공동현관 비밀번호는 1234입니다.", "요양병원 입원으로 철회",
                  "수요일 오후에 방문하겠습니다."):
        assert words in mine


# -- answers ---------------------------------------------------------------------------------------------

def test_the_receiver_answers_step_by_step_and_the_sender_sees_each_change(world):
    w = world
    public_id = _sent(w)
    page = _text(w.receiving.get(f"/referrals/{public_id}"))
    assert 'id="action-accept"' in page and 'id="action-decline"' in page and 'id="action-withdraw"' not in page
    assert w.receiving.post(f"/referrals/{public_id}/waitlist", data={"note": "다음 주 배분"}).status_code == 303
    assert "다음 주 배분" in _text(w.sending.get(f"/referrals/{public_id}"))
    assert w.receiving.post(f"/referrals/{public_id}/accept").status_code == 303
    assert w.receiving.post(f"/referrals/{public_id}/start").status_code == 303
    missing = w.receiving.post(f"/referrals/{public_id}/complete", data={"note": ""})
    assert missing.status_code == 422 and "결과를 입력하세요" in _text(missing)
    assert _state(w, public_id) is State.IN_PROGRESS
    assert w.receiving.post(f"/referrals/{public_id}/complete", data={"note": "식료품 꾸러미 2회 전달"}).status_code == 303
    seen = _text(w.sending.get(f"/referrals/{public_id}"))
    assert "완료" in seen and "식료품 꾸러미 2회 전달" in seen and 'id="action-' not in seen
    assert _events(w, public_id) == ["send", "waitlist", "accept", "start", "complete"]
    history = seen.split('id="referral-events"')[1]
    assert "이코디" in history and "나눔푸드뱅크" in history and "대기 등록 → 수락" in history


@pytest.mark.parametrize("side,action", [
    ("sender", "accept"), ("sender", "waitlist"), ("sender", "decline"), ("sender", "start"),
    ("sender", "complete"), ("sender", "not_complete"), ("receiver", "withdraw"), ("receiver", "send"),
    ("receiver", "reroute"),
])
def test_the_wrong_side_is_refused_with_a_reason_and_nothing_changes(world, side, action):
    w = world
    public_id = _sent(w)
    browser = w.sending if side == "sender" else w.receiving
    response = browser.post(f"/referrals/{public_id}/{action}",
                            data={"note": "잘못된 쪽", "decline_reason": "capacity", "reason": "x",
                                  "requested_service": "x", "shared_fields": ["name"], "tenant": w.stranger.code})
    assert response.status_code == 403
    assert ("의뢰를 받은 기관만 할 수 있습니다." if side == "sender" else "의뢰한 기관만 할 수 있습니다.") in _text(response)
    assert _state(w, public_id) is State.SENT and _events(w, public_id) == ["send"]
    assert len(_referrals(w)) == 1


def test_declining_needs_a_reason_from_the_list(world):
    w = world
    public_id = _sent(w)
    none = w.receiving.post(f"/referrals/{public_id}/decline", data={"note": "자리가 없습니다"})
    assert none.status_code == 422 and "거절 사유를 목록에서 고르세요." in _text(none)
    assert "자리가 없습니다" in _text(none)  # what was typed stays
    bogus = w.receiving.post(f"/referrals/{public_id}/decline", data={"decline_reason": "bored"})
    assert bogus.status_code == 422
    other = w.receiving.post(f"/referrals/{public_id}/decline", data={"decline_reason": "other"})
    assert other.status_code == 422 and "'기타'를 고르면 사유를 적어 주세요." in _text(other)
    assert _state(w, public_id) is State.SENT
    assert w.receiving.post(f"/referrals/{public_id}/decline",
                            data={"decline_reason": "capacity", "note": "이번 달 정원이 찼습니다"}).status_code == 303
    seen = _text(w.sending.get(f"/referrals/{public_id}"))
    assert "정원 초과" in seen and "이번 달 정원이 찼습니다" in seen and 'id="reroute"' in seen


def test_a_double_click_or_a_colleagues_answer_is_refused_cleanly(world):
    w = world
    public_id = _sent(w)
    assert w.receiving.post(f"/referrals/{public_id}/accept").status_code == 303
    again = w.receiving.post(f"/referrals/{public_id}/accept")
    assert again.status_code == 409 and "지금 상태(수락)에서는 '수락'을(를) 할 수 없습니다." in _text(again)
    assert 'id="referral-state"' in _text(again) and "상태: 수락" in _text(again)
    late = w.receiving.post(f"/referrals/{public_id}/decline", data={"decline_reason": "capacity"})
    assert late.status_code == 409 and _state(w, public_id) is State.ACCEPTED
    assert _events(w, public_id) == ["send", "accept"]


def test_a_concurrent_change_between_loading_and_saving_is_a_clean_refusal(world, monkeypatch):
    """Someone else's answer lands after this request loaded the referral: the version check refuses."""
    from hanaro.referrals import service

    w = world
    public_id = _sent(w)
    real = service.get_referral_or_404
    calls = []

    def load_then_someone_else_answers(pid):
        referral = real(pid)
        if not calls:
            calls.append(pid)
            db.session.execute(update(Referral).where(Referral.id == referral.id)
                               .values(version=Referral.version + 1).execution_options(synchronize_session=False))
        return referral

    monkeypatch.setattr(service, "get_referral_or_404", load_then_someone_else_answers)
    response = w.receiving.post(f"/referrals/{public_id}/accept")
    assert response.status_code in (409, 422)
    assert "다른 사람이 방금 이 의뢰를 처리했습니다" in _text(response)
    assert _events(w, public_id) == ["send"]


def test_the_sender_withdraws_with_a_reason(world):
    w = world
    public_id = _sent(w)
    assert w.sending.post(f"/referrals/{public_id}/withdraw", data={"note": ""}).status_code == 422
    assert w.sending.post(f"/referrals/{public_id}/withdraw", data={"note": "대상자가 이사했습니다"}).status_code == 303
    assert _state(w, public_id) is State.WITHDRAWN
    assert "대상자가 이사했습니다" in _text(w.receiving.get(f"/referrals/{public_id}"))


def test_a_declined_referral_is_rerouted_to_a_new_linked_draft(app, world):
    w = world
    public_id = _sent(w)
    w.receiving.post(f"/referrals/{public_id}/decline", data={"decline_reason": "out_of_area"})
    elsewhere = w.make.tenant(name="다른푸드뱅크", kind=TenantKind.NGO)
    nothing = w.sending.post(f"/referrals/{public_id}/reroute", data={"submission_token": "r1"})
    assert nothing.status_code == 422 and "의뢰할 자원이나 기관을 고르세요" in _text(nothing)
    response = w.sending.post(f"/referrals/{public_id}/reroute", data={"tenant": elsewhere.code, "submission_token": "r2"})
    new_id = _public_id(response)
    draft = _text(w.sending.get(f"/referrals/{new_id}"))
    assert "다시 의뢰한 원래 의뢰" in draft and f"/referrals/{public_id}" in draft
    assert "식료품이 떨어져" in draft and "다른푸드뱅크" in draft and "의뢰 고치기와 보내기" in draft
    assert f"/referrals/{new_id}" in _text(w.sending.get(f"/referrals/{public_id}"))
    states = {r.public_id: (r.state, r.rerouted_from_id) for r in _referrals(w)}
    old_id = next(r.id for r in _referrals(w) if r.public_id == public_id)
    assert states[new_id] == (State.DRAFT, old_id)
    # Through the resource finder: the new referral form carries the link too.
    other_resource = w.make.resource(elsewhere, name="다른 식품 지원", scope="platform", need_domains=["economy"])
    finder = _text(w.sending.get(f"/resources/for-case/{w.case.public_id}?reroute={public_id}"))
    assert f"reroute={public_id}" in finder
    form = _text(w.sending.get(f"/referrals/new?case={w.case.public_id}&resource={other_resource.public_id}"
                               f"&reroute={public_id}"))
    assert "다른 곳으로 다시 의뢰" in form and f'name="reroute" value="{public_id}"' in form
    third = _sent(w, resource=other_resource.public_id, reroute=public_id, requested_service="다른 식품 지원",
                  intent="draft")
    assert next(r for r in _referrals(w) if r.public_id == third).rerouted_from_id == old_id


# -- messages and files ---------------------------------------------------------------------------------

def test_messages_go_both_ways_and_htmx_gets_the_thread_back(world):
    w = world
    public_id = _sent(w)
    assert w.sending.post(f"/referrals/{public_id}/messages",
                          data={"body": "언제 방문하면 될까요?", "submission_token": "m1"}).status_code == 303
    reply = w.receiving.post(f"/referrals/{public_id}/messages", data={"body": "월요일 오전에 오세요.", "submission_token": "m2"},
                             headers={"HX-Request": "true", "HX-Target": "messages"})
    html = _text(reply)
    assert reply.status_code == 200 and 'id="message-status"' in html and "메시지를 보냈습니다." in html
    assert html.split('hx-swap-oob="true">')[1].split("</p>", 1)[1].lstrip().startswith('<section id="messages"')
    assert "언제 방문하면 될까요?" in html and "월요일 오전에 오세요." in html and "<html" not in html
    assert 'value="m2"' not in html  # a fresh token for the next message
    again = w.receiving.post(f"/referrals/{public_id}/messages", data={"body": "월요일 오전에 오세요.", "submission_token": "m2"},
                             headers={"HX-Request": "true", "HX-Target": "messages"})
    assert _text(again).count("월요일 오전에 오세요.") == 1  # a double submit posts once
    empty = w.receiving.post(f"/referrals/{public_id}/messages", data={"body": " ", "submission_token": "m3"},
                             headers={"HX-Request": "true", "HX-Target": "messages"})
    assert empty.status_code == 422 and 'id="message-body-error"' in _text(empty) and "autofocus" in _text(empty)
    sender_page = _text(w.sending.get(f"/referrals/{public_id}"))
    assert "월요일 오전에 오세요." in sender_page and "이코디" in sender_page
    with w.app.app_context(), acting_as(w.sender.id, None):
        assert db.session.scalar(select(func.count()).select_from(ReferralMessage)) == 2


def test_files_are_checked_and_downloaded_only_by_the_two_sides(app, world):
    w = world
    public_id = _sent(w)
    bad = w.receiving.post(f"/referrals/{public_id}/files", data={"file": (io.BytesIO(b"MZ\x90\x00"), "악성.exe")},
                           content_type="multipart/form-data")
    assert bad.status_code == 422 and "PDF, JPG, PNG, 한글(HWP), 한글(HWPX), 워드(DOCX), 엑셀(XLSX) 파일만 올릴 수 있습니다." in _text(bad) and 'id="file-error"' in _text(bad)
    fake = w.receiving.post(f"/referrals/{public_id}/files",
                            data={"file": (io.BytesIO(b"<html><script>x()</script></html>"), "가짜.pdf", "application/pdf")},
                            content_type="multipart/form-data")
    assert fake.status_code == 422 and "파일 내용이 확장자와 맞지 않습니다." in _text(fake) and 'id="file-error"' in _text(fake)
    big = w.receiving.post(f"/referrals/{public_id}/files",
                           data={"file": (io.BytesIO(b"%PDF" + b"0" * (5 * 1024 * 1024)), "큰.pdf")},
                           content_type="multipart/form-data")
    assert big.status_code == 422 and "5MB 이하" in _text(big)
    none = w.receiving.post(f"/referrals/{public_id}/files", data={}, content_type="multipart/form-data")
    assert none.status_code == 422 and "첨부할 파일을 고르세요" in _text(none)
    ok = w.receiving.post(f"/referrals/{public_id}/files",
                          data={"file": (io.BytesIO(PDF), "이용 안내(최종).pdf"), "submission_token": "f1"},
                          content_type="multipart/form-data")
    assert ok.status_code == 303, _errors_in(ok)
    page = _text(w.sending.get(f"/referrals/{public_id}"))
    file_id = re.search(r'/referrals/[^/]+/files/([^"]+)"', page).group(1)
    for browser in (w.sending, w.receiving):
        download = browser.get(f"/referrals/{public_id}/files/{file_id}")
        assert download.status_code == 200 and download.data == PDF
        assert download.headers["Content-Type"] == "application/pdf"
        assert download.headers["X-Content-Type-Options"] == "nosniff"
        disposition = download.headers["Content-Disposition"]
        assert disposition.startswith('attachment; filename="') and "filename*=UTF-8''" in disposition
        assert "%EC%9D%B4%EC%9A%A9" in disposition  # 이용, percent-encoded UTF-8
    stranger = _browser(app, w.outsider)
    assert stranger.get(f"/referrals/{public_id}/files/{file_id}").status_code == 404
    with app.app_context(), acting_as(w.sender.id, None):
        assert db.session.scalar(select(func.count()).select_from(ReferralAttachment)) == 1


def test_the_download_name_is_safe_in_both_forms():
    from hanaro.referrals.views import content_disposition

    header = content_disposition('이용 "안내";\\최종.pdf')
    fallback = re.search(r'filename="([^"]*)"', header).group(1)
    assert header.startswith("attachment; ") and fallback.endswith(".pdf") and fallback.isascii()
    assert not set(fallback) & set('"\\;') and "%22" in header and "%3B" in header


# -- inbox and outbox -------------------------------------------------------------------------------------

def _overdue(w, public_id):
    with w.app.app_context(), acting_as(w.sender.id, None):
        db.session.execute(update(Referral).where(Referral.public_id == public_id)
                           .values(response_due_on=clock.today() - timedelta(days=2)))
        db.session.commit()


def test_the_outbox_counts_filters_and_highlights_overdue_referrals(world):
    w = world
    late = _sent(w, requested_service="늦은 의뢰")
    accepted = _sent(w, requested_service="수락된 의뢰", confirm_duplicate="1")
    w.receiving.post(f"/referrals/{accepted}/accept")
    _sent(w, requested_service="임시 의뢰", intent="draft")
    _overdue(w, late)
    outbox = _text(w.sending.get("/referrals?box=outbox"))
    assert "전체<span class=\"referral-filters__count\">\xa03건" in outbox
    assert "진행 중<span class=\"referral-filters__count\">\xa03건" in outbox
    assert "기한 지남<span class=\"referral-filters__count\">\xa01건" in outbox
    assert outbox.count("referral-row--overdue") == 1 and "늦은 의뢰" in outbox
    only_open_accepted = _text(w.sending.get("/referrals?box=outbox&state=accepted"))
    assert "수락된 의뢰" in only_open_accepted and "늦은 의뢰" not in only_open_accepted
    overdue = _text(w.sending.get("/referrals?box=outbox&overdue=1"))
    assert "늦은 의뢰" in overdue and "수락된 의뢰" not in overdue and "임시 의뢰" not in overdue
    inbox = _text(w.receiving.get("/referrals"))
    assert "응답 대기 1건" in inbox and "임시 의뢰" not in inbox and "기한 지남" in inbox
    empty = _text(w.receiving.get("/referrals?state=completed"))
    assert "조건에 맞는 의뢰가 없습니다." in empty
    assert w.sending.get("/referrals?box=nonsense&state=bogus").status_code == 200  # bad filters are dropped


def test_the_list_swaps_in_place_with_htmx_and_boosted_links_get_whole_pages(world):
    w = world
    _sent(w)
    fragment = w.sending.get("/referrals?box=outbox&state=sent",
                             headers={"HX-Request": "true", "HX-Target": "referral-list"})
    html = _text(fragment)
    assert html.lstrip().startswith('<div id="referral-list"') and "<html" not in html and "긴급 식품 지원" in html
    assert 'hx-push-url="true"' in html
    assert "HX-Request" in fragment.headers.get("Vary", "")
    boosted = w.sending.get("/referrals?box=outbox", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in _text(boosted)
    public_id = _referrals(w)[0].public_id
    page = w.sending.get(f"/referrals/{public_id}", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in _text(page)


def test_empty_lists_say_so_in_korean_and_the_menu_has_referrals(world, signed_in):
    w = world
    browser, _user, _tenant = signed_in("referral_coordinator")
    inbox = _text(browser.get("/referrals"))
    assert "받은 의뢰가 없습니다." in inbox and 'href="/referrals"' in inbox and "서비스의뢰" in inbox
    assert "보낸 의뢰가 없습니다." in _text(browser.get("/referrals?box=outbox"))


def test_another_tenant_cannot_start_a_referral_from_our_case_or_see_our_lists(app, world):
    w = world
    public_id = _sent(w)
    stranger = _browser(app, w.outsider)
    assert stranger.get(f"/referrals/new?case={w.case.public_id}").status_code == 404
    assert stranger.get(f"/referrals/new?client={w.client.public_id}").status_code == 404
    assert stranger.post("/referrals/new", data=_form(w)).status_code == 404
    assert stranger.get(f"/referrals/new?reroute={public_id}").status_code == 404
    for path in ("/referrals", "/referrals?box=outbox"):
        listing = _text(stranger.get(path))
        assert "긴급 식품 지원" not in listing and "김" not in listing.split('id="referral-list"')[1]
    assert len(_referrals(w)) == 1


def test_a_refused_answer_opens_at_its_own_form_with_the_reason_announced(world):
    w = world
    public_id = _sent(w)
    page = _text(w.receiving.get(f"/referrals/{public_id}"))
    assert f'action="/referrals/{public_id}/decline#action-decline"' in page
    refused = w.receiving.post(f"/referrals/{public_id}/decline", data={"note": "자리가 없습니다"})
    assert refused.status_code == 422
    card = _text(refused).split('id="action-decline"', 1)[1].split("</form>", 1)[0]
    assert 'role="alert"' in card and "처리하지 못했습니다" in card
    assert "거절 사유를 목록에서 고르세요." in card and "자리가 없습니다" in card
    assert 'id="form-error"' not in _text(refused)  # explained once, where the user is


def test_a_referral_from_a_closed_case_is_refused_with_the_reason(world):
    from hanaro.cases import service as cases

    w = world
    with w.app.app_context(), acting_as(w.sender.id, w.planner.id):
        cases.close_case(db.session.get(Case, w.case.id), "goal_achieved", "자립 기반 마련", _Actor(w.planner.id))
        db.session.commit()
    refused = _new(w)
    assert refused.status_code == 422 and "종결된 사례에서는 의뢰할 수 없습니다." in _text(refused)
    assert "식료품이 떨어져 긴급 지원이 필요합니다." in _text(refused)  # what was typed stays
    assert _referrals(w) == []


def test_the_consent_card_names_the_organisations_it_lists(world):
    w = world
    page = _text(w.sending.get(f"/clients/{w.client.public_id}"))
    card = page.split(f'id="consent-{w.consent.public_id}"', 1)[1].split("</li>", 1)[0]
    assert "제공받는 기관" in card and "나눔푸드뱅크" in card and "무관복지관" not in card
