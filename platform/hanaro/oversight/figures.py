"""Region figures for the province (and for each municipality about itself): plain numbers over the
records the viewer may see — a province sees its municipalities', a municipality its own.

* **Inspections done vs planned** in a year: the inspections planned for a date in that year; of
  those, ``done`` = completed and ``cancelled``; ``planned`` leaves the cancelled ones out (they
  left the plan), so the rate is done / planned.
* **Findings by area**: findings of inspections conducted in the year.
* **Overdue actions**: corrective actions awaiting the facility past their due date, today.
* **Sanctions by type**: sanctions in force (the newest entry of each chain, not withdrawn) decided
  in the year.
* **Grade distribution**: evaluations of the year's cycles.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from ..core import clock
from ..core.db import db
from ..tenancy.models import Tenant
from .models import (
    AWAITING_FACILITY, Area, CorrectiveAction, Evaluation, Finding, Inspection, InspectionStatus, Sanction,
    SanctionType,
)
from .evaluations import GRADES
from .sanctions import in_force_statement


def _year(column, year: int):
    return column.between(date(year, 1, 1), date(year, 12, 31))


def _status_counts(year: int, *group_by):
    return db.session.execute(select(*group_by, Inspection.status, func.count())
                              .where(_year(Inspection.planned_on, year)).group_by(*group_by, Inspection.status))


def _done_vs_planned(counts: dict[str, int]) -> dict:
    planned = sum(n for status, n in counts.items() if status != InspectionStatus.CANCELLED.value)
    done = counts.get(InspectionStatus.COMPLETED.value, 0)
    return {"planned": planned, "done": done, "cancelled": counts.get(InspectionStatus.CANCELLED.value, 0),
            "rate": round(done * 100 / planned, 1) if planned else None}


def inspections_done_vs_planned(year: int) -> dict:
    """{planned, done, cancelled, rate (percent or None)}."""
    counts = {InspectionStatus(status).value: n for status, n in _status_counts(year)}
    return _done_vs_planned(counts)


def inspections_by_municipality(year: int) -> list[dict]:
    """[{tenant, planned, done, cancelled, rate}] per supervising municipality, by name."""
    counts: dict[int, dict[str, int]] = {}
    for tenant_id, status, n in _status_counts(year, Inspection.tenant_id):
        counts.setdefault(tenant_id, {})[InspectionStatus(status).value] = n
    return [{"tenant": name, **_done_vs_planned(counts[tenant_id])} for tenant_id, name in _names(counts)]


def _names(ids) -> list[tuple[int, str]]:
    if not ids:
        return []
    return list(db.session.execute(select(Tenant.id, Tenant.name).where(Tenant.id.in_(list(ids)))
                                   .order_by(Tenant.name)))


def findings_by_area(year: int) -> dict[str, int]:
    """{area code: findings} for every area, zeros included, in the areas' order."""
    rows = dict(db.session.execute(
        select(Finding.area, func.count()).join(Inspection, Inspection.id == Finding.inspection_id)
        .where(_year(Inspection.conducted_on, year)).group_by(Finding.area)).all())
    rows = {Area(area).value: n for area, n in rows.items()}
    return {area.value: rows.get(area.value, 0) for area in Area}


def _overdue(today: date):
    return (CorrectiveAction.state.in_([s.value for s in AWAITING_FACILITY]), CorrectiveAction.due_on < today)


def overdue_actions(today: date | None = None) -> int:
    return db.session.scalar(select(func.count()).select_from(CorrectiveAction)
                             .where(*_overdue(today or clock.today()))) or 0


def overdue_by_municipality(today: date | None = None) -> list[dict]:
    """[{tenant, overdue}] for the municipalities with any, by name."""
    counts = dict(db.session.execute(
        select(CorrectiveAction.tenant_id, func.count()).where(*_overdue(today or clock.today()))
        .group_by(CorrectiveAction.tenant_id)).all())
    return [{"tenant": name, "overdue": counts[tenant_id]} for tenant_id, name in _names(counts)]


def sanctions_by_type(year: int) -> dict[str, int]:
    """{sanction type: sanctions in force decided in the year} for every type."""
    newest = in_force_statement().where(_year(Sanction.decided_on, year)).subquery()
    rows = dict(db.session.execute(select(newest.c.sanction_type, func.count()).group_by(newest.c.sanction_type)).all())
    rows = {SanctionType(t).value: n for t, n in rows.items()}
    return {t.value: rows.get(t.value, 0) for t in SanctionType}


def grade_distribution(year: int) -> dict[str, int]:
    """{grade: evaluations of the year's cycles} for A–F."""
    rows = dict(db.session.execute(select(Evaluation.grade, func.count()).where(Evaluation.year == year)
                                   .group_by(Evaluation.grade)).all())
    return {grade: rows.get(grade, 0) for grade, _floor in GRADES}


def region_figures(year: int, today: date | None = None) -> dict:
    """All of the above for one year (overdue as of ``today``)."""
    today = today or clock.today()
    return {
        "year": year,
        "inspections": inspections_done_vs_planned(year),
        "inspections_by_municipality": inspections_by_municipality(year),
        "findings_by_area": findings_by_area(year),
        "overdue_actions": overdue_actions(today),
        "overdue_by_municipality": overdue_by_municipality(today),
        "sanctions_by_type": sanctions_by_type(year),
        "grades": grade_distribution(year),
    }
