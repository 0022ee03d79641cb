"""Demo data for the Jeju pilot workspace (`flask demo pilots`, demo mode only): feedback from the
field (현장 의견) and two regional care meetings (지역케어회의).

Feedback is sent by users of six participating tenants through the feedback service, each as
that user signed in to their tenant, from the page the real form would attach (a path with
ids; the service keeps the path only). The province's pilot coordinator then triages it into
every column of the board — 접수, 검토 중, 반영 예정, 반영 완료, 반려 — with comments from both
sides, assignment, tags and one duplicate merged into the item it repeats.

The care meetings are organised by 서귀포해오름종합사회복지관 (its case manager is also its tenant
admin, so may put one of its cases on the agenda) with public and private member tenants and
external experts: one held three weeks ago, with minutes, decisions and follow-up actions (one
overdue, one done, others open), and one coming up with its agenda.

Needs the tenant registry (with the pilot workspace), `flask demo caseload` and `flask demo
referrals` first. Idempotent: a feedback item is keyed on its tenant and text, a meeting on its
organiser and title, so running it again adds nothing. Feedback is back-dated after loading for
realism (the service stamps "now"); comments and status changes keep the time of loading, since
those rows are append-only. Meeting and due dates are counted from the day of loading.
"""
from __future__ import annotations

from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from flask import g
from sqlalchemy import func, select

from ..accounts.models import User
from ..cases.models import Case, CaseMember, CaseStatus, MemberStatus
from ..clients.models import Client
from ..core import clock
from ..core.db import db
from ..pilots import feedback as feedback_service
from ..pilots import meetings as meeting_service
from ..pilots.models import (
    ActionStatus, CareMeeting, Feedback, FeedbackCategory, FeedbackStatus, MeetingAction, Severity, Workspace,
)
from ..referrals.models import Referral, State
from ..tenancy.context import acting_as
from ..tenancy.models import Membership, Role, Tenant
from . import people
from .referrals import MissingDemoData
from .referrals import _at, _some  # back-dating and listing what is missing as the demo referrals do

WORKSPACE = "jeju-hanaro-2026"
ORGANISER = "seogwipo-welfare"
CASE_PARTNER = "namwon-dong"  # the case on the agenda is run together with this member tenant

COMMANDS = {"pilot": "the Jeju pilot workspace or its users are not registered ({}): run `flask tenants apply --demo` first",
            "caseload": "the demo caseload is not loaded ({}): run `flask demo caseload` first",
            "referrals": "the demo referrals are not loaded ({}): run `flask demo referrals` first"}

S, C, V = FeedbackStatus, FeedbackCategory, Severity


@dataclass(frozen=True)
class DemoFeedback:
    """One feedback item. ``page``: the address the form would attach, where {case}, {client} and
    {referral} stand for the public ids of the tenant's own records; ``title`` the page's title
    ({client_name}, {case_type} and {service} are filled the same way). ``steps`` after sending:
    ("move", status, comment), ("assign",), ("tags", "a, b"), ("say", side, text), ("merge",)
    into ``duplicate_of``."""

    tenant: str
    user: str
    category: FeedbackCategory
    severity: Severity
    text: str
    days_ago: int
    page: str | None = None
    title: str | None = None
    steps: tuple[tuple, ...] = ()
    duplicate_of: str | None = None  # the text of the item this one repeats


SENDER_REMINDER = ("보낸 의뢰의 응답 기한이 다가와도 보낸 기관에는 아무 알림이 없고, 기한이 지나 만료된 뒤에야 알게 됩니다. "
                   "받는 기관이 아직 답하지 않은 의뢰를 미리 알 수 있게 보낸 기관에도 기한 하루 전에 알려 주세요.")

DEMO_FEEDBACK: list[DemoFeedback] = [
    # 반영 예정, with a duplicate from another dong merged into it.
    DemoFeedback("hallim-dong", "planner@hallim.demo", C.DISCOMFORT, V.HIGH, SENDER_REMINDER, 26,
                 "/referrals?box=outbox&state=sent", "보낸 의뢰 · 서비스의뢰 · 하나로",
                 steps=(("move", S.REVIEWING, "지금은 받는 기관에만 기한 하루 전 알림이 갑니다. 보낸 기관에 알리는 시점을 검토하겠습니다."),
                        ("assign",), ("tags", "서비스의뢰, 알림"),
                        ("say", "submitter", "긴급 의뢰는 기한 전에 알아야 다른 기관을 찾아볼 수 있습니다."),
                        ("move", S.PLANNED, "보낸 기관에도 기한 하루 전 알림을 보내도록 다음 배포에 넣겠습니다. "
                                            "같은 내용의 의견이 여러 기관에서 들어와 함께 처리합니다."))),
    DemoFeedback("namwon-dong", "planner@namwon.demo", C.DISCOMFORT, V.MEDIUM,
                 "의뢰를 보내 놓고 답이 왔는지 보려면 매일 보낸 의뢰함을 열어 봐야 합니다. 응답 기한이 다가오면 우리 쪽에도 알림이 왔으면 합니다.",
                 19, "/referrals/{referral}", "{service} · 서비스의뢰 · 하나로",
                 steps=(("merge",),), duplicate_of=SENDER_REMINDER),
    DemoFeedback("seogwipo-welfare", "case@seogwipo.demo", C.SUGGESTION, V.MEDIUM,
                 "사례회의 자료를 만들 때 사례의 타임라인을 화면에서 하나씩 옮겨 적고 있습니다. 인쇄하거나 파일로 내려받을 수 있으면 회의 준비 시간이 많이 줄 것 같습니다.",
                 17, "/cases/{case}/timeline?kind=note", "{client_name} · {case_type} · 하나로",
                 steps=(("move", S.REVIEWING, None), ("tags", "사례관리, 인쇄"),
                        ("move", S.PLANNED, "사례 타임라인을 인쇄용 화면으로 볼 수 있게 하겠습니다. 인쇄본에는 대상자 이름이 성만 나옵니다."))),
    DemoFeedback("jeju-foodbank", "registrar@foodbank.demo", C.DISCOMFORT, V.MEDIUM,
                 "자원의 '최근 확인일'을 갱신하라는 알림이 자원마다 따로 옵니다. 쌀·김치처럼 매달 내용이 같은 자원이 10개가 넘어 하나씩 열어 확인을 누르는 데 시간이 꽤 걸립니다.",
                 14, "/resources", "자원 · 하나로",
                 steps=(("move", S.REVIEWING, None), ("assign",), ("tags", "자원, 알림"),
                        ("move", S.PLANNED, "내용이 바뀌지 않은 자원을 여러 개 골라 한 번에 확인 처리하는 기능을 넣기로 했습니다."))),
    # 검토 중
    DemoFeedback("halla-welfare", "case@halla.demo", C.DISCOMFORT, V.MEDIUM,
                 "자원 검색에서 '돌봄', '주거'처럼 두 글자로 찾으면 결과가 너무 많고, 우리 읍과 상관없는 제주시 동지역 자원이 위에 나옵니다. 가까운 자원이 먼저 나오면 좋겠습니다.",
                 15, "/resources/search?q=돌봄&dong=5011025000", "자원 검색 · 하나로",
                 steps=(("move", S.REVIEWING, "사례의 욕구와 거리를 함께 따져 검색 결과 순서를 정하는 방안을 검토하고 있습니다."),
                        ("assign",), ("tags", "자원검색"))),
    DemoFeedback("dolbom-neighbours", "registrar@dolbom.demo", C.POLICY, V.HIGH,
                 "방문 봉사에는 대상자 주소와 연락처가 꼭 필요한데, 복지관이 받는 정보제공 동의서에 민간단체 제공 항목이 없어 의뢰마다 동의서를 따로 받고 있습니다. "
                 "시범사업 공통 동의서에 민간단체 제공 항목을 넣어 주세요.",
                 12, steps=(("move", S.REVIEWING, "도 개인정보 보호 담당 부서와 시범사업 공통 동의서 개정을 협의하고 있습니다."),
                            ("tags", "동의, 개인정보"),
                            ("say", "submitter", "개정 전까지는 복지관과 임시 동의서 양식을 함께 쓰고 있습니다. 결과를 알려 주세요."))),
    DemoFeedback("halla-welfare", "case@halla.demo", C.SUGGESTION, V.MEDIUM,
                 "통합 정보 화면에서 다른 기관이 남긴 기록이 날짜순으로만 보여, 우리 기관이 알아야 할 최근 변경을 찾기 어렵습니다. 기관별로 골라 볼 수 있으면 좋겠습니다.",
                 9, "/cases/clients/{client}/integrated", "{client_name} · 통합 정보 · 하나로",
                 steps=(("move", S.REVIEWING, None), ("tags", "사례관리, 정보연계"))),
    # 반영 완료
    DemoFeedback("jeju-foodbank", "registrar@foodbank.demo", C.DISCOMFORT, V.HIGH,
                 "받은 의뢰 목록에 대상자 이름이 전부 나와서, 자원봉사자와 함께 보는 사무실 화면에 띄워 두기가 곤란합니다.",
                 30, "/referrals?box=inbox", "받은 의뢰 · 서비스의뢰 · 하나로",
                 steps=(("move", S.REVIEWING, None), ("tags", "서비스의뢰, 개인정보"),
                        ("move", S.PLANNED, "받는 기관의 목록에서는 대상자 이름을 가리겠습니다."),
                        ("move", S.DONE, "받은 의뢰 목록과 알림에는 대상자의 성만(김○○) 보이도록 바꿨습니다. 의뢰를 열면 동의 범위 안의 정보만 보입니다."),
                        ("say", "submitter", "확인했습니다. 이제 사무실 화면에 띄워 두고 씁니다."))),
    DemoFeedback("halla-welfare", "case@halla.demo", C.SUGGESTION, V.MEDIUM,
                 "의뢰가 거절되면 같은 대상자를 다른 기관에 의뢰할 때 사유와 대상자 정보를 처음부터 다시 써야 합니다.",
                 28, "/referrals/{referral}", "{service} · 서비스의뢰 · 하나로",
                 steps=(("move", S.PLANNED, None), ("assign",), ("tags", "서비스의뢰"),
                        ("move", S.DONE, "거절된 의뢰 화면에서 다른 기관으로 다시 의뢰할 수 있게 했습니다. 사유와 대상자 정보를 다시 쓰지 않아도 됩니다."))),
    DemoFeedback("dolbom-neighbours", "registrar@dolbom.demo", C.BUG, V.LOW,
                 "휴대전화로 받은 의뢰 목록을 열면 상태 필터 버튼이 화면 오른쪽 밖으로 밀려 누를 수 없습니다. 방문 중에 확인할 일이 많아 불편합니다.",
                 22, "/referrals?box=inbox&state=accepted", "받은 의뢰 · 서비스의뢰 · 하나로",
                 steps=(("move", S.PLANNED, None), ("tags", "화면"),
                        ("move", S.DONE, "좁은 화면에서는 필터 버튼이 다음 줄로 넘어가도록 고쳤습니다."))),
    # 반려
    DemoFeedback("namwon-dong", "planner@namwon.demo", C.POLICY, V.MEDIUM,
                 "긴급복지 생계지원은 당일 지원이 필요한 경우가 많은데, 시범사업 안내서에는 시청 확인을 받은 뒤 연계하도록 되어 있어 하루 이틀씩 늦어집니다. "
                 "긴급한 경우에는 먼저 지원하고 나중에 보고하도록 절차를 바꿔 주세요.",
                 20, steps=(("move", S.REVIEWING, None), ("tags", "제도, 긴급복지"),
                            ("move", S.REJECTED, "긴급복지 지원 결정 절차는 긴급복지지원법과 시 지침을 따르므로 시범사업에서 바꿀 수 없습니다. "
                                                 "서귀포시에 지침 개정 건의로 전달했습니다."))),
    DemoFeedback("halla-welfare", "case@halla.demo", C.SUGGESTION, V.MEDIUM,
                 "다른 기관이 등록한 대상자도 주민등록번호로 찾을 수 있게 해 주세요. 같은 분을 두 기관이 따로 돕고 있는지 알고 싶습니다.",
                 11, "/clients/new", "대상자 등록 · 하나로",
                 steps=(("move", S.REJECTED, "다른 기관의 대상자를 주민등록번호로 찾게 하면 동의 범위를 넘어 정보가 드러날 수 있어 반영하지 않습니다. "
                                             "함께 돕는 기관은 대상자의 동의를 받아 사례관리 협업으로 연결해 주세요."),
                        ("tags", "개인정보"))),
    # 접수
    DemoFeedback("hallim-dong", "planner@hallim.demo", C.BUG, V.MEDIUM,
                 "사례의 욕구조사를 저장한 뒤 뒤로 가기를 누르면 입력하기 전 화면이 다시 나와, 저장이 안 된 줄 알고 두 번 입력한 적이 있습니다.",
                 3, "/cases/{case}", "{client_name} · {case_type} · 하나로",
                 steps=(("say", "coordinator", "어느 브라우저에서 뒤로 가기를 누르셨는지 알려 주시면 확인하겠습니다."),
                        ("say", "submitter", "사무실 컴퓨터의 크롬입니다. 저장 후 바로 뒤로 가기를 눌렀습니다."))),
    DemoFeedback("halla-welfare", "viewer@halla.demo", C.DISCOMFORT, V.LOW,
                 "글자가 작아 어르신과 상담하면서 화면을 함께 보기 어렵습니다. 화면에서 글자 크기를 키울 수 있으면 좋겠습니다.",
                 2, "/cases", "사례관리 · 하나로"),
    DemoFeedback("seogwipo-welfare", "case@seogwipo.demo", C.POLICY, V.LOW,
                 "사례회의 기록 양식이 읍면동과 복지관마다 달라 함께 회의할 때마다 양식을 맞추느라 시간이 듭니다. 시범사업 공통 양식을 정해 주면 좋겠습니다.",
                 1),
]


@dataclass(frozen=True)
class DemoAction:
    description: str
    assignee: str  # tenant code
    due: int  # days from loading
    item: int | None = None  # agenda position
    status: ActionStatus = ActionStatus.OPEN
    note: str | None = None


@dataclass(frozen=True)
class DemoMeeting:
    """A care meeting of ORGANISER. ``items``: (kind, title, discussion, decision); a case item's
    title None takes the service's default and its case is chosen by ``_agenda_case``."""

    title: str
    held: int  # days from loading (negative: past)
    location: str
    members: tuple[str, ...]
    experts: tuple[tuple[str, str], ...]
    items: tuple[tuple[str, str | None, str | None, str | None], ...]
    minutes: str | None = None
    actions: tuple[DemoAction, ...] = ()


DEMO_MEETINGS: list[DemoMeeting] = [
    DemoMeeting(
        "남원읍 지역케어회의 — 겨울철 돌봄 공백 점검", -21, "남원읍 행정복지센터 2층 회의실",
        ("namwon-dong", "dolbom-neighbours", "jeju-foodbank", "jeju-province"),
        (("문다정", "제주대학교 사회복지학과 교수"),),
        (("case", None,
          "가정 방문에서 난방비 체납 고지서와 보일러 고장이 확인됨. 식사를 거르는 날이 잦고 이웃 외에는 왕래가 거의 없음.",
          "남원읍 맞춤형복지팀이 긴급복지 연료비 지원을 신청하고, 복지관은 주 1회 안부 전화와 월 1회 방문을 맡음. 다음 회의에서 경과 확인."),
         ("policy", "경로식당 무료 급식의 읍면 경계 이용 제한",
          "한림읍 경로식당이 남원읍 어르신 의뢰를 서비스 지역 외로 거절한 일이 있었음. 읍면마다 급식 기관이 달라 의뢰 전에 이용 가능 지역을 알기 어렵다는 의견.",
          "각 기관이 자원 정보에 이용 가능한 읍면을 적기로 함. 남원읍 어르신 급식 연계는 서귀포해오름종합사회복지관이 맡음."),
         ("policy", "민간단체 방문 봉사와 정보제공 동의서",
          "방문 봉사에는 주소와 연락처가 필요하지만 지금 동의서에는 민간단체 제공 항목이 없어 의뢰마다 동의를 따로 받고 있음.",
          "도가 개인정보 보호 담당 부서와 공통 동의서 개정을 협의함. 그동안 방문 봉사자 개인정보 보호 교육을 먼저 실시.")),
        minutes=("참석: 서귀포해오름종합사회복지관, 남원읍 행정복지센터, 돌봄이웃 제주, 제주나눔푸드뱅크, "
                 "제주특별자치도청 시범사업 코디네이터, 외부 전문가 1명.\n\n"
                 "1. 사례 검토: 난방비 체납과 결식이 겹친 어르신 가구의 지원을 기관별로 나눠 맡음.\n"
                 "2. 경로식당 이용이 읍면 경계에서 막히는 문제: 자원 정보에 이용 가능 읍면을 적고, 남원읍 급식 연계 기관을 정함.\n"
                 "3. 민간단체 방문 봉사의 정보제공 동의: 공통 동의서 개정을 도에서 협의하고, 봉사자 교육을 먼저 함.\n\n"
                 "다음 회의: 시범운영 중간 점검 (서귀포해오름종합사회복지관)."),
        actions=(
            DemoAction("대상 가구 긴급복지 연료비 지원 신청과 결과 공유", "namwon-dong", -7, item=1),
            DemoAction("방문 봉사자 대상 개인정보 보호 교육 실시", "dolbom-neighbours", -4, item=3, status=ActionStatus.DONE,
                       note="방문 봉사자 12명 교육을 마쳤고, 교육 자료를 참석 기관에 공유했습니다."),
            DemoAction("남원읍 어르신 가구 겨울철 밑반찬 나눔 대상 추천받기", "jeju-foodbank", 5, item=2),
            DemoAction("시범사업 공통 정보제공 동의서에 민간단체 제공 항목 추가 검토", "jeju-province", 14, item=3),
        )),
    DemoMeeting(
        "남원읍 지역케어회의 — 시범운영 중간 점검", 9, "서귀포해오름종합사회복지관 3층 강당",
        ("namwon-dong", "dolbom-neighbours", "jeju-province"),
        (("문다정", "제주대학교 사회복지학과 교수"), ("고은솔", "서귀포시 정신건강복지센터 상임팀장")),
        (("policy", "지난 회의 후속 조치 점검", None, None),
         ("policy", "서비스의뢰 응답 기한 준수 현황과 기한 알림", None, None),
         ("policy", "현장 의견 반영 결과 공유와 평가 단계 준비", None, None))),
]


class _Missing(Exception):
    def __init__(self, kind: str, detail: str):
        super().__init__(detail)
        self.kind, self.detail = kind, detail


@contextmanager
def as_member(tenant: Tenant, user: User):
    """Act as ``user`` signed in to ``tenant``: the tenancy context, and the membership whose
    roles the pilots rules read (``g.membership``, as a request sets it)."""
    saved = g.get("membership")
    with acting_as(tenant.id, user.id):
        g.membership = db.session.scalar(select(Membership).where(
            Membership.tenant_id == tenant.id, Membership.user_id == user.id, Membership.active.is_(True)))
        try:
            yield
        finally:
            g.membership = saved


def apply() -> dict:
    """Load what is missing. Returns {"feedback": added, "meetings": added} and the totals
    (``columns``, ``actions``) of everything loaded."""
    world = World.find()
    feedback_added = sum(_load_feedback(world, demo) for demo in DEMO_FEEDBACK)
    meetings_added = sum(_load_meeting(world, demo) for demo in DEMO_MEETINGS)
    db.session.flush()
    return {"feedback": feedback_added, "meetings": meetings_added, **totals(world)}


def totals(world: World | None = None) -> dict:
    """The board's columns (as the coordinator sees them) and the organiser's meetings and actions."""
    world = world or World.find()
    with acting_as(world.coordinator_tenant.id, None):
        rows = db.session.execute(select(Feedback.status, func.count()).where(Feedback.workspace_id == world.workspace.id)
                                  .group_by(Feedback.status)).all()
    columns = Counter({FeedbackStatus(status).value: n for status, n in rows})
    today = clock.today()
    with acting_as(world.organiser.id, None):
        meetings = list(db.session.scalars(select(CareMeeting).where(CareMeeting.tenant_id == world.organiser.id)))
        actions = list(db.session.scalars(select(MeetingAction).where(MeetingAction.tenant_id == world.organiser.id)))
    return {"columns": {s.value: columns.get(s.value, 0) for s in feedback_service.BOARD_COLUMNS},
            "meeting_count": len(meetings), "upcoming": sum(m.held_on >= today for m in meetings),
            "actions": {"total": len(actions), "overdue": sum(meeting_service.is_overdue(a, today) for a in actions),
                        "done": sum(a.status is ActionStatus.DONE for a in actions)}}


def summary(result: dict) -> str:
    added = [f"{result['feedback']} feedback items"] if result["feedback"] else []
    added += [f"{result['meetings']} care meetings"] if result["meetings"] else []
    head = "added " + ", ".join(added) if added else "already present"
    columns = ", ".join(f"{status} {n}" for status, n in result["columns"].items())
    actions = result["actions"]
    return (f"pilots: {head} — feedback {columns}; care meetings {result['meeting_count']} "
            f"({result['upcoming']} upcoming), actions {actions['total']} ({actions['overdue']} overdue, "
            f"{actions['done']} done)")


# -- what the demo needs: looked up before anything is written ----------------------------------------

@dataclass
class World:
    """Everything the demo needs, looked up (and reported missing, all at once) before anything
    is written."""

    tenants: dict[str, Tenant]
    users: dict[str, User]
    workspace: Workspace
    coordinator_tenant: Tenant
    coordinator: User
    organiser: Tenant
    organiser_user: User
    agenda_case: Case
    pages: dict[int, tuple[str | None, str | None]]  # DEMO_FEEDBACK index -> (address, title)

    @classmethod
    def find(cls) -> World:
        tenants = {t.code: t for t in db.session.scalars(select(Tenant))}
        problems: list[_Missing] = []

        def attempt(lookup, *args):
            try:
                return lookup(*args)
            except _Missing as problem:  # every lookup, so one run reports everything missing
                problems.append(problem)
                return None

        needed = {d.tenant for d in DEMO_FEEDBACK} | {ORGANISER, CASE_PARTNER} | \
                 {code for m in DEMO_MEETINGS for code in m.members}
        missing = sorted(needed - set(tenants))
        if missing:
            raise MissingDemoData(COMMANDS["pilot"].format("missing tenants: " + ", ".join(missing)))
        workspace = attempt(_workspace, tenants)
        coordinator = attempt(_coordinator, workspace) if workspace else None
        users = {}
        for demo in DEMO_FEEDBACK:
            users[demo.user] = attempt(_member, tenants[demo.tenant], demo.user)
        organiser_user = attempt(_organiser_user, tenants[ORGANISER])
        for action in (a for m in DEMO_MEETINGS for a in m.actions if a.status is not ActionStatus.OPEN):
            attempt(_writer, tenants[action.assignee])
        agenda_case = attempt(_agenda_case, tenants[ORGANISER], tenants[CASE_PARTNER])
        pages = {}
        for index, demo in enumerate(DEMO_FEEDBACK):
            pages[index] = attempt(_page, tenants[demo.tenant], demo)
        if problems:
            details: dict[str, dict[str, None]] = {}
            for problem in problems:
                details.setdefault(problem.kind, {})[problem.detail] = None
            raise MissingDemoData("; ".join(COMMANDS[kind].format(_some(list(items))) for kind, items in details.items()))
        return cls(tenants, users, workspace, workspace.tenant, coordinator, tenants[ORGANISER], organiser_user,
                   agenda_case, pages)

    def writer(self, code: str) -> User:
        return _writer(self.tenants[code])


def _workspace(tenants: dict[str, Tenant]) -> Workspace:
    """The pilot workspace as the organiser, a participant, sees it."""
    with acting_as(tenants[ORGANISER].id, None):
        workspace = db.session.scalar(select(Workspace).where(Workspace.code == WORKSPACE))
    if workspace is None:
        raise _Missing("pilot", f"no workspace '{WORKSPACE}' with {tenants[ORGANISER].name} taking part")
    return workspace


def _coordinator(workspace: Workspace) -> User:
    return people.member_with_role(workspace.tenant, Role.PILOT_COORDINATOR) or _missing(
        f"{workspace.tenant.name} has no pilot coordinator")


def _member(tenant: Tenant, email: str) -> User:
    return people.member_by_email(tenant, email) or _missing(f"{email} is not a member of {tenant.name}")


def _organiser_user(tenant: Tenant) -> User:
    """Who organises: an editor of meetings who also reads cases (to put a case on the agenda)."""
    return people.first_member(tenant, lambda m, _u: m.has_role(*meeting_service.EDITOR_ROLES)
                               and m.has_role(*meeting_service.CASE_READER_ROLES)) or _missing(
        f"{tenant.name} has no tenant admin who is also a case manager")


def _writer(tenant: Tenant) -> User:
    """Who answers for a tenant's actions: its first member with more than the viewer role."""
    return people.first_member(tenant, lambda m, _u: any(role != Role.VIEWER.value for role in m.roles)) or _missing(
        f"{tenant.name} has no member to answer for its actions")


def _missing(detail: str):
    raise _Missing("pilot", detail)


def _agenda_case(organiser: Tenant, partner: Tenant) -> Case:
    """An open case of the organiser run together with ``partner`` (accepted): an elderly
    client's where there is one, the oldest case first."""
    with acting_as(organiser.id, None):
        rows = db.session.execute(
            select(Case, Client).join(Client, Client.id == Case.client_id)
            .join(CaseMember, CaseMember.case_id == Case.id)
            .where(Case.tenant_id == organiser.id, Case.status != CaseStatus.CLOSED.value,
                   CaseMember.member_tenant_id == partner.id, CaseMember.status == MemberStatus.ACCEPTED.value)
            .order_by(Case.id)).all()
    if not rows:
        raise _Missing("caseload", f"no open case of {organiser.name} run with {partner.name}")
    today = clock.today()
    return min(rows, key=lambda row: (row[1].age_on(today) < 65, row[0].id))[0]


def _page(tenant: Tenant, demo: DemoFeedback) -> tuple[str | None, str | None]:
    """The page address and title the form would attach, with the tenant's own records."""
    if demo.page is None:
        return None, demo.title
    values = {}
    with acting_as(tenant.id, None):
        if "{case}" in demo.page or "{client}" in demo.page:
            row = db.session.execute(select(Case, Client).join(Client, Client.id == Case.client_id)
                                     .where(Case.tenant_id == tenant.id, Case.status != CaseStatus.CLOSED.value)
                                     .order_by(Case.id).limit(1)).first()
            if row is None:
                raise _Missing("caseload", f"no cases at {tenant.name}")
            case, client = row
            values.update(case=case.public_id, client=client.public_id, case_type=case.case_type.name)
            values["client_name"] = client.name
        if "{referral}" in demo.page:
            referral = db.session.scalar(select(Referral).where(Referral.tenant_id == tenant.id,
                                                                Referral.state != State.DRAFT.value)
                                         .order_by(Referral.id).limit(1))
            if referral is None:
                raise _Missing("referrals", f"no referrals sent by {tenant.name}")
            values.update(referral=referral.public_id, service=referral.requested_service)
    return demo.page.format(**values), demo.title.format(**values) if demo.title else None


# -- loading ------------------------------------------------------------------------------------------

def _find_feedback(tenant: Tenant, text: str) -> Feedback | None:
    with acting_as(tenant.id, None):
        return db.session.scalar(select(Feedback).where(Feedback.tenant_id == tenant.id, Feedback.description == text))


def _load_feedback(world: World, demo: DemoFeedback) -> int:
    tenant = world.tenants[demo.tenant]
    if _find_feedback(tenant, demo.text) is not None:
        return 0
    index = DEMO_FEEDBACK.index(demo)
    address, title = world.pages[index]
    submitter = world.users[demo.user]
    with as_member(tenant, submitter):
        item = feedback_service.submit({"category": demo.category, "severity": demo.severity, "description": demo.text},
                                       submitter, page_url=address, page_title=title,
                                       written_at=_at(demo.days_ago, 10 + index % 7))
    public_id = item.public_id
    for step in demo.steps:
        _step(world, demo, public_id, step)
    with as_member(world.coordinator_tenant, world.coordinator):  # only the coordinating tenant may update it
        item = feedback_service.get_feedback_or_404(public_id)
        if item.status is FeedbackStatus.RECEIVED:
            item.status_changed_at = item.created_at
        db.session.flush()
    return 1


def _step(world: World, demo: DemoFeedback, public_id: str, step: tuple) -> None:
    action = step[0]
    coordinator = world.coordinator
    if action == "say" and step[1] == "submitter":
        with as_member(world.tenants[demo.tenant], world.users[demo.user]):
            feedback_service.add_comment(feedback_service.get_feedback_or_404(public_id), step[2], world.users[demo.user])
        return
    with as_member(world.coordinator_tenant, coordinator):
        item = feedback_service.get_feedback_or_404(public_id)
        if action == "say":
            feedback_service.add_comment(item, step[2], coordinator)
        elif action == "move":
            feedback_service.change_status(item, step[1], coordinator, comment=step[2])
        elif action == "assign":
            feedback_service.assign(item, coordinator.public_id, coordinator)
        elif action == "tags":
            feedback_service.set_tags(item, step[1], coordinator)
        elif action == "merge":
            survivor = next(d for d in DEMO_FEEDBACK if d.text == demo.duplicate_of)
            target = _find_feedback(world.tenants[survivor.tenant], survivor.text)
            feedback_service.merge(item, feedback_service.get_feedback_or_404(target.public_id), coordinator)
        else:
            raise ValueError(action)


def _load_meeting(world: World, demo: DemoMeeting) -> int:
    organiser, today = world.organiser, clock.today()
    with as_member(organiser, world.organiser_user):
        if db.session.scalar(select(CareMeeting.id).where(CareMeeting.tenant_id == organiser.id,
                                                          CareMeeting.title == demo.title)) is not None:
            return 0
        meeting = meeting_service.create_meeting({
            "title": demo.title, "held_on": today + timedelta(days=demo.held), "location": demo.location,
            "member_tenants": list(demo.members),
            "experts": [{"name": name, "affiliation": affiliation} for name, affiliation in demo.experts],
        }, world.organiser_user)
        for kind, title, discussion, decision in demo.items:
            data = {"kind": kind, "title": title}
            if kind == "case":
                data["case"] = world.agenda_case.public_id
            item = meeting_service.add_item(meeting, data)
            if discussion or decision:
                meeting_service.update_item(meeting, item, {"discussion": discussion, "decision": decision})
        if demo.minutes:
            meeting_service.save_minutes(meeting, demo.minutes)
        actions = [(action, meeting_service.add_action(meeting, {
            "description": action.description, "assignee": action.assignee,
            "due_on": today + timedelta(days=action.due), "item": action.item})) for action in demo.actions]
        db.session.flush()
    for demo_action, action in actions:
        if demo_action.status is ActionStatus.OPEN:
            continue
        assignee = world.tenants[demo_action.assignee]
        with as_member(assignee, world.writer(demo_action.assignee)):  # the assignee answers for it
            meeting_service.set_action_status(meeting_service.get_action_or_404(action.public_id),
                                              demo_action.status, demo_action.note)
            db.session.flush()
    return 1

