"""Sharing agreements: proposed by one admin, in force only once the partner's admin accepts,
visible to both parties, revocable by either; every step notified to both and kept in the history."""
from __future__ import annotations

from sqlalchemy import select

from hanaro.core.db import db
from hanaro.tenancy.context import acting_as
from hanaro.tenancy.models import SharingAgreement

from .helpers import login

VALID = {"purpose": "통합사례관리 협업", "record_kinds": ["client", "case"], "valid_from": "2026-01-01",
         "valid_to": "2027-12-31"}


def _agreements(app, tenant):
    with app.app_context(), acting_as(tenant.id, None):
        return db.session.scalars(select(SharingAgreement)).all()


def test_admin_registers_an_agreement_the_partner_sees_it_an_outsider_does_not(app, client, make):
    mine, partner, outsider = make.tenant(name="한라복지관"), make.tenant(name="한림읍 행정복지센터"), make.tenant()
    login(client, make.member(mine, roles=["tenant_admin"]).email)
    response = client.post("/agreements", data={**VALID, "partner": partner.code, "submission_token": "tok-1"})
    assert response.status_code == 303
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "통합사례관리 협업" in detail and "수락 대기" in detail and "유효" not in detail

    partner_client = app.test_client()
    login(partner_client, make.member(partner, roles=["viewer"]).email)
    assert "한라복지관" in partner_client.get("/agreements").get_data(as_text=True)
    outsider_client = app.test_client()
    login(outsider_client, make.member(outsider, roles=["tenant_admin"]).email)
    assert "통합사례관리 협업" not in outsider_client.get("/agreements").get_data(as_text=True)


def test_a_double_submitted_agreement_is_created_once(app, client, make):
    mine, partner = make.tenant(), make.tenant()
    login(client, make.member(mine, roles=["tenant_admin"]).email)
    data = {**VALID, "partner": partner.code, "submission_token": "same-token"}
    first = client.post("/agreements", data=data)
    second = client.post("/agreements", data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert len(_agreements(app, mine)) == 1


def test_invalid_agreement_input_is_explained_next_to_fields_and_kept(client, make):
    mine = make.tenant()
    login(client, make.member(mine, roles=["tenant_admin"]).email)
    response = client.post("/agreements", data={"partner": "no-such-tenant", "purpose": "공유 목적",
                                                "valid_from": "2026-13-01"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="valid_from-error"' in page and "날짜를 YYYY-MM-DD 형식으로 입력하세요." in page
    assert 'id="record_kinds-error"' in page and "공유할 정보 종류를 하나 이상 고르세요." in page
    assert "공유 목적" in page


def test_an_end_before_the_start_and_an_agreement_with_oneself_are_refused(client, make):
    mine, partner = make.tenant(), make.tenant()
    login(client, make.member(mine, roles=["tenant_admin"]).email)
    backwards = client.post("/agreements", data={**VALID, "partner": partner.code, "valid_to": "2025-01-01"})
    assert backwards.status_code == 422 and "종료일은 시작일 이후여야 합니다." in backwards.get_data(as_text=True)
    selfish = client.post("/agreements", data={**VALID, "partner": mine.code})
    assert selfish.status_code == 422 and "자기 기관과는 협약을 맺을 수 없습니다." in selfish.get_data(as_text=True)


def test_the_partner_admin_revokes_with_a_reason_and_sharing_stops(app, client, make):
    owner, partner = make.tenant(), make.tenant()
    agreement = make.agreement(owner, partner, record_kinds=["case"])
    login(client, make.member(partner, roles=["tenant_admin"]).email)
    no_reason = client.post(f"/agreements/{agreement.public_id}/revoke", data={"reason": ""})
    assert no_reason.status_code == 422 and 'id="reason-error"' in no_reason.get_data(as_text=True)
    assert client.post(f"/agreements/{agreement.public_id}/revoke", data={"reason": "사업 종료"}).status_code == 303
    page = client.get(f"/agreements/{agreement.public_id}").get_data(as_text=True)
    assert "해지됨" in page and "사업 종료" in page
    again = client.post(f"/agreements/{agreement.public_id}/revoke", data={"reason": "두 번째"})
    assert again.status_code == 409 and "이미 해지된 협약입니다." in again.get_data(as_text=True)


def test_members_without_the_admin_role_see_agreements_but_cannot_change_them(client, make):
    owner, partner = make.tenant(), make.tenant()
    agreement = make.agreement(owner, partner)
    login(client, make.member(owner, roles=["case_manager"]).email)
    page = client.get("/agreements").get_data(as_text=True)
    assert "새 협약 제안" not in page
    assert client.post(f"/agreements/{agreement.public_id}/revoke", data={"reason": "권한 없음"}).status_code == 403
    assert client.post("/agreements", data={**VALID, "partner": partner.code}).status_code == 403


def test_empty_state_when_there_are_no_agreements(client, make):
    login(client, make.member(make.tenant(), roles=["tenant_admin"]).email)
    assert "아직 협약이 없습니다." in client.get("/agreements").get_data(as_text=True)


# -- two-sided consent (issue 13) --------------------------------------------------------------------

import html  # noqa: E402

import pytest  # noqa: E402
from sqlalchemy import text  # noqa: E402

from hanaro.notifications.models import Notification  # noqa: E402
from hanaro.resources.models import Resource  # noqa: E402


def _page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _signed_in(app, user):
    browser = app.test_client()
    assert login(browser, user.email).status_code == 303
    return browser


@pytest.fixture
def pair(app, make):
    """한라복지관 proposes a resource agreement to 한림읍 (pending); 한라 keeps a partners-scope
    resource; a third tenant stands by."""
    owner, partner, third = make.tenant(name="한라복지관"), make.tenant(name="한림읍 행정복지센터"), make.tenant(name="제3기관")
    people = {"owner_admin": make.member(owner, roles=["tenant_admin"], name="김제안"),
              "partner_admin": make.member(partner, roles=["tenant_admin"], name="박수락"),
              "partner_worker": make.member(partner, roles=["case_manager"]),
              "third_admin": make.member(third, roles=["tenant_admin"])}
    resource = make.resource(owner, name="협약기관 전용 자원", scope="partners", staff_scope="partners")
    browser = _signed_in(app, people["owner_admin"])
    response = browser.post("/agreements", data={**VALID, "record_kinds": ["resource"], "partner": partner.code,
                                                 "submission_token": "propose-1"})
    assert response.status_code == 303
    agreement = _agreements(app, owner)[0]
    return {"owner": owner, "partner": partner, "third": third, "resource": resource, "agreement": agreement,
            "url": f"/agreements/{agreement.public_id}", **people}


def _orm_sees(app, tenant, resource) -> bool:
    with app.app_context(), acting_as(tenant.id, None):
        return db.session.scalar(select(Resource.id).where(Resource.id == resource.id)) is not None


def _rls_sees(connection, tenant, resource) -> bool:
    """Plain SQL on the app role's connection: only RLS decides (PostgreSQL)."""
    if connection.dialect.name != "postgresql":
        pytest.skip("RLS is PostgreSQL only")
    connection.execute(text("select set_config('hanaro.tenant_id', :t, true)"), {"t": str(tenant.id)})
    return connection.execute(text("select id from resources where id = :i"), {"i": resource.id}).first() is not None


def _notices(app, tenant) -> list[Notification]:
    with app.app_context(), acting_as(tenant.id, None):
        return db.session.scalars(select(Notification).where(Notification.tenant_id == tenant.id,
                                                             Notification.kind.like("agreement_%"))
                                  .order_by(Notification.id)).all()


def test_a_proposal_shares_nothing_until_the_partner_accepts(app, pair, _rolled_back_transaction):
    partner, resource = pair["partner"], pair["resource"]
    assert not _orm_sees(app, partner, resource)
    assert not _rls_sees(_rolled_back_transaction, partner, resource)
    partner_browser = _signed_in(app, pair["partner_worker"])
    assert "협약기관 전용 자원" not in _page(partner_browser.get("/resources"))

    answer = _signed_in(app, pair["partner_admin"]).post(f"{pair['url']}/accept")
    assert answer.status_code == 303
    assert _orm_sees(app, partner, resource)
    assert _rls_sees(_rolled_back_transaction, partner, resource)
    assert "유효" in _page(partner_browser.get(pair["url"]))


def test_the_partner_declines_with_a_reason_and_nothing_is_shared(app, pair, _rolled_back_transaction):
    admin = _signed_in(app, pair["partner_admin"])
    no_reason = admin.post(f"{pair['url']}/decline", data={"reason": ""})
    assert no_reason.status_code == 422 and 'id="reason-error"' in _page(no_reason)
    assert admin.post(f"{pair['url']}/decline", data={"reason": "내부 검토 중"}).status_code == 303
    owner_page = _page(_signed_in(app, pair["owner_admin"]).get(pair["url"]))
    assert "거절됨" in owner_page and "내부 검토 중" in owner_page
    assert not _orm_sees(app, pair["partner"], pair["resource"])
    assert not _rls_sees(_rolled_back_transaction, pair["partner"], pair["resource"])
    late = admin.post(f"{pair['url']}/accept")
    assert late.status_code == 409 and "상대 기관이 이미 거절한 제안입니다." in _page(late)
    assert not _orm_sees(app, pair["partner"], pair["resource"])


def test_only_the_partners_admin_answers_and_a_third_tenant_gets_404(app, pair):
    owner_admin = _signed_in(app, pair["owner_admin"])
    assert owner_admin.post(f"{pair['url']}/accept").status_code == 403
    assert owner_admin.post(f"{pair['url']}/decline", data={"reason": "스스로 거절"}).status_code == 403
    worker = _signed_in(app, pair["partner_worker"])
    assert worker.post(f"{pair['url']}/accept").status_code == 403
    assert _signed_in(app, pair["partner_admin"]).post(f"{pair['url']}/withdraw").status_code == 403
    third = _signed_in(app, pair["third_admin"])
    for path in ("", "/accept", "/decline", "/withdraw", "/revoke"):
        method = third.get if path == "" else third.post
        assert method(pair["url"] + path, data={"reason": "끼어들기"} if path else None).status_code == 404, path
    assert not _orm_sees(app, pair["partner"], pair["resource"])


def test_the_proposer_withdraws_a_pending_proposal_and_it_can_no_longer_be_accepted(app, pair):
    assert _signed_in(app, pair["owner_admin"]).post(f"{pair['url']}/withdraw").status_code == 303
    late = _signed_in(app, pair["partner_admin"]).post(f"{pair['url']}/accept")
    assert late.status_code == 409 and "제안한 기관이 이미 철회한 제안입니다." in _page(late)
    assert not _orm_sees(app, pair["partner"], pair["resource"])


def test_a_pending_proposal_is_withdrawn_not_revoked(app, pair):
    response = _signed_in(app, pair["owner_admin"]).post(f"{pair['url']}/revoke", data={"reason": "잘못 보냄"})
    assert response.status_code == 409 and "해지 대신 제안을 철회하세요." in _page(response)


def test_both_sides_are_told_of_each_step_and_the_history_names_who_did_it(app, pair):
    partner_admin = _signed_in(app, pair["partner_admin"])
    assert partner_admin.post(f"{pair['url']}/accept").status_code == 303
    assert partner_admin.post(f"{pair['url']}/revoke", data={"reason": "사업 종료"}).status_code == 303
    for tenant in (pair["owner"], pair["partner"]):
        notices = _notices(app, tenant)
        assert [n.kind for n in notices] == ["agreement_proposed", "agreement_answered", "agreement_ended"]
        assert "수락했습니다" in notices[1].title and "해지되었습니다" in notices[2].title
        assert all(n.link == pair["url"] for n in notices)
    history = _page(_signed_in(app, pair["owner_admin"]).get(pair["url"]))
    table = history[history.index('id="agreement-history"'):]
    assert table.index("김제안") < table.index("협약 제안") < table.index("박수락") < table.index("수락")
    assert "해지" in table and "사업 종료" in table and "한림읍 행정복지센터" in table


def test_a_decline_and_a_withdrawal_are_notified_to_both_sides(app, make, pair):
    assert _signed_in(app, pair["partner_admin"]).post(f"{pair['url']}/decline",
                                                       data={"reason": "담당자 부재"}).status_code == 303
    for tenant in (pair["owner"], pair["partner"]):
        assert [n.kind for n in _notices(app, tenant)] == ["agreement_proposed", "agreement_answered"]
        assert "거절했습니다" in _notices(app, tenant)[1].title
    second = make.agreement(pair["owner"], pair["third"], status="proposed")
    assert _signed_in(app, pair["owner_admin"]).post(f"/agreements/{second.public_id}/withdraw").status_code == 303
    assert "철회했습니다" in _notices(app, pair["third"])[-1].title


def test_the_expiry_job_marks_an_agreement_expired_and_tells_both_sides_once(app, make):
    from datetime import date

    from hanaro.tenancy import jobs

    owner, partner = make.tenant(), make.tenant()
    agreement = make.agreement(owner, partner, record_kinds=["resource"], valid_to=date(2021, 12, 31))
    with app.app_context(), acting_as(partner.id, None):  # the partner's run leaves the owner's row alone
        assert jobs.expire_agreements() == {"expired": 0}
        db.session.commit()
    for _ in range(2):
        with app.app_context(), acting_as(owner.id, None):
            jobs.expire_agreements()
            db.session.commit()
    for tenant in (owner, partner):
        assert [n.kind for n in _notices(app, tenant)] == ["agreement_ended"]
        assert "기간이 끝났습니다" in _notices(app, tenant)[0].title
    login(client := app.test_client(), make.member(partner, roles=["viewer"]).email)
    assert "기간 만료" in _page(client.get(f"/agreements/{agreement.public_id}"))



def test_the_partners_admin_finds_the_proposal_on_the_home_page_until_it_is_answered(app, pair):
    admin = _signed_in(app, pair["partner_admin"])
    home = _page(admin.get("/"))
    assert "답을 기다리는 협약 제안" in home and f'href="{pair["url"]}"' in home and "한라복지관" in home
    assert "답을 기다리는 협약 제안" not in _page(_signed_in(app, pair["owner_admin"]).get("/"))
    assert admin.post(f"{pair['url']}/accept").status_code == 303
    home = _page(admin.get("/"))
    assert "답을 기다리는 협약 제안" not in home
    assert home.index("유효한 협약") < home.index("한라복지관")


def test_accepting_a_proposal_declined_meanwhile_is_refused_from_a_stale_page(app, pair):
    """Two admins of the partner answer at once: the second sees the first one's answer."""
    from hanaro.core.rules import RuleViolation
    from hanaro.tenancy import service as tenancy
    from hanaro.tenancy.models import AgreementStatus

    admin = pair["partner_admin"]
    with app.app_context(), acting_as(pair["partner"].id, admin.id):
        stale = tenancy.get_agreement_or_404(pair["agreement"].public_id)
        assert stale.status is AgreementStatus.PROPOSED
        with app.app_context(), acting_as(pair["partner"].id, admin.id):
            tenancy.decline_agreement(tenancy.get_agreement_or_404(pair["agreement"].public_id), "먼저 거절", admin)
            db.session.commit()
        with pytest.raises(RuleViolation, match="상대 기관이 이미 거절한 제안입니다."):
            tenancy.accept_agreement(stale, admin)
    assert not _orm_sees(app, pair["partner"], pair["resource"])


def test_the_partners_admins_are_e_mailed_the_proposal_and_the_proposers_the_answer(app, make):
    from hanaro.core import mail

    sent = mail.outbox(app)
    sent.clear()
    owner, partner = make.tenant(name="제안복지관"), make.tenant(name="답하는센터")
    owner_admin = make.member(owner, roles=["tenant_admin"], email="owner-admin@example.org")
    partner_admin = make.member(partner, roles=["tenant_admin"], email="partner-admin@example.org")
    make.member(partner, roles=["case_manager"], email="partner-worker@example.org")
    browser = _signed_in(app, owner_admin)
    assert browser.post("/agreements", data={**VALID, "partner": partner.code}).status_code == 303
    to_partner = [m for m in sent if "partner-admin@example.org" in m["To"]]
    assert len(to_partner) == 1 and "협약을 제안했습니다" in to_partner[0]["Subject"]
    assert not any("partner-worker@example.org" in m["To"] for m in sent)
    agreement = _agreements(app, owner)[0]
    assert _signed_in(app, partner_admin).post(f"/agreements/{agreement.public_id}/decline",
                                               data={"reason": "검토 후 다시"}).status_code == 303
    assert any("owner-admin@example.org" in m["To"] and "거절했습니다" in m["Subject"] for m in sent)
    sent.clear()
