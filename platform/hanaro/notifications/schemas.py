"""Forms of the notification screens."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validates_schema

from ..core.forms import FormSchema, length, one_of
from .kinds import KINDS


class EmailSettingsForm(FormSchema):
    """The kinds to receive by e-mail: every checked box; an unchecked one means "off"."""

    email_kinds = fields.List(fields.String(validate=one_of(list(KINDS))), load_default=list)


class RetryForm(FormSchema):
    """An operator's retry: a failed delivery (its tenant's code and its id) or an rq job id."""

    tenant = fields.String(load_default=None, validate=length(max=50))
    delivery = fields.String(load_default=None, validate=length(max=24))
    job = fields.String(load_default=None, validate=length(max=100))

    @validates_schema
    def _one_target(self, data, **kwargs):
        if data.get("job"):
            return
        if not (data.get("tenant") and data.get("delivery")):
            raise ValidationError(str(_l("다시 보낼 항목을 고르세요.")), field_name="_form")
