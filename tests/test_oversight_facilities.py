"""Facilities and their status reports: who registers them, what is refused (with the field it
belongs to), who reports status, linking the facility's own tenant, and the inspector's list."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from werkzeug.exceptions import NotFound

from hanaro.core import clock
from hanaro.core.rules import RuleViolation
from hanaro.oversight import inspections, service
from hanaro.oversight.states import WrongSide


@pytest.fixture
def w(make):
    return make.oversight_world()


FACILITY = {"name": "새빛노인요양원", "facility_type": "elderly", "operator_kind": "individual", "operator_name": "홍길동",
            "licence_number": "제2024-7호", "licence_date": date(2024, 5, 1), "capacity": 29, "address": "시험로 9"}


def test_the_municipality_registers_a_facility_in_its_area_and_reads_it_back(w):
    with w.acting(w.city, w.inspector):
        facility = service.register_facility({**FACILITY, "dong_code": w.dong.code, "phone": " 064-000-0000 "},
                                             w.inspector)
    with w.acting(w.city, w.inspector):
        loaded = service.get_facility_or_404(facility.public_id)
        assert (loaded.name, loaded.type_label, loaded.operator_kind_label, loaded.capacity, loaded.phone) == (
            "새빛노인요양원", "노인복지시설", "개인", 29, "064-000-0000")
        assert loaded.tenant_id == w.city.id and loaded.facility_tenant_id is None


@pytest.mark.parametrize("change, field, message", [
    ({"name": " "}, "name", "시설 이름"),
    ({"facility_type": "zoo"}, "facility_type", "시설 유형"),
    ({"capacity": -1}, "capacity", "0 이상"),
    ({"licence_date": date.today() + timedelta(days=400)}, "licence_date", "오늘 이후"),
    ({"licence_number": "제2020-1호"}, "licence_number", "같은 신고·허가 번호"),
    ({"facility_tenant": "no-such-tenant"}, "facility_tenant", "사회복지시설이나 복지관"),
])
def test_bad_facility_input_is_refused_next_to_its_field(w, change, field, message):
    with w.acting(w.city, w.inspector), pytest.raises(RuleViolation, match=message) as refused:
        service.register_facility({**FACILITY, **change}, w.inspector)
    assert refused.value.field == field


def test_a_dong_outside_the_municipality_and_an_ngo_as_the_facility_tenant_are_refused(w, make):
    elsewhere = make.region(level="dong", parent_code="9910000000")
    with w.acting(w.city, w.inspector), pytest.raises(RuleViolation, match="관할 구역") as refused:
        service.register_facility({**FACILITY, "dong_code": elsewhere.code}, w.inspector)
    assert refused.value.field == "dong_code"
    with w.acting(w.city, w.inspector), pytest.raises(RuleViolation) as refused:
        service.register_facility({**FACILITY, "facility_tenant": w.ngo.code}, w.inspector)
    assert refused.value.field == "facility_tenant"


def test_only_a_supervising_authority_registers_facilities(w):
    for tenant, user in ((w.ngo, w.ngo_worker), (w.home_a, w.staff_a)):
        with w.acting(tenant, user), pytest.raises(WrongSide, match="관할 시군구"):
            service.register_facility(FACILITY, user)


def test_the_same_licence_number_is_fine_in_another_municipality(w):
    with w.acting(w.other_city, w.other_inspector):
        facility = service.register_facility({**FACILITY, "licence_number": "제2020-1호"}, w.other_inspector)
    assert facility.tenant_id == w.other_city.id


def test_the_facility_reports_its_status_and_the_history_keeps_every_report(w):
    with w.acting(w.home_a, w.staff_a):
        facility = service.get_facility_or_404(w.facility_a.public_id)
        service.report_status(facility, {"residents": 27, "staff_count": 18, "contact_name": "박시설",
                                         "contact_phone": "064-111-2222"}, w.staff_a)
    with w.acting(w.city, w.inspector):
        facility = service.get_facility_or_404(w.facility_a.public_id)
        service.report_status(facility, {"residents": 26, "staff_count": 18}, w.inspector)
    with w.acting(w.province, w.province_staff):
        facility = service.get_facility_or_404(w.facility_a.public_id)
        history = service.status_history(facility)
        assert [(s.residents, s.reporter_tenant_id) for s in history] == [(26, w.city.id), (27, w.home_a.id)]
        assert service.current_status(facility).residents == 26
        with pytest.raises(WrongSide):  # the province reads only
            service.report_status(facility, {"residents": 1, "staff_count": 1}, w.province_staff)


def test_status_numbers_are_required_and_not_negative(w):
    with w.acting(w.home_a, w.staff_a):
        facility = service.get_facility_or_404(w.facility_a.public_id)
        with pytest.raises(RuleViolation, match="현원") as refused:
            service.report_status(facility, {"staff_count": 3}, w.staff_a)
        assert refused.value.field == "residents"
        with pytest.raises(RuleViolation, match="0 이상") as refused:
            service.report_status(facility, {"residents": 3, "staff_count": -2}, w.staff_a)
        assert refused.value.field == "staff_count"


def test_a_facility_cannot_change_its_own_licence_record(w):
    with w.acting(w.home_a, w.staff_a):
        facility = service.get_facility_or_404(w.facility_a.public_id)
        with pytest.raises(WrongSide):
            service.update_facility(facility, {"capacity": 300}, w.staff_a)


def test_unlinking_the_facility_tenant_takes_away_its_view_of_every_record(w):
    inspection_id, _findings, action_ids = w.conduct(w.facility_a)
    with w.acting(w.home_a, w.staff_a):
        assert inspections.get_inspection_or_404(inspection_id)
    with w.acting(w.city, w.inspector):
        service.link_facility_tenant(service.get_facility_or_404(w.facility_a.public_id), None, w.inspector)
    with w.acting(w.home_a, w.staff_a):
        for load, public_id in ((service.get_facility_or_404, w.facility_a.public_id),
                                (inspections.get_inspection_or_404, inspection_id)):
            with pytest.raises(NotFound):
                load(public_id)
    with w.acting(w.city, w.inspector):  # and linking it again gives it back
        service.link_facility_tenant(service.get_facility_or_404(w.facility_a.public_id), w.home_a.code, w.inspector)
    with w.acting(w.home_a, w.staff_a):
        assert inspections.get_inspection_or_404(inspection_id).facility_id == w.facility_a.id


def test_the_inspectors_list_counts_open_and_overdue_actions_and_filters(w):
    past = clock.today() - timedelta(days=60)
    w.conduct(w.facility_a, conducted_on=past, due_on=past + timedelta(days=10))  # two overdue
    w.conduct(w.facility_b, findings=("급식 위생 미흡",))  # one open, not yet due
    with w.acting(w.city, w.inspector):
        rows = {r.facility.name: r for r in service.list_facilities(service.FacilityFilter())}
        assert {name: (r.open_findings, r.overdue_actions) for name, r in rows.items()} == {
            "햇살요양원": (2, 2), "바다요양원": (1, 0), "종이요양원": (0, 0)}
        assert [r.facility.name for r in service.list_facilities(service.FacilityFilter(overdue=True))] == ["햇살요양원"]
        assert len(service.list_facilities(service.FacilityFilter(open_findings=True))) == 2
        assert [r.facility.name for r in service.list_facilities(service.FacilityFilter(query="바다"))] == ["바다요양원"]
        assert service.list_facilities(service.FacilityFilter(facility_type="child")) == []
    with w.acting(w.home_b, w.staff_b):  # a facility lists itself only
        assert [r.facility.name for r in service.list_facilities(service.FacilityFilter())] == ["바다요양원"]


def test_a_closed_facility_leaves_the_list_and_gets_no_new_inspection(w):
    from hanaro.oversight.states import Conflict

    with w.acting(w.city, w.inspector):
        facility = service.get_facility_or_404(w.facility_paper.public_id)
        with pytest.raises(RuleViolation, match="신고·허가일 이후"):
            service.close_facility(facility, date(2019, 1, 1), w.inspector)
        service.close_facility(facility, clock.today(), w.inspector)
        assert "종이요양원" not in [r.facility.name for r in service.list_facilities(service.FacilityFilter())]
        with pytest.raises(Conflict, match="폐지된 시설"):
            inspections.plan(facility, {"kind": "regular", "planned_on": clock.today(),
                                        "inspectors": [w.inspector.public_id]}, w.inspector)


def test_the_inspectors_list_takes_the_same_few_queries_for_three_facilities_or_thirteen(w, app):
    from .helpers import count_queries

    def listed():
        with w.acting(w.city, w.inspector), count_queries() as queries:
            rows = service.list_facilities(service.FacilityFilter())
            [(r.facility.dong, r.facility.tenant) for r in rows]  # what a list row shows
        return len(rows), queries()

    w.conduct(w.facility_a)
    few, few_queries = listed()
    for n in range(10):
        w.facility(f"추가시설{n}", f"제2030-{n}호")
    many, many_queries = listed()
    assert (few, many) == (3, 13) and few_queries == many_queries <= 8
