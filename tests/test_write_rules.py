"""Nobody lets itself in: the write rules of the ORM guard (both backends) and, on PostgreSQL, of
the database with the ORM filter switched off. The table-by-table sweep over the whole demo is in
``test_write_rules_postgres``; these are the cases a reader can follow."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from hanaro.cases.models import Case, CaseMember
from hanaro.clients.models import Client, ClientAccessGrant
from hanaro.core.db import db
from hanaro.referrals.models import Referral
from hanaro.tenancy.context import acting_as
from hanaro.tenancy.orm_filter import TenantWriteRefused

from .conftest import BACKEND


@pytest.fixture
def world(make):
    world = make.case_world()
    world.join_partner()
    return world


def _refused(tenant, write) -> bool:
    """Does the ORM guard refuse ``write()`` (run as ``tenant``, then flushed)?"""
    with acting_as(tenant.id, None):
        savepoint = db.session.begin_nested()
        try:
            write()
            db.session.flush()
            return False
        except TenantWriteRefused:
            return True
        finally:
            savepoint.rollback()


def test_a_tenant_cannot_put_itself_on_another_tenants_case_team(ctx, world):
    def join():
        db.session.add(CaseMember(case_id=world.case.id, member_tenant_id=world.outsider.id, status="accepted",
                                  consent_id=world.consent.id, invited_by_user_id=world.outsider_worker.id))

    assert _refused(world.outsider, join)
    with acting_as(world.outsider.id, None):
        assert db.session.get(Case, world.case.id) is None


def test_a_tenant_cannot_grant_itself_another_tenants_client(ctx, world):
    def grant():
        db.session.add(ClientAccessGrant(client_id=world.person.id, grantee_tenant_id=world.outsider.id,
                                         status="active", reason="몰래"))

    assert _refused(world.outsider, grant)
    with acting_as(world.outsider.id, None):
        assert db.session.get(Client, world.person.id) is None


def test_even_a_team_member_cannot_grant_on_the_case_it_collaborates_on(ctx, world):
    """The partner reads the case, but only its owner invites others onto it."""
    def invite_outsider():
        db.session.add(CaseMember(case_id=world.case.id, member_tenant_id=world.outsider.id, status="accepted",
                                  consent_id=world.consent.id, invited_by_user_id=world.partner_worker.id))

    assert _refused(world.partner, invite_outsider)


def test_the_owner_may_invite_onto_its_own_case(ctx, world, make):
    third = make.tenant(name="세번째기관")

    def invite():
        db.session.add(CaseMember(case_id=world.case.id, member_tenant_id=third.id, status="invited",
                                  consent_id=world.consent.id, invited_by_user_id=world.lead_worker.id))

    assert not _refused(world.lead, invite)


def test_a_team_member_answers_its_invitation_but_cannot_re_aim_it(ctx, world, make):
    other_case = make.case(make.client(world.lead, name="박둘"), world.lead_worker)
    member_id = world.member.id

    def answer():
        db.session.get(CaseMember, member_id).response_note = "함께합니다"

    def re_aim():
        db.session.get(CaseMember, member_id).case_id = other_case.id

    def invite_someone_else():
        db.session.get(CaseMember, member_id).worker_user_id = world.partner_worker.id
        db.session.get(CaseMember, member_id).invited_by_user_id = world.partner_worker.id

    assert not _refused(world.partner, answer)
    assert _refused(world.partner, re_aim)
    assert _refused(world.partner, invite_someone_else)
    assert _refused(world.lead, re_aim)  # a grant is never re-aimed, by its owner either


def test_a_receiver_answers_a_referral_but_cannot_rewrite_what_was_sent(ctx, make):
    world = make.case_world()
    with acting_as(world.lead.id, world.lead_worker.id):
        referral = Referral(receiver_tenant_id=world.partner.id, client_id=world.person.id, requested_service="방문",
                            reason="원래 사유", response_due_on=date(2026, 12, 31), state="sent")
        db.session.add(referral)
        db.session.flush()
        referral_id = referral.id

    def answer():
        db.session.get(Referral, referral_id).answer_note = "받았습니다"

    def rewrite_reason():
        db.session.get(Referral, referral_id).reason = "바꾼 사유"

    def redirect():
        db.session.get(Referral, referral_id).receiver_tenant_id = world.outsider.id

    assert not _refused(world.partner, answer)
    assert _refused(world.partner, rewrite_reason)
    assert _refused(world.partner, redirect)


# -- PostgreSQL: the same rules with the ORM filter and guard out of the way ---------------------------

postgres_only = pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL only")


def _as_tenant_sql(tenant_id: int, statement: str, **params):
    savepoint = db.session.begin_nested()
    try:
        db.session.execute(text("select set_config('hanaro.tenant_id', :t, true)"), {"t": str(tenant_id)})
        return db.session.execute(text(statement), params)
    finally:
        savepoint.rollback()


@postgres_only
def test_the_database_refuses_a_self_made_case_team_membership(ctx, world):
    with pytest.raises(DBAPIError, match="may not use"):
        _as_tenant_sql(world.outsider.id,
                       "insert into case_members (tenant_id, case_id, member_tenant_id, consent_id, status, "
                       "invited_by_user_id, invited_at, public_id) "
                       "values (:me, :case, :me, :consent, 'accepted', :user, now(), 'rogue-member-1')",
                       me=world.outsider.id, case=world.case.id, consent=world.consent.id,
                       user=world.outsider_worker.id)


@postgres_only
def test_the_database_refuses_a_participant_changing_more_than_its_answer(ctx, world):
    with pytest.raises(DBAPIError, match="only the owner"):
        _as_tenant_sql(world.partner.id, "update case_members set message = 'x' where id = :id", id=world.member.id)
    assert _as_tenant_sql(world.partner.id, "update case_members set response_note = 'x' where id = :id",
                          id=world.member.id).rowcount == 1


@pytest.mark.skipif(BACKEND != "sqlite", reason="writes a row no tenant may write, which only SQLite lets through")
def test_a_membership_row_another_tenant_slipped_in_opens_nothing(ctx, world):
    """A row such as an older database may hold (the write rules came later): the read rule counts
    only membership rows kept by the case's own owner. On PostgreSQL the same criterion is the
    installed policy (test_policy_drift) and lets through what the ORM does (test_isolation_postgres)."""
    db.session.execute(text(
        "insert into case_members (tenant_id, case_id, member_tenant_id, consent_id, status, invited_by_user_id, "
        "invited_at, public_id) values (:me, :case, :me, :consent, 'accepted', :user, current_timestamp, 'rogue-1')"),
        {"me": world.outsider.id, "case": world.case.id, "consent": world.consent.id,
         "user": world.outsider_worker.id})
    with acting_as(world.outsider.id, None):
        assert db.session.scalar(select(Case).where(Case.id == world.case.id)) is None


# -- each side makes only its own moves ------------------------------------------------------------

def test_a_proposer_cannot_accept_its_own_agreement_nor_change_its_terms(ctx, make):
    from hanaro.tenancy.models import SharingAgreement

    proposer, partner, third = make.tenant(name="제안기관"), make.tenant(name="상대기관"), make.tenant(name="제3기관")
    proposal = make.agreement(proposer, partner, record_kinds=("resource",), status="proposed")
    accepted = make.agreement(proposer, partner, record_kinds=("resource",))

    def accept_own():
        db.session.get(SharingAgreement, proposal.id).status = "accepted"

    def re_aim():
        db.session.get(SharingAgreement, accepted.id).partner_tenant_id = third.id

    def widen():
        db.session.get(SharingAgreement, accepted.id).record_kinds = ["resource", "client", "case"]

    def partner_accepts():
        db.session.get(SharingAgreement, proposal.id).status = "accepted"

    assert _refused(proposer, accept_own)
    assert _refused(proposer, re_aim)
    assert _refused(proposer, widen)
    assert not _refused(partner, partner_accepts)


def test_a_grantee_cannot_bring_back_access_it_gave_up_or_lost(ctx, world):
    member_id = world.member.id
    with acting_as(world.lead.id, world.lead_worker.id):  # the lead removes the partner from the team
        grant_id = db.session.scalar(select(ClientAccessGrant.id).where(
            ClientAccessGrant.client_id == world.person.id, ClientAccessGrant.grantee_tenant_id == world.partner.id))
        db.session.get(ClientAccessGrant, grant_id).status = "revoked"
        db.session.get(CaseMember, member_id).status = "removed"
        db.session.flush()

    def reactivate_grant():
        db.session.get(ClientAccessGrant, grant_id).status = "active"

    def rejoin():
        db.session.get(CaseMember, member_id).status = "accepted"

    assert _refused(world.partner, reactivate_grant)
    assert _refused(world.partner, rejoin)


@postgres_only
def test_the_database_keeps_each_sides_moves(ctx, make, world):
    proposer, partner = make.tenant(name="제안기관"), make.tenant(name="상대기관")
    proposal = make.agreement(proposer, partner, record_kinds=("resource",), status="proposed")
    with pytest.raises(DBAPIError, match="may not move"):
        _as_tenant_sql(proposer.id, "update sharing_agreements set status = 'accepted' where id = :id", id=proposal.id)
    with pytest.raises(DBAPIError, match="never changes"):
        _as_tenant_sql(proposer.id, "update sharing_agreements set record_kinds = '[\"resource\", \"case\"]' "
                       "where id = :id", id=proposal.id)
    assert _as_tenant_sql(partner.id, "update sharing_agreements set status = 'accepted' where id = :id",
                          id=proposal.id).rowcount == 1
    with pytest.raises(DBAPIError, match="may not move"):  # accepted → back to invited is not the member's move
        _as_tenant_sql(world.partner.id, "update case_members set status = 'invited' where id = :id",
                       id=world.member.id)


@postgres_only
def test_a_changed_foreign_key_is_checked_like_a_new_one(ctx, world, make):
    mine = make.client(world.outsider, name="바깥대상자")
    consent = make.consent(mine)
    with pytest.raises(DBAPIError, match="may not use"):
        _as_tenant_sql(world.outsider.id, "update consents set client_id = :theirs where id = :id",
                       theirs=world.person.id, id=consent.id)


@postgres_only
def test_a_temporary_table_cannot_stand_in_for_the_parent(ctx, world):
    """The trigger reads the real table (schema-qualified, search_path pinned), not one the writer made."""
    savepoint = db.session.begin_nested()
    try:
        db.session.execute(text("create temporary table cases (id bigint, tenant_id bigint) on commit drop"))
        db.session.execute(text("insert into pg_temp.cases values (:case, :me)"),
                           {"case": world.case.id, "me": world.outsider.id})
        db.session.execute(text("select set_config('hanaro.tenant_id', :t, true)"), {"t": str(world.outsider.id)})
        with pytest.raises(DBAPIError, match="may not use"):
            db.session.execute(text(
                "insert into case_members (tenant_id, case_id, member_tenant_id, consent_id, status, "
                "invited_by_user_id, invited_at, public_id) "
                "values (:me, :case, :me, :consent, 'accepted', :user, now(), 'rogue-member-2')"),
                {"me": world.outsider.id, "case": world.case.id, "consent": world.consent.id,
                 "user": world.outsider_worker.id})
    finally:
        savepoint.rollback()


def test_the_receivers_moves_the_database_allows_are_those_of_the_referral_state_machine():
    from hanaro.referrals import states
    from hanaro.referrals.models import RECEIVER_MOVES

    machine = {(source.value, t.target.value) for t in states.TRANSITIONS.values() if t.side is states.Side.RECEIVER
               for source in t.sources}
    assert set(RECEIVER_MOVES) == machine


# -- a row names its writer truthfully ------------------------------------------------------------

def test_a_receiver_cannot_write_a_message_in_the_senders_name(ctx, make):
    from hanaro.referrals.models import ReferralMessage

    world = make.case_world()
    with acting_as(world.lead.id, world.lead_worker.id):
        referral = Referral(receiver_tenant_id=world.partner.id, client_id=world.person.id, requested_service="방문",
                            reason="사유", response_due_on=date(2026, 12, 31), state="sent")
        db.session.add(referral)
        db.session.flush()
        referral_id = referral.id

    def message(actor):
        def write():
            db.session.add(ReferralMessage(tenant_id=world.lead.id, referral_id=referral_id,
                                           receiver_tenant_id=world.partner.id, actor_tenant_id=actor.id,
                                           actor_user_id=world.partner_worker.id, body="안녕하세요"))
        return write

    assert _refused(world.partner, message(world.lead))
    assert not _refused(world.partner, message(world.partner))


def test_nobody_sends_a_notice_as_another_tenant(ctx, make):
    from hanaro.notifications.models import Notification

    """Not even into its own inbox: a notice 'from' another organisation is what a user trusts."""
    sender, impersonated = make.tenant(name="보내는기관"), make.tenant(name="사칭기관")

    def notice(as_tenant):
        def write():
            db.session.add(Notification(tenant_id=sender.id, sender_tenant_id=as_tenant.id, kind="referral_received",
                                        title="알림"))
        return write

    assert _refused(sender, notice(impersonated))
    assert not _refused(sender, notice(sender))


@postgres_only
def test_the_database_refuses_a_row_in_another_writers_name(ctx, world):
    with pytest.raises(DBAPIError, match="names another tenant"):
        _as_tenant_sql(world.outsider.id, "insert into notifications (tenant_id, sender_tenant_id, kind, title, "
                       "created_at, public_id) values (:to, :as, 'referral_received', '알림', now(), 'spoof-1')",
                       to=world.outsider.id, **{"as": world.lead.id})


def test_a_facility_files_its_status_into_its_municipalitys_records_only(ctx, make):
    from hanaro.oversight.models import FacilityStatus

    world = make.oversight_world()

    def report(owner):
        def write():
            db.session.add(FacilityStatus(tenant_id=owner.id, facility_id=world.facility_a.id,
                                          residents=20, staff_count=10, reporter_tenant_id=world.home_a.id))
        return write

    assert _refused(world.home_a, report(world.ngo))  # into a tenant of its choosing
    assert not _refused(world.home_a, report(world.city))


def test_feedback_goes_to_the_workspaces_own_coordinator_only(ctx, make):
    from hanaro.pilots.models import Feedback, Participant, Workspace

    coordinator, participant, elsewhere = (make.tenant(name="도청"), make.tenant(name="참여기관"),
                                           make.tenant(name="다른기관"))
    user = make.member(participant, roles=["case_manager"])
    with acting_as(coordinator.id, None):
        workspace = Workspace(code="write-rules-pilot", name="시범사업", region_codes=[])
        db.session.add(workspace)
        db.session.flush()
        db.session.add(Participant(workspace_id=workspace.id, participant_tenant_id=participant.id,
                                   joined_on=date(2026, 1, 1)))
        db.session.flush()
        workspace_id = workspace.id

    def send_to(addressee):
        def write():
            db.session.add(Feedback(workspace_id=workspace_id, coordinator_tenant_id=addressee.id,
                                    submitter_user_id=user.id, category="bug", description="의견", tags=[]))
        return write

    assert _refused(participant, send_to(elsewhere))
    assert not _refused(participant, send_to(coordinator))
