"""The region figures screen of facility oversight (지도점검 통계) on a known data set: the numbers in
each chart's table alternative and in its CSV, for the province (per municipality, with totals),
a municipality (its own) and a year chosen in the filter; a province elsewhere sees only its own;
facilities and NGOs get 404."""
from __future__ import annotations

from datetime import date

import pytest

from hanaro.core import clock
from hanaro.oversight import actions, evaluations, inspections, sanctions, service
from hanaro.oversight.figure_views import FIGURES

from .helpers import login
from .test_campaigns_figure_screens import _csv, tables

THIS_YEAR = clock.today().year
YEAR = THIS_YEAR - 1  # the year with the history; this year has one plan and one sanction


def _inspect(w, tenant, user, facility, on, area, due_on):
    """A completed special inspection without a checklist: one finding in ``area`` with an action."""
    with w.acting(tenant, user):
        facility = service.get_facility_or_404(facility.public_id)
        inspection = inspections.plan(facility, {"kind": "special", "planned_on": on, "inspectors": [user.public_id]},
                                      user)
        inspections.start(inspection, {"conducted_on": on}, user)
        inspections.add_finding(inspection, {"area": area, "description": "소화기 점검 기록 없음", "requires_action": True,
                                             "requirement": "점검 후 기록", "due_on": due_on}, user)
        inspections.complete(inspection, {}, user)


def _sanction(w, tenant, user, facility, kind, decided_on, **values):
    with w.acting(tenant, user):
        return sanctions.record(service.get_facility_or_404(facility.public_id), {
            "sanction_type": kind, "legal_basis": "사회복지사업법 제40조", "reason": "시정명령 불이행",
            "decided_on": decided_on, "effective_from": decided_on, **values}, user)


def _grades(w, tenant, user, graded):
    """``graded``: (facility, programmes score, rights score) of YEAR's elderly cycle; the other
    areas full (55 points), so programmes 30 + rights 15 is 100."""
    with w.acting(tenant, user):
        cycle = evaluations.create_cycle({"year": YEAR, "facility_type": "elderly"}, user)
        for facility, programmes, rights in graded:
            scores = {"environment": 10, "organisation": 15, "staff": 20, "programmes": programmes, "rights": rights,
                      "community": 10}
            evaluations.record(cycle, service.get_facility_or_404(facility.public_id),
                               {"scores": scores, "evaluated_on": date(YEAR, 10, 1)}, user)


class Known:
    """시험시청 (the city): A inspected in March with three findings (운영 관리, 운영 관리, 인력), one
    answered, two overdue; B in June with one (운영 관리), answered and accepted; the paper facility
    planned for November, and for December but cancelled; one plan this year. 이웃시청: one
    special inspection with a safety finding, overdue. 먼시청 (another province): one with a rights
    finding, overdue. Sanctions of YEAR: the city's improvement order, a fine corrected once, a
    suspension withdrawn; the neighbour's closure; and a fine of this year. Grades of YEAR: the city
    A, B, F; the neighbour C; the far city A."""

    def __init__(self, w, make):
        self.w = w
        far_inspector = make.member(w.far_city, roles=["inspector"])
        _i, _f, a_actions = w.conduct(w.facility_a, findings=("가", "나", "다"), conducted_on=date(YEAR, 3, 10),
                                      due_on=date(YEAR, 4, 10))
        _i, _f, b_actions = w.conduct(w.facility_b, findings=("라",), conducted_on=date(YEAR, 6, 1))
        with w.acting(w.home_a, w.staff_a):
            actions.act(actions.get_action_or_404(a_actions[0]), "answer", w.staff_a, {"answer": "회의록 작성"})
        with w.acting(w.home_b, w.staff_b):
            actions.act(actions.get_action_or_404(b_actions[0]), "answer", w.staff_b, {"answer": "게시함"})
        with w.acting(w.city, w.inspector):
            actions.act(actions.get_action_or_404(b_actions[0]), "accept", w.inspector)
            paper = service.get_facility_or_404(w.facility_paper.public_id)
            for planned_on in (date(YEAR, 11, 1), date(YEAR, 12, 1), date(THIS_YEAR, 12, 31)):
                plan = inspections.plan(paper, {"kind": "regular", "planned_on": planned_on,
                                                "inspectors": [w.inspector.public_id]}, w.inspector)
                if planned_on == date(YEAR, 12, 1):
                    inspections.cancel(plan, "감염병 발생으로 연기", w.inspector)
        self.neighbour = w.facility("이웃요양원", "제2020-9호", supervisor=w.other_city, inspector=w.other_inspector)
        _inspect(w, w.other_city, w.other_inspector, self.neighbour, date(YEAR, 5, 2), "safety", date(YEAR, 6, 1))
        far = w.facility("먼요양원", "제2020-8호", supervisor=w.far_city, inspector=far_inspector)
        _inspect(w, w.far_city, far_inspector, far, date(YEAR, 5, 2), "rights", date(YEAR, 6, 1))

        _sanction(w, w.city, w.inspector, w.facility_a, "improvement_order", date(YEAR, 5, 1))
        fine = _sanction(w, w.city, w.inspector, w.facility_a, "fine", date(YEAR, 7, 1), amount=1_000_000)
        suspension = _sanction(w, w.city, w.inspector, w.facility_b, "suspension", date(YEAR, 8, 1),
                               effective_to=date(YEAR, 8, 31))
        with w.acting(w.city, w.inspector):
            sanctions.correct(fine, {"amount": 500_000, "correction_reason": "의견제출 반영 감경"}, w.inspector)
            sanctions.correct(suspension, {"withdraws": True, "appeal_status": "overturned",
                                           "correction_reason": "행정심판 인용"}, w.inspector)
        _sanction(w, w.other_city, w.other_inspector, self.neighbour, "closure", date(YEAR, 9, 1))
        _sanction(w, w.city, w.inspector, w.facility_b, "fine", date(THIS_YEAR, 1, 1), amount=300_000)

        _grades(w, w.city, w.inspector, ((w.facility_a, 30, 15), (w.facility_b, 10, 15), (w.facility_paper, 0, 0)))
        _grades(w, w.other_city, w.other_inspector, ((self.neighbour, 0, 15),))
        _grades(w, w.far_city, far_inspector, ((far, 30, 15),))
        self.far_viewer = w.far_staff
        self.city_caseworker = make.member(w.city, roles=["case_manager"])


@pytest.fixture
def known(make):
    return Known(make.oversight_world(), make)


def _page(app, user, query=""):
    client = app.test_client()
    login(client, user.email)
    response = client.get(f"/oversight/figures/{query}")
    assert response.status_code == 200
    return client, response.get_data(as_text=True)


AREAS = ["운영 관리", "인력", "시설안전", "회계", "인권", "급식·위생", "서비스 제공"]
TYPES = ["개선명령", "시설장 교체", "사업 정지", "시설 폐쇄", "과태료", "보조금 환수"]


def test_the_province_sees_each_municipality_and_the_totals(known, app):
    client, html = _page(app, known.w.province_staff, f"?year={YEAR}")
    t = tables(html)
    assert list(t) == list(FIGURES)
    assert t["inspections"] == [["관할 기관", "계획", "완료", "취소", "실시율"],
                                ["시험시청", "3", "2", "1", "66.7%"], ["이웃시청", "1", "1", "0", "100%"],
                                ["합계", "4", "3", "1", "75%"]]
    assert t["findings-by-area"] == [["영역", "지적사항"]] + [[a, n] for a, n in zip(AREAS, "3110000")]
    assert t["overdue-actions"] == [["관할 기관", "기한 지남"], ["시험시청", "2"], ["이웃시청", "1"], ["합계", "3"]]
    assert t["sanctions-by-type"] == [["처분 종류", "처분"]] + [[k, n] for k, n in zip(TYPES, "100110")]
    assert t["grades"] == [["등급", "시설"], ["A", "1"], ["B", "1"], ["C", "1"], ["D", "0"], ["F", "1"]]
    assert f"{YEAR}년에 예정한 점검 4건 중 3건을 마쳤습니다 (실시율 75%)" in html
    assert "아직 시설의 조치를 기다리는 시정 요구가 3건입니다" in html
    assert "2/3건 (66.7%)" in html  # the chart's label of the city's bar
    assert "도내 시군구가 관할 시설에 대해 남긴" in html


def test_each_figure_downloads_as_the_csv_of_its_table(known, app):
    client, html = _page(app, known.w.province_staff, f"?year={YEAR}")
    t = tables(html)
    for key in FIGURES:
        year = "" if key == "overdue-actions" else f"?year={YEAR}"
        assert f'href="/oversight/figures/{key}.csv{year}"' in html
        assert _csv(client.get(f"/oversight/figures/{key}.csv{year}")) == t[key]
    response = client.get(f"/oversight/figures/grades.csv?year={YEAR}")
    assert f"oversight-grades-{YEAR}.csv" in response.headers["Content-Disposition"]
    assert client.get("/oversight/figures/nothing.csv").status_code == 404


def test_every_chart_has_a_title_a_description_and_a_table_alternative(known, app):
    _client, html = _page(app, known.w.province_staff, f"?year={YEAR}")
    assert html.count('role="img"') == html.count("<details") == html.count("<caption>") == len(FIGURES)
    assert '<title id="chart-findings-by-area-title">영역별 지적사항</title>' in html
    assert 'aria-labelledby="chart-grades-title chart-grades-desc"' in html
    assert f'<desc id="chart-grades-desc">{YEAR}년 평가에서 결과를 기록한 시설 4곳을 등급별로 센 값입니다.</desc>' in html
    assert '<summary>표로 보기<span class="visually-hidden">: 종류별 행정처분</span></summary>' in html
    assert "<script" not in html.split("<main", 1)[1] and 'style="' not in html


def test_the_municipality_sees_its_own_area_by_year(known, app):
    client, html = _page(app, known.w.inspector, f"?year={YEAR}")
    t = tables(html)
    assert t["inspections"][1:] == [["시험시청", "3", "2", "1", "66.7%"]]  # one municipality: no total row
    assert t["findings-by-area"][1:3] == [["운영 관리", "3"], ["인력", "1"]] and t["findings-by-area"][3] == ["시설안전", "0"]
    assert t["overdue-actions"][1:] == [["시험시청", "2"]]
    assert [row[1] for row in t["sanctions-by-type"][1:]] == list("100010")
    assert [row[1] for row in t["grades"][1:]] == list("11001")
    assert "이웃시청" not in html and "먼시청" not in html
    assert "우리 기관이 관할하는 시설의" in html
    assert 'href="/oversight/figures/" aria-current="true">지역 통계</a>' in html  # in the oversight section menu

    this_year = tables(client.get("/oversight/figures/").get_data(as_text=True))  # this year by default
    assert this_year["inspections"][1:] == [["시험시청", "1", "0", "0", "0%"]]
    assert all(row[1] == "0" for row in this_year["findings-by-area"][1:])
    assert this_year["overdue-actions"][1:] == [["시험시청", "2"]]  # today's, whatever the year
    assert [row[1] for row in this_year["sanctions-by-type"][1:]] == list("000010")
    assert all(row[1] == "0" for row in this_year["grades"][1:])


def test_a_year_not_offered_is_refused_next_to_the_field(known, app):
    client = app.test_client()
    login(client, known.w.inspector.email)
    for wrong in (str(THIS_YEAR - 30), "작년", f"{YEAR}-05"):
        response = client.get(f"/oversight/figures/?year={wrong}")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert 'id="figures-year-select-error"' in html and 'aria-invalid="true"' in html
        assert f'<option value="{THIS_YEAR}" selected>{THIS_YEAR}년</option>' in html
        assert tables(html)["inspections"][1] == ["시험시청", "1", "0", "0", "0%"]  # this year instead


def test_another_province_sees_only_its_own(known, app):
    _client, html = _page(app, known.far_viewer, f"?year={YEAR}")
    t = tables(html)
    assert t["inspections"][1:] == [["먼시청", "1", "1", "0", "100%"]]
    assert t["findings-by-area"][5] == ["인권", "1"] and sum(int(row[1]) for row in t["findings-by-area"][1:]) == 1
    assert t["overdue-actions"][1:] == [["먼시청", "1"]]
    assert all(row[1] == "0" for row in t["sanctions-by-type"][1:])
    assert "시험시청" not in html and "이웃시청" not in html


def test_facilities_and_ngos_get_404_and_other_staff_403(known, app):
    w = known.w
    for user in (w.staff_a, w.ngo_worker):  # a facility's tenant admin, an NGO's case manager
        client = app.test_client()
        login(client, user.email)
        assert client.get(f"/oversight/figures/?year={YEAR}").status_code == 404
        assert client.get(f"/oversight/figures/inspections.csv?year={YEAR}").status_code == 404
    client = app.test_client()
    login(client, known.city_caseworker.email)  # the city's staff without oversight duties
    assert client.get("/oversight/figures/").status_code == 403
    assert client.get("/oversight/figures/grades.csv").status_code == 403
    assert app.test_client().get("/oversight/figures/").status_code == 302  # signed out: to the login page
