"""Another tenant gets 404 for every object route, with nothing of the object in the answer."""
from __future__ import annotations

from datetime import date

import pytest

from .helpers import login
from .test_access_rules import OBJECT_ROUTE

# Every route that takes a public id: method, and how to build its URL values from the objects
# tenant A owns (see the ``two_tenants`` fixture). test_every_object_route_is_covered fails when a
# new object route is not listed here.
COVERED = {
    "tenancy.member": ("GET", lambda o: {"public_id": o["membership"].public_id}),
    "tenancy.revoke_member": ("POST", lambda o: {"public_id": o["membership"].public_id}),
    # A's pending invitation of someone else: B's admin may neither cancel it nor answer it.
    "tenancy.cancel_invitation": ("POST", lambda o: {"public_id": o["invitation"].public_id}),
    "tenancy.accept_invitation": ("POST", lambda o: {"public_id": o["invitation"].public_id}),
    "tenancy.decline_invitation": ("POST", lambda o: {"public_id": o["invitation"].public_id}),
    "tenancy.agreement": ("GET", lambda o: {"public_id": o["agreement"].public_id}),
    "tenancy.revoke_agreement": ("POST", lambda o: {"public_id": o["agreement"].public_id}),
    "tenancy.accept_agreement": ("POST", lambda o: {"public_id": o["proposal"].public_id}),
    "tenancy.decline_agreement": ("POST", lambda o: {"public_id": o["proposal"].public_id}),
    "tenancy.withdraw_agreement": ("POST", lambda o: {"public_id": o["proposal"].public_id}),
    "clients.show": ("GET", lambda o: {"public_id": o["client"].public_id}),
    "clients.edit": ("POST", lambda o: {"public_id": o["client"].public_id}),
    "clients.vital_status": ("POST", lambda o: {"public_id": o["client"].public_id}),
    "clients.move_household": ("POST", lambda o: {"public_id": o["client"].public_id}),
    "clients.new_consent": ("POST", lambda o: {"public_id": o["client"].public_id}),
    "clients.withdraw_consent": ("POST", lambda o: {"public_id": o["client"].public_id,
                                                    "consent_id": o["consent"].public_id}),
    "clients.consent_evidence": ("GET", lambda o: {"public_id": o["client"].public_id,
                                                   "consent_id": o["consent"].public_id}),
    **{f"cases.{name}": (method, lambda o, kind=kind: {"public_id": o[kind].public_id}) for name, method, kind in (
        ("case", "GET", "case"), ("assessment", "GET", "case"), ("plan", "GET", "case"), ("notes", "GET", "case"),
        ("conferences", "GET", "case"), ("timeline", "GET", "case"), ("update_details", "POST", "case"),
        ("change_status", "POST", "case"), ("close", "POST", "case"), ("reopen", "POST", "case"),
        ("invite", "POST", "case"), ("leave", "POST", "case"), ("save_assessment", "POST", "case"),
        ("add_goal", "POST", "case"), ("add_service", "POST", "case"), ("add_note", "POST", "case"),
        ("add_conference", "POST", "case"), ("assessment_version", "GET", "assessment"),
        ("remove_member", "POST", "case_member"), ("invitation", "GET", "case_member"),
        ("accept_invitation", "POST", "case_member"), ("decline_invitation", "POST", "case_member"),
        ("goal_status", "POST", "goal"), ("service_status", "POST", "planned_service"),
        ("add_task", "POST", "conference"), ("complete_task", "POST", "task"), ("integrated_view", "GET", "client"),
    )},
    **{f"resources.{name}": (method, lambda o: {"public_id": o["resource"].public_id}) for name, method in (
        ("show", "GET"), ("edit", "POST"), ("scope", "POST"), ("verify", "POST"),
    )},
    "resources.for_case": ("GET", lambda o: {"public_id": o["case"].public_id}),
    # The public directory shows public resources only: A's private one is 404 there for everyone.
    "directory.show": ("GET", lambda o: {"public_id": o["resource"].public_id}),
    "notifications.mark_read": ("POST", lambda o: {"public_id": o["notification"].public_id}),
    **{f"referrals.{name}": (method, lambda o, extra=extra: {"public_id": o["referral"].public_id, **extra(o)})
       for name, method, extra in (
        ("show", "GET", lambda o: {}), ("act", "POST", lambda o: {"action": "accept"}),
        ("send", "POST", lambda o: {}), ("reroute", "POST", lambda o: {}), ("post_message", "POST", lambda o: {}),
        ("upload", "POST", lambda o: {}), ("download", "GET", lambda o: {"file_id": o["referral_file"].public_id}),
    )},
    "referrals.case_referrals": ("GET", lambda o: {"public_id": o["case"].public_id}),
    **{f"care_meetings.{name}": (method, lambda o, extra=extra: {"public_id": o["care_meeting"].public_id, **extra})
       for name, method, extra in (
        ("show", "GET", {}), ("edit", "GET", {}), ("update", "POST", {}), ("save_minutes", "POST", {}),
        ("add_item", "POST", {}), ("update_item", "POST", {"position": 1}), ("move_item", "POST", {"position": 1}),
        ("add_action", "POST", {}),
    )},
    "care_meetings.action_status": ("POST", lambda o: {"public_id": o["meeting_action"].public_id}),
    **{f"pilots.{name}": (method, lambda o: {"public_id": o["workspace"].public_id}) for name, method in (
        ("workspace", "GET"), ("add_participant", "POST"), ("remove_participant", "POST"), ("save_phases", "POST"),
        ("add_planner", "POST"), ("set_feature", "POST"),
    )},
    **{f"pilot_metrics.{name}": (method, lambda o, extra=extra: {"public_id": o["workspace"].public_id, **extra})
       for name, method, extra in (("dashboard", "GET", {}), ("figure_csv", "GET", {"figure": "referrals"}),
                                   ("recompute", "POST", {}))},
    **{f"feedback.{name}": (method, lambda o: {"public_id": o["feedback"].public_id}) for name, method in (
        ("show", "GET"), ("change_status", "POST"), ("assign", "POST"), ("tags", "POST"), ("merge", "POST"),
        ("comment", "POST"), ("screenshot", "GET"),
    )},
    "campaign_figures.campaign": ("GET", lambda o: {"public_id": o["campaign"].public_id}),
    "campaign_figures.campaign_csv": ("GET", lambda o: {"public_id": o["campaign"].public_id, "figure": "by-dong"}),
    **{f"inspections.{name}": (method, lambda o, kind=kind, extra=extra: {"public_id": o[kind].public_id, **extra(o)})
       for name, method, kind, extra in (
        ("of_facility", "GET", "oversight_facility", dict), ("new", "GET", "oversight_facility", dict),
        ("create", "POST", "oversight_facility", dict), ("show", "GET", "inspection", dict),
        ("edit", "GET", "inspection", dict), ("update", "POST", "inspection", dict),
        ("start", "POST", "inspection", dict), ("save_checklist", "POST", "inspection", dict),
        ("add_item", "POST", "inspection", dict), ("add_finding", "POST", "inspection", dict),
        ("complete", "POST", "inspection", dict), ("cancel", "POST", "inspection", dict),
        ("follow_up", "POST", "inspection", dict), ("report", "GET", "inspection", dict),
        ("photo", "GET", "inspection", lambda o: {"file_id": o["inspection_photo"].public_id}),
    )},
    **{f"corrective_actions.{name}": (method, lambda o, extra=extra: {"public_id": o["corrective_action"].public_id,
                                                                     **extra(o)})
       for name, method, extra in (
        ("show", "GET", dict), ("step", "POST", lambda o: {"step": "accept"}), ("extend", "POST", dict),
        ("evidence_file", "GET", lambda o: {"file_id": o["action_evidence"].public_id}),
    )},
    **{f"oversight.{name}": (method, lambda o, kind=kind: {"public_id": o[kind].public_id})
       for name, method, kind in (
        ("facility", "GET", "oversight_facility"), ("edit_facility", "POST", "oversight_facility"),
        ("link_tenant", "POST", "oversight_facility"), ("close_facility", "POST", "oversight_facility"),
        ("facility_status", "GET", "oversight_facility"), ("report_status", "POST", "oversight_facility"),
        ("facility_sanctions", "GET", "oversight_facility"),
        ("new_sanction", "POST", "oversight_facility"), ("facility_evaluations", "GET", "oversight_facility"),
        ("sanction", "GET", "sanction"), ("correct_sanction", "POST", "sanction"),
        ("cycle", "GET", "evaluation_cycle"), ("record_evaluation", "POST", "evaluation_cycle"),
        ("evaluation", "GET", "evaluation"), ("edit_evaluation", "POST", "evaluation"),
        ("checklist", "POST", "checklist_template"),
    )},
    **{f"campaigns.{name}": (method, lambda o, kind=kind, extra=extra: {"public_id": o[kind].public_id, **extra})
       for name, method, kind, extra in (
        ("show", "GET", "campaign", {}), ("edit", "POST", "campaign", {}),
        ("change_status", "POST", "campaign", {"action": "review"}), ("run_checks", "POST", "campaign", {}),
        ("finalise", "POST", "campaign", {}), ("nominate_form", "GET", "campaign", {}),
        ("pick_client", "POST", "campaign", {}), ("nominate", "POST", "campaign", {}),
        ("nomination", "GET", "nomination", {}), ("decide", "POST", "nomination", {}),
        ("edit_nomination", "POST", "nomination", {}), ("withdraw", "POST", "nomination", {}),
        ("delivery", "POST", "nomination", {}), ("resolve_flag", "POST", "campaign_flag", {}),
    )},
}

# What another tenant's request would try to write, for POST routes.
ATTACK_FORM = {"reason": "침입 시도", "roles": ["viewer"], "name": "바꾼이름", "vital_status": "deceased",
               "vital_status_on": "2026-01-01", "household": "new", "household_relationship": "head",
               "scope": "region", "purposes": ["referral"], "granted_on": "2026-01-01", "evidence_reference": "x",
               "action": "accept", "note": "침입 시도", "reject_reason": "other", "status": "delivered",
               "delivered_on": "2026-01-01", "q": "가", "priority": "urgent"}


def test_every_object_route_is_covered(app):
    object_endpoints = {r.endpoint for r in app.url_map.iter_rules() if OBJECT_ROUTE.search(r.rule)}
    assert object_endpoints == set(COVERED)


@pytest.fixture
def two_tenants(app, make):
    a, b = make.tenant(name="가기관"), make.tenant(name="나기관")
    a_admin = make.member(a, roles=["tenant_admin", "case_manager"], name="가관리자")
    a_member = make.user(name="가구성원비밀")
    membership = make.membership(a_member, a, roles=["case_manager"])
    invitation = make.invitation(make.user(name="가초대비밀"), a, roles=["tenant_admin"], inviter=a_admin)
    third = make.tenant(name="다기관")
    agreement = make.agreement(a, third)
    proposal = make.agreement(a, third, record_kinds=("resource",), status="proposed")
    client = make.client(a, name="가대상자비밀")
    consent = make.consent(client)
    b_admin = make.member(b, roles=["tenant_admin", "inspector", "case_manager", "campaign_organiser"], name="나관리자")
    # A case on the client with the third tenant on its team, and one of each case record.
    case_objects = make.case_objects(client, a_admin, third, make.member(third, roles=["case_manager"]))
    resource = make.resource(a, name="가기관비밀자원", creator=a_admin, contact_person="가담당자비밀")
    from hanaro.notifications.service import notify

    with make.as_tenant(a):
        notification = notify(a.id, "referral_received", "가기관비밀알림")
    return {"a": a, "b": b, "a_admin": a_admin, "b_admin": b_admin, "membership": membership, "invitation": invitation,
            "agreement": agreement, "proposal": proposal, "client": client, "consent": consent, "resource": resource,
            **case_objects,
            "notification": notification, **_referral_objects(app, make, a, a_admin, client, case_objects["case"], third),
            **_care_meeting_objects(app, make, a, a_admin, case_objects["case"], third),
            "workspace": _pilot_workspace(app, a, third),
            "feedback": _feedback_item(app, a, a_admin),
            **(oversight := _oversight_objects(app, a, a_admin)),
            **_oversight_records(app, a, a_admin, oversight["oversight_facility"]),
            "campaign": (campaign := _campaign(app, a, a_admin, third)),
            **_campaign_nomination(app, make, a, a_admin, campaign, third),
            "secret_words": ["가구성원비밀", "가초대비밀", "다기관", "시험 협약", "가대상자비밀", "동의서-001", "생계 안정",
                             "가기관 내부 메모",
                             "가기관비밀자원", "가담당자비밀", "가기관비밀알림",
                             "가기관비밀의뢰", "가기관비밀사유", "가기관비밀메시지", "가기관비밀첨부",
                             "가기관비밀회의", "가기관비밀안건", "가기관비밀조치",
                             "가기관비밀시범사업", "가기관비밀의견", "가기관비밀캠페인", "가기관비밀시설", "가기관비밀항목", "가기관비밀지적", "가기관비밀시정",
                             "가기관비밀답변", "가기관비밀사진", "가기관비밀증빙", "추천비밀사유",
                             "가기관비밀현황", "가기관비밀처분", "가기관비밀평가", "가기관비밀점검표"]}


def _referral_objects(app, make, sender, worker, client, case, receiver):
    """A referral from A to the third tenant (a second consent covers it), with a file and a message."""
    from hanaro.cases.models import Case
    from hanaro.clients.models import Client
    from hanaro.core.db import db
    from hanaro.referrals import service as referrals
    from hanaro.tenancy.context import acting_as
    from hanaro.tenancy.models import Tenant

    make.consent(client, scope="tenants", tenants=[receiver], purposes=["referral"])
    with app.app_context(), acting_as(sender.id, worker.id):
        referral = referrals.create({"reason": "가기관비밀사유", "requested_service": "가기관비밀의뢰"},
                                    db.session.get(Client, client.id), worker, case=db.session.get(Case, case.id),
                                    receiver=db.session.get(Tenant, receiver.id))
        attachment = referrals.add_attachment(referral, "가기관비밀첨부.pdf", b"%PDF-1.4 secret", worker)
        referrals.send(referral, worker)
        referrals.add_message(referral, "가기관비밀메시지", worker)
        db.session.commit()
        return {"referral": referral, "referral_file": attachment}


def _pilot_workspace(app, coordinating, participant):
    """A pilot workspace A runs, with the third tenant taking part."""
    from hanaro.core.db import db
    from hanaro.pilots.models import Participant, Workspace
    from hanaro.tenancy.context import acting_as

    with app.app_context(), acting_as(coordinating.id, None):
        workspace = Workspace(code=f"pilot-{coordinating.id}", name="가기관비밀시범사업", region_codes=[])
        db.session.add(workspace)
        db.session.flush()
        db.session.add(Participant(workspace_id=workspace.id, participant_tenant_id=participant.id,
                                   joined_on=date(2026, 1, 1)))
        db.session.commit()
        return workspace


def _care_meeting_objects(app, make, organiser, admin, case, member):
    """A care meeting of A (the third tenant a member) with a case item and an action for the third
    tenant; the feature is on for everyone, so B's 404s come from the meeting rules themselves."""
    from datetime import timedelta

    from hanaro.core import clock
    from hanaro.core.db import db
    from hanaro.pilots.models import (AgendaItem, AgendaKind, CareMeeting, CareMeetingMember, FeatureSwitch,
                                      MeetingAction, SwitchState)

    with app.app_context():
        db.session.add(FeatureSwitch(key="care_meetings", state=SwitchState.EVERYONE))
        db.session.commit()
    with make.as_tenant(organiser, admin) as session:
        meeting = CareMeeting(title="가기관비밀회의", held_on=clock.today(), created_by_user_id=admin.id)
        session.add(meeting)
        session.flush()
        session.add(CareMeetingMember(meeting_id=meeting.id, member_tenant_id=member.id))
        session.add(AgendaItem(meeting_id=meeting.id, kind=AgendaKind.CASE, title="가기관비밀안건", case_id=case.id,
                               position=1))
        action = MeetingAction(meeting_id=meeting.id, assignee_tenant_id=member.id, description="가기관비밀조치",
                               due_on=clock.today() + timedelta(days=7))
        session.add(action)
    return {"care_meeting": meeting, "meeting_action": action}


def _feedback_item(app, submitter, user):
    """Feedback A sent in the workspace it runs, with a screenshot; the switch is on for everyone,
    so B's 404s come from the feedback rules themselves."""
    from hanaro.core.db import db
    from hanaro.pilots.models import FeatureSwitch, Feedback, SwitchState, Workspace
    from hanaro.tenancy.context import acting_as
    from sqlalchemy import select

    with app.app_context(), acting_as(submitter.id, user.id):
        db.session.add(FeatureSwitch(key="pilot_feedback", state=SwitchState.EVERYONE))
        workspace = db.session.scalar(select(Workspace).where(Workspace.tenant_id == submitter.id))
        item = Feedback(workspace_id=workspace.id, coordinator_tenant_id=submitter.id, submitter_user_id=user.id,
                        category="bug", description="가기관비밀의견", screenshot_type="image/png",
                        screenshot=b"\x89PNG\r\n\x1a\n", tags=[])
        db.session.add(item)
        db.session.commit()
        return item


def _campaign(app, organiser, user, nominator):
    """A distribution campaign A organises, open for nominations by the third tenant."""
    from hanaro.campaigns import service as campaigns
    from hanaro.core import clock
    from hanaro.core.db import db
    from hanaro.tenancy.context import acting_as
    from hanaro.tenancy.models import Tenant

    with app.app_context(), acting_as(organiser.id, user.id):
        campaign = campaigns.create_campaign({
            "title": "가기관비밀캠페인", "category": "kimjang", "item_description": "김장김치", "quantity": 10,
            "unit": "상자", "opens_on": clock.today(), "closes_on": clock.today(),
            "nominators": [{"tenant": db.session.get(Tenant, nominator.id).code}]}, user)
        campaigns.open_nominations(campaign, user)
        db.session.commit()
        return campaign


def _campaign_nomination(app, make, organiser, user, campaign, nominator):
    """The third tenant's nomination of its client in A's campaign, over its quota of none (a flag)."""
    from hanaro.campaigns import checks, service as campaigns
    from hanaro.clients.models import Client
    from hanaro.core.db import db
    from hanaro.tenancy.context import acting_as
    from hanaro.tenancy.models import Tenant

    dong = make.region(name="가기관관할동", parent_code=organiser.region_code)
    person = make.client(nominator, name="다기관추천대상", dong_code=dong.code)
    make.consent(person, scope="tenants", tenants=[organiser], purposes=["campaign"])
    worker = make.member(nominator, roles=["case_manager"])
    with app.app_context(), acting_as(nominator.id, worker.id):
        nomination = campaigns.nominate(campaigns.get_campaign_or_404(campaign.public_id),
                                        db.session.get(Client, person.id),
                                        {"reason": "추천비밀사유", "priority": "normal"}, worker).nomination
        db.session.commit()
    with app.app_context(), acting_as(organiser.id, user.id):
        own = campaigns.get_campaign_or_404(campaign.public_id)
        campaigns.update_campaign(own, {"nominators": [{"tenant": db.session.get(Tenant, nominator.id).code,
                                                        "quota": 0}]}, user)
        checks.recheck(own)
        flag = campaigns.flags_of(own)[0]
        db.session.commit()
    return {"nomination": nomination, "campaign_flag": flag}


def _oversight_objects(app, owner, user):
    """A facility A supervises (standing in for a municipality): an inspection under way with an
    item and its photo, and a finding whose corrective action was answered with evidence."""
    from hanaro.core.db import db
    from hanaro.oversight.models import (
        ActionEvent, ActionState, Area, CorrectiveAction, Facility, FileKind, Finding, Inspection, InspectionItem,
        InspectionKind, InspectionStatus, OversightFile,
    )
    from hanaro.tenancy.context import acting_as

    with app.app_context(), acting_as(owner.id, user.id):
        facility = Facility(name="가기관비밀시설", facility_type="elderly", operator_kind="corporation",
                            operator_name="법인", licence_number="가-1", licence_date=date(2020, 1, 1), capacity=10,
                            address="주소")
        db.session.add(facility)
        db.session.flush()
        part = {"facility_id": facility.id}
        inspection = Inspection(**part, kind=InspectionKind.REGULAR, status=InspectionStatus.IN_PROGRESS,
                                planned_on=date(2026, 1, 5), conducted_on=date(2026, 1, 5), inspector_user_ids=[user.id])
        db.session.add(inspection)
        db.session.flush()
        item = InspectionItem(**part, inspection_id=inspection.id, area=Area.SAFETY, position=1, text="가기관비밀항목")
        db.session.add(item)
        db.session.flush()
        finding = Finding(**part, inspection_id=inspection.id, item_id=item.id, area=Area.SAFETY,
                          description="가기관비밀지적")
        db.session.add(finding)
        db.session.flush()
        action = CorrectiveAction(**part, finding_id=finding.id, inspection_id=inspection.id, requirement="가기관비밀시정",
                                  due_on=date(2026, 2, 1), state=ActionState.ANSWERED, answer="가기관비밀답변")
        db.session.add(action)
        db.session.flush()
        event = ActionEvent(**part, action_id=action.id, action="answer", from_state=ActionState.REQUESTED,
                            to_state=ActionState.ANSWERED, note="가기관비밀답변", actor_tenant_id=owner.id)
        db.session.add(event)
        db.session.flush()
        stored = {"uploader_tenant_id": owner.id, "size": 4}
        photo = OversightFile(**part, **stored, kind=FileKind.PHOTO, inspection_id=inspection.id, item_id=item.id,
                              filename="가기관비밀사진.jpg", content_type="image/jpeg", content=b"\xff\xd8\xff\xe0")
        evidence = OversightFile(**part, **stored, kind=FileKind.EVIDENCE, action_id=action.id, event_id=event.id,
                                 filename="가기관비밀증빙.pdf", content_type="application/pdf", content=b"%PDF")
        db.session.add_all([photo, evidence])
        db.session.commit()
        return {"oversight_facility": facility, "inspection": inspection, "corrective_action": action,
                "inspection_photo": photo, "action_evidence": evidence}


def _oversight_records(app, owner, user, facility):
    """The facility's status report, a sanction, an evaluation in A's cycle, and A's checklist template."""
    from hanaro.core.db import db
    from hanaro.oversight.models import (
        Area, ChecklistTemplate, ChecklistTemplateItem, Evaluation, EvaluationCycle, FacilityStatus, Sanction,
    )
    from hanaro.tenancy.context import acting_as

    with app.app_context(), acting_as(owner.id, user.id):
        part = {"facility_id": facility.id}
        db.session.add(FacilityStatus(**part, residents=9, staff_count=4, note="가기관비밀현황",
                                      reporter_tenant_id=owner.id))
        sanction = Sanction(**part, sanction_type="fine", legal_basis="법", reason="가기관비밀처분", amount=100,
                            decided_on=date(2026, 1, 10), effective_from=date(2026, 1, 10))
        cycle = EvaluationCycle(year=2025, facility_type="elderly", name="가기관비밀평가",
                                areas=[{"code": "all", "label": "전체", "max_score": 100}])
        template = ChecklistTemplate(name="가기관비밀점검표", facility_type="elderly")
        db.session.add_all([sanction, cycle, template])
        db.session.flush()
        template.items.append(ChecklistTemplateItem(tenant_id=owner.id, area=Area.SAFETY, position=1, text="소방"))
        evaluation = Evaluation(**part, cycle_id=cycle.id, year=2025, facility_type="elderly", total=80, max_total=100,
                                grade="B", evaluated_on=date(2025, 10, 1), comment="가기관비밀평가",
                                scores=[{"code": "all", "label": "전체", "max_score": 100, "score": 80}])
        db.session.add(evaluation)
        db.session.commit()
        return {"sanction": sanction, "evaluation_cycle": cycle, "evaluation": evaluation,
                "checklist_template": template}


OVERSIGHT_UNCHANGED = {"oversight": ("in_progress", 1, None, 1, "answered", 1, 1, 2),
                       "oversight_records": ("가기관비밀시설", None, None, 1, 1, 1, 80, "가기관비밀점검표", 1)}


def _oversight_state_of(objects) -> dict:
    from hanaro.core.db import db
    from hanaro.oversight.models import (
        ActionEvent, ChecklistTemplate, CorrectiveAction, Evaluation, EvaluationCycle, Facility, FacilityStatus,
        Finding, Inspection, InspectionItem, OversightFile, Sanction,
    )
    from sqlalchemy import func, select

    def count(model):
        return db.session.scalar(select(func.count()).select_from(model))

    inspection = db.session.get(Inspection, objects["inspection"].id)
    action = db.session.get(CorrectiveAction, objects["corrective_action"].id)
    item = db.session.scalar(select(InspectionItem).where(InspectionItem.inspection_id == inspection.id))
    facility = db.session.get(Facility, objects["oversight_facility"].id)
    template = db.session.get(ChecklistTemplate, objects["checklist_template"].id)
    return {"oversight": (inspection.status.value, count(Inspection), item.result, count(Finding), action.state.value,
                          action.version, count(ActionEvent), count(OversightFile)),
            "oversight_records": (facility.name, facility.closed_on, facility.facility_tenant_id, count(FacilityStatus),
                                  count(Sanction), count(EvaluationCycle),
                                  db.session.get(Evaluation, objects["evaluation"].id).total, template.name,
                                  len(template.items))}


def _url(app, endpoint, objects):
    from flask import url_for

    with app.test_request_context():
        return url_for(endpoint, **COVERED[endpoint][1](objects))


@pytest.mark.parametrize("endpoint", sorted(COVERED))
def test_another_tenant_gets_404_and_nothing_leaks(app, client, two_tenants, endpoint):
    method = COVERED[endpoint][0]
    url = _url(app, endpoint, two_tenants)
    login(client, two_tenants["b_admin"].email)
    response = client.open(url, method=method, data=ATTACK_FORM)
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    for word in two_tenants["secret_words"]:
        assert word not in body
    assert _state_of(app, two_tenants) == UNCHANGED


UNCHANGED = {"membership_active": True, "invitation": (False, "pending"), "agreement_revoked": False,
             "proposal_status": "proposed", "client_name": "가대상자비밀",
             "vital_status": "alive", "consents": 2, "consent_withdrawn": False, "resource_scope": "private",
             "resource_changes": 1, "notification_read": False,
             "referrals": 1, "referral_state": "sent", "referral_events": 1, "referral_messages": 1, "referral_files": 1, **OVERSIGHT_UNCHANGED,
             "campaign_status": "open", "nomination": ("submitted", "추천비밀사유", "pending"), "campaign_flag": "open"}


def _state_of(app, objects):
    """What tenant A's objects look like now, read as tenant A."""
    from hanaro.clients.models import Client, Consent
    from hanaro.core.db import db
    from hanaro.notifications.models import Notification
    from hanaro.resources.models import Resource, ResourceChange
    from hanaro.tenancy.context import acting_as
    from hanaro.tenancy.models import Membership, SharingAgreement
    from sqlalchemy import func, select

    with app.app_context(), acting_as(objects["a"].id, None):
        client = db.session.get(Client, objects["client"].id)
        consent = db.session.get(Consent, objects["consent"].id)
        return {
            "membership_active": db.session.get(Membership, objects["membership"].id).active,
            "invitation": (lambda m: (m.active, m.invitation_status.value))(
                db.session.get(Membership, objects["invitation"].id)),
            "agreement_revoked": db.session.get(SharingAgreement, objects["agreement"].id).revoked_at is not None,
            "proposal_status": db.session.get(SharingAgreement, objects["proposal"].id).status.value,
            "client_name": client.name,
            "vital_status": client.vital_status.value,
            "consents": db.session.scalar(select(func.count()).select_from(Consent).where(Consent.client_id == client.id)),
            "consent_withdrawn": consent.withdrawn_at is not None,
            "resource_scope": db.session.get(Resource, objects["resource"].id).scope.value,
            "resource_changes": db.session.scalar(select(func.count()).select_from(ResourceChange).where(
                ResourceChange.resource_id == objects["resource"].id)),
            "notification_read": db.session.get(Notification, objects["notification"].id).read_at is not None,
            **_referral_state_of(objects["referral"]),
            **_oversight_state_of(objects),
            **_campaign_state_of(objects),
        }


def _campaign_state_of(objects) -> dict:
    from hanaro.campaigns.models import Campaign, Flag, Nomination
    from hanaro.core.db import db

    nomination = db.session.get(Nomination, objects["nomination"].id)
    return {"campaign_status": db.session.get(Campaign, objects["campaign"].id).status.value,
            "nomination": (nomination.status.value, nomination.reason, nomination.delivery_status.value),
            "campaign_flag": db.session.get(Flag, objects["campaign_flag"].id).status.value}


def _referral_state_of(referral) -> dict:
    from hanaro.core.db import db
    from hanaro.referrals.models import Referral, ReferralAttachment, ReferralEvent, ReferralMessage
    from sqlalchemy import func, select

    def count(model, *where):
        return db.session.scalar(select(func.count()).select_from(model).where(*where))

    return {
        "referrals": count(Referral, Referral.client_id == referral.client_id),
        "referral_state": db.session.scalar(select(Referral.state).where(Referral.id == referral.id)).value,
        **{key: count(model, model.referral_id == referral.id) for key, model in (
            ("referral_events", ReferralEvent), ("referral_messages", ReferralMessage),
            ("referral_files", ReferralAttachment))},
    }


@pytest.mark.parametrize("action", ["accept", "waitlist", "decline", "start", "complete", "not_complete", "withdraw"])
def test_another_tenant_cannot_answer_a_referral(app, client, two_tenants, action):
    login(client, two_tenants["b_admin"].email)
    response = client.post(f"/referrals/{two_tenants['referral'].public_id}/{action}",
                           data={"note": "침입 시도", "decline_reason": "capacity"})
    assert response.status_code == 404
    assert _state_of(app, two_tenants) == UNCHANGED


def test_another_tenants_inbox_and_outbox_do_not_list_the_referral(app, client, two_tenants):
    login(client, two_tenants["b_admin"].email)
    for path in ("/referrals", "/referrals?box=outbox", "/referrals?state=sent", "/referrals?box=outbox&state=open"):
        body = client.get(path).get_data(as_text=True)
        for word in two_tenants["secret_words"]:
            assert word not in body, (path, word)
    missing = client.get("/referrals/does-not-exist")
    foreign = client.get(f"/referrals/{two_tenants['referral'].public_id}")
    assert missing.status_code == foreign.status_code == 404
    assert _without_csrf(missing.get_data(as_text=True)) == _without_csrf(foreign.get_data(as_text=True))


def test_a_missing_object_and_another_tenants_object_answer_the_same(app, client, two_tenants):
    login(client, two_tenants["b_admin"].email)
    missing = client.get("/agreements/does-not-exist")
    foreign = client.get(f"/agreements/{two_tenants['agreement'].public_id}")
    assert missing.status_code == foreign.status_code == 404
    assert _without_csrf(missing.get_data(as_text=True)) == _without_csrf(foreign.get_data(as_text=True))


def _without_csrf(page: str) -> str:
    """CSRF tokens carry a timestamp; everything else of two 404 pages must be identical."""
    import re

    return re.sub(r'(name="csrf[-_]token" (?:content|value)=")[^"]+"', r'\1"', page)


def test_tenant_id_in_a_form_is_ignored(app, client, make):
    mine, theirs = make.tenant(), make.tenant()
    admin = make.member(mine, roles=["tenant_admin"])
    login(client, admin.email)
    response = client.post(
        "/admin/members",
        data={"email": "new@test.example", "display_name": "신규", "initial_password": "long-enough-pw",
              "roles": ["viewer"], "tenant_id": str(theirs.id)},
    )
    assert response.status_code == 303
    from hanaro.core.db import db
    from hanaro.tenancy.context import acting_as
    from hanaro.tenancy.models import Membership
    from sqlalchemy import select

    with app.app_context(), acting_as(theirs.id, None):
        assert db.session.scalars(select(Membership)).all() == []
    with app.app_context(), acting_as(mine.id, None):
        assert len(db.session.scalars(select(Membership)).all()) == 2


def test_no_form_schema_accepts_a_tenant_id(app):
    from hanaro.core.forms import FormSchema

    def all_subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from all_subclasses(sub)

    schemas = list(all_subclasses(FormSchema))
    assert len(schemas) >= 6
    for schema in schemas:
        assert not any("tenant_id" in name for name in schema().fields), schema.__name__


# Fragments of reference data take no object: every tenant gets the same answer, and searching
# them for another tenant's words finds none of its rows.
REFERENCE_FRAGMENTS = ("/regions/dongs?municipality=9801000000&target=f", "/tenants/options?q=비밀&target=f",
                       "/tenants/options?q=가대상자&target=f", "/tenants/options?q=나기관&target=f",
                       "/regions/areas?area_municipality=9801000000&target=f&name=f")


def test_reference_fragments_answer_every_tenant_alike_and_leak_nothing(app, make, two_tenants):
    from hanaro.tenancy.models import RegionLevel

    make.region("9801000000", "동구", RegionLevel.MUNICIPALITY)
    make.region("9801051000", "동녘동", parent_code="9801000000")
    answers = []
    for user in (two_tenants["a_admin"], two_tenants["b_admin"]):
        browser = app.test_client()
        login(browser, user.email)
        answers.append([browser.get(url) for url in REFERENCE_FRAGMENTS])
    assert [r.status_code for r in answers[1]] == [200] * len(REFERENCE_FRAGMENTS)
    assert [r.data for r in answers[0]] == [r.data for r in answers[1]]
    assert "동녘동" in answers[1][0].get_data(as_text=True) and "나기관" in answers[1][3].get_data(as_text=True)
    for response in answers[1][1:3]:  # a client's name and the secrets name no tenant
        assert "<option value=" not in response.get_data(as_text=True)
    for response in answers[1]:
        for word in two_tenants["secret_words"]:
            assert word not in response.get_data(as_text=True)
