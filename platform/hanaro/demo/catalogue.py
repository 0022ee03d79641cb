"""A demo resource catalogue for the Jeju pilot: services and donated goods across kinds and sharing
scopes (`flask demo catalogue`, demo mode only; idempotent)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from ..core import clock
from ..core.db import db
from ..resources import service
from ..resources.models import Resource
from ..tenancy.context import acting_as
from ..tenancy.models import Tenant

WEEKDAYS = [{"weekday": d, "opens": "09:00", "closes": "18:00"} for d in range(5)]

# tenant code -> [(name, description, need domains, scope, staff scope, extra)]
CATALOGUE = {
    "jeju-foodbank": [
        ("김장김치 나눔", "후원받은 김장김치를 저소득 가구에 나눕니다 (4kg 상자).", ["daily_living"], "partners", "partners",
         {"kind": "in_kind", "quantity": 100, "quantity_unit": "상자", "organization_name": "한림농협 부녀회"}),
        ("푸드마켓 이용 연계", "월 1회 푸드마켓에서 식품과 생필품을 고를 수 있습니다.", ["daily_living", "economy"], "region", "partners",
         {"capacity": "waitlist", "wait_estimate": "under_month"}),
        ("명절 선물 꾸러미", "설·추석 명절 꾸러미(쌀, 식용유, 생필품)", ["daily_living"], "platform", "private",
         {"kind": "in_kind", "quantity": 40, "quantity_unit": "꾸러미"}),
        ("긴급 식품 지원", "위기가구 즉시 식품 지원 (3일분)", ["daily_living", "safety"], "public", "partners", {}),
    ],
    "dolbom-neighbours": [
        ("어르신 말벗 방문", "자원봉사자가 주 1회 방문해 안부를 살핍니다.", ["social", "safety"], "region", "private",
         {"min_age": 65}),
        ("병원 동행", "거동이 불편한 분의 병원 진료 동행", ["health", "daily_living"], "partners", "partners",
         {"capacity": "waitlist", "wait_estimate": "one_to_three_months", "remaining_slots": 0}),
        ("이불 빨래 지원", "계절별 이불 세탁과 건조", ["environment", "daily_living"], "public", "private", {}),
        ("반찬 배달", "주 2회 밑반찬 배달 (독거 어르신)", ["daily_living"], "private", "private", {"min_age": 65}),
    ],
    "halla-welfare": [
        ("주거환경 개선(집수리)", "노후 주택 도배, 장판, 보일러 수리", ["environment", "safety"], "partners", "partners",
         {"service_area_codes": ["5011025000", "5011025300"], "remaining_slots": 3}),
        ("방과후 학습 멘토링", "초·중학생 학습 멘토링", ["education"], "region", "private", {"min_age": 8, "max_age": 15}),
        ("사례관리 상담", "위기가구 통합 상담과 사례관리", ["family", "economy", "rights"], "platform", "partners", {}),
        ("경로식당 무료 급식", "평일 점심 무료 급식", ["daily_living", "social"], "public", "private", {"min_age": 60}),
    ],
    "seogwipo-welfare": [
        ("목욕 서비스", "이동 목욕 차량 방문 목욕", ["health", "daily_living"], "partners", "partners",
         {"service_area_codes": ["5013025300"], "capacity": "full"}),
        ("취업 상담과 연계", "구직 상담, 자활 일자리 연계", ["employment", "economy"], "region", "private", {}),
        ("가족 관계 회복 프로그램", "가족 상담과 집단 프로그램", ["family"], "platform", "private", {}),
    ],
    "jeju-health-centre": [
        ("방문건강관리", "간호사가 가정을 방문해 만성질환을 관리합니다.", ["health"], "region", "partners",
         {"service_area_codes": ["5011000000"]}),
        ("정신건강 상담", "우울·불안 상담과 치료 연계", ["health"], "platform", "private", {}),
    ],
}


def apply() -> dict[str, int]:
    created = {}
    for code, entries in CATALOGUE.items():
        tenant = db.session.scalar(select(Tenant).where(Tenant.code == code))
        if tenant is None:
            continue
        with acting_as(tenant.id, None):
            if db.session.scalar(select(func.count()).select_from(Resource).where(Resource.tenant_id == tenant.id)):
                continue
            for number, (name, description, domains, scope, staff_scope, extra) in enumerate(entries):
                values = {"name": name, "description": description, "need_domains": domains, "scope": scope,
                          "staff_scope": staff_scope, "schedule": WEEKDAYS, "public_phone": "064-700-0000",
                          "contact_person": "담당 주무관", "direct_phone": f"064-710-{1000 + number}",
                          "how_to_apply": "전화 또는 방문 신청", **extra}
                resource = service.register(values, None)
                if number == 0:
                    # One listing close to going stale, so the reminder shows in the demo.
                    resource.last_verified_on = clock.today() - service.STALE_AFTER + timedelta(days=10)
            created[code] = len(entries)
    db.session.flush()
    return created
