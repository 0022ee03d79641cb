"""Checklist templates are the municipality's own copies: of a platform default or of one of its
templates; editing one changes neither the default, nor another municipality's, nor a past
inspection (which copied the items when it started)."""
from __future__ import annotations

import pytest
from werkzeug.exceptions import NotFound

from hanaro.core import clock
from hanaro.core.rules import RuleViolation
from hanaro.oversight import checklists, inspections, service
from hanaro.oversight.models import Area, FacilityType
from hanaro.oversight.states import WrongSide


@pytest.fixture
def w(make):
    return make.oversight_world()


def test_every_facility_type_has_a_default_with_items_in_several_areas():
    for facility_type in FacilityType:
        default = checklists.DEFAULTS[facility_type.value]
        assert default.facility_type is facility_type and len(default.items) >= 15
        assert {area for area, _text, _basis in default.items} >= {Area.STAFFING, Area.SAFETY, Area.ACCOUNTING,
                                                                     Area.RIGHTS}
    assert any(area is Area.MEALS for area, *_ in checklists.DEFAULTS["elderly"].items)
    assert not any(area is Area.MEALS for area, *_ in checklists.DEFAULTS["community_centre"].items)


def test_a_copy_of_a_default_is_the_municipalitys_own_and_editing_it_leaves_the_default_alone(w):
    default_items = list(checklists.DEFAULTS["elderly"].items)
    with w.acting(w.city, w.inspector):
        template = checklists.copy_default("elderly", w.inspector)
        assert template.name == "노인복지시설 지도점검표 (기본)" and template.source_key == "elderly"
        assert [(i.area, i.text) for i in template.items] == [(a, t) for a, t, _ in default_items]
        checklists.save_items(template, [{"area": "safety", "text": "비상구 적치물 없음"},
                                         {"area": "", "text": ""},  # a spare blank line of the form
                                         {"area": "rights", "text": "CCTV 설치 동의", "guidance": "노인복지법"}])
    assert list(checklists.DEFAULTS["elderly"].items) == default_items
    with w.acting(w.city, w.inspector):
        edited = checklists.get_template_or_404(template.public_id)
        assert [(i.position, i.area, i.text) for i in edited.items] == [
            (1, Area.SAFETY, "비상구 적치물 없음"), (2, Area.RIGHTS, "CCTV 설치 동의")]
    with w.acting(w.other_city, w.other_inspector):  # another municipality: not even there
        with pytest.raises(NotFound):
            checklists.get_template_or_404(template.public_id)
        assert checklists.list_templates() == []


def test_copying_a_template_copies_its_items_not_a_reference(w):
    with w.acting(w.city, w.inspector):
        original = checklists.copy_default("child", w.inspector)
        copy = checklists.copy_template(original, w.inspector, name="2027 아동시설 점검표")
        checklists.remove_item(copy, 1)
        checklists.add_item(copy, {"area": "meals", "text": "알레르기 식단 관리"})
        assert copy.copied_from_id == original.id and copy.name == "2027 아동시설 점검표"
        assert len(checklists.get_template_or_404(original.public_id).items) == len(checklists.DEFAULTS["child"].items)
        assert [i.position for i in copy.items] == list(range(1, len(copy.items) + 1))
        assert copy.items[-1].text == "알레르기 식단 관리"


def test_bad_template_rows_are_refused_with_the_row_named(w):
    with w.acting(w.city, w.inspector):
        template = checklists.copy_default("elderly", w.inspector)
        with pytest.raises(RuleViolation, match="점검 내용을 입력하세요") as refused:
            checklists.save_items(template, [{"area": "safety", "text": "소화기"}, {"area": "rights", "text": " "}])
        assert refused.value.field == "items-2-text"
        with pytest.raises(RuleViolation, match="영역을 고르세요") as refused:
            checklists.save_items(template, [{"area": "garden", "text": "정원"}])
        assert refused.value.field == "items-1-area"
        with pytest.raises(RuleViolation, match="하나 이상"):
            checklists.save_items(template, [])
        with pytest.raises(RuleViolation, match="기본 점검표"):
            checklists.copy_default("zoo", w.inspector)


def test_facilities_and_ngos_keep_no_templates(w):
    for tenant, user in ((w.home_a, w.staff_a), (w.ngo, w.ngo_worker)):
        with w.acting(tenant, user), pytest.raises(WrongSide):
            checklists.copy_default("elderly", user)


def test_an_inspection_keeps_the_checklist_it_started_with_when_the_template_changes_later(w):
    with w.acting(w.city, w.inspector):
        template = checklists.copy_default("elderly", w.inspector)
        facility = service.get_facility_or_404(w.facility_a.public_id)
        past = inspections.plan(facility, {"kind": "regular", "planned_on": clock.today(), "template": template.public_id,
                                           "inspectors": [w.inspector.public_id]}, w.inspector)
        upcoming = inspections.plan(facility, {"kind": "regular", "planned_on": clock.today(),
                                               "template": template.public_id, "inspectors": [w.inspector.public_id]},
                                    w.inspector)
        inspections.start(past, {"conducted_on": clock.today()}, w.inspector)
        before = [(i.area, i.text) for i in inspections.items(past)]
        checklists.save_items(template, [{"area": "safety", "text": "새 항목만 남김"}])
        checklists.update_template(template, {"name": "고친 점검표"})
        inspections.start(upcoming, {"conducted_on": clock.today()}, w.inspector)
    with w.acting(w.city, w.inspector):
        past = inspections.get_inspection_or_404(past.public_id)
        assert [(i.area, i.text) for i in inspections.items(past)] == before and len(before) > 1
        assert past.checklist_name == "노인복지시설 지도점검표 (기본)"
        later = inspections.get_inspection_or_404(upcoming.public_id)
        assert [i.text for i in inspections.items(later)] == ["새 항목만 남김"]
        assert later.checklist_name == "고친 점검표"


def test_a_template_of_another_type_or_out_of_use_is_not_offered(w):
    with w.acting(w.city, w.inspector):
        child = checklists.copy_default("child", w.inspector)
        elderly = checklists.copy_default("elderly", w.inspector)
        checklists.update_template(elderly, {"active": False})
        facility = service.get_facility_or_404(w.facility_a.public_id)
        for template, message in ((child, "시설 유형"), (elderly, "사용 중인")):
            with pytest.raises(RuleViolation, match=message) as refused:
                inspections.plan(facility, {"kind": "regular", "planned_on": clock.today(),
                                            "template": template.public_id, "inspectors": [w.inspector.public_id]},
                                 w.inspector)
            assert refused.value.field == "template"
        assert [t.name for t in checklists.list_templates(active_only=True)] == [child.name]
