"""Region figures on a known data set: two municipalities of one province and one of another,
inspections in and out of the year, findings by area, overdue actions, sanctions with corrections
and a withdrawal, grades. The province sees its two municipalities, a municipality itself."""
from __future__ import annotations

from datetime import date

import pytest

from hanaro.oversight import actions, evaluations, figures, inspections, sanctions, service

YEAR = 2025
TODAY = date(2026, 1, 15)


def _facility(w, tenant, user, name):
    with w.acting(tenant, user):
        return service.register_facility({"name": name, "facility_type": "elderly", "operator_kind": "individual",
                                          "operator_name": "갑", "licence_number": name, "licence_date": date(2020, 1, 1),
                                          "capacity": 10, "address": "주소"}, user)


def _inspect(w, tenant, user, facility, on, areas):
    """A completed inspection without a checklist, a finding with an action due a month later per area."""
    with w.acting(tenant, user):
        facility = service.get_facility_or_404(facility.public_id)
        inspection = inspections.plan(facility, {"kind": "special", "planned_on": on, "inspectors": [user.public_id]},
                                      user)
        inspections.start(inspection, {"conducted_on": on}, user)
        for area in areas:
            inspections.add_finding(inspection, {"area": area, "description": "지적", "requires_action": True,
                                                 "requirement": "시정", "due_on": date(on.year, on.month + 1, 1)}, user)
        inspections.complete(inspection, {}, user)


def _sanction(w, tenant, user, facility, kind, decided_on, **values):
    with w.acting(tenant, user):
        return sanctions.record(service.get_facility_or_404(facility.public_id), {
            "sanction_type": kind, "legal_basis": "사회복지사업법 제40조", "reason": "위반", "decided_on": decided_on,
            "effective_from": decided_on, **values}, user)


def _grade(w, tenant, user, cycle, facility, programmes, rights=15):
    with w.acting(tenant, user):
        scores = {"environment": 10, "organisation": 15, "staff": 20, "programmes": programmes, "rights": rights,
                  "community": 10}
        evaluations.record(evaluations.get_cycle_or_404(cycle), service.get_facility_or_404(facility.public_id),
                           {"scores": scores, "evaluated_on": date(YEAR, 10, 1)}, user)


@pytest.fixture
def data(w, make):
    far_inspector = make.member(w.far_city, roles=["inspector"])
    # The city: facility A inspected in March with three findings (items 1-3 of the default
    # checklist: 운영 관리, 운영 관리, 인력), none answered; facility B in June with one finding,
    # answered and accepted; the paper facility has a plan for November and a cancelled one for
    # December, and one for the previous year.
    _i, _f, _a = w.conduct(w.facility_a, findings=("가", "나", "다"), conducted_on=date(YEAR, 3, 10),
                           due_on=date(YEAR, 4, 10))
    _i, _f, answered = w.conduct(w.facility_b, findings=("라",), conducted_on=date(YEAR, 6, 1))
    with w.acting(w.home_b, w.staff_b):
        actions.act(actions.get_action_or_404(answered[0]), "answer", w.staff_b, {"answer": "조치함"})
    with w.acting(w.city, w.inspector):
        actions.act(actions.get_action_or_404(answered[0]), "accept", w.inspector)
        paper = service.get_facility_or_404(w.facility_paper.public_id)
        for planned_on in (date(YEAR, 11, 1), date(YEAR, 12, 1), date(YEAR - 1, 12, 20)):
            inspection = inspections.plan(paper, {"kind": "regular", "planned_on": planned_on,
                                                  "inspectors": [w.inspector.public_id]}, w.inspector)
            if planned_on.month == 12 and planned_on.year == YEAR:
                inspections.cancel(inspection, "연기", w.inspector)
    # The neighbouring city: one facility, one inspection with a safety finding, overdue.
    neighbour = _facility(w, w.other_city, w.other_inspector, "이웃요양원")
    _inspect(w, w.other_city, w.other_inspector, neighbour, date(YEAR, 5, 2), ["safety"])
    # Another province: not the province's business.
    far = _facility(w, w.far_city, far_inspector, "먼요양원")
    _inspect(w, w.far_city, far_inspector, far, date(YEAR, 5, 2), ["rights", "rights"])
    # Sanctions: an improvement order; a fine corrected once (counted once); a suspension withdrawn;
    # the neighbour's closure; one from the year before.
    _sanction(w, w.city, w.inspector, w.facility_a, "improvement_order", date(YEAR, 5, 1))
    fine = _sanction(w, w.city, w.inspector, w.facility_a, "fine", date(YEAR, 7, 1), amount=1_000_000)
    suspension = _sanction(w, w.city, w.inspector, w.facility_b, "suspension", date(YEAR, 8, 1),
                           effective_to=date(YEAR, 8, 31))
    with w.acting(w.city, w.inspector):
        sanctions.correct(fine, {"amount": 500_000, "correction_reason": "감경"}, w.inspector)
        sanctions.correct(suspension, {"withdraws": True, "appeal_status": "overturned",
                                       "correction_reason": "행정심판 인용"}, w.inspector)
    _sanction(w, w.other_city, w.other_inspector, neighbour, "closure", date(YEAR, 9, 1))
    _sanction(w, w.city, w.inspector, w.facility_b, "fine", date(YEAR - 1, 3, 1), amount=100_000)
    # Grades of the year: the city A (100), B (80), F (55); the neighbour C (70); the far city A.
    for tenant, user, graded in ((w.city, w.inspector, ((w.facility_a, 30), (w.facility_b, 10),
                                                         (w.facility_paper, 0, 0))),
                                 (w.other_city, w.other_inspector, ((neighbour, 0),)),
                                 (w.far_city, far_inspector, ((far, 30),))):
        with w.acting(tenant, user):
            cycle = evaluations.create_cycle({"year": YEAR, "facility_type": "elderly"}, user).public_id
        for facility, *scores in graded:
            _grade(w, tenant, user, cycle, facility, *scores)


@pytest.fixture
def w(make):
    return make.oversight_world()


def test_the_municipality_sees_its_own_numbers(w, data):
    with w.acting(w.city, w.inspector):
        figured = figures.region_figures(YEAR, today=TODAY)
    assert figured["inspections"] == {"planned": 3, "done": 2, "cancelled": 1, "rate": 66.7}
    assert figured["inspections_by_municipality"] == [{"tenant": "시험시청", "planned": 3, "done": 2, "cancelled": 1,
                                                       "rate": 66.7}]
    assert figured["findings_by_area"] == {"operations": 3, "staffing": 1, "safety": 0, "accounting": 0, "rights": 0,
                                           "meals": 0, "services": 0}
    assert figured["overdue_actions"] == 3
    assert figured["overdue_by_municipality"] == [{"tenant": "시험시청", "overdue": 3}]
    assert figured["sanctions_by_type"] == {"improvement_order": 1, "head_replacement": 0, "suspension": 0,
                                            "closure": 0, "fine": 1, "subsidy_recovery": 0}
    assert figured["grades"] == {"A": 1, "B": 1, "C": 0, "D": 0, "F": 1}


def test_the_findings_are_counted_by_area_of_the_items_they_came_from(w, data):
    with w.acting(w.city, w.inspector):
        # A's findings are on items 1-3 (운영 관리, 운영 관리, 인력); B's on item 1 (운영 관리).
        assert figures.findings_by_area(YEAR) == {"operations": 3, "staffing": 1, "safety": 0, "accounting": 0,
                                                  "rights": 0, "meals": 0, "services": 0}
        assert figures.findings_by_area(YEAR - 1) == {area: 0 for area in figures.findings_by_area(YEAR)}


def test_the_province_sees_its_municipalities_and_not_another_provinces(w, data):
    with w.acting(w.province, w.province_staff):
        figured = figures.region_figures(YEAR, today=TODAY)
        previous = figures.inspections_done_vs_planned(YEAR - 1)
    assert figured["inspections"] == {"planned": 4, "done": 3, "cancelled": 1, "rate": 75.0}
    assert figured["inspections_by_municipality"] == [
        {"tenant": "시험시청", "planned": 3, "done": 2, "cancelled": 1, "rate": 66.7},
        {"tenant": "이웃시청", "planned": 1, "done": 1, "cancelled": 0, "rate": 100.0}]
    assert previous == {"planned": 1, "done": 0, "cancelled": 0, "rate": 0.0}
    assert figured["findings_by_area"] == {"operations": 3, "staffing": 1, "safety": 1, "accounting": 0, "rights": 0,
                                           "meals": 0, "services": 0}
    assert figured["overdue_actions"] == 4
    assert figured["overdue_by_municipality"] == [{"tenant": "시험시청", "overdue": 3}, {"tenant": "이웃시청", "overdue": 1}]
    assert figured["sanctions_by_type"] == {"improvement_order": 1, "head_replacement": 0, "suspension": 0,
                                            "closure": 1, "fine": 1, "subsidy_recovery": 0}
    assert figured["grades"] == {"A": 1, "B": 1, "C": 1, "D": 0, "F": 1}


def test_the_far_province_and_an_ngo_see_only_what_is_theirs(w, data):
    with w.acting(w.far_province, w.far_staff):
        figured = figures.region_figures(YEAR, today=TODAY)
    assert figured["inspections"] == {"planned": 1, "done": 1, "cancelled": 0, "rate": 100.0}
    assert figured["findings_by_area"]["rights"] == 2 and sum(figured["findings_by_area"].values()) == 2
    assert (figured["overdue_actions"], figured["grades"]["A"], sum(figured["sanctions_by_type"].values())) == (2, 1, 0)
    with w.acting(w.ngo, w.ngo_worker):
        nothing = figures.region_figures(YEAR, today=TODAY)
    assert nothing["inspections"] == {"planned": 0, "done": 0, "cancelled": 0, "rate": None}
    assert nothing["inspections_by_municipality"] == [] and nothing["overdue_by_municipality"] == []
    assert sum(nothing["findings_by_area"].values()) + sum(nothing["sanctions_by_type"].values()) == 0
    assert nothing["overdue_actions"] == 0 and sum(nothing["grades"].values()) == 0
