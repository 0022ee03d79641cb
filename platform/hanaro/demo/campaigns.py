"""Demo resource distribution campaigns (`flask demo campaigns`, demo mode only): one running and
one finished 김장김치 나눔 of 제주시청 in the Jeju pilot region.

Where. The issue allows a Seongdong-like district under ``tenants/``; we keep Jeju. 제주시청 is a
municipality whose welfare bureau (campaign@jejucity.demo, 자원배분 담당자) distributes donated
goods over its dongs 한림읍 and 애월읍, and the region already has every kind of nominating agency
the seed describes — a dong centre (한림읍 행정복지센터), a welfare centre (한라종합사회복지관) and an
NGO (제주나눔푸드뱅크) — with clients and users. 애월읍 행정복지센터 is invited too and has nominated
nobody yet (it has no demo users), as happens. A second region would duplicate all of that.

What. Both campaigns are 김장 (the seed's own example of concentration: "한 종류의 복지자원(김치
등)이 일정 가구세대에 쏠리는 현상"), so a household served last year is flagged this year:

* **지난해 사랑의 김장김치 나눔** — 지급 완료. 한라종합사회복지관 and 한림읍 nominated five
  households; the bureau selected four (one refused as not meeting the criteria), confirmed, and
  recorded three deliveries and one household it could not reach. Its dates are moved back by
  about eleven months after loading (the services stamp "now" and refuse a window in the past).
* **올해 사랑의 김장김치 나눔** — 추천 접수, closing in a week, 60 boxes, at most 4 households from
  한라종합사회복지관 and 2 from 애월읍. Eleven nominations trip every check: the same resident
  registered and nominated by both 한라종합사회복지관 and 한림읍 (duplicate); a 푸드뱅크 client the
  resident registry reports deceased and a 복지관 client it reports moved to 서귀포시 (the registry
  is ``data/resident-registry.csv``, which scripts/demo names in HANARO_RESIDENT_REGISTRY_CSV); a
  household served by last year's campaign (concentration); a fifth 복지관 nomination (agency
  quota) and a third 애월읍 one (dong quota). Two clean nominations are already selected; the rest
  wait for the organiser, whose screen shows the open flags.

The catalogue's 김장김치 나눔 listing (제주나눔푸드뱅크, 100상자) is shared with the foodbank's
partners only, which 제주시청 is not, so the campaigns describe the item rather than link it.

Everything goes through the campaign and client services as each tenant's user (``as_member``):
nominators register the residents they nominate when they are new to them and record a campaign
consent covering 제주시청. Idempotent: a campaign is keyed on its organiser and title, and a run
finding both adds nothing. Needs `flask tenants apply --demo` and `flask demo caseload` first, and
(while the running campaign is still to load) the demo registry configured; refuses before
writing anything otherwise.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, select

from ..accounts.models import User
from ..campaigns import service
from ..campaigns.models import Campaign, CampaignStatus, Flag, FlagKind, FlagStatus, Nomination, NominationStatus
from ..campaigns.resident_registry import Change, resident_registry
from ..clients import rrn
from ..clients import service as clients
from ..clients.models import Client, ConsentPurpose, VitalStatus
from ..core import clock
from ..core.db import db
from ..tenancy.context import acting_as
from ..tenancy.models import Role, Tenant
from . import people
from .pilots import as_member
from .referrals import MissingDemoData, _some

REGISTRY_CSV = Path(__file__).resolve().parent / "data" / "resident-registry.csv"

ORGANISER = "jeju-city"
HALLIM, AEWOL = "5011025000", "5011025300"
# The nominating agencies and who nominates for each.
NOMINATORS = {"halla-welfare": "case@halla.demo", "hallim-dong": "planner@hallim.demo",
              "jeju-foodbank": "registrar@foodbank.demo"}

COMMANDS = {"users": "the Jeju pilot tenants or their demo users are not registered ({}): run "
                     "`flask tenants apply --demo` first",
            "caseload": "the demo caseload is not loaded ({}): run `flask demo caseload` first",
            "registry": "the resident registry does not know the demo's deaths and moves ({}): set "
                        f"HANARO_RESIDENT_REGISTRY_CSV={REGISTRY_CSV} (scripts/demo does)"}


@dataclass(frozen=True)
class Resident:
    """A fictional resident a nominating agency registers if it does not know them yet."""

    name: str
    rrn: str
    phone: str
    dong_code: str
    address: str

    @property
    def digits(self) -> str:
        return self.rrn.replace("-", "")


# Known to both 한라종합사회복지관 and 한림읍 (each registered her): the duplicate.
SHARED = Resident("고순녀", "410211-2730156", "010-3321-7750", HALLIM, "제주시 한림읍 한림로 212")
# Deceased per the registry (2026-10-21); 제주나눔푸드뱅크 has not heard.
DECEASED = Resident("양춘자", "380803-2730287", "010-4410-2381", AEWOL, "제주시 애월읍 애월로 57")
# Moved to 서귀포시 남원읍 per the registry (2026-09-30); 한라종합사회복지관's record still says 한림읍.
MOVED = Resident("김만석", "500520-1730419", "010-5567-1029", HALLIM, "제주시 한림읍 한림상로 48")
FOODBANK_REGULARS = (Resident("부영희", "571102-2730574", "010-2287-6613", AEWOL, "제주시 애월읍 애원로 133"),
                     Resident("강덕수", "490327-1730634", "010-6634-0912", AEWOL, "제주시 애월읍 하귀로 22"))

FINISHED_TITLE = "지난해 사랑의 김장김치 나눔"
RUNNING_TITLE = "올해 사랑의 김장김치 나눔"
SPONSOR = "한림농협 고향주부모임"
ITEM = "김장김치 4kg 1상자 (한림농협 고향주부모임 후원)"
ELIGIBILITY = "기초생활수급·차상위 가구, 홀로 사는 어르신 가구를 먼저 추천해 주세요."

REASONS = {
    "alone": "홀로 사는 어르신으로 올겨울 김장을 하지 못해 반찬이 부족합니다.",
    "couple": "노부부 가구로 두 분 모두 거동이 불편해 김장을 할 수 없습니다.",
    "income": "차상위 가구로 겨울철 난방비 부담이 커 식비를 줄이고 있습니다.",
    "foodbank": "푸드뱅크 정기 이용 가구로 겨울 동안 반찬 지원이 필요합니다.",
    "shared": "사례관리 중인 독거 어르신으로 무릎 수술 뒤 혼자 장을 보기 어렵습니다.",
}


class _Missing(Exception):
    def __init__(self, kind: str, detail: str):
        super().__init__(detail)
        self.kind, self.detail = kind, detail


# -- what the demo needs: looked up before anything is written ----------------------------------------

@dataclass
class World:
    tenants: dict[str, Tenant]
    organiser: Tenant
    organiser_user: User
    users: dict[str, User]  # tenant code -> the user nominating for it
    caseload: dict[str, list[Client]]  # tenant code -> its demo clients, oldest first

    @classmethod
    def find(cls) -> World:
        tenants = {t.code: t for t in db.session.scalars(select(Tenant))}
        needed = {ORGANISER, "aewol-dong", *NOMINATORS}
        missing = sorted(needed - set(tenants))
        if missing:
            raise MissingDemoData(COMMANDS["users"].format("missing tenants: " + _some(missing)))
        problems: list[_Missing] = []

        def attempt(lookup, *args):
            try:
                return lookup(*args)
            except _Missing as problem:  # every lookup, so one run reports everything missing
                problems.append(problem)
                return None

        organiser_user = attempt(_organiser_user, tenants[ORGANISER])
        users = {code: attempt(_member, tenants[code], email) for code, email in NOMINATORS.items()}
        caseload = {code: attempt(_caseload, tenants[code], count) for code, count in
                    (("halla-welfare", 5), ("hallim-dong", 4))}
        if _campaign_titled(tenants[ORGANISER], RUNNING_TITLE) is None:  # the registry's flags are still to find
            attempt(_registry_knows_the_demo)
        if problems:
            details: dict[str, dict[str, None]] = {}
            for problem in problems:
                details.setdefault(problem.kind, {})[problem.detail] = None
            raise MissingDemoData("; ".join(COMMANDS[kind].format(_some(list(items)))
                                            for kind, items in details.items()))
        return cls(tenants, tenants[ORGANISER], organiser_user, users, caseload)


def _organiser_user(tenant: Tenant) -> User:
    user = people.member_with_role(tenant, Role.CAMPAIGN_ORGANISER)
    if user is None:
        raise _Missing("users", f"{tenant.name} has no 자원배분 담당자 (campaign_organiser)")
    return user


def _member(tenant: Tenant, email: str) -> User:
    user = people.member_by_email(tenant, email)
    if user is None:
        raise _Missing("users", f"{email} is not a member of {tenant.name}")
    return user


def _caseload(tenant: Tenant, count: int) -> list[Client]:
    """The tenant's demo clients living in its dong, alive, oldest first (at least ``count``)."""
    with acting_as(tenant.id, None):
        found = list(db.session.scalars(select(Client).where(
            Client.tenant_id == tenant.id, Client.vital_status == VitalStatus.ALIVE.value,
            Client.dong_code == HALLIM, Client.rrn_blind_index.is_not(None),
            Client.rrn_blind_index.not_in(_demo_indexes())).order_by(Client.id)))
    if len(found) < count:
        raise _Missing("caseload", f"{tenant.name} has {len(found)} of the {count} clients in 한림읍 the demo nominates")
    return found


def _demo_indexes() -> list[str]:
    """The blind indexes of this demo's own residents (not part of the caseload)."""
    return [rrn.blind_index(rrn.parse(r.rrn)) for r in (SHARED, DECEASED, MOVED, *FOODBANK_REGULARS)]


def _registry_knows_the_demo() -> None:
    expected = {DECEASED.digits: Change.DECEASED, MOVED.digits: Change.MOVED_OUT}
    try:
        registry = resident_registry()
        known = {digits: registry.latest_change(digits) for digits in expected}
    except OSError as error:
        raise _Missing("registry", f"unreadable: {error.strerror}") from None
    if any(getattr(known[digits], "change", None) is not change for digits, change in expected.items()):
        raise _Missing("registry", "no deaths or moves of the demo residents")


# -- loading ------------------------------------------------------------------------------------------

def apply() -> dict:
    """Load what is missing. Returns {"added": [titles]} and the totals of both campaigns."""
    world = World.find()
    added = []
    if _find(world, FINISHED_TITLE) is None:
        _load_finished(world)
        added.append(FINISHED_TITLE)
    if _find(world, RUNNING_TITLE) is None:
        _load_running(world)
        added.append(RUNNING_TITLE)
    db.session.flush()
    return {"added": added, **totals(world)}


def _find(world: World, title: str) -> Campaign | None:
    return _campaign_titled(world.organiser, title)


def _campaign_titled(organiser: Tenant, title: str) -> Campaign | None:
    with acting_as(organiser.id, None):
        return db.session.scalar(select(Campaign).where(Campaign.tenant_id == organiser.id, Campaign.title == title))


def _as_organiser(world: World):
    return as_member(world.organiser, world.organiser_user)


def _as_nominator(world: World, code: str):
    return as_member(world.tenants[code], world.users[code])


def _create(world: World, title: str, opens_on: date, closes_on: date, quantity: int,
            nominators: list[tuple[str, int | None]], dong_quotas: dict[str, int]) -> str:
    with _as_organiser(world):
        campaign = service.create_campaign({
            "title": title, "category": "kimjang", "item_description": ITEM, "sponsor": SPONSOR, "quantity": quantity,
            "unit": "상자", "per_household": 1, "eligibility_notes": ELIGIBILITY, "opens_on": opens_on,
            "closes_on": closes_on, "nominators": [{"tenant": code, "quota": quota} for code, quota in nominators],
            "dong_quotas": [{"dong": code, "quota": n} for code, n in dong_quotas.items()]}, world.organiser_user)
        service.open_nominations(campaign, world.organiser_user)
        return campaign.public_id


def _nominate(world: World, code: str, campaign_id: str, client: Client | Resident, reason: str,
              priority: str = "normal", consented: date | None = None) -> str:
    """``code`` nominates its client (a :class:`Resident` is registered first if new to it), after
    recording a campaign consent covering the organiser when none covers it yet."""
    user = world.users[code]
    with _as_nominator(world, code):
        own = _register(client, user) if isinstance(client, Resident) else db.session.get(Client, client.id)
        if clients.covering_consent(own, world.organiser, ConsentPurpose.CAMPAIGN) is None:
            granted = consented or clock.today() - timedelta(days=3)
            clients.record_consent(own, {
                "scope": "tenants", "tenants": [ORGANISER], "purposes": ["campaign"], "granted_on": granted,
                "expires_on": granted + timedelta(days=730),
                "evidence_reference": f"자원배분-{code}-{own.public_id[:6]}"}, user)
        result = service.nominate(service.get_campaign_or_404(campaign_id), own,
                                  {"reason": reason, "priority": priority}, user)
        return result.nomination.public_id


def _register(resident: Resident, user: User) -> Client:
    parsed = rrn.parse(resident.rrn)
    client, _existing = clients.register_client({
        "name": resident.name, "birth_date": parsed.birth_date, "sex": parsed.sex, "rrn": resident.rrn,
        "phone": resident.phone, "address": resident.address, "dong_code": resident.dong_code}, user)
    return client


def _load_finished(world: World) -> None:
    """Last year's campaign, run from nominations to deliveries now, then dated back."""
    today = clock.today()
    halla, hallim = world.caseload["halla-welfare"], world.caseload["hallim-dong"]
    campaign_id = _create(world, FINISHED_TITLE, today - timedelta(days=358), today, 40,
                          [("halla-welfare", None), ("hallim-dong", None)], {})
    consented = today - timedelta(days=360)
    ids = {
        "halla0": _nominate(world, "halla-welfare", campaign_id, halla[0], REASONS["alone"], "high", consented),
        "halla1": _nominate(world, "halla-welfare", campaign_id, halla[1], REASONS["couple"], consented=consented),
        "halla2": _nominate(world, "halla-welfare", campaign_id, halla[2], REASONS["income"], consented=consented),
        "hallim0": _nominate(world, "hallim-dong", campaign_id, hallim[0], REASONS["alone"], "urgent", consented),
        "hallim1": _nominate(world, "hallim-dong", campaign_id, hallim[1], REASONS["income"], consented=consented),
    }
    user = world.organiser_user
    with _as_organiser(world):
        campaign = service.get_campaign_or_404(campaign_id)
        service.close_nominations(campaign, user)
        for name in ("halla0", "halla1", "hallim0", "hallim1"):
            service.accept(service.get_nomination_or_404(ids[name]), user)
        service.reject(service.get_nomination_or_404(ids["halla2"]), "ineligible", user,
                       "소득 조사 결과 차상위 기준을 넘어 이번 배분에서는 제외합니다.")
        service.finalise(campaign, user)
        for name in ("halla0", "halla1", "hallim0"):
            service.record_delivery(service.get_nomination_or_404(ids[name]),
                                    {"status": "delivered", "delivered_on": today}, user)
        service.record_delivery(service.get_nomination_or_404(ids["hallim1"]),
                                {"status": "not_delivered", "note": "세 차례 방문했으나 만나지 못해 다음 배분으로 넘깁니다."},
                                user)
        service.complete(campaign, user)
        _date_back(campaign, ids)


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=clock.SEOUL).astimezone(timezone.utc)


def _date_back(campaign: Campaign, ids: dict[str, str]) -> None:
    """Last year's dates: opened 358 days ago for two weeks, confirmed 335, delivered 330-328,
    completed 320 days ago (all within the last twelve months the figures show by default)."""
    today = clock.today()
    campaign.opens_on, campaign.closes_on = today - timedelta(days=358), today - timedelta(days=344)
    campaign.created_at = campaign.opened_at = _at(today - timedelta(days=358), 9)
    campaign.checked_at = _at(today - timedelta(days=343), 10)
    campaign.confirmed_at = _at(today - timedelta(days=335), 15)
    campaign.completed_at = _at(today - timedelta(days=320), 17)
    for number, public_id in enumerate(ids.values()):
        nomination = service.get_nomination_or_404(public_id)
        nomination.submitted_at = _at(today - timedelta(days=356 - number), 10 + number)
        if nomination.decided_at is not None:
            nomination.decided_at = _at(today - timedelta(days=340), 14)
        if nomination.delivered_on is not None:
            nomination.delivered_on = today - timedelta(days=330 - number % 3)
    db.session.flush()


def _load_running(world: World) -> None:
    """This year's campaign, open for another week; every check has something to find."""
    today = clock.today()
    halla, hallim = world.caseload["halla-welfare"], world.caseload["hallim-dong"]
    campaign_id = _create(world, RUNNING_TITLE, today - timedelta(days=9), today + timedelta(days=7), 60,
                          [("halla-welfare", 4), ("hallim-dong", None), ("jeju-foodbank", None), ("aewol-dong", None)],
                          {AEWOL: 2})
    clean = [
        _nominate(world, "halla-welfare", campaign_id, halla[3], REASONS["couple"], "high"),
        _nominate(world, "hallim-dong", campaign_id, hallim[2], REASONS["alone"], "high"),
    ]
    _nominate(world, "hallim-dong", campaign_id, SHARED, REASONS["shared"], "urgent")  # duplicate ...
    _nominate(world, "halla-welfare", campaign_id, SHARED, REASONS["shared"], "urgent")  # ... of this one
    _nominate(world, "halla-welfare", campaign_id, MOVED, REASONS["alone"], "high")  # moved out
    _nominate(world, "halla-welfare", campaign_id, halla[0], REASONS["alone"], "high")  # served last year
    _nominate(world, "halla-welfare", campaign_id, halla[4], REASONS["income"])  # the agency's fifth
    _nominate(world, "hallim-dong", campaign_id, hallim[3], REASONS["income"])
    _nominate(world, "jeju-foodbank", campaign_id, FOODBANK_REGULARS[0], REASONS["foodbank"], "high")
    _nominate(world, "jeju-foodbank", campaign_id, DECEASED, REASONS["foodbank"])  # deceased
    _nominate(world, "jeju-foodbank", campaign_id, FOODBANK_REGULARS[1], REASONS["foodbank"])  # 애월읍's third
    user = world.organiser_user
    with _as_organiser(world):
        campaign = service.get_campaign_or_404(campaign_id)
        service.run_checks(campaign, user)
        for public_id in clean:
            service.accept(service.get_nomination_or_404(public_id), user)
        service.run_checks(campaign, user)  # the quota order counts the selected first


# -- what was loaded -------------------------------------------------------------------------------------

def totals(world: World | None = None) -> dict:
    """Per demo campaign (as the organiser sees it): status, nominations by status, open flags by
    kind, households delivered to."""
    world = world or World.find()
    result = {}
    for key, title in (("finished", FINISHED_TITLE), ("running", RUNNING_TITLE)):
        campaign = _find(world, title)
        if campaign is None:
            continue
        with acting_as(world.organiser.id, None):
            statuses = Counter(dict(db.session.execute(select(Nomination.status, func.count()).where(
                Nomination.campaign_id == campaign.id).group_by(Nomination.status)).all()))
            flags = Counter(dict(db.session.execute(select(Flag.kind, func.count()).where(
                Flag.campaign_id == campaign.id, Flag.status == FlagStatus.OPEN.value).group_by(Flag.kind)).all()))
            delivered = db.session.scalar(select(func.count()).select_from(Nomination).where(
                Nomination.campaign_id == campaign.id, Nomination.delivered_on.is_not(None)))
        result[key] = {"status": CampaignStatus(campaign.status).value,
                       "nominations": {s.value: statuses.get(s, 0) for s in NominationStatus},
                       "open_flags": {k.value: flags.get(k, 0) for k in FlagKind}, "delivered": delivered}
    return result


def summary(result: dict) -> str:
    head = "added " + ", ".join(result["added"]) if result["added"] else "already present"
    parts = []
    for key in ("finished", "running"):
        if key not in result:
            continue
        c = result[key]
        nominations = ", ".join(f"{s} {n}" for s, n in c["nominations"].items() if n)
        flags = ", ".join(f"{k} {n}" for k, n in c["open_flags"].items() if n) or "none"
        parts.append(f"{key} ({c['status']}): nominations {nominations}; open flags {flags}; "
                     f"delivered {c['delivered']}")
    return f"campaigns: {head} — " + " | ".join(parts)
