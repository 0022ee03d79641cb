"""Demo cases on the seeded clients: every stage of the procedure, some overdue, some run with a
partner tenant that accepted the invitation, notes of both visibilities, assessments and plans."""
from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from ..accounts.models import User
from ..cases import service as cases
from ..cases.models import CaseStatus, NeedDomain
from ..core import clock
from ..core.db import db
from ..tenancy.context import acting_as
from ..tenancy.models import Membership, Role, Tenant

# Who each tenant brings onto its cases (sharing agreements exist for these pairs).
PARTNERS = {"halla-welfare": "hallim-dong", "seogwipo-welfare": "namwon-dong",
            "hallim-dong": "halla-welfare", "namwon-dong": "seogwipo-welfare"}
CASE_TYPES = ["crisis_household", "elderly_alone", "welfare_centre", "home_health", "self_support"]
PROGRESS = [CaseStatus.INTAKE, CaseStatus.ASSESSMENT, CaseStatus.PLANNING, CaseStatus.IN_SERVICE, CaseStatus.MONITORING]
NOTES = ["가정 방문: 난방비 체납 고지서 확인, 긴급지원 신청 안내", "전화 상담: 병원 동행 일정 조율",
         "이웃 주민 제보로 안부 확인, 식사 거르는 날이 많다고 함", "주거 환경 점검: 곰팡이, 보일러 고장"]
GOALS = {"economy": "긴급생계지원 연계로 공과금 체납 해소", "daily_living": "주 3회 도시락 배달로 끼니 해결",
         "social": "경로당 프로그램 참여로 고립감 완화", "environment": "보일러 수리와 도배로 겨울나기 준비"}


def _case_manager(tenant: Tenant) -> User:
    for membership in db.session.scalars(select(Membership).where(Membership.tenant_id == tenant.id)):
        if membership.has_role(Role.CASE_MANAGER):
            return db.session.get(User, membership.user_id)
    raise LookupError(f"{tenant.code} has no case manager for demo cases")


def seed_cases(tenant: Tenant, clients, seed: int) -> None:
    rng = random.Random(seed)
    worker = _case_manager(tenant)
    partner = db.session.scalar(select(Tenant).where(Tenant.code == PARTNERS.get(tenant.code, "")))
    domains = list(db.session.scalars(select(NeedDomain).order_by(NeedDomain.sort_order)))
    for number, client in enumerate(clients):
        if number % 4 == 3:
            continue  # some clients have no case yet
        received = clock.today() - timedelta(days=rng.randrange(3, 70))
        case = cases.open_case(client, {"case_type": CASE_TYPES[number % len(CASE_TYPES)], "lead_worker": worker.public_id,
                                        "risk_level": rng.choice(["low", "medium", "high", "crisis"]), "received_on": received},
                               worker)
        _progress(case, PROGRESS[number % len(PROGRESS)], domains, received, worker, rng)
        cases.add_note(case, "internal", rng.choice(NOTES) + " (내부 메모)", worker)
        cases.add_note(case, "team", rng.choice(NOTES), worker)
        if partner is not None and number % 2 == 0:
            _bring_partner(case, partner, worker)


def _progress(case, target, domains, received, worker, rng) -> None:
    if PROGRESS.index(target) >= 1:
        cases.change_status(case, CaseStatus.ASSESSMENT, worker)
        levels = {f"level_{d.code}": rng.choice([0, 1, 1, 2, 3, 4]) for d in domains}
        notes = {f"notes_{d.code}": "복약 관리 필요" if d.code == "health" else None for d in domains}
        cases.save_assessment(case, {"assessed_on": min(received + timedelta(days=2), clock.today()),
                                     "summary": "독거, 소득 감소, 주거 환경 열악", **levels, **notes}, worker)
    if PROGRESS.index(target) >= 2:
        cases.change_status(case, CaseStatus.PLANNING, worker)
        for code in rng.sample(sorted(GOALS), 2):
            cases.add_goal(case, {"domain": code, "goal": GOALS[code]}, worker)
    if PROGRESS.index(target) >= 3:
        cases.change_status(case, CaseStatus.IN_SERVICE, worker)
    if PROGRESS.index(target) >= 4:
        cases.change_status(case, CaseStatus.MONITORING, worker)


def _bring_partner(case, partner: Tenant, lead_worker) -> None:
    member = cases.invite(case, partner, None, "공동 사례관리를 요청드립니다.", lead_worker)
    with acting_as(partner.id, None):
        partner_worker = _case_manager(partner)  # the partner's staff are the partner's business
    with acting_as(partner.id, partner_worker.id):
        cases.accept_invitation(member, partner_worker.public_id, "참여합니다.", partner_worker)
        cases.add_note(case, "team", "협력기관 방문 결과 공유: 본인 의사 확인함", partner_worker)
