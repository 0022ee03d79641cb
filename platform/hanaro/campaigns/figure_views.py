"""The organiser's live figures (the seed's 실시간 통계) as screens: every campaign it organises
together (nominations by dong, nominating agency, sponsor and status; households served per
category and month; flags found and resolved), and one campaign on its own (with the dong and
agency quotas beside the counts). Each chart comes with its table alternative and a CSV.

The numbers come from ``figures``, which counts only the active tenant's own campaigns: a
nominating tenant sees an empty overview and gets 404 for a campaign it does not organise
(``own_campaign_or_404``). No personal data is shown: counts, dong and agency names only; the
organiser's campaign staff (자원배분 담당자) and tenant admins read them.
"""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from marshmallow import fields, validate
from sqlalchemy import select

from ..core import clock
from ..core.access import tenant_member
from ..core.db import db
from ..core.forms import FormSchema, parse_form
from ..pilots import charts
from ..pilots.charts import Figure, Series
from ..tenancy.models import Region, Role
from . import figures, service
from .models import FLAG_STATUS_LABELS, Campaign, Category, FlagStatus

bp = Blueprint("campaign_figures", __name__, url_prefix="/campaign-figures")

# The organiser's campaign staff and its tenant admins.
READERS = (Role.CAMPAIGN_ORGANISER, Role.TENANT_ADMIN)

OVERVIEW_FIGURES = ("by-dong", "by-nominator", "by-sponsor", "by-status", "households-served", "flags")
CAMPAIGN_FIGURES = ("by-dong", "by-nominator", "by-status", "flags")


class FiguresArgs(FormSchema):
    year = fields.Integer(load_default=None, validate=validate.Range(
        min=2000, max=2100, error=_l("목록에 있는 연도를 고르세요.")))


# -- routes ----------------------------------------------------------------------------------------------

@bp.get("/")
@tenant_member(*READERS)
def overview():
    args, errors = _args()
    campaigns = service.campaigns_organised()
    built = _overview_figures(args["year"]) if campaigns else []
    return render_template("campaigns/figures.html", campaigns=campaigns, figures=built, year=args["year"],
                           year_options=[(y, _("%(year)s년", year=y)) for y in _delivery_years()], errors=errors)


@bp.get("/<any(" + ", ".join(f"'{key}'" for key in OVERVIEW_FIGURES) + "):figure>.csv")
@tenant_member(*READERS)
def overview_csv(figure):
    args, _errors = _args()
    chosen = _chosen(_overview_figures(args["year"]), figure)
    suffix = f"-{args['year']}" if args["year"] and figure == "households-served" else ""
    return charts.figure_csv_response(chosen, f"campaign-figures-{figure}{suffix}.csv")


@bp.get("/<public_id>")
@tenant_member(*READERS)
def campaign(public_id):
    chosen = service.own_campaign_or_404(public_id)
    return render_template("campaigns/figures_campaign.html", campaign=chosen, figures=_campaign_figures(chosen))


@bp.get("/<public_id>/<figure>.csv")
@tenant_member(*READERS)
def campaign_csv(public_id, figure):
    chosen = service.own_campaign_or_404(public_id)
    if figure not in CAMPAIGN_FIGURES:
        abort(404)
    return charts.figure_csv_response(_chosen(_campaign_figures(chosen), figure),
                                      f"campaign-{chosen.public_id}-{figure}.csv")


def _args() -> tuple[dict, dict]:
    """The period of the households-served figure: a year, or (by default, or when the year is
    not one we can show) the last twelve months."""
    data, errors = parse_form(FiguresArgs(), request.args)
    return (data if data is not None else {"year": None}), errors


def _chosen(built: list[Figure], key: str) -> Figure:
    return next(f for f in built if f.key == key)


# -- figures -----------------------------------------------------------------------------------------------

def _overview_figures(year: int | None) -> list[Figure]:
    built = [_by_dong(figures.by_dong()), _by_nominator(figures.by_nominator()), _by_sponsor(figures.by_sponsor()),
             _by_status(figures.by_status()), _households_served(year), _flags(figures.flags())]
    assert tuple(f.key for f in built) == OVERVIEW_FIGURES
    return built


def _campaign_figures(campaign: Campaign) -> list[Figure]:
    built = [_by_dong(figures.by_dong(campaign), campaign), _by_nominator(figures.by_nominator(campaign), campaign),
             _by_status(figures.by_status(campaign)), _flags(figures.flags(campaign))]
    assert tuple(f.key for f in built) == CAMPAIGN_FIGURES
    return built


def _quota_text(quota: int | None) -> str:
    return _("제한 없음") if quota is None else _("%(n)s가구", n=quota)


def _count_chart(key: str, title: str, summary: str, labels: list[str], counts: list[int],
                 value_labels: list[str] | None = None) -> Markup:
    return charts.bar_chart(f"chart-{key}", title, summary, labels, [Series(_("추천"), counts)], unit=_("건"),
                            value_labels=value_labels)


def _by_dong(rows: list[figures.Row], campaign: Campaign | None = None) -> Figure:
    """Nominations per dong; for one campaign also its dongs with a quota and none nominated yet."""
    counts = {row.key: row.count for row in rows}
    names = {row.key: row.label for row in rows}
    quotas = (campaign.dong_quotas or {}) if campaign is not None else {}
    missing = [code for code in quotas if code not in counts]
    if missing:
        names.update({code: name for code, name in db.session.execute(
            select(Region.code, Region.name).where(Region.code.in_(missing)))})
    codes = [row.key for row in rows] + sorted(missing, key=lambda c: names.get(c, c))
    title = _("읍면동별 추천")
    summary = _("추천 %(n)s건을 추천된 가구가 사는 읍면동별로 센 값입니다 (철회한 추천 제외).", n=sum(counts.values()))
    columns, table, value_labels = [_("읍면동"), _("추천")], [], None
    if quotas:
        columns.append(_("동별 배정 한도"))
        value_labels = [_("%(n)s건 (한도 %(quota)s)", n=counts.get(c, 0), quota=_quota_text(quotas.get(c)))
                        for c in codes]
    for code in codes:
        table.append([names.get(code, code), str(counts.get(code, 0)),
                      *([_quota_text(quotas.get(code))] if quotas else [])])
    return Figure("by-dong", title, summary, columns, table,
                  _count_chart("by-dong", title, summary, [names.get(c, c) for c in codes],
                               [counts.get(c, 0) for c in codes], value_labels),
                  text_columns=(2,) if quotas else ())


def _by_nominator(rows: list[figures.Row], campaign: Campaign | None = None) -> Figure:
    """Nominations per nominating agency; for one campaign every invited agency, with its quota."""
    entries = [(row.label, row.count, None) for row in rows]
    if campaign is not None:
        counts = {row.key: row.count for row in rows}
        invitations = sorted(service.invitations_of(campaign), key=lambda i: (-counts.get(i.nominator.code, 0),
                                                                              i.nominator.name))
        entries = [(i.nominator.name, counts.get(i.nominator.code, 0), i.quota) for i in invitations]
    title = _("추천 기관별 추천")
    summary = _("추천 %(n)s건을 추천한 기관별로 센 값입니다 (철회한 추천 제외).", n=sum(n for _name, n, _q in entries))
    columns = [_("추천 기관"), _("추천")] + ([_("기관별 추천 한도")] if campaign is not None else [])
    table = [[name, str(n), *([_quota_text(quota)] if campaign is not None else [])] for name, n, quota in entries]
    value_labels = ([_("%(n)s건 (한도 %(quota)s)", n=n, quota=_quota_text(quota)) for _name, n, quota in entries]
                    if campaign is not None else None)
    note = _("초대한 기관은 아직 추천하지 않았어도 모두 나옵니다.") if campaign is not None else None
    return Figure("by-nominator", title, summary, columns, table,
                  _count_chart("by-nominator", title, summary, [name for name, _n, _q in entries],
                               [n for _name, n, _q in entries], value_labels),
                  note=note, text_columns=(2,) if campaign is not None else ())


def _by_sponsor(rows: list[figures.Row]) -> Figure:
    title = _("후원자별 추천")
    summary = _("추천 %(n)s건을 캠페인의 후원자별로 센 값입니다 (철회한 추천 제외).", n=sum(row.count for row in rows))
    return Figure("by-sponsor", title, summary, [_("후원자"), _("추천")],
                  [[row.label, str(row.count)] for row in rows],
                  _count_chart("by-sponsor", title, summary, [row.label for row in rows], [row.count for row in rows]))


def _by_status(rows: list[figures.Row]) -> Figure:
    title = _("처리 상태별 추천")
    summary = _("추천 %(n)s건을 지금 처리 상태별로 센 값입니다 (철회한 추천 포함).", n=sum(row.count for row in rows))
    return Figure("by-status", title, summary, [_("처리 상태"), _("추천")],
                  [[row.label, str(row.count)] for row in rows],
                  _count_chart("by-status", title, summary, [row.label for row in rows], [row.count for row in rows]))


def _months(year: int | None) -> list[str]:
    """The months shown ("2026-11"): the twelve of ``year``, or the last twelve up to this month."""
    if year is not None:
        return [f"{year}-{m:02d}" for m in range(1, 13)]
    today = clock.today()
    index = today.year * 12 + today.month - 1
    return [f"{i // 12}-{i % 12 + 1:02d}" for i in range(index - 11, index + 1)]


def _households_served(year: int | None) -> Figure:
    months = _months(year)
    served = [row for row in figures.households_served(year) if row["month"] in months]
    categories = [c.value for c in Category if any(row["category"] == c.value for row in served)]
    labels = {row["category"]: row["label"] for row in served}
    counts = {(row["month"], row["category"]): row["households"] for row in served}
    period = _("%(year)s년", year=year) if year else _("최근 12개월")
    title = _("종류별 지원 가구 (월별)")
    summary = _("%(period)s 동안 지급을 마친 가구 %(n)s곳을 지원 종류와 지급한 달별로 센 값입니다.", period=period,
                n=sum(counts.values()))
    series = [Series(labels[c], [counts.get((m, c), 0) for m in months]) for c in categories] or \
        [Series(_("지원 가구"), [0] * len(months))]
    table = [[m, *[str(counts.get((m, c), 0)) for c in categories],
              str(sum(counts.get((m, c), 0) for c in categories))] for m in months]
    return Figure("households-served", title, summary, [_("지급한 달"), *[labels[c] for c in categories], _("합계")],
                  table,
                  charts.column_chart("chart-households-served", title, summary, [_month_label(m) for m in months],
                                      series, unit=_("가구"), label_every=1),
                  note=_("지급 결과를 '지급 완료'로 기록한 가구만 셉니다. 한 가구가 같은 달에 두 캠페인에서 받으면 두 번 셉니다."))


def _month_label(month: str) -> str:
    year, number = month.split("-")
    return f"{year[2:]}.{number}"


def _flags(rows: list[dict]) -> Figure:
    statuses = (FlagStatus.OPEN, FlagStatus.RESOLVED, FlagStatus.CLEARED)
    status_labels = [str(FLAG_STATUS_LABELS[s]) for s in statuses]
    title = _("점검 결과: 찾은 것과 정리한 것")
    found = sum(row["found"] for row in rows)
    summary = _("자동 점검이 찾은 %(found)s건 중 %(open)s건이 확인을 기다리고, %(resolved)s건은 주관 기관이 해결했으며, "
                "%(cleared)s건은 다시 점검해 해당 없게 되었습니다.", found=found,
                open=sum(row["open"] for row in rows), resolved=sum(row["resolved"] for row in rows),
                cleared=sum(row["cleared"] for row in rows))
    return Figure("flags", title, summary, [_("점검 항목"), _("찾은 건수"), *status_labels],
                  [[row["label"], str(row["found"]), *[str(row[s.value]) for s in statuses]] for row in rows],
                  charts.bar_chart("chart-flags", title, summary, [row["label"] for row in rows],
                                   [Series(label, [row[s.value] for row in rows])
                                    for s, label in zip(statuses, status_labels)],
                                   value_labels=[_("%(n)s건", n=row["found"]) for row in rows]),
                  note=_("해결: 주관 기관이 확인하고 정리함 (제외한 추천의 점검 결과 포함). 해당 없음: 다시 점검했을 때 "
                         "더 이상 맞지 않음 (예: 한도가 늘어남)."))


def _delivery_years() -> list[int]:
    """Years with deliveries, newest first, and this year (the choices of the period)."""
    years = {int(row["month"][:4]) for row in figures.households_served()} | {clock.today().year}
    return sorted(years, reverse=True)

