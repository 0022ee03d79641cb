"""The ``[[pilots]]`` section of a tenant registry file (``tenants/*.toml``): pilot workspaces as data.

Validated and applied by ``tenancy.registry`` together with the rest of the file, with the same
promises: a bad file is reported by key and reason and changes nothing; applying twice creates
once; what the file declares wins on re-applying (dates, leaving dates, switch states), while what
coordinators added on screen and the file does not mention (another participant, a planner) stays.

    [[pilots]]
    code = "jeju-hanaro"                      # stable key
    name = "…"
    coordinator = "jeju-province"             # the tenant that runs it (its pilot coordinators)
    regions = ["5011025000", …]               # the pilot's 읍면동 (or 시군구)
    participants = [{ tenant = "hallim-dong", joined = 2026-03-01, left = 2026-09-30 }, …]
    phases = [{ phase = "preparation", start = 2026-03-01, end = 2026-05-31 }, …]
    planners = [{ name = "…", dong = "5011025000", email = "…" }, …]   # email optional
    features = { pilot_feedback = "pilot", pilot_metrics = "everyone" }   # off | pilot | everyone
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..core.db import db
from ..tenancy import context
from . import service
from .features import FEATURES
from .models import FeatureSwitch, Participant, Phase, PhasePeriod, SwitchState, VillagePlanner, Workspace, WorkspaceStatus

PHASE_VALUES = [p.value for p in Phase]
SWITCH_VALUES = [s.value for s in SwitchState]


class ParticipantEntry(Schema):
    tenant = fields.String(required=True)
    joined = fields.Date(required=True)
    left = fields.Date(load_default=None)


class PhaseEntry(Schema):
    phase = fields.String(required=True, validate=validate.OneOf(PHASE_VALUES))
    start = fields.Date(required=True)
    end = fields.Date(load_default=None)


class PlannerEntry(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    dong = fields.String(required=True)
    email = fields.Email(load_default=None)


class PilotEntry(Schema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9-]{2,64}$"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(load_default=None)
    coordinator = fields.String(required=True)
    status = fields.String(load_default=WorkspaceStatus.ACTIVE.value,
                           validate=validate.OneOf([s.value for s in WorkspaceStatus]))
    regions = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    participants = fields.List(fields.Nested(ParticipantEntry), load_default=list)
    phases = fields.List(fields.Nested(PhaseEntry), load_default=list)
    planners = fields.List(fields.Nested(PlannerEntry), load_default=list)
    # Checked by reference_problems, so an unknown key is reported with the known ones.
    features = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)


class ApplyError(Exception):
    """A problem only the database can reveal (reported like a validation problem)."""

    def __init__(self, problem: str):
        super().__init__(problem)
        self.problem = problem


_PHASE_PROBLEMS = {
    "end_before_start": "ends before it starts",
    "overlap": "overlaps phase '{other}'",
    "order": "starts before phase '{other}', which comes first",
}


def reference_problems(entries: list[dict], tenants: set[str], regions: set[str], users: set[str]) -> list[str]:
    """What ``entries`` refer to that does not exist, and rules the schema cannot express.
    ``tenants``, ``regions`` and ``users`` are the codes/e-mails known from the file and the database."""
    problems = []
    seen_codes, claimed = set(), {}
    for i, pilot in enumerate(entries):
        at = f"pilots[{i}]"
        if pilot["code"] in seen_codes:
            problems.append(f"{at}.code: '{pilot['code']}' appears twice")
        seen_codes.add(pilot["code"])
        if pilot["coordinator"] not in tenants:
            problems.append(f"{at}.coordinator: unknown tenant '{pilot['coordinator']}'")
        for j, code in enumerate(pilot["regions"]):
            if code not in regions:
                problems.append(f"{at}.regions[{j}]: unknown region code '{code}'")
        problems += _participant_problems(at, pilot, tenants)
        problems += _phase_problems(at, pilot["phases"])
        for j, planner in enumerate(pilot["planners"]):
            if planner["dong"] not in regions:
                problems.append(f"{at}.planners[{j}].dong: unknown region code '{planner['dong']}'")
            elif planner["dong"] not in pilot["regions"]:
                problems.append(f"{at}.planners[{j}].dong: '{planner['dong']}' is not one of the pilot's regions")
            if planner["email"] and planner["email"].lower() not in users:
                problems.append(f"{at}.planners[{j}].email: unknown user '{planner['email']}'")
        for key, state in pilot["features"].items():
            if key not in FEATURES:
                problems.append(f"{at}.features.{key}: unknown feature (known: {', '.join(sorted(FEATURES))})")
            elif key in claimed:
                problems.append(f"{at}.features.{key}: already switched by pilots[{claimed[key]}]; "
                                "a feature follows one workspace")
            else:
                claimed[key] = i
            if state not in SWITCH_VALUES:
                problems.append(f"{at}.features.{key}: unknown state '{state}' (one of: {', '.join(SWITCH_VALUES)})")
    return problems


def _participant_problems(at: str, pilot: dict, tenants: set[str]) -> list[str]:
    problems, seen = [], set()
    for j, participant in enumerate(pilot["participants"]):
        code = participant["tenant"]
        if code not in tenants:
            problems.append(f"{at}.participants[{j}].tenant: unknown tenant '{code}'")
        elif code == pilot["coordinator"]:
            problems.append(f"{at}.participants[{j}].tenant: '{code}' runs the pilot; it is not also a participant")
        if code in seen:
            problems.append(f"{at}.participants[{j}].tenant: '{code}' appears twice")
        seen.add(code)
        if participant["left"] and participant["left"] < participant["joined"]:
            problems.append(f"{at}.participants[{j}].left: before joined")
    return problems


def _phase_problems(at: str, phases: list[dict]) -> list[str]:
    problems, seen, indexes = [], set(), {}
    for j, entry in enumerate(phases):
        if entry["phase"] in seen:
            problems.append(f"{at}.phases[{j}].phase: '{entry['phase']}' appears twice")
        seen.add(entry["phase"])
        indexes.setdefault(Phase(entry["phase"]), j)
    if len(seen) < len(phases):
        return problems
    periods = {Phase(e["phase"]): (e["start"], e["end"]) for e in phases}
    for problem in service.phase_problems(periods):
        field = "end" if problem.field == "end" else "start"
        message = _PHASE_PROBLEMS[problem.kind].format(other=problem.other.value if problem.other else "")
        problems.append(f"{at}.phases[{indexes[problem.phase]}].{field}: {message}")
    return problems


def apply(entries: list[dict], tenants: dict, find_user, report) -> None:
    """Create or update every workspace of ``entries`` as its coordinating tenant. ``tenants`` maps
    codes to Tenant rows; ``find_user(email)`` returns a User; ``report`` counts what changed."""
    for i, entry in enumerate(entries):
        coordinator = tenants[entry["coordinator"]]
        with context.acting_as(coordinator.id, None):
            workspace = _apply_workspace(i, entry, report)
            for participant in entry["participants"]:
                _apply_participant(workspace, tenants[participant["tenant"]], participant, report)
            for phase in entry["phases"]:
                _apply_phase(workspace, phase, report)
            for planner in entry["planners"]:
                user = find_user(planner["email"]) if planner["email"] else None
                _apply_planner(workspace, planner, user, report)
            db.session.flush()
        for key, state in entry["features"].items():
            _apply_switch(workspace, key, SwitchState(state), report)
    db.session.flush()


def _set(obj, values: dict) -> bool:
    changed = False
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    return changed


def _upsert(model, existing, values, report, kind):
    if existing is None:
        obj = model(**values)
        db.session.add(obj)
        report.count(report.created, kind)
        return obj
    if _set(existing, values):
        report.count(report.updated, kind)
    return existing


def _apply_workspace(i: int, entry: dict, report) -> Workspace:
    # Looked up as the coordinating tenant: under RLS nothing else would find it.
    existing = db.session.scalar(select(Workspace).where(Workspace.code == entry["code"]))
    values = {"code": entry["code"], "name": entry["name"], "description": entry["description"],
              "region_codes": list(entry["regions"]), "status": WorkspaceStatus(entry["status"])}
    if existing is not None:
        return _upsert(Workspace, existing, values, report, "pilots")
    workspace = Workspace(**values)
    try:
        with db.session.begin_nested():
            db.session.add(workspace)
            db.session.flush()
    except IntegrityError as error:  # the code is taken by a workspace another tenant runs
        raise ApplyError(f"pilots[{i}].code: '{entry['code']}' is already used by a workspace another tenant "
                         "runs; the coordinating tenant of a workspace cannot change") from error
    report.count(report.created, "pilots")
    return workspace


def _apply_participant(workspace, tenant, entry, report) -> None:
    existing = db.session.scalar(select(Participant).where(Participant.workspace_id == workspace.id,
                                                           Participant.participant_tenant_id == tenant.id))
    values = {"workspace_id": workspace.id, "participant_tenant_id": tenant.id, "joined_on": entry["joined"],
              "left_on": entry["left"]}
    _upsert(Participant, existing, values, report, "pilot participants")


def _apply_phase(workspace, entry, report) -> None:
    phase = Phase(entry["phase"])
    existing = db.session.scalar(select(PhasePeriod).where(PhasePeriod.workspace_id == workspace.id,
                                                           PhasePeriod.phase == phase))
    values = {"workspace_id": workspace.id, "phase": phase, "starts_on": entry["start"], "ends_on": entry["end"]}
    _upsert(PhasePeriod, existing, values, report, "pilot phases")


def _apply_planner(workspace, entry, user, report) -> None:
    existing = db.session.scalar(select(VillagePlanner).where(VillagePlanner.workspace_id == workspace.id,
                                                              VillagePlanner.name == entry["name"],
                                                              VillagePlanner.dong_code == entry["dong"]))
    values = {"workspace_id": workspace.id, "name": entry["name"], "dong_code": entry["dong"],
              "user_id": user.id if user else None}
    _upsert(VillagePlanner, existing, values, report, "pilot planners")


def _apply_switch(workspace, key: str, state: SwitchState, report) -> None:
    existing = db.session.scalar(select(FeatureSwitch).where(FeatureSwitch.key == key))
    values = {"key": key, "state": state, "workspace_id": workspace.id}
    if existing is not None and (existing.state != state or existing.workspace_id != workspace.id):
        existing.changed_by_user_id = None  # changed by the registry file, not by a person
    _upsert(FeatureSwitch, existing, values, report, "feature switches")
