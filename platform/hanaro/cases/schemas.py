"""Forms of the cases screens. Korean messages next to each field; nothing typed is lost."""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, post_load, validate, validates

from ..core.forms import FormSchema, length, one_of
from .models import CaseStatus, GoalStatus, NoteVisibility, RiskLevel, ServiceStatus
from .service import CLOSURE_REASONS, REOPEN_TARGETS, SCOPES

PUBLIC_ID = length(max=32)
MAX_ATTENDEES = 40


class OpenCaseForm(FormSchema):
    client = fields.String(required=True, validate=PUBLIC_ID)
    case_type = fields.String(required=True, validate=length(max=40))
    lead_worker = fields.String(required=True, validate=PUBLIC_ID)
    risk_level = fields.String(required=True, validate=one_of([r.value for r in RiskLevel]))
    received_on = fields.Date(required=True)
    dong_code = fields.String(load_default=None, validate=length(max=10))


class DetailsForm(FormSchema):
    risk_level = fields.String(required=True, validate=one_of([r.value for r in RiskLevel]))
    lead_worker = fields.String(required=True, validate=PUBLIC_ID)
    dong_code = fields.String(load_default=None, validate=length(max=10))


class StatusForm(FormSchema):
    status = fields.String(required=True, validate=one_of([s.value for s in CaseStatus]))


class CloseForm(FormSchema):
    closure_reason = fields.String(required=True, validate=one_of(list(CLOSURE_REASONS)))
    closure_evaluation = fields.String(required=True, validate=length(min=2, max=4000))


class ReopenForm(FormSchema):
    status = fields.String(required=True, validate=one_of([s.value for s in REOPEN_TARGETS]))
    reason = fields.String(required=True, validate=length(min=2, max=1000))


class InviteForm(FormSchema):
    tenant = fields.String(required=True, validate=length(max=64))
    worker_name = fields.String(load_default=None, validate=length(max=100))
    message = fields.String(load_default=None, validate=length(max=2000))


class AcceptForm(FormSchema):
    worker = fields.String(required=True, validate=PUBLIC_ID)
    note = fields.String(load_default=None, validate=length(max=1000))


class DeclineForm(FormSchema):
    note = fields.String(required=True, validate=length(min=2, max=1000))


def assessment_form(domains) -> FormSchema:
    """One level (0–4) and notes per need domain, plus the date and a summary."""
    level_error = _l("0부터 4 사이의 수준을 고르세요.")
    attrs = {
        "assessed_on": fields.Date(required=True),
        "summary": fields.String(load_default=None, validate=length(max=4000)),
    }
    for domain in domains:
        attrs[f"level_{domain.code}"] = fields.Integer(
            required=True, validate=validate.Range(min=0, max=4, error=level_error),
            error_messages={"required": _l("수준을 고르세요."), "invalid": level_error},
        )
        attrs[f"notes_{domain.code}"] = fields.String(load_default=None, validate=length(max=2000))
    return FormSchema.from_dict(attrs, name="AssessmentForm")()


class GoalForm(FormSchema):
    domain = fields.String(required=True, validate=length(max=40))
    goal = fields.String(required=True, validate=length(min=2, max=1000))


class GoalStatusForm(FormSchema):
    status = fields.String(required=True, validate=one_of([s.value for s in GoalStatus]))


class ServiceForm(FormSchema):
    goal = fields.String(required=True, validate=PUBLIC_ID, error_messages={"required": _l("목표를 고르세요.")})
    description = fields.String(required=True, validate=length(min=2, max=1000))
    provider_tenant = fields.String(load_default=None, validate=length(max=64))
    provider_name = fields.String(load_default=None, validate=length(max=200))
    due_on = fields.Date(load_default=None)


class ServiceStatusForm(FormSchema):
    status = fields.String(required=True, validate=one_of([s.value for s in ServiceStatus]))


class NoteForm(FormSchema):
    visibility = fields.String(required=True, validate=one_of([v.value for v in NoteVisibility]))
    body = fields.String(required=True, validate=length(min=2, max=5000))


_ATTENDEE_SEPARATOR = re.compile(r"\s*[,/·]\s*")


def parse_attendees(text: str) -> list[dict]:
    """One attendee a line: "이름, 기관" (also "이름 / 기관" or "이름 · 기관"); the
    organisation may be left out."""
    attendees = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        parts = _ATTENDEE_SEPARATOR.split(line, maxsplit=1)
        name, organisation = parts[0], parts[1] if len(parts) > 1 else ""
        attendees.append({"name": name.strip(), "tenant": organisation.strip()})
    return attendees


class ConferenceForm(FormSchema):
    held_on = fields.Date(required=True)
    attendees = fields.String(required=True, validate=length(max=4000))
    agenda = fields.String(required=True, validate=length(min=2, max=4000))
    decisions = fields.String(load_default=None, validate=length(max=4000))

    @validates("attendees")
    def _attendees(self, value, **kwargs):
        attendees = parse_attendees(value)
        if not attendees:
            raise ValidationError(str(_l("참석자를 한 명 이상 입력하세요.")))
        if len(attendees) > MAX_ATTENDEES:
            raise ValidationError(str(_l("참석자는 %(n)s명까지 입력할 수 있습니다.", n=MAX_ATTENDEES)))
        if any(not a["name"] or len(a["name"]) > 100 or len(a["tenant"]) > 200 for a in attendees):
            raise ValidationError(str(_l("한 줄에 한 명씩 '이름, 기관' 형식으로 입력하세요.")))

    @post_load
    def _as_list(self, data, **kwargs):
        data["attendees"] = parse_attendees(data["attendees"])
        return data


class TaskForm(FormSchema):
    description = fields.String(required=True, validate=length(min=2, max=1000))
    assignee_tenant = fields.String(load_default=None, validate=length(max=64))
    due_on = fields.Date(load_default=None)


class TimelineFilterForm(FormSchema):
    kind = fields.String(load_default=None, validate=length(max=20))


class CaseFilterForm(FormSchema):
    """The list's filters (query string or the search form); unknown values are dropped."""

    scope = fields.String(load_default="mine", validate=one_of(list(SCOPES)))
    case_type = fields.String(load_default=None, validate=length(max=40))
    status = fields.String(load_default=None, validate=one_of([s.value for s in CaseStatus] + ["open"]))
    risk = fields.String(load_default=None, validate=one_of([r.value for r in RiskLevel]))
    worker = fields.String(load_default=None, validate=PUBLIC_ID)
    dong = fields.String(load_default=None, validate=length(max=10))
    q = fields.String(load_default=None, validate=length(max=100))
    after = fields.String(load_default=None, validate=length(max=200))
