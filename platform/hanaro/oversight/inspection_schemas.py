"""Forms of the inspection and corrective-action screens. The schemas check types and lengths; what
is required, and why, is the services' to say (their messages name the field)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import fields

from ..core.forms import FormSchema, length, one_of
from .models import Area, InspectionKind, ItemResult

PUBLIC_ID = length(max=32)
PLANNABLE_KINDS = (InspectionKind.REGULAR.value, InspectionKind.SPECIAL.value)
RESULTS = [r.value for r in ItemResult]
AREAS = [a.value for a in Area]
NOTE_MAX = 2000
LIST_SHOWS = ("open", "overdue", "all")


class Versioned(FormSchema):
    """The version of the record the page showed: a step taken on a stale page is refused."""

    version = fields.Integer(load_default=None)


class PlanForm(Versioned):
    kind = fields.String(load_default=None, validate=one_of(PLANNABLE_KINDS))
    planned_on = fields.Date(load_default=None)
    inspectors = fields.List(fields.String(validate=PUBLIC_ID), load_default=list)
    template = fields.String(load_default=None, validate=PUBLIC_ID)


class FollowUpForm(PlanForm):
    findings = fields.List(fields.String(validate=PUBLIC_ID), load_default=list)


class StartForm(Versioned):
    conducted_on = fields.Date(load_default=None)


class ItemForm(FormSchema):
    area = fields.String(load_default=None, validate=one_of(AREAS))
    text = fields.String(load_default=None, validate=length(max=500))
    result = fields.String(load_default=None, validate=one_of(RESULTS))
    note = fields.String(load_default=None, validate=length(max=NOTE_MAX))


class FindingForm(FormSchema):
    item = fields.Integer(load_default=None)
    area = fields.String(load_default=None, validate=one_of(AREAS))
    description = fields.String(load_default=None, validate=length(max=4000))
    requires_action = fields.Boolean(load_default=False)
    requirement = fields.String(load_default=None, validate=length(max=2000))
    due_on = fields.Date(load_default=None)


class CompleteForm(Versioned):
    summary = fields.String(load_default=None, validate=length(max=4000))


class CancelForm(Versioned):
    reason = fields.String(load_default=None, validate=length(max=2000))


def parse_checklist(form, positions) -> tuple[dict[int, dict], dict[str, list[str]]]:
    """The checklist form: ``result-<n>`` and ``note-<n>`` for each item position ``n``. Returns
    ({position: {result, note}}, errors by field name); an item left out of the form is left alone."""
    results, errors = {}, {}
    for position in positions:
        result_key, note_key = f"result-{position}", f"note-{position}"
        if result_key not in form and note_key not in form:
            continue
        result = (form.get(result_key) or "").strip()
        note = (form.get(note_key) or "").strip()
        if result and result not in RESULTS:
            errors[result_key] = [str(_l("적합, 부적합, 해당없음 가운데 고르세요."))]
        if len(note) > NOTE_MAX:
            errors[note_key] = [str(_l("%(max)s자 이하로 입력하세요.", max=NOTE_MAX))]
        results[position] = {"result": result or None, "note": note}
    return results, errors


# -- corrective actions ----------------------------------------------------------------------------------

class StepForm(Versioned):
    answer = fields.String(load_default=None, validate=length(max=4000))
    note = fields.String(load_default=None, validate=length(max=2000))
    reason = fields.String(load_default=None, validate=length(max=2000))


class ExtendForm(Versioned):
    due_on = fields.Date(load_default=None)
    reason = fields.String(load_default=None, validate=length(max=2000))


class ActionListArgs(FormSchema):
    show = fields.String(load_default="open", validate=one_of(LIST_SHOWS))
