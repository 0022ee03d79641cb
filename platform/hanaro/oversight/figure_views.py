"""Region figures of facility oversight (지도점검 통계) as a screen: inspections done vs planned,
findings by area, overdue corrective actions, sanctions in force by type and the grade
distribution, for a year — with inspections and overdue actions also per municipality. Each chart
comes with its table alternative and a CSV.

The numbers come from ``figures``, which counts what the viewer may see: a province its
municipalities' records, a municipality its own. Only supervising tenants (광역, 시군구) have
such figures: facilities, NGOs and every other kind of tenant get 404; the province's members and
the municipality's inspectors read them. No personal data: counts and organisation names only.
"""
from __future__ import annotations

from flask import Blueprint, g, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate

from ..core import clock
from ..core.access import tenant_member
from ..core.forms import FormSchema, parse_form
from ..pilots import charts
from ..pilots.charts import Figure, Series
from ..tenancy.models import TenantKind
from . import figures
from .access import reads_figures
from .evaluations import GRADES
from .models import AREA_LABELS, SANCTION_TYPE_LABELS, Area, SanctionType

bp = Blueprint("oversight_figures", __name__, url_prefix="/oversight/figures")

FIGURES = ("inspections", "findings-by-area", "overdue-actions", "sanctions-by-type", "grades")
YEARS_BACK = 5  # the year filter offers this many years before this one, and next year (plans)


def _years() -> list[int]:
    this_year = clock.today().year
    return list(range(this_year + 1, this_year - YEARS_BACK - 1, -1))


def _year_schema() -> FormSchema:
    """The year filter: one of the years offered (they move with today)."""
    return FormSchema.from_dict({"year": fields.Integer(load_default=None, validate=validate.OneOf(
        _years(), error=_l("목록에 있는 연도를 고르세요.")))}, name="OversightFiguresArgs")()


# -- routes ----------------------------------------------------------------------------------------------

@bp.get("/")
@tenant_member(check=reads_figures)
def overview():
    year, errors = _year()
    return render_template("oversight/figures.html", figures=_figures(year), year=year, errors=errors,
                           province=g.active_tenant.kind is TenantKind.PROVINCE,
                           year_options=[(y, _("%(year)s년", year=y)) for y in _years()])


@bp.get("/<any(" + ", ".join(f"'{key}'" for key in FIGURES) + "):figure>.csv")
@tenant_member(check=reads_figures)
def figure_csv(figure):
    year, _errors = _year()
    chosen = next(f for f in _figures(year) if f.key == figure)
    when = clock.today().isoformat() if figure == "overdue-actions" else str(year)
    return charts.figure_csv_response(chosen, f"oversight-{figure}-{when}.csv")


def _year() -> tuple[int, dict]:
    """The chosen year (this year by default, or when the one asked for is not offered)."""
    data, errors = parse_form(_year_schema(), request.args)
    year = data["year"] if data is not None else None
    return year or clock.today().year, errors


# -- figures -----------------------------------------------------------------------------------------------

def _figures(year: int) -> list[Figure]:
    data = figures.region_figures(year)
    built = [_inspections(year, data["inspections"], data["inspections_by_municipality"]),
             _findings(year, data["findings_by_area"]),
             _overdue(data["overdue_actions"], data["overdue_by_municipality"]),
             _sanctions(year, data["sanctions_by_type"]), _grades(year, data["grades"])]
    assert tuple(f.key for f in built) == FIGURES
    return built


def _percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:g}%"


def _with_total(rows: list[list[str]], total: list[str]) -> list[list[str]]:
    """A 합계 row under several municipalities (one municipality's row is its total)."""
    return rows if len(rows) == 1 else rows + [[_("합계"), *total]]


def _inspections(year: int, total: dict, by_municipality: list[dict]) -> Figure:
    title = _("점검 계획 대비 실시")
    summary = _("%(year)s년에 예정한 점검 %(planned)s건 중 %(done)s건을 마쳤습니다 (실시율 %(rate)s). "
                "취소한 %(cancelled)s건은 계획에서 뺐습니다.", year=year, planned=total["planned"], done=total["done"],
                rate=_percent(total["rate"]), cancelled=total["cancelled"])
    labels = [row["tenant"] for row in by_municipality]
    chart = charts.bar_chart(
        "chart-inspections", title, summary, labels,
        [Series(_("완료"), [row["done"] for row in by_municipality]),
         Series(_("남은 계획"), [row["planned"] - row["done"] for row in by_municipality])],
        value_labels=[_("%(done)s/%(planned)s건 (%(rate)s)", done=row["done"], planned=row["planned"],
                        rate=_percent(row["rate"])) for row in by_municipality])
    rows = [[row["tenant"], str(row["planned"]), str(row["done"]), str(row["cancelled"]), _percent(row["rate"])]
            for row in by_municipality]
    return Figure("inspections", title, summary, [_("관할 기관"), _("계획"), _("완료"), _("취소"), _("실시율")],
                  _with_total(rows, [str(total["planned"]), str(total["done"]), str(total["cancelled"]),
                                     _percent(total["rate"])]),
                  chart, note=_("계획: 그해로 예정한 점검 (취소 제외). 완료: 그중 결과를 통보한 점검. "
                                "실시 중인 점검은 아직 완료로 세지 않습니다."))


def _findings(year: int, counts: dict[str, int]) -> Figure:
    title = _("영역별 지적사항")
    summary = _("%(year)s년에 실시한 점검에서 나온 지적사항 %(n)s건을 영역별로 센 값입니다.", year=year,
                n=sum(counts.values()))
    labels = [str(AREA_LABELS[Area(code)]) for code in counts]
    return Figure("findings-by-area", title, summary, [_("영역"), _("지적사항")],
                  [[label, str(n)] for label, n in zip(labels, counts.values())],
                  charts.bar_chart("chart-findings-by-area", title, summary, labels,
                                   [Series(_("지적사항"), list(counts.values()))], unit=_("건")))


def _overdue(total: int, by_municipality: list[dict]) -> Figure:
    title = _("기한이 지난 시정 요구")
    today = clock.today().isoformat()
    summary = _("오늘(%(today)s) 조치 기한이 지났는데 아직 시설의 조치를 기다리는 시정 요구가 %(n)s건입니다.",
                today=today, n=total)
    rows = [[row["tenant"], str(row["overdue"])] for row in by_municipality]
    return Figure("overdue-actions", title, summary, [_("관할 기관"), _("기한 지남")],
                  _with_total(rows, [str(total)]),
                  charts.bar_chart("chart-overdue-actions", title, summary, [row["tenant"] for row in by_municipality],
                                   [Series(_("기한 지남"), [row["overdue"] for row in by_municipality])], unit=_("건")),
                  note=_("연도와 관계없이 오늘 기준입니다. 조치 요구와 보완 요구 상태만 셉니다 "
                         "(시설이 조치 결과를 내면 검토 중으로 바뀌어 빠집니다)."))


def _sanctions(year: int, counts: dict[str, int]) -> Figure:
    title = _("종류별 행정처분")
    summary = _("%(year)s년에 처분한 행정처분 가운데 지금 효력이 있는 %(n)s건을 종류별로 센 값입니다.", year=year,
                n=sum(counts.values()))
    labels = [str(SANCTION_TYPE_LABELS[SanctionType(code)]) for code in counts]
    return Figure("sanctions-by-type", title, summary, [_("처분 종류"), _("처분")],
                  [[label, str(n)] for label, n in zip(labels, counts.values())],
                  charts.bar_chart("chart-sanctions-by-type", title, summary, labels,
                                   [Series(_("처분"), list(counts.values()))], unit=_("건")),
                  note=_("정정한 처분은 마지막 기록 하나로 세고, 철회한 처분은 세지 않습니다."))


def _grades(year: int, counts: dict[str, int]) -> Figure:
    title = _("사회서비스평가 등급 분포")
    summary = _("%(year)s년 평가에서 결과를 기록한 시설 %(n)s곳을 등급별로 센 값입니다.", year=year,
                n=sum(counts.values()))
    rule = ", ".join(_("%(grade)s %(floor)s%% 이상", grade=grade, floor=floor) for grade, floor in GRADES[:-1])
    return Figure("grades", title, summary, [_("등급"), _("시설")], [[grade, str(n)] for grade, n in counts.items()],
                  charts.column_chart("chart-grades", title, summary, list(counts),
                                      [Series(_("시설"), list(counts.values()))], unit=_("곳")),
                  note=_("등급은 총점이 배점 합계에서 차지하는 비율로 정합니다: %(rule)s, F 그 미만.", rule=rule))
