"""Who sees oversight records, through every loader the screens use: the supervising municipality
and its province see them, the facility its own (not another facility's, nor the municipality's
templates and cycles), everyone else gets 404 — another municipality, another province, an NGO.
On PostgreSQL the same holds with the ORM filter switched off (RLS alone)."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.exceptions import NotFound

from hanaro.core import clock
from hanaro.oversight import actions, checklists, evaluations, files, inspections, sanctions, service
from hanaro.tenancy import orm_filter

from .conftest import BACKEND


@pytest.fixture
def w(make):
    return make.oversight_world()


@pytest.fixture
def records(w):
    """One of every record about facility A, by public id, with the loader that opens it."""
    inspection, finding_ids, action_ids = w.conduct(w.facility_a, complete=False)
    with w.acting(w.city, w.inspector):
        running = inspections.get_inspection_or_404(inspection)
        photo = inspections.add_photo(running, 1, "p.png", b"\x89PNG\r\n\x1a\n0", w.inspector).public_id
        inspections.complete(running, {}, w.inspector)
        cycle = evaluations.create_cycle({"year": 2025, "facility_type": "elderly"}, w.inspector)
        facility = service.get_facility_or_404(w.facility_a.public_id)
        evaluation = evaluations.record(cycle, facility, {"scores": {a["code"]: a["max_score"] for a in cycle.areas},
                                                          "evaluated_on": date(2025, 9, 1)}, w.inspector).public_id
        sanction = sanctions.record(facility, {"sanction_type": "improvement_order", "legal_basis": "근거",
                                               "reason": "사유", "decided_on": clock.today(),
                                               "effective_from": clock.today()}, w.inspector).public_id
        template = checklists.list_templates()[0].public_id
    with w.acting(w.home_a, w.staff_a):
        actions.act(actions.get_action_or_404(action_ids[0]), "answer", w.staff_a, {"answer": "조치"},
                    [("e.pdf", b"%PDF-1")])
        evidence = actions.evidence(actions.get_action_or_404(action_ids[0]))
        evidence_id = next(iter(evidence.values()))[0].public_id
    facility_records = {
        "facility": (service.get_facility_or_404, w.facility_a.public_id),
        "inspection": (inspections.get_inspection_or_404, inspection),
        "finding": (inspections.get_finding_or_404, finding_ids[0]),
        "action": (actions.get_action_or_404, action_ids[0]),
        "photo": (files.get_file_or_404, photo),
        "evidence": (files.get_file_or_404, evidence_id),
        "sanction": (sanctions.get_sanction_or_404, sanction),
        "evaluation": (evaluations.get_evaluation_or_404, evaluation),
    }
    municipality_records = {
        "cycle": (evaluations.get_cycle_or_404, cycle.public_id),
        "template": (checklists.get_template_or_404, template),
    }
    return facility_records, municipality_records


def _opens(w, tenant, user, loader, public_id) -> bool:
    with w.acting(tenant, user):
        try:
            loader(public_id)
            return True
        except NotFound:
            return False


def test_the_city_its_province_and_the_facility_open_the_facilitys_records(w, records):
    facility_records, municipality_records = records
    for name, (loader, public_id) in facility_records.items():
        assert _opens(w, w.city, w.inspector, loader, public_id), name
        assert _opens(w, w.province, w.province_staff, loader, public_id), name
        assert _opens(w, w.home_a, w.staff_a, loader, public_id), name
    assert _opens(w, w.province, w.province_staff, *municipality_records["cycle"])
    assert not _opens(w, w.province, w.province_staff, *municipality_records["template"])
    for name, (loader, public_id) in municipality_records.items():
        assert _opens(w, w.city, w.inspector, loader, public_id), name
        assert not _opens(w, w.home_a, w.staff_a, loader, public_id), name


@pytest.mark.parametrize("who", ["other_city", "far_province", "ngo", "home_b"])
def test_everyone_else_gets_404_from_every_loader(w, records, who):
    tenant, user = {"other_city": (w.other_city, w.other_inspector), "far_province": (w.far_province, w.far_staff),
                    "ngo": (w.ngo, w.ngo_worker), "home_b": (w.home_b, w.staff_b)}[who]
    facility_records, municipality_records = records
    for name, (loader, public_id) in {**facility_records, **municipality_records}.items():
        assert not _opens(w, tenant, user, loader, public_id), name


def test_a_facility_lists_only_its_own_records(w, records):
    w.conduct(w.facility_b, findings=("바다 지적",))
    with w.acting(w.home_b, w.staff_b):
        assert [r.facility.name for r in service.list_facilities(service.FacilityFilter())] == ["바다요양원"]
        assert {a.facility_id for a in actions.open_actions()} == {w.facility_b.id}
        assert inspections.upcoming(days=365) == [] and sanctions.recent() == []
    with w.acting(w.ngo, w.ngo_worker):
        assert service.list_facilities(service.FacilityFilter()) == [] and actions.open_actions() == []


def test_the_province_reads_but_a_municipality_of_another_province_does_not(w, records):
    with w.acting(w.province, w.province_staff):
        assert {r.facility.name for r in service.list_facilities(service.FacilityFilter())} == {
            "햇살요양원", "바다요양원", "종이요양원"}
        assert service.side_of(service.get_facility_or_404(w.facility_a.public_id)).value == "province"
    with w.acting(w.far_city):
        assert service.list_facilities(service.FacilityFilter()) == []


@pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL only")
def test_rls_alone_keeps_the_records_from_another_municipality_and_an_ngo(w, records):
    facility_records, municipality_records = records
    event.remove(Session, "do_orm_execute", orm_filter._filter_tenant_owned)
    try:
        for tenant, user in ((w.other_city, w.other_inspector), (w.ngo, w.ngo_worker), (w.home_b, w.staff_b)):
            for name, (loader, public_id) in {**facility_records, **municipality_records}.items():
                assert not _opens(w, tenant, user, loader, public_id), name
        assert _opens(w, w.home_a, w.staff_a, *facility_records["action"])  # and RLS is not simply shut
    finally:
        event.listen(Session, "do_orm_execute", orm_filter._filter_tenant_owned)
