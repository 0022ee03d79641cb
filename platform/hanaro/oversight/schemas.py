"""Forms of the facility-side oversight screens: facilities, status reports, checklist templates,
administrative sanctions and service evaluations. Korean messages next to each field; the services
add the rules that need the database (the area, duplicates, chains …).

Checklist items and evaluation scores are rows whose number depends on the record: the items come
as parallel lists (``item_area`` / ``item_text`` / ``item_guidance``, read by :func:`item_rows`
because blank cells must keep their place), the scores as one field per area (:func:`evaluation_form`).
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

from ..core.forms import FormSchema, email, length, one_of
from .evaluations import GRADES
from .models import AppealStatus, FacilityType, OperatorKind, SanctionType

PUBLIC_ID = length(max=32)
PHONE = validate.Regexp(r"^[0-9-]{9,13}$", error=_l("전화번호는 숫자와 하이픈(-)으로 입력하세요. 예: 064-123-4567"))
NOT_NEGATIVE = validate.Range(min=0, max=100_000, error=_l("0 이상의 숫자를 입력하세요."))
GRADE_CHOICES = [grade for grade, _floor in GRADES]


class FacilityForm(FormSchema):
    name = fields.String(required=True, validate=length(min=1, max=200))
    facility_type = fields.String(required=True, validate=one_of([t.value for t in FacilityType]),
                                  error_messages={"required": _l("시설 유형을 고르세요.")})
    operator_kind = fields.String(required=True, validate=one_of([k.value for k in OperatorKind]),
                                  error_messages={"required": _l("운영 주체 구분(법인/개인)을 고르세요.")})
    operator_name = fields.String(required=True, validate=length(min=1, max=200))
    licence_number = fields.String(required=True, validate=length(min=1, max=50))
    licence_date = fields.Date(required=True)
    capacity = fields.Integer(required=True, validate=NOT_NEGATIVE)
    address = fields.String(required=True, validate=length(min=1, max=300))
    dong_code = fields.String(load_default=None, validate=length(max=10))
    phone = fields.String(load_default=None, validate=PHONE)


class NewFacilityForm(FacilityForm):
    facility_tenant = fields.String(load_default=None, validate=length(max=64))


class LinkForm(FormSchema):
    facility_tenant = fields.String(load_default=None, validate=length(max=64))


class CloseForm(FormSchema):
    closed_on = fields.Date(required=True, error_messages={"required": _l("폐지일을 입력하세요.")})


class StatusForm(FormSchema):
    residents = fields.Integer(required=True, validate=NOT_NEGATIVE, error_messages={"required": _l("현원을 입력하세요.")})
    staff_count = fields.Integer(required=True, validate=NOT_NEGATIVE,
                                 error_messages={"required": _l("종사자 수를 입력하세요.")})
    contact_name = fields.String(load_default=None, validate=length(max=100))
    contact_phone = fields.String(load_default=None, validate=PHONE)
    contact_email = fields.String(load_default=None, validate=[length(max=200), email()])
    note = fields.String(load_default=None, validate=length(max=4000))


class FacilityListArgs(FormSchema):
    """The overview's filters (GET parameters: the URL is the filter)."""

    type = fields.String(load_default=None, validate=one_of([t.value for t in FacilityType]))
    dong = fields.String(load_default=None, validate=length(max=10))
    grade = fields.String(load_default=None, validate=one_of(GRADE_CHOICES))
    q = fields.String(load_default=None, validate=length(max=100))
    open = fields.Boolean(load_default=False)
    overdue = fields.Boolean(load_default=False)
    closed = fields.Boolean(load_default=False)


# -- checklist templates --------------------------------------------------------------------------------------

class TemplateCopyForm(FormSchema):
    # "default:<facility type>" for a platform default, "template:<public id>" for one of ours.
    source = fields.String(required=True, validate=length(max=50),
                           error_messages={"required": _l("복사할 점검표를 고르세요.")})
    name = fields.String(load_default=None, validate=length(max=200))


class TemplateForm(FormSchema):
    name = fields.String(required=True, validate=length(min=1, max=200))
    active = fields.Boolean(load_default=False)


def item_rows(form) -> list[dict]:
    """The checklist rows of a submitted form, in order, blank cells kept in place."""
    areas, texts, guidance = (form.getlist(name) for name in ("item_area", "item_text", "item_guidance"))
    count = max(len(areas), len(texts), len(guidance))

    def cell(values, n):
        return values[n].strip() if n < len(values) else ""

    return [{"area": cell(areas, n), "text": cell(texts, n), "guidance": cell(guidance, n)} for n in range(count)]


# -- administrative sanctions -------------------------------------------------------------------------------------

class SanctionForm(FormSchema):
    sanction_type = fields.String(required=True, validate=one_of([t.value for t in SanctionType]),
                                  error_messages={"required": _l("처분 종류를 고르세요.")})
    legal_basis = fields.String(required=True, validate=length(min=1, max=300))
    reason = fields.String(required=True, validate=length(min=1, max=4000))
    decided_on = fields.Date(required=True, error_messages={"required": _l("처분일을 입력하세요.")})
    effective_from = fields.Date(required=True, error_messages={"required": _l("처분 시행일을 입력하세요.")})
    effective_to = fields.Date(load_default=None)
    amount = fields.Integer(load_default=None, validate=validate.Range(
        min=1, max=10_000_000_000, error=_l("금액은 1원 이상으로 입력하세요.")))
    appeal_status = fields.String(load_default=AppealStatus.NONE.value,
                                  validate=one_of([a.value for a in AppealStatus]))
    findings = fields.List(fields.String(validate=PUBLIC_ID), load_default=list)


class CorrectionForm(SanctionForm):
    correction_reason = fields.String(required=True, validate=length(min=1, max=4000),
                                      error_messages={"required": _l("정정 사유를 입력하세요.")})
    withdraws = fields.Boolean(load_default=False)


# -- service evaluations ----------------------------------------------------------------------------------------

class CycleForm(FormSchema):
    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100, error=_l("평가 연도를 입력하세요.")),
                          error_messages={"required": _l("평가 연도를 입력하세요.")})
    facility_type = fields.String(required=True, validate=one_of([t.value for t in FacilityType]),
                                  error_messages={"required": _l("시설 유형을 고르세요.")})
    name = fields.String(load_default=None, validate=length(max=200))


def evaluation_form(areas: list[dict]) -> Schema:
    """The form of an evaluation in a cycle with these areas: ``score-<code>`` per area, the date,
    the evaluator's comment. Scores may have decimals (e.g. 12.5)."""
    score = {f"score_{n}": fields.Float(
        required=True, data_key=f"score-{area['code']}", allow_nan=False,
        error_messages={"required": _l("%(area)s 점수를 입력하세요.", area=area["label"]),
                        "invalid": _l("점수를 숫자로 입력하세요.")}) for n, area in enumerate(areas)}
    return FormSchema.from_dict({
        **score,
        "evaluated_on": fields.Date(required=True, error_messages={"required": _l("평가일을 입력하세요.")}),
        "comment": fields.String(load_default=None, validate=length(max=4000)),
    }, name="EvaluationForm")()


def scores_of(data: dict, areas: list[dict]) -> dict:
    """The service's values from a loaded :func:`evaluation_form`."""
    return {"scores": {area["code"]: data[f"score_{n}"] for n, area in enumerate(areas)},
            "evaluated_on": data["evaluated_on"], "comment": data.get("comment")}
