"""Tenant admins manage members and roles; every change is recorded."""
from __future__ import annotations

import re

from sqlalchemy import select

from hanaro.core.db import db
from hanaro.tenancy.context import acting_as
from hanaro.tenancy.models import Membership, RoleChange

from .helpers import login


def _admin_client(client, make, tenant=None):
    tenant = tenant or make.tenant()
    admin = make.member(tenant, roles=["tenant_admin"], name="김관리")
    login(client, admin.email)
    return tenant, admin


def _changes(app, tenant):
    with app.app_context(), acting_as(tenant.id, None):
        return [(c.action.value, c.roles_before, c.roles_after, c.actor_user_id)
                for c in db.session.scalars(select(RoleChange).order_by(RoleChange.id))]


def test_admin_invites_a_new_person_who_becomes_a_member_only_by_accepting(app, client, make):
    tenant, admin = _admin_client(client, make)
    response = client.post("/admin/members", data={
        "email": "New.Worker@test.example", "display_name": "박신입", "initial_password": "first-password-1",
        "roles": ["case_manager", "viewer"]})
    assert response.status_code == 303
    page = client.get("/admin/members").get_data(as_text=True)
    assert "new.worker@test.example" in page and "초대 대기" in page and "박신입" not in page
    assert _changes(app, tenant) == []  # nothing granted yet

    person = app.test_client()
    assert login(person, "new.worker@test.example", "first-password-1").status_code == 303
    home = person.get("/").get_data(as_text=True)
    assert "받은 기관 초대" in home and tenant.name in home and "site-tenant" not in home
    public_id = _invitation_id(home)
    assert person.post(f"/invitations/{public_id}/accept").status_code == 303

    assert ("granted", [], ["case_manager", "viewer"], admin.id) in _changes(app, tenant)
    assert tenant.name in person.get("/").get_data(as_text=True).split("<h1>")[1]
    page = client.get("/admin/members").get_data(as_text=True)
    assert "박신입" in page and "초대 대기" not in page
    assert "구성원 초대가 수락되었습니다." in client.get("/notifications").get_data(as_text=True)


def _invitation_id(page: str) -> str:
    return re.search(r'/invitations/([A-Za-z0-9_-]+)/accept', page).group(1)


def _normalised(body: str, *replacements) -> str:
    for old, new in replacements:
        body = body.replace(old, new)
    body = re.sub(r'(name="(?:csrf[-_]token|submission_token)" (?:value|content)=")[^"]+', r"\1X", body)
    return re.sub(r"/admin/members/[A-Za-z0-9_-]+", "/admin/members/ID", body)


def _invite_as_new_admin(app, make, admin_email, data):
    tenant = make.tenant(name="같은복지관")
    make.member(tenant, roles=["tenant_admin"], name="김관리", email=admin_email)
    admin = app.test_client()
    login(admin, admin_email)
    posted = admin.post("/admin/members", data=data)
    return posted, admin.get("/admin/members"), tenant


def test_inviting_an_existing_account_answers_exactly_like_a_new_email(app, make):
    """The admin cannot tell whether the e-mail has an account, nor whose it is."""
    make.member(make.tenant(), email="known@test.example", name="숨은이름")
    typed = {"display_name": "입력한이름", "initial_password": "first-password-1", "roles": ["viewer"]}
    known_post, known_page, _ = _invite_as_new_admin(
        app, make, "admin-a@test.example", {**typed, "email": "known@test.example"})
    new_post, new_page, _ = _invite_as_new_admin(
        app, make, "admin-b@test.example", {**typed, "email": "fresh@test.example"})

    assert (known_post.status_code, known_post.location) == (new_post.status_code, new_post.location)
    known_body = known_page.get_data(as_text=True)
    assert "숨은이름" not in known_body and "known@test.example" in known_body
    assert _normalised(known_body, ("known@test.example", "EMAIL"), ("admin-a@", "ADMIN@")) == \
        _normalised(new_page.get_data(as_text=True), ("fresh@test.example", "EMAIL"), ("admin-b@", "ADMIN@"))


def test_without_an_initial_password_the_answer_is_the_same_for_known_and_new_emails(client, make):
    make.member(make.tenant(), email="known2@test.example")
    _admin_client(client, make)
    answers = []
    for email in ("known2@test.example", "fresh2@test.example"):
        response = client.post("/admin/members", data={"email": email, "display_name": "엑스", "roles": ["viewer"]})
        answers.append((response.status_code, response.get_data(as_text=True).replace(email, "EMAIL")))
    assert answers[0][0] == answers[1][0] == 422
    assert 'id="initial_password-error"' in answers[0][1] and "필수 입력 항목입니다." in answers[0][1]
    assert _normalised(answers[0][1]) == _normalised(answers[1][1])


def test_an_existing_account_keeps_its_password_and_gains_nothing_before_accepting(app, client, make):
    tenant, admin = _admin_client(client, make)
    home_tenant, second = make.tenant(name="가본래기관"), make.tenant(name="나본래기관")
    person = make.member(home_tenant, email="shared@test.example", name="공유된사람")
    make.membership(person, second)
    response = client.post("/admin/members", data={"email": "shared@test.example", "display_name": "공유",
                                                   "initial_password": "other-password-1", "roles": ["tenant_admin"]})
    assert response.status_code == 303
    person_client = app.test_client()
    assert login(person_client, person.email).status_code == 303  # old password still works
    assert login(app.test_client(), person.email, "other-password-1").status_code == 401

    home = person_client.get("/").get_data(as_text=True)
    switcher = re.search(r'<select id="tenant-switcher".*?</select>', home, re.S).group(0)
    assert "나본래기관" in switcher and tenant.name not in switcher
    assert person_client.post("/tenant/switch", data={"tenant": tenant.code}).status_code == 404
    assert person_client.get("/admin/members").status_code == 403  # still acting for their own tenant

    # The inviting tenant does not see them among its members, anywhere.
    page = client.get("/admin/members").get_data(as_text=True)
    assert "공유된사람" not in page
    with app.app_context(), acting_as(tenant.id, None):
        from hanaro.audit import service as audit
        from hanaro.tenancy import service

        assert [m.user_id for m in service.members_of_active_tenant() if m.active] == [admin.id]
        assert all("공유된사람" not in name for _, name in audit.member_choices())


def test_a_session_pointed_at_the_inviting_tenant_does_not_act_for_it(app, client, make):
    tenant, _ = _admin_client(client, make)
    mine = make.tenant(name="내기관")
    person = make.member(mine, roles=["tenant_admin"])
    make.invitation(person, tenant, roles=["tenant_admin"])
    person_client = app.test_client()
    login(person_client, person.email)
    from hanaro.accounts.models import UserSession

    with app.app_context():
        user_session = db.session.scalar(select(UserSession).where(UserSession.user_id == person.id))
        user_session.active_tenant_id = tenant.id
        db.session.commit()
    home = person_client.get("/").get_data(as_text=True)
    assert home.split("<h1>")[1].split("</h1>")[0] == "내기관"
    assert "김관리" not in person_client.get("/admin/members").get_data(as_text=True)


def test_declining_grants_nothing_and_the_admin_sees_it_declined(app, client, make):
    tenant, _ = _admin_client(client, make)
    person = make.member(make.tenant(), name="거절할사람")
    make.invitation(person, tenant, roles=["case_manager"])
    person_client = app.test_client()
    login(person_client, person.email)
    public_id = _invitation_id(person_client.get("/invitations").get_data(as_text=True))
    response = person_client.post(f"/invitations/{public_id}/decline", follow_redirects=True)
    assert "초대를 거절했습니다" in response.get_data(as_text=True)
    assert "/accept" not in person_client.get("/").get_data(as_text=True)
    assert person_client.post(f"/invitations/{public_id}/accept").status_code == 303  # refused, with a reason
    page = client.get("/admin/members").get_data(as_text=True)
    assert "거절" in page and "거절할사람" not in page
    inbox = client.get("/notifications").get_data(as_text=True)
    assert "구성원 초대가 거절되었습니다." in inbox and "거절할사람" not in inbox
    assert _changes(app, tenant) == []
    with app.app_context(), acting_as(tenant.id, None):
        assert db.session.scalar(select(Membership).where(Membership.user_id == person.id)).active is False


def test_the_admin_can_cancel_a_pending_invitation_and_then_it_cannot_be_accepted(app, client, make):
    tenant, _ = _admin_client(client, make)
    person = make.member(make.tenant())
    invitation = make.invitation(person, tenant)
    assert client.post(f"/admin/members/{invitation.public_id}/cancel").status_code == 303
    assert "초대 취소" in client.get("/admin/members").get_data(as_text=True)
    person_client = app.test_client()
    login(person_client, person.email)
    answer = person_client.post(f"/invitations/{invitation.public_id}/accept", follow_redirects=True)
    assert "이미 처리된 초대입니다" in answer.get_data(as_text=True)
    assert person_client.post("/tenant/switch", data={"tenant": tenant.code}).status_code == 404
    assert _changes(app, tenant) == []


def test_someone_elses_invitation_is_404_to_accept_or_decline(app, client, make):
    third = make.tenant(name="제3기관")
    invited = make.member(make.tenant())
    invitation = make.invitation(invited, third, roles=["tenant_admin"])
    tenant, _ = _admin_client(client, make)  # an admin elsewhere, and a bystander with their own invitation
    make.invitation(make.user(), tenant)
    for action in ("accept", "decline"):
        assert client.post(f"/invitations/{invitation.public_id}/{action}").status_code == 404
    with app.app_context(), acting_as(third.id, None):
        row = db.session.get(Membership, invitation.id)
        assert (row.active, row.invitation_status.value) == (False, "pending")


def test_inviting_twice_or_inviting_a_member_is_refused_not_duplicated(app, client, make):
    tenant, _ = _admin_client(client, make)
    data = {"email": "twice@test.example", "display_name": "두번", "initial_password": "long-enough-1", "roles": ["viewer"]}
    assert client.post("/admin/members", data=data).status_code == 303
    again = client.post("/admin/members", data=data)
    assert again.status_code == 422 and "이미 초대한 이메일입니다." in again.get_data(as_text=True)
    member = make.member(tenant)
    already = client.post("/admin/members", data={**data, "email": member.email})
    assert already.status_code == 422 and "이미 이 기관의 구성원입니다." in already.get_data(as_text=True)
    with app.app_context(), acting_as(tenant.id, None):
        assert len(db.session.scalars(select(Membership)).all()) == 3


def _heading(page: str) -> str:
    return page.split("<h1>")[1].split("</h1>")[0]


def test_a_double_submitted_invitation_is_sent_once(app, client, make):
    tenant, _ = _admin_client(client, make)
    data = {"email": "double@test.example", "display_name": "두번클릭", "initial_password": "long-enough-1",
            "roles": ["viewer"], "submission_token": "same-token"}
    assert client.post("/admin/members", data=data).status_code == 303
    again = client.post("/admin/members", data=data)
    assert again.status_code == 303 and again.location.endswith("/admin/members")
    with app.app_context(), acting_as(tenant.id, None):
        assert len(db.session.scalars(select(Membership)).all()) == 2


def test_pending_invitations_show_in_the_notifications_inbox_and_the_header(app, client, make):
    tenant, _ = _admin_client(client, make)
    person = make.member(make.tenant())
    make.invitation(person, tenant)
    person_client = app.test_client()
    login(person_client, person.email)
    inbox = person_client.get("/notifications").get_data(as_text=True)
    assert "받은 기관 초대" in inbox and tenant.name in inbox and "/accept" in inbox
    assert 'id="invitations-link"' in inbox


def test_sign_in_lands_in_the_tenant_last_switched_to(app, client, make):
    first, second = make.tenant(name="가가기관"), make.tenant(name="나나기관")
    user = make.member(first)
    make.membership(user, second)
    login(client, user.email)
    assert _heading(client.get("/").get_data(as_text=True)) == "가가기관"  # no switch yet: the first one
    assert client.post("/tenant/switch", data={"tenant": second.code}).status_code == 303
    client.post("/logout")
    login(client, user.email)
    assert _heading(client.get("/").get_data(as_text=True)) == "나나기관"


def test_accepting_an_invitation_does_not_move_the_landing_tenant(app, client, make):
    first, second = make.tenant(name="가가기관"), make.tenant(name="나나기관")
    user = make.member(second)
    make.invitation(user, first)  # sorts first: a fallback to "the first membership" would land there
    login(client, user.email)
    public_id = _invitation_id(client.get("/invitations").get_data(as_text=True))
    assert client.post(f"/invitations/{public_id}/accept").status_code == 303
    client.post("/logout")
    login(client, user.email)
    home = client.get("/").get_data(as_text=True)
    assert _heading(home) == "나나기관"
    assert "가가기관" in re.search(r'<select id="tenant-switcher".*?</select>', home, re.S).group(0)


def test_changing_and_revoking_roles_is_recorded_and_takes_effect(app, client, make):
    tenant, admin = _admin_client(client, make)
    worker = make.user(name="이사례")
    membership = make.membership(worker, tenant, roles=["case_manager"])
    worker_client = app.test_client()
    login(worker_client, worker.email)
    assert worker_client.get("/").status_code == 200

    response = client.post(f"/admin/members/{membership.public_id}", data={"roles": ["case_manager", "privacy_officer"]})
    assert response.status_code == 303
    assert client.post(f"/admin/members/{membership.public_id}/revoke").status_code == 303
    assert [c[0] for c in _changes(app, tenant)][-2:] == ["changed", "revoked"]
    history = client.get("/admin/role-history").get_data(as_text=True)
    assert "이사례" in history and "회수" in history
    # The revoked member no longer has this tenant.
    page = worker_client.get("/").get_data(as_text=True)
    assert "소속된 기관이 없습니다" in page


def test_the_last_admin_cannot_remove_their_own_admin_role(client, make):
    tenant, admin = _admin_client(client, make)
    page = client.get("/admin/members").get_data(as_text=True)
    public_id = re.search(r'/admin/members/([A-Za-z0-9_-]+)"', page).group(1)
    response = client.post(f"/admin/members/{public_id}", data={"roles": ["viewer"]})
    assert response.status_code == 422
    assert "기관 관리자가 한 명은 남아 있어야 합니다." in response.get_data(as_text=True)


def test_switching_tenant_changes_what_the_user_acts_as(app, client, make):
    first, second = make.tenant(name="가나다복지관"), make.tenant(name="하나로푸드뱅크")
    user = make.user()
    make.membership(user, first), make.membership(user, second, roles=["resource_registrar"])
    login(client, user.email)
    assert "가나다복지관" in client.get("/").get_data(as_text=True).split("<h1>")[1]
    response = client.post("/tenant/switch", data={"tenant": second.code})
    assert response.status_code == 303
    home = client.get("/").get_data(as_text=True)
    assert "하나로푸드뱅크" in home.split("<h1>")[1] and "작업 기관을 바꿨습니다: 하나로푸드뱅크" in home


def test_switching_to_a_tenant_without_membership_is_404(client, make):
    mine, not_mine = make.tenant(), make.tenant()
    login(client, make.member(mine).email)
    assert client.post("/tenant/switch", data={"tenant": not_mine.code}).status_code == 404
    assert client.post("/tenant/switch", data={}).status_code == 404
