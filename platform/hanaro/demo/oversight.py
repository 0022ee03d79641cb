"""Demo facility oversight (`flask demo oversight`, demo mode only): the facilities 제주시청 and
서귀포시청 supervise in the Jeju pilot region, with about a year and a half of history.

Who. 제주시청's inspector (inspector@jejucity.demo) supervises five facilities of four kinds in
한림읍 and 애월읍; 한라요양원 is also a tenant of its own (admin@carehome.demo), so the facility side
can be tried: it reports its status and answers corrective actions itself, while the inspector
records the answers the other facilities send on paper. 서귀포시청's inspector
(inspector@seogwipo.demo) supervises two facilities in 남원읍; when 서귀포시청 has no inspector the
demo keeps to 제주시청. 제주특별자치도청 reads both (the region figures).

What. Checklists copied from the platform defaults, and 제주시청's elderly-care checklist copied
again and edited (two items added) for this year's inspections; regular inspections about a year
ago and in recent months, special ones after complaints, a cancelled and three upcoming ones, a
follow-up planned from 한라요양원's open findings; findings in every area with corrective actions in
every state — accepted (one after a round of 보완 요구), answered and waiting for review, returned,
cancelled, overdue (one per municipality; 한라요양원's shows on both sides) and open before its due
date; sanctions following findings, one corrected (a fine reduced), one withdrawn on appeal, one
under objection; evaluation cycles with a grade of each of A, B, C, D and F.

Dates (planned, conducted, due, decided, evaluated) are counted back from the day of loading, so
"about a year ago" falls in last year for most of the year. The steps themselves (answers,
decisions, events) carry the time of loading: their event rows are append-only.

Everything goes through the oversight services as each tenant's user (``as_member``). Idempotent:
a facility is keyed on its supervisor and licence number, and a facility found loads nothing of its
history again; checklists are keyed on their names, cycles on year and type. Needs
`flask tenants apply --demo` first and refuses before writing anything otherwise.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, select

from ..accounts.models import User
from ..core import clock
from ..core.db import db
from ..oversight import actions, checklists, evaluations, inspections, sanctions, service
from ..oversight.models import (
    FACILITY_TYPE_LABELS, ActionState, ChecklistTemplate, CorrectiveAction, Evaluation, EvaluationCycle, Facility,
    FacilityType, Finding, Inspection, InspectionStatus, Sanction,
)
from ..tenancy.context import acting_as
from ..tenancy.models import Role, Tenant
from . import people
from .pilots import as_member
from .referrals import MissingDemoData, _some

PROVINCE = "jeju-province"
# Supervising municipalities and their inspectors; the first is required, the second optional.
SUPERVISORS = {"jeju-city": "inspector@jejucity.demo", "seogwipo-city": "inspector@seogwipo.demo"}
REQUIRED_SUPERVISOR = "jeju-city"
# The facility on the platform and who answers for it.
FACILITY_TENANT, FACILITY_USER = "halla-care-home", "admin@carehome.demo"
HALLIM, AEWOL, NAMWON = "5011025000", "5011025300", "5013025300"

COMMAND = "the Jeju pilot tenants or their demo users are not registered ({}): run `flask tenants apply --demo` first"


# -- the data ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DemoFinding:
    """A finding on the checklist item whose text contains ``item`` (or, without one, on its own in
    ``area``), with a corrective action due ``due_in`` days after the inspection unless
    ``requirement`` is None. ``steps`` after it: ("answer", text) — by the facility when it is on the
    platform, else recorded by the inspector from its letter — ("accept", note), ("return", reason),
    ("cancel", reason)."""

    item: str | None
    description: str
    requirement: str | None = None
    due_in: int = 30
    steps: tuple[tuple[str, str], ...] = ()
    area: str | None = None
    evidence: str | None = None  # the name of a PDF sent with the facility's answer


@dataclass(frozen=True)
class DemoInspection:
    """``days_ago``: when it was conducted (or, when not completed, planned; negative: ahead).
    ``follow_up``: plan a follow-up in that many days of the open findings whose descriptions
    contain these words."""

    kind: str
    days_ago: int
    status: str = "completed"
    summary: str | None = None
    findings: tuple[DemoFinding, ...] = ()
    not_applicable: tuple[str, ...] = ()  # words of items that do not apply (해당없음)
    cancel_reason: str | None = None
    follow_up: tuple[int, tuple[str, ...]] | None = None


@dataclass(frozen=True)
class DemoSanction:
    """``findings``: words of the facility's findings it follows; ``correction``: the values of a
    correction recorded afterwards (with its ``correction_reason``)."""

    sanction_type: str
    legal_basis: str
    reason: str
    days_ago: int
    amount: int | None = None
    days_in_force: int | None = None  # 사업 정지
    appeal_status: str = "none"
    findings: tuple[str, ...] = ()
    correction: dict | None = None


@dataclass(frozen=True)
class DemoFacility:
    supervisor: str
    name: str
    facility_type: str
    operator_kind: str
    operator_name: str
    licence_number: str
    licence_date: date
    capacity: int
    address: str
    dong_code: str
    phone: str
    residents: int
    staff_count: int
    contact_name: str
    own_tenant: str | None = None
    inspections: tuple[DemoInspection, ...] = ()
    sanctions: tuple[DemoSanction, ...] = ()


@dataclass(frozen=True)
class DemoCycle:
    """An evaluation round of ``facility_type`` evaluated ``days_ago`` (its year is that day's);
    ``results``: (licence number, scores per area of ``evaluations.DEFAULT_AREAS``, comment)."""

    supervisor: str
    facility_type: str
    days_ago: int
    results: tuple[tuple[str, dict, str], ...]


def _scores(environment, organisation, staff, programmes, rights, community) -> dict:
    return {"environment": environment, "organisation": organisation, "staff": staff, "programmes": programmes,
            "rights": rights, "community": community}


# The elderly-care checklist 제주시청 edited for this year: the platform default plus two items.
EDITED_ITEMS = (
    {"area": "meals", "text": "조리 종사자의 건강진단 결과서(보건증)를 확인하고 유효기간을 관리하는가",
     "guidance": "식품위생법 제40조, 같은 법 시행규칙 제49조"},
    {"area": "safety", "text": "폭염·한파에 대비해 냉난방 설비와 비상 발전기를 점검하였는가",
     "guidance": "노인복지법 시행규칙 별표 4, 제주특별자치도 노인복지시설 지도점검 지침"},
)
EDITED_BY = "jeju-city"
EDITED_TYPE = FacilityType.ELDERLY

FACILITIES: tuple[DemoFacility, ...] = (
    DemoFacility(
        "jeju-city", "한라요양원", "elderly", "corporation", "사회복지법인 한라복지재단", "제주시-노인-2014-07",
        date(2014, 5, 12), 70, "제주특별자치도 제주시 애월읍 애월해안로 112", AEWOL, "064-799-1234", 66, 48, "홍시설",
        own_tenant=FACILITY_TENANT,
        inspections=(
            DemoInspection("regular", 400, summary="인력 배치와 급식 위생에서 2건을 지적함. 그 밖의 운영은 대체로 양호함.", findings=(
                DemoFinding("배치기준", "야간(22시~06시) 요양보호사 배치 기준 미달: 입소자 66명에 2명 근무 (기준 3명)",
                            "야간 요양보호사 1명을 추가 채용하고 3개월분 근무표를 제출할 것", 30,
                            (("answer", "야간 요양보호사 1명을 채용해 야간 3명 근무로 바꿨습니다. 채용 서류와 3개월분 근무표를 제출합니다."),
                             ("accept", "채용 서류와 근무표로 야간 3명 배치를 확인함."))),
                DemoFinding("보존식", "보존식을 72시간만 보관함 (기준 144시간), 보존식 보관대장 미작성",
                            "보존식을 144시간 보관하고 보관대장을 작성할 것", 14,
                            (("answer", "보존식 전용 냉동고를 들여 144시간 보관하고, 날마다 보관대장을 작성하고 있습니다."),
                             ("accept", None))),
            )),
            DemoInspection("regular", 45, summary="소방 점검 미실시를 포함해 4건을 지적함. 소방 점검은 개선명령 대상.",
                           findings=(
                DemoFinding("소방시설 자체점검", "상반기 소방시설 자체점검 미실시, 최근 1년간 소방훈련 기록 없음",
                            "소방시설 자체점검을 실시하고 결과 보고서와 소방훈련 계획을 제출할 것", 35),
                DemoFinding("인권교육", "종사자 인권교육 미이수: 48명 중 9명",
                            "미이수 종사자가 인권교육을 이수하고 수료증을 제출할 것", 50,
                            (("answer", "미이수자 9명 모두 온라인 인권교육을 이수했습니다. 수료증을 첨부합니다."),),
                            evidence="인권교육 수료증.pdf"),
                DemoFinding("후원금", "후원금 수입·사용 내역 미공개 (홈페이지와 게시판 모두 없음)",
                            "후원금 수입·사용 내역을 홈페이지에 공개하고 공개 화면을 제출할 것", 65,
                            (("answer", "후원금 수입·사용 내역을 1층 게시판에 게시했습니다."),
                             ("return", "게시판 사진만으로는 공개 여부를 확인하기 어렵습니다. 재무·회계 규칙에 따라 "
                                        "홈페이지(또는 제주시 홈페이지)에 공개한 화면을 제출하세요."))),
                DemoFinding("운영위원회", "2분기 운영위원회 미개최, 회의록 없음",
                            "운영위원회를 열고 회의록을 제출할 것", 70),
            ), follow_up=(30, ("소방시설", "후원금"))),
        ),
        sanctions=(
            DemoSanction("improvement_order", "사회복지사업법 제40조 제1항, 소방시설 설치 및 관리에 관한 법률 제22조",
                         "상반기 소방시설 자체점검 미실시 및 소방훈련 기록 없음: 30일 안에 자체점검과 소방훈련을 실시할 것",
                         40, findings=("소방시설",)),
        )),
    DemoFacility(
        "jeju-city", "애월 해바라기 노인요양공동생활가정", "elderly", "individual", "김순덕", "제주시-노인-2019-21",
        date(2019, 9, 2), 9, "제주특별자치도 제주시 애월읍 하귀로 45", AEWOL, "064-713-4521", 9, 6, "김순덕",
        inspections=(
            DemoInspection("regular", 130, summary="보험 갱신과 범죄경력 조회 누락 2건 지적. 소규모 시설로 후원금은 없음.",
                           not_applicable=("후원금",), findings=(
                DemoFinding("화재보험", "화재보험 가입 기간 만료 후 2개월간 미갱신", "화재보험과 배상책임보험을 갱신하고 증권 사본을 제출할 것", 30,
                            (("answer", "화재보험과 배상책임보험을 갱신했습니다 (증권 사본 우편 제출)."), ("accept", None))),
                DemoFinding("범죄경력", "신규 요양보호사 1명을 채용하기 전 성범죄 경력 조회 누락",
                            "범죄경력을 조회하고 회신서를 제출할 것", 15,
                            (("answer", "경찰서 회신서를 받았습니다. 이상 없음 (회신서 사본 제출)."), ("accept", "회신서 확인."))),
            )),
            DemoInspection("regular", 60, status="cancelled",
                           cancel_reason="입소자 노로바이러스 집단 발생으로 감염 위험이 있어 일정을 미룸"),
            DemoInspection("regular", -14, status="planned"),
        )),
    DemoFacility(
        "jeju-city", "한림 함께사는집", "disabled", "corporation", "사회복지법인 제주함께재단", "제주시-장애-2011-03",
        date(2011, 3, 15), 30, "제주특별자치도 제주시 한림읍 한림로 330", HALLIM, "064-796-2200", 27, 24, "강도윤",
        inspections=(
            DemoInspection("regular", 480, summary="지적사항 없음. 거주인 자치회 운영이 모범적임."),
            DemoInspection("regular", 160, summary="범죄경력 조회 누락과 개인별 지원계획 미수립 2건을 지적함.", findings=(
                DemoFinding("범죄경력", "신규 종사자 2명을 채용하기 전 성범죄·아동학대 범죄경력 조회 누락",
                            "두 종사자의 범죄경력을 조회하고 회신서를 제출할 것", 30,
                            (("answer", "두 사람 모두 조회를 마쳤고 이상 없습니다 (회신서 제출)."), ("accept", None))),
                DemoFinding("개인별 지원계획", "거주인 3명의 개인별 지원계획 미수립",
                            "거주인과 가족을 면담해 개인별 지원계획을 세우고 제출할 것", 60,
                            (("answer", "거주인 3명과 면담해 개인별 지원계획을 세웠습니다 (계획서 3부 제출)."),
                             ("accept", "계획서 3부 확인. 다음 점검 때 이행 상황을 봄."))),
            )),
        )),
    DemoFacility(
        "jeju-city", "새별아이들집", "child", "corporation", "사회복지법인 새별복지회", "제주시-아동-2003-02",
        date(2003, 6, 20), 40, "제주특별자치도 제주시 애월읍 평화로 2710", AEWOL, "064-747-0310", 31, 22, "양새별",
        inspections=(
            DemoInspection("regular", 420, summary="보조금 집행 증빙 누락과 신고의무자 교육 미이수 2건을 지적함.", findings=(
                DemoFinding("보조금", "보조금 집행 증빙 누락: 아동 프로그램비 2건 312만 원의 영수증 없음",
                            "증빙을 보완하거나 증빙 없는 집행액을 반납할 것", 30,
                            (("answer", "1건(180만 원)은 증빙을 보완했고, 1건(132만 원)은 반납했습니다."),
                             ("accept", "보완 증빙과 반납 영수증 확인."))),
                DemoFinding("신고의무자", "아동학대 신고의무자 교육 미이수 종사자 5명",
                            "교육을 이수하고 수료증을 제출할 것", 25,
                            (("answer", "5명 모두 교육을 이수했습니다 (수료증 제출)."), ("accept", None))),
            )),
            DemoInspection("special", 85, summary="급식 위생 민원에 따른 특별 점검. 조리실 위생 불량을 지적함.", findings=(
                DemoFinding("보존식", "조리실 냉장고에 유통기한이 지난 식재료(우유, 두부) 보관, 조리대 위생 불량",
                            "유통기한 지난 식재료를 폐기하고 조리원 위생 교육을 실시할 것", 15,
                            (("cancel", "같은 내용으로 제주시 위생관리과의 식품위생 처분이 진행되어 중복 요구를 취소함."),)),
            )),
        ),
        sanctions=(
            DemoSanction("fine", "사회복지사업법 제58조, 보조금 관리에 관한 법률 제22조",
                         "보조금 집행 증빙서류 미비치 (아동 프로그램비 2건 312만 원)", 380, amount=3_000_000,
                         findings=("보조금",),
                         correction={"amount": 1_500_000,
                                     "correction_reason": "의견제출 기간에 자진 시정한 점을 반영해 과태료를 2분의 1로 감경함"}),
        )),
    DemoFacility(
        "jeju-city", "한림 마음쉼 정신요양원", "mental_health", "corporation", "사회복지법인 마음쉼", "제주시-정신-2008-01",
        date(2008, 11, 3), 80, "제주특별자치도 제주시 한림읍 금악로 88", HALLIM, "064-796-8800", 71, 35, "오마음",
        inspections=(
            DemoInspection("special", 300, summary="입소 절차와 운영비 집행에 관한 민원으로 특별 점검. 2건 지적.", findings=(
                DemoFinding("입소 동의", "입소 동의서 없이 입소한 사례 2건, 퇴소 의사 확인 기록 없음",
                            "입소 동의 절차를 보완하고 분기마다 퇴소 의사를 확인해 기록할 것", 30,
                            (("answer", "입소자 2명의 동의서를 받았고, 분기별 퇴소 의사 확인 양식을 만들었습니다."),
                             ("accept", None))),
                DemoFinding("보조금", "운영비 지출 증빙 누락: 6건 420만 원",
                            "증빙을 보완하고, 보완하지 못한 금액을 보고할 것", 30,
                            (("answer", "6건 중 4건의 증빙을 보완했습니다."),
                             ("return", "보완하지 못한 2건(160만 원)의 사유와 처리 계획을 함께 제출하세요."),
                             ("answer", "2건(160만 원)은 증빙을 찾지 못해 반납 계획을 제출합니다."),
                             ("accept", "반납 계획 확인. 보조금 환수 처분으로 처리함."))),
            )),
            DemoInspection("regular", -45, status="planned"),
        ),
        sanctions=(
            DemoSanction("suspension", "정신건강증진 및 정신질환자 복지서비스 지원에 관한 법률 제41조, 제74조",
                         "입소 동의 없이 입소시킨 사례 2건: 신규 입소 업무 1개월 정지", 280, days_in_force=30,
                         findings=("입소 동의",),
                         correction={"withdraws": True, "appeal_status": "overturned",
                                     "correction_reason": "행정심판 인용(입소 당시 보호의무자 동의 확인)으로 처분 취소"}),
            DemoSanction("subsidy_recovery", "보조금 관리에 관한 법률 제33조",
                         "증빙 없이 집행한 운영비 2건 160만 원 환수", 250, amount=1_600_000, appeal_status="objection",
                         findings=("운영비",)),
        )),
    DemoFacility(
        "seogwipo-city", "남원 동백요양원", "elderly", "corporation", "사회복지법인 동백복지재단", "서귀포시-노인-2016-04",
        date(2016, 4, 11), 50, "제주특별자치도 서귀포시 남원읍 태위로 520", NAMWON, "064-764-5200", 47, 33, "부동백",
        inspections=(
            DemoInspection("regular", 390, summary="지적사항 없음."),
            DemoInspection("regular", 70, summary="급식과 안전점검 후속 조치에서 2건을 지적함.", findings=(
                DemoFinding("보존식", "식단 미게시, 최근 3개월 식단에 영양사 확인 서명 누락",
                            "영양사가 확인한 식단을 게시하고 확인 기록을 제출할 것", 62),
                DemoFinding("안전점검", "정기 안전점검에서 지적된 비상구 앞 적치물을 치우지 않음",
                            "비상구 적치물을 치우고 사진을 제출할 것", 30,
                            (("answer", "비상구 앞 물품을 창고로 옮겼습니다 (사진 우편 제출)."), ("accept", None))),
            )),
        ),
        sanctions=(
            DemoSanction("improvement_order", "노인복지법 제40조 제1항, 식품위생법 제88조",
                         "급식 관리 기준 위반 (식단 미게시, 영양사 확인 누락)", 60, findings=("식단",)),
        )),
    DemoFacility(
        "seogwipo-city", "서귀포 한울 장애인주간보호센터", "disabled", "individual", "고한울", "서귀포시-장애-2020-02",
        date(2020, 2, 17), 15, "제주특별자치도 서귀포시 남원읍 남원중앙로 61", NAMWON, "064-764-0615", 14, 7, "고한울",
        inspections=(
            DemoInspection("regular", 380, summary="종사자 자격 1건을 지적함.", findings=(
                DemoFinding("배치기준", "사회복지사 자격이 없는 종사자를 생활재활교사로 배치",
                            "자격 요건을 갖춘 생활재활교사를 배치하고 인사 서류를 제출할 것", 30,
                            (("answer", "사회복지사 2급 자격을 가진 교사를 채용해 배치했습니다."), ("accept", None))),
            )),
            DemoInspection("regular", -21, status="planned"),
        )),
)

CYCLES: tuple[DemoCycle, ...] = (
    DemoCycle("jeju-city", "elderly", 200, (
        ("제주시-노인-2014-07", _scores(9, 13, 17, 25, 12, 8), "서비스 계획과 기록이 충실함. 야간 인력 운영을 계속 점검할 필요."),
        ("제주시-노인-2019-21", _scores(7, 10, 13, 18, 9, 6), "소규모 시설로 프로그램이 단조로움. 지역사회 연계 보완 필요."),
    )),
    DemoCycle("jeju-city", "disabled", 150, (
        ("제주시-장애-2011-03", _scores(10, 14, 19, 28, 13, 9), "거주인 자기결정 지원과 자치회 운영이 우수함."),
    )),
    DemoCycle("jeju-city", "child", 400, (
        ("제주시-아동-2003-02", _scores(8, 11, 15, 22, 11, 7), "자립 준비 프로그램은 좋으나 재정 운영의 투명성 보완 필요."),
    )),
    DemoCycle("jeju-city", "mental_health", 90, (
        ("제주시-정신-2008-01", _scores(6, 8, 11, 14, 7, 6), "입소 절차와 권리 보장 체계 전반의 개선이 필요함. 재평가 권고."),
    )),
    DemoCycle("seogwipo-city", "elderly", 380, (
        ("서귀포시-노인-2016-04", _scores(9, 14, 18, 28, 13, 9), "시설 환경과 프로그램이 우수함."),
    )),
    DemoCycle("seogwipo-city", "disabled", 120, (
        ("서귀포시-장애-2020-02", _scores(9, 12, 16, 24, 12, 8), "이용자 만족도가 높음. 종사자 교육 체계 보완 필요."),
    )),
)


# -- what the demo needs: looked up before anything is written ----------------------------------------

@dataclass
class World:
    province: Tenant
    supervisors: dict[str, Tenant]  # code -> tenant, the optional one only when it has its inspector
    inspectors: dict[str, User]  # supervisor code -> its inspector
    facility_tenant: Tenant
    facility_user: User
    skipped: list[str] = field(default_factory=list)  # optional supervisors left out, and why

    @classmethod
    def find(cls) -> World:
        tenants = {t.code: t for t in db.session.scalars(select(Tenant))}
        missing = sorted({PROVINCE, REQUIRED_SUPERVISOR, FACILITY_TENANT} - set(tenants))
        if missing:
            raise MissingDemoData(COMMAND.format("missing tenants: " + _some(missing)))
        supervisors, inspectors, skipped, problems = {}, {}, [], []
        for code, email in SUPERVISORS.items():
            user = people.member_by_email(tenants[code], email, Role.INSPECTOR) if code in tenants else None
            if user is not None:
                supervisors[code], inspectors[code] = tenants[code], user
            elif code == REQUIRED_SUPERVISOR:
                problems.append(f"{email} (inspector of {tenants[code].name})")
            else:
                skipped.append(f"{code} (no inspector {email})")
        facility_user = people.member_by_email(tenants[FACILITY_TENANT], FACILITY_USER)
        if facility_user is None:
            problems.append(f"{FACILITY_USER} (member of {tenants[FACILITY_TENANT].name})")
        if problems:
            raise MissingDemoData(COMMAND.format("missing users: " + _some(problems)))
        return cls(tenants[PROVINCE], supervisors, inspectors, tenants[FACILITY_TENANT], facility_user, skipped)


# -- loading ---------------------------------------------------------------------------------------------

def apply() -> dict:
    """Load what is missing. Returns {"facilities": added, "skipped": [...]} and the totals of
    everything loaded, as the province reads them."""
    world = World.find()
    added = 0
    for demo in FACILITIES:
        if demo.supervisor in world.supervisors:
            added += _load_facility(world, demo)
    for cycle in CYCLES:
        if cycle.supervisor in world.supervisors:
            _load_cycle(world, cycle)
    db.session.flush()
    return {"facilities": added, "skipped": world.skipped, **totals(world)}


def _as_inspector(world: World, code: str):
    return as_member(world.supervisors[code], world.inspectors[code])


def _day(days_ago: int) -> date:
    return clock.today() - timedelta(days=days_ago)


def _find_facility(world: World, demo: DemoFacility) -> Facility | None:
    supervisor = world.supervisors[demo.supervisor]
    with acting_as(supervisor.id, None):
        return db.session.scalar(select(Facility).where(Facility.tenant_id == supervisor.id,
                                                        Facility.licence_number == demo.licence_number))


def _load_facility(world: World, demo: DemoFacility) -> int:
    if _find_facility(world, demo) is not None:
        return 0
    inspector = world.inspectors[demo.supervisor]
    with _as_inspector(world, demo.supervisor):
        facility = service.register_facility({
            "name": demo.name, "facility_type": demo.facility_type, "operator_kind": demo.operator_kind,
            "operator_name": demo.operator_name, "licence_number": demo.licence_number,
            "licence_date": demo.licence_date, "capacity": demo.capacity, "address": demo.address,
            "dong_code": demo.dong_code, "phone": demo.phone, "facility_tenant": demo.own_tenant}, inspector)
        public_id = facility.public_id
        # The municipality's record from the licence file; a facility on the platform then reports its own.
        service.report_status(facility, {"residents": demo.residents - 2, "staff_count": demo.staff_count,
                                         "contact_name": demo.contact_name, "contact_phone": demo.phone,
                                         "note": "신고 서류 기준"}, inspector)
    if demo.own_tenant:
        with as_member(world.facility_tenant, world.facility_user):
            service.report_status(service.get_facility_or_404(public_id), {
                "residents": demo.residents, "staff_count": demo.staff_count, "contact_name": demo.contact_name,
                "contact_phone": demo.phone, "note": "야간 요양보호사 1명 증원 반영"}, world.facility_user)
    for inspection in sorted(demo.inspections, key=lambda i: -i.days_ago):
        _load_inspection(world, demo, public_id, inspection)
    for sanction in demo.sanctions:
        _load_sanction(world, demo, public_id, sanction)
    return 1


def _template(world: World, demo: DemoFacility, on: date) -> str:
    """The supervisor's checklist for the facility's type (copied from the platform default when it
    has none); this year, 제주시청's elderly-care inspections use its edited copy."""
    inspector = world.inspectors[demo.supervisor]
    facility_type = FacilityType(demo.facility_type)
    base_name = str(FACILITY_TYPE_LABELS[facility_type]) + " 지도점검표"
    base = _template_named(base_name, facility_type) or checklists.copy_default(facility_type.value, inspector,
                                                                                name=base_name)
    if demo.supervisor != EDITED_BY or facility_type is not EDITED_TYPE or on.year != clock.today().year:
        return base.public_id
    edited_name = base_name + " (제주시 보완)"
    edited = _template_named(edited_name, facility_type)
    if edited is None:
        edited = checklists.copy_template(base, inspector, name=edited_name)
        for item in EDITED_ITEMS:
            checklists.add_item(edited, item)
    return edited.public_id


def _template_named(name: str, facility_type: FacilityType) -> ChecklistTemplate | None:
    return next((t for t in checklists.list_templates(facility_type.value) if t.name == name), None)


def _load_inspection(world: World, demo: DemoFacility, facility_id: str, plan: DemoInspection) -> None:
    inspector = world.inspectors[demo.supervisor]
    on = _day(plan.days_ago)
    with _as_inspector(world, demo.supervisor):
        facility = service.get_facility_or_404(facility_id)
        inspection = inspections.plan(facility, {"kind": plan.kind, "planned_on": on,
                                                 "inspectors": [inspector.public_id],
                                                 "template": _template(world, demo, on)}, inspector)
        if plan.status == "cancelled":
            inspections.cancel(inspection, plan.cancel_reason, inspector)
        if plan.status != "completed":
            return
        inspections.start(inspection, {"conducted_on": on}, inspector)
        items = inspections.items(inspection)
        results = {i.position: {"result": "not_applicable" if _mentions(i.text, plan.not_applicable) else "compliant"}
                   for i in items}
        inspections.record_results(inspection, results, inspector)
        found = [inspections.add_finding(inspection, {
            "item": _position(items, finding.item), "area": finding.area, "description": finding.description,
            "requires_action": finding.requirement is not None, "requirement": finding.requirement,
            "due_on": on + timedelta(days=finding.due_in)}, inspector) for finding in plan.findings]
        inspections.complete(inspection, {"summary": plan.summary}, inspector)
        inspection_id = inspection.public_id
        steps = [(finding, made.action.public_id) for finding, made in zip(plan.findings, found) if made.action]
    for finding, action_id in steps:
        for step in finding.steps:
            _step(world, demo, action_id, step, finding.evidence)
    if plan.follow_up:
        days, words = plan.follow_up
        with _as_inspector(world, demo.supervisor):
            done = inspections.get_inspection_or_404(inspection_id)
            chosen = [f.public_id for f in inspections.findings(done) if _mentions(f.description, words)]
            inspections.plan_follow_up(done, {"planned_on": _day(-days), "inspectors": [inspector.public_id],
                                              "findings": chosen}, inspector)


def _mentions(text: str, words) -> bool:
    return any(word in text for word in words)


def _position(items, words: str | None) -> int | None:
    if words is None:
        return None
    return next(i.position for i in items if words in i.text)


def _step(world: World, demo: DemoFacility, action_id: str, step: tuple[str, str | None], evidence: str | None) -> None:
    name, text = step
    if name == "answer" and demo.own_tenant:
        with as_member(world.facility_tenant, world.facility_user):
            files = [(evidence, _pdf(evidence))] if evidence else []
            actions.act(actions.get_action_or_404(action_id), "answer", world.facility_user, {"answer": text}, files)
        return
    inspector = world.inspectors[demo.supervisor]
    values = {"answer": "answer", "accept": "note", "return": "reason", "cancel": "reason"}
    with _as_inspector(world, demo.supervisor):
        actions.act(actions.get_action_or_404(action_id), "record_answer" if name == "answer" else name, inspector,
                    {values[name]: text})


def _pdf(title: str) -> bytes:
    """A one-page PDF standing in for a scanned certificate (the text in ASCII: no font to embed)."""
    text = f"Hanaro demo evidence: {title.encode('ascii', 'ignore').decode() or 'certificate'}"
    stream = f"BT /F1 14 Tf 72 760 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    body, offsets = b"%PDF-1.4\n", []
    for number, content in enumerate(objects, 1):
        offsets.append(len(body))
        body += b"%d 0 obj\n%s\nendobj\n" % (number, content)
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    return body + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)


def _load_sanction(world: World, demo: DemoFacility, facility_id: str, plan: DemoSanction) -> None:
    inspector = world.inspectors[demo.supervisor]
    decided = _day(plan.days_ago)
    effective = decided + timedelta(days=7)
    with _as_inspector(world, demo.supervisor):
        facility = service.get_facility_or_404(facility_id)
        followed = [f.public_id for f in db.session.scalars(select(Finding).where(service.part_of(Finding, facility)))
                    if _mentions(f.description, plan.findings)]
        sanction = sanctions.record(facility, {
            "sanction_type": plan.sanction_type, "legal_basis": plan.legal_basis, "reason": plan.reason,
            "decided_on": decided, "effective_from": effective, "amount": plan.amount,
            "effective_to": effective + timedelta(days=plan.days_in_force) if plan.days_in_force else None,
            "appeal_status": plan.appeal_status, "findings": followed}, inspector)
        if plan.correction:
            sanctions.correct(sanction, plan.correction, inspector)


def _load_cycle(world: World, demo: DemoCycle) -> None:
    inspector = world.inspectors[demo.supervisor]
    supervisor = world.supervisors[demo.supervisor]
    evaluated_on = _day(demo.days_ago)
    with _as_inspector(world, demo.supervisor):
        cycle = next((c for c in evaluations.list_cycles(evaluated_on.year)
                      if c.tenant_id == supervisor.id and c.facility_type.value == demo.facility_type), None)
        if cycle is None:
            cycle = evaluations.create_cycle({"year": evaluated_on.year, "facility_type": demo.facility_type},
                                             inspector)
        graded = _graded(cycle)
        for licence_number, scores, comment in demo.results:
            facility = db.session.scalar(select(Facility).where(Facility.tenant_id == supervisor.id,
                                                                Facility.licence_number == licence_number))
            if facility is None or facility.id in graded:
                continue
            evaluations.record(cycle, facility, {"scores": scores, "evaluated_on": evaluated_on, "comment": comment},
                               inspector)


def _graded(cycle: EvaluationCycle) -> set[int]:
    return set(db.session.scalars(select(Evaluation.facility_id).where(service.part_of(Evaluation, cycle, "cycle_id"))))


# -- what was loaded -------------------------------------------------------------------------------------

def totals(world: World | None = None) -> dict:
    """Everything of the demo's municipalities, as their province reads it: facilities, inspections
    by status, corrective actions by state (and overdue), sanctions (corrections, withdrawals),
    evaluations by grade."""
    world = world or World.find()
    today = clock.today()
    with acting_as(world.province.id, None):
        def counted(column):
            return Counter({str(getattr(key, "value", key)): n for key, n in
                            db.session.execute(select(column, func.count()).group_by(column)).all()})

        facilities = db.session.scalar(select(func.count()).select_from(Facility))
        statuses, states = counted(Inspection.status), counted(CorrectiveAction.state)
        grades = counted(Evaluation.grade)
        overdue = len(actions.overdue_actions(today))
        sanction_rows = list(db.session.execute(select(Sanction.corrects_id, Sanction.withdraws)))
    return {"facility_count": facilities,
            "inspections": {s.value: statuses.get(s.value, 0) for s in InspectionStatus},
            "actions": {s.value: states.get(s.value, 0) for s in ActionState}, "overdue": overdue,
            "sanctions": {"recorded": sum(corrects is None for corrects, _w in sanction_rows),
                          "corrections": sum(corrects is not None for corrects, _w in sanction_rows),
                          "withdrawn": sum(bool(withdraws) for _c, withdraws in sanction_rows)},
            "grades": {grade: grades.get(grade, 0) for grade, _floor in evaluations.GRADES}}


def summary(result: dict) -> str:
    head = f"added {result['facilities']} facilities" if result["facilities"] else "already present"
    if result["skipped"]:
        head += " (skipped " + ", ".join(result["skipped"]) + ")"

    def listed(counts: dict) -> str:
        return ", ".join(f"{key} {n}" for key, n in counts.items() if n)

    sanctions_ = result["sanctions"]
    return (f"oversight: {head} — facilities {result['facility_count']}; inspections {listed(result['inspections'])}; "
            f"corrective actions {listed(result['actions'])} ({result['overdue']} overdue); sanctions "
            f"{sanctions_['recorded']} ({sanctions_['corrections']} corrections, {sanctions_['withdrawn']} withdrawn); "
            f"grades {listed(result['grades'])}")
