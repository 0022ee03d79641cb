"""Service evaluations: cycles with their areas, scores per area, the total and the grade by the
documented rule, a facility's history, and the average of its type in the viewer's region."""
from __future__ import annotations

from datetime import date

import pytest
from werkzeug.exceptions import NotFound

from hanaro.core.rules import RuleViolation
from hanaro.oversight import evaluations, service
from hanaro.oversight.states import WrongSide


@pytest.fixture
def w(make):
    return make.oversight_world()


@pytest.mark.parametrize("total, grade", [(100, "A"), (90, "A"), (89.99, "B"), (80, "B"), (79.5, "C"), (70, "C"),
                                          (60, "D"), (59.99, "F"), (0, "F")])
def test_the_grade_follows_the_total_as_a_share_of_the_maximum(total, grade):
    assert evaluations.grade_for(total, 100) == grade
    assert evaluations.grade_for(total * 2, 200) == grade  # the share, not the points


def _scores(environment=10, organisation=15, staff=20, programmes=30, rights=15, community=10):
    return {"environment": environment, "organisation": organisation, "staff": staff, "programmes": programmes,
            "rights": rights, "community": community}


def _evaluate(w, cycle_id, facility, evaluated_on=date(2025, 10, 1), **scores):
    with w.acting(w.city, w.inspector):
        return evaluations.record(evaluations.get_cycle_or_404(cycle_id), service.get_facility_or_404(facility.public_id),
                                  {"scores": _scores(**scores), "evaluated_on": evaluated_on,
                                   "comment": "인력 관리 우수"}, w.inspector).public_id


@pytest.fixture
def cycle(w):
    with w.acting(w.city, w.inspector):
        return evaluations.create_cycle({"year": 2025, "facility_type": "elderly"}, w.inspector).public_id


def test_a_cycle_gets_the_default_areas_and_a_name_and_is_unique_per_year_and_type(w, cycle):
    with w.acting(w.city, w.inspector):
        made = evaluations.get_cycle_or_404(cycle)
        assert made.name == "2025년 노인복지시설 평가"
        assert sum(a["max_score"] for a in made.areas) == 100 and len(made.areas) == 6
        with pytest.raises(RuleViolation, match="이미 있습니다") as refused:
            evaluations.create_cycle({"year": 2025, "facility_type": "elderly"}, w.inspector)
        assert refused.value.field == "year"
        with pytest.raises(RuleViolation, match="배점") as refused:
            evaluations.create_cycle({"year": 2025, "facility_type": "child",
                                      "areas": [{"code": "a", "label": "가", "max_score": 0}]}, w.inspector)
        assert refused.value.field == "areas-1"
    with w.acting(w.other_city, w.other_inspector):  # the same year and type is the other city's own
        evaluations.create_cycle({"year": 2025, "facility_type": "elderly"}, w.inspector)
        with pytest.raises(NotFound):
            evaluations.get_cycle_or_404(cycle)
    with w.acting(w.home_a, w.staff_a), pytest.raises(WrongSide):
        evaluations.create_cycle({"year": 2026, "facility_type": "elderly"}, w.staff_a)


def test_scores_give_the_total_and_grade_and_the_facility_reads_its_history(w, cycle):
    public_id = _evaluate(w, cycle, w.facility_a, staff=12.5, programmes=22)  # 84.5
    with w.acting(w.city, w.inspector):
        later = evaluations.create_cycle({"year": 2026, "facility_type": "elderly"}, w.inspector)
    _evaluate(w, later.public_id, w.facility_a, evaluated_on=date(2026, 3, 1), staff=19)  # 99
    with w.acting(w.home_a, w.staff_a):
        evaluation = evaluations.get_evaluation_or_404(public_id)
        assert (evaluation.total, evaluation.max_total, evaluation.percent, evaluation.grade) == (84.5, 100, 84.5, "B")
        assert {row["code"]: row["score"] for row in evaluation.scores}["staff"] == 12.5
        history = evaluations.history(service.get_facility_or_404(w.facility_a.public_id))
        assert [(e.year, e.grade) for e in history] == [(2026, "A"), (2025, "B")]
    with w.acting(w.city, w.inspector):  # a correction re-grades
        evaluations.update(evaluations.get_evaluation_or_404(public_id), {"scores": _scores(programmes=5)}, w.inspector)
        assert evaluations.get_evaluation_or_404(public_id).grade == "C"  # 75


@pytest.mark.parametrize("scores, field", [({"staff": 21}, "score-staff"), ({"rights": -1}, "score-rights"),
                                           ({"community": None}, "score-community")])
def test_a_score_outside_its_area_is_refused_next_to_it(w, cycle, scores, field):
    with pytest.raises(RuleViolation, match="사이로 입력하세요") as refused:
        _evaluate(w, cycle, w.facility_a, **scores)
    assert refused.value.field == field


def test_one_result_per_facility_and_cycle_and_only_for_its_type(w, cycle, make):
    _evaluate(w, cycle, w.facility_a)
    with pytest.raises(RuleViolation, match="이미 있습니다") as refused:
        _evaluate(w, cycle, w.facility_a)
    assert refused.value.field == "facility"
    centre = w.facility("하나복지관", "제2021-9호", facility_type="community_centre")
    with pytest.raises(RuleViolation, match="노인복지시설 대상") as refused:
        _evaluate(w, cycle, centre)
    assert refused.value.field == "facility"


def test_the_average_of_the_type_is_over_the_viewers_region(w, cycle):
    first = _evaluate(w, cycle, w.facility_a)  # 100
    _evaluate(w, cycle, w.facility_b, programmes=10)  # 80
    _evaluate(w, cycle, w.facility_paper, programmes=15, rights=0)  # 70
    with w.acting(w.other_city, w.other_inspector):
        other = service.register_facility({"name": "이웃요양원", "facility_type": "elderly", "operator_kind": "individual",
                                           "operator_name": "을", "licence_number": "1", "licence_date": date(2020, 1, 1),
                                           "capacity": 10, "address": "이웃로"}, w.other_inspector)
        other_cycle = evaluations.create_cycle({"year": 2025, "facility_type": "elderly"}, w.other_inspector)
        evaluations.record(other_cycle, other, {"scores": _scores(programmes=0, rights=0, staff=0),
                                                "evaluated_on": date(2025, 9, 1)}, w.other_inspector)  # 35
    with w.acting(w.city, w.inspector):
        evaluation, average = evaluations.comparison(evaluations.get_evaluation_or_404(first))
        assert (average.count, average.percent) == (3, 83.3)
        assert average.by_area["programmes"] == round((30 + 10 + 15) / 3, 2)
        assert evaluations.progress(evaluations.get_cycle_or_404(cycle)) == (3, 3)
    with w.acting(w.province, w.province_staff):  # the province compares across its municipalities
        _evaluation, average = evaluations.comparison(evaluations.get_evaluation_or_404(first))
        assert (average.count, average.percent) == (4, 71.2)
    with w.acting(w.home_a, w.staff_a):  # a facility sees only itself
        assert evaluations.type_average(2025, "elderly").count == 1
    with w.acting(w.home_b, w.staff_b), pytest.raises(NotFound):
        evaluations.get_evaluation_or_404(first)
