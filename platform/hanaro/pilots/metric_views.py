"""Pilot metrics screens (시범사업 지표): the dashboard of a workspace, one CSV per figure, and the
coordinators' "지금 다시 계산".

Everything shown is read from the figures the tenants posted (``metrics``); no record of another
tenant is ever queried here. The coordinating tenant's pilot coordinators see every reporter's
figures; a participating tenant (when the ``pilot_metrics`` switch is on for it) sees the same
dashboard built from its own figures only, as the policy allows. Anyone else gets 404.
"""
from __future__ import annotations

import csv
import io
from datetime import date
from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ..core.access import behind_feature, tenant_member
from ..core.db import db
from ..resources.models import SCOPE_LABELS, SCOPE_ORDER
from . import charts, metrics, service
from .access import coordinates, reads_figures
from .charts import Figure, Series
from .models import FEEDBACK_CATEGORY_LABELS, FEEDBACK_STATUS_LABELS, FeedbackCategory, FeedbackStatus, Workspace

bp = Blueprint("pilot_metrics", __name__, url_prefix="/pilot-metrics")


# -- loading -------------------------------------------------------------------------------------------

# -- routes ----------------------------------------------------------------------------------------------

@bp.get("/")
@tenant_member()
@behind_feature("pilot_metrics")
def index():
    """The workspaces whose figures the active tenant may look at."""
    workspaces = [w for w in db.session.scalars(select(Workspace).order_by(Workspace.created_at.desc()))
                  if not service.runs(w) or service.is_coordinator(w)]
    return render_template("pilots/metrics_index.html", workspaces=workspaces)


@bp.get("/<public_id>")
@tenant_member(check=reads_figures, subject=service.get_workspace_or_404)
@behind_feature("pilot_metrics")
def dashboard(public_id):
    workspace = service.get_workspace_or_404(public_id)
    data = metrics.dashboard_data(workspace)
    return render_template("pilots/metrics.html", workspace=workspace, data=data, figures=build_figures(data),
                           can_recompute=service.is_coordinator(workspace))


@bp.get("/<public_id>/<figure>.csv")
@tenant_member(check=reads_figures, subject=service.get_workspace_or_404)
@behind_feature("pilot_metrics")
def figure_csv(public_id, figure):
    workspace = service.get_workspace_or_404(public_id)
    if figure not in FIGURE_KEYS:
        abort(404)
    chosen = next(f for f in build_figures(metrics.dashboard_data(workspace)) if f.key == figure)
    body = to_csv(chosen)
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    filename = f"{workspace.code}-{figure}.csv"
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{quote(filename)}\"; filename*=UTF-8''{quote(filename)}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.post("/<public_id>/recompute")
@tenant_member(check=coordinates, subject=service.get_workspace_or_404)
@behind_feature("pilot_metrics")
def recompute(public_id):
    """Ask every reporting tenant to post its figures again (after this request commits)."""
    workspace = service.get_workspace_or_404(public_id)
    asked = metrics.recompute(workspace)
    flash(_("%(n)s개 기관에 지표 다시 계산을 요청했습니다. 잠시 뒤 새로 고치면 반영됩니다.", n=asked), "success")
    return redirect(url_for("pilot_metrics.dashboard", public_id=workspace.public_id), 303)


# -- figures -----------------------------------------------------------------------------------------------

FIGURE_KEYS = ("referrals", "answer-time", "answer-time-distribution", "cases-by-dong", "cross-sector",
               "resources-by-scope", "feedback-weekly", "feedback-by-category", "pilot-comparison")


def _week(week: date) -> str:
    return week.isoformat()


def _short(week: date) -> str:
    return f"{week.month}/{week.day}"


def _direction_labels() -> dict[str, str]:
    return {"public_to_private": _("공공 → 민간"), "private_to_public": _("민간 → 공공"),
            "public_to_public": _("공공 → 공공"), "private_to_private": _("민간 → 민간")}


def _bucket_labels() -> list[tuple[str, str]]:
    labels, lower = [], 0
    for bound in metrics.ANSWER_BUCKETS:
        labels.append((str(bound), _("%(hours)s시간 이내", hours=bound) if lower == 0
                       else _("%(low)s–%(high)s시간", low=lower, high=bound)))
        lower = bound
    labels.append((metrics.OPEN_BUCKET, _("%(hours)s시간 초과", hours=metrics.ANSWER_BUCKETS[-1])))
    return labels


def _median_text(median: metrics.Median | None) -> str:
    if median is None:
        return "–"
    if median.open_ended:
        return _("%(hours)s시간 초과", hours=f"{median.lower:g}")
    return _("약 %(hours)s시간", hours=f"{median.hours:g}")


def _bucket_text(median: metrics.Median | None) -> str:
    if median is None or median.open_ended:
        return ""
    return f"{median.lower:g}–{median.upper:g}"


def build_figures(data: metrics.MetricsData) -> list[Figure]:
    weeks = data.weeks
    labels = [_short(w) for w in weeks]
    figures = []
    total_sent, total_answered, total_completed = (sum(c[w] for w in weeks) for c in
                                                   (data.sent, data.answered, data.completed))

    # 1. referrals per week
    sent, answered, completed = _("보낸 의뢰"), _("응답한 의뢰"), _("완료된 의뢰")
    summary = _("최근 %(weeks)s주 동안 보낸 의뢰 %(sent)s건, 받은 기관이 응답한 의뢰 %(answered)s건, 완료된 의뢰 "
                "%(completed)s건.", weeks=len(weeks), sent=total_sent, answered=total_answered,
                completed=total_completed)
    figures.append(Figure(
        "referrals", _("주별 서비스의뢰: 보냄 · 응답 · 완료"), summary,
        [_("주 (월요일 시작)"), sent, answered, completed],
        [[_week(w), str(data.sent[w]), str(data.answered[w]), str(data.completed[w])] for w in weeks],
        charts.line_chart("chart-referrals", _("주별 서비스의뢰: 보냄 · 응답 · 완료"), summary, labels,
                          [Series(sent, [data.sent[w] for w in weeks]),
                           Series(answered, [data.answered[w] for w in weeks]),
                           Series(completed, [data.completed[w] for w in weeks])], unit=_("건")),
        note=_("보낸 의뢰와 완료는 보낸 기관이, 응답(수락·대기·거절 중 첫 응답)은 받은 기관이 집계합니다."),
    ))

    # 2. median time to answer per week
    overall = data.median
    summary = _("응답까지 걸린 시간의 중앙값은 %(median)s입니다 (응답 %(n)s건).", median=_median_text(overall),
                n=sum(data.histogram.values()))
    weekly = [data.weekly_median(w) for w in weeks]
    figures.append(Figure(
        "answer-time", _("주별 응답 시간 중앙값"), summary,
        [_("주 (월요일 시작)"), _("응답 건수"), _("중앙값 (시간)"), _("중앙값이 속한 구간 (시간)")],
        [[_week(w), str(sum(data.weekly_histogram.get(w, {}).values())), metrics.hours_label(m), _bucket_text(m)]
         for w, m in zip(weeks, weekly)],
        charts.line_chart("chart-answer-time", _("주별 응답 시간 중앙값"), summary, labels,
                          [Series(_("중앙값"), [m.hours if m and not m.open_ended else None for m in weekly])],
                          unit=_("시간")),
        note=_("기관별 응답 시간을 정해진 구간으로 모아 합친 뒤, 가운데 응답이 속한 구간 안에서 비례로 추정한 값입니다. "
               "오차는 그 구간의 폭 이내입니다. 응답이 없는 주는 비어 있습니다."),
    ))

    # 3. the distribution of answer times
    buckets = _bucket_labels()
    summary = _("받은 기관의 첫 응답까지 걸린 시간을 구간별로 센 값입니다 (응답 %(n)s건).", n=sum(data.histogram.values()))
    figures.append(Figure(
        "answer-time-distribution", _("응답까지 걸린 시간 분포"), summary,
        [_("응답까지 걸린 시간"), _("응답 건수")],
        [[label, str(data.histogram[key])] for key, label in buckets],
        charts.bar_chart("chart-answer-time-distribution", _("응답까지 걸린 시간 분포"), summary,
                         [label for _key, label in buckets],
                         [Series(_("응답 건수"), [data.histogram[key] for key, _label in buckets])]),
    ))

    # 4. cases opened per dong
    dongs = sorted(data.cases_by_dong, key=lambda c: (c not in data.pilot_dongs, c == "", data.dong_names.get(c, c)))
    names = [data.dong_names.get(c, c) if c else _("읍면동 미기재") for c in dongs]
    pilot_label, other_label = _("시범 지역"), _("그 밖의 지역")
    summary = _("최근 %(weeks)s주 동안 새로 연 사례 %(n)s건을 사례의 읍면동별로 센 값입니다.", weeks=len(weeks),
                n=sum(data.cases_by_dong.values()))
    figures.append(Figure(
        "cases-by-dong", _("읍면동별 신규 사례"), summary,
        [_("읍면동"), _("구분"), _("신규 사례")],
        [[name, pilot_label if c in data.pilot_dongs else other_label, str(data.cases_by_dong[c])]
         for c, name in zip(dongs, names)],
        charts.bar_chart("chart-cases-by-dong", _("읍면동별 신규 사례"), summary, names,
                         [Series(pilot_label, [data.cases_by_dong[c] if c in data.pilot_dongs else 0 for c in dongs]),
                          Series(other_label, [0 if c in data.pilot_dongs else data.cases_by_dong[c] for c in dongs])],
                         unit=_("건")),
        text_columns=(1,),
    ))

    # 5. referrals crossing public-private lines
    directions = _direction_labels()
    total = sum(data.cross.values())
    shares = {d: (data.cross[d] / total if total else None) for d in metrics.DIRECTIONS}
    summary = _("보낸 의뢰 %(total)s건 중 %(crossing)s건(%(share)s)이 공공과 민간의 경계를 넘었습니다.", total=total,
                crossing=sum(data.cross[d] for d in metrics.CROSSING), share=metrics.percent(data.cross_share))
    figures.append(Figure(
        "cross-sector", _("공공 · 민간 경계를 넘은 의뢰"), summary,
        [_("보낸 기관 → 받은 기관"), _("의뢰 수"), _("비율")],
        [[directions[d], str(data.cross[d]), metrics.percent(shares[d])] for d in metrics.DIRECTIONS],
        charts.bar_chart("chart-cross-sector", _("공공 · 민간 경계를 넘은 의뢰"), summary,
                         [directions[d] for d in metrics.DIRECTIONS],
                         [Series(_("경계를 넘은 의뢰"),
                                 [data.cross[d] if d in metrics.CROSSING else 0 for d in metrics.DIRECTIONS]),
                          Series(_("같은 부문 안의 의뢰"),
                                 [0 if d in metrics.CROSSING else data.cross[d] for d in metrics.DIRECTIONS])],
                         value_labels=[f"{data.cross[d]} ({metrics.percent(shares[d])})" for d in metrics.DIRECTIONS]),
        note=_("공공: 광역·시군구·읍면동·공공기관, 민간: 사회복지관·민간단체·사회복지시설."),
    ))

    # 6. resources by sharing scope
    scopes = [s.value for s in SCOPE_ORDER]
    summary = _("지금 등록되어 있는 자원 %(n)s건을 공유 범위별로 센 값입니다.", n=sum(data.resources_by_scope.values()))
    figures.append(Figure(
        "resources-by-scope", _("공유 범위별 자원"), summary,
        [_("공유 범위"), _("자원 수")],
        [[str(SCOPE_LABELS[s]), str(data.resources_by_scope[s.value])] for s in SCOPE_ORDER],
        charts.bar_chart("chart-resources-by-scope", _("공유 범위별 자원"), summary,
                         [str(SCOPE_LABELS[s]) for s in SCOPE_ORDER],
                         [Series(_("자원 수"), [data.resources_by_scope[s] for s in scopes])], unit=_("건")),
    ))

    # 7. feedback over time, by status
    statuses = list(FeedbackStatus)
    status_labels = [str(FEEDBACK_STATUS_LABELS[s]) for s in statuses]
    feedback_total = sum(sum(c.values()) for c in data.feedback_by_category.values())
    summary = _("최근 %(weeks)s주 동안 받은 현장 의견 %(n)s건을 보낸 주와 지금 처리 상태별로 센 값입니다.", weeks=len(weeks),
                n=feedback_total)
    figures.append(Figure(
        "feedback-weekly", _("주별 현장 의견과 처리 상태"), summary,
        [_("주 (월요일 시작)"), *status_labels, _("합계")],
        [[_week(w), *[str(data.feedback_weekly.get(w, {}).get(s.value, 0)) for s in statuses],
          str(sum(data.feedback_weekly.get(w, {}).values()))] for w in weeks],
        charts.column_chart("chart-feedback-weekly", _("주별 현장 의견과 처리 상태"), summary, labels,
                            [Series(label, [data.feedback_weekly.get(w, {}).get(s.value, 0) for w in weeks])
                             for s, label in zip(statuses, status_labels)], unit=_("건")),
    ))

    # 8. feedback by category and status
    categories = list(FeedbackCategory)
    category_labels = [str(FEEDBACK_CATEGORY_LABELS[c]) for c in categories]
    summary = _("현장 의견 %(n)s건을 분류와 처리 상태별로 센 값입니다.", n=feedback_total)
    by_category = [data.feedback_by_category.get(c.value, {}) for c in categories]
    figures.append(Figure(
        "feedback-by-category", _("분류별 현장 의견과 처리 상태"), summary,
        [_("분류"), *status_labels, _("합계")],
        [[label, *[str(counts.get(s.value, 0)) for s in statuses], str(sum(counts.values()))]
         for label, counts in zip(category_labels, by_category)],
        charts.bar_chart("chart-feedback-by-category", _("분류별 현장 의견과 처리 상태"), summary, category_labels,
                         [Series(label, [counts.get(s.value, 0) for counts in by_category])
                          for s, label in zip(statuses, status_labels)], unit=_("건")),
    ))

    # 9. pilot agencies and the other agencies of the region
    pilot, others = data.groups[True], data.groups[False]
    pilot_name, others_name = _("시범 참여 기관"), _("같은 광역의 다른 기관")
    summary = _("보낸 의뢰: 시범 참여 기관 %(pilot)s건, 같은 광역의 다른 기관 %(others)s건. 응답 시간 중앙값: %(pm)s, %(om)s.",
                pilot=pilot.sent, others=others.sent, pm=_median_text(pilot.median), om=_median_text(others.median))
    rows = [
        [_("보고한 기관 수"), str(pilot.reporters), str(others.reporters)],
        [sent, str(pilot.sent), str(others.sent)],
        [answered, str(pilot.answered), str(others.answered)],
        [completed, str(pilot.completed), str(others.completed)],
        [_("응답 시간 중앙값 (시간)"), metrics.hours_label(pilot.median), metrics.hours_label(others.median)],
        [_("공공 · 민간 경계를 넘은 의뢰 비율"), metrics.percent(pilot.cross_share), metrics.percent(others.cross_share)],
        [_("신규 사례"), str(pilot.cases), str(others.cases)],
    ]
    figures.append(Figure(
        "pilot-comparison", _("시범 참여 기관과 같은 광역의 다른 기관 비교"), summary,
        [_("지표"), pilot_name, others_name], rows,
        charts.line_chart("chart-pilot-comparison", _("주별 보낸 의뢰: 시범 참여 기관과 다른 기관"), summary, labels,
                          [Series(pilot_name, [pilot.weekly_sent[w] for w in weeks]),
                           Series(others_name, [others.weekly_sent[w] for w in weeks])], unit=_("건")),
        note=_("시범 참여 기관은 지금 참여 중인 기관과 시범사업을 운영하는 기관입니다. 같은 광역의 다른 기관도 "
               "자기 기록의 집계만 보고합니다."),
    ))
    assert tuple(f.key for f in figures) == FIGURE_KEYS
    return figures


def to_csv(figure: Figure) -> bytes:
    """The figure's table as CSV, UTF-8 with a BOM so Excel reads the Hangul."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(figure.columns)
    for row in figure.rows:
        writer.writerow([_guard(cell) for cell in row])
    return buffer.getvalue().encode("utf-8-sig")


def _guard(cell: str) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas (a dong name never should)."""
    if cell and cell[0] in "=+@\t\r" or (cell.startswith("-") and not _is_number(cell)):
        return "'" + cell
    return cell


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
