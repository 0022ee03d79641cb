"""PostgreSQL Row-Level Security: the second enforcer, and its agreement with the ORM filter."""
from __future__ import annotations

import random
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from hanaro.accounts.models import User
from hanaro.core.db import db
from hanaro.tenancy import orm_filter, policy
from hanaro.tenancy.context import acting_as, unscoped
from hanaro.resources.models import Resource
from hanaro.tenancy.models import Membership, Region, RegionLevel, RoleChange, SharingAgreement, Tenant, TenantKind

from .conftest import BACKEND, PG_APP_ROLE

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL only")

from hanaro.tenancy.owned import TenantOwned


def _tenant_owned_models():
    found, stack = [], list(TenantOwned.__subclasses__())
    while stack:
        cls = stack.pop()
        if "__tablename__" in cls.__dict__:
            found.append(cls)
        stack.extend(cls.__subclasses__())
    return sorted(found, key=lambda cls: cls.__tablename__)



TENANT_COUNT = 12


def test_every_model_with_tenant_id_is_registered_with_the_policy(app):
    tables_with_tenant_id = {t.name for t in db.metadata.sorted_tables if "tenant_id" in t.c}
    assert tables_with_tenant_id == set(policy.REGISTRY)
    assert {m.__tablename__ for m in _tenant_owned_models()} == set(policy.REGISTRY)


def test_rls_is_enabled_and_forced_with_four_policies_on_every_tenant_owned_table(superuser_engine):
    with superuser_engine.connect() as connection:
        for table in policy.REGISTRY:
            enabled, forced = connection.execute(
                text("select relrowsecurity, relforcerowsecurity from pg_class where relname = :t"), {"t": table}
            ).one()
            assert (enabled, forced) == (True, True), table
            commands = set(
                connection.execute(text("select cmd from pg_policies where tablename = :t"), {"t": table}).scalars()
            )
            assert commands == {"SELECT", "INSERT", "UPDATE", "DELETE"}, table


def test_app_role_is_not_superuser_cannot_bypass_rls_and_owns_no_table(superuser_engine):
    with superuser_engine.connect() as connection:
        superuser, bypass = connection.execute(
            text("select rolsuper, rolbypassrls from pg_roles where rolname = :r"), {"r": PG_APP_ROLE}
        ).one()
        owned = connection.execute(
            text("select count(*) from pg_tables where schemaname = 'public' and tableowner = :r"), {"r": PG_APP_ROLE}
        ).scalar()
    assert (superuser, bypass, owned) == (False, False, 0)


def test_app_connects_as_the_app_role(app):
    with app.app_context():
        assert db.session.execute(text("select current_user")).scalar() == PG_APP_ROLE


# -- many tenants, many rows, committed so separate connections can see them ---------------------

@pytest.fixture
def world(app, superuser_engine):
    """12 tenants, 60 users, random memberships and agreements, committed; removed afterwards."""
    rng = random.Random(20261122)
    with app.app_context():
        session = db.session
        with unscoped():
            session.add(Region(code="9800000000", name="격리시험도", level=RegionLevel.PROVINCE))
            session.add(Region(code="9810000000", name="격리시험시", level=RegionLevel.PROVINCE))
            # Two provinces, so region-scoped sharing has someone to keep out.
            provinces = ["9800000000", "9810000000"]
            # The first two are the provinces' own tenants (oversight: a province reads its municipalities').
            tenants = [
                Tenant(code=f"iso-{i}", name=f"격리기관{i}", kind=TenantKind.PROVINCE if i < 2 else TenantKind.NGO,
                       region_code=provinces[i % 2], province_code=provinces[i % 2])
                for i in range(TENANT_COUNT)
            ]
            users = [User(email=f"iso{i}@test.example", display_name=f"격리{i}") for i in range(60)]
            session.add_all(tenants + users)
            session.commit()
        for tenant in tenants:
            with acting_as(tenant.id, None):
                for user in rng.sample(users, 8):
                    session.add(Membership(user_id=user.id, roles=["viewer"]))
                    session.add(RoleChange(user_id=user.id, action="granted", roles_after=["viewer"]))
                for partner in rng.sample([t for t in tenants if t is not tenant], 3):
                    kinds, valid_to, revoked = rng.choice([
                        (["case"], None, None), (["resource", "referral"], None, None),
                        (["resource"], date(2025, 12, 31), None), (["resource"], None, datetime(2026, 2, 1, tzinfo=timezone.utc)),
                    ])
                    session.add(
                        SharingAgreement(
                            partner_tenant_id=partner.id, purpose="격리 시험", record_kinds=kinds, valid_from=date(2025, 1, 1),
                            valid_to=valid_to, revoked_at=revoked,
                        )
                    )
                for scope in ("private", "partners", "region", "platform", "public", "partners"):
                    session.add(Resource(name=f"자원-{scope}", description="격리 시험 자원", scope=scope,
                                         province_code=tenant.province_code, last_verified_on=date(2026, 1, 1)))
                session.commit()
        _add_clients_and_cases(session, tenants, users, rng)
        ids = {"tenants": [t.id for t in tenants], "users": [u.id for u in users]}
    yield ids
    with superuser_engine.begin() as connection:
        from hanaro.oversight.models import APPEND_ONLY_TABLES

        for table in ("access_log", *APPEND_ONLY_TABLES):
            connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        tables = ", ".join(t.name for t in db.metadata.sorted_tables if t.name not in ("case_types", "need_domains"))
        connection.execute(text(f"TRUNCATE {tables} CASCADE"))
        for table in ("access_log", *APPEND_ONLY_TABLES):
            connection.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))


def _add_clients_and_cases(session, tenants, users, rng):
    """Clients, consents, cases with team members in every status, grants, notes of both
    visibilities, timeline events and access-log entries, so every rule kind is exercised."""
    from hanaro.audit.models import AccessLogEntry
    from hanaro.cases.models import Assessment, AssessmentItem, Case, CaseEvent, CaseMember, CaseNote
    from hanaro.clients.models import Client, ClientAccessGrant, Consent

    statuses = ["invited", "accepted", "accepted", "declined", "left", "removed"]
    accepted = []  # (partner, case) pairs whose notes the partner writes itself
    for tenant in tenants:
        with acting_as(tenant.id, None):
            for c in range(3):
                client = Client(name=f"대상자{tenant.id}-{c}", birth_date=date(1950 + c, 1, 1), sex="F")
                consent = Consent(client=client, scope="case_team", purposes=["case_collaboration"],
                                  granted_on=date(2026, 1, 1))
                case = Case(client=client, case_type_code="crisis_household", lead_worker_user_id=users[0].id,
                            received_on=date(2026, 1, 2), opened_on=date(2026, 1, 2))
                session.add_all([client, consent, case])
                session.flush()
                for partner in rng.sample([t for t in tenants if t is not tenant], 2):
                    status = rng.choice(statuses)
                    session.add(CaseMember(case_id=case.id, member_tenant_id=partner.id, consent_id=consent.id,
                                           status=status, invited_by_user_id=users[0].id))
                    session.add(ClientAccessGrant(
                        client_id=client.id, grantee_tenant_id=partner.id, consent_id=consent.id, reason="case",
                        case_id=case.id, status="active" if status == "accepted" else rng.choice(["pending", "revoked"])))
                    if status == "accepted":
                        accepted.append((partner.id, case.id))
                for visibility in ("internal", "team"):
                    session.add(CaseNote(case_id=case.id, author_tenant_id=tenant.id, author_user_id=users[1].id,
                                         visibility=visibility, body="메모"))
                    session.add(CaseEvent(case_id=case.id, kind="note", summary="메모", author_tenant_id=tenant.id,
                                          visibility=visibility))
                assessment = Assessment(case_id=case.id, version=1, assessed_on=date(2026, 1, 5),
                                        assessed_by_user_id=users[0].id, author_tenant_id=tenant.id)
                session.add(assessment)
                session.flush()
                session.add(AssessmentItem(assessment_id=assessment.id, case_id=case.id, domain_code="safety", level=2))
                session.add(AccessLogEntry(user_id=users[2].id, client_id=client.id, client_tenant_id=tenant.id,
                                           client_public_id=client.public_id, action="view", what="client"))
            session.commit()
    for partner_id, case_id in accepted:
        with acting_as(partner_id, None):
            case = session.scalar(select(Case).where(Case.id == case_id))
            for visibility in ("internal", "team"):
                session.add(CaseNote(case_id=case_id, tenant_id=case.tenant_id, author_tenant_id=partner_id,
                                     author_user_id=users[1].id, visibility=visibility, body="협업기관 메모"))
            session.commit()
    _add_referrals(session, tenants, users, rng)
    _add_pilots(session, tenants, users, rng)
    _add_oversight(session, tenants, users)
    _add_campaigns(session, tenants, users)


def _add_referrals(session, tenants, users, rng):
    """A referral per tenant to a random other tenant, with rows written by each side."""
    from hanaro.clients.models import Client
    from hanaro.referrals.models import Referral, ReferralAttachment, ReferralEvent, ReferralMessage

    for tenant in tenants:
        receiver = rng.choice([t for t in tenants if t is not tenant])
        with acting_as(tenant.id, None):
            client_id = session.scalar(select(Client.id).where(Client.tenant_id == tenant.id).limit(1))
            state = rng.choice(["draft", "sent"])
            referral = Referral(receiver_tenant_id=receiver.id, client_id=client_id, requested_service="격리 시험",
                                reason="시험", response_due_on=date(2026, 12, 1), state=state)
            session.add(referral)
            session.flush()
            parts = dict(tenant_id=tenant.id, referral_id=referral.id, receiver_tenant_id=receiver.id)
            session.add(ReferralEvent(**parts, actor_tenant_id=tenant.id, action="send", to_state="sent"))
            session.add(ReferralAttachment(**parts, actor_tenant_id=tenant.id, filename="a.pdf",
                                           content_type="application/pdf", size=4, content=b"%PDF"))
            session.commit()
        if state == "sent":  # the receiver writes only once it is sent
            with acting_as(receiver.id, None):
                session.add(ReferralMessage(**parts, actor_tenant_id=receiver.id, body="받은 기관 메시지"))
                session.commit()


def _add_pilots(session, tenants, users, rng):
    """Three workspaces, each run by one tenant with participants (some left), phases, planners;
    feedback from participants with comments from both sides; a care meeting with member tenants,
    an external expert, items and actions assigned to a tenant outside the meeting; and figures
    reported by participants, so every pilots table and rule is compared."""
    from hanaro.cases.models import Case
    from hanaro.pilots.models import (AgendaItem, CareMeeting, CareMeetingMember, Feedback, FeedbackComment,
                                      MeetingAction, MetricFigure, Participant, PhasePeriod, VillagePlanner, Workspace)

    for n, coordinator in enumerate(tenants[:3]):
        others = [t for t in tenants if t is not coordinator]
        joined = rng.sample(others, 5)
        taking_part, left = joined[:3], joined[3:]
        with acting_as(coordinator.id, None):
            workspace = Workspace(code=f"iso-pilot-{n}", name=f"격리 시범사업 {n}", region_codes=[coordinator.region_code])
            session.add(workspace)
            session.flush()
            for tenant in joined:  # those in `left` leave after writing their feedback (below)
                session.add(Participant(workspace_id=workspace.id, participant_tenant_id=tenant.id,
                                        joined_on=date(2026, 3, 1)))
            session.add(PhasePeriod(workspace_id=workspace.id, phase="preparation", starts_on=date(2026, 3, 1),
                                    ends_on=date(2026, 5, 31)))
            session.add(PhasePeriod(workspace_id=workspace.id, phase="pilot", starts_on=date(2026, 6, 1)))
            session.add(VillagePlanner(workspace_id=workspace.id, name="격리 플래너", dong_code=coordinator.region_code,
                                       user_id=users[3].id))
            session.commit()
            workspace_id = workspace.id  # expired rows reload as whoever acts next: keep the ids
        feedback = []
        for tenant in joined[:4]:  # one of them has left since
            with acting_as(tenant.id, users[4].id):
                item = Feedback(workspace_id=workspace_id, coordinator_tenant_id=coordinator.id,
                                submitter_user_id=users[4].id, category="bug", description="격리 의견", tags=[])
                session.add(item)
                session.flush()
                session.add(FeedbackComment(feedback_id=item.id, coordinator_tenant_id=coordinator.id,
                                            author_tenant_id=tenant.id, body="제출 기관 댓글"))
                session.add(MetricFigure(tenant_id=coordinator.id, workspace_id=workspace_id, reporter_tenant_id=tenant.id,
                                         metric="referrals_sent", week_start=date(2026, 6, 1), value=rng.randint(0, 9)))
                session.flush()
                feedback.append((tenant, item.id))
                session.commit()
        with acting_as(coordinator.id, users[5].id):
            for participant in session.scalars(select(Participant).where(
                    Participant.workspace_id == workspace_id,
                    Participant.participant_tenant_id.in_([t.id for t in left]))):
                participant.left_on = date(2026, 9, 1)
            for tenant, item_id in feedback[:2]:
                session.add(FeedbackComment(tenant_id=tenant.id, feedback_id=item_id, coordinator_tenant_id=coordinator.id,
                                            author_tenant_id=coordinator.id, body="코디네이터 댓글", status_to="reviewing"))
            meeting = CareMeeting(workspace_id=workspace_id, title="격리 지역케어회의", held_on=date(2026, 7, 1))
            session.add(meeting)
            session.flush()
            for tenant in taking_part[:2]:
                session.add(CareMeetingMember(meeting_id=meeting.id, member_tenant_id=tenant.id))
            session.add(CareMeetingMember(meeting_id=meeting.id, external_name="외부 전문가", external_affiliation="대학"))
            case_id = session.scalar(select(Case.id).where(Case.tenant_id == coordinator.id).limit(1))
            policy_item = AgendaItem(meeting_id=meeting.id, kind="policy", title="제도 개선", position=1)
            session.add_all([policy_item, AgendaItem(meeting_id=meeting.id, kind="case", title="사례", case_id=case_id,
                                                     position=2)])
            session.flush()
            outside = rng.choice([t for t in others if t not in taking_part[:2]])
            for assignee in (taking_part[0], outside):
                session.add(MeetingAction(meeting_id=meeting.id, item_id=policy_item.id, assignee_tenant_id=assignee.id,
                                          description="후속 조치", due_on=date(2026, 8, 1)))
            session.commit()


def _add_oversight(session, tenants, users):
    """Municipalities 2-5 (2, 4 in the first province, 3, 5 in the second) each supervise two
    facilities: one on the platform (tenants 6-9), one not. Each has status reports from both sides,
    a template, a planned special inspection (hidden from the facility), a planned regular one, and a
    completed one with items, a photo, findings, actions answered by the facility (evidence, events)
    and decided, a sanction with a correction, a cycle and an evaluation. Tenants 10 and 11 are
    outsiders; 0 and 1 are the provinces."""
    from hanaro.oversight.models import (ActionEvent, ChecklistTemplate, ChecklistTemplateItem, CorrectiveAction,
                                         Evaluation, EvaluationCycle, Facility, FacilityStatus, Finding, Inspection,
                                         InspectionItem, OversightFile, Sanction, SanctionFinding)

    for n, municipality in enumerate(tenants[2:6]):
        facility_tenant = tenants[6 + n]
        with acting_as(municipality.id, users[6].id):
            facilities = [Facility(name=f"격리시설{n}-{k}", facility_type="elderly", operator_kind="corporation",
                                   operator_name="격리법인", licence_number=f"L-{n}-{k}", licence_date=date(2020, 1, 1),
                                   capacity=30, address="격리로 1", facility_tenant_id=facility_tenant.id if k == 0 else None)
                          for k in range(2)]
            session.add_all(facilities)
            session.flush()
            template = ChecklistTemplate(name="격리 점검표", facility_type="elderly", source_key="elderly")
            session.add(template)
            session.flush()
            session.add(ChecklistTemplateItem(template_id=template.id, area="staffing", position=1, text="인력 기준"))
            cycle = EvaluationCycle(year=2025, facility_type="elderly", name="2025 평가",
                                    areas=[{"code": "a", "label": "영역", "max_score": 100}])
            session.add(cycle)
            session.flush()
            actions = []
            for facility in facilities:
                f = dict(facility_id=facility.id)
                session.add(FacilityStatus(**f, residents=20, staff_count=9, reporter_tenant_id=municipality.id))
                session.add_all([
                    Inspection(**f, kind="special", planned_on=date(2026, 12, 1)),
                    Inspection(**f, kind="regular", planned_on=date(2026, 12, 2)),
                ])
                done = Inspection(**f, kind="regular", status="completed", planned_on=date(2026, 3, 1),
                                  conducted_on=date(2026, 3, 2), template_id=template.id)
                session.add(done)
                session.flush()
                item = InspectionItem(**f, inspection_id=done.id, area="staffing", position=1, text="인력 기준",
                                      result="non_compliant")
                session.add(item)
                session.flush()
                session.add(OversightFile(**f, kind="photo", inspection_id=done.id, item_id=item.id, filename="p.jpg",
                                          content_type="image/jpeg", size=3, content=b"\xff\xd8\xff",
                                          uploader_tenant_id=municipality.id))
                findings = [Finding(**f, inspection_id=done.id, item_id=item.id, area="staffing", description="인력 부족")
                            for _ in range(2)]
                session.add_all(findings)
                session.flush()
                for finding in findings:
                    action = CorrectiveAction(**f, finding_id=finding.id, inspection_id=done.id, requirement="충원",
                                              due_on=date(2026, 4, 1))
                    session.add(action)
                    session.flush()
                    session.add(ActionEvent(**f, action_id=action.id, action="request", to_state="requested",
                                            actor_tenant_id=municipality.id))
                    actions.append((facility, action.id))
                sanction = Sanction(**f, sanction_type="improvement_order", legal_basis="사회복지사업법 제40조",
                                    reason="인력 기준 위반", decided_on=date(2026, 5, 1), effective_from=date(2026, 5, 1))
                session.add(sanction)
                session.flush()
                session.add(SanctionFinding(**f, sanction_id=sanction.id, finding_id=findings[0].id))
                session.add(Sanction(**f, sanction_type="improvement_order", legal_basis="사회복지사업법 제40조",
                                     reason="인력 기준 위반", decided_on=date(2026, 5, 1), effective_from=date(2026, 5, 2),
                                     corrects_id=sanction.id, correction_reason="시행일 정정"))
                session.add(Evaluation(**f, cycle_id=cycle.id, year=2025, facility_type="elderly", scores=[], total=85,
                                       max_total=100, grade="B", evaluated_on=date(2025, 10, 1)))
            session.commit()
            facility_id, on_platform = facilities[0].id, [a for fac, a in actions if fac is facilities[0]]
        with acting_as(facility_tenant.id, users[7].id):  # the facility answers one action and reports
            f = dict(tenant_id=municipality.id, facility_id=facility_id)
            session.add(FacilityStatus(**f, residents=21, staff_count=10, reporter_tenant_id=facility_tenant.id))
            action = session.scalar(select(CorrectiveAction).where(CorrectiveAction.id == on_platform[0]))
            action.state, action.answer = "answered", "충원 완료"
            event = ActionEvent(**f, action_id=action.id, action="answer", from_state="requested", to_state="answered",
                                actor_tenant_id=facility_tenant.id)
            session.add(event)
            session.flush()
            session.add(OversightFile(**f, kind="evidence", action_id=action.id, event_id=event.id, filename="e.pdf",
                                      content_type="application/pdf", size=4, content=b"%PDF",
                                      uploader_tenant_id=facility_tenant.id))
            session.commit()
        with acting_as(municipality.id, users[6].id):  # and the inspector accepts it
            action = session.scalar(select(CorrectiveAction).where(CorrectiveAction.id == on_platform[0]))
            action.state = "accepted"
            session.add(ActionEvent(tenant_id=municipality.id, facility_id=facility_id, action_id=action.id,
                                    action="accept", from_state="answered", to_state="accepted",
                                    actor_tenant_id=municipality.id))
            session.commit()


def _add_campaigns(session, tenants, users):
    """Two organisers (tenants 0 and 1), each with a campaign in preparation and an open one, both
    inviting four tenants (8 and 9 are invited by both); every invitee nominates one of its clients
    into the open campaign, with household keys (8 and 9 share one: a duplicate), and the organiser
    flags them. Tenants 2-5 take no part."""
    from hanaro.clients.models import Client
    from hanaro.campaigns.models import Campaign, Flag, Invitation, Nomination, NominationKey

    for organiser, invitees in ((tenants[0], tenants[6:10]), (tenants[1], tenants[8:12])):
        with acting_as(organiser.id, None):
            campaigns = [Campaign(title=f"격리 캠페인 {status}", category="kimjang", item_description="김장김치",
                                  quantity=100, unit="상자", per_household=1, opens_on=date(2026, 11, 1),
                                  closes_on=date(2026, 11, 30), status=status)
                         for status in ("preparation", "open")]
            session.add_all(campaigns)
            session.flush()
            for campaign in campaigns:
                for invitee in invitees:
                    session.add(Invitation(campaign_id=campaign.id, nominator_tenant_id=invitee.id, quota=2))
            session.commit()
            open_id = campaigns[1].id
        nominations = []
        for invitee in invitees:
            with acting_as(invitee.id, users[6].id):
                client_id = session.scalar(select(Client.id).where(Client.tenant_id == invitee.id).limit(1))
                nomination = Nomination(tenant_id=organiser.id, campaign_id=open_id, nominator_tenant_id=invitee.id,
                                        client_id=client_id, reason="격리 추천", quantity=1, dong_code="9800000000",
                                        snapshot={"name": "격리"})
                session.add(nomination)
                session.flush()
                shared = "shared" if invitee in tenants[8:10] else f"own-{invitee.id}"
                for kind, digest in (("person", f"p-{invitee.id}"), ("address", shared)):
                    session.add(NominationKey(tenant_id=organiser.id, campaign_id=open_id, nomination_id=nomination.id,
                                              nominator_tenant_id=invitee.id, kind=kind, digest=digest))
                session.commit()
                nominations.append((nomination.id, invitee.id))
        with acting_as(organiser.id, users[7].id):
            for nomination_id, nominator_id in nominations:
                session.add(Flag(campaign_id=open_id, nomination_id=nomination_id, nominator_tenant_id=nominator_id,
                                 kind="over_nominator_quota", details={"quota": 2, "rank": 3}))
            session.commit()


def _orm_only(superuser_engine, model, tenant_id, user_id) -> set[int]:
    """Rows the ORM filter lets through, on a connection RLS does not restrict (superuser)."""
    with Session(bind=superuser_engine) as session, acting_as(tenant_id, user_id):
        return set(session.scalars(select(model.id)))


def _rls_only(app_engine, table, tenant_id, user_id) -> set[int]:
    """Rows RLS lets through for a plain SQL statement, which the ORM filter never sees."""
    with app_engine.begin() as connection:
        connection.execute(
            text("select set_config('hanaro.tenant_id', :t, true), set_config('hanaro.user_id', :u, true)"),
            {"t": str(tenant_id), "u": str(user_id) if user_id else ""},
        )
        return set(connection.execute(text(f"select id from {table}")).scalars())


@pytest.mark.committed
def test_orm_filter_and_rls_let_through_exactly_the_same_rows(app, world, superuser_engine):
    app_engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    rng = random.Random(7)
    compared = 0
    for tenant_id in world["tenants"]:
        for user_id in [None] + rng.sample(world["users"], 3):
            for model in _tenant_owned_models():
                orm_rows = _orm_only(superuser_engine, model, tenant_id, user_id)
                rls_rows = _rls_only(app_engine, model.__tablename__, tenant_id, user_id)
                assert orm_rows == rls_rows, (model.__name__, tenant_id, user_id)
                compared += 1
    app_engine.dispose()
    assert compared == TENANT_COUNT * 4 * len(_tenant_owned_models())
    assert len(_tenant_owned_models()) >= 20
    # And the comparison was not vacuous: tenants see some rows and never all of them.
    with superuser_engine.connect() as connection:
        total = connection.execute(text("select count(*) from memberships")).scalar()
    seen = _rls_only(create_engine(app.config["SQLALCHEMY_DATABASE_URI"]), "memberships", world["tenants"][0], None)
    assert 0 < len(seen) < total


PILOT_TABLES = ("pilot_workspaces", "pilot_participants", "pilot_phases", "pilot_planners", "pilot_feedback",
                "pilot_feedback_comments", "care_meetings", "care_meeting_members", "care_meeting_items",
                "care_meeting_actions", "pilot_metric_figures")


@pytest.mark.committed
def test_the_pilot_rows_of_the_world_are_shared_with_some_tenants_and_kept_from_others(app, world, superuser_engine):
    app_engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    for table in PILOT_TABLES:
        with superuser_engine.connect() as connection:
            total = connection.execute(text(f"select count(*) from {table}")).scalar()
        seen = [len(_rls_only(app_engine, table, tenant_id, None)) for tenant_id in world["tenants"]]
        owners = sum(1 for n in seen if n)
        assert total and max(seen) > 0 and min(seen) < total, table
        assert owners > 3, table  # not only the three coordinating tenants: participants see rows too
    app_engine.dispose()


CAMPAIGN_TABLES = ("campaign_invitations", "campaign_nominations", "campaign_nomination_keys", "campaign_flags")


@pytest.mark.committed
def test_campaign_rows_reach_the_organiser_and_the_nominator_they_name_and_nobody_else(app, world, superuser_engine):
    app_engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    tenants = world["tenants"]
    for table in CAMPAIGN_TABLES:
        with superuser_engine.connect() as connection:
            by_owner = dict(connection.execute(text(f"select tenant_id, count(*) from {table} group by tenant_id")).all())
            by_nominator = dict(connection.execute(
                text(f"select nominator_tenant_id, count(*) from {table} group by nominator_tenant_id")).all())
        assert set(by_owner) == {tenants[0], tenants[1]}, table
        for organiser in tenants[:2]:
            assert len(_rls_only(app_engine, table, organiser, None)) == by_owner[organiser], table
        for nominator in tenants[6:12]:
            seen = _rls_only(app_engine, table, nominator, None)
            assert len(seen) == by_nominator[nominator] > 0, table  # the rows naming it, both organisers'
        for outsider in tenants[2:6]:
            assert not _rls_only(app_engine, table, outsider, None), table
    # Campaigns: the organiser's own two; an invitee only the open ones (never one in preparation).
    campaigns = {t: _rls_only(app_engine, "campaigns", t, None) for t in tenants}
    assert [len(campaigns[t]) for t in tenants] == [2, 2, 0, 0, 0, 0, 1, 1, 2, 2, 1, 1]
    with superuser_engine.connect() as connection:
        preparing = set(connection.execute(text("select id from campaigns where status = 'preparation'")).scalars())
    assert len(preparing) == 2 and not preparing & set().union(*(campaigns[t] for t in tenants[6:12]))
    app_engine.dispose()


OVERSIGHT_TABLES = ("oversight_facilities", "oversight_facility_statuses", "oversight_inspections",
                    "oversight_inspection_items", "oversight_findings", "oversight_corrective_actions",
                    "oversight_action_events", "oversight_files", "oversight_sanctions", "oversight_sanction_findings",
                    "oversight_evaluations")


@pytest.mark.committed
def test_oversight_rows_reach_the_municipality_its_province_and_the_facility_and_nobody_else(app, world,
                                                                                          superuser_engine):
    app_engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    tenants = world["tenants"]
    # table -> (the province reads it, the facility reads its own facility's part of it)
    readers = {**{table: (True, True) for table in OVERSIGHT_TABLES},
               "oversight_evaluation_cycles": (True, False), "oversight_checklist_templates": (False, False),
               "oversight_checklist_template_items": (False, False)}
    for table, (province_reads, facility_reads) in readers.items():
        with superuser_engine.connect() as connection:
            total = connection.execute(text(f"select count(*) from {table}")).scalar()
            by_owner = dict(connection.execute(text(f"select tenant_id, count(*) from {table} group by tenant_id")).all())
        seen = {t: _rls_only(app_engine, table, t, None) for t in tenants}
        assert set(by_owner) == set(tenants[2:6]), table
        for municipality in tenants[2:6]:
            assert len(seen[municipality]) == by_owner[municipality], table  # its own, nobody else's
        for province, municipalities in ((tenants[0], tenants[2:6:2]), (tenants[1], tenants[3:6:2])):
            expected = sum(by_owner[m] for m in municipalities) if province_reads else 0
            assert len(seen[province]) == expected, table
        assert province_reads is (sum(len(seen[p]) for p in tenants[:2]) == total), table
        assert not seen[tenants[10]] and not seen[tenants[11]], table  # outsiders see nothing
        facility_rows = [len(seen[t]) for t in tenants[6:10]]
        if facility_reads:  # its own facility's records: fewer than its municipality keeps
            assert all(0 < n < by_owner[m] for n, m in zip(facility_rows, tenants[2:6])), table
        else:
            assert facility_rows == [0, 0, 0, 0], table
    app_engine.dispose()


@pytest.mark.committed
def test_a_planned_special_inspection_is_hidden_from_the_facility_by_both_enforcers(app, world, superuser_engine):
    from hanaro.oversight.models import Inspection

    app_engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    facility_tenant = world["tenants"][6]
    with Session(bind=superuser_engine) as session, acting_as(facility_tenant, None):
        kinds = sorted((i.kind.value, i.status.value) for i in session.scalars(select(Inspection)))
    assert kinds == [("regular", "completed"), ("regular", "planned")]
    assert len(_rls_only(app_engine, "oversight_inspections", facility_tenant, None)) == 2
    app_engine.dispose()


@pytest.mark.committed
def test_an_anonymous_visitor_sees_exactly_the_public_resources_through_both_enforcers(app, world, superuser_engine):
    from hanaro.tenancy.context import anonymous

    app_engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    with app_engine.begin() as connection:  # RLS only, no tenant set
        rls_rows = set(connection.execute(text("select id from resources")).scalars())
    with Session(bind=superuser_engine) as session, anonymous():  # ORM filter only
        orm_rows = set(session.scalars(select(Resource.id)))
        public = set(session.execute(select(Resource.id).where(Resource.scope == "public")).scalars())
        assert session.scalars(select(Membership)).all() == []  # nothing else leaks to the public
    app_engine.dispose()
    assert orm_rows == rls_rows == public and len(public) == TENANT_COUNT


@pytest.mark.committed
def test_rls_alone_isolates_when_the_orm_filter_is_switched_off(app, world):
    tenant_id = world["tenants"][0]
    event.remove(Session, "do_orm_execute", orm_filter._filter_tenant_owned)
    try:
        with app.app_context(), acting_as(tenant_id, None):
            memberships = db.session.scalars(select(Membership)).all()
            agreements = db.session.scalars(select(SharingAgreement)).all()
    finally:
        event.listen(Session, "do_orm_execute", orm_filter._filter_tenant_owned)
    assert memberships and {m.tenant_id for m in memberships} == {tenant_id}
    assert agreements and all(tenant_id in (a.tenant_id, a.partner_tenant_id) for a in agreements)


@pytest.mark.committed
def test_a_pooled_connection_used_by_tenant_a_then_by_no_tenant_sees_nothing(app, world):
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], pool_size=1, max_overflow=0)
    tenant_a = world["tenants"][0]
    with Session(bind=engine) as session, acting_as(tenant_a, None):
        first = session.connection().connection.dbapi_connection
        assert session.scalars(select(Membership)).all()
        session.commit()
    with Session(bind=engine) as session:
        assert session.connection().connection.dbapi_connection is first  # same pooled connection
        assert session.execute(text("select count(*) from memberships")).scalar() == 0
        assert session.execute(text("select count(*) from sharing_agreements")).scalar() == 0
    engine.dispose()


def test_rls_refuses_writing_another_tenants_rows(app, make):
    mine, theirs = make.tenant(), make.tenant()
    user = make.user()
    make.membership(user, theirs)
    with app.app_context():
        connection = db.session.connection()
        connection.execute(text("select set_config('hanaro.tenant_id', :t, true)"), {"t": str(mine.id)})
        with pytest.raises(DBAPIError, match="row-level security"):
            with connection.begin_nested():
                connection.execute(
                    text("insert into memberships (tenant_id, user_id, roles, active, created_at, public_id) "
                         "values (:t, :u, '[]', true, now(), 'x')"),
                    {"t": theirs.id, "u": user.id},
                )
        updated = connection.execute(
            text("update memberships set active = false where tenant_id = :t"), {"t": theirs.id}
        ).rowcount
        assert updated == 0  # invisible rows cannot be updated either


def test_rls_refuses_moving_a_row_to_another_tenant(app, make):
    mine, theirs = make.tenant(), make.tenant()
    make.member(mine)
    with app.app_context():
        connection = db.session.connection()
        connection.execute(text("select set_config('hanaro.tenant_id', :t, true)"), {"t": str(mine.id)})
        # The tenant_id trigger answers before the policy's WITH CHECK would.
        with pytest.raises(DBAPIError, match="never changes|only the owner"):
            with connection.begin_nested():
                connection.execute(text("update memberships set tenant_id = :other"), {"other": theirs.id})


def test_every_tenant_owned_table_refuses_a_new_tenant_id_by_trigger(superuser_engine):
    with superuser_engine.connect() as connection:
        guarded = set(connection.execute(text(
            "select event_object_table from information_schema.triggers "
            "where trigger_name = event_object_table || '_tenant_id_fixed' and event_manipulation = 'UPDATE'")).scalars())
    assert guarded == set(policy.REGISTRY)


def test_a_participant_allowed_to_update_cannot_make_the_row_its_own(app, make):
    """The receiver may update a referral (its answers), and a referral with tenant_id = receiver
    would pass the receiver's WITH CHECK: the trigger refuses it."""
    from hanaro.referrals.models import Referral

    sender, receiver = make.tenant(), make.tenant()
    client = make.client(sender)
    with make.as_tenant(sender) as session:
        referral = Referral(receiver_tenant_id=receiver.id, client_id=client.id, requested_service="식품",
                            reason="시험", response_due_on=date(2030, 1, 1), shared_fields=["age"], state="sent")
        session.add(referral)
    with app.app_context():
        connection = db.session.connection()
        connection.execute(text("select set_config('hanaro.tenant_id', :t, true)"), {"t": str(receiver.id)})
        assert connection.execute(text("update referrals set urgency = urgency where id = :id"),
                                  {"id": referral.id}).rowcount == 1  # the receiver may update it
        with pytest.raises(DBAPIError, match="never changes|only the owner"):
            with connection.begin_nested():
                connection.execute(text("update referrals set tenant_id = :me where id = :id"),
                                   {"me": receiver.id, "id": referral.id})
        db.session.rollback()


def test_the_app_connects_with_jit_off(app):
    """RLS sub-selects would otherwise push short queries over the JIT threshold (config.py)."""
    with app.app_context():
        assert db.session.execute(text("show jit")).scalar() == "off"


def _acting_tenant() -> str:
    return db.session.execute(text("select coalesce(current_setting('hanaro.tenant_id', true), '')")).scalar()


@pytest.mark.committed
def test_the_context_reaches_every_transaction_though_it_is_sent_only_when_it_changes(app, world):
    first, second = world["tenants"][:2]
    with app.app_context():
        with acting_as(first, None):
            assert _acting_tenant() == str(first)
            db.session.commit()
            assert _acting_tenant() == str(first)  # a new transaction on the same connection, same context
            with acting_as(second, None):
                assert _acting_tenant() == str(second)
            assert _acting_tenant() == str(first)
        assert _acting_tenant() == ""  # leaving the context clears it inside the open transaction
        db.session.rollback()
        with acting_as(first, None):
            db.session.rollback()  # the transaction ends while the context stays: the next one gets it
            assert _acting_tenant() == str(first)
        db.session.rollback()


def test_rolling_back_to_a_savepoint_makes_the_next_change_of_context_reach_postgresql(app, make):
    first, second = make.tenant(), make.tenant()
    with app.app_context(), acting_as(first.id, None):
        assert _acting_tenant() == str(first.id)
        savepoint = db.session.begin_nested()
        assert _acting_tenant() == str(first.id)  # the savepoint is made
        with acting_as(second.id, None):
            assert _acting_tenant() == str(second.id)
            savepoint.rollback()  # PostgreSQL is back to the first tenant's setting
            with acting_as(second.id, None):  # the same context again: it must be sent again
                assert _acting_tenant() == str(second.id)
        assert _acting_tenant() == str(first.id)
