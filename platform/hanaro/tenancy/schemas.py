from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validate, validates_schema

from ..core.forms import FormSchema, email, length, one_of
from .models import AGREEABLE_RECORD_KINDS, Role, TenantKind

ROLE_VALUES = [r.value for r in Role]


class SwitchTenantForm(FormSchema):
    tenant = fields.String(required=True, validate=length(max=64))


class AddMemberForm(FormSchema):
    email = fields.String(required=True, validate=[email(), length(max=254)])
    display_name = fields.String(required=True, validate=length(min=1, max=100))
    # Required for every invitation, used only when the e-mail has no account yet: asking for it
    # only then would tell the admin whether the person already has one.
    initial_password = fields.String(required=True, validate=length(min=10, max=200))
    roles = fields.List(
        fields.String(validate=one_of(ROLE_VALUES)),
        required=True,
        error_messages={"required": _l("역할을 하나 이상 고르세요.")},
    )


class ChangeRolesForm(FormSchema):
    roles = fields.List(
        fields.String(validate=one_of(ROLE_VALUES)),
        required=True,
        error_messages={"required": _l("역할을 하나 이상 고르세요.")},
    )


class AgreementForm(FormSchema):
    partner = fields.String(required=True, validate=length(max=64))
    purpose = fields.String(required=True, validate=length(min=2, max=2000))
    record_kinds = fields.List(
        fields.String(validate=one_of([k.value for k in AGREEABLE_RECORD_KINDS])),
        required=True,
        error_messages={"required": _l("공유할 정보 종류를 하나 이상 고르세요.")},
    )
    valid_from = fields.Date(required=True)
    valid_to = fields.Date(load_default=None)

    @validates_schema
    def _dates_in_order(self, data, **kwargs):
        if data.get("valid_to") and data.get("valid_from") and data["valid_to"] < data["valid_from"]:
            raise ValidationError(str(_l("종료일은 시작일 이후여야 합니다.")), "valid_to")


class RevokeAgreementForm(FormSchema):
    reason = fields.String(required=True, validate=length(min=2, max=1000))


class DeclineAgreementForm(FormSchema):
    reason = fields.String(required=True, validate=length(min=2, max=1000),
                           error_messages={"required": _l("거절 사유를 적어 주세요.")})


class TenantForm(FormSchema):
    code = fields.String(
        required=True,
        validate=[
            length(min=2, max=64),
            validate.Regexp(r"^[a-z0-9-]+$", error=_l("영문 소문자, 숫자, 하이픈(-)만 쓸 수 있습니다.")),
        ],
    )
    name = fields.String(required=True, validate=length(min=2, max=200))
    kind = fields.String(required=True, validate=one_of([k.value for k in TenantKind]))
    region_code = fields.String(required=True, validate=length(max=10))
    parent = fields.String(load_default=None, validate=length(max=64))
