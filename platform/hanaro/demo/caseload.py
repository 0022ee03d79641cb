"""A realistic demo caseload for the Jeju pilot: clients with households and consents, and the
cases that welfare centres and dong centres run together. Applied by `flask demo caseload`
(and by ./scripts/demo); idempotent: a tenant that already has clients is left alone.

Every person here is fictional; resident numbers are generated with valid check digits and
birth dates that match.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select

from ..core.db import db
from ..tenancy.context import acting_as
from ..tenancy.models import Membership, Role, Tenant
from ..clients import service as clients
from ..clients.models import Client

SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍고문양손배백허남심노하곽성차주우구"
GIVEN = ["영숙", "정자", "순자", "영자", "옥순", "말순", "철수", "영수", "민준", "서연", "지우", "하준", "도윤",
         "수빈", "지민", "현우", "은정", "미경", "상철", "광호", "복순", "춘자", "금순", "동욱", "태희", "가은"]
STREETS = {"5011025000": "제주시 한림읍 한림로", "5013025300": "서귀포시 남원읍 남원로"}


@dataclass(frozen=True)
class Person:
    name: str
    birth_date: date
    sex: str
    rrn: str
    phone: str
    dong_code: str
    address: str


def _rrn(birth: date, sex: str, rng: random.Random) -> str:
    century_digit = {(1900, "M"): "1", (1900, "F"): "2", (2000, "M"): "3", (2000, "F"): "4"}[
        (1900 if birth.year < 2000 else 2000, sex)
    ]
    front = birth.strftime("%y%m%d")
    body = front + century_digit + f"{rng.randrange(100000):05d}"
    weights = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
    check = (11 - sum(int(d) * w for d, w in zip(body, weights)) % 11) % 10
    return f"{front}-{body[6:]}{check}"


def people(count: int, dong_code: str, seed: int) -> list[Person]:
    rng = random.Random(seed)
    result = []
    for _ in range(count):
        sex = rng.choice("MF")
        birth = date(1935, 1, 1) + timedelta(days=rng.randrange(365 * 60))
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        phone = f"010-{rng.randrange(1000, 9999)}-{rng.randrange(1000, 9999)}"
        address = f"{STREETS[dong_code]} {rng.randrange(1, 300)}"
        result.append(Person(name, birth, sex, _rrn(birth, sex, rng), phone, dong_code, address))
    return result


class _Actor:
    def __init__(self, user_id: int):
        self.id = user_id


def _case_manager_of(tenant: Tenant) -> int:
    memberships = db.session.scalars(select(Membership).where(Membership.tenant_id == tenant.id))
    ordered = sorted(memberships, key=lambda m: (not m.has_role(Role.CASE_MANAGER), m.id))
    return ordered[0].user_id


def seed_clients(tenant: Tenant, dong_code: str, count: int, seed: int) -> list[Client]:
    """Register ``count`` clients of ``tenant`` with a consent each; returns them."""
    actor = _Actor(_case_manager_of(tenant))
    registered = []
    for person in people(count, dong_code, seed):
        client, _ = clients.register_client(
            {"name": person.name, "birth_date": person.birth_date, "sex": person.sex, "rrn": person.rrn,
             "phone": person.phone, "address": person.address, "dong_code": person.dong_code}, actor)
        clients.record_consent(
            client,
            {"scope": "case_team", "purposes": ["case_collaboration", "referral"], "includes_health": len(registered) % 3 == 0,
             "granted_on": date(2026, 3, 2), "expires_on": date(2027, 3, 1), "evidence_reference": f"동의서-{seed}-{len(registered) + 1:03d}"},
            actor,
        )
        registered.append(client)
    return registered


# (tenant code, dong code, number of clients)
CASELOAD = [("halla-welfare", "5011025000", 14), ("hallim-dong", "5011025000", 6),
            ("seogwipo-welfare", "5013025300", 10), ("namwon-dong", "5013025300", 5)]


def apply() -> dict[str, int]:
    """Seed every tenant of CASELOAD that has no clients yet. Returns clients created per tenant."""
    from . import cases_seed

    created = {}
    for number, (code, dong_code, count) in enumerate(CASELOAD):
        tenant = db.session.scalar(select(Tenant).where(Tenant.code == code))
        if tenant is None:
            continue
        with acting_as(tenant.id, None):
            existing = db.session.scalar(select(func.count()).select_from(Client).where(Client.tenant_id == tenant.id))
            if existing:
                continue
            seeded = seed_clients(tenant, dong_code, count, seed=1000 + number)
            created[code] = len(seeded)
            cases_seed.seed_cases(tenant, seeded, seed=2000 + number)
    return created
