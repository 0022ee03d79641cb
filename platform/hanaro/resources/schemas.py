"""Forms of the resource registry: register, edit, sharing scope."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from ..core.forms import FormSchema, length, one_of
from ..core.paging import page_number
from .models import Capacity, ResourceKind, Scope, WaitEstimate

PHONE = validate.Regexp(r"^[0-9-]{9,13}$", error=_l("전화번호는 숫자와 하이픈(-)으로 입력하세요. 예: 064-123-4567"))
TIME = validate.Regexp(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", error=_l("시간을 HH:MM 형식으로 입력하세요. 예: 09:00"))
NOT_NEGATIVE = validate.Range(min=0, error=_l("0 이상의 숫자를 입력하세요."))
AGE = validate.Range(min=0, max=150, error=_l("0에서 150 사이의 나이를 입력하세요."))
WEEKDAYS = range(7)  # 0 = Monday


SCOPE_ERROR = _l("목록에 있는 공개 범위를 고르세요.")


def _text(max_length=None, required=False):
    if required:
        return fields.String(required=True, validate=length(min=1, max=max_length))
    return fields.String(load_default=None, validate=length(max=max_length) if max_length else None)


class ResourceEditForm(FormSchema):
    """Everything the registrant may edit except the sharing scope (a form of its own)."""

    kind = fields.String(load_default=ResourceKind.SERVICE.value, validate=one_of([k.value for k in ResourceKind]))
    name = _text(200, required=True)
    description = fields.String(required=True, validate=length(min=1, max=5000))
    organization_name = _text(200)
    need_domains = fields.List(fields.String(validate=length(max=40)), load_default=list)
    service_area_codes = fields.List(fields.String(validate=length(max=10)), load_default=list)
    min_age = fields.Integer(load_default=None, validate=AGE)
    max_age = fields.Integer(load_default=None, validate=AGE)
    household_conditions = _text(2000)
    income_note = _text(2000)
    eligibility_note = _text(2000)
    address = _text(300)
    how_to_apply = _text(2000)
    required_documents = _text(2000)
    cost = _text(200)
    public_phone = fields.String(load_default=None, validate=PHONE)
    capacity = fields.String(load_default=Capacity.AVAILABLE.value, validate=one_of([c.value for c in Capacity]))
    wait_estimate = fields.String(load_default=None, validate=one_of([w.value for w in WaitEstimate]))
    remaining_slots = fields.Integer(load_default=None, validate=NOT_NEGATIVE)
    quantity = fields.Integer(load_default=None, validate=NOT_NEGATIVE)
    quantity_unit = _text(20)
    valid_from = fields.Date(load_default=None)
    valid_until = fields.Date(load_default=None)
    contact_person = _text(100)
    direct_phone = fields.String(load_default=None, validate=PHONE)

    # The weekly schedule: opens_0/closes_0 (Monday) ... opens_6/closes_6; both empty = closed.
    locals().update({f"{edge}_{day}": fields.String(load_default=None, validate=TIME)
                     for day in WEEKDAYS for edge in ("opens", "closes")})

    @validates_schema
    def _schedule_pairs(self, data, **kwargs):
        errors = {}
        for day in WEEKDAYS:
            opens, closes = data.get(f"opens_{day}"), data.get(f"closes_{day}")
            if bool(opens) != bool(closes):
                missing = f"closes_{day}" if opens else f"opens_{day}"
                errors[missing] = [str(_l("여는 시간과 닫는 시간을 함께 입력하세요. 쉬는 날은 둘 다 비워 두세요."))]
        if errors:
            raise ValidationError(errors)

    @post_load
    def _build(self, data, **kwargs):
        schedule = []
        for day in WEEKDAYS:
            opens, closes = data.pop(f"opens_{day}", None), data.pop(f"closes_{day}", None)
            if opens and closes:
                schedule.append({"weekday": day, "opens": opens, "closes": closes})
        data["schedule"] = schedule
        for name, enum in (("kind", ResourceKind), ("capacity", Capacity), ("wait_estimate", WaitEstimate)):
            if data.get(name) is not None:
                data[name] = enum(data[name])
        return data


class ResourceForm(ResourceEditForm):
    scope = fields.String(required=True, validate=validate.OneOf([s.value for s in Scope], error=SCOPE_ERROR),
                          error_messages={"required": _l("공개 범위를 고르세요.")})
    staff_scope = fields.String(required=True, validate=validate.OneOf([s.value for s in Scope], error=SCOPE_ERROR),
                                error_messages={"required": _l("담당자 전용 정보의 공개 범위를 고르세요.")})


class ScopeForm(FormSchema):
    scope = fields.String(required=True, validate=validate.OneOf([s.value for s in Scope], error=SCOPE_ERROR),
                          error_messages={"required": _l("공개 범위를 고르세요.")})
    staff_scope = fields.String(required=True, validate=validate.OneOf([s.value for s in Scope], error=SCOPE_ERROR),
                                error_messages={"required": _l("담당자 전용 정보의 공개 범위를 고르세요.")})


class SearchArgs(FormSchema):
    """The query string of the resource search screen (shareable, so only search terms)."""

    q = fields.String(load_default=None, validate=length(max=100))
    domain = fields.List(fields.String(validate=length(max=40)), load_default=list)
    municipality = fields.String(load_default=None, validate=length(max=10))
    area = fields.String(load_default=None, validate=length(max=10))
    age = fields.Integer(load_default=None, validate=AGE)
    household = fields.String(load_default=None, validate=length(max=30))
    capacity = fields.List(fields.String(validate=one_of([c.value for c in Capacity])), load_default=list)
    registrant = fields.List(fields.String(validate=length(max=30)), load_default=list)
    kind = fields.String(load_default=None, validate=one_of([k.value for k in ResourceKind]))
    page = page_number()
