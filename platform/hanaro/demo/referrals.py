"""Demo service referrals for the Jeju pilot (`flask demo referrals`, demo mode only): dong centres
and welfare centres refer clients of their demo cases to other tenants' catalogue services, or
directly to a tenant, and every referral is moved through the referral service as the right
tenant and user, so the demo shows every state: a draft, sent ones (one overdue and not yet
expired, one due tomorrow, one re-routed after a decline), accepted, waitlisted, declined,
in progress, completed and not completed with outcomes, withdrawn and expired, with messages
from both sides.

Needs the tenant registry, `flask demo caseload` and `flask demo catalogue` first. Idempotent: a
referral is keyed on its sender and reason text (a re-routed one on the referral it came from),
so running it again adds nothing. Clients get a referral consent naming the receivers, recorded
through the clients service with a document number, where their demo consent does not cover
them.

Dates: sending, answering and closing are back-dated for realism after the service calls (the
service stamps "now"); event and message times stay the time of loading, since those rows are
append-only. Response deadlines are set from the day of loading, so "overdue" and "due tomorrow"
hold on that day (until the expiry sweep closes the overdue one).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

from sqlalchemy import func, select

from ..accounts.models import User
from ..cases.models import Case, CaseStatus
from ..clients import service as clients
from ..clients.models import Client, ConsentPurpose
from ..core import clock
from ..core.db import db
from ..referrals import service
from ..referrals.models import Referral, State
from ..referrals.states import TRANSITIONS, Side
from ..resources.models import Resource
from ..tenancy.context import acting_as
from ..tenancy.models import Membership, Role, Tenant

HOME_VISIT = ("name", "age", "sex", "dong", "phone", "address", "needs")
DEFAULT = ("name", "age", "sex", "dong", "needs")
# Who answers on the receiving side, in order of preference.
RECEIVER_ROLES = (Role.REFERRAL_COORDINATOR, Role.TENANT_ADMIN)


class MissingDemoData(RuntimeError):
    """What the referrals need is not loaded; the message says which command to run first."""


COMMANDS = {"caseload": "the demo caseload is not loaded ({}): run `flask demo caseload` first",
            "catalogue": "the demo catalogue is not loaded ({}): run `flask demo catalogue` first",
            "users": "the demo users are not registered ({}): run `flask tenants apply --demo` first"}


class _Missing(Exception):
    def __init__(self, kind: str, detail: str):
        super().__init__(detail)
        self.kind, self.detail = kind, detail


@dataclass(frozen=True)
class Demo:
    """One demo referral. ``sent`` and the other day counts are days before loading (None: the
    step does not happen); ``steps`` run after sending, each as the side it belongs to:
    (action, ...) for a transition, ("say", side, text) for a message."""

    sender: str
    reason: str
    receiver: str
    resource: str | None = None  # a catalogue listing of the receiver; None: directly to the tenant
    requested_service: str | None = None
    urgency: str = "routine"
    fields: tuple[str, ...] = DEFAULT
    elderly: bool | None = None  # the client should be 65+ (True), younger (False), either (None)
    health: bool = False  # the referral consent includes health information
    sent: int | None = None
    answered: int | None = None
    closed: int | None = None
    due: int | None = None  # days from loading; default: a week after sending
    steps: tuple[tuple, ...] = ()
    reroute: Demo | None = None  # after the steps, re-route (sender, reason: taken from this one)


DEMO_REFERRALS: list[Demo] = [
    # 작성 중: the planner has drafted it; the consent is in, it has not gone out yet.
    Demo("hallim-dong", "독거 어르신 겨울철 난방비 부담으로 연료 지원 필요 (등유 보일러, 지난달 난방을 거의 못 함)",
         "jeju-city", "저소득층 난방비 지원", urgency="priority", elderly=True),
    # 보냄, overdue: no answer two days after the deadline.
    Demo("namwon-dong", "실직 후 소득이 끊긴 4인 가구, 월말마다 쌀이 떨어져 식량 지원 필요",
         "jeju-foodbank", "이웃사랑 쌀 나눔 (10kg)", elderly=False, sent=9,
         steps=(("say", "sender", "응답 기한이 지났습니다. 배분 가능 여부만이라도 알려 주시면 대상자에게 안내하겠습니다."),)),
    # 보냄, due tomorrow.
    Demo("halla-welfare", "고혈압·당뇨가 있으나 복약을 자주 거름, 방문간호로 혈압·혈당 관리와 복약 지도 필요",
         "jeju-health-centre", "방문건강관리", fields=HOME_VISIT, elderly=True, health=True, sent=6, due=1,
         steps=(("say", "sender", "복용 중인 약 목록과 최근 혈압 기록을 첨부해 드릴 수 있습니다. 필요하시면 말씀해 주세요."),)),
    # 수락
    Demo("halla-welfare", "독거 어르신 가구, 올해 김장을 하지 못해 겨울 동안 반찬이 부족함",
         "jeju-foodbank", "김장김치 나눔", elderly=True, sent=5, answered=3,
         steps=(("accept",),
                ("say", "receiver", "12월 둘째 주 화요일에 배분합니다. 수령 방법을 알려 주세요."),
                ("say", "sender", "어르신 거동이 불편하셔서 복지관 직원이 대신 수령해 전달하겠습니다."))),
    # 대기 등록 (the food market is full)
    Demo("hallim-dong", "기초생활수급 가구, 식료품과 생필품 구입비 부담이 커 푸드마켓 이용 연계 필요",
         "jeju-foodbank", "푸드마켓 이용 연계", elderly=False, sent=8, answered=6,
         steps=(("waitlist", "이용 정원이 차서 대기 3번째로 등록했습니다. 12월 중 자리가 나면 바로 연락드리겠습니다."),
                ("say", "sender", "대기 기간 동안 긴급 식품 지원이 가능할까요?"),
                ("say", "receiver", "긴급 식품 지원을 따로 의뢰해 주시면 당일 전달해 드릴 수 있습니다."))),
    # 대기 등록 (day care has a waiting list)
    Demo("halla-welfare", "경증 치매(장기요양 4등급)로 낮 동안 혼자 계시는 시간이 길어 주야간보호 필요",
         "halla-care-home", "주야간보호", elderly=True, health=True, sent=10, answered=7,
         steps=(("waitlist", "현재 대기 5번째입니다. 1~3개월 안에 자리가 날 것으로 예상됩니다."),
                ("say", "receiver", "입소 전 상담 때 장기요양 인정서 사본을 준비해 주세요."))),
    # 거절 (out of area), re-routed the same week to the welfare centre in Namwon: sent.
    Demo("namwon-dong", "혼자 식사를 거르는 날이 많고 영양 상태가 나빠 점심 급식 연계 필요",
         "halla-welfare", "경로식당 무료 급식", elderly=True, sent=6, answered=4,
         steps=(("decline", "out_of_area", "한림읍 어르신 대상 급식소라 남원읍에서는 이용이 어렵습니다. 가까운 복지관에 의뢰해 주세요."),
                ("say", "sender", "안내 감사합니다. 서귀포해오름종합사회복지관으로 다시 의뢰하겠습니다.")),
         reroute=Demo("namwon-dong", "", "seogwipo-welfare", sent=3,
                      steps=(("say", "receiver", "남원읍 경로식당 운영 요일과 송영 가능 여부를 확인한 뒤 회신드리겠습니다."),))),
    # 거절 (not eligible yet)
    Demo("hallim-dong", "주 돌봄자인 딸의 입원으로 치매 어르신 돌봄 공백, 2주간 단기보호 필요",
         "halla-care-home", "단기보호 (가족 쉼 지원)", urgency="urgent", elderly=True, health=True, sent=4, answered=3,
         steps=(("decline", "ineligible", "장기요양 등급 판정 전이라 단기보호를 이용할 수 없습니다. 등급 신청 후 다시 의뢰해 주세요."),
                ("say", "sender", "등급 신청을 도와 드리고 판정이 나오면 다시 의뢰하겠습니다."))),
    # 서비스 제공 중
    Demo("seogwipo-welfare", "자녀가 모두 육지에 살아 왕래가 없는 독거 어르신, 정기 방문으로 고립감 완화 필요",
         "dolbom-neighbours", "어르신 말벗 방문", fields=HOME_VISIT, elderly=True, sent=20, answered=18,
         steps=(("accept",),
                ("say", "receiver", "자원봉사자를 배정했습니다. 매주 목요일 오후에 방문합니다."),
                ("start",),
                ("say", "sender", "첫 방문 뒤 특이사항이 있으면 공유 부탁드립니다."),
                ("say", "receiver", "첫 방문을 마쳤습니다. 건강은 양호하시고, 보청기 배터리 교체가 필요해 보입니다."))),
    Demo("halla-welfare", "기초생활수급 신청 서류를 혼자 준비하기 어려움, 찾아가는 상담으로 신청 지원 필요",
         "hallim-dong", "찾아가는 복지상담", fields=HOME_VISIT, elderly=False, sent=12, answered=11,
         steps=(("accept",), ("start",),
                ("say", "receiver", "가정 방문해 신청서를 함께 작성했습니다. 소득·재산 조사 결과는 약 30일 뒤 나옵니다."))),
    # 완료
    Demo("namwon-dong", "독거 어르신 겨울철 난방비 부담으로 연료 지원 필요",
         "dolbom-neighbours", "겨울 연탄 나눔", fields=HOME_VISIT, elderly=True, sent=25, answered=23, closed=10,
         steps=(("accept",),
                ("say", "receiver", "다음 주 토요일 봉사단이 배달합니다. 연탄 창고 위치를 알려 주세요."),
                ("say", "sender", "집 뒤편 창고입니다. 어르신께 미리 말씀드려 두었습니다."),
                ("start",),
                ("complete", "연탄 300장 배달 완료. 창고 정리와 보일러 배관 점검도 함께 했습니다."))),
    Demo("halla-welfare", "실직 후 식료품을 살 돈이 없는 위기가구, 당일 긴급 식품 지원 필요",
         "jeju-foodbank", "긴급 식품 지원", urgency="urgent", elderly=False, sent=15, answered=15, closed=14,
         steps=(("accept",),
                ("complete", "3일분 식품 꾸러미를 당일 전달했고 푸드마켓 이용 방법을 안내했습니다."),
                ("say", "sender", "빠르게 지원해 주셔서 감사합니다. 긴급복지 생계지원 신청도 진행 중입니다."))),
    # 미완료 종결
    Demo("hallim-dong", "한부모 가정 초등학생 자녀의 방과 후 돌봄 공백과 학습 부진, 학습 멘토링 연계 필요",
         "halla-welfare", "방과후 학습 멘토링", elderly=False, sent=30, answered=28, closed=2,
         steps=(("accept",), ("start",),
                ("say", "receiver", "멘토를 배정했습니다. 화·목 오후 4시에 복지관에서 진행합니다."),
                ("not_complete", "멘토링 3회 참여 뒤 가족이 제주시 동지역으로 이사해 중단했습니다. 이사한 지역의 지역아동센터를 안내했습니다."))),
    # 철회
    Demo("seogwipo-welfare", "허리 통증으로 이불 빨래가 어려운 어르신, 계절 이불 세탁 지원 필요",
         "dolbom-neighbours", "이불 빨래 지원", elderly=True, sent=7, closed=2,
         steps=(("say", "receiver", "다음 수거일은 이번 달 마지막 주 수요일입니다."),
                ("withdraw", "대상자가 당분간 제주시 자녀 집에서 지내게 되어 의뢰를 철회합니다."))),
    # 기한 만료: nobody answered by the deadline, the sweep closed it.
    Demo("seogwipo-welfare", "배우자와 사별한 뒤 우울감과 불면을 호소함, 정신건강 상담 연계 필요",
         "jeju-health-centre", "정신건강 상담", elderly=True, health=True, sent=14,
         steps=(("expire",),)),
    # 수락, directly to the dong centre (no listing): emergency welfare application.
    Demo("seogwipo-welfare", "갑작스러운 실직과 질병으로 생계가 어려움, 긴급복지 생계지원 신청 연계 필요",
         "namwon-dong", requested_service="긴급복지 생계지원 신청", urgency="urgent", fields=HOME_VISIT,
         elderly=False, sent=2, answered=1,
         steps=(("accept",),
                ("say", "receiver", "내일 오전 맞춤형복지팀이 가정 방문해 신청서를 받겠습니다."),
                ("say", "sender", "대상자가 오전에는 병원 진료가 있어 오후 2시 이후 방문을 부탁드립니다."))),
]


@dataclass
class _Plan:
    """A demo referral ready to load: tenants, users, the client, its case and the listing."""

    demo: Demo
    index: int
    sender: Tenant
    receiver: Tenant
    sender_user: User
    receiver_user: User | None
    client: Client
    case: Case
    resource: Resource | None
    reroute_to: Tenant | None = None
    existing: Referral | None = None  # loaded already (only its re-route is missing)


def apply() -> dict:
    """Load the missing demo referrals. Returns {"added": n, "states": {state: count}} where the
    counts cover every referral the demo senders have."""
    tenants = {t.code: t for t in db.session.scalars(select(Tenant))}
    needed = {d.sender for d in DEMO_REFERRALS} | {d.receiver for d in DEMO_REFERRALS} | \
             {d.reroute.receiver for d in DEMO_REFERRALS if d.reroute}
    missing_tenants = sorted(needed - set(tenants))
    if missing_tenants:
        raise MissingDemoData(f"the Jeju pilot tenants are not registered (missing: {_some(missing_tenants)}): run "
                              "`flask tenants apply --demo`, `flask demo caseload` and `flask demo catalogue` first")
    plans = _plan(tenants)
    _record_consents(plans)
    added = 0
    for plan in plans:
        added += _load(plan)
    db.session.flush()
    return {"added": added, "states": state_counts(tenants)}


def state_counts(tenants: dict[str, Tenant] | None = None) -> dict[str, int]:
    """Referrals per state over everything the demo senders have sent or drafted."""
    tenants = tenants or {t.code: t for t in db.session.scalars(select(Tenant))}
    counts: Counter = Counter()
    for code in sorted({d.sender for d in DEMO_REFERRALS}):
        tenant = tenants[code]
        with acting_as(tenant.id, None):
            rows = db.session.execute(select(Referral.state, func.count()).where(Referral.tenant_id == tenant.id)
                                      .group_by(Referral.state))
            counts.update({State(state).value: n for state, n in rows})
    return {state.value: counts.get(state.value, 0) for state in State}


def summary(result: dict) -> str:
    head = f"added {result['added']}" if result["added"] else "already present"
    return f"referrals: {head} — " + ", ".join(f"{state} {n}" for state, n in result["states"].items())


# -- planning: everything is looked up before anything is written ---------------------------------------

def _find(sender: Tenant, demo: Demo) -> Referral | None:
    with acting_as(sender.id, None):
        return db.session.scalar(select(Referral).where(
            Referral.tenant_id == sender.id, Referral.reason == demo.reason, Referral.rerouted_from_id.is_(None)))


def _rerouted(sender: Tenant, original: Referral) -> Referral | None:
    with acting_as(sender.id, None):
        return db.session.scalar(select(Referral).where(Referral.tenant_id == sender.id,
                                                        Referral.rerouted_from_id == original.id))


def _plan(tenants: dict[str, Tenant]) -> list[_Plan]:
    plans, problems = [], []
    used: dict[int, set[int]] = defaultdict(set)  # sender id -> clients referred already
    for code in {d.sender for d in DEMO_REFERRALS}:
        sender = tenants[code]
        with acting_as(sender.id, None):
            used[sender.id] = set(db.session.scalars(select(Referral.client_id).where(Referral.tenant_id == sender.id)))
    for index, demo in enumerate(DEMO_REFERRALS, start=1):
        sender, receiver = tenants[demo.sender], tenants[demo.receiver]
        existing = _find(sender, demo)
        if existing is not None and (demo.reroute is None or _rerouted(sender, existing) is not None):
            continue
        found = {}
        lookups = {
            "client": lambda: (_client_and_case_of(sender, existing) if existing is not None
                               else _choose_client(sender, demo, used[sender.id])),
            "resource": lambda: (_resource(sender, receiver, demo.resource)
                                 if demo.resource and existing is None else None),
            "receiver_user": lambda: _receiver_user(receiver) if _receiver_acts(demo) else None,
            "reroute_user": lambda: (_receiver_user(tenants[demo.reroute.receiver])
                                     if demo.reroute and _receiver_acts(demo.reroute) else None),
        }
        for name, lookup in lookups.items():  # every lookup, so one run reports everything missing
            try:
                found[name] = lookup()
            except _Missing as problem:
                problems.append(problem)
        if len(found) < len(lookups):
            continue
        client, case = found["client"]
        plan = _Plan(demo, index, sender, receiver, db.session.get(User, case.lead_worker_user_id),
                     found["receiver_user"], client, case, found["resource"], existing=existing,
                     reroute_to=tenants[demo.reroute.receiver] if demo.reroute else None)
        used[sender.id].add(client.id)
        plans.append(plan)
    if problems:
        details = defaultdict(dict)  # kind -> details, in order, once each
        for problem in problems:
            details[problem.kind][problem.detail] = None
        raise MissingDemoData("; ".join(COMMANDS[kind].format(_some(list(items))) for kind, items in details.items()))
    return plans


def _some(items: list[str], shown: int = 3) -> str:
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more


def _receiver_acts(demo: Demo) -> bool:
    return any(_side(step) is Side.RECEIVER for step in demo.steps)


def _side(step: tuple) -> Side:
    if step[0] == "say":
        return Side(step[1])
    return TRANSITIONS[step[0]].side


def _choose_client(sender: Tenant, demo: Demo, used: set[int]) -> tuple[Client, Case]:
    """The best fitting open case of ``sender``: the client's age as the reason says, not referred
    yet in the demo, the case received before the referral was sent, needs assessed."""
    today = clock.today()
    sent_on = today - timedelta(days=demo.sent or 0)
    with acting_as(sender.id, None):
        rows = db.session.execute(select(Case, Client).join(Client, Client.id == Case.client_id)
                                  .where(Case.tenant_id == sender.id, Case.status != CaseStatus.CLOSED.value)
                                  .order_by(Case.id)).all()
    if not rows:
        raise _Missing("caseload", f"no cases at {sender.name}")

    def fit(row):
        case, client = row
        elderly = client.age_on(today) >= 65
        return (demo.elderly is not None and elderly != demo.elderly, client.id in used,
                case.received_on > sent_on, case.status is CaseStatus.INTAKE, case.id)

    case, client = min(rows, key=fit)
    return client, case


def _client_and_case_of(sender: Tenant, referral: Referral) -> tuple[Client, Case]:
    with acting_as(sender.id, None):
        client = db.session.get(Client, referral.client_id)
        case = db.session.get(Case, referral.case_id)
    return client, case


def _resource(sender: Tenant, receiver: Tenant, name: str) -> Resource:
    """The receiver's listing as the sender finds it (its sharing scope must let the sender see it)."""
    with acting_as(sender.id, None):
        resource = db.session.scalar(select(Resource).where(Resource.tenant_id == receiver.id, Resource.name == name))
    if resource is None:
        raise _Missing("catalogue", f"{sender.name} finds no '{name}' of {receiver.name}")
    return resource


def _receiver_user(receiver: Tenant) -> User:
    """Who answers for ``receiver``: its referral coordinator, else its tenant admin."""
    with acting_as(receiver.id, None):
        memberships = list(db.session.scalars(select(Membership).where(
            Membership.tenant_id == receiver.id, Membership.active).order_by(Membership.id)))
    for role in RECEIVER_ROLES:
        for membership in memberships:
            if membership.has_role(role):
                return db.session.get(User, membership.user_id)
    raise _Missing("users", f"{receiver.name} has no referral coordinator or tenant admin to answer referrals")


# -- consents -----------------------------------------------------------------------------------------------

def _record_consents(plans: list[_Plan]) -> None:
    """A referral consent for each client whose consents do not cover every demo receiver, naming
    them all, recorded by the case worker with the signed form's document number."""
    by_client: dict[int, list[_Plan]] = defaultdict(list)
    for plan in plans:
        by_client[plan.client.id].append(plan)
    for group in by_client.values():
        first = group[0]
        receivers = {p.receiver.id: p.receiver for p in group if p.existing is None}
        receivers.update({p.reroute_to.id: p.reroute_to for p in group if p.reroute_to is not None})
        health = any(p.demo.health for p in group)
        with acting_as(first.sender.id, first.sender_user.id):
            uncovered = [t for t in receivers.values()
                         if clients.covering_consent(first.client, t, ConsentPurpose.REFERRAL, health=health) is None]
            if not uncovered:
                continue
            earliest = max(p.demo.sent or 0 for p in group) + 1
            granted = clock.today() - timedelta(days=earliest)
            clients.record_consent(first.client, {
                "scope": "tenants", "tenants": sorted(t.code for t in receivers.values()), "purposes": ["referral"],
                "includes_health": health, "granted_on": granted, "expires_on": granted + timedelta(days=364),
                "evidence_reference": f"서비스의뢰 동의서 {first.sender.code}-{first.index:03d}",
            }, first.sender_user)


# -- loading one referral -------------------------------------------------------------------------------------

def _load(plan: _Plan) -> int:
    demo, added = plan.demo, 0
    referral = plan.existing
    if referral is None:
        with acting_as(plan.sender.id, plan.sender_user.id):
            values = {"reason": demo.reason, "urgency": demo.urgency, "shared_fields": list(demo.fields),
                      "requested_service": demo.requested_service}
            if demo.due is not None and demo.due >= 0:
                values["response_due_on"] = clock.today() + timedelta(days=demo.due)
            referral = service.create(values, plan.client, plan.sender_user, case=plan.case, resource=plan.resource,
                                      receiver=None if plan.resource else plan.receiver)
        _run(plan, referral, demo, plan.receiver, plan.receiver_user)
        added += 1
    if demo.reroute is not None and referral.state is State.DECLINED:
        with acting_as(plan.sender.id, plan.sender_user.id):
            referral = service.get_referral_or_404(referral.public_id)
            rerouted = service.reroute(referral, plan.sender_user, receiver=plan.reroute_to)
        receiver_user = _receiver_user(plan.reroute_to) if _receiver_acts(demo.reroute) else None
        _run(plan, rerouted, demo.reroute, plan.reroute_to, receiver_user)
        added += 1
    return added


def _run(plan: _Plan, referral: Referral, demo: Demo, receiver: Tenant, receiver_user: User | None) -> None:
    public_id = referral.public_id
    if demo.sent is None:
        return  # stays a draft
    with acting_as(plan.sender.id, plan.sender_user.id):
        service.send(service.get_referral_or_404(public_id), plan.sender_user)
        _backdate_sending(service.get_referral_or_404(public_id), demo)
    for step in demo.steps:
        action = step[0]
        if action == "expire":  # the deadline sweep, as the system
            with acting_as(plan.sender.id, None):
                service.remind_and_expire()
            continue
        side = _side(step)
        tenant, user = (plan.sender, plan.sender_user) if side is Side.SENDER else (receiver, receiver_user)
        with acting_as(tenant.id, user.id):
            current = service.get_referral_or_404(public_id)
            if action == "say":
                service.add_message(current, step[2], user)
            elif action == "decline":
                service.act(current, action, user, decline_reason=step[1], note=step[2])
            else:
                service.act(current, action, user, note=step[1] if len(step) > 1 else None)
    with acting_as(plan.sender.id, plan.sender_user.id):
        _backdate_answers(service.get_referral_or_404(public_id), demo)


def _at(days_ago: int, hour: int) -> datetime:
    """``days_ago`` days before today at ``hour`` o'clock in Korea, never later than now."""
    moment = datetime.combine(clock.today() - timedelta(days=days_ago), time(hour), tzinfo=clock.SEOUL)
    return min(moment, datetime.now(timezone.utc)).astimezone(timezone.utc)


def _backdate_sending(referral: Referral, demo: Demo) -> None:
    """Sent ``demo.sent`` days ago with a week to answer (or the deadline the demo names). The
    service stamps "now" and refuses past deadlines, so this is set after it has sent."""
    referral.created_at = _at(demo.sent, 9)
    referral.sent_at = _at(demo.sent, 10)
    if demo.due is not None:
        referral.response_due_on = clock.today() + timedelta(days=demo.due)
    else:
        referral.response_due_on = clock.today() + timedelta(days=service.DEFAULT_RESPONSE_DAYS - demo.sent)
    db.session.flush()


def _backdate_answers(referral: Referral, demo: Demo) -> None:
    if referral.answered_at is not None and demo.answered is not None:
        referral.answered_at = _at(demo.answered, 14)
    if referral.closed_at is not None:
        if referral.state is State.EXPIRED:
            referral.closed_at = datetime.combine(referral.response_due_on + timedelta(days=1), time(0, 10),
                                                  tzinfo=clock.SEOUL).astimezone(timezone.utc)
        elif referral.state is State.DECLINED:
            referral.closed_at = referral.answered_at
        elif demo.closed is not None:
            referral.closed_at = _at(demo.closed, 16)
    db.session.flush()
