"""Checklist templates (점검표): a municipality's own, copied from a platform default or from one of
its templates, edited freely. Callers commit.

**Why the platform defaults live here, in code, and not in a table.** The defaults follow the
ministry's yearly inspection guidance, so they change with releases, not with anyone's data entry:
shipping them with the code versions them with it (a reviewable diff, no data migration to keep in
step), there is no global table that looks editable but must not be edited, and no tenant row ever
refers to reference data that could change under it. A municipality gets rows of its own only when
it copies a default (``source_key`` remembers which), and an inspection copies its template's items
when it starts — so editing a default or a template never changes a past inspection.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import NotFound

from ..core.db import db
from ..core.rules import RuleViolation
from .models import FACILITY_TYPE_LABELS, Area, ChecklistTemplate, ChecklistTemplateItem, FacilityType
from .service import require_supervisor
from .states import SIDE_REFUSALS, Side, WrongSide
from ..tenancy import context


@dataclass(frozen=True)
class DefaultTemplate:
    key: str
    facility_type: FacilityType
    items: tuple[tuple[Area, str, str], ...]  # (area, what is checked, the standard and its basis)

    @property
    def name(self) -> str:
        return str(_l("%(type)s 지도점검표 (기본)", type=FACILITY_TYPE_LABELS[self.facility_type]))


_COMMON = (
    (Area.OPERATIONS, "운영위원회를 구성하고 분기마다 개최하여 회의록을 남겼는가", "사회복지사업법 제36조"),
    (Area.OPERATIONS, "운영규정과 연간 사업계획을 갖추고 이용자가 볼 수 있게 게시하였는가", "사회복지사업법 시행규칙 제22조"),
    (Area.STAFFING, "시설 유형별 종사자 배치기준을 충족하는가", "사회복지사업법 시행규칙 별표 및 개별법 시설기준"),
    (Area.STAFFING, "종사자 채용 전 성범죄·아동학대 범죄경력을 조회하였는가", "사회복지사업법 제35조, 아동·청소년의 성보호에 관한 법률 제56조"),
    (Area.STAFFING, "종사자가 인권교육과 보수교육을 이수하였는가", "사회복지사업법 제13조, 제35조의2"),
    (Area.SAFETY, "소방시설 자체점검과 소방훈련을 하고 기록을 보관하는가", "소방시설 설치 및 관리에 관한 법률 제22조"),
    (Area.SAFETY, "정기·수시 안전점검을 하고 지적사항을 조치하였는가", "사회복지사업법 제34조의3"),
    (Area.SAFETY, "화재보험과 배상책임보험에 가입하였는가", "사회복지사업법 제34조의3"),
    (Area.ACCOUNTING, "예산·결산을 법정 절차에 따라 편성하고 공개하였는가", "사회복지법인 및 사회복지시설 재무·회계 규칙"),
    (Area.ACCOUNTING, "후원금을 별도 계좌로 관리하고 수입·사용 내역을 공개하였는가", "재무·회계 규칙 제41조의7"),
    (Area.ACCOUNTING, "보조금을 교부 목적대로 집행하고 증빙을 갖추었는가", "보조금 관리에 관한 법률 제22조"),
    (Area.RIGHTS, "이용자 인권 보호 지침과 고충 처리 절차를 운영하는가", "사회복지사업법 제1조의2"),
    (Area.RIGHTS, "종사자가 학대·인권침해 신고 의무와 절차를 알고 있는가", "사회복지사업법 제35조의2"),
    (Area.RIGHTS, "이용자 기록(개인정보)을 잠금장치가 있는 곳에 두고 접근을 제한하는가", "개인정보 보호법 제29조"),
    (Area.SERVICES, "이용자별 서비스 계획을 세우고 제공 기록을 남기는가", "사회복지사업법 제5조의2"),
)
_MEALS = ((Area.MEALS, "영양사가 확인한 식단을 게시하고 보존식을 144시간 보관하는가", "식품위생법 제88조"),)
_SPECIFIC = {
    FacilityType.ELDERLY: (
        (Area.RIGHTS, "노인학대 예방교육을 연 1회 이상 실시하였는가", "노인복지법 제39조의6"),
        (Area.SERVICES, "낙상·욕창 예방 등 건강관리 기록을 유지하는가", "노인복지법 시행규칙 별표"),
    ),
    FacilityType.DISABLED: (
        (Area.RIGHTS, "거주인의 자기결정을 존중하는 개인별 지원계획을 수립하였는가", "장애인복지법 제60조의4"),
    ),
    FacilityType.CHILD: (
        (Area.STAFFING, "아동 수에 맞는 보호 인력과 생활 공간 기준을 충족하는가", "아동복지법 시행령 별표"),
        (Area.RIGHTS, "종사자가 아동학대 신고의무자 교육을 이수하였는가", "아동학대범죄의 처벌 등에 관한 특례법 제10조의2"),
    ),
    FacilityType.HOMELESS: (
        (Area.SERVICES, "입소자의 자활 지원 계획과 상담 기록을 유지하는가", "노숙인 등의 복지 및 자립지원에 관한 법률 제10조"),
    ),
    FacilityType.MENTAL_HEALTH: (
        (Area.RIGHTS, "입소 동의와 퇴소 의사 확인 절차를 지키는가", "정신건강복지법 제41조"),
    ),
    FacilityType.COMMUNITY_CENTRE: (
        (Area.SERVICES, "사례관리·서비스 제공·지역조직화 기능별 사업을 수행하는가", "사회복지사업법 제34조의5"),
    ),
    FacilityType.WOMEN_FAMILY: (
        (Area.RIGHTS, "입소자 비밀 보장과 시설 위치 비공개 원칙을 지키는가", "성폭력방지 및 피해자보호 등에 관한 법률 제30조"),
    ),
}
RESIDENTIAL = (FacilityType.ELDERLY, FacilityType.DISABLED, FacilityType.CHILD, FacilityType.HOMELESS,
               FacilityType.MENTAL_HEALTH, FacilityType.WOMEN_FAMILY)

DEFAULTS: dict[str, DefaultTemplate] = {
    t.value: DefaultTemplate(t.value, t, _COMMON + (_MEALS if t in RESIDENTIAL else ()) + _SPECIFIC[t])
    for t in FacilityType
}


def defaults() -> list[DefaultTemplate]:
    return list(DEFAULTS.values())


# -- the municipality's templates ----------------------------------------------------------------------

def get_template_or_404(public_id: str) -> ChecklistTemplate:
    template = db.session.scalar(select(ChecklistTemplate).options(selectinload(ChecklistTemplate.items))
                                 .where(ChecklistTemplate.public_id == public_id).limit(1))
    if template is None:
        raise NotFound()
    return template


def list_templates(facility_type: str | None = None, active_only: bool = False) -> list[ChecklistTemplate]:
    statement = select(ChecklistTemplate).where(ChecklistTemplate.tenant_id == context.current_tenant_id())
    if facility_type:
        statement = statement.where(ChecklistTemplate.facility_type == facility_type)
    if active_only:
        statement = statement.where(ChecklistTemplate.active.is_(True))
    return list(db.session.scalars(statement.order_by(ChecklistTemplate.facility_type, ChecklistTemplate.name)))


def copy_default(key: str, actor, name: str | None = None) -> ChecklistTemplate:
    """The active municipality's own copy of a platform default."""
    require_supervisor()
    default = DEFAULTS.get(key)
    if default is None:
        raise RuleViolation(_l("기본 점검표를 목록에서 고르세요."), field="source")
    template = ChecklistTemplate(name=_name(name, default.name), facility_type=default.facility_type,
                                 source_key=default.key)
    template.items = [ChecklistTemplateItem(area=area, position=n, text=text, guidance=guidance)
                      for n, (area, text, guidance) in enumerate(default.items, 1)]
    return _save_new(template)


def copy_template(source: ChecklistTemplate, actor, name: str | None = None) -> ChecklistTemplate:
    """A new template with ``source``'s items (e.g. next year's checklist from this year's)."""
    _require_own(source)
    template = ChecklistTemplate(name=_name(name, str(_l("%(name)s (사본)", name=source.name))),
                                 facility_type=source.facility_type, source_key=source.source_key,
                                 copied_from_id=source.id)
    template.items = [ChecklistTemplateItem(area=i.area, position=i.position, text=i.text, guidance=i.guidance)
                      for i in source.items]
    return _save_new(template)


def _name(name: str | None, fallback: str) -> str:
    name = (name or "").strip() or fallback
    if len(name) > 200:
        raise RuleViolation(_l("이름은 200자 이내로 입력하세요."), field="name")
    return name


def _save_new(template: ChecklistTemplate) -> ChecklistTemplate:
    tenant_id = context.current_tenant_id()
    template.tenant_id = tenant_id
    for item in template.items:
        item.tenant_id = tenant_id
    db.session.add(template)
    db.session.flush()
    return template


def _require_own(template: ChecklistTemplate) -> None:
    if template.tenant_id != context.current_tenant_id():
        raise WrongSide(SIDE_REFUSALS[Side.INSPECTOR])


def update_template(template: ChecklistTemplate, values: dict) -> None:
    """Rename, or take out of use (``active``: inactive templates are not offered for new plans)."""
    _require_own(template)
    if "name" in values:
        if not (values["name"] or "").strip():
            raise RuleViolation(_l("이름을 입력하세요."), field="name")
        template.name = _name(values["name"], "")
    if "active" in values:
        template.active = bool(values["active"])
    db.session.flush()


def save_items(template: ChecklistTemplate, rows: list[dict]) -> None:
    """Replace the template's items by ``rows`` ({area, text, guidance}) in their order. Refused as
    a whole when a row is invalid (``field`` names it: ``items-3-text``)."""
    _require_own(template)
    # Blank rows (a form's spare lines) are skipped; a half-filled one is refused.
    items = [_item(row, n) for n, row in enumerate(rows, 1) if (row.get("text") or "").strip() or row.get("area")]
    for position, item in enumerate(items, 1):
        item.position = position
    if not items:
        raise RuleViolation(_l("점검 항목을 하나 이상 입력하세요."), field="items")
    template.items.clear()
    db.session.flush()
    for item in items:
        item.tenant_id = template.tenant_id
        template.items.append(item)
    db.session.flush()


def add_item(template: ChecklistTemplate, values: dict) -> ChecklistTemplateItem:
    _require_own(template)
    item = _item(values, len(template.items) + 1, prefix=None)
    item.tenant_id = template.tenant_id
    template.items.append(item)
    db.session.flush()
    return item


def remove_item(template: ChecklistTemplate, position: int) -> None:
    _require_own(template)
    remaining = [i for i in template.items if i.position != position]
    if len(remaining) == len(template.items):
        raise NotFound()
    if not remaining:
        raise RuleViolation(_l("점검 항목을 하나 이상 남겨 두세요."), field="items")
    template.items[:] = remaining
    for n, item in enumerate(template.items, 1):
        item.position = n
    db.session.flush()


def _item(row: dict, position: int, prefix: str | None = "items") -> ChecklistTemplateItem:
    field = (lambda name: f"{prefix}-{position}-{name}") if prefix else (lambda name: name)
    try:
        area = Area(row.get("area"))
    except ValueError:
        raise RuleViolation(_l("영역을 고르세요."), field=field("area")) from None
    text = (row.get("text") or "").strip()
    if not text:
        raise RuleViolation(_l("점검 내용을 입력하세요."), field=field("text"))
    if len(text) > 500:
        raise RuleViolation(_l("점검 내용은 500자 이내로 입력하세요."), field=field("text"))
    guidance = (row.get("guidance") or "").strip() or None
    return ChecklistTemplateItem(area=area, position=position, text=text, guidance=guidance)
