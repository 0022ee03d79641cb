"""Service evaluations (사회서비스평가): the municipality records each cycle's results (a cycle is a
year and a facility type, with its areas and their maximum scores), per facility: a score per area,
the total, and the grade that follows from it. Callers commit.

**The grade rule** (that of the social welfare facility evaluation): the total as a percentage of
the cycle's maximum, rounded to two decimals, gives A from 90, B from 80, C from 70, D from 60 and
F below 60.

Averages are over the evaluations the viewer may see: a municipality compares a facility with the
facilities of its type it supervises, a province with those of its whole province. A facility sees
only its own evaluations, so it gets its history, not an average of others.
"""
from __future__ import annotations

from dataclasses import dataclass
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import NotFound

from ..core import clock
from ..core.db import db
from ..core.rules import RuleViolation
from .models import FACILITY_TYPE_LABELS, Evaluation, EvaluationCycle, Facility, FacilityType
from .service import part_of, require, require_supervisor
from .states import Side

GRADES = (("A", 90), ("B", 80), ("C", 70), ("D", 60), ("F", 0))
DEFAULT_AREAS = (
    {"code": "environment", "label": "시설 및 환경", "max_score": 10},
    {"code": "organisation", "label": "재정 및 조직운영", "max_score": 15},
    {"code": "staff", "label": "인적자원관리", "max_score": 20},
    {"code": "programmes", "label": "프로그램 및 서비스", "max_score": 30},
    {"code": "rights", "label": "이용자의 권리", "max_score": 15},
    {"code": "community", "label": "지역사회관계", "max_score": 10},
)


def percent(total: float, max_total: float) -> float:
    return round(total * 100 / max_total, 2) if max_total else 0.0


def grade_for(total: float, max_total: float) -> str:
    share = percent(total, max_total)
    return next(grade for grade, floor in GRADES if share >= floor)


# -- cycles -------------------------------------------------------------------------------------------------

def get_cycle_or_404(public_id: str) -> EvaluationCycle:
    cycle = db.session.scalar(select(EvaluationCycle).where(EvaluationCycle.public_id == public_id).limit(1))
    if cycle is None:
        raise NotFound()
    return cycle


def list_cycles(year: int | None = None) -> list[EvaluationCycle]:
    statement = select(EvaluationCycle)
    if year is not None:
        statement = statement.where(EvaluationCycle.year == year)
    return list(db.session.scalars(statement.order_by(EvaluationCycle.year.desc(), EvaluationCycle.facility_type)))


def create_cycle(values: dict, actor) -> EvaluationCycle:
    """``year``, ``facility_type``, ``name`` (default "<year>년 <type> 평가"), ``areas`` (default
    :data:`DEFAULT_AREAS`: [{code, label, max_score}])."""
    supervisor = require_supervisor()
    year = values.get("year")
    if not isinstance(year, int) or not 2000 <= year <= clock.today().year + 1:
        raise RuleViolation(_l("평가 연도를 입력하세요."), field="year")
    try:
        facility_type = FacilityType(values.get("facility_type"))
    except ValueError:
        raise RuleViolation(_l("시설 유형을 고르세요."), field="facility_type") from None
    name = (values.get("name") or "").strip() or str(
        _l("%(year)s년 %(type)s 평가", year=year, type=FACILITY_TYPE_LABELS[facility_type]))
    cycle = EvaluationCycle(tenant_id=supervisor.id, year=year, facility_type=facility_type, name=name[:200],
                            areas=_areas(values.get("areas") or DEFAULT_AREAS))
    try:
        with db.session.begin_nested():
            db.session.add(cycle)
            db.session.flush()
    except IntegrityError:
        raise RuleViolation(_l("이 연도와 시설 유형의 평가 주기가 이미 있습니다."), field="year") from None
    return cycle


def _areas(rows) -> list[dict]:
    areas, codes = [], set()
    for n, row in enumerate(rows, 1):
        code, label = str(row.get("code") or "").strip(), str(row.get("label") or "").strip()
        max_score = row.get("max_score")
        if not code or not label or code in codes:
            raise RuleViolation(_l("평가 영역마다 서로 다른 코드와 이름을 입력하세요."), field=f"areas-{n}")
        if not isinstance(max_score, (int, float)) or max_score <= 0:
            raise RuleViolation(_l("영역의 배점은 0보다 커야 합니다."), field=f"areas-{n}")
        codes.add(code)
        areas.append({"code": code, "label": label, "max_score": max_score})
    if not areas:
        raise RuleViolation(_l("평가 영역을 하나 이상 입력하세요."), field="areas")
    return areas


# -- results ------------------------------------------------------------------------------------------------

def get_evaluation_or_404(public_id: str) -> Evaluation:
    evaluation = db.session.scalar(select(Evaluation).where(Evaluation.public_id == public_id).limit(1))
    if evaluation is None:
        raise NotFound()
    return evaluation


def record(cycle: EvaluationCycle, facility: Facility, values: dict, actor) -> Evaluation:
    """A facility's result in ``cycle``: ``scores`` ({area code: score}), ``evaluated_on``,
    ``comment`` (the evaluator's)."""
    require(facility, Side.INSPECTOR)
    if cycle.tenant_id != facility.tenant_id:
        raise NotFound()
    if facility.facility_type is not cycle.facility_type:
        raise RuleViolation(_l("이 평가 주기는 %(type)s 대상입니다.", type=cycle.type_label), field="facility")
    evaluation = Evaluation(tenant_id=facility.tenant_id, facility_id=facility.id, cycle_id=cycle.id, year=cycle.year,
                            facility_type=cycle.facility_type, recorded_by_user_id=actor.id if actor else None)
    _score(evaluation, cycle.areas, values)
    try:
        with db.session.begin_nested():
            db.session.add(evaluation)
            db.session.flush()
    except IntegrityError:
        raise RuleViolation(_l("이 시설의 이 평가 주기 결과가 이미 있습니다. 그 결과를 고치세요."), field="facility") from None
    return evaluation


def update(evaluation: Evaluation, values: dict, actor) -> None:
    """Correct the scores, date or comment (the grade follows)."""
    require(evaluation, Side.INSPECTOR)
    areas = [{k: row[k] for k in ("code", "label", "max_score")} for row in evaluation.scores]
    merged = {"scores": {row["code"]: row["score"] for row in evaluation.scores},
              "evaluated_on": evaluation.evaluated_on, "comment": evaluation.comment, **values}
    _score(evaluation, areas, merged)
    db.session.flush()


def _score(evaluation: Evaluation, areas: list[dict], values: dict) -> None:
    given = values.get("scores") or {}
    scores = []
    for area in areas:
        score = given.get(area["code"])
        if not isinstance(score, (int, float)) or not 0 <= score <= area["max_score"]:
            raise RuleViolation(_l("%(area)s 점수를 0에서 %(max)s 사이로 입력하세요.", area=area["label"],
                                   max=area["max_score"]), field=f"score-{area['code']}")
        scores.append({**area, "score": score})
    evaluated_on = values.get("evaluated_on")
    if evaluated_on is None:
        raise RuleViolation(_l("평가일을 입력하세요."), field="evaluated_on")
    if evaluated_on > clock.today():
        raise RuleViolation(_l("평가일은 오늘 이후일 수 없습니다."), field="evaluated_on")
    evaluation.scores = scores
    evaluation.total = round(sum(row["score"] for row in scores), 2)
    evaluation.max_total = sum(row["max_score"] for row in scores)
    evaluation.grade = grade_for(evaluation.total, evaluation.max_total)
    evaluation.evaluated_on = evaluated_on
    evaluation.comment = (values.get("comment") or "").strip() or None


def history(facility: Facility) -> list[Evaluation]:
    """The facility's evaluations, latest cycle first."""
    return list(db.session.scalars(select(Evaluation).where(part_of(Evaluation, facility))
                                   .order_by(Evaluation.year.desc(), Evaluation.id.desc())))


def results_of(cycle: EvaluationCycle) -> dict[int, Evaluation]:
    """{facility id: its evaluation} in ``cycle``."""
    return {e.facility_id: e for e in db.session.scalars(select(Evaluation).where(part_of(Evaluation, cycle, "cycle_id")))}


@dataclass
class TypeAverage:
    count: int
    percent: float | None  # the average of the totals as a percentage of the maximum
    by_area: dict[str, float]  # area code -> average score


def type_average(year: int, facility_type: str) -> TypeAverage:
    """The average of ``year``'s evaluations of ``facility_type`` the viewer may see (its region)."""
    rows = list(db.session.scalars(select(Evaluation).where(Evaluation.year == year,
                                                            Evaluation.facility_type == facility_type)))
    if not rows:
        return TypeAverage(0, None, {})
    by_area: dict[str, list[float]] = {}
    for row in rows:
        for area in row.scores:
            by_area.setdefault(area["code"], []).append(area["score"])
    return TypeAverage(len(rows), round(sum(r.percent for r in rows) / len(rows), 1),
                       {code: round(sum(scores) / len(scores), 2) for code, scores in by_area.items()})


def comparison(evaluation: Evaluation) -> tuple[Evaluation, TypeAverage]:
    """The evaluation beside the average of its type and year in the viewer's region."""
    return evaluation, type_average(evaluation.year, evaluation.facility_type.value)


def progress(cycle: EvaluationCycle) -> tuple[int, int]:
    """(facilities with a result, open facilities of the cycle's type) for the cycle's municipality."""
    done = db.session.scalar(select(func.count()).select_from(Evaluation).where(part_of(Evaluation, cycle, "cycle_id")))
    total = db.session.scalar(select(func.count()).select_from(Facility).where(
        Facility.tenant_id == cycle.tenant_id, Facility.facility_type == cycle.facility_type.value,
        Facility.closed_on.is_(None)))
    return done or 0, total or 0
