from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validate, validates

from ..core.forms import FormSchema, length, one_of
from . import rrn
from .models import ConsentPurpose, ConsentScope, Relationship, Sex, VitalStatus

PHONE = validate.Regexp(r"^[0-9-]{9,13}$", error=_l("전화번호는 숫자와 하이픈(-)으로 입력하세요. 예: 010-1234-5678"))


def _valid_rrn(value):
    try:
        rrn.parse(value)
    except rrn.InvalidRRN as error:
        raise ValidationError(str(error)) from None


class ClientForm(FormSchema):
    name = fields.String(required=True, validate=length(min=1, max=100))
    birth_date = fields.Date(required=True)
    sex = fields.String(required=True, validate=one_of([s.value for s in Sex]))
    phone = fields.String(load_default=None, validate=PHONE)
    address = fields.String(load_default=None, validate=length(max=300))
    dong_code = fields.String(load_default=None, validate=length(max=10))
    rrn = fields.String(load_default=None, validate=_valid_rrn)
    household = fields.String(load_default=None, validate=length(max=24))
    household_relationship = fields.String(load_default=None, validate=one_of([r.value for r in Relationship]))


class ClientEditForm(FormSchema):
    name = fields.String(required=True, validate=length(min=1, max=100))
    phone = fields.String(load_default=None, validate=PHONE)
    address = fields.String(load_default=None, validate=length(max=300))
    dong_code = fields.String(load_default=None, validate=length(max=10))
    rrn = fields.String(load_default=None, validate=_valid_rrn)


class VitalStatusForm(FormSchema):
    vital_status = fields.String(required=True, validate=one_of([v.value for v in VitalStatus]))
    vital_status_on = fields.Date(load_default=None)


class MoveHouseholdForm(FormSchema):
    household = fields.String(required=True, validate=length(max=24))  # a household public id or "new"
    household_relationship = fields.String(required=True, validate=one_of([r.value for r in Relationship]))


class SearchForm(FormSchema):
    q = fields.String(load_default=None, validate=length(max=100))


class ConsentForm(FormSchema):
    scope = fields.String(required=True, validate=one_of([s.value for s in ConsentScope]))
    tenants = fields.List(fields.String(validate=length(max=64)), load_default=list)
    purposes = fields.List(
        fields.String(validate=one_of([p.value for p in ConsentPurpose])),
        required=True,
        error_messages={"required": _l("동의 목적을 하나 이상 고르세요.")},
    )
    includes_health = fields.Boolean(load_default=False)
    granted_on = fields.Date(required=True)
    expires_on = fields.Date(load_default=None)
    evidence_reference = fields.String(load_default=None, validate=length(max=300))

    @validates("purposes")
    def _not_empty(self, value, **kwargs):
        if not value:
            raise ValidationError(str(_l("동의 목적을 하나 이상 고르세요.")))


class WithdrawConsentForm(FormSchema):
    reason = fields.String(required=True, validate=length(min=2, max=500))
