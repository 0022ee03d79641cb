"""The inspection, report, corrective-action and evidence pages follow the facility pages' rule: the
supervising municipality's inspectors, the facility itself and the province read them; the
municipality's staff without the inspector role get 403, and a tenant of another kind gets 403 or
404 — never the record."""
from __future__ import annotations

from html import unescape

import pytest

from hanaro.oversight import actions, inspections

from .helpers import login

JPEG = b"\xff\xd8\xff\xe0" + b"0" * 100
PDF = b"%PDF-1.4 evidence"


@pytest.fixture
def w(app, make):
    world = make.oversight_world()
    world.app = app
    world.city_viewer = make.member(world.city, roles=["viewer"], name="시조회")
    world.city_caseworker = make.member(world.city, roles=["case_manager", "tenant_admin"], name="시사례관리")
    inspection, _findings, action_ids = world.conduct(world.facility_a, complete=False)
    with world.acting(world.city, world.inspector):
        photo = inspections.add_photo(inspections.get_inspection_or_404(inspection), 1, "현장.jpg", JPEG,
                                      world.inspector)
    with world.acting(world.home_a, world.staff_a):
        actions.act(actions.get_action_or_404(action_ids[0]), "answer", world.staff_a, {"answer": "인력 충원함"},
                    [("증빙.pdf", PDF)])
        evidence = next(iter(actions.evidence(actions.get_action_or_404(action_ids[0])).values()))[0].public_id
    world.paths = [
        f"/oversight/inspections/{inspection}", f"/oversight/inspections/{inspection}/report",
        f"/oversight/inspections/{inspection}/photos/{photo.public_id}",
        f"/oversight/inspections/facility/{world.facility_a.public_id}",
        f"/oversight/actions/{action_ids[0]}",
        f"/oversight/actions/{action_ids[0]}/files/{evidence}",
    ]
    return world


def _as(w, user):
    browser = w.app.test_client()
    assert login(browser, user.email).status_code == 303
    return browser


def _text(response) -> str:
    return unescape(response.get_data(as_text=True))


def test_the_inspector_the_facility_and_the_province_read_them(w):
    for user in (w.inspector, w.staff_a, w.province_staff):
        browser = _as(w, user)
        for path in w.paths:
            assert browser.get(path).status_code == 200, (user.display_name, path)


@pytest.mark.parametrize("who", ["city_viewer", "city_caseworker"])
def test_the_municipalitys_staff_without_the_inspector_role_get_403(w, who):
    browser = _as(w, getattr(w, who))
    for path in w.paths + ["/oversight/inspections", "/oversight/actions"]:
        response = browser.get(path)
        assert response.status_code == 403, (who, path)
        assert "인력 배치기준" not in _text(response) and "인력 충원함" not in _text(response)


def test_a_tenant_of_another_kind_gets_403_or_404(w):
    browser = _as(w, w.ngo_worker)
    for path in w.paths:
        response = browser.get(path)
        assert response.status_code in (403, 404), path
        assert "인력 배치기준" not in _text(response) and "인력 충원함" not in _text(response)
