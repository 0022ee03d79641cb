"""The facility side of the oversight screens (지도점검): the inspector's overview with its filters,
the province's read-only view, a facility landing on its own page; facility pages (register, edit,
link, close), status reports, checklist templates, administrative sanctions with correction chains,
service evaluations — for each side, with bad input kept, double submits creating one, 403 for a
role or side refusal and 404 for every other tenant on every object route."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from hanaro.core import clock
from hanaro.core.db import db
from hanaro.oversight import checklists, evaluations, inspections, sanctions, service
from hanaro.oversight.models import (
    ChecklistTemplate, Evaluation, EvaluationCycle, Facility, FacilityStatus, Sanction,
)
from hanaro.tenancy.context import acting_as
from hanaro.tenancy.models import RegionLevel, TenantKind

from .helpers import login

DECIDED = date(2026, 2, 2)


@pytest.fixture
def w(make):
    return make.oversight_world()


@pytest.fixture
def as_user(app):
    def sign_in(user):
        client = app.test_client()
        assert login(client, user.email).status_code == 303
        return client
    return sign_in


def _count(app, tenant, model, *where):
    with app.app_context(), acting_as(tenant.id, None):
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _text(response) -> str:
    return response.get_data(as_text=True)


def _table(html: str, table_id: str) -> str:
    match = re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, re.S)
    assert match, f"no table {table_id}"
    return match.group(0)


def _record_sanction(w, facility=None, findings=(), **values):
    with w.acting(w.city, w.inspector):
        facility = service.get_facility_or_404((facility or w.facility_a).public_id)
        return sanctions.record(facility, {
            "sanction_type": "improvement_order", "legal_basis": "사회복지사업법 제40조 제1항",
            "reason": "종사자 배치기준 위반", "decided_on": DECIDED, "effective_from": DECIDED + timedelta(days=1),
            "findings": list(findings), **values}, w.inspector).public_id


SCORES = {"environment": 9, "organisation": 14, "staff": 18, "programmes": 27, "rights": 14, "community": 9}


def _cycle(w, year=2025):
    with w.acting(w.city, w.inspector):
        return evaluations.create_cycle({"year": year, "facility_type": "elderly"}, w.inspector).public_id


def _evaluate(w, cycle_id, facility, **scores):
    with w.acting(w.city, w.inspector):
        cycle, facility = evaluations.get_cycle_or_404(cycle_id), service.get_facility_or_404(facility.public_id)
        return evaluations.record(cycle, facility, {"scores": {**SCORES, **scores}, "evaluated_on": date(2025, 10, 1)},
                                  w.inspector).public_id


# -- the overview -------------------------------------------------------------------------------------------

def test_the_inspectors_overview_shows_overdue_actions_upcoming_inspections_and_recent_sanctions(w, as_user):
    past = clock.today() - timedelta(days=40)
    w.conduct(w.facility_a, conducted_on=past, due_on=past + timedelta(days=10))
    with w.acting(w.city, w.inspector):
        inspections.plan(service.get_facility_or_404(w.facility_b.public_id),
                         {"kind": "regular", "planned_on": clock.today() + timedelta(days=7),
                          "inspectors": [w.inspector.public_id]}, w.inspector)
    _record_sanction(w)

    page = _text(as_user(w.inspector).get("/oversight"))
    assert "기한 지난 시정 요구 2건" in page and "다가오는 점검 1건" in page
    assert re.search(r"바다요양원 · 정기 점검", page)
    assert "햇살요양원 · 개선명령" in page
    row = r'<tr class="facility-row[^"]*">\s*<th scope="row"><a [^>]*>([^<]+)</a>(.*?)</tr>'
    rows = dict(re.findall(row, _table(page, "facility-table"), re.S))
    assert set(rows) == {"햇살요양원", "바다요양원", "종이요양원"}
    assert "2건" in rows["햇살요양원"] and (clock.today() + timedelta(days=7)).isoformat() in rows["바다요양원"]
    assert "시설 등록" in page


def test_the_overview_filters_are_the_url_and_htmx_swaps_only_the_results(w, as_user, make):
    past = clock.today() - timedelta(days=40)
    w.conduct(w.facility_a, conducted_on=past, due_on=past + timedelta(days=10))
    w.facility("꿈나무아동센터", "제2021-9호", facility_type="child")
    cycle = _cycle(w)
    _evaluate(w, cycle, w.facility_b)  # 91 of 100: A
    client = as_user(w.inspector)

    def listed(query, **headers):
        response = client.get(f"/oversight?{query}", headers=headers)
        assert response.status_code == 200
        html = _text(response)
        return html, re.findall(r'<tr class="facility-row[^"]*">\s*<th scope="row"><a [^>]*>([^<]+)</a>', html)

    assert listed("overdue=1")[1] == ["햇살요양원"]
    assert listed("type=child")[1] == ["꿈나무아동센터"]
    assert listed("grade=A")[1] == ["바다요양원"]
    assert listed("q=요양")[1] == ["바다요양원", "종이요양원", "햇살요양원"]
    html, names = listed("overdue=1", **{"HX-Request": "true", "HX-Target": "facility-results"})
    assert names == ["햇살요양원"] and "<html" not in html and html.lstrip().startswith('<div id="facility-results"')
    html, names = listed("grade=Z&type=zoo")  # refused filters are not applied, and said so
    assert len(names) == 4 and "거르기 조건을 확인하세요" in html


def test_the_province_reads_its_municipalities_facilities_and_writes_nothing(w, as_user):
    page = _text(as_user(w.province_staff).get("/oversight"))
    assert "햇살요양원" in page and "관할 시군구" in page and "시험시청" in page
    assert "시설 등록" not in page and "점검표 관리" not in page
    far = _text(as_user(w.far_staff).get("/oversight"))
    assert "햇살요양원" not in far and "조회할 수 있는 시설이 없습니다" in far


def test_a_facility_lands_on_its_own_page_with_its_open_actions(w, as_user):
    _inspection, _findings, action_ids = w.conduct(w.facility_a)
    client = as_user(w.staff_a)
    response = client.get("/oversight")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/oversight/facilities/{w.facility_a.public_id}")
    page = _text(client.get(response.headers["Location"]))
    assert "진행 중인 시정 요구 2건" in page and f"/oversight/actions/{action_ids[0]}" in page
    assert "인력 배치기준 미달" in page and "현황 보고" in page
    assert "시설 정보 고치기" not in page and "/sanctions/new" not in page and "하나로 기관 연결" not in page


def test_an_ngo_and_a_facility_without_records_see_no_facility(w, as_user, make):
    for user in (w.ngo_worker, make.member(make.tenant(kind=TenantKind.FACILITY), roles=["tenant_admin"])):
        page = _text(as_user(user).get("/oversight"))
        assert "햇살요양원" not in page and "연결된 지도점검 기록이 없습니다" in page


def test_municipality_staff_without_the_inspector_role_are_refused(w, as_user, make):
    client = as_user(make.member(w.city, roles=["case_manager", "tenant_admin"]))
    for path in ("/oversight", f"/oversight/facilities/{w.facility_a.public_id}", "/oversight/checklists",
                 "/oversight/evaluations", "/oversight/sanctions", "/oversight/facilities/new"):
        assert client.get(path).status_code == 403, path


# -- facilities --------------------------------------------------------------------------------------------

FACILITY_FORM = {"name": "새빛노인요양원", "facility_type": "elderly", "operator_kind": "individual",
                 "operator_name": "홍길동", "licence_number": "제2024-7호", "licence_date": "2024-05-01",
                 "capacity": "29", "address": "시험로 9", "phone": "064-000-0000"}


def test_registering_refuses_bad_input_next_to_the_field_and_keeps_what_was_typed(w, as_user, app):
    client = as_user(w.inspector)
    response = client.post("/oversight/facilities/new", data={**FACILITY_FORM, "name": "", "capacity": "스물"})
    page = _text(response)
    assert response.status_code == 422
    assert 'id="name-error"' in page and 'id="capacity-error"' in page and "숫자를 입력하세요." in page
    assert 'value="시험로 9"' in page and 'value="스물"' in page
    response = client.post("/oversight/facilities/new", data={**FACILITY_FORM, "licence_number": "제2020-1호"})
    assert response.status_code == 422
    assert re.search(r'id="licence_number-error">같은 신고·허가 번호로 등록된 시설이 있습니다', _text(response))
    response = client.post("/oversight/facilities/new", data={**FACILITY_FORM, "facility_tenant": w.ngo.code})
    assert response.status_code == 422 and 'id="facility_tenant-error"' in _text(response)
    assert _count(app, w.city, Facility, Facility.name == "새빛노인요양원") == 0


def test_registering_twice_with_one_form_creates_one_facility(w, as_user, app):
    client = as_user(w.inspector)
    form = {**FACILITY_FORM, "dong_code": w.dong.code, "submission_token": "once"}
    first, second = (client.post("/oversight/facilities/new", data=form) for _n in range(2))
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert _count(app, w.city, Facility, Facility.licence_number == "제2024-7호") == 1
    page = _text(client.get(first.headers["Location"]))
    assert "새빛노인요양원" in page and "시험동" in page and "연결 안 됨" in page


def test_the_registration_form_offers_the_citys_dongs_and_its_provinces_facility_tenants(w, as_user, make):
    far_dong = make.region(level=RegionLevel.DONG, parent_code="9910000000", name="먼동")
    far_home = make.tenant(name="먼요양원", kind=TenantKind.FACILITY, region=far_dong)
    page = _text(as_user(w.inspector).get("/oversight/facilities/new"))
    dongs = re.search(r'<select id="dong_code".*?</select>', page, re.S).group(0)
    tenants = re.search(r'<select id="facility_tenant".*?</select>', page, re.S).group(0)
    assert f'value="{w.dong.code}"' in dongs and f'value="{far_dong.code}"' not in dongs
    assert f'value="{w.home_a.code}"' in tenants and f'value="{w.ngo.code}"' not in tenants
    assert f'value="{far_home.code}"' not in tenants


def test_the_inspector_edits_links_and_closes_a_facility(w, as_user, make, app):
    client = as_user(w.inspector)
    base = f"/oversight/facilities/{w.facility_paper.public_id}"
    form = _text(client.get(f"{base}/edit"))
    assert 'value="종이요양원"' in form and 'value="제2020-3호"' in form
    outside = make.region(name="바깥동", parent_code="9910000000")
    response = client.post(f"{base}/edit", data={**FACILITY_FORM, "name": "종이요양원", "licence_number": "제2020-3호",
                                                 "capacity": "35", "dong_code": outside.code})
    assert response.status_code == 422 and "관할 구역 안의 읍면동을 고르세요." in _text(response)
    assert 'value="35"' in _text(response)
    assert client.post(f"{base}/edit", data={**FACILITY_FORM, "name": "종이요양원", "licence_number": "제2020-3호",
                                             "capacity": "35"}).status_code == 303
    assert "35명" in _text(client.get(base))

    home = make.tenant(name="종이요양원(하나로)", kind=TenantKind.FACILITY, region=w.dong)
    staff = make.member(home, roles=["viewer"])
    assert as_user(staff).get(base).status_code == 404
    refused = client.post(f"{base}/link", data={"facility_tenant": w.ngo.code})
    assert refused.status_code == 422 and 'id="facility_tenant-error"' in _text(refused)
    assert client.post(f"{base}/link", data={"facility_tenant": home.code}).status_code == 303
    assert as_user(staff).get(base).status_code == 200
    assert client.post(f"{base}/link", data={}).status_code == 303
    assert as_user(staff).get(base).status_code == 404

    refused = client.post(f"{base}/close", data={"closed_on": "2019-01-01"})
    assert refused.status_code == 422 and "폐지일은 신고·허가일 이후여야 합니다." in _text(refused)
    assert 'value="2019-01-01"' in _text(refused)
    assert client.post(f"{base}/close", data={"closed_on": "2026-01-31"}).status_code == 303
    assert "종이요양원" not in _table(_text(client.get("/oversight")), "facility-table")
    assert "종이요양원" in _table(_text(client.get("/oversight?closed=1")), "facility-table")


def test_only_the_municipalitys_inspectors_change_a_facility(w, as_user):
    base = f"/oversight/facilities/{w.facility_a.public_id}"
    for user in (w.staff_a, w.province_staff):
        client = as_user(user)
        assert client.get(base).status_code == 200
        assert client.get(f"{base}/edit").status_code == 403
        assert client.post(f"{base}/edit", data=FACILITY_FORM).status_code == 403
        assert client.post(f"{base}/close", data={"closed_on": "2026-01-31"}).status_code == 403
        assert client.post(f"{base}/sanctions/new", data={}).status_code == 403
    assert as_user(w.staff_a).get("/oversight/facilities/new").status_code == 403


# -- status reports ------------------------------------------------------------------------------------------

def test_the_facility_reports_its_status_and_everyone_reads_the_history(w, as_user, app):
    path = f"/oversight/facilities/{w.facility_a.public_id}/status"
    client = as_user(w.staff_a)
    refused = client.post(path, data={"residents": "-3", "staff_count": "12", "contact_name": "박시설"})
    assert refused.status_code == 422 and 'id="residents-error"' in _text(refused) and 'value="박시설"' in _text(refused)
    form = {"residents": "27", "staff_count": "12", "contact_name": "박시설", "contact_phone": "064-111-2222",
            "submission_token": "status-1"}
    assert client.post(path, data=form).status_code == 303
    assert client.post(path, data=form).status_code == 303  # the same form again: one report
    assert _count(app, w.city, FacilityStatus) == 1
    with_staff = {**form, "residents": "28", "submission_token": "status-2"}
    assert as_user(w.inspector).post(path, data=with_staff).status_code == 303  # the city, for the facility

    history = _table(_text(as_user(w.province_staff).get(path)), "status-history")
    assert history.index(">28<") < history.index(">27<") and "시험시청" in history and "햇살요양원" in history
    province_page = _text(as_user(w.province_staff).get(path))
    assert 'name="residents"' not in province_page
    assert as_user(w.province_staff).post(path, data={**form, "submission_token": "p"}).status_code == 403
    assert "28명" in _text(as_user(w.inspector).get(f"/oversight/facilities/{w.facility_a.public_id}"))
    assert as_user(w.staff_b).get(path).status_code == 404
    assert as_user(w.staff_b).post(path, data={**form, "submission_token": "b"}).status_code == 404
    assert _count(app, w.city, FacilityStatus) == 2


# -- checklist templates -----------------------------------------------------------------------------------------

def _rows(page: str) -> list[tuple[str, str]]:
    """(area, text) of every checklist row of the edit page, in order."""
    areas = re.findall(r'<select id="item-\d+-area" name="item_area".*?</select>', page, re.S)
    texts = re.findall(r'<textarea id="item-\d+-text" name="item_text"[^>]*>([^<]*)</textarea>', page)
    chosen = [(re.search(r'<option value="([^"]*)" selected', a) or re.search(r'()', a)).group(1) for a in areas]
    return list(zip(chosen, texts))


def _submitted(rows, name="우리 점검표", active=True, **extra):
    data = {"name": name, "item_area": [a for a, _t in rows], "item_text": [t for _a, t in rows],
            "item_guidance": ["" for _r in rows], **extra}
    if active:
        data["active"] = "1"
    return data


def test_a_checklist_is_copied_from_a_default_and_edited_by_area(w, as_user, app):
    client = as_user(w.inspector)
    index = _text(client.get("/oversight/checklists"))
    assert "노인복지시설 지도점검표 (기본)" in index
    response = client.post("/oversight/checklists", data={"source": "default:elderly", "name": "2027 노인시설",
                                                         "submission_token": "copy"})
    assert response.status_code == 303
    again = client.post("/oversight/checklists", data={"source": "default:elderly", "submission_token": "copy"})
    assert again.headers["Location"] == response.headers["Location"]
    assert _count(app, w.city, ChecklistTemplate) == 1
    path = response.headers["Location"]
    page = _text(client.get(path))
    rows = _rows(page)
    default = checklists.DEFAULTS["elderly"].items
    assert len([r for r in rows if r[1]]) == len(default) and rows[-3:] == [("", "")] * 3
    areas = [a for a, t in rows if t]
    assert areas == sorted(areas, key=lambda a: [x.value for x in checklists.Area].index(a))  # grouped by area
    assert re.search(r'<h3 id="area-\d+">인력</h3>', page)

    filled = [r for r in rows if r[1]]
    # A half-filled new row is refused where it is, and nothing typed is lost.
    bad = filled + [("safety", ""), ("", "")]
    refused = client.post(path, data=_submitted(bad, name="바뀐 이름"))
    n = len(filled) + 1
    assert refused.status_code == 422
    assert f'id="item-{n}-text-error">점검 내용을 입력하세요.' in _text(refused)
    assert 'value="바뀐 이름"' in _text(refused) and _rows(_text(refused))[:len(filled)] == filled

    added = filled + [("meals", "조리실 위생 점검표를 매일 기록하는가")]
    assert client.post(path, data=_submitted(added, name="바뀐 이름")).status_code == 303
    saved = [r for r in _rows(_text(client.get(path))) if r[1]]
    assert len(saved) == len(filled) + 1 and ("meals", "조리실 위생 점검표를 매일 기록하는가") in saved

    removed = client.post(path, data=_submitted(saved, name="바뀐 이름", remove="1"))
    assert removed.status_code == 303
    after = [r for r in _rows(_text(client.get(path))) if r[1]]
    assert after == saved[1:]
    off = client.post(path, data=_submitted(after, name="바뀐 이름", active=False))
    assert off.status_code == 303
    assert "사용 안 함" in _text(client.get("/oversight/checklists"))


def test_checklists_are_the_inspectors_own(w, as_user):
    with w.acting(w.city, w.inspector):
        template = checklists.copy_default("elderly", w.inspector).public_id
    for user in (w.staff_a, w.province_staff):
        assert as_user(user).get("/oversight/checklists").status_code == 403
    for user in (w.other_inspector, w.staff_a, w.province_staff, w.ngo_worker):
        client = as_user(user)
        assert client.get(f"/oversight/checklists/{template}").status_code == 404
        assert client.post(f"/oversight/checklists/{template}", data=_submitted([("safety", "침입")])).status_code == 404
    refused = as_user(w.other_inspector).post("/oversight/checklists", data={"source": f"template:{template}"})
    assert refused.status_code == 404


# -- administrative sanctions ----------------------------------------------------------------------------------

SANCTION_FORM = {"sanction_type": "fine", "legal_basis": "사회복지사업법 제58조", "reason": "보조금 목적 외 사용",
                 "decided_on": "2026-02-02", "effective_from": "2026-02-03", "appeal_status": "none"}


def test_a_sanction_is_recorded_with_its_findings_and_corrected_by_a_new_entry(w, as_user, app):
    _inspection, finding_ids, _actions = w.conduct(w.facility_a)
    client = as_user(w.inspector)
    new = f"/oversight/facilities/{w.facility_a.public_id}/sanctions/new"
    form_page = _text(client.get(new))
    assert "인력 배치기준 미달" in form_page and "소방훈련 기록 없음" in form_page
    refused = client.post(new, data={**SANCTION_FORM, "findings": finding_ids[:1]})
    assert refused.status_code == 422 and 'id="amount-error"' in _text(refused)
    assert 'value="사회복지사업법 제58조"' in _text(refused)
    assert re.search(rf'value="{finding_ids[0]}"\s+checked', _text(refused))
    form = {**SANCTION_FORM, "amount": "3000000", "findings": finding_ids[:1], "submission_token": "s1"}
    first = client.post(new, data=form)
    assert first.status_code == 303 and client.post(new, data=form).headers["Location"] == first.headers["Location"]
    assert _count(app, w.city, Sanction) == 1
    original = first.headers["Location"]
    page = _text(client.get(original))
    assert "3,000,000원" in page and "인력 배치기준 미달" in page and "효력 중" in page
    assert f'href="{original}/correct"' in page

    prefilled = _text(client.get(f"{original}/correct"))
    assert 'value="3000000"' in prefilled and "정정 사유" in prefilled
    refused = client.post(f"{original}/correct", data={**SANCTION_FORM, "amount": "2000000"})
    assert refused.status_code == 422 and 'id="correction_reason-error"' in _text(refused)
    corrected = client.post(f"{original}/correct", data={**SANCTION_FORM, "amount": "2000000",
                                                          "correction_reason": "이의신청 일부 인용", "submission_token": "c1"})
    assert corrected.status_code == 303
    newest = corrected.headers["Location"]

    history = _text(client.get(f"/oversight/facilities/{w.facility_a.public_id}/sanctions"))
    table = _table(history, "sanction-history")
    assert table.count("<tr class=\"sanction-row") == 2 and table.count("sanction-row--superseded") == 1
    assert table.count('/correct"') == 1 and f'{newest}/correct"' in table  # 정정 only on the newest
    old_page = _text(client.get(original))
    assert "이 기록은 정정되었습니다" in old_page and f'{original}/correct"' not in old_page
    assert "3,000,000원" in old_page  # the recorded entry is as it was
    stale = client.get(f"{original}/correct")
    assert stale.status_code == 303 and stale.headers["Location"].endswith(newest)
    assert client.post(f"{original}/correct", data={**SANCTION_FORM, "amount": "1000000", "correction_reason": "또",
                                                     "submission_token": "c2"}).status_code == 409
    assert _count(app, w.city, Sanction) == 2
    in_force = _table(_text(client.get("/oversight/sanctions")), "sanctions-in-force")
    assert in_force.count('href="/oversight/sanctions/') == 1 and f'href="{newest}"' in in_force

    withdrawn = client.post(f"{newest}/correct", data={**SANCTION_FORM, "amount": "2000000", "withdraws": "1",
                                                        "correction_reason": "행정심판 취소 재결", "submission_token": "c3"})
    assert withdrawn.status_code == 303
    assert "효력 중인 행정처분이 없습니다" in _text(client.get("/oversight/sanctions"))


def test_the_facility_and_the_province_read_sanctions_and_correct_nothing(w, as_user):
    public_id = _record_sanction(w)
    path = f"/oversight/sanctions/{public_id}"
    for user in (w.staff_a, w.province_staff):
        client = as_user(user)
        page = _text(client.get(path))
        assert "개선명령" in page and "정정</a>" not in page
        assert "개선명령" in _text(client.get("/oversight/sanctions"))
        assert client.get(f"{path}/correct").status_code == 403
        assert client.post(f"{path}/correct", data={**SANCTION_FORM, "correction_reason": "x"}).status_code == 403
    assert "개선명령" not in _text(as_user(w.staff_b).get("/oversight/sanctions"))


# -- service evaluations -----------------------------------------------------------------------------------------

def _score_form(**scores):
    return {f"score-{code}": str(value) for code, value in {**SCORES, **scores}.items()}


def test_an_evaluation_cycle_is_created_and_results_recorded_with_total_grade_and_comparison(w, as_user, app):
    client = as_user(w.inspector)
    created = client.post("/oversight/evaluations", data={"year": "2025", "facility_type": "elderly",
                                                          "submission_token": "cy"})
    assert created.status_code == 303
    duplicate = client.post("/oversight/evaluations", data={"year": "2025", "facility_type": "elderly"})
    assert duplicate.status_code == 422 and 'id="year-error">이 연도와 시설 유형의 평가 주기가 이미 있습니다' in _text(duplicate)
    cycle_path = created.headers["Location"]
    page = _text(client.get(cycle_path))
    assert "0 / 3곳 기록" in page and "2025년 노인복지시설 평가" in page

    record = f"{cycle_path}/record"
    assert f'value="{w.facility_a.public_id}"' in _text(client.get(f"{record}?facility={w.facility_a.public_id}"))
    refused = client.post(record, data={"facility": w.facility_a.public_id, "evaluated_on": "2025-10-01",
                                        **_score_form(staff=25), "comment": "인력 관리 우수"})
    assert refused.status_code == 422
    assert 'id="score-staff-error">인적자원관리 점수를 0에서 20 사이로 입력하세요.' in _text(refused)
    assert "인력 관리 우수" in _text(refused) and 'value="25"' in _text(refused)
    form = {"facility": w.facility_a.public_id, "evaluated_on": "2025-10-01", **_score_form(staff=12.5),
            "submission_token": "ev"}
    done = client.post(record, data=form)
    assert done.status_code == 303 and client.post(record, data=form).headers["Location"] == done.headers["Location"]
    assert _count(app, w.city, Evaluation) == 1
    _evaluate(w, created.headers["Location"].rsplit("/", 1)[1], w.facility_b, programmes=30)  # 94: A
    result = _text(client.get(done.headers["Location"]))
    assert "등급 <strong>B</strong>" in result and "총점 85.5 / 100점 (85.5%)" in result
    assert "지역 평균" in result and "89.8%" in result  # (85.5 + 94) / 2, of the two it supervises

    edit = done.headers["Location"] + "/edit"
    assert client.post(edit, data={"evaluated_on": "2025-10-01", **_score_form()}).status_code == 303
    assert "등급 <strong>A</strong>" in _text(client.get(done.headers["Location"]))
    assert "2 / 3곳 기록" in _text(client.get(cycle_path))


def test_the_facility_reads_its_own_evaluations_without_others_average(w, as_user):
    cycle = _cycle(w)
    mine, theirs = _evaluate(w, cycle, w.facility_a, programmes=20), _evaluate(w, cycle, w.facility_b)
    client = as_user(w.staff_a)
    page = _text(client.get(f"/oversight/evaluations/{mine}"))
    assert "등급 <strong>B</strong>" in page and "지역 평균" not in page and "결과 고치기" not in page
    history = _text(client.get(f"/oversight/facilities/{w.facility_a.public_id}/evaluations"))
    assert "2025년" in history and "지역 같은 유형 평균" not in history
    assert client.get(f"/oversight/evaluations/{theirs}").status_code == 404
    assert client.get(f"/oversight/evaluations/cycles/{cycle}").status_code == 404
    assert client.get("/oversight/evaluations").status_code == 403
    assert client.post(f"/oversight/evaluations/{mine}/edit", data=_score_form()).status_code == 403

    province = as_user(w.province_staff)
    assert "지역 같은 유형 평균" in _text(province.get(f"/oversight/facilities/{w.facility_a.public_id}/evaluations"))
    cycle_page = _text(province.get(f"/oversight/evaluations/cycles/{cycle}"))
    assert "2 / 3곳 기록" in cycle_page and "결과 기록" not in cycle_page
    assert province.get(f"/oversight/evaluations/cycles/{cycle}/record").status_code == 403


# -- the menu -------------------------------------------------------------------------------------------------

def test_the_menu_offers_oversight_to_inspectors_and_to_facilities_and_provinces_with_records(w, as_user, make):
    def menu(user):
        return 'href="/oversight"' in _text(as_user(user).get("/"))

    assert menu(w.inspector) and menu(w.staff_a) and menu(w.province_staff)
    assert not menu(w.ngo_worker) and not menu(w.far_staff)
    assert not menu(make.member(make.tenant(kind=TenantKind.FACILITY), roles=["tenant_admin"]))


# -- every other tenant: 404 on every object route ------------------------------------------------------------

def _objects(w):
    _inspection, finding_ids, _actions = w.conduct(w.facility_a)
    cycle = _cycle(w)
    with w.acting(w.city, w.inspector):
        template = checklists.copy_default("elderly", w.inspector).public_id
    return {"facility": w.facility_a.public_id, "sanction": _record_sanction(w, findings=finding_ids),
            "cycle": cycle, "evaluation": _evaluate(w, cycle, w.facility_a), "template": template}


ROUTES = [("GET", "/oversight/facilities/{facility}"), ("GET", "/oversight/facilities/{facility}/edit"),
          ("POST", "/oversight/facilities/{facility}/edit"), ("POST", "/oversight/facilities/{facility}/link"),
          ("POST", "/oversight/facilities/{facility}/close"), ("GET", "/oversight/facilities/{facility}/status"),
          ("POST", "/oversight/facilities/{facility}/status"), ("GET", "/oversight/facilities/{facility}/sanctions"),
          ("GET", "/oversight/facilities/{facility}/sanctions/new"),
          ("POST", "/oversight/facilities/{facility}/sanctions/new"),
          ("GET", "/oversight/facilities/{facility}/evaluations"), ("GET", "/oversight/sanctions/{sanction}"),
          ("GET", "/oversight/sanctions/{sanction}/correct"), ("POST", "/oversight/sanctions/{sanction}/correct"),
          ("GET", "/oversight/evaluations/cycles/{cycle}"), ("GET", "/oversight/evaluations/cycles/{cycle}/record"),
          ("POST", "/oversight/evaluations/cycles/{cycle}/record"), ("GET", "/oversight/evaluations/{evaluation}"),
          ("GET", "/oversight/evaluations/{evaluation}/edit"), ("POST", "/oversight/evaluations/{evaluation}/edit"),
          ("GET", "/oversight/checklists/{template}"), ("POST", "/oversight/checklists/{template}")]
ATTACK = {"name": "침입", "residents": "1", "staff_count": "1", "closed_on": "2026-01-01", "facility_tenant": "",
          **SANCTION_FORM, "amount": "1", "correction_reason": "침입", "withdraws": "1", "evaluated_on": "2025-10-01",
          **{f"score-{code}": "0" for code in SCORES}, "item_area": ["safety"], "item_text": ["침입"]}


@pytest.mark.parametrize("who", ["other_inspector", "far_staff", "ngo_worker", "staff_b"])
def test_every_other_tenant_gets_404_on_every_object_route_and_changes_nothing(w, as_user, app, who):
    objects = _objects(w)
    before = _state(app, w)
    client = as_user(getattr(w, who))
    for method, path in ROUTES:
        url = path.format(**objects)
        response = client.open(url, method=method, data=ATTACK)
        assert response.status_code == 404, (who, method, url)
        assert "햇살요양원" not in _text(response)
    assert _state(app, w) == before


def _state(app, w):
    with app.app_context(), acting_as(w.city.id, None):
        facility = db.session.get(Facility, w.facility_a.id)
        return (facility.name, facility.closed_on, facility.facility_tenant_id,
                *(db.session.scalar(select(func.count()).select_from(m))
                  for m in (FacilityStatus, Sanction, Evaluation, EvaluationCycle, ChecklistTemplate)),
                db.session.scalar(select(Evaluation.total)))


def test_the_overview_takes_the_same_queries_for_more_facilities_actions_and_sanctions(w, as_user, app):
    from .helpers import count_queries

    past = clock.today() - timedelta(days=40)
    w.conduct(w.facility_a, conducted_on=past, due_on=past + timedelta(days=10))
    _record_sanction(w)
    client = as_user(w.inspector)

    def queries():
        client.get("/oversight")  # warm up
        with app.app_context(), count_queries() as counted:
            assert client.get("/oversight").status_code == 200
        return counted()

    few = queries()
    for n in range(5):
        facility = w.facility(f"추가요양원{n}", f"제2022-{n}호")
        w.conduct(facility, findings=("급식 위생 미흡",), conducted_on=past, due_on=past + timedelta(days=10))
        _record_sanction(w, facility)
        with w.acting(w.city, w.inspector):
            service.report_status(service.get_facility_or_404(facility.public_id),
                                  {"residents": 20, "staff_count": 9}, w.inspector)
    many = queries()
    assert many == few
