"""Pilot workspaces (participants, feedback, care meetings), resource distribution campaigns
(invitations, nominations) and facility oversight (facilities, inspections, findings, corrective
actions) for the national data set. Municipalities run them for the tenants of their own area;
in the fixed block, bench-municipality runs one of each for its partners."""
from __future__ import annotations

import math
import random
from datetime import timedelta

from . import copy, names
from .plan import spread
from .seed import BASE, BASE_DAY, World, at


def local_tenants(world: World, runner) -> list:
    """The other tenants of the runner's block in its municipality (not provinces)."""
    return [t for t in world.blocks[runner.block]
            if t is not runner and t.kind != "province" and t.region_code[:5] == runner.region_code[:5]]


def runners(world: World, block: str, rng: random.Random, share: float) -> list:
    """Municipalities that run a programme: in the fixed block its municipality, elsewhere a
    ``share`` of them and always the largest tenant (when it is a municipality)."""
    largest = max(world.blocks["rest"], key=lambda t: (t.cases, -t.id))
    chosen = []
    for tenant in world.blocks[block]:
        if tenant.kind == "municipality" and (block == "fixed" or tenant is largest or rng.random() < share):
            if local_tenants(world, tenant):
                chosen.append(tenant)
    return chosen


# -- pilots -------------------------------------------------------------------------------------------------------

FEEDBACK_STATUSES = (("received", 40), ("reviewing", 20), ("planned", 15), ("done", 15), ("rejected", 10))
FEEDBACK_TEXTS = (("cases", "/cases", "사례 목록에서 동 필터를 고르면 목록이 늦게 뜹니다."),
                  ("referrals", "/referrals", "받은 의뢰 목록에 응답 기한을 더 크게 보여 주세요."),
                  ("resources", "/resources/search", "자원 검색에서 연령 조건을 함께 쓰면 결과가 없을 때가 있습니다."),
                  ("clients", "/clients", "대상자 등록 화면에 가구원 한꺼번에 입력 기능이 필요합니다."))


def load_pilots(world: World, loader: copy.Loader) -> None:
    world.workspaces = {}  # runner id -> (workspace id, participants)
    with loader.rows("pilot_workspaces", "id tenant_id public_id code name description region_codes status "
                                         "created_at") as write:
        for block in world.blocks:
            rng = world.rng(block, "pilot_workspaces")
            for runner in runners(world, block, rng, 0.3):
                workspace_id = world.new_id("pilot_workspaces")
                world.workspaces[runner.id] = (workspace_id, local_tenants(world, runner))
                write((workspace_id, runner.id, names.public_id(rng), f"pilot-{runner.code}",
                       f"{runner.name} 통합돌봄 시범사업", "읍면동 단위 통합돌봄 시범 운영", [runner.region_code], "active",
                       BASE - timedelta(days=320)))
    with loader.rows("pilot_participants", "id tenant_id workspace_id participant_tenant_id joined_on left_on") as write:
        for runner_id, (workspace_id, participants) in world.workspaces.items():
            for tenant in participants:
                write((world.new_id("pilot_participants"), runner_id, workspace_id, tenant.id,
                       BASE_DAY - timedelta(days=300), None))
    with loader.rows("pilot_phases", "id tenant_id workspace_id phase starts_on ends_on") as write:
        for runner_id, (workspace_id, _participants) in world.workspaces.items():
            write((world.new_id("pilot_phases"), runner_id, workspace_id, "preparation",
                   BASE_DAY - timedelta(days=320), BASE_DAY - timedelta(days=231)))
            write((world.new_id("pilot_phases"), runner_id, workspace_id, "pilot", BASE_DAY - timedelta(days=230), None))
    with loader.rows("pilot_planners", "id tenant_id workspace_id name dong_code user_id") as write:
        rng = world.rng("all", "pilot_planners")
        for runner_id, (workspace_id, _participants) in world.workspaces.items():
            for dong in world.tenants[runner_id].dongs[:5]:
                write((world.new_id("pilot_planners"), runner_id, workspace_id, names.person(rng), dong, None))
    with loader.rows("feature_switches", "id key state workspace_id changed_at changed_by_user_id") as write:
        for key in ("pilot_feedback", "care_meetings"):
            write((world.new_id("feature_switches"), key, "everyone", None, BASE - timedelta(days=200), None))
    _load_feedback(world, loader)


def _feedback_counts(world: World, block: str, participants: list) -> list[int]:
    if block == "fixed":
        return [10] * len(participants)
    return spread(max(len(participants), world.sizes.cases // 2000), [t.cases + 5 for t in participants])


def _load_feedback(world: World, loader: copy.Loader) -> None:
    comments = []
    with loader.rows("pilot_feedback", "id tenant_id public_id workspace_id coordinator_tenant_id submitter_user_id "
                                       "category severity description page_url page_title capability dong_code phase "
                                       "status assignee_user_id tags created_at status_changed_at version") as write:
        for block in world.blocks:
            rng = world.rng(block, "pilot_feedback")
            for runner in world.blocks[block]:
                if runner.id not in world.workspaces:
                    continue
                workspace_id, participants = world.workspaces[runner.id]
                coordinator = runner.with_role("pilot_coordinator")[0]
                for tenant, count in zip(participants, _feedback_counts(world, block, participants)):
                    for _ in range(count):
                        capability, path, text = rng.choice(FEEDBACK_TEXTS)
                        status = rng.choices(*zip(*FEEDBACK_STATUSES))[0]
                        sent = BASE - timedelta(hours=rng.randint(2, 24 * 200))
                        changed = sent + timedelta(days=rng.randint(1, 10)) if status != "received" else sent
                        feedback_id = world.new_id("pilot_feedback")
                        write((feedback_id, tenant.id, names.public_id(rng), workspace_id, runner.id,
                               rng.choice(tenant.users), rng.choice(("discomfort", "bug", "suggestion", "policy")),
                               rng.choice(("low", "medium", "high")), text, path, capability, capability,
                               tenant.region_code, "pilot", status, coordinator if status != "received" else None, [],
                               sent, changed, 1 if status == "received" else 2))
                        if status != "received":
                            comments.append((feedback_id, tenant.id, runner.id, coordinator, status, changed))
    with loader.rows("pilot_feedback_comments", "id tenant_id feedback_id coordinator_tenant_id author_tenant_id "
                                                "author_user_id body status_to at") as write:
        for feedback_id, tenant_id, runner_id, coordinator, status, changed in comments:
            write((world.new_id("pilot_feedback_comments"), tenant_id, feedback_id, runner_id, runner_id, coordinator,
                   "검토 후 반영 여부를 알려 드리겠습니다.", status, changed))


def load_care_meetings(world: World, loader: copy.Loader) -> None:
    meetings = []  # (meeting id, runner, members, case, held_on)
    with loader.rows("care_meetings", "id tenant_id public_id workspace_id title held_on location minutes roster "
                                      "created_by_user_id created_at") as write:
        for block in world.blocks:
            rng = world.rng(block, "care_meetings")
            for runner in world.blocks[block]:
                if runner.id not in world.workspaces:
                    continue
                workspace_id, participants = world.workspaces[runner.id]
                count = 6 if block == "fixed" else max(2, math.isqrt(runner.cases) // 3)
                for n in range(count):
                    held = BASE_DAY - timedelta(days=14 * (n + 1) - rng.randint(0, 6))
                    members = rng.sample(participants, k=min(len(participants), rng.randint(2, 5)))
                    meeting_id = world.new_id("care_meetings")
                    cases = world.cases[runner.id]
                    meetings.append((meeting_id, runner, members, rng.choice(cases) if cases else None, held))
                    write((meeting_id, runner.id, names.public_id(rng), workspace_id, f"{held.month}월 지역케어회의",
                           held, f"{runner.name} 회의실", "위기가구 지원 방안을 논의함.", [],
                           runner.with_role("pilot_coordinator")[0], at(held, 480)))
    _load_meeting_parts(world, loader, meetings)


def _load_meeting_parts(world: World, loader: copy.Loader, meetings: list) -> None:
    with loader.rows("care_meeting_members", "id tenant_id meeting_id member_tenant_id external_name "
                                             "external_affiliation") as write:
        for meeting_id, runner, members, _case, _held in meetings:
            for tenant in members:
                write((world.new_id("care_meeting_members"), runner.id, meeting_id, tenant.id, None, None))
            write((world.new_id("care_meeting_members"), runner.id, meeting_id, None, "지역 주민 대표", "주민자치회"))
    items = []
    with loader.rows("care_meeting_items", "id tenant_id meeting_id kind title case_id discussion decision "
                                           "position") as write:
        for meeting_id, runner, _members, case, _held in meetings:
            if case is not None:
                item_id = world.new_id("care_meeting_items")
                items.append(item_id)
                write((item_id, runner.id, meeting_id, "case", "위기가구 사례 검토", case.id, "지원 방안 논의",
                       "방문 상담 후 서비스 연계", 0))
            write((world.new_id("care_meeting_items"), runner.id, meeting_id, "policy", "겨울철 한파 대비", None,
                   "취약 가구 안부 확인 체계 점검", "주 1회 안부 전화", 1))
    with loader.rows("care_meeting_actions", "id tenant_id public_id meeting_id assignee_tenant_id description due_on "
                                             "status updated_at") as write:
        rng = world.rng("all", "care_meeting_actions")
        for meeting_id, runner, members, _case, held in meetings:
            for tenant in members[:2]:
                status = "open" if held > BASE_DAY - timedelta(days=30) else rng.choice(("done", "done", "open"))
                write((world.new_id("care_meeting_actions"), runner.id, names.public_id(rng), meeting_id, tenant.id,
                       "대상 가구 방문 후 결과 공유", held + timedelta(days=14), status, at(held, 600)))


# -- campaigns -------------------------------------------------------------------------------------------------

CAMPAIGN_KINDS = (("kimjang", "김장김치 나눔", "상자"), ("heating", "겨울 난방유 지원", "드럼"),
                  ("food", "명절 식품 꾸러미", "꾸러미"), ("necessities", "생필품 나눔", "세트"))
CAMPAIGN_STATUSES = ("open", "review", "confirmed", "completed", "preparation")


def load_campaigns(world: World, loader: copy.Loader) -> None:
    world.campaigns = []  # (campaign id, public id, organiser, status, invited)
    with loader.rows("campaigns", "id tenant_id public_id title category item_description sponsor quantity unit "
                                  "per_household eligibility_notes opens_on closes_on dong_quotas status "
                                  "created_by_user_id created_at updated_at opened_at checked_at confirmed_at "
                                  "completed_at version") as write:
        for block in world.blocks:
            rng = world.rng(block, "campaigns")
            for organiser in runners(world, block, rng, 0.35):
                invited = local_tenants(world, organiser)[:8]
                for n in range(2 if block == "fixed" else rng.randint(1, 2)):
                    # The first is past preparation, so the invited tenants see a campaign.
                    status = CAMPAIGN_STATUSES[n] if block == "fixed" else rng.choice(CAMPAIGN_STATUSES[:4 + n])
                    category, title, unit = rng.choice(CAMPAIGN_KINDS)
                    opens = BASE_DAY - timedelta(days=rng.randint(10, 60) if status in ("open", "preparation") else
                                                 rng.randint(60, 300))
                    campaign_id, public_id = world.new_id("campaigns"), names.public_id(rng)
                    world.campaigns.append((campaign_id, public_id, organiser, status, invited))
                    moments = _campaign_moments(status, opens)
                    write((campaign_id, organiser.id, public_id, f"{opens.year} {title}", category, title,
                           "지역 상공인 나눔회", 200, unit, 1, "저소득 가구 우선", opens, opens + timedelta(days=30), {},
                           status, organiser.with_role("campaign_organiser")[0], at(opens - timedelta(days=7)),
                           at(opens, 600), *moments, 1 + sum(m is not None for m in moments)))
    with loader.rows("campaign_invitations", "id tenant_id campaign_id nominator_tenant_id quota invited_at") as write:
        for campaign_id, _public_id, organiser, _status, invited in world.campaigns:
            for tenant in invited:
                write((world.new_id("campaign_invitations"), organiser.id, campaign_id, tenant.id, 10,
                       BASE - timedelta(days=70)))
    _load_nominations(world, loader)


def _campaign_moments(status: str, opens) -> list:
    """opened_at, checked_at, confirmed_at, completed_at for a campaign now in ``status``."""
    reached = CAMPAIGN_STATUSES.index(status) if status != "preparation" else -1
    return [at(opens + timedelta(days=31 * i), 540) if i <= reached else None for i in range(4)]


NOMINATION_OUTCOMES = {"open": ("submitted",), "review": ("submitted", "accepted", "rejected"),
                       "confirmed": ("accepted", "accepted", "rejected"), "completed": ("accepted", "accepted", "rejected")}


def _load_nominations(world: World, loader: copy.Loader) -> None:
    columns = ("id tenant_id public_id campaign_id nominator_tenant_id client_id household_id consent_id reason priority "
               "quantity dong_code snapshot status reject_reason decided_at decided_by_user_id allocated_quantity "
               "delivery_status delivered_on submitted_at created_by_user_id updated_at version")
    with loader.rows("campaign_nominations", columns) as write:
        rng = world.rng("all", "campaign_nominations")
        for campaign_id, _public_id, organiser, status, invited in world.campaigns:
            if status == "preparation":
                continue
            decider = organiser.with_role("campaign_organiser")[0]
            for tenant in invited:
                eligible = [c for c in world.clients[tenant.id] if c.alive and c.scope == "region"]
                for client in rng.sample(eligible, k=min(len(eligible), rng.randint(1, 6))):
                    outcome = rng.choice(NOMINATION_OUTCOMES[status])
                    submitted = BASE - timedelta(days=rng.randint(20, 50))
                    decided = submitted + timedelta(days=5) if outcome != "submitted" else None
                    delivered = status == "completed" and outcome == "accepted"
                    snapshot = {"client_public_id": client.public_id, "name": client.name,
                                "sex": "남" if client.sex == "M" else "여", "birth_date": client.birth.isoformat(),
                                "rrn_masked": None, "dong": world.regions[client.dong].name if client.dong else None,
                                "household_size": 1}
                    write((world.new_id("campaign_nominations"), organiser.id, names.public_id(rng), campaign_id,
                           tenant.id, client.id, client.household_id, client.consent_id, "생계가 어려운 가구",
                           rng.choice(("urgent", "high", "normal")), 1, client.dong or tenant.region_code, snapshot,
                           outcome, "ineligible" if outcome == "rejected" else None, decided,
                           decider if decided else None, 1 if outcome == "accepted" else None,
                           "delivered" if delivered else "pending", BASE_DAY - timedelta(days=3) if delivered else None,
                           submitted, tenant.case_managers[0], decided or submitted, 2 if decided else 1))


# -- oversight --------------------------------------------------------------------------------------------------

AREAS = ("operations", "staffing", "safety", "accounting", "rights", "meals", "services")
AREA_TEXTS = dict(zip(AREAS, ("운영규정을 비치하고 지키는가", "종사자 배치 기준을 지키는가", "소방·안전 점검을 했는가",
                              "회계 장부를 정확히 기록하는가", "이용자 인권 보호 교육을 했는가", "급식 위생 기준을 지키는가",
                              "서비스 제공 기록을 남기는가")))
FACILITY_TYPES = ("elderly", "disabled", "child", "homeless", "mental_health", "community_centre", "women_family")


def load_oversight(world: World, loader: copy.Loader) -> None:
    facilities = []  # (facility id, owner, facility tenant or None)
    with loader.rows("oversight_facilities", "id tenant_id public_id facility_tenant_id name facility_type "
                                             "operator_kind operator_name licence_number licence_date capacity address "
                                             "dong_code phone closed_on created_at updated_at") as write:
        for block in world.blocks:
            rng = world.rng(block, "oversight_facilities")
            for owner in (t for t in world.blocks[block] if t.kind == "municipality"):
                on_platform = [t for t in local_tenants(world, owner) if t.kind in ("facility", "welfare_centre")]
                extra = 5 if block == "fixed" else max(2, math.isqrt(owner.cases) // 2)
                for n, tenant in enumerate(on_platform + [None] * extra):
                    facility_id = world.new_id("oversight_facilities")
                    facilities.append((facility_id, owner, tenant))
                    name = tenant.name if tenant else f"{owner.place.split()[-1]} {names.SURNAMES[n % 30]}가 요양원"
                    dong = tenant.region_code if tenant else rng.choice(owner.dongs)
                    write((facility_id, owner.id, names.public_id(rng), tenant.id if tenant else None, name,
                           rng.choice(FACILITY_TYPES), rng.choice(("corporation", "individual")), f"{name} 운영법인",
                           f"{owner.region_code[:5]}-{n + 1:04d}", BASE_DAY - timedelta(days=rng.randint(400, 4000)),
                           rng.randint(10, 120), names.address(rng, owner.place), dong, "02-000-0000", None,
                           BASE - timedelta(days=500), BASE - timedelta(days=500)))
    _load_inspections(world, loader, facilities)


def _load_inspections(world: World, loader: copy.Loader, facilities: list) -> None:
    inspections = []  # (inspection id, facility id, owner, facility tenant, status, day)
    with loader.rows("oversight_inspections", "id tenant_id facility_id public_id kind status planned_on conducted_on "
                                              "checklist_name inspector_user_ids source_finding_ids summary "
                                              "created_by_user_id created_at started_at completed_at updated_at "
                                              "version") as write:
        rng = world.rng("all", "oversight_inspections")
        for facility_id, owner, tenant in facilities:
            for status in ("completed", rng.choice(("planned", "completed", "in_progress")))[:rng.randint(1, 2)]:
                day = BASE_DAY + timedelta(days=rng.randint(5, 40)) if status == "planned" else \
                    BASE_DAY - timedelta(days=rng.randint(10, 300))
                inspection_id = world.new_id("oversight_inspections")
                inspections.append((inspection_id, facility_id, owner, tenant, status, day))
                inspector = owner.with_role("inspector")[0]
                done = at(day, 900) if status == "completed" else None
                write((inspection_id, owner.id, facility_id, names.public_id(rng), "regular", status, day,
                       day if status != "planned" else None, "정기 지도점검", [inspector], [],
                       "대체로 양호" if done else None, inspector, at(day - timedelta(days=20)),
                       at(day, 540) if status != "planned" else None, done, done or at(day - timedelta(days=20)),
                       {"planned": 1, "in_progress": 2, "completed": 3}[status]))
    _load_findings(world, loader, inspections)


def _load_findings(world: World, loader: copy.Loader, inspections: list) -> None:
    findings = []
    with loader.rows("oversight_inspection_items", "id tenant_id facility_id inspection_id area position text "
                                                   "result note") as write:
        rng = world.rng("all", "oversight_inspection_items")
        for inspection_id, facility_id, owner, tenant, status, day in inspections:
            if status == "planned":
                continue
            for position, area in enumerate(AREAS):
                result = rng.choices(("compliant", "non_compliant", "not_applicable"), (80, 12, 8))[0]
                if status == "in_progress" and position > 3:
                    result = None
                item_id = world.new_id("oversight_inspection_items")
                write((item_id, owner.id, facility_id, inspection_id, area, position, AREA_TEXTS[area], result, None))
                if result == "non_compliant" and status == "completed":
                    findings.append((item_id, inspection_id, facility_id, owner, tenant, area, day))
    actions = []
    with loader.rows("oversight_findings", "id tenant_id facility_id public_id inspection_id item_id area description "
                                           "created_by_user_id created_at") as write:
        rng = world.rng("all", "oversight_findings")
        for item_id, inspection_id, facility_id, owner, tenant, area, day in findings:
            finding_id = world.new_id("oversight_findings")
            actions.append((finding_id, inspection_id, facility_id, owner, tenant, day))
            write((finding_id, owner.id, facility_id, names.public_id(rng), inspection_id, item_id, area,
                   f"{AREA_TEXTS[area]}: 미흡", owner.with_role("inspector")[0], at(day, 840)))
    _load_actions(world, loader, actions)


def _load_actions(world: World, loader: copy.Loader, actions: list) -> None:
    events = []
    with loader.rows("oversight_corrective_actions", "id tenant_id facility_id public_id finding_id inspection_id "
                                                     "requirement due_on state answer answered_at answered_by_user_id "
                                                     "decided_at decided_by_user_id created_at updated_at "
                                                     "version") as write:
        rng = world.rng("all", "oversight_corrective_actions")
        for finding_id, inspection_id, facility_id, owner, tenant, day in actions:
            state = rng.choice(("answered", "accepted", "requested")) if tenant else "requested"
            requested = at(day + timedelta(days=2))
            answered = requested + timedelta(days=10) if state != "requested" else None
            decided = answered + timedelta(days=3) if state == "accepted" else None
            answerer = tenant.admin if answered else None
            inspector = owner.with_role("inspector")[0]
            action_id = world.new_id("oversight_corrective_actions")
            write((action_id, owner.id, facility_id, names.public_id(rng), finding_id, inspection_id,
                   "30일 안에 개선하고 결과를 제출하세요.", day + timedelta(days=32), state,
                   "개선 완료, 사진 첨부" if answered else None, answered, answerer, decided,
                   inspector if decided else None, requested, decided or answered or requested,
                   1 + (answered is not None) + (decided is not None)))
            events.append((action_id, facility_id, owner, "request", None, "requested", owner.id, inspector, requested))
            if answered:
                events.append((action_id, facility_id, owner, "answer", "requested", "answered", tenant.id, answerer,
                               answered))
            if decided:
                events.append((action_id, facility_id, owner, "accept", "answered", "accepted", owner.id, inspector,
                               decided))
    with loader.rows("oversight_action_events", "id tenant_id facility_id action_id action from_state to_state "
                                                "actor_tenant_id actor_user_id at") as write:
        for action_id, facility_id, owner, action, before, after, actor_tenant, actor, moment in events:
            write((world.new_id("oversight_action_events"), owner.id, facility_id, action_id, action, before, after,
                   actor_tenant, actor, moment))


STEPS = (load_pilots, load_care_meetings, load_campaigns, load_oversight)
