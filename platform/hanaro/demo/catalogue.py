"""A demo resource catalogue for the Jeju pilot: a few dozen fictional services and donated goods
across kinds, sharing scopes and capacities, registered by each tenant's registrar
(`flask demo catalogue`, demo mode only).

Idempotent: a listing is registered once per tenant and name, so running it again adds only
entries that are missing. Two listings fall inside the verification reminder window and one is
already hidden as stale, so reminders (`flask resources remind-stale`) and the 숨김(오래됨) badge
show in the demo."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from ..accounts.models import User
from ..core import clock
from ..core.db import db
from ..resources import service
from ..resources.models import Resource
from ..tenancy.context import acting_as
from ..tenancy.models import Membership, Role, Tenant

JEJU_CITY, SEOGWIPO_CITY = "5011000000", "5013000000"
HALLIM, AEWOL, NAMWON = "5011025000", "5011025300", "5013025300"

WEEKDAYS = [{"weekday": d, "opens": "09:00", "closes": "18:00"} for d in range(5)]
WEEKDAYS_AND_SATURDAY = WEEKDAYS + [{"weekday": 5, "opens": "09:00", "closes": "13:00"}]
LUNCH = [{"weekday": d, "opens": "11:30", "closes": "13:00"} for d in range(5)]

WRITER_ROLES = (Role.RESOURCE_REGISTRAR, Role.TENANT_ADMIN)

# Listed first in each entry's values; the entry's own values win.
TENANT_DEFAULTS = {
    "jeju-foodbank": {"public_phone": "064-723-1377", "address": "제주시 연북로 321, 1층",
                      "how_to_apply": "기관 담당자가 전화로 의뢰하거나 푸드뱅크를 방문해 신청"},
    "dolbom-neighbours": {"public_phone": "064-732-4580", "address": "서귀포시 중앙로 48, 2층",
                          "how_to_apply": "전화 신청 후 자원봉사 코디네이터가 가정 방문 일정을 잡습니다"},
    "halla-welfare": {"public_phone": "064-796-2200", "address": "제주시 한림읍 한림로 650",
                      "how_to_apply": "복지관 방문 또는 전화 상담 후 접수"},
    "seogwipo-welfare": {"public_phone": "064-764-3300", "address": "서귀포시 남원읍 태위로 410",
                         "how_to_apply": "복지관 방문 또는 전화 상담 후 접수"},
    "jeju-health-centre": {"public_phone": "064-728-4000", "address": "제주시 복지로 46",
                           "how_to_apply": "보건소 방문, 전화 또는 읍면동 행정복지센터를 통해 의뢰"},
    "hallim-dong": {"public_phone": "064-728-5100", "address": "제주시 한림읍 한림상로 101",
                    "how_to_apply": "한림읍 행정복지센터 맞춤형복지팀 방문 또는 전화"},
    "jeju-city": {"public_phone": "064-728-2500", "address": "제주시 광양9길 10",
                  "how_to_apply": "주소지 읍면동 행정복지센터 방문 신청 (긴급 시 보건복지상담센터 129)"},
    "halla-care-home": {"public_phone": "064-799-7700", "address": "제주시 애월읍 애원로 275",
                        "how_to_apply": "전화 상담 후 방문 계약"},
}

# tenant code -> [(name, description, need domains, scope, staff scope, values)]. In values,
# "valid_for_days" sets valid_from/valid_until from today and "verified_days_ago" backdates
# last_verified_on (reminder window: 150-180 days; hidden after 180).
CATALOGUE = {
    "jeju-foodbank": [
        ("김장김치 나눔", "후원받은 김장김치(4kg 상자)를 저소득 가구와 홀로 사는 어르신께 나눕니다.",
         ["daily_living"], "partners", "partners",
         {"kind": "in_kind", "quantity": 100, "quantity_unit": "상자", "organization_name": "한림농협 고향주부모임",
          "categories": ["식품", "김치"], "valid_for_days": 45, "household_conditions": "수급·차상위 가구, 독거 어르신 가구",
          "contact_person": "오나눔 팀장", "direct_phone": "064-723-1381"}),
        ("푸드마켓 이용 연계", "월 1회 푸드마켓에서 식품과 생필품을 직접 고를 수 있습니다 (1회 5품목).",
         ["daily_living", "economy"], "region", "partners",
         {"capacity": "waitlist", "wait_estimate": "under_month", "remaining_slots": 0, "categories": ["식품", "생필품"],
          "household_conditions": "기초생활수급·차상위 가구", "required_documents": "수급자 증명서 또는 차상위계층 확인서",
          "schedule": WEEKDAYS_AND_SATURDAY, "contact_person": "고마켓 주임", "direct_phone": "064-723-1382"}),
        ("명절 선물 꾸러미", "설·추석 명절 꾸러미 (쌀 4kg, 식용유, 김, 생필품).", ["daily_living"], "platform", "private",
         {"kind": "in_kind", "quantity": 40, "quantity_unit": "꾸러미", "organization_name": "제주 상공인 나눔회",
          "categories": ["식품", "명절"], "valid_for_days": 30}),
        ("긴급 식품 지원", "위기가구에 3일분 식품을 당일 전달합니다.", ["daily_living", "safety"], "public", "partners",
         {"categories": ["식품", "긴급지원"], "cost": "무료", "contact_person": "오나눔 팀장", "direct_phone": "064-723-1381"}),
        ("이웃사랑 쌀 나눔 (10kg)", "지역 농협이 후원한 제주산 쌀 10kg 포대를 가구당 1포씩 전달합니다.",
         ["daily_living", "economy"], "region", "region",
         {"kind": "in_kind", "quantity": 200, "quantity_unit": "포", "organization_name": "애월농협",
          "categories": ["식품", "쌀"], "valid_for_days": 90, "household_conditions": "저소득 가구",
          "contact_person": "고마켓 주임", "direct_phone": "064-723-1382"}),
        ("아동 방학 간식 꾸러미", "방학 중 결식 우려 아동에게 간식과 간편식을 주 1회 전달합니다.",
         ["daily_living", "education"], "partners", "private",
         {"kind": "in_kind", "quantity": 60, "quantity_unit": "상자", "min_age": 6, "max_age": 12,
          "categories": ["식품", "아동"], "household_conditions": "한부모·조손 가구", "verified_days_ago": 165}),
        ("제과점 후원 빵 나눔", "제과점 모임이 매주 금요일 남는 빵을 후원합니다. 수령 일정 확인이 필요합니다.",
         ["daily_living"], "region", "partners",
         {"kind": "in_kind", "quantity": 30, "quantity_unit": "상자", "organization_name": "제주시 동네빵집 나눔모임",
          "categories": ["식품", "빵"], "verified_days_ago": 200}),
        ("생필품 꾸러미", "세제, 화장지, 위생용품 꾸러미 (내부 배분 계획 수립 중).", ["daily_living"], "private", "private",
         {"kind": "in_kind", "quantity": 80, "quantity_unit": "꾸러미", "categories": ["생필품"]}),
    ],
    "dolbom-neighbours": [
        ("어르신 말벗 방문", "자원봉사자가 주 1회 방문해 안부를 살피고 말벗이 되어 드립니다.", ["social", "safety"],
         "region", "private",
         {"min_age": 65, "household_conditions": "독거 어르신", "service_area_codes": [SEOGWIPO_CITY],
          "categories": ["안부확인", "자원봉사"], "contact_person": "서돌봄 국장", "direct_phone": "064-732-4581"}),
        ("병원 동행", "거동이 불편한 분의 병원 진료와 약 수령에 동행합니다.", ["health", "daily_living"],
         "partners", "partners",
         {"capacity": "waitlist", "wait_estimate": "one_to_three_months", "remaining_slots": 0,
          "categories": ["동행", "의료"], "service_area_codes": [SEOGWIPO_CITY],
          "contact_person": "서돌봄 국장", "direct_phone": "064-732-4581"}),
        ("이불 빨래 지원", "계절마다 이불을 수거해 세탁·건조 후 돌려드립니다.", ["environment", "daily_living"],
         "public", "private", {"categories": ["세탁"], "cost": "무료"}),
        ("반찬 배달", "주 2회 밑반찬을 배달합니다 (독거 어르신).", ["daily_living"], "private", "private",
         {"min_age": 65, "categories": ["식품", "배달"], "household_conditions": "독거 어르신"}),
        ("독거 어르신 안부 전화", "매주 정해진 요일에 안부 전화를 드리고 이상이 있으면 담당 기관에 알립니다.",
         ["social", "safety"], "platform", "region",
         {"min_age": 65, "household_conditions": "1인 가구 어르신", "categories": ["안부확인"],
          "contact_person": "문안부 간사", "direct_phone": "064-732-4583", "verified_days_ago": 158}),
        ("겨울 연탄 나눔", "연탄 난방 가구에 겨울철 연탄을 배달합니다 (가구당 최대 300장).",
         ["environment", "economy"], "region", "partners",
         {"kind": "in_kind", "quantity": 3000, "quantity_unit": "장", "organization_name": "서귀포 연탄나눔 봉사단",
          "categories": ["난방", "연탄"], "valid_for_days": 120, "household_conditions": "연탄 난방 저소득 가구",
          "service_area_codes": [SEOGWIPO_CITY], "contact_person": "서돌봄 국장", "direct_phone": "064-732-4581"}),
        ("집 정리·청소 봉사", "혼자 정리하기 어려운 집을 봉사단이 함께 정리하고 청소합니다.",
         ["environment", "daily_living"], "partners", "private",
         {"capacity": "full", "remaining_slots": 0, "categories": ["주거환경", "자원봉사"],
          "household_conditions": "거동이 불편한 어르신, 장애인 가구"}),
    ],
    "halla-welfare": [
        ("주거환경 개선(집수리)", "노후 주택의 도배, 장판, 보일러와 단열을 수리합니다.", ["environment", "safety"],
         "partners", "partners",
         {"service_area_codes": [HALLIM, AEWOL], "remaining_slots": 3, "categories": ["주거환경", "집수리"],
          "household_conditions": "수급·차상위 가구, 노인 가구", "contact_person": "김관리 부장", "direct_phone": "064-796-2211"}),
        ("방과후 학습 멘토링", "대학생 멘토가 초·중학생의 학습을 주 2회 돕습니다.", ["education"], "region", "private",
         {"min_age": 8, "max_age": 15, "categories": ["학습지원", "아동"], "schedule": [
             {"weekday": d, "opens": "15:00", "closes": "18:00"} for d in (1, 3)]}),
        ("사례관리 상담", "위기가구 통합 상담과 사례관리를 합니다.", ["family", "economy", "rights"], "platform", "partners",
         {"categories": ["상담", "사례관리"], "contact_person": "이사례 팀장", "direct_phone": "064-796-2215"}),
        ("경로식당 무료 급식", "평일 점심 무료 급식을 제공합니다.", ["daily_living", "social"], "public", "private",
         {"min_age": 60, "schedule": LUNCH, "categories": ["식사", "어르신"], "cost": "무료",
          "household_conditions": "저소득 어르신"}),
        ("한부모 가족 자조모임", "한부모 가족이 월 2회 모여 양육 정보를 나누고 함께 활동합니다.", ["family", "social"],
         "region", "region",
         {"capacity": "waitlist", "wait_estimate": "under_month", "remaining_slots": 0,
          "household_conditions": "한부모 가구", "categories": ["자조모임", "가족"],
          "contact_person": "김관리 부장", "direct_phone": "064-796-2211"}),
        ("다문화 가족 한국어 교실", "결혼이민자를 위한 수준별 한국어 수업 (주 2회, 아이 돌봄 제공).",
         ["education", "social"], "public", "private",
         {"household_conditions": "다문화 가구", "categories": ["한국어", "다문화"], "cost": "무료",
          "service_area_codes": [HALLIM, AEWOL]}),
        ("노인 공익활동 일자리 연계", "어르신 공익활동 일자리(월 30시간)를 연계합니다. 올해 모집이 끝났습니다.",
         ["employment", "economy"], "platform", "private",
         {"capacity": "full", "remaining_slots": 0, "min_age": 65, "categories": ["일자리", "어르신"],
          "income_note": "기초연금 수급자 우선", "contact_person": "김관리 부장", "direct_phone": "064-796-2211"}),
    ],
    "seogwipo-welfare": [
        ("목욕 서비스", "이동 목욕 차량으로 가정을 방문해 목욕을 돕습니다.", ["health", "daily_living"],
         "partners", "partners",
         {"service_area_codes": [NAMWON], "capacity": "full", "remaining_slots": 0, "categories": ["목욕", "방문"],
          "contact_person": "윤해오름 과장", "direct_phone": "064-764-3311"}),
        ("취업 상담과 연계", "구직 상담과 자활 일자리를 연계합니다.", ["employment", "economy"], "region", "private",
         {"categories": ["취업", "자활"], "contact_person": "강자활 팀장", "direct_phone": "064-764-3315"}),
        ("가족 관계 회복 프로그램", "가족 상담과 집단 프로그램 (8회기).", ["family"], "platform", "private",
         {"categories": ["상담", "가족"], "remaining_slots": 4}),
        ("장애인 주간활동", "성인 발달장애인의 낮 시간 활동과 사회참여를 지원합니다.", ["daily_living", "social"],
         "partners", "private",
         {"min_age": 18, "capacity": "waitlist", "wait_estimate": "longer", "remaining_slots": 0,
          "household_conditions": "장애인 가구", "categories": ["장애인", "주간활동"]}),
        ("청소년 진로 상담", "진로 검사와 1:1 상담, 직업 체험을 연계합니다.", ["education", "employment"], "public", "private",
         {"min_age": 13, "max_age": 19, "categories": ["진로", "청소년"], "cost": "무료",
          "contact_person": "윤해오름 과장", "direct_phone": "064-764-3311"}),
    ],
    "jeju-health-centre": [
        ("방문건강관리", "간호사가 가정을 방문해 혈압·당뇨 등 만성질환을 관리합니다.", ["health"], "region", "partners",
         {"service_area_codes": [JEJU_CITY], "categories": ["방문간호", "만성질환"],
          "contact_person": "양방문 주무관", "direct_phone": "064-728-4011"}),
        ("정신건강 상담", "우울·불안 상담과 치료를 연계합니다.", ["health"], "platform", "private",
         {"categories": ["정신건강", "상담"], "cost": "무료", "contact_person": "정마음 상담사",
          "direct_phone": "064-728-4021"}),
        ("치매 조기검진", "60세 이상 주민의 치매 선별검사와 정밀검진을 연계합니다.", ["health"], "public", "private",
         {"min_age": 60, "categories": ["치매", "검진"], "cost": "무료", "required_documents": "신분증",
          "service_area_codes": [JEJU_CITY]}),
    ],
    "hallim-dong": [
        ("한림읍 이웃돕기 쌀", "지역사회보장협의체가 모은 쌀(20kg)을 읍내 위기가구에 전달합니다.",
         ["daily_living", "economy"], "private", "private",
         {"kind": "in_kind", "quantity": 50, "quantity_unit": "포", "organization_name": "한림읍 지역사회보장협의체",
          "categories": ["식품", "쌀"], "service_area_codes": [HALLIM], "valid_for_days": 60,
          "contact_person": "한동장 주무관", "direct_phone": "064-728-5111"}),
        ("찾아가는 복지상담", "맞춤형복지팀이 집으로 찾아가 복지 서비스 신청을 돕습니다.", ["rights", "economy"],
         "public", "private", {"service_area_codes": [HALLIM], "categories": ["상담", "신청지원"], "cost": "무료"}),
    ],
    "jeju-city": [
        ("긴급복지 생계지원", "갑작스러운 위기로 생계가 어려운 가구에 생계비를 지원합니다.", ["economy", "safety"],
         "public", "private",
         {"income_note": "기준 중위소득 75% 이하, 재산 기준 충족", "categories": ["긴급지원", "생계"],
          "required_documents": "신분증, 위기사유 확인 서류", "service_area_codes": [JEJU_CITY]}),
        ("저소득층 난방비 지원", "겨울철 난방비(등유·전기)를 가구당 한 번 지원합니다.", ["economy", "environment"],
         "region", "private",
         {"household_conditions": "기초생활수급·차상위 가구, 노인 가구", "categories": ["난방", "에너지"],
          "valid_for_days": 100, "service_area_codes": [JEJU_CITY], "remaining_slots": 120}),
    ],
    "halla-care-home": [
        ("주야간보호", "낮 동안 어르신을 돌보고 식사, 재활, 송영을 제공합니다.", ["health", "daily_living"],
         "region", "partners",
         {"min_age": 65, "capacity": "waitlist", "wait_estimate": "one_to_three_months", "remaining_slots": 0,
          "service_area_codes": [AEWOL, HALLIM], "eligibility_note": "장기요양 등급 판정자",
          "cost": "장기요양 본인부담금", "categories": ["주야간보호", "장기요양"],
          "contact_person": "홍시설 원장", "direct_phone": "064-799-7701"}),
        ("단기보호 (가족 쉼 지원)", "돌보는 가족이 쉴 수 있도록 어르신을 최대 9일 돌봅니다.", ["family", "health"],
         "platform", "private",
         {"min_age": 65, "capacity": "full", "remaining_slots": 0, "categories": ["단기보호", "가족지원"],
          "eligibility_note": "장기요양 등급 판정자"}),
    ],
}


def apply() -> dict[str, int]:
    """Register missing listings; returns {tenant code: listings added} for tenants that got any."""
    created = {}
    for code, entries in CATALOGUE.items():
        tenant = db.session.scalar(select(Tenant).where(Tenant.code == code))
        if tenant is not None:
            added = _apply_tenant(tenant, entries)
            if added:
                created[code] = added
    db.session.flush()
    return created


def _apply_tenant(tenant: Tenant, entries) -> int:
    with acting_as(tenant.id, None):
        registrar = _registrar(tenant)
    with acting_as(tenant.id, registrar.id if registrar else None):
        existing = set(db.session.scalars(select(Resource.name).where(Resource.tenant_id == tenant.id)))
        missing = [entry for entry in entries if entry[0] not in existing]
        for entry in missing:
            _register(tenant.code, entry, registrar)
    return len(missing)


def _registrar(tenant: Tenant) -> User | None:
    memberships = db.session.scalars(
        select(Membership).where(Membership.tenant_id == tenant.id, Membership.active).order_by(Membership.id)
    )
    writer = next((m for m in memberships if m.has_role(*WRITER_ROLES)), None)
    return db.session.get(User, writer.user_id) if writer else None


def values_for(code: str, entry) -> tuple[dict, int | None]:
    """The register() values of a catalogue entry, and how many days ago it was last verified."""
    name, description, domains, scope, staff_scope, extra = entry
    extra, today = dict(extra), clock.today()
    verified_days_ago = extra.pop("verified_days_ago", None)
    valid_for_days = extra.pop("valid_for_days", None)
    if valid_for_days:
        extra.update(valid_from=today, valid_until=today + timedelta(days=valid_for_days))
    values = {"schedule": WEEKDAYS, **TENANT_DEFAULTS.get(code, {}), "name": name, "description": description,
              "need_domains": domains, "scope": scope, "staff_scope": staff_scope, **extra}
    return values, verified_days_ago


def _register(code: str, entry, registrar: User | None) -> None:
    values, verified_days_ago = values_for(code, entry)
    resource = service.register(values, registrar)
    if verified_days_ago is not None:
        resource.last_verified_on = clock.today() - timedelta(days=verified_days_ago)
