"""Bulk import of resources from CSV or Excel files, and exports (CSV, Excel, HSDS 3.0) of the
resources the active tenant may see. Import and export share one file format, so an export can be
imported again.

Column headers and choice values in files are Korean whatever the interface language: files travel
between agencies and must mean the same to each of them. Callers commit.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeTimedSerializer
from marshmallow import fields
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from ..cases.models import NeedDomain
from ..core import spreadsheets, uploads
from ..core.db import db
from ..core.spreadsheets import UNSAFE_START
from ..core.spreadsheets import to_csv  # noqa: F401 (the views export through this module)
from ..core.spreadsheets import safe_cell as _safe
from ..core.forms import length, parse_form
from ..core.rules import RuleViolation
from ..directory import hsds
from ..tenancy import context
from ..tenancy.models import Region, RegionLevel
from . import service
from .models import CAPACITY_LABELS, SCOPE_LABELS, WAIT_LABELS, Resource, Scope
from .schemas import ResourceForm
from .views import KIND_LABELS

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 1000
MAX_COLUMNS = 60
MAX_SCANNED_ROWS = MAX_ROWS * 20  # blank rows included
# A workbook of MAX_ROWS rows within MAX_BYTES unpacks to a few MB; the limits leave room for
# that and refuse zip bombs (a 300 kB file whose shared strings unpack to 100+ MB) unopened.
XLSX_LIMITS = uploads.ArchiveLimits(unpacked=20 * 1024 * 1024, member=20 * 1024 * 1024, members=200, ratio=100)
# The rows travel from the preview to the confirmation signed in a hidden field, which must stay
# under the form size limit (Flask's MAX_FORM_MEMORY_SIZE, 500 kB by default).
MAX_SEALED = 450_000
SEALED_MAX_AGE = 3600  # seconds
FILE = "file"
EMPTY = _l("빈 파일입니다. 양식 파일에 자원을 입력해 올리세요.")
UNPACKS_TOO_BIG = _l("Excel 파일의 압축을 풀면 너무 커서 가져올 수 없습니다. 행을 나누어 여러 파일로 올리세요.")
TOO_MANY_ROWS = _l("한 번에 %(n)s행까지 가져올 수 있습니다. 파일을 나누어 올리세요.", n=MAX_ROWS)
WEEKDAY_NAMES = "월화수목금토일"
LIST_SEPARATOR = re.compile(r"\s*[,，]\s*")
SCHEDULE_SLOT = re.compile(r"^([월화수목금토일])(?:요일)?\s*(\d{1,2}:\d{2})\s*[-~]\s*(\d{1,2}:\d{2})$")


@dataclass(frozen=True)
class Column:
    field: str
    header: str
    kind: str = "text"  # text | list | choice | domains | areas | schedule


COLUMNS = (
    Column("kind", "종류", "choice"), Column("name", "자원 이름"), Column("description", "설명"),
    Column("organization_name", "제공 기관"), Column("need_domains", "욕구 영역", "domains"),
    Column("categories", "세부 분류", "list"), Column("min_age", "최소 나이"), Column("max_age", "최대 나이"),
    Column("household_conditions", "가구 조건"), Column("income_note", "소득 기준"), Column("eligibility_note", "기타 자격"),
    Column("service_area_codes", "서비스 지역", "areas"), Column("address", "주소"), Column("schedule", "운영 시간", "schedule"),
    Column("how_to_apply", "신청 방법"), Column("required_documents", "제출 서류"), Column("cost", "비용"),
    Column("languages", "언어", "list"), Column("public_phone", "대표 전화"), Column("capacity", "이용 가능 여부", "choice"),
    Column("wait_estimate", "예상 대기 기간", "choice"), Column("remaining_slots", "남은 자리"), Column("quantity", "수량"),
    Column("quantity_unit", "단위"), Column("valid_from", "유효 시작일"), Column("valid_until", "유효 종료일"),
    Column("contact_person", "담당자"), Column("direct_phone", "담당자 직통 전화"), Column("scope", "공개 범위", "choice"),
    Column("staff_scope", "담당자 전용 정보 공개 범위", "choice"),
)
# Written by exports, ignored by imports.
EXPORT_ONLY = (Column("registrant", "등록 기관"), Column("last_verified_on", "마지막 확인일"))
BY_HEADER = {c.header: c for c in COLUMNS + EXPORT_ONLY}
BY_FIELD = {c.field: c for c in COLUMNS}
CHOICE_LABELS = {"kind": KIND_LABELS, "capacity": CAPACITY_LABELS, "wait_estimate": WAIT_LABELS,
                 "scope": SCOPE_LABELS, "staff_scope": SCOPE_LABELS}
EXAMPLE = {
    "kind": "서비스", "name": "어르신 밑반찬 배달", "description": "혼자 사는 어르신께 주 2회 밑반찬을 배달합니다.",
    "categories": "급식", "min_age": "65", "household_conditions": "1인 가구", "address": "제주시 한림읍 한림로 1",
    "schedule": "월 09:00-18:00, 수 09:00-12:00", "how_to_apply": "전화 신청", "required_documents": "신분증",
    "cost": "무료", "languages": "한국어", "public_phone": "064-123-4567", "capacity": "대기",
    "wait_estimate": "1~3개월", "remaining_slots": "3", "contact_person": "김담당", "direct_phone": "010-2222-3333",
    "scope": "우리 기관만", "staff_scope": "우리 기관만",
}
EXAMPLE_DOMAINS = ("daily_living", "economy")


class ImportRowForm(ResourceForm):
    categories = fields.List(fields.String(validate=length(max=40)), load_default=list)
    languages = fields.List(fields.String(validate=length(max=40)), load_default=list)


def _choice_labels() -> dict[str, dict[str, str]]:
    """Per choice column, code -> its Korean label (the value written in files)."""
    with force_locale("ko"):
        return {name: {key.value: str(label) for key, label in labels.items()}
                for name, labels in CHOICE_LABELS.items()}


# -- reading a file ----------------------------------------------------------------------------------

def read_table(filename: str, data: bytes) -> list[tuple[int, list[str]]]:
    """The non-blank rows of an uploaded file (CSV or XLSX by its content), each with its row
    number as a spreadsheet shows it."""
    upload = uploads.check(data, filename, uploads.TABLES, field=FILE, max_bytes=MAX_BYTES, missing=EMPTY)
    table = []
    rows = _csv_rows(data) if upload.kind.name == "csv" else _xlsx_rows(data)
    for number, cells in enumerate(rows, 1):
        cells = [_unescape(cell) for cell in cells]
        if any(cells):
            table.append((number, cells))
        if len(table) > MAX_ROWS + 1 or number > MAX_SCANNED_ROWS:
            raise RuleViolation(TOO_MANY_ROWS, field=FILE)
    if not table:
        raise RuleViolation(EMPTY, field=FILE)
    return table


def _csv_rows(data: bytes):
    text = uploads.text_of(data)  # checked as text (UTF-8 or CP949) by ``uploads.check``
    try:
        for row in csv.reader(io.StringIO(text, newline="")):
            yield [cell.strip() for cell in row[:MAX_COLUMNS]]
    except csv.Error:
        raise RuleViolation(_l("CSV 파일을 읽을 수 없습니다. 쉼표로 구분된 CSV로 저장했는지 확인하세요."), field=FILE) from None


def _xlsx_rows(data: bytes):
    uploads.check_archive(data, XLSX_LIMITS, field=FILE, refusal=UNPACKS_TOO_BIG)
    unreadable = RuleViolation(uploads.KINDS["xlsx"].unreadable, field=FILE)
    workbook = _open_workbook(data, unreadable)
    try:
        sheets = workbook.worksheets
        for row in sheets[0].iter_rows(max_col=MAX_COLUMNS, values_only=True) if sheets else ():
            yield [_cell_text(value) for value in row]
    except Exception:  # noqa: BLE001 - a workbook that breaks while being read is unreadable
        raise unreadable from None
    finally:
        workbook.close()


def _open_workbook(data: bytes, unreadable: RuleViolation):
    from openpyxl import load_workbook

    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - any failure to open an uploaded workbook means "unreadable"
        raise unreadable from None


def _cell_text(value) -> str:
    """A cell as the text it shows: whole numbers without '.0', dates as YYYY-MM-DD, times as HH:MM."""
    if value is None:
        return ""
    if isinstance(value, datetime) and value.time() == time():
        value = value.date()
    if isinstance(value, (date, datetime)):
        return value.isoformat(" ", "minutes") if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _unescape(cell: str) -> str:
    """Undo the export's guard against spreadsheet formulas (see ``_safe``)."""
    if len(cell) > 1 and cell[0] == "'" and cell[1] in UNSAFE_START:
        return cell[1:]
    return cell


# -- checking rows ----------------------------------------------------------------------------------------

@dataclass
class Row:
    number: int
    cells: dict[str, str]
    values: dict | None = None
    errors: list[str] = field(default_factory=list)


@dataclass
class Preview:
    rows: list[Row]

    @property
    def errors(self) -> list[str]:
        return [error for row in self.rows for error in row.errors]

    @property
    def ok(self) -> bool:
        return bool(self.rows) and not self.errors


def preview(table: list[tuple[int, list[str]]]) -> Preview:
    """Every row checked by the same rules as the registration form; nothing is saved."""
    (_number, header), *body = table
    columns = _columns(header)
    if not body:
        raise RuleViolation(_l("가져올 행이 없습니다. 둘째 줄부터 자원을 한 줄에 하나씩 입력하세요."), field=FILE)
    if len(body) > MAX_ROWS:
        raise RuleViolation(TOO_MANY_ROWS, field=FILE)
    return _check_rows([(number, _cells(columns, cells)) for number, cells in body])


def _columns(header: list[str]) -> list[Column | None]:
    headers = [h.strip() for h in header]
    named = [h for h in headers if h]
    if not set(named) & set(BY_HEADER):
        raise RuleViolation(_l("첫 줄에 열 이름이 없습니다. 양식 파일의 첫 줄(열 이름)을 그대로 두고 둘째 줄부터 입력하세요."),
                            field=FILE)
    problems = []
    missing = [c.header for c in COLUMNS if c.header not in named]
    if missing:
        problems.append(_("필요한 열이 없습니다: %(columns)s.", columns=", ".join(missing)))
    unknown = [h for h in named if h not in BY_HEADER]
    if unknown:
        problems.append(_("알 수 없는 열이 있습니다: %(columns)s.", columns=", ".join(unknown)))
    repeated = sorted({h for h in named if named.count(h) > 1})
    if repeated:
        problems.append(_("같은 이름의 열이 여러 번 있습니다: %(columns)s.", columns=", ".join(repeated)))
    if problems:
        problems.append(_("양식 파일의 첫 줄(열 이름)을 바꾸지 말고 그대로 쓰세요."))
        raise RuleViolation(" ".join(problems), field=FILE)
    return [BY_HEADER.get(h) for h in headers]


def _cells(columns: list[Column | None], cells: list[str]) -> dict[str, str]:
    row = {c.field: "" for c in COLUMNS}
    for column, cell in zip(columns, cells):
        if column is not None and column.field in row:
            row[column.field] = cell
    return row


def _check_rows(rows: list[tuple[int, dict[str, str]]]) -> Preview:
    lookups = _Lookups()
    return Preview([_check_row(number, cells, lookups) for number, cells in rows])


def _check_row(number: int, cells: dict[str, str], lookups: _Lookups) -> Row:
    form, errors = _form(cells, lookups)
    data, form_errors = parse_form(lookups.schema, form)
    for key, messages in form_errors.items():
        errors.setdefault(_field_of(key), messages)
    if not errors:
        try:
            _check_rules(dict(data))
        except RuleViolation as violation:
            errors = violation.as_errors()
    return Row(number, cells, None if errors else data,
               [_row_error(number, key, message) for key, messages in errors.items() for message in messages])


def _row_error(number: int, key: str, message: str) -> str:
    if key not in BY_FIELD:
        return _("%(row)s행: %(message)s", row=number, message=message)
    return _("%(row)s행 '%(column)s': %(message)s", row=number, column=BY_FIELD[key].header, message=message)


def _field_of(key: str) -> str:
    return "schedule" if key.startswith(("opens_", "closes_")) else key


def _check_rules(values: dict) -> None:
    service._check(values)
    service._check_scopes(Scope(values["scope"]), Scope(values["staff_scope"]))


class _Lookups:
    """Choices, need domains and service areas by code or Korean name; the row schema."""

    def __init__(self):
        self.schema = ImportRowForm()
        self.choices = _choice_labels()
        domains = db.session.execute(select(NeedDomain.code, NeedDomain.name).order_by(NeedDomain.sort_order)).all()
        self.domain_codes = {code: code for code, _name in domains} | {name: code for code, name in domains}
        self.domain_names = [name for _code, name in domains]
        areas = db.session.execute(select(Region.code, Region.name).where(
            Region.level.in_((RegionLevel.MUNICIPALITY, RegionLevel.DONG)))).all()
        self.area_codes = {code for code, _name in areas}
        self.area_by_name: dict[str, set[str]] = {}
        for code, name in areas:
            self.area_by_name.setdefault(name, set()).add(code)


def _form(cells: dict[str, str], lookups: _Lookups) -> tuple[MultiDict, dict[str, list[str]]]:
    """The row as a submitted registration form, with Korean names turned into codes."""
    form, errors = MultiDict(), {}
    for column in COLUMNS:
        value = cells[column.field]
        try:
            _put(form, column, value, lookups)
        except RuleViolation as violation:
            errors[column.field] = [violation.message]
    return form, errors


def _put(form: MultiDict, column: Column, value: str, lookups: _Lookups) -> None:
    if column.kind == "text":
        form[column.field] = value
    elif column.kind == "choice":
        form[column.field] = _choice(lookups.choices[column.field], value)
    elif column.kind == "schedule":
        form.update(_schedule(value))
    else:
        items = [item for item in LIST_SEPARATOR.split(value) if item]
        if column.kind == "domains":
            items = [_domain(item, lookups) for item in items]
        elif column.kind == "areas":
            items = [_area(item, lookups) for item in items]
        form.setlist(column.field, items)


def _choice(labels: dict[str, str], value: str) -> str:
    if not value:
        return ""
    codes = {code: code for code in labels} | {label: code for code, label in labels.items()}
    if value not in codes:
        raise RuleViolation(_("다음 중 하나를 입력하세요: %(choices)s.", choices=", ".join(labels.values())))
    return codes[value]


def _domain(item: str, lookups: _Lookups) -> str:
    if item not in lookups.domain_codes:
        raise RuleViolation(_("'%(value)s'은(는) 없는 욕구 영역입니다. 다음 중에서 입력하세요: %(choices)s.",
                              value=item, choices=", ".join(lookups.domain_names)))
    return lookups.domain_codes[item]


def _area(item: str, lookups: _Lookups) -> str:
    if item in lookups.area_codes:
        return item
    codes = lookups.area_by_name.get(item, set())
    if len(codes) > 1:
        raise RuleViolation(_("'%(value)s'이라는 지역이 여러 곳입니다. 행정구역 코드로 입력하세요.", value=item))
    if not codes:
        raise RuleViolation(_("'%(value)s'은(는) 없는 지역입니다. 시군구나 읍면동의 이름 또는 행정구역 코드로 입력하세요.",
                              value=item))
    return next(iter(codes))


def _schedule(value: str) -> dict[str, str]:
    """'월 09:00-18:00, 수 09:00-12:00' -> the form's opens_0/closes_0 ... fields."""
    slots = {}
    for item in (i for i in LIST_SEPARATOR.split(value) if i):
        match = SCHEDULE_SLOT.match(item)
        if match is None:
            raise RuleViolation(_("운영 시간은 '월 09:00-18:00, 수 09:00-12:00'처럼 요일과 시간으로 입력하세요."))
        day = WEEKDAY_NAMES.index(match[1])
        if f"opens_{day}" in slots:
            raise RuleViolation(_("같은 요일의 운영 시간을 두 번 입력했습니다: %(day)s.", day=match[1]))
        slots[f"opens_{day}"], slots[f"closes_{day}"] = match[2].zfill(5), match[3].zfill(5)
    return slots


# -- from the preview to the confirmation -----------------------------------------------------------------

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="hanaro.resources.import")


def seal(checked: Preview, submission: str) -> str:
    """The checked rows, signed for the confirmation form: bound to this tenant, user and
    submission token, valid for an hour."""
    token = _serializer().dumps({
        "tenant": context.current_tenant_id(), "user": context.current_user_id(), "submission": submission,
        "rows": [[row.number, [row.cells[c.field] for c in COLUMNS]] for row in checked.rows],
    })
    if len(token) > MAX_SEALED:
        raise RuleViolation(_l("파일 내용이 많아 한 번에 가져올 수 없습니다. 행을 나누어 여러 번 올리세요."), field=FILE)
    return token


def unseal(token: str, submission: str) -> Preview:
    """The rows sealed by ``seal``, checked again (the registry may have changed since)."""
    expired = RuleViolation(_l("가져오기 준비가 만료되었거나 올바르지 않습니다. 파일을 다시 올리세요."), field=FILE)
    try:
        payload = _serializer().loads(token, max_age=SEALED_MAX_AGE)
    except BadSignature:
        raise expired from None
    mine = (payload.get("tenant"), payload.get("user"), payload.get("submission")) == (
        context.current_tenant_id(), context.current_user_id(), submission)
    if not mine or not submission:
        raise expired
    return _check_rows([(number, dict(zip(BY_FIELD, cells))) for number, cells in payload["rows"]])


def import_rows(checked: Preview, actor) -> list[Resource]:
    """Register every row through ``service.register`` (history, search index, freshness as with
    the form). All or nothing: the caller commits once or rolls back."""
    if not checked.ok:
        raise RuleViolation(_l("오류가 있는 행이 있어 아무것도 가져오지 않았습니다."), field=FILE)
    return [service.register(dict(row.values), actor) for row in checked.rows]


# -- exports -------------------------------------------------------------------------------------------------

def domain_names() -> dict[str, str]:
    return dict(db.session.execute(select(NeedDomain.code, NeedDomain.name)).all())


def visible_resources() -> list[Resource]:
    """Own resources and other tenants' ones shared with the active tenant (not stale)."""
    return service.own_resources() + service.shared_resources()


def template_table() -> list[list[str]]:
    domains = domain_names()
    example = {**EXAMPLE, "need_domains": ", ".join(domains[c] for c in EXAMPLE_DOMAINS if c in domains)}
    return [[c.header for c in COLUMNS], [example.get(c.field, "") for c in COLUMNS]]


def export_table(resources: list[Resource]) -> list[list[str]]:
    """The resources in the import format plus registrant and verification date; staff-only
    fields blank where the viewer is outside their staff scope."""
    names = {"need_domains": domain_names(),
             **_choice_labels()}
    header = [c.header for c in COLUMNS + EXPORT_ONLY]
    return [header] + [_export_row(r, names) for r in resources]


def _export_row(resource: Resource, names: dict) -> list[str]:
    staff = service.staff_fields_visible(resource)
    return [_safe("" if c.field in service.STAFF_ONLY_FIELDS and not staff else _file_value(resource, c, names))
            for c in COLUMNS + EXPORT_ONLY]


def _file_value(resource: Resource, column: Column, names: dict) -> str:
    if column.field == "registrant":
        return resource.tenant.name
    value = getattr(resource, column.field)
    if value is None:
        return ""
    if column.kind == "choice":
        return names[column.field][value.value]
    if column.kind == "schedule":
        return ", ".join(f"{WEEKDAY_NAMES[s['weekday']]} {s['opens']}-{s['closes']}" for s in value)
    if column.kind == "domains":
        value = [names["need_domains"].get(code, code) for code in value]
    if isinstance(value, list):
        return ", ".join(value)
    return value.isoformat() if isinstance(value, date) else str(value)


def to_xlsx(table: list[list[str]]) -> bytes:
    return spreadsheets.to_xlsx(table, "자원")


def hsds_export(resources: list[Resource]) -> dict:
    """The HSDS ``Page`` of every resource given, with staff contacts only within staff scope."""
    domains = domain_names()
    codes = {c for r in resources for c in (r.service_area_codes or [])} | {r.province_code for r in resources}
    regions = dict(db.session.execute(select(Region.code, Region.name).where(Region.code.in_(codes - {None}))).all())
    return hsds.page(resources, len(resources), 1, max(1, len(resources)), staff_fields=service.staff_fields_visible,
                     domain_names=domains, region_names=regions)
