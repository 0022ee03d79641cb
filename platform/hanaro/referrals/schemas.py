"""Forms of the referral screens. Korean messages next to each field; nothing typed is lost."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate

from ..core.forms import FormSchema, length, one_of
from .models import DeclineReason, State, Urgency
from .service import SHAREABLE_FIELDS

PUBLIC_ID = length(max=32)
INTENTS = ("draft", "send")
BOXES = ("inbox", "outbox")


class DraftForm(FormSchema):
    """What the sender writes: the same fields on a new referral and on a saved draft."""

    requested_service = fields.String(required=True, validate=length(min=1, max=200))
    reason = fields.String(required=True, validate=length(min=2, max=4000))
    urgency = fields.String(load_default=Urgency.ROUTINE.value, validate=one_of([u.value for u in Urgency]))
    response_due_on = fields.Date(load_default=None)
    shared_fields = fields.List(
        fields.String(validate=validate.OneOf(list(SHAREABLE_FIELDS), error=_l("목록에 있는 항목을 고르세요."))),
        required=True, error_messages={"required": _l("대상자 정보 중 보낼 항목을 하나 이상 고르세요.")},
    )
    confirm_duplicate = fields.Boolean(load_default=False)
    intent = fields.String(load_default="send", validate=one_of(INTENTS))


class NewReferralForm(DraftForm):
    """A new referral also names whom it is about and where it goes (public ids, a tenant code)."""

    case = fields.String(load_default=None, validate=PUBLIC_ID)
    client = fields.String(load_default=None, validate=PUBLIC_ID)
    resource = fields.String(load_default=None, validate=PUBLIC_ID)
    tenant = fields.String(load_default=None, validate=length(max=64))
    reroute = fields.String(load_default=None, validate=PUBLIC_ID)


class ActionForm(FormSchema):
    note = fields.String(load_default=None, validate=length(max=2000))
    decline_reason = fields.String(load_default=None,
                                   validate=one_of([r.value for r in DeclineReason]))


class MessageForm(FormSchema):
    body = fields.String(required=True, validate=length(min=1, max=4000))


class RerouteForm(FormSchema):
    resource = fields.String(load_default=None, validate=PUBLIC_ID)
    tenant = fields.String(load_default=None, validate=length(max=64))


class ListArgs(FormSchema):
    box = fields.String(load_default="inbox", validate=one_of(BOXES))
    state = fields.String(load_default=None, validate=one_of(["open", *[s.value for s in State]]))
    overdue = fields.Boolean(load_default=False)
