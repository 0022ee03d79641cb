"""The national-shape data set: every row COPYed through the real schema, as the app's write
rules would have left it (see DESIGN §8 and issue 14).

``generate(connection, sizes, seed)`` fills an empty, migrated database on a superuser
connection and returns the manifest. Tables are loaded one at a time; each table draws from its
own Random per block (``fixed`` first, then ``rest``), so the fixed tenant's rows and ids are the
same in every set made with the same seed."""
from __future__ import annotations

import random
import time
from collections import namedtuple
from datetime import date, datetime, time as clock_time, timedelta, timezone

from argon2 import PasswordHasher

from . import copy, names, plan, regions as regions_mod
from .plan import Sizes, spread

BASE_DAY = date(2026, 12, 1)
BASE = datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc)
CASE_TYPE_NAMES = {"crisis_household": "위기가구 통합사례관리", "elderly_alone": "독거노인 맞춤돌봄", "dream_start": "드림스타트",
                   "home_health": "방문건강관리", "self_support": "자활사례관리", "mental_health": "정신건강 사례관리",
                   "addiction": "중독 사례관리", "medical_aid": "의료급여 사례관리", "welfare_centre": "복지관 사례관리",
                   "foster_care": "가정위탁", "youth_independence": "아동자립 지원"}
CASE_TYPES = tuple(CASE_TYPE_NAMES)
DOMAINS = ("safety", "health", "daily_living", "family", "social", "economy", "education", "employment",
           "environment", "rights")
DOMAIN_NAMES = dict(zip(DOMAINS, ("안전", "건강", "일상생활유지", "가족관계", "사회적관계", "경제", "교육", "고용", "생활환경",
                                  "권익보장")))
STAGES = ("intake", "assessment", "planning", "in_service", "monitoring", "closed")
STAGE_WEIGHTS = (10, 10, 8, 35, 12, 25)

Client = namedtuple("Client", "id public_id name birth sex dong consent_id scope alive household_id relationship")
Case = namedtuple("Case", "id public_id tenant client type stage opened received closed lead")


class World:
    """The plan of the whole set and the rows later tables point at."""

    def __init__(self, seed: int, sizes: Sizes):
        self.seed, self.sizes = seed, sizes.resolved()
        self.regions = regions_mod.build()
        self.blocks = {"fixed": plan.fixed_block(self.regions)}
        self.blocks["rest"] = plan.rest_block(self.regions, self.sizes, self.blocks["fixed"], self.rng("rest", "tenants"))
        self.tenants = {t.id: t for block in self.blocks.values() for t in block}
        self.last_id: dict[str, int] = {}
        self.password = f"scale-{seed}-hanaro"
        self.clients: dict[int, list[Client]] = {}  # tenant id -> its clients
        self.cases: dict[int, list[Case]] = {}
        # case id -> (member public id, partner tenant, status, worker, invited, answered)
        self.members: dict[int, tuple] = {}
        self.partners: dict[int, dict[str, list]] = {}  # tenant id -> record kind -> partner tenants
        self.resources: dict[int, list[tuple]] = {}  # tenant id -> (id, name, scope)
        self.referrals: dict[str, list[tuple]] = {"fixed": [], "rest": []}
        self.user_names: dict[int, str] = {}
        self.offered: dict[int, list[tuple]] = {}  # tenant id -> its resources other tenants of its province see
        self.workspaces: dict[int, tuple] = {}  # runner tenant id -> (workspace id, participating tenants)
        self.campaigns: list[tuple] = []  # (id, public id, organiser, status, invited tenants)

    def rng(self, block: str, table: str) -> random.Random:
        return random.Random(f"{self.seed}/{block}/{table}")

    def new_id(self, table: str) -> int:
        self.last_id[table] = self.last_id.get(table, 0) + 1
        return self.last_id[table]


def at(day: date, minutes: int = 540) -> datetime:
    """A moment of ``day`` (UTC), ``minutes`` after midnight."""
    return BASE.replace(year=day.year, month=day.month, day=day.day) + timedelta(minutes=minutes)


def mix(n: int) -> int:
    """A well-spread 32-bit number from an id (the same in every table's pass)."""
    n = (n * 2654435761) & 0xFFFFFFFF
    return (n ^ (n >> 15)) * 2246822519 & 0xFFFFFFFF


# -- regions, tenants, people ---------------------------------------------------------------------------------

def load_regions(world: World, loader: copy.Loader) -> None:
    with loader.rows("regions", "code name level parent_code") as write:
        for r in world.regions.values():
            write((r.code, r.name, r.level, r.parent_code))


def load_tenants(world: World, loader: copy.Loader) -> None:
    with loader.rows("tenants", "id code name kind region_code province_code parent_id active created_at") as write:
        for tenant in world.tenants.values():
            world.last_id["tenants"] = tenant.id
            write((tenant.id, tenant.code, tenant.name, tenant.kind, tenant.region_code, tenant.province_code,
                   tenant.parent_id, True, BASE - timedelta(days=700)))


def load_people(world: World, loader: copy.Loader) -> None:
    users = []
    for name, block in world.blocks.items():
        users += plan.staff(block, len(users) + 1, world.rng(name, "users"))
    world.last_id["users"] = len(users)
    world.user_names = {user[0]: user[3] for user in users}
    password_hash = PasswordHasher().hash(world.password, salt=f"hanaro-scale-{world.seed}".encode())
    joined = BASE - timedelta(days=600)
    with loader.rows("users", "id public_id email display_name password_hash is_platform_operator active "
                              "last_tenant_id created_at updated_at") as write:
        rngs = {name: world.rng(name, "user_ids") for name in world.blocks}
        for user_id, tenant, email, display, _roles in users:
            write((user_id, names.public_id(rngs[tenant.block]), email, display, password_hash, False, True, tenant.id,
                   joined, joined))
    with loader.rows("memberships", "id tenant_id public_id user_id roles active created_at joined_at") as write:
        rngs = {name: world.rng(name, "memberships") for name in world.blocks}
        for user_id, tenant, _email, _name, roles in users:
            write((world.new_id("memberships"), tenant.id, names.public_id(rngs[tenant.block]), user_id, roles, True,
                   joined, joined))
    with loader.rows("role_changes", "id tenant_id user_id actor_user_id action roles_before roles_after at") as write:
        for user_id, tenant, _email, _name, roles in users:
            write((world.new_id("role_changes"), tenant.id, user_id, tenant.admin if tenant.admin != user_id else None,
                   "granted", [], roles, joined))


# -- sharing agreements -----------------------------------------------------------------------------------------

# (owner, partner, record kinds, status) between the fixed block's tenants, by their place in FIXED_TENANTS.
FIXED_AGREEMENTS = ((0, 1, ["client", "case", "resource"], "accepted"), (2, 0, ["client", "case"], "accepted"),
                    (0, 3, ["resource"], "accepted"), (3, 1, ["resource"], "proposed"), (0, 2, ["resource"], "revoked"),
                    (1, 2, ["client", "case"], "accepted"), (4, 0, ["client", "case"], "accepted"),
                    (4, 2, ["client", "case", "resource"], "accepted"))
AGREEMENT_STATUSES = (("accepted", 75), ("proposed", 9), ("revoked", 8), ("declined", 5), ("withdrawn", 3))
AGREEMENT_KINDS = (["client", "case"], ["client", "case", "resource"], ["resource"], ["client"])


def _agreements(world: World, block: str, rng: random.Random) -> list[tuple]:
    """(owner, partner, kinds, status) for ``block``: the fixed list, or each tenant proposing
    0-3 agreements to tenants of its own province."""
    tenants = world.blocks[block]
    if block == "fixed":
        return [(tenants[a], tenants[b], kinds, status) for a, b, kinds, status in FIXED_AGREEMENTS]
    by_province: dict[str, list] = {}
    for tenant in tenants:
        if tenant.kind != "province":
            by_province.setdefault(tenant.province_code, []).append(tenant)
    result, seen = [], set()
    for tenant in tenants:
        others = [t for t in by_province.get(tenant.province_code, []) if t is not tenant]
        for partner in rng.sample(others, k=min(len(others), rng.choice((0, 1, 1, 2, 2, 3)))):
            if (partner.id, tenant.id) not in seen and (tenant.id, partner.id) not in seen:
                seen.add((tenant.id, partner.id))
                status = rng.choices(*zip(*AGREEMENT_STATUSES))[0]
                result.append((tenant, partner, rng.choice(AGREEMENT_KINDS), status))
    return result


def load_agreements(world: World, loader: copy.Loader) -> None:
    events = []
    with loader.rows("sharing_agreements", "id tenant_id public_id partner_tenant_id purpose record_kinds valid_from "
                                           "valid_to status created_by_user_id created_at responded_at "
                                           "responded_by_user_id decline_reason revoked_at revoked_by_user_id "
                                           "revoked_reason") as write:
        for block in world.blocks:
            rng = world.rng(block, "sharing_agreements")
            for owner, partner, kinds, status in _agreements(world, block, rng):
                agreement_id = world.new_id("sharing_agreements")
                proposed = BASE - timedelta(days=rng.randint(60, 500))
                answered = proposed + timedelta(days=rng.randint(1, 20)) if status != "proposed" else None
                answerer = partner.admin if status in ("accepted", "declined", "revoked") else None
                revoked = answered + timedelta(days=rng.randint(10, 40)) if status == "revoked" else None
                write((agreement_id, owner.id, names.public_id(rng), partner.id,
                       f"{owner.name}·{partner.name} 정보공유 협약", kinds, proposed.date(), None, status, owner.admin,
                       proposed, answered if status in ("accepted", "declined", "revoked") else None, answerer,
                       "협약 범위 재검토 필요" if status == "declined" else None, revoked,
                       owner.admin if revoked else None, "협력 사업 종료" if revoked else None))
                events.append((agreement_id, owner, partner, "proposed", proposed))
                if status in ("accepted", "declined", "revoked"):
                    events.append((agreement_id, partner, owner, "accepted" if status == "revoked" else status, answered))
                if status == "withdrawn":
                    events.append((agreement_id, owner, partner, "withdrawn", answered))
                if status == "revoked":
                    events.append((agreement_id, owner, partner, "revoked", revoked))
                if status == "accepted":
                    for kind in kinds:
                        world.partners.setdefault(owner.id, {}).setdefault(kind, []).append(partner)
                        world.partners.setdefault(partner.id, {}).setdefault(kind, []).append(owner)
    with loader.rows("sharing_agreement_events", "id tenant_id agreement_id counterpart_tenant_id action "
                                                 "actor_user_id at") as write:
        for agreement_id, actor, other, action, moment in events:
            write((world.new_id("sharing_agreement_events"), actor.id, agreement_id, other.id, action, actor.admin,
                   moment))


def case_partners(world: World, tenant) -> list:
    """Tenants with an accepted agreement covering both 대상자 and 사례 with ``tenant``."""
    kinds = world.partners.get(tenant.id, {})
    return [t for t in kinds.get("client", []) if t in kinds.get("case", [])]


# -- households, clients, consents ---------------------------------------------------------------------------------

def load_clients(world: World, loader: copy.Loader) -> None:
    households = []
    for block, tenants in world.blocks.items():
        rng = world.rng(block, "clients")
        for tenant in tenants:
            world.clients[tenant.id] = _clients_of(world, tenant, rng, households)
    with loader.rows("households", "id tenant_id public_id name address dong_code created_at") as write:
        for row in households:
            write(row)
    with loader.rows("clients", "id tenant_id public_id name birth_date sex phone address dong_code household_id "
                                "household_relationship vital_status vital_status_on created_at "
                                "created_by_user_id") as write:
        for block, tenants in world.blocks.items():
            rng = world.rng(block, "client_details")
            for tenant in tenants:
                for c in world.clients[tenant.id]:
                    vital = "alive" if c.alive else rng.choice(("deceased", "moved_out"))
                    write((c.id, tenant.id, c.public_id, c.name, c.birth, c.sex, names.phone(rng),
                           names.address(rng, tenant.place), c.dong, c.household_id, c.relationship, vital,
                           None if c.alive else BASE_DAY - timedelta(days=rng.randint(1, 90)),
                           BASE - timedelta(days=900), rng.choice(tenant.case_managers)))
    with loader.rows("consents", "id tenant_id public_id client_id scope tenant_ids purposes includes_health granted_on "
                                 "expires_on recorded_by_user_id recorded_at evidence_reference") as write:
        for block, tenants in world.blocks.items():
            rng = world.rng(block, "consents")
            for tenant in tenants:
                for c in world.clients[tenant.id]:
                    granted = consent_expiry(c.id) - timedelta(days=CONSENT_DAYS)
                    purposes = (["case_collaboration", "referral", "campaign"] if c.scope == "region"
                                else ["case_collaboration"])
                    write((c.consent_id, tenant.id, names.public_id(rng), c.id, c.scope, [], purposes,
                           consent_has_health(c.id), granted, consent_expiry(c.id), rng.choice(tenant.case_managers),
                           at(granted), f"서면 동의서 {granted.year}-{c.id}"))


CONSENT_DAYS = 365 * 3


def consent_expiry(client_id: int) -> date:
    """Each client's consent runs three years from a day 400-800 days before the base date."""
    return BASE_DAY + timedelta(days=CONSENT_DAYS - 400 - mix(client_id) % 400)


def consent_has_health(client_id: int) -> bool:
    """About a third of the consents include health information (the grants they back copy it)."""
    return mix(client_id) % 3 == 0


def _clients_of(world: World, tenant, rng: random.Random, households: list) -> list[Client]:
    count = max(tenant.clients, 1 if tenant.cases else 0)
    result, left = [], count
    while left > 0:
        size = min(left, rng.choice((1, 1, 1, 2, 2, 3)))
        household_id = world.new_id("households")
        dong = rng.choice(tenant.dongs) if tenant.dongs else None
        head = names.person(rng)
        households.append((household_id, tenant.id, names.public_id(rng), f"{head} 가구", names.address(rng, tenant.place),
                           dong, BASE - timedelta(days=900)))
        for i in range(size):
            name = head if i == 0 else head[0] + names.person(rng)[1:]
            birth = BASE_DAY - timedelta(days=rng.randint(365 * 5, 365 * 92))
            result.append(Client(world.new_id("clients"), names.public_id(rng), name, birth, rng.choice("MF"), dong,
                                 world.new_id("consents"), "region" if rng.random() < 0.92 else "case_team",
                                 rng.random() > 0.02, household_id, ("head", "spouse", "child")[min(i, 2)]))
        left -= size
    return result


# -- cases and what happens on them ----------------------------------------------------------------------------

class Story:
    """When things happened on one case (days after it opened), derived from its id and stage
    alone, so every table's pass agrees: assessments, goals, notes and the status moves."""

    __slots__ = ("assessments", "goals", "notes", "moves", "span", "conference")

    def __init__(self, case_id: int, stage: int):
        h = mix(case_id)
        day = 0
        self.moves = [(0, "status.opened")]
        self.assessments, self.goals, self.notes = [], [], []
        if stage >= 1:
            day += 1 + h % 5
            self.moves.append((day, "status.to_assessment"))
            versions = (h >> 3) & 1 if stage == 1 else 1 + ((h >> 4) & 3 == 0)
            for _ in range(versions):
                day += 2 + (h >> 6) % 9
                self.assessments.append(day)
        if stage >= 2:
            day += 2 + (h >> 10) % 6
            self.moves.append((day, "status.to_planning"))
            goals = (h >> 13) % 3 if stage == 2 else 1 + (h >> 13) % 3
            for _ in range(goals):
                day += 1 + (h >> 15) % 3
                self.goals.append(day)
        for stage_at, kind in ((3, "status.to_in_service"), (4, "status.to_monitoring"), (5, "status.closed")):
            if stage >= stage_at:
                day += 5 + (h >> (17 + stage_at)) % 60
                self.moves.append((day, kind))
        # About one case in sixteen past assessment had a case conference, the day after it.
        self.conference = self.assessments[-1] + 1 if stage >= 2 and h >> 28 == 0 else None
        self.span = day
        self.notes = [min(day, 1 + (h >> (24 + i)) % (day + 1)) for i in range((h >> 22) % 4)]


def load_cases(world: World, loader: copy.Loader) -> None:
    with loader.rows("cases", "id tenant_id public_id client_id case_type_code lead_worker_user_id status risk_level "
                              "dong_code received_on opened_on closed_on closure_reason closure_evaluation reopen_count "
                              "created_at updated_at") as write:
        for block, tenants in world.blocks.items():
            rng = world.rng(block, "cases")
            for tenant in tenants:
                world.cases[tenant.id] = cases = []
                clients = world.clients[tenant.id]
                for k in range(tenant.cases):
                    client = clients[k % len(clients)]
                    case_id = world.new_id("cases")
                    stage = 5 if not client.alive else rng.choices(range(6), STAGE_WEIGHTS)[0]
                    story = Story(case_id, stage)
                    opened = BASE_DAY - timedelta(days=story.span + rng.randint(0, 700 if stage == 5 else 240))
                    received = opened - timedelta(days=rng.randint(0, 3))
                    closed = opened + timedelta(days=story.span) if stage == 5 else None
                    case_type = CASE_TYPES[(client.id + k // len(clients)) % 11]  # a client's open cases differ
                    case = Case(case_id, names.public_id(rng), tenant, client, case_type,
                                stage, opened, received, closed, rng.choice(tenant.case_managers))
                    cases.append(case)
                    write((case.id, tenant.id, case.public_id, client.id, case.type, case.lead, STAGES[stage],
                           rng.choice(("low", "medium", "medium", "high", "crisis")), client.dong, received, opened,
                           closed, closure_reason(client) if closed else None, CLOSING_TEXT if closed else None,
                           0, at(opened), at(closed or opened)))


CLOSING_TEXT = "서비스 제공 계획의 목표를 달성하여 종결"
CLOSING_LABELS = {"goal_achieved": "목표 달성", "deceased": "사망"}


def closure_reason(client: Client) -> str:
    return "goal_achieved" if client.alive else "deceased"


MEMBER_STATUSES = (("accepted", 70), ("invited", 18), ("declined", 6), ("left", 6))
SHARE_RATE = 0.04


def load_case_teams(world: World, loader: copy.Loader) -> None:
    """A few % of cases have another tenant on the team (by an agreement covering 대상자 and
    사례, under the client's consent), with the client access grant each state leaves behind."""
    grants = []
    with loader.rows("case_members", "id tenant_id public_id case_id member_tenant_id worker_user_id consent_id status "
                                     "message response_note invited_by_user_id invited_at responded_at ended_at") as write:
        for block, tenants in world.blocks.items():
            rng = world.rng(block, "case_members")
            for tenant in tenants:
                partners = case_partners(world, tenant)
                for case in world.cases[tenant.id] if partners else ():
                    if rng.random() >= SHARE_RATE:
                        continue
                    partner = rng.choice(partners)
                    status = rng.choices(*zip(*MEMBER_STATUSES))[0] if case.stage < 5 else "accepted"
                    invited = at(case.opened + timedelta(days=1), 600)
                    answered = None if status == "invited" else invited + timedelta(days=rng.randint(1, 5))
                    worker = rng.choice(partner.case_managers) if status in ("accepted", "left") else None
                    member_id, member_public_id = world.new_id("case_members"), names.public_id(rng)
                    world.members[case.id] = (member_public_id, partner, status, worker, invited, answered)
                    write((member_id, tenant.id, member_public_id, case.id, partner.id, worker, case.client.consent_id,
                           status, "사례관리 협업을 요청합니다.", "참여 어렵습니다 (인력 부족)" if status == "declined" else None,
                           case.lead, invited, answered, answered + timedelta(days=30) if status == "left" else None))
                    grant = {"accepted": "active", "invited": "pending"}.get(status, "revoked")
                    ended = answered
                    reason = "invitation_declined" if status == "declined" else "member_left"
                    if case.closed:
                        grant, ended, reason = "revoked", at(case.closed, 600), "case_closed"
                    grants.append((tenant.id, case, partner, grant, invited, ended, reason))
    with loader.rows("client_access_grants", "id tenant_id client_id grantee_tenant_id consent_id reason case_id status "
                                             "includes_health granted_at expires_at revoked_at revoked_reason") as write:
        for tenant_id, case, partner, status, invited, ended, reason in grants:
            expires = datetime.combine(consent_expiry(case.client.id), clock_time.max, tzinfo=timezone.utc)
            write((world.new_id("client_access_grants"), tenant_id, case.client.id, partner.id, case.client.consent_id,
                   "case", case.id, status, consent_has_health(case.client.id), invited, expires,
                   ended if status == "revoked" else None,
                   reason if status == "revoked" else None))


def _stories(world: World, block: str):
    """Every case of ``block`` with its story, always in the same order."""
    for tenant in world.blocks[block]:
        for case in world.cases[tenant.id]:
            yield case, Story(case.id, case.stage)


def load_assessments(world: World, loader: copy.Loader) -> None:
    first = world.last_id.get("assessments", 0) + 1
    with loader.rows("assessments", "id tenant_id public_id case_id version assessed_on assessed_by_user_id "
                                    "author_tenant_id summary created_at") as write:
        for block in world.blocks:
            rng = world.rng(block, "assessments")
            for case, story in _stories(world, block):
                for version, day in enumerate(story.assessments, 1):
                    assessed = case.opened + timedelta(days=day)
                    write((world.new_id("assessments"), case.tenant.id, names.public_id(rng), case.id, version, assessed,
                           case.lead, case.tenant.id, f"{version}차 욕구 및 위기도 조사", at(assessed, 600)))
    assessment_id = first - 1
    with loader.rows("assessment_items", "id tenant_id assessment_id case_id domain_code level notes") as write:
        for block in world.blocks:
            rng = world.rng(block, "assessment_items")
            for case, story in _stories(world, block):
                for _ in story.assessments:
                    assessment_id += 1
                    for domain in DOMAINS:
                        level = rng.choices((0, 1, 2, 3, 4), (30, 25, 25, 15, 5))[0]
                        write((world.new_id("assessment_items"), case.tenant.id, assessment_id, case.id, domain, level,
                               None if level < 3 else f"{DOMAIN_NAMES[domain]} 영역 지원 필요"))


GOALS = {"safety": "안전한 주거환경 확보", "health": "정기 진료와 복약 관리", "daily_living": "식사와 위생 등 일상생활 유지",
         "family": "가족 간 갈등 완화", "social": "이웃·모임과의 관계 회복", "economy": "소득 지원 제도 연계",
         "education": "학습 지원과 학교생활 적응", "employment": "직업훈련과 취업 연계", "environment": "주거환경 개선",
         "rights": "권익 침해 예방과 법률 지원"}


def load_plans(world: World, loader: copy.Loader) -> None:
    first = world.last_id.get("plan_goals", 0) + 1
    with loader.rows("plan_goals", "id tenant_id public_id case_id domain_code goal status created_by_user_id "
                                   "created_at") as write:
        for block in world.blocks:
            rng = world.rng(block, "plan_goals")
            for case, story in _stories(world, block):
                for i, day in enumerate(story.goals):
                    domain = DOMAINS[(case.id + i * 3) % 10]
                    status = "active" if case.stage < 5 else rng.choice(("achieved", "achieved", "dropped"))
                    write((world.new_id("plan_goals"), case.tenant.id, names.public_id(rng), case.id, domain,
                           GOALS[domain], status, case.lead, at(case.opened + timedelta(days=day), 620)))
    goal_id = first - 1
    with loader.rows("planned_services", "id tenant_id public_id case_id goal_id description provider_tenant_id "
                                         "provider_name due_on status created_at") as write:
        for block in world.blocks:
            rng = world.rng(block, "planned_services")
            for case, story in _stories(world, block):
                for i, day in enumerate(story.goals):
                    goal_id += 1
                    domain = DOMAINS[(case.id + i * 3) % 10]
                    added = case.opened + timedelta(days=day)
                    status = "done" if case.stage == 5 else ("in_progress" if case.stage >= 3 else "planned")
                    write((world.new_id("planned_services"), case.tenant.id, names.public_id(rng), case.id, goal_id,
                           f"{DOMAIN_NAMES[domain]} 서비스 제공", case.tenant.id, None, added + timedelta(days=30),
                           status, at(added, 630)))


NOTE_BODIES = ("가정 방문 상담. 식사와 복약 상태 확인함.", "전화 상담. 다음 주 병원 동행 일정 조율.",
               "주거환경 점검. 겨울철 난방비 지원 안내.", "보호자 면담. 돌봄 부담 호소, 주간보호 연계 검토.",
               "서비스 제공 기관과 통화. 이용 현황 양호.")


def load_notes(world: World, loader: copy.Loader) -> None:
    with loader.rows("case_notes", "id tenant_id public_id case_id author_tenant_id author_user_id visibility body "
                                   "created_at") as write:
        for block in world.blocks:
            rng = world.rng(block, "case_notes")
            for case, story in _stories(world, block):
                for i, day in enumerate(story.notes):
                    write((world.new_id("case_notes"), case.tenant.id, names.public_id(rng), case.id, case.tenant.id,
                           case.lead, "internal" if (case.id + i) % 4 == 0 else "team", NOTE_BODIES[(case.id + i) % 5],
                           at(case.opened + timedelta(days=day), 700 + i)))
                if case.closed:  # close_case keeps the evaluation as a team note
                    write((world.new_id("case_notes"), case.tenant.id, names.public_id(rng), case.id, case.tenant.id,
                           case.lead, "team", closing_note(case), at(case.closed, 540)))


CONFERENCE_TASK = "주거환경 개선 업체 견적 받기"


def load_conferences(world: World, loader: copy.Loader) -> None:
    first = world.last_id.get("conferences", 0) + 1
    with loader.rows("conferences", "id tenant_id public_id case_id held_on attendees agenda decisions "
                                    "created_by_user_id created_at") as write:
        for block in world.blocks:
            rng = world.rng(block, "conferences")
            for case, story in _stories(world, block):
                if story.conference is not None:
                    held = case.opened + timedelta(days=story.conference)
                    write((world.new_id("conferences"), case.tenant.id, names.public_id(rng), case.id, held,
                           _attendees(case, world.user_names), "욕구 조사 결과 공유와 서비스 계획 협의",
                           "주거환경 개선 우선 지원", case.lead, at(held, 660)))
    conference_id = first - 1
    with loader.rows("conference_tasks", "id tenant_id public_id conference_id case_id description assignee_tenant_id "
                                         "due_on done_at") as write:
        for block in world.blocks:
            rng = world.rng(block, "conference_tasks")
            for case, story in _stories(world, block):
                if story.conference is not None:
                    conference_id += 1
                    due = case.opened + timedelta(days=story.conference + 14)
                    write((world.new_id("conference_tasks"), case.tenant.id, names.public_id(rng), conference_id,
                           case.id, CONFERENCE_TASK, case.tenant.id, due, at(due, 600) if due < BASE_DAY else None))


def _attendees(case: Case, user_names: dict) -> list[dict]:
    return [{"name": user_names[case.lead], "tenant": case.tenant.name}, {"name": "주민센터 담당자", "tenant": ""}]


def closing_note(case: Case) -> str:
    return f"[종결 평가 · {CLOSING_LABELS[closure_reason(case.client)]}]\n{CLOSING_TEXT}"


def load_case_events(world: World, loader: copy.Loader) -> None:
    with loader.rows("case_events", "id tenant_id case_id at kind summary author_tenant_id actor_user_id "
                                    "visibility") as write:
        for block in world.blocks:
            for case, story in _stories(world, block):
                for row in _events_of(case, story, world.members.get(case.id), world.user_names):
                    write((world.new_id("case_events"), case.tenant.id, case.id, *row))


def _move_summary(case: Case, kind: str, user_names: dict) -> str:
    if kind == "status.opened":
        return f"{CASE_TYPE_NAMES[case.type]} · {user_names[case.lead]}"
    if kind == "status.closed":
        return f"{CLOSING_LABELS[closure_reason(case.client)]}: {CLOSING_TEXT}"
    return ""


def _events_of(case: Case, story: Story, member, user_names: dict) -> list[tuple]:
    """(at, kind, summary, author tenant, actor, visibility) rows, as the case service writes them."""
    lead, tenant = case.lead, case.tenant.id
    rows = [(at(case.opened + timedelta(days=day), 540), kind, _move_summary(case, kind, user_names), tenant, lead,
             "team") for day, kind in story.moves]
    rows += [(at(case.opened + timedelta(days=day), 600), "assessment.saved", f"{v}차 조사", tenant, lead, "team")
             for v, day in enumerate(story.assessments, 1)]
    for i, day in enumerate(story.goals):
        domain = DOMAINS[(case.id + i * 3) % 10]
        moment = at(case.opened + timedelta(days=day), 620)
        rows.append((moment, "plan.goal_added", f"{DOMAIN_NAMES[domain]}: {GOALS[domain]}", tenant, lead, "team"))
        rows.append((moment + timedelta(minutes=10), "plan.service_added", f"{DOMAIN_NAMES[domain]} 서비스 제공", tenant,
                     lead, "team"))
    rows += [(at(case.opened + timedelta(days=day), 700 + i), "note.added", NOTE_BODIES[(case.id + i) % 5], tenant, lead,
              "internal" if (case.id + i) % 4 == 0 else "team") for i, day in enumerate(story.notes)]
    if story.conference is not None:
        held = at(case.opened + timedelta(days=story.conference), 660)
        rows.append((held, "conference.held", "참석 2명", tenant, lead, "team"))
        rows.append((held + timedelta(minutes=5), "conference.task_added", f"{CONFERENCE_TASK} · {case.tenant.name}",
                     tenant, lead, "team"))
    if member:
        _member_id, partner, status, worker, invited, answered = member
        rows.append((invited, "team.invited", partner.name, tenant, lead, "team"))
        if status in ("accepted", "left"):
            rows.append((answered, "team.accepted", partner.name, partner.id, worker, "team"))
        elif status == "declined":
            rows.append((answered, "team.declined", partner.name, partner.id, partner.case_managers[0], "team"))
        if status == "left":
            rows.append((answered + timedelta(days=30), "team.left", partner.name, partner.id, worker, "team"))
    return rows


# -- resources ------------------------------------------------------------------------------------------------------

SCOPES = ("private", "partners", "region", "platform", "public")
SCOPE_WEIGHTS = (10, 10, 35, 20, 25)
EXTRA_TEMPLATES = (
    ("어르신 돌봄 방문", "혼자 사는 어르신 댁을 주 2회 방문해 안부를 살피고 가사를 돕는 돌봄 서비스입니다.",
     ["daily_living", "social"], {"min_age": 65, "categories": ["돌봄", "방문"]}),
    ("노인맞춤돌봄서비스", "일상생활이 어려운 어르신께 안전 확인, 생활 교육, 가사 지원을 제공합니다.",
     ["daily_living", "safety", "health"], {"min_age": 65, "household_conditions": "독거 어르신 가구"}),
    ("아동 돌봄 교실", "맞벌이·한부모 가정 아동의 방과후 돌봄과 급식을 지원합니다.", ["education", "daily_living"],
     {"min_age": 6, "max_age": 12, "categories": ["돌봄", "아동"]}),
    ("김치 나눔 봉사", "자원봉사자들이 담근 김치를 저소득 가구에 전달합니다.", ["daily_living"],
     {"kind": "in_kind", "quantity": 50, "quantity_unit": "통", "categories": ["식품", "김치"]}),
    ("장애인 활동지원 돌봄", "장애인의 일상생활과 사회활동을 돕는 활동지원사를 연계합니다.", ["daily_living", "social"],
     {"min_age": 6, "max_age": 64}),
)
RESOURCE_COLUMNS = ("kind organization_name categories min_age max_age household_conditions income_note "
                    "eligibility_note address schedule how_to_apply required_documents cost public_phone capacity "
                    "wait_estimate remaining_slots quantity quantity_unit contact_person direct_phone").split()
FIXED_RESOURCES = {0: 27, 1: 9, 2: 6, 3: 8, 4: 12}


def _templates() -> list[tuple]:
    from ..demo.catalogue import CATALOGUE

    entries = [(name, description, domains, values) for rows in CATALOGUE.values()
               for name, description, domains, _scope, _staff, values in rows]
    return entries + list(EXTRA_TEMPLATES)


def _resource_counts(world: World, block: str) -> list[int]:
    tenants = world.blocks[block]
    if block == "fixed":
        return [FIXED_RESOURCES.get(i, 0) for i in range(len(tenants))]
    total = world.sizes.resources - sum(FIXED_RESOURCES.values())
    return spread(total, [(t.cases + 10) ** 0.6 for t in tenants])


def load_resources(world: World, loader: copy.Loader) -> None:
    from types import SimpleNamespace

    from ..resources import search

    templates = _templates()
    columns = ("id tenant_id public_id name description need_domains service_area_codes languages scope staff_scope "
               "province_code last_verified_on valid_from valid_until created_at updated_at "
               "created_by_user_id " + " ".join(RESOURCE_COLUMNS))
    changes, terms = [], []
    with loader.rows("resources", columns) as write:
        for block, tenants in world.blocks.items():
            rng = world.rng(block, "resources")
            for tenant, count in zip(tenants, _resource_counts(world, block)):
                world.resources[tenant.id] = mine = []
                for _ in range(count):
                    name, description, domains, values = rng.choice(templates)
                    values = {k: v for k, v in values.items() if k in RESOURCE_COLUMNS}
                    values = {"kind": "service", "schedule": [], "categories": [], **values}
                    values.setdefault("capacity", rng.choices(("available", "waitlist", "full"), (80, 15, 5))[0])
                    scope = rng.choices(SCOPES, SCOPE_WEIGHTS)[0]
                    staff_scope = SCOPES[rng.randint(0, SCOPES.index(scope))]
                    area = _service_area(tenant, rng)
                    verified = BASE_DAY - timedelta(days=int(rng.random() ** 2 * 220))
                    created = at(verified - timedelta(days=rng.randint(0, 300)), 560)
                    text = SimpleNamespace(name=name, description=description,
                                           organization_name=values.get("organization_name"))
                    resource_id = world.new_id("resources")
                    user = rng.choice(tenant.with_role("resource_registrar") or [tenant.admin])
                    in_kind = values["kind"] == "in_kind"
                    public_id = names.public_id(rng)
                    write((resource_id, tenant.id, public_id, name, description, domains, area, ["ko"], scope,
                           staff_scope, tenant.province_code, verified,
                           verified if in_kind else None, verified + timedelta(days=365) if in_kind else None, created,
                           at(verified, 600), user, *[values.get(c) for c in RESOURCE_COLUMNS]))
                    mine.append((resource_id, name, scope, public_id))
                    changes.append((tenant.id, resource_id, user, created))
                    copies = (scope, tenant.province_code, values["capacity"], values["capacity"] == "available",
                              verified, name,
                              values.get("min_age"), values.get("max_age"))
                    terms += [(tenant.id, resource_id, term, copies)
                              for term in sorted(search.tokens(search.searchable_text(text)))]
    with loader.rows("resource_changes", "id tenant_id resource_id user_id at action changes") as write:
        for tenant_id, resource_id, user, created in changes:
            write((world.new_id("resource_changes"), tenant_id, resource_id, user, created, "created", {}))
    with loader.rows("resource_terms", "id tenant_id resource_id term scope province_code capacity available "
                                       "last_verified_on name min_age max_age") as write:
        for tenant_id, resource_id, term, copies in terms:
            write((world.new_id("resource_terms"), tenant_id, resource_id, term, *copies))


def _service_area(tenant, rng: random.Random) -> list[str]:
    roll = rng.random()
    if roll < 0.5 or not tenant.dongs:
        return []
    if roll < 0.8:
        return [tenant.dongs[0][:5] + "00000"]
    return sorted(rng.sample(tenant.dongs, k=min(len(tenant.dongs), rng.randint(1, 3))))


# -- referrals --------------------------------------------------------------------------------------------------

REFERRAL_STATES = (("draft", 4), ("sent", 12), ("accepted", 8), ("waitlisted", 4), ("declined", 10), ("in_progress", 14),
                   ("completed", 30), ("not_completed", 5), ("withdrawn", 6), ("expired", 7))
PATHS = {"draft": (), "sent": ("send",), "accepted": ("send", "accept"), "waitlisted": ("send", "waitlist"),
         "declined": ("send", "decline"), "in_progress": ("send", "accept", "start"),
         "completed": ("send", "accept", "start", "complete"), "not_completed": ("send", "accept", "not_complete"),
         "withdrawn": ("send", "withdraw"), "expired": ("send", "expire")}
TARGETS = {"send": "sent", "accept": "accepted", "waitlist": "waitlisted", "decline": "declined", "start": "in_progress",
           "complete": "completed", "not_complete": "not_completed", "withdraw": "withdrawn", "expire": "expired"}
RECEIVER_ACTIONS = {"accept", "waitlist", "decline", "start", "complete", "not_complete"}
FINAL = {"declined", "completed", "not_completed", "withdrawn", "expired"}
Referral = namedtuple("Referral", "id public_id sender receiver state moves created_by handler")


def _referral_counts(world: World, block: str) -> list[int]:
    tenants = world.blocks[block]
    if block == "fixed":
        return [t.cases for t in tenants]
    total = world.sizes.referrals - sum(t.cases for t in world.blocks["fixed"])
    return spread(total, [t.cases for t in tenants])


def _receivers(tenants) -> dict[str, tuple[list, list[float]]]:
    """Per province, who may receive referrals and the cumulative weights to pick them by size."""
    result: dict[str, tuple[list, list[float]]] = {}
    for tenant in tenants:
        if tenant.kind != "province":
            people, weights = result.setdefault(tenant.province_code, ([], []))
            people.append(tenant)
            weights.append((weights[-1] if weights else 0) + tenant.cases + 20)
    return result


def load_referrals(world: World, loader: copy.Loader) -> None:
    columns = ("id tenant_id public_id receiver_tenant_id client_id case_id resource_id requested_service reason urgency "
               "response_due_on state decline_reason answer_note outcome_note withdraw_reason shared_fields "
               "shared_client consent_id consent_expires_on created_by_user_id handled_by_user_id sent_at answered_at "
               "closed_at created_at updated_at version")
    with loader.rows("referrals", columns) as write:
        for block, tenants in world.blocks.items():
            rng = world.rng(block, "referrals")
            receivers = _receivers(tenants)
            for tenant, count in zip(tenants, _referral_counts(world, block)):
                people, weights = receivers.get(tenant.province_code, ([], []))
                for _ in range(count if len(people) > 1 else 0):
                    receiver = tenant
                    while receiver is tenant:
                        receiver = rng.choices(people, cum_weights=weights)[0]
                    row = _referral(world, block, tenant, receiver, rng)
                    if row:
                        write(row)


def _referral(world: World, block: str, sender, receiver, rng: random.Random) -> tuple | None:
    clients = world.clients[sender.id]
    index = next((i for i in (rng.randrange(len(clients)) for _ in range(6) if clients)
                  if clients[i].alive and clients[i].scope == "region"), None)
    if index is None:
        return None
    client, cases = clients[index], world.cases[sender.id]
    case = cases[index] if index < len(cases) and cases[index].stage < 5 and rng.random() < 0.6 else None
    offered = world.offered.get(receiver.id)
    if offered is None:  # what the sender, of the same province, may refer to
        offered = world.offered[receiver.id] = [r for r in world.resources.get(receiver.id, ())
                                                if r[2] in ("region", "platform", "public")]
    resource = rng.choice(offered) if offered and rng.random() < 0.7 else None
    state = rng.choices(*zip(*REFERRAL_STATES))[0]
    moves, created = _moves(state, rng)
    sent = moves[0][1] if moves else None
    handler = rng.choice(receiver.with_role("referral_coordinator") + receiver.case_managers)
    answered = next((moment for action, moment in moves if action in ("accept", "waitlist", "decline")), None)
    creator = rng.choice(sender.case_managers)
    referral_id = world.new_id("referrals")
    public_id = names.public_id(rng)
    world.referrals[block].append(Referral(referral_id, public_id, sender, receiver, state, moves, creator, handler))
    snapshot = None if sent is None else {
        "client_public_id": client.public_id, "name": client.name, "age": _age(client.birth),
        "sex": "남" if client.sex == "M" else "여", "dong": world.regions[client.dong].name if client.dong else None}
    last = moves[-1][1] if moves else created
    return (referral_id, sender.id, public_id, receiver.id, client.id, case.id if case else None,
            resource[0] if resource else None, resource[1] if resource else "통합 서비스 연계",
            "대상자의 욕구에 맞는 서비스 연계를 요청합니다.", rng.choices(("routine", "priority", "urgent"), (70, 20, 10))[0],
            (sent or at(BASE_DAY)).date() + timedelta(days=7), state,
            rng.choice(("capacity", "ineligible", "out_of_area")) if state == "declined" else None,
            "정원이 차서 대기 등록합니다." if state == "waitlisted" else None,
            "서비스 제공을 마쳤습니다." if state in ("completed", "not_completed") else None,
            "대상자가 다른 서비스를 이용하기로 함" if state == "withdrawn" else None,
            ["name", "age", "sex", "dong"], snapshot, client.consent_id if sent else None,
            consent_expiry(client.id) if sent else None, creator,
            handler if any(a in RECEIVER_ACTIONS for a, _ in moves) else None, sent, answered,
            last if state in FINAL else None, created, last, 1 + len(moves))


def _moves(state: str, rng: random.Random) -> tuple[list[tuple[str, datetime]], datetime]:
    """The transitions that led to ``state``, with their moments, ending before the base date."""
    path = PATHS[state]
    gaps = [timedelta(minutes=rng.randint(5, 120))] + [
        timedelta(days=8) if action == "expire" else timedelta(hours=rng.randint(4, 24 * 6)) for action in path[1:]]
    recent = state in ("draft", "sent", "accepted", "waitlisted", "in_progress")
    created = BASE - sum(gaps, timedelta()) - timedelta(hours=rng.randint(1, 24 * (20 if recent else 540)))
    moves, moment = [], created
    for action, gap in zip(path, gaps):
        moment += gap
        moves.append((action, moment))
    return moves, created


def _age(birth: date) -> int:
    return BASE_DAY.year - birth.year - ((BASE_DAY.month, BASE_DAY.day) < (birth.month, birth.day))


def load_referral_parts(world: World, loader: copy.Loader) -> None:
    with loader.rows("referral_events", "id tenant_id referral_id receiver_tenant_id actor_tenant_id actor_user_id at "
                                        "action from_state to_state note") as write:
        for block in world.blocks:
            for r in world.referrals[block]:
                before = "draft"
                for action, moment in r.moves:
                    actor, user = _actor(r, action)
                    write((world.new_id("referral_events"), r.sender.id, r.id, r.receiver.id, actor, user, moment,
                           action, before, TARGETS[action], "응답 기한이 지났습니다." if action == "expire" else None))
                    before = TARGETS[action]
    with loader.rows("referral_messages", "id tenant_id referral_id receiver_tenant_id actor_tenant_id actor_user_id at "
                                          "body") as write:
        for block in world.blocks:
            rng = world.rng(block, "referral_messages")
            for r in world.referrals[block]:
                if not r.moves or rng.random() > 0.25:
                    continue
                for i in range(rng.randint(1, 2)):
                    from_receiver = i % 2 == 1
                    write((world.new_id("referral_messages"), r.sender.id, r.id, r.receiver.id,
                           (r.receiver if from_receiver else r.sender).id, r.handler if from_receiver else r.created_by,
                           r.moves[0][1] + timedelta(hours=2 + i),
                           "방문 일정 확인 부탁드립니다." if not from_receiver else "이번 주 중 연락드리겠습니다."))


def _actor(r: Referral, action: str) -> tuple[int, int | None]:
    if action in RECEIVER_ACTIONS:
        return r.receiver.id, r.handler
    if action == "expire":
        return r.sender.id, None
    return r.sender.id, r.created_by


# -- notifications and the access log -----------------------------------------------------------------------------

ANSWERS = {"accept": ("referral_answered", "보낸 의뢰가 수락되었습니다 (받은 기관: {other})"),
           "waitlist": ("referral_answered", "보낸 의뢰가 대기 등록되었습니다 (받은 기관: {other})"),
           "decline": ("referral_answered", "보낸 의뢰가 거절되었습니다 (받은 기관: {other})"),
           "start": ("referral_answered", "의뢰한 서비스 제공이 시작되었습니다 (받은 기관: {other})"),
           "complete": ("referral_completed", "의뢰한 서비스가 완료되었습니다 (받은 기관: {other})"),
           "not_complete": ("referral_completed", "의뢰한 서비스가 완료되지 못하고 종결되었습니다 (받은 기관: {other})")}
EMAILED = {"referral_received", "referral_answered", "referral_overdue", "referral_completed", "case_invitation"}


def _notices(world: World, block: str):
    """(tenant, sender tenant id, recipient user, kind, title, link, at) of everything the services
    would have posted for this block's referrals and case invitations."""
    for r in world.referrals[block]:
        link = f"/referrals/{r.public_id}"
        for action, moment in r.moves:
            if action == "send":
                yield (r.receiver, r.sender.id, None, "referral_received",
                       f"서비스 의뢰를 받았습니다 (보낸 기관: {r.sender.name})", link, moment)
            elif action in ANSWERS:
                kind, title = ANSWERS[action]
                yield (r.sender, r.receiver.id, r.created_by, kind, title.format(other=r.receiver.name), link, moment)
            elif action == "withdraw":
                yield (r.receiver, r.sender.id, None, "referral_answered",
                       f"받은 의뢰가 철회되었습니다 (보낸 기관: {r.sender.name})", link, moment)
            elif action == "expire":
                title = f"응답 없이 기한이 지나 의뢰가 만료되었습니다 ({r.sender.name} → {r.receiver.name})"
                yield (r.sender, None, r.created_by, "referral_overdue", title, link, moment)
                yield (r.receiver, None, None, "referral_overdue", title, link, moment)
    for tenant in world.blocks[block]:
        for case in world.cases[tenant.id]:
            member = world.members.get(case.id)
            if member:
                member_public_id, partner, status, _worker, invited, answered = member
                yield (partner, tenant.id, None, "case_invitation", "사례관리 협업 초대가 도착했습니다.",
                       f"/cases/invitations/{member_public_id}", invited)
                if status in ("accepted", "left"):
                    yield (tenant, partner.id, None, "case_invitation_accepted", "사례관리 협업 초대가 수락되었습니다.",
                           f"/cases/{case.public_id}", answered)


def _reminders(world: World, block: str, rng: random.Random, count: int):
    tenants = world.blocks[block]
    for tenant, n in zip(tenants, spread(count, [t.cases + 5 for t in tenants])):
        for _ in range(n):
            yield (tenant, None, None, "resource_verify_soon", "확인 기한이 다가오는 자원 정보가 있습니다.", "/resources",
                   BASE - timedelta(hours=rng.randint(1, 24 * 365)))


def load_notifications(world: World, loader: copy.Loader) -> None:
    deliveries = []
    columns = ("id tenant_id public_id sender_tenant_id recipient_user_id kind title link created_at read_at "
               "email_planned_at")
    with loader.rows("notifications", columns) as write:
        for block in world.blocks:
            rng = world.rng(block, "notifications")
            notices = list(_notices(world, block))
            wanted = _notification_target(world, block)
            if len(notices) > wanted:  # the set's size wins: a random share of what the services posted
                notices = [n for n in notices if rng.random() < wanted / len(notices)]
            for tenant, sender, recipient, kind, title, link, moment in notices + list(
                    _reminders(world, block, rng, wanted - len(notices))):
                notification_id = world.new_id("notifications")
                unread = rng.random() < (0.5 if moment > BASE - timedelta(days=7) else 0.1)
                write((notification_id, tenant.id, names.public_id(rng), sender, recipient, kind, title, link, moment,
                       None if unread else moment + timedelta(hours=rng.randint(1, 48)), moment + timedelta(minutes=1)))
                if kind in EMAILED:
                    deliveries.append((tenant, notification_id, recipient or rng.choice(
                        tenant.with_role("referral_coordinator") or [tenant.admin]), moment, block))
    with loader.rows("notification_deliveries", "id tenant_id public_id notification_id user_id state skip_reason "
                                                "attempts sent_at last_error message_id created_at updated_at") as write:
        rngs = {block: world.rng(block, "notification_deliveries") for block in world.blocks}
        for tenant, notification_id, user, moment, block in deliveries:
            rng = rngs[block]
            state = rng.choices(("sent", "skipped", "failed"), (92, 5, 3))[0]
            public_id = names.public_id(rng)
            write((world.new_id("notification_deliveries"), tenant.id, public_id, notification_id, user, state,
                   "preference" if state == "skipped" else None, {"skipped": 0, "sent": 1}.get(state, 5),
                   moment + timedelta(minutes=2) if state == "sent" else None,
                   "SMTP 550 mailbox unavailable" if state == "failed" else None, f"<{public_id}@scale.hanaro.test>",
                   moment + timedelta(minutes=1), moment + timedelta(minutes=2)))


def _notification_target(world: World, block: str) -> int:
    fixed = sum(t.cases for t in world.blocks["fixed"]) * 18 // 10
    return fixed if block == "fixed" else world.sizes.notifications - fixed


ACCESS_WHAT = (("client", 50), ("case", 35), ("integrated_view", 10), ("referral", 5))


def load_access_log(world: World, loader: copy.Loader) -> None:
    with loader.rows("access_log", "id tenant_id at user_id client_id client_tenant_id client_public_id action what "
                                   "purpose ip") as write:
        for block, tenants in world.blocks.items():
            rng = world.rng(block, "access_log")
            counts = [t.cases for t in tenants] if block == "fixed" else spread(
                world.sizes.access_log - sum(t.cases for t in world.blocks["fixed"]), [t.cases for t in tenants])
            for tenant, count in zip(tenants, counts):
                clients = world.clients[tenant.id]
                for _ in range(count if clients else 0):
                    client = rng.choice(clients)
                    action = rng.choices(("view", "change", "export", "print", "search"), (80, 14, 2, 2, 2))[0]
                    write((world.new_id("access_log"), tenant.id, BASE - timedelta(minutes=rng.randint(1, 525600)),
                           rng.choice(tenant.case_managers), client.id, tenant.id, client.public_id, action,
                           rng.choices(*zip(*ACCESS_WHAT))[0], "사례관리" if action != "view" else None,
                           f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"))
            for case, (_id, partner, _status, worker, invited, _answered) in _accepted_members(world, block):
                write((world.new_id("access_log"), partner.id, invited + timedelta(days=3), worker, case.client.id,
                       case.tenant.id, case.client.public_id, "view", "integrated_view", None, "10.0.0.1"))


def _accepted_members(world: World, block: str):
    for tenant in world.blocks[block]:
        for case in world.cases[tenant.id]:
            member = world.members.get(case.id)
            if member and member[2] == "accepted":
                yield case, member


# -- the whole set ------------------------------------------------------------------------------------------------

STEPS = (load_regions, load_tenants, load_people, load_agreements, load_clients, load_cases, load_case_teams,
         load_assessments, load_plans, load_notes, load_conferences, load_case_events, load_resources, load_referrals,
         load_referral_parts, load_notifications, load_access_log)


def generate(connection, sizes: Sizes, seed: int = 1, progress=None) -> dict:
    """Fill the empty, migrated database behind ``connection`` (a superuser's, psycopg 3 or
    SQLAlchemy) and return the manifest (see scale.pages)."""
    from . import pages, programmes

    started = time.monotonic()
    loader = copy.Loader(connection)
    _refuse_if_not_empty(loader)
    world = World(seed, sizes)
    for step in STEPS + programmes.STEPS:
        begun = time.monotonic()
        step(world, loader)
        if progress:
            progress(f"{step.__name__.removeprefix('load_')}: {time.monotonic() - begun:.1f} s")
    loader.finish()
    return pages.manifest(world, loader.counts, round(time.monotonic() - started, 1))


def _refuse_if_not_empty(loader: copy.Loader) -> None:
    if loader.conn.execute("SELECT exists (SELECT 1 FROM tenants)").fetchone()[0]:
        raise RuntimeError("the database already has tenants: generate into a freshly migrated database")


def forget_visits(connection, manifest: dict) -> None:
    """Take back what opening the manifest's pages wrote (sessions, the login log, access-log
    rows, last-login times), so the set holds generated rows only and the fixed tenant's stay
    the same in every set."""
    conn = copy.raw_connection(connection)
    conn.execute("SET session_replication_role = replica")  # the access log refuses deletes otherwise
    conn.execute("DELETE FROM access_log WHERE id > %s", (manifest["sizes"]["access_log"],))
    conn.execute("TRUNCATE user_sessions, login_events, login_throttles RESTART IDENTITY")
    conn.execute("UPDATE users SET last_login_at = NULL WHERE last_login_at IS NOT NULL")
    conn.execute("SELECT setval(pg_get_serial_sequence('access_log', 'id'), %s, false)",
                 (manifest["sizes"]["access_log"] + 1,))
    conn.execute("SET session_replication_role = DEFAULT")
    conn.commit()
