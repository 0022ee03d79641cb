"""Administrative sanctions (행정처분): a facility's history, append-only. A recorded sanction is never
changed or deleted (``guard`` and migration 0010); a correction — a wrong date, an appeal's outcome,
a sanction withdrawn — is a new entry naming the one it corrects, and only the newest entry of a
chain can be corrected, so each chain has one entry in force. Callers commit.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import NotFound

from ..core import clock
from ..core.db import db
from ..core.rules import RuleViolation
from . import guard as _guard  # noqa: F401  (the ORM refuses UPDATE/DELETE of sanctions)
from .models import (
    SANCTION_TYPE_LABELS, AppealStatus, Facility, Finding, Sanction, SanctionFinding, SanctionType,
)
from .service import link, notify_facility, part_of, require
from .states import Conflict, Side

# Types with a sum of money (과태료, 환수액) and types that last for a period (사업 정지).
WITH_AMOUNT = (SanctionType.FINE, SanctionType.SUBSIDY_RECOVERY)
WITH_END = (SanctionType.SUSPENSION,)
FIELDS = ("sanction_type", "legal_basis", "reason", "decided_on", "effective_from", "effective_to", "amount",
          "appeal_status")


def get_sanction_or_404(public_id: str) -> Sanction:
    sanction = db.session.scalar(select(Sanction).where(Sanction.public_id == public_id).limit(1))
    if sanction is None:
        raise NotFound()
    return sanction


def record(facility: Facility, values: dict, actor) -> Sanction:
    """A new sanction: ``sanction_type``, ``legal_basis``, ``reason``, ``decided_on``,
    ``effective_from``, ``effective_to`` (사업 정지), ``amount`` (과태료, 보조금 환수; 원),
    ``appeal_status`` (default 해당 없음), ``findings`` (public ids of the facility's findings it
    follows). The facility is told."""
    require(facility, Side.INSPECTOR)
    sanction = Sanction(tenant_id=facility.tenant_id, facility_id=facility.id,
                        recorded_by_user_id=actor.id if actor else None, **_checked(values))
    finding_ids = _findings(facility, values.get("findings") or [])
    _save(sanction, finding_ids)
    notify_facility(facility, "oversight_sanction",
                    str(_l("행정처분이 등록되었습니다 (%(type)s, %(tenant)s)", type=sanction.type_label,
                           tenant=facility.tenant.name)), link("sanction", sanction.public_id))
    return sanction


def correct(sanction: Sanction, values: dict, actor) -> Sanction:
    """A correction of the newest entry of a chain: the corrected entry's values overridden by
    ``values``, with a ``correction_reason``; ``withdraws`` records that the sanction no longer
    stands (recorded in error, or cancelled on appeal)."""
    require(sanction, Side.INSPECTOR)
    if superseded_by(sanction) is not None:
        raise Conflict(_l("이미 정정된 기록입니다. 가장 최근 기록을 정정하세요."))
    reason = (values.get("correction_reason") or "").strip()
    if not reason:
        raise RuleViolation(_l("정정 사유를 입력하세요."), field="correction_reason")
    facility = db.session.get(Facility, sanction.facility_id)
    merged = {name: getattr(sanction, name) for name in FIELDS}
    merged.update({name: values[name] for name in FIELDS if name in values})
    correction = Sanction(tenant_id=sanction.tenant_id, facility_id=sanction.facility_id, corrects_id=sanction.id,
                          correction_reason=reason, withdraws=bool(values.get("withdraws")),
                          recorded_by_user_id=actor.id if actor else None, **_checked(merged))
    if "findings" in values:
        finding_ids = _findings(facility, values["findings"] or [])
    else:
        finding_ids = [f.id for f in findings_of(sanction)]
    _save(correction, finding_ids)
    notify_facility(facility, "oversight_sanction",
                    str(_l("행정처분 기록이 정정되었습니다 (%(type)s, %(tenant)s)", type=correction.type_label,
                           tenant=facility.tenant.name)), link("sanction", correction.public_id))
    return correction


def _checked(values: dict) -> dict:
    try:
        sanction_type = SanctionType(values.get("sanction_type"))
    except ValueError:
        raise RuleViolation(_l("처분 종류를 고르세요."), field="sanction_type") from None
    try:
        appeal = AppealStatus(values.get("appeal_status") or AppealStatus.NONE)
    except ValueError:
        raise RuleViolation(_l("불복 상태를 목록에서 고르세요."), field="appeal_status") from None
    texts = {}
    for name, message in (("legal_basis", _l("법적 근거를 입력하세요.")), ("reason", _l("처분 사유를 입력하세요."))):
        texts[name] = (values.get(name) or "").strip()
        if not texts[name]:
            raise RuleViolation(message, field=name)
    if len(texts["legal_basis"]) > 300:
        raise RuleViolation(_l("법적 근거는 300자 이내로 입력하세요."), field="legal_basis")
    decided_on, effective_from, effective_to = _dates(values, sanction_type)
    return {"sanction_type": sanction_type, "appeal_status": appeal, **texts, "decided_on": decided_on,
            "effective_from": effective_from, "effective_to": effective_to, "amount": _amount(values, sanction_type)}


def _dates(values: dict, sanction_type: SanctionType) -> tuple[date, date, date | None]:
    decided_on, effective_from = values.get("decided_on"), values.get("effective_from")
    if decided_on is None:
        raise RuleViolation(_l("처분일을 입력하세요."), field="decided_on")
    if decided_on > clock.today():
        raise RuleViolation(_l("처분일은 오늘 이후일 수 없습니다."), field="decided_on")
    if effective_from is None:
        raise RuleViolation(_l("처분 시행일을 입력하세요."), field="effective_from")
    if effective_from < decided_on:
        raise RuleViolation(_l("시행일은 처분일 이후여야 합니다."), field="effective_from")
    effective_to = values.get("effective_to") if sanction_type in WITH_END else None
    if sanction_type in WITH_END and effective_to is None:
        raise RuleViolation(_l("사업 정지 기간의 끝나는 날을 입력하세요."), field="effective_to")
    if effective_to is not None and effective_to < effective_from:
        raise RuleViolation(_l("끝나는 날은 시행일 이후여야 합니다."), field="effective_to")
    return decided_on, effective_from, effective_to


def _amount(values: dict, sanction_type: SanctionType) -> int | None:
    if sanction_type not in WITH_AMOUNT:
        return None
    amount = values.get("amount")
    if amount is None or amount <= 0:
        raise RuleViolation(_l("%(type)s 금액(원)을 입력하세요.", type=SANCTION_TYPE_LABELS[sanction_type]),
                            field="amount")
    return amount


def _findings(facility: Facility, public_ids) -> list[int]:
    chosen = set(public_ids)
    found = {f.public_id: f.id for f in db.session.scalars(select(Finding).where(
        part_of(Finding, facility), Finding.public_id.in_(chosen)))} if chosen else {}
    if len(found) != len(chosen):
        raise RuleViolation(_l("이 시설의 지적사항만 고를 수 있습니다."), field="findings")
    return sorted(found.values())


def _save(sanction: Sanction, finding_ids: list[int]) -> None:
    """Two corrections of one entry at once: the second is refused by the (tenant, corrects) key."""
    try:
        with db.session.begin_nested():
            db.session.add(sanction)
            db.session.flush()
    except IntegrityError:
        raise Conflict(_l("다른 사람이 방금 이 기록을 정정했습니다. 화면을 새로 고쳐 가장 최근 기록을 확인하세요.")) from None
    for finding_id in finding_ids:
        db.session.add(SanctionFinding(tenant_id=sanction.tenant_id, facility_id=sanction.facility_id,
                                       sanction_id=sanction.id, finding_id=finding_id))
    db.session.flush()


# -- reading ------------------------------------------------------------------------------------------------

def superseded_by(sanction: Sanction) -> Sanction | None:
    return db.session.scalar(select(Sanction).where(part_of(Sanction, sanction, "corrects_id")).limit(1))


def findings_of(sanction: Sanction) -> list[Finding]:
    return list(db.session.scalars(
        select(Finding).join(SanctionFinding, and_(SanctionFinding.tenant_id == Finding.tenant_id,
                                                  SanctionFinding.finding_id == Finding.id))
        .where(part_of(SanctionFinding, sanction, "sanction_id")).order_by(Finding.id)))


def findings_to_follow(facility: Facility) -> list[Finding]:
    """The facility's findings a sanction may follow, newest first."""
    return list(db.session.scalars(select(Finding).where(part_of(Finding, facility))
                                   .order_by(Finding.created_at.desc(), Finding.id.desc())))


@dataclass
class Entry:
    """One entry of the history, as a screen shows it."""

    sanction: Sanction
    corrects: Sanction | None  # the entry it corrects
    superseded_by: Sanction | None  # the entry that corrects it (None: it is the newest of its chain)
    findings: list[Finding]

    @property
    def in_force(self) -> bool:
        return self.superseded_by is None and not self.sanction.withdraws


def history(facility: Facility) -> list[Entry]:
    """Every entry, corrections included, newest first."""
    sanctions = list(db.session.scalars(
        select(Sanction).options(selectinload(Sanction.recorded_by)).where(part_of(Sanction, facility))
        .order_by(Sanction.recorded_at.desc(), Sanction.id.desc())))
    by_id = {s.id: s for s in sanctions}
    successor = {s.corrects_id: s for s in sanctions if s.corrects_id}
    links = db.session.execute(select(SanctionFinding.sanction_id, Finding).join(
        Finding, and_(Finding.tenant_id == SanctionFinding.tenant_id, Finding.id == SanctionFinding.finding_id))
        .where(part_of(SanctionFinding, facility)))
    findings: dict[int, list[Finding]] = {}
    for sanction_id, finding in links:
        findings.setdefault(sanction_id, []).append(finding)
    return [Entry(s, by_id.get(s.corrects_id), successor.get(s.id), findings.get(s.id, [])) for s in sanctions]


def chain(sanction: Sanction) -> list[Sanction]:
    """The entries of ``sanction``'s chain, the original first."""
    first = sanction
    while first.corrects_id is not None:
        first = db.session.get(Sanction, first.corrects_id)
    entries = [first]
    while (following := superseded_by(entries[-1])) is not None:
        entries.append(following)
    return entries


def in_force_statement():
    """SELECT of the sanctions in force: the newest entry of each chain, not withdrawn."""
    corrected = select(Sanction.corrects_id).where(Sanction.corrects_id.is_not(None))
    return select(Sanction).where(Sanction.id.not_in(corrected), Sanction.withdraws.is_(False))


def in_force(facility: Facility | None = None) -> list[Sanction]:
    """The newest entry of each chain that still stands (of one facility when given), newest
    decision first."""
    statement = in_force_statement()
    if facility is not None:
        statement = statement.where(part_of(Sanction, facility))
    return list(db.session.scalars(statement.order_by(Sanction.decided_on.desc(), Sanction.id.desc())))


def recent(limit: int = 10) -> list[Sanction]:
    """For the overview: the latest decisions in force the active tenant sees."""
    return list(db.session.scalars(in_force_statement().order_by(Sanction.decided_on.desc(), Sanction.id.desc())
                                   .limit(limit)))
