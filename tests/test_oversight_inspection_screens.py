"""Inspection screens through the test client: an inspector plans from a facility, starts, records
results with notes and photos, adds an item and findings with corrective actions, completes (refused
while items lack results), plans a follow-up and prints the report; the facility and the province
read; another municipality, another facility and an NGO get 404; the municipality's staff without
the inspector role get 403; bad input keeps what was typed; double submits create one; stale pages are refused."""
from __future__ import annotations

import io
import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import func, select

from hanaro.core import clock
from hanaro.core.db import db
from hanaro.oversight import checklists
from hanaro.oversight.models import (
    CorrectiveAction, Finding, Inspection, InspectionItem, InspectionStatus, ItemResult, OversightFile,
)
from hanaro.tenancy.context import acting_as

from .helpers import login

JPEG = b"\xff\xd8\xff\xe0" + b"0" * 100


@pytest.fixture
def w(app, make):
    world = make.oversight_world()
    world.app = app
    world.viewer = make.member(world.city, roles=["viewer"], name="조회만")
    world.caseworker = make.member(world.city, roles=["case_manager"], name="사례담당")
    with world.acting(world.city, world.inspector):
        world.template = checklists.copy_default("elderly", world.inspector).public_id
    return world


def _as(w, user):
    browser = w.app.test_client()
    assert login(browser, user.email).status_code == 303
    return browser


def _text(response) -> str:
    return unescape(response.get_data(as_text=True))


def _tokens():
    n = 0
    while True:
        n += 1
        yield f"tok-{n}"


TOKENS = _tokens()


def _plan(w, browser=None, facility=None, **values):
    facility = facility or w.facility_a
    data = {"kind": "regular", "planned_on": (clock.today() + timedelta(days=7)).isoformat(),
            "inspectors": [w.inspector.public_id, w.inspector2.public_id], "template": w.template,
            "submission_token": next(TOKENS), **values}
    return (browser or _as(w, w.inspector)).post(f"/oversight/inspections/facility/{facility.public_id}/new",
                                                 data={k: v for k, v in data.items() if v is not None})


def _public_id(response) -> str:
    assert response.status_code == 303, re.findall(r'role="alert"[^>]*>([^<]+)<', _text(response))
    return response.headers["Location"].split("#")[0].rsplit("/", 1)[-1]


def _row(w, public_id) -> Inspection:
    with w.app.app_context(), acting_as(w.city.id, None):
        inspection = db.session.scalar(select(Inspection).where(Inspection.public_id == public_id))
        db.session.expunge(inspection)
        return inspection


def _items(w, public_id) -> list[InspectionItem]:
    with w.app.app_context(), acting_as(w.city.id, None):
        inspection_id = db.session.scalar(select(Inspection.id).where(Inspection.public_id == public_id))
        rows = list(db.session.scalars(select(InspectionItem).where(InspectionItem.inspection_id == inspection_id)
                                       .order_by(InspectionItem.position)))
        for row in rows:
            db.session.expunge(row)
        return rows


def _count(w, model, *where) -> int:
    with w.app.app_context(), acting_as(w.city.id, None):
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _started(w, browser):
    public_id = _public_id(_plan(w, browser))
    response = browser.post(f"/oversight/inspections/{public_id}/start",
                            data={"conducted_on": clock.today().isoformat(), "version": _row(w, public_id).version})
    assert response.status_code == 303
    return public_id


def _all_compliant(w, public_id) -> dict:
    return {f"result-{i.position}": "compliant" for i in _items(w, public_id)}


# -- planning ---------------------------------------------------------------------------------------------

def test_an_inspector_plans_an_inspection_from_a_facility_and_the_facility_is_told(w):
    browser = _as(w, w.inspector)
    listing = browser.get(f"/oversight/inspections/facility/{w.facility_a.public_id}")
    assert listing.status_code == 200 and "점검 계획" in _text(listing)
    form = _text(browser.get(f"/oversight/inspections/facility/{w.facility_a.public_id}/new"))
    assert '<legend class="form-legend">점검 종류' in form and "김점검" in form and "이점검" in form
    assert "노인복지시설 기본 점검표" in form or "점검표" in form
    public_id = _public_id(_plan(w, browser))
    page = _text(browser.get(f"/oversight/inspections/{public_id}"))
    assert "상태: 계획" in page and "김점검, 이점검" in page and 'id="start-form"' in page
    assert f'href="/oversight/facilities/{w.facility_a.public_id}"' in page
    facility_page = _text(_as(w, w.staff_a).get(f"/oversight/inspections/{public_id}"))
    assert "상태: 계획" in facility_page and 'id="start-form"' not in facility_page


def test_bad_plan_input_is_shown_next_to_the_fields_and_kept(w):
    response = _plan(w, kind=None, planned_on="2026-13-40", inspectors=[])
    page = _text(response)
    assert response.status_code == 422
    assert "날짜를 YYYY-MM-DD 형식으로 입력하세요." in page and 'value="2026-13-40"' in page
    response = _plan(w, kind=None, inspectors=[w.inspector.public_id])
    assert response.status_code == 422 and "점검 종류를 고르세요." in _text(response)
    response = _plan(w, inspectors=[])
    assert response.status_code == 422 and "점검할 담당자를 한 명 이상 고르세요." in _text(response)
    assert 'aria-invalid="true"' in _text(response)
    assert _count(w, Inspection) == 0


def test_a_double_submitted_plan_creates_one_inspection(w):
    browser = _as(w, w.inspector)
    first = _plan(w, browser, submission_token="same")
    second = _plan(w, browser, submission_token="same")
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert _count(w, Inspection) == 1


def test_the_plan_is_edited_and_a_stale_edit_is_refused(w):
    browser = _as(w, w.inspector)
    public_id = _public_id(_plan(w, browser))
    version = _row(w, public_id).version
    edit = _text(browser.get(f"/oversight/inspections/{public_id}/edit"))
    assert 'name="version"' in edit and 'checked' in edit
    new_day = (clock.today() + timedelta(days=10)).isoformat()
    response = browser.post(f"/oversight/inspections/{public_id}/edit", data={
        "planned_on": new_day, "inspectors": [w.inspector2.public_id], "template": w.template, "version": version})
    assert response.status_code == 303 and _row(w, public_id).planned_on.isoformat() == new_day
    stale = browser.post(f"/oversight/inspections/{public_id}/edit", data={
        "planned_on": clock.today().isoformat(), "inspectors": [w.inspector.public_id], "version": version})
    assert stale.status_code == 409 and "다른 사람이 방금 이 점검을 바꾸었습니다" in _text(stale)
    assert _row(w, public_id).planned_on.isoformat() == new_day


def test_starting_from_a_page_a_colleague_changed_meanwhile_is_refused(w):
    first, second = _as(w, w.inspector), _as(w, w.inspector2)
    public_id = _public_id(_plan(w, first))
    seen = _row(w, public_id).version  # the colleague's page shows this version
    assert first.post(f"/oversight/inspections/{public_id}/edit", data={
        "planned_on": clock.today().isoformat(), "inspectors": [w.inspector.public_id], "version": seen}).status_code == 303
    late = second.post(f"/oversight/inspections/{public_id}/start",
                       data={"conducted_on": clock.today().isoformat(), "version": seen})
    assert late.status_code == 409 and "다른 사람이 방금 이 점검을 바꾸었습니다" in _text(late)
    assert 'id="start-form"' in _text(late) and _row(w, public_id).status is InspectionStatus.PLANNED


# -- conducting -------------------------------------------------------------------------------------------

def test_conducting_the_checklist_by_area_with_results_notes_and_photos(w):
    browser = _as(w, w.inspector)
    public_id = _started(w, browser)
    page = _text(browser.get(f"/oversight/inspections/{public_id}"))
    assert page.count('<fieldset class="form-group" id="result-') == len(_items(w, public_id))
    assert '<legend class="form-legend">1. ' in page and 'type="radio"' in page and ">적합</label>" in page
    assert "<h3 id=\"area-staffing\">인력</h3>" in page
    data = {**_all_compliant(w, public_id), "result-2": "not_applicable", "note-1": "근무표 확인함",
            "photo-1": (io.BytesIO(JPEG), "현장.jpg"), "submission_token": next(TOKENS)}
    response = browser.post(f"/oversight/inspections/{public_id}/checklist", data=data,
                            content_type="multipart/form-data")
    assert response.status_code == 303
    items = _items(w, public_id)
    assert items[0].result is ItemResult.COMPLIANT and items[0].note == "근무표 확인함"
    assert items[1].result is ItemResult.NOT_APPLICABLE
    page = _text(browser.get(f"/oversight/inspections/{public_id}"))
    photo = re.search(r'href="(/oversight/inspections/[^"]+/photos/[^"]+)"', page).group(1)
    download = browser.get(photo)
    assert download.status_code == 200 and download.data == JPEG
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Disposition"].startswith("attachment;")


def test_a_bad_photo_refuses_the_save_and_keeps_the_typed_results(w):
    browser = _as(w, w.inspector)
    public_id = _started(w, browser)
    data = {"result-1": "non_compliant", "note-1": "소화기 압력 미달", "photo-1": (io.BytesIO(b"MZ..."), "virus.exe"),
            "submission_token": next(TOKENS)}
    response = browser.post(f"/oversight/inspections/{public_id}/checklist", data=data,
                            content_type="multipart/form-data")
    page = _text(response)
    assert response.status_code == 422 and "JPG, PNG 파일만 올릴 수 있습니다." in page
    assert "소화기 압력 미달" in page
    assert re.search(r'id="result-1-2" name="result-1" value="non_compliant" checked', page)
    assert _items(w, public_id)[0].result is None and _count(w, OversightFile) == 0
    data = {**data, "photo-1": (io.BytesIO(b"<html><script>x()</script></html>"), "소화기.jpg"),
            "submission_token": next(TOKENS)}
    disguised = browser.post(f"/oversight/inspections/{public_id}/checklist", data=data,
                             content_type="multipart/form-data")
    page = _text(disguised)
    assert disguised.status_code == 422 and "파일 내용이 확장자와 맞지 않습니다." in page and "소화기 압력 미달" in page
    assert _count(w, OversightFile) == 0


def test_extra_items_and_findings_with_corrective_actions(w):
    browser = _as(w, w.inspector)
    public_id = _started(w, browser)
    before = len(_items(w, public_id))
    response = browser.post(f"/oversight/inspections/{public_id}/items", data={
        "area": "rights", "text": "야간 근무 인원 확인", "submission_token": next(TOKENS)})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"#item-{before + 1}")
    refused = browser.post(f"/oversight/inspections/{public_id}/findings", data={
        "item": "1", "description": "요양보호사 배치 부족", "requires_action": "on", "requirement": "",
        "due_on": "", "submission_token": next(TOKENS)})
    page = _text(refused)
    assert refused.status_code == 422 and "시정할 내용을 입력하세요." in page and "요양보호사 배치 부족" in page
    assert _count(w, Finding) == 0
    due = (clock.today() + timedelta(days=30)).isoformat()
    token = next(TOKENS)
    data = {"item": "1", "description": "요양보호사 배치 부족", "requires_action": "on",
            "requirement": "요양보호사 충원", "due_on": due, "submission_token": token}
    assert browser.post(f"/oversight/inspections/{public_id}/findings", data=data).status_code == 303
    assert browser.post(f"/oversight/inspections/{public_id}/findings", data=data).status_code == 303
    assert browser.post(f"/oversight/inspections/{public_id}/findings", data={
        "area": "safety", "description": "비상구 물건 적치", "submission_token": next(TOKENS)}).status_code == 303
    assert _count(w, Finding) == 2 and _count(w, CorrectiveAction) == 1
    assert _items(w, public_id)[0].result is ItemResult.NON_COMPLIANT
    page = _text(browser.get(f"/oversight/inspections/{public_id}"))
    assert "요양보호사 충원" in page and f"기한 {due}" in page and "시정 요구 없음" in page


def test_completing_is_refused_with_the_reason_while_items_lack_results(w):
    browser = _as(w, w.inspector)
    public_id = _started(w, browser)
    version = _row(w, public_id).version
    refused = browser.post(f"/oversight/inspections/{public_id}/complete", data={"summary": "양호", "version": version})
    n = len(_items(w, public_id))
    assert refused.status_code == 422
    assert f"결과를 입력하지 않은 점검 항목이 {n}개 있습니다" in _text(refused)
    assert "양호" in _text(refused) and _row(w, public_id).status is InspectionStatus.IN_PROGRESS
    browser.post(f"/oversight/inspections/{public_id}/checklist",
                 data={**_all_compliant(w, public_id), "submission_token": next(TOKENS)})
    done = browser.post(f"/oversight/inspections/{public_id}/complete", data={"summary": "양호", "version": version})
    assert done.status_code == 303 and _row(w, public_id).status is InspectionStatus.COMPLETED
    again = browser.post(f"/oversight/inspections/{public_id}/complete", data={"version": _row(w, public_id).version})
    assert again.status_code == 409 and "지금 상태(완료)에서는" in _text(again)


def test_cancelling_needs_a_reason_and_then_says_why(w):
    browser = _as(w, w.inspector)
    public_id = _public_id(_plan(w, browser))
    version = _row(w, public_id).version
    refused = browser.post(f"/oversight/inspections/{public_id}/cancel", data={"reason": "", "version": version})
    assert refused.status_code == 422 and "취소 사유를 입력하세요." in _text(refused)
    done = browser.post(f"/oversight/inspections/{public_id}/cancel", data={"reason": "시설 휴관", "version": version})
    assert done.status_code == 303
    page = _text(browser.get(f"/oversight/inspections/{public_id}"))
    assert "상태: 취소" in page and "시설 휴관" in page and 'id="cancel-reason"' not in page


def test_a_follow_up_is_planned_from_open_findings(w):
    inspection, findings, _actions = w.conduct(w.facility_a)
    browser = _as(w, w.inspector)
    page = _text(browser.get(f"/oversight/inspections/{inspection}"))
    assert "후속 점검 계획" in page and "인력 배치기준 미달" in page
    response = browser.post(f"/oversight/inspections/{inspection}/follow-up", data={
        "findings": [findings[0]], "planned_on": (clock.today() + timedelta(days=40)).isoformat(),
        "inspectors": [w.inspector.public_id], "submission_token": next(TOKENS)})
    follow_up = _public_id(response)
    row = _row(w, follow_up)
    assert row.kind.value == "follow_up" and len(row.source_finding_ids) == 1
    assert "후속 점검 대상" in _text(browser.get(f"/oversight/inspections/{follow_up}"))


# -- the report --------------------------------------------------------------------------------------------

def test_the_report_is_a_printable_page_with_items_findings_counts_and_signatures(w):
    inspection, _findings, _actions = w.conduct(w.facility_a)
    for user in (w.inspector, w.staff_a, w.province_staff):
        response = _as(w, user).get(f"/oversight/inspections/{inspection}/report")
        page = _text(response)
        assert response.status_code == 200
        assert "지도점검 결과서" in page and "햇살요양원" in page and "인력 배치기준 미달 시정" in page
        assert 'class="site-nav"' not in page and "data-print" in page and "인쇄 / PDF로 저장" in page
        assert "css/report.css" in page and "(서명)" in page and "김점검" in page
        counts = re.search(r'id="report-count-table".*?<tbody><tr>(.*?)</tr>', page, re.S).group(1)
        numbers = [int(n) for n in re.findall(r"<td>(\d+)</td>", counts)]
        total = len(_items(w, inspection))
        assert numbers == [total, total - 2, 2, 0, 0, 2, 2, 2]


# -- who may do what ----------------------------------------------------------------------------------------

def test_the_facility_and_the_province_read_and_cannot_write(w):
    inspection, _findings, _actions = w.conduct(w.facility_a, complete=False)
    for user in (w.staff_a, w.province_staff):
        browser = _as(w, user)
        page = _text(browser.get(f"/oversight/inspections/{inspection}"))
        assert "인력 배치기준 미달" in page and 'action="/oversight/inspections/' not in page
        for path in ("checklist", "findings", "items", "complete", "cancel"):
            response = browser.post(f"/oversight/inspections/{inspection}/{path}", data={"reason": "x"})
            assert response.status_code == 403, (user.display_name, path)
    assert _row(w, inspection).status is InspectionStatus.IN_PROGRESS


def test_municipal_staff_without_the_inspector_role_get_403_on_reads_and_writes(w):
    public_id = _public_id(_plan(w))
    for user in (w.viewer, w.caseworker):
        browser = _as(w, user)
        assert browser.get(f"/oversight/inspections/{public_id}").status_code == 403
        assert browser.get(f"/oversight/inspections/facility/{w.facility_a.public_id}/new").status_code == 403
        assert _plan(w, browser).status_code == 403
        assert browser.post(f"/oversight/inspections/{public_id}/start",
                            data={"conducted_on": clock.today().isoformat()}).status_code == 403
    assert _row(w, public_id).status is InspectionStatus.PLANNED and _count(w, Inspection) == 1


def test_outsiders_get_404_on_every_inspection_route(w):
    inspection, _findings, _actions = w.conduct(w.facility_a, complete=False)
    outsiders = (w.other_inspector, w.staff_b, w.ngo_worker, w.far_staff)
    gets = [f"/oversight/inspections/{inspection}", f"/oversight/inspections/{inspection}/report",
            f"/oversight/inspections/{inspection}/edit", f"/oversight/inspections/{inspection}/photos/x",
            f"/oversight/inspections/facility/{w.facility_a.public_id}",
            f"/oversight/inspections/facility/{w.facility_a.public_id}/new"]
    posts = [f"/oversight/inspections/{inspection}/{p}" for p in
             ("start", "checklist", "items", "findings", "complete", "cancel", "follow-up", "edit")]
    for user in outsiders:
        browser = _as(w, user)
        for path in gets:
            response = browser.get(path)
            assert response.status_code in (403, 404), (user.email, path)
            if response.status_code == 403:  # the role check runs first for non-inspectors
                assert "/new" in path or "/edit" in path
            assert "인력 배치기준" not in _text(response)
        for path in posts:
            assert browser.post(path, data={"reason": "침입", "description": "침입"}).status_code in (403, 404)
    inspector = _as(w, w.other_inspector)
    for path in gets + posts:
        response = inspector.get(path) if path in gets else inspector.post(path, data={"reason": "침입"})
        assert response.status_code == 404, path
    assert _row(w, inspection).status is InspectionStatus.IN_PROGRESS and _count(w, Finding) == 2


def test_a_special_inspection_is_404_for_the_facility_until_it_starts(w):
    browser = _as(w, w.inspector)
    public_id = _public_id(_plan(w, browser, kind="special"))
    facility = _as(w, w.staff_a)
    assert facility.get(f"/oversight/inspections/{public_id}").status_code == 404
    assert public_id not in _text(facility.get(f"/oversight/inspections/facility/{w.facility_a.public_id}"))
    browser.post(f"/oversight/inspections/{public_id}/start", data={"conducted_on": clock.today().isoformat()})
    assert facility.get(f"/oversight/inspections/{public_id}").status_code == 200


def test_the_upcoming_list_shows_planned_and_running_inspections_of_what_one_sees(w):
    planned = _public_id(_plan(w))
    running, _f, _a = w.conduct(w.facility_b, findings=(), complete=False)
    page = _text(_as(w, w.inspector).get("/oversight/inspections"))
    assert planned in page and running in page
    facility_b = _text(_as(w, w.staff_b).get("/oversight/inspections"))
    assert running in facility_b and planned not in facility_b
    assert planned not in _text(_as(w, w.ngo_worker).get("/oversight/inspections"))


# -- query counts --------------------------------------------------------------------------------------------

def _queries(w, browser, path) -> int:
    from .helpers import count_queries

    browser.get(path)  # warm up
    with w.app.app_context(), count_queries() as queries:
        assert browser.get(path).status_code == 200
    return queries()


def test_the_inspection_page_report_and_action_list_do_not_grow_a_query_per_finding(w):
    few, _f, _a = w.conduct(w.facility_a, findings=("하나", "둘"), complete=False)
    many, _f, _a = w.conduct(w.facility_b, findings=("하나", "둘", "셋", "넷", "다섯", "여섯"), complete=False)
    browser = _as(w, w.inspector)
    for path in ("/oversight/inspections/{}", "/oversight/inspections/{}/report"):
        assert _queries(w, browser, path.format(few)) == _queries(w, browser, path.format(many)), path
    two = _queries(w, browser, "/oversight/actions")
    w.conduct(w.facility_paper, findings=("셋", "넷", "다섯"))
    assert _queries(w, browser, "/oversight/actions") == two
