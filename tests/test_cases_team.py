"""The case team: invitations backed by consent, answers, leaving, removal, consent withdrawal,
and what a collaborator sees."""
from __future__ import annotations

import html
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from hanaro.audit.models import AccessLogEntry
from hanaro.cases import service as cases
from hanaro.cases.models import Case, CaseMember, MemberStatus
from hanaro.clients import service as clients
from hanaro.clients.models import ClientAccessGrant, Consent, GrantStatus
from hanaro.core.db import db
from hanaro.core.rules import RuleViolation
from hanaro.notifications.models import Notification
from hanaro.tenancy.context import acting_as
from hanaro.tenancy.models import Tenant


@pytest.fixture
def world(make):
    return make.case_world()


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def notifications_of(make, tenant) -> list[Notification]:
    with make.as_tenant(tenant) as session:
        return session.scalars(select(Notification).order_by(Notification.id)).all()


def members_of(make, world) -> list[CaseMember]:
    with make.as_tenant(world.lead) as session:
        return session.scalars(select(CaseMember).where(CaseMember.case_id == world.case.id)).all()


def grants_of(make, world) -> list[ClientAccessGrant]:
    with make.as_tenant(world.lead) as session:
        return session.scalars(select(ClientAccessGrant).where(ClientAccessGrant.case_id == world.case.id)).all()


def invite(browser, world, tenant=None, token="invite-1", **extra):
    return browser.post(f"/cases/{world.case.public_id}/members",
                        data={"tenant": (tenant or world.partner).code, "submission_token": token, **extra})


# -- inviting ----------------------------------------------------------------------------------------------

def test_inviting_without_a_covering_consent_is_refused_next_to_the_field(make):
    world = make.case_world()
    with make.as_tenant(world.lead) as session:  # the only consent names another tenant
        consent = session.get(Consent, world.consent.id)
        consent.scope, consent.tenant_ids = "tenants", [world.outsider.id]
    browser = world.signed_in(world.lead_worker)
    response = invite(browser, world, message="함께 봐 주세요")
    page = text(response)
    assert response.status_code == 422
    assert 'id="tenant-error">이 기관과 대상자 정보를 공유할 수 있는 유효한 정보제공 동의(통합사례관리 협업)가 없습니다.' in page
    assert f'<option value="{world.partner.code}" selected>' in page and "함께 봐 주세요" in page
    assert members_of(make, world) == [] and grants_of(make, world) == []
    assert notifications_of(make, world.partner) == []


@pytest.mark.parametrize("problem", ["withdrawn", "expired", "other_purpose", "not_yet"])
def test_only_a_valid_consent_for_case_collaboration_covers_an_invitation(app, make, problem):
    world = make.case_world()
    with make.as_tenant(world.lead) as session:
        consent = session.get(Consent, world.consent.id)
        if problem == "withdrawn":
            from hanaro.core.db import utcnow
            consent.withdrawn_at = utcnow()
        elif problem == "expired":
            consent.granted_on, consent.expires_on = date(2020, 1, 1), date(2021, 1, 1)
        elif problem == "other_purpose":
            consent.purposes = ["referral"]
        else:
            consent.granted_on = date.today() + timedelta(days=30)
    with app.app_context(), acting_as(world.lead.id, world.lead_worker.id):
        case = db.session.get(Case, world.case.id)
        with pytest.raises(RuleViolation, match="유효한 정보제공 동의"):
            cases.invite(case, db.session.get(Tenant, world.partner.id), None, None, world.lead_worker)


def test_an_invitation_waits_for_an_answer_and_shares_nothing_yet(make, world):
    lead = world.signed_in(world.lead_worker)
    response = invite(lead, world, worker_name="박동주민", message="주거 지원을 함께 해요")
    assert response.status_code == 303
    [member] = members_of(make, world)
    assert (member.status, member.consent_id, member.invited_worker_name) == (MemberStatus.INVITED, world.consent.id, "박동주민")
    [grant] = grants_of(make, world)
    assert (grant.grantee_tenant_id, grant.status) == (world.partner.id, GrantStatus.PENDING)
    [note] = notifications_of(make, world.partner)
    assert note.title == "사례관리 협업 초대가 도착했습니다." and note.link == f"/cases/invitations/{member.public_id}"
    assert "김하나" not in note.title + (note.body or "")  # no personal data in notifications

    partner = world.signed_in(world.partner_worker)
    inbox = text(partner.get("/cases?scope=shared"))
    assert "초대 1건" in inbox and "한라종합사회복지관" in inbox
    invitation = text(partner.get(f"/cases/invitations/{member.public_id}"))
    assert "주거 지원을 함께 해요" in invitation and "김하나" not in invitation
    # Until it accepts, the partner sees neither the case nor the client.
    assert partner.get(f"/cases/{world.case.public_id}").status_code == 404
    assert partner.get(f"/clients/{world.person.public_id}").status_code == 404
    # The lead sees the pending member on the team and on the timeline.
    overview = text(lead.get(f"/cases/{world.case.public_id}"))
    assert "초대됨" in overview and "박동주민 (초대 시 지정)" in overview
    assert "팀 초대" in text(lead.get(f"/cases/{world.case.public_id}/timeline"))


def test_a_double_submitted_invitation_invites_once_and_a_second_invitation_is_refused(make, world):
    lead = world.signed_in(world.lead_worker)
    assert invite(lead, world, token="same").status_code == 303
    assert invite(lead, world, token="same").status_code == 303
    assert len(members_of(make, world)) == 1
    response = invite(lead, world, token="another")
    assert response.status_code == 422 and "이미 팀에 참여 중이거나 초대한 기관입니다." in text(response)


def test_the_lead_cannot_invite_itself(world):
    response = invite(world.signed_in(world.lead_worker), world, tenant=world.lead)
    assert response.status_code == 422 and "우리 기관은 초대할 수 없습니다" in text(response)


# -- answering ----------------------------------------------------------------------------------------------

def test_accepting_shares_the_case_and_the_client_within_the_consent(make, world):
    member = world.join_partner(accept=False)
    partner = world.signed_in(world.partner_worker)
    refused = partner.post(f"/cases/invitations/{member.public_id}/accept", data={"worker": world.lead_worker.public_id})
    assert refused.status_code == 422
    assert 'id="worker-error">우리 기관의 사례관리자 중에서 고르세요.' in text(refused)

    response = partner.post(f"/cases/invitations/{member.public_id}/accept",
                            data={"worker": world.partner_worker.public_id, "note": "담당 배정했습니다"})
    assert response.status_code == 303 and response.headers["Location"] == f"/cases/{world.case.public_id}"
    page = text(partner.get(f"/cases/{world.case.public_id}"))
    assert "김하나" in page and "500517-2******" in page and "500517-2000004" not in page
    assert "공유받은 사례 · 주관: 한라종합사회복지관" in page
    assert partner.get(f"/clients/{world.person.public_id}").status_code == 200
    assert [g.status for g in grants_of(make, world)] == [GrantStatus.ACTIVE]
    assert "사례관리 협업 초대가 수락되었습니다." in [n.title for n in notifications_of(make, world.lead)]
    assert "초대 수락" in text(partner.get(f"/cases/{world.case.public_id}/timeline"))
    # Answered once: a second answer is refused.
    again = partner.post(f"/cases/invitations/{member.public_id}/decline", data={"note": "다시 생각해 보니"})
    assert again.status_code == 422 and "이미 답한 초대입니다." in text(again)
    assert members_of(make, world)[0].status is MemberStatus.ACCEPTED


def test_declining_needs_a_note_and_the_lead_sees_it(make, world):
    member = world.join_partner(accept=False)
    partner = world.signed_in(world.partner_worker)
    response = partner.post(f"/cases/invitations/{member.public_id}/decline", data={"note": ""})
    assert response.status_code == 422 and 'id="decline-note-error">필수 입력 항목입니다.' in text(response)
    response = partner.post(f"/cases/invitations/{member.public_id}/decline", data={"note": "관할 지역이 아닙니다"})
    assert response.status_code == 303
    assert members_of(make, world)[0].status is MemberStatus.DECLINED
    assert [g.status for g in grants_of(make, world)] == [GrantStatus.REVOKED]
    assert partner.get(f"/cases/{world.case.public_id}").status_code == 404
    assert "초대 0건" not in text(partner.get("/cases?scope=shared")) and "답하지 않은 초대가 없습니다." in text(partner.get("/cases?scope=shared"))
    lead = world.signed_in(world.lead_worker)
    timeline = text(lead.get(f"/cases/{world.case.public_id}/timeline"))
    assert "초대 거절" in timeline and "관할 지역이 아닙니다" in timeline
    assert "사례관리 협업 초대가 거절되었습니다." in [n.title for n in notifications_of(make, world.lead)]


# -- leaving and removal -----------------------------------------------------------------------------------------

def test_a_collaborator_leaves_and_loses_access_at_once(make, world):
    world.join_partner()
    partner = world.signed_in(world.partner_worker)
    response = partner.post(f"/cases/{world.case.public_id}/leave")
    assert response.status_code == 303
    assert partner.get(f"/cases/{world.case.public_id}").status_code == 404
    assert partner.get(f"/clients/{world.person.public_id}").status_code == 404
    assert members_of(make, world)[0].status is MemberStatus.LEFT
    lead = world.signed_in(world.lead_worker)
    assert "팀 탈퇴" in text(lead.get(f"/cases/{world.case.public_id}/timeline"))
    assert "협업 기관이 사례 팀에서 나갔습니다." in [n.title for n in notifications_of(make, world.lead)]
    # The lead has no membership to leave.
    assert lead.post(f"/cases/{world.case.public_id}/leave").status_code == 404


def test_the_lead_removes_a_member(make, world):
    member = world.join_partner()
    lead = world.signed_in(world.lead_worker)
    assert lead.post(f"/cases/members/{member.public_id}/remove").status_code == 303
    partner = world.signed_in(world.partner_worker)
    assert partner.get(f"/cases/{world.case.public_id}").status_code == 404
    assert partner.get(f"/clients/{world.person.public_id}").status_code == 404
    assert [g.status for g in grants_of(make, world)] == [GrantStatus.REVOKED]
    assert "사례 팀에서 제외되었습니다." in [n.title for n in notifications_of(make, world.partner)]
    assert "팀에서 제외" in text(lead.get(f"/cases/{world.case.public_id}/timeline"))
    # Removing twice is refused with a reason.
    lead.post(f"/cases/members/{member.public_id}/remove")
    assert "이미 팀에서 나간 기관입니다." in text(lead.get(f"/cases/{world.case.public_id}"))


def test_a_collaborator_cannot_do_what_only_the_lead_does(make, world):
    member = world.join_partner()
    partner = world.signed_in(world.partner_worker)
    url = f"/cases/{world.case.public_id}"
    for path, data in [
        ("/status", {"status": "assessment"}),
        ("/close", {"closure_reason": "other", "closure_evaluation": "몰래 종결"}),
        ("/reopen", {"status": "intake", "reason": "몰래"}),
        ("/details", {"risk_level": "low", "lead_worker": world.partner_worker.public_id}),
        ("/members", {"tenant": world.outsider.code}),
        ("/assessment", {"assessed_on": date.today().isoformat()}),
        ("/goals", {"domain": "economy", "goal": "몰래 목표"}),
        ("/services", {"goal": "x", "description": "몰래"}),
        ("/conferences", {"held_on": date.today().isoformat(), "attendees": "나", "agenda": "몰래"}),
    ]:
        assert partner.post(url + path, data=data).status_code == 404, path
    assert partner.post(f"/cases/members/{member.public_id}/remove").status_code == 404
    with make.as_tenant(world.lead) as session:
        case = session.get(Case, world.case.id)
        assert (case.status.value, case.risk_level.value) == ("intake", "medium")
    assert members_of(make, world)[0].status is MemberStatus.ACCEPTED
    page = text(partner.get(url))
    assert "사례 종결" not in page and "초대 보내기" not in page and "사례 팀에서 나가기" in page


# -- what a collaborator sees ------------------------------------------------------------------------------------

def test_a_collaborator_sees_team_notes_but_not_the_leads_internal_ones(make, world):
    world.join_partner()
    lead, partner = world.signed_in(world.lead_worker), world.signed_in(world.partner_worker)
    url = f"/cases/{world.case.public_id}"
    lead.post(f"{url}/notes", data={"visibility": "internal", "body": "복지관 내부 판단", "submission_token": "1"})
    lead.post(f"{url}/notes", data={"visibility": "team", "body": "팀과 나눌 내용", "submission_token": "2"})
    partner.post(f"{url}/notes", data={"visibility": "internal", "body": "주민센터 내부 메모", "submission_token": "3"})
    partner.post(f"{url}/notes", data={"visibility": "team", "body": "방문 결과 공유", "submission_token": "4"})

    for path in ("/notes", "/timeline"):
        seen = text(partner.get(url + path))
        assert "팀과 나눌 내용" in seen and "방문 결과 공유" in seen and "주민센터 내부 메모" in seen
        assert "복지관 내부 판단" not in seen
        mine = text(lead.get(url + path))
        assert "복지관 내부 판단" in mine and "방문 결과 공유" in mine and "주민센터 내부 메모" not in mine
    integrated = text(partner.get(f"/cases/clients/{world.person.public_id}/integrated"))
    assert "팀과 나눌 내용" in integrated and "복지관 내부 판단" not in integrated


def test_a_collaborator_never_sees_the_resident_number_in_clear(make, world):
    world.join_partner()
    partner = world.signed_in(world.partner_worker)
    for path in (f"/cases/{world.case.public_id}", f"/cases/clients/{world.person.public_id}/integrated",
                 "/cases?scope=shared"):
        page = text(partner.get(path))
        assert "500517-2******" in page and "500517-2000004" not in page and "5005172000004" not in page


# -- consent withdrawal ------------------------------------------------------------------------------------------

def test_withdrawing_consent_cuts_the_collaborators_access_at_once_and_tells_it(app, make, world):
    world.join_partner()
    other = make.tenant(name="제주시 보건소")
    make.member(other, roles=["case_manager"])
    make.case_member(world.case, other, world.lead_worker)  # invited, not yet answered: it ends too
    partner = world.signed_in(world.partner_worker)
    assert partner.get(f"/cases/{world.case.public_id}").status_code == 200

    with app.app_context(), acting_as(world.lead.id, world.lead_worker.id):
        consent = db.session.get(Consent, world.consent.id)
        affected = clients.withdraw_consent(consent, "대상자 요청", world.lead_worker)
        db.session.commit()

    assert set(affected) == {world.partner.id, other.id}
    for path in (f"/cases/{world.case.public_id}", f"/cases/{world.case.public_id}/notes",
                 f"/clients/{world.person.public_id}", f"/cases/clients/{world.person.public_id}/integrated"):
        assert partner.get(path).status_code == 404, path
    assert world.case.public_id not in text(partner.get("/cases?scope=shared"))
    assert "대상자의 정보제공 동의가 철회되어 공유가 중단되었습니다." in [n.title for n in notifications_of(make, world.partner)]
    statuses = {m.member_tenant_id: m.status for m in members_of(make, world)}
    assert statuses == {world.partner.id: MemberStatus.REMOVED, other.id: MemberStatus.REMOVED}
    assert {g.status for g in grants_of(make, world)} == {GrantStatus.REVOKED}
    timeline = text(world.signed_in(world.lead_worker).get(f"/cases/{world.case.public_id}/timeline"))
    assert timeline.count("동의 철회로 팀에서 제외") == 2


def test_every_case_page_view_is_in_the_access_log(make, world):
    world.join_partner()
    partner = world.signed_in(world.partner_worker)
    for path in ("", "/assessment", "/plan", "/notes", "/conferences", "/timeline"):
        assert partner.get(f"/cases/{world.case.public_id}{path}").status_code == 200
    with make.as_tenant(world.partner) as session:
        entries = session.scalars(select(AccessLogEntry).where(AccessLogEntry.user_id == world.partner_worker.id)).all()
    assert [(e.what, e.action.value, e.client_id) for e in entries] == [("case", "view", world.person.id)] * 6
    # The client's own tenant sees who looked.
    with make.as_tenant(world.lead) as session:
        assert session.scalar(select(AccessLogEntry).where(AccessLogEntry.user_id == world.partner_worker.id)) is not None


# -- the agreement behind a case team (issue 13) ------------------------------------------------------

@pytest.mark.parametrize("agreement", ["none", "proposed", "case_only", "declined"])
def test_inviting_needs_an_accepted_agreement_covering_clients_and_cases(make, agreement):

    # The client's consent covers the partner either way; the agreement's terms never change once
    # signed, so each world starts with the agreement in question.
    world = make.case_world(**{
        "none": {"agreement_status": None}, "case_only": {"agreement_kinds": ("case",)},
    }.get(agreement, {"agreement_status": agreement}))
    browser = world.signed_in(world.lead_worker)
    response = invite(browser, world)
    assert response.status_code == 422
    assert 'id="tenant-error">이 기관과 맺은 유효한 협약 중 대상자와 사례를 함께 공유하는 협약이 없습니다.' in text(response)
    assert members_of(make, world) == [] and grants_of(make, world) == []
    assert notifications_of(make, world.partner) == []


def test_an_invitation_cannot_be_accepted_once_the_agreement_is_revoked(make):
    from hanaro.core.db import utcnow
    from hanaro.tenancy.models import SharingAgreement

    world = make.case_world()
    world.join_partner(accept=False)
    with make.as_tenant(world.lead) as session:
        row = session.get(SharingAgreement, world.agreement.id)
        row.status, row.revoked_at = "revoked", utcnow()
    with make.as_tenant(world.partner, world.partner_worker):
        member = db.session.get(CaseMember, world.member.id)
        with pytest.raises(RuleViolation, match="유효한 협약이 없어 참여할 수 없습니다"):
            cases.accept_invitation(member, world.partner_worker.public_id, None, world.partner_worker)
    assert [m.status for m in members_of(make, world)] == [MemberStatus.INVITED]
