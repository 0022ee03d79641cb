"""Who is in the data set: sizes, tenants (kinds, regions, Zipf case counts) and their staff.

Two blocks: ``fixed`` (the bench-fixed tenant and its three partners in 서울 마포구, always the
same rows, drawn from their own Random) and ``rest`` (every other tenant, sized from the
options). Rows of the rest never point at the fixed block, so the fixed tenant's pages hold the
same data in every set."""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from . import names, regions as regions_mod

KIND_WEIGHTS = {"municipality": 8, "dong_centre": 2, "welfare_centre": 3, "ngo": 1, "public_agency": 2, "facility": 1}
# Shares of the rest block's tenants (provinces come first, one per province used).
KIND_SHARES = (("municipality", 0.22), ("dong_centre", 0.35), ("welfare_centre", 0.15), ("public_agency", 0.04),
               ("facility", 0.09))
FIXED_CODE = "bench-fixed"
MAPO = "1137000000"  # 서울특별시 마포구 in regions.build()
# code, name, kind, cases, users
FIXED_TENANTS = (
    (FIXED_CODE, "마포희망나눔센터", "ngo", 272, 12),
    ("bench-partner-welfare", "마포종합사회복지관", "welfare_centre", 64, 8),
    ("bench-partner-dong", "행정복지센터", "dong_centre", 96, 7),
    ("bench-partner-foodbank", "마포나눔푸드뱅크", "ngo", 18, 5),
    ("bench-municipality", "서울특별시 마포구청", "municipality", 120, 10),
)


@dataclass
class Sizes:
    tenants: int = 1000
    cases: int = 1_000_000
    clients: int | None = None
    referrals: int | None = None
    resources: int | None = None
    notifications: int | None = None
    access_log: int | None = None

    def resolved(self) -> "Sizes":
        return Sizes(self.tenants, self.cases, self.clients or self.cases, self.referrals or self.cases,
                     self.resources or max(1, self.cases // 10), self.notifications or int(self.cases * 1.8),
                     self.access_log or self.cases)


@dataclass(eq=False)
class TenantPlan:
    id: int
    code: str
    name: str
    kind: str
    region_code: str
    province_code: str
    block: str
    cases: int = 0
    clients: int = 0
    parent_id: int | None = None
    dongs: list[str] = field(default_factory=list)
    place: str = ""
    user_count: int = 3
    users: list[int] = field(default_factory=list)
    roles: dict[str, list[int]] = field(default_factory=dict)
    emails: dict[int, str] = field(default_factory=dict)

    def with_role(self, role: str) -> list[int]:
        return self.roles.get(role, [])

    @property
    def case_managers(self) -> list[int]:
        return self.roles.get("case_manager") or self.roles["tenant_admin"]

    @property
    def admin(self) -> int:
        return self.roles["tenant_admin"][0]


def spread(total: int, weights: list[float]) -> list[int]:
    """``total`` split by ``weights`` into integers (largest remainders first)."""
    whole = sum(weights)
    if total <= 0 or whole <= 0:
        return [0] * len(weights)
    shares = [total * w / whole for w in weights]
    counts = [int(s) for s in shares]
    order = sorted(range(len(weights)), key=lambda i: counts[i] - shares[i])
    for i in order[:total - sum(counts)]:
        counts[i] += 1
    return counts


def zipf_counts(total: int, n: int) -> list[int]:
    """``total`` split over ``n`` ranks in proportion to 1/rank, every rank at least one when
    there is enough to go round (taken from the largest)."""
    counts = spread(total, [1 / r for r in range(1, n + 1)])
    if n and total >= n:
        empty = [i for i, c in enumerate(counts) if c == 0]
        for i in empty:
            counts[i] = 1
        counts[0] -= len(empty)
    return counts


def fixed_block(regions: dict, first_id: int = 1) -> list[TenantPlan]:
    mapo = regions[MAPO]
    dongs = mapo.children
    province = regions_mod.province_code(MAPO[:2])
    tenants = []
    for i, (code, name, kind, cases, users) in enumerate(FIXED_TENANTS):
        region = MAPO if kind == "municipality" else dongs[i % len(dongs)]
        if kind == "dong_centre":
            name = f"{regions[region].name} {name}"
        tenants.append(TenantPlan(first_id + i, code, name, kind, region, province, "fixed", cases=cases,
                                  clients=cases, dongs=[region] if kind == "dong_centre" else list(dongs),
                                  place="서울특별시 마포구", user_count=users))
    municipality = tenants[-1]
    for tenant in tenants:
        if tenant.kind == "dong_centre":
            tenant.parent_id = municipality.id
    return tenants


def rest_block(regions: dict, sizes: Sizes, fixed: list[TenantPlan], rng: random.Random) -> list[TenantPlan]:
    count = max(1, sizes.tenants - len(fixed))
    used = regions_mod.PROVINCE_ORDER[:max(1, min(17, count // 55))]
    kinds = _kind_counts(count, len(used))
    # The fixed block's municipality is its own: the rest of the set never places a tenant there.
    munis = [code for code, r in regions.items() if r.level == "municipality" and code[:2] in used and code != MAPO]
    munis = rng.sample(munis, k=min(kinds["municipality"], len(munis)))
    kinds["ngo"] += kinds["municipality"] - len(munis)
    next_id = fixed[-1].id + 1 if fixed else 1
    tenants: list[TenantPlan] = []

    def add(kind, code, name, region_code, parent=None, area=None):
        nonlocal next_id
        muni = regions.get(region_code[:5] + "00000")
        province_name = regions[region_code[:2] + "00000000"].name
        local = muni is not None and muni.level == "municipality"
        tenant = TenantPlan(next_id, code, name, kind, region_code, regions_mod.province_code(region_code[:2]), "rest",
                            parent_id=parent.id if parent else None,
                            place=f"{province_name} {muni.name}" if local else province_name,
                            dongs=area or (list(muni.children) if local else []))
        next_id += 1
        tenants.append(tenant)
        return tenant

    provinces = {two: add("province", f"prov-{two}", regions[two + "00000000"].name + "청", two + "00000000")
                 for two in used}
    muni_tenants = {}
    for code in munis:
        province = regions[code[:2] + "00000000"]
        muni_tenants[code] = add("municipality", f"muni-{code[:5]}", f"{province.name} {regions[code].name}청", code,
                                 provinces[code[:2]])
    all_dongs = [d for m in munis for d in regions[m].children]
    for code in sorted(rng.sample(all_dongs, k=min(kinds["dong_centre"], len(all_dongs)))):
        add("dong_centre", f"dong-{code}", f"{regions[code[:5] + '00000'].name} {regions[code].name} 행정복지센터", code,
            muni_tenants[code[:5] + "00000"], area=[code])
    for kind, prefix, patterns in _OTHER_KINDS:
        for n in range(kinds[kind]):
            dong = rng.choice(all_dongs)
            muni = dong[:5] + "00000"
            stem = regions[dong].name.rstrip("0123456789동읍면") or regions[muni].name[:-1]
            name = rng.choice(patterns).format(stem=stem, muni=regions[muni].name)
            region = muni if kind == "public_agency" else dong
            add(kind, f"{prefix}-{n + 1:04d}", name, region,
                muni_tenants[muni] if kind == "public_agency" else None)
    _size(tenants, sizes.cases - sum(t.cases for t in fixed), rng)
    clients_left = sizes.clients - sum(t.clients for t in fixed)
    for tenant in tenants:
        tenant.clients = round(tenant.cases * clients_left / max(1, sizes.cases - sum(t.cases for t in fixed)))
        tenant.user_count = 3 + math.isqrt(tenant.cases) + (2 if tenant.kind in ("province", "municipality") else 0)
    return tenants


_OTHER_KINDS = (
    ("welfare_centre", "wc", ("{stem}종합사회복지관", "{muni}{stem}복지관", "{stem}노인복지관", "{stem}장애인복지관")),
    ("public_agency", "pa", ("{muni} 보건소", "{muni} 정신건강복지센터", "{muni} 고용복지플러스센터", "{muni} 치매안심센터")),
    ("facility", "fac", ("{stem}요양원", "{stem}노인주간보호센터", "{stem}그룹홈", "{stem}장애인거주시설")),
    ("ngo", "ngo", ("{stem}나눔푸드뱅크", "{stem}돌봄이웃", "{stem}희망나눔회", "{stem}지역아동센터", "{muni}자원봉사센터",
                    "{stem}사랑의김치나눔회", "{stem}행복돌봄협동조합")),
)


def _kind_counts(count: int, provinces: int) -> dict[str, int]:
    kinds = {"province": provinces}
    for kind, share in KIND_SHARES:
        kinds[kind] = max(1, round(count * share))
    kinds["ngo"] = max(1, count - sum(kinds.values()))
    return kinds


def _size(tenants: list[TenantPlan], total: int, rng: random.Random) -> None:
    """Zipf case counts: the largest to a municipality, the other ranks by each kind's weight
    times a random factor (provinces keep none)."""
    workers = [t for t in tenants if t.kind != "province"]
    order = sorted(workers, key=lambda t: -KIND_WEIGHTS[t.kind] * rng.lognormvariate(0, 1))
    municipalities = [t for t in order if t.kind == "municipality"]
    largest = max(municipalities, key=lambda t: (len(t.dongs), t.code)) if municipalities else order[0]
    order.remove(largest)
    for tenant, cases in zip([largest, *order], zipf_counts(max(0, total), len(workers))):
        tenant.cases = cases


def staff(tenants: list[TenantPlan], first_user_id: int, rng: random.Random) -> list[tuple]:
    """Users of each tenant with their roles: (id, tenant, email, name, roles). Ids follow on."""
    users = []
    next_id = first_user_id
    for tenant in tenants:
        for i in range(tenant.user_count):
            roles = _roles_for(tenant, i)
            email = f"{tenant.code}.{i + 1:04d}@scale.hanaro.test"
            users.append((next_id, tenant, email, names.person(rng), roles))
            tenant.users.append(next_id)
            tenant.emails[next_id] = email
            for role in roles:
                tenant.roles.setdefault(role, []).append(next_id)
            next_id += 1
    return users


def _roles_for(tenant: TenantPlan, i: int) -> list[str]:
    fixed = [["tenant_admin", "privacy_officer"], ["referral_coordinator"], ["resource_registrar"]]
    if tenant.kind == "province":
        fixed += [["inspector"], ["campaign_organiser"], ["pilot_coordinator"]]
    elif tenant.kind == "municipality":
        fixed += [["inspector"], ["campaign_organiser"], ["pilot_coordinator"]]
    if i < len(fixed):
        return fixed[i]
    if i == tenant.user_count - 1 and tenant.user_count > 6:
        return ["viewer"]
    return ["case_manager"] if tenant.kind != "province" else ["inspector"]
