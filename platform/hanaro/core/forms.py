"""Form and JSON input through marshmallow, with Korean messages next to each field."""
from __future__ import annotations

from datetime import date

from flask import request
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate

KOREAN_FIELD_MESSAGES = {
    fields.Field: {
        "required": _l("필수 입력 항목입니다."),
        "null": _l("필수 입력 항목입니다."),
        "validator_failed": _l("올바른 값이 아닙니다."),
    },
    fields.String: {"invalid": _l("문자열을 입력하세요.")},
    fields.Integer: {"invalid": _l("숫자를 입력하세요.")},
    fields.Date: {"invalid": _l("날짜를 YYYY-MM-DD 형식으로 입력하세요.")},
    fields.Boolean: {"invalid": _l("올바른 값이 아닙니다.")},
    fields.List: {"invalid": _l("올바른 목록이 아닙니다.")},
}


def install_korean_messages() -> None:
    for field_class, messages in KOREAN_FIELD_MESSAGES.items():
        field_class.default_error_messages = {**field_class.default_error_messages, **messages}


def one_of(choices, labels=None):
    return validate.OneOf(choices, labels=labels, error=_l("목록에 있는 값을 고르세요."))


def plausible_date():
    """Dates a search can ask for: far enough from date.min/max that a day or a time zone added to
    them stays a date."""
    return validate.Range(min=date(1900, 1, 1), max=date(2999, 12, 31),
                          error=_l("1900-01-01부터 2999-12-31 사이의 날짜를 입력하세요."))


def email():
    return validate.Email(error=_l("올바른 이메일 주소를 입력하세요."))


def length(min=None, max=None):
    if min and max:
        error = _l("%(min)s자 이상 %(max)s자 이하로 입력하세요.", min=min, max=max)
    elif max:
        error = _l("%(max)s자 이하로 입력하세요.", max=max)
    else:
        error = _l("%(min)s자 이상 입력하세요.", min=min)
    return validate.Length(min=min, max=max, error=str(error))


class FormSchema(Schema):
    """Base for HTML form schemas: blank strings count as missing, unknown keys are ignored."""

    class Meta:
        unknown = "exclude"


def _form_payload(schema: Schema, form) -> dict:
    payload = {}
    for name, field in schema.fields.items():
        key = field.data_key or name
        if isinstance(field, fields.List):
            values = [v for v in form.getlist(key) if v.strip()]
            if values or key in form:
                payload[key] = values
        elif key in form:
            value = form.get(key, "").strip()
            if value != "":
                payload[key] = value
    return payload


def parse_form(schema: Schema, form=None) -> tuple[dict | None, dict[str, list[str]]]:
    """Validate a submitted form. Returns (data, {}) or (None, {field: [messages]})."""
    form = request.form if form is None else form
    try:
        return schema.load(_form_payload(schema, form)), {}
    except ValidationError as error:
        return None, {key: [str(m) for m in _flatten(msgs)] for key, msgs in error.messages.items()}


def parse_filters(schema: Schema, args) -> dict:
    """A list's filters from the query string (or a posted filter form): a value that does not
    validate is dropped, so a hand-edited link still shows the list instead of an error."""
    data, errors = parse_form(schema, args)
    if errors:
        data, _errors = parse_form(schema, {key: value for key, value in args.items() if key not in errors})
    return data or parse_form(schema, {})[0] or {}


def _flatten(messages):
    if isinstance(messages, dict):
        for value in messages.values():
            yield from _flatten(value)
    elif isinstance(messages, (list, tuple)):
        for value in messages:
            yield from _flatten(value)
    else:
        yield messages
