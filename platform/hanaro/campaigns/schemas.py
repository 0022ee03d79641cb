"""Forms of the campaign screens: the shapes the service functions take. Korean messages next to
each field; the service adds the rules that need the database (stock, window, consent …).

``nominators`` and ``dong_quotas`` are rows ({"tenant": code, "quota": n} / {"dong": code,
"quota": n}); an HTML form posts them as parallel lists (``nominator_tenant`` / ``nominator_quota``,
``quota_dong`` / ``quota_households``) that :func:`rows` pairs up before the service is called."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate

from ..core.forms import FormSchema, length, one_of
from .models import Category, DeliveryStatus, NominationStatus, Priority, RejectReason

PUBLIC_ID = length(max=32)
COUNT = validate.Range(min=0, max=1_000_000, error=_l("0 이상의 수를 입력하세요."))


class CampaignForm(FormSchema):
    title = fields.String(required=True, validate=length(min=1, max=200))
    category = fields.String(required=True, validate=one_of([c.value for c in Category]))
    resource = fields.String(load_default=None, validate=PUBLIC_ID)
    item_description = fields.String(load_default=None, validate=length(max=2000))
    sponsor = fields.String(load_default=None, validate=length(max=200))
    quantity = fields.Integer(required=True, validate=COUNT)
    unit = fields.String(load_default=None, validate=length(max=20))
    per_household = fields.Integer(load_default=1, validate=COUNT)
    eligibility_notes = fields.String(load_default=None, validate=length(max=4000))
    opens_on = fields.Date(required=True)
    closes_on = fields.Date(required=True)
    nominator_tenant = fields.List(fields.String(validate=length(max=64)), load_default=list)
    nominator_quota = fields.List(fields.String(validate=length(max=9)), load_default=list)
    quota_dong = fields.List(fields.String(validate=length(max=10)), load_default=list)
    quota_households = fields.List(fields.String(validate=length(max=9)), load_default=list)


def _count(text: str | None):
    text = (text or "").strip()
    return int(text) if text.isdigit() else (None if not text else -1)  # -1: refused by the service


def rows(data: dict) -> dict:
    """The service's ``nominators`` and ``dong_quotas`` from a loaded :class:`CampaignForm`."""
    values = {k: v for k, v in data.items()
              if k not in ("nominator_tenant", "nominator_quota", "quota_dong", "quota_households")}
    quotas = data.get("nominator_quota") or []
    values["nominators"] = [{"tenant": code, "quota": _count(quotas[i] if i < len(quotas) else None)}
                            for i, code in enumerate(data.get("nominator_tenant") or [])]
    households = data.get("quota_households") or []
    values["dong_quotas"] = [{"dong": code, "quota": _count(households[i] if i < len(households) else None)}
                             for i, code in enumerate(data.get("quota_dong") or [])]
    return values


class NominationForm(FormSchema):
    client = fields.String(required=True, validate=PUBLIC_ID)
    reason = fields.String(required=True, validate=length(min=2, max=4000))
    priority = fields.String(load_default=Priority.NORMAL.value, validate=one_of([p.value for p in Priority]))


class NominationEditForm(FormSchema):
    reason = fields.String(required=True, validate=length(min=2, max=4000))
    priority = fields.String(load_default=Priority.NORMAL.value, validate=one_of([p.value for p in Priority]))


class DecisionForm(FormSchema):
    action = fields.String(required=True, validate=one_of(["accept", "reject", "keep_duplicate"]))
    reject_reason = fields.String(load_default=None, validate=one_of([r.value for r in RejectReason]))
    note = fields.String(load_default=None, validate=length(max=2000))


class FlagResolutionForm(FormSchema):
    note = fields.String(required=True, validate=length(min=1, max=2000))


class DeliveryForm(FormSchema):
    status = fields.String(required=True, validate=one_of([DeliveryStatus.DELIVERED.value,
                                                           DeliveryStatus.NOT_DELIVERED.value]))
    delivered_on = fields.Date(load_default=None)
    note = fields.String(load_default=None, validate=length(max=2000))


class NominationListArgs(FormSchema):
    status = fields.String(load_default=None, validate=one_of([s.value for s in NominationStatus]))
    dong = fields.String(load_default=None, validate=length(max=10))
    nominator = fields.String(load_default=None, validate=length(max=64))
    flagged = fields.Boolean(load_default=False)
