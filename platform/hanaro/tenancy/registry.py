"""Apply a declarative tenant registry (``tenants/*.toml``) idempotently.

The whole file is validated first; a bad file is reported by key and reason and nothing is
changed. Applying creates what is missing and updates what differs; it never duplicates and
never removes what administrators added on screen.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate
from sqlalchemy import select

from ..accounts import service as accounts
from ..accounts.models import User
from ..core.db import db
from ..pilots import registry as pilots_registry  # the [[pilots]] section: pilot workspaces as data
from . import context
from .models import AgreementAction, AgreementEvent, AgreementStatus, Membership, RecordKind, Region, RegionLevel, Role, RoleChange, RoleChangeAction, SharingAgreement, Tenant, TenantKind


class RegionEntry(Schema):
    code = fields.String(required=True, validate=validate.Regexp(r"^\d{2,10}$"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    level = fields.String(required=True, validate=validate.OneOf([l.value for l in RegionLevel]))
    parent = fields.String(load_default=None)


class TenantEntry(Schema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9-]{2,64}$"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in TenantKind]))
    region = fields.String(required=True)
    parent = fields.String(load_default=None)


class AgreementEntry(Schema):
    key = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9-]{2,100}$"))
    owner = fields.String(required=True)
    partner = fields.String(required=True)
    purpose = fields.String(required=True, validate=validate.Length(min=2))
    record_kinds = fields.List(
        fields.String(validate=validate.OneOf([k.value for k in RecordKind])),
        required=True,
        validate=validate.Length(min=1),
    )
    valid_from = fields.Date(required=True)
    valid_to = fields.Date(load_default=None)
    # A proposal the partner has not answered yet (the demo shows one); otherwise signed by both.
    proposed = fields.Boolean(load_default=False)


class MembershipEntry(Schema):
    tenant = fields.String(required=True)
    roles = fields.List(
        fields.String(validate=validate.OneOf([r.value for r in Role])),
        required=True,
        validate=validate.Length(min=1),
    )


class UserEntry(Schema):
    email = fields.Email(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    operator = fields.Boolean(load_default=False)
    memberships = fields.List(fields.Nested(MembershipEntry), load_default=list)


class DemoEntry(Schema):
    password = fields.String(required=True, validate=validate.Length(min=10))


class RegistryFile(Schema):
    class Meta:
        unknown = EXCLUDE

    name = fields.String(load_default=None)
    regions = fields.List(fields.Nested(RegionEntry), load_default=list)
    tenants = fields.List(fields.Nested(TenantEntry), load_default=list)
    agreements = fields.List(fields.Nested(AgreementEntry), load_default=list)
    users = fields.List(fields.Nested(UserEntry), load_default=list)
    pilots = fields.List(fields.Nested(pilots_registry.PilotEntry), load_default=list)
    demo = fields.Nested(DemoEntry, load_default=None)


class RegistryError(Exception):
    def __init__(self, path: Path, problems: list[str]):
        self.path = path
        self.problems = problems
        super().__init__("\n".join(f"{path.name}: {p}" for p in problems))


@dataclass
class ApplyReport:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    def count(self, bucket: dict, kind: str) -> None:
        bucket[kind] = bucket.get(kind, 0) + 1

    def summary(self) -> str:
        def fmt(bucket):
            return ", ".join(f"{k} {v}" for k, v in sorted(bucket.items())) or "-"

        return f"created: {fmt(self.created)}; updated: {fmt(self.updated)}"


def _flatten_errors(messages, prefix="") -> list[str]:
    problems = []
    for key, value in messages.items():
        path = f"{prefix}.{key}" if prefix and not isinstance(key, int) else (f"{prefix}[{key}]" if isinstance(key, int) else str(key))
        if isinstance(value, dict):
            problems += _flatten_errors(value, path)
        else:
            problems += [f"{path}: {m}" for m in value]
    return problems


def load(path: Path) -> dict:
    """Parse and validate a registry file; raises RegistryError listing every problem."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise RegistryError(path, [f"cannot read TOML: {error}"]) from error
    try:
        data = RegistryFile().load(raw)
    except ValidationError as error:
        raise RegistryError(path, _flatten_errors(error.messages)) from error
    problems = _reference_problems(data)
    if problems:
        raise RegistryError(path, problems)
    return data


def _known_region_codes() -> set[str]:
    return set(db.session.scalars(select(Region.code)))


def _known_tenant_codes() -> set[str]:
    return set(db.session.scalars(select(Tenant.code)))


def _reference_problems(data: dict) -> list[str]:
    regions = {r["code"] for r in data["regions"]} | _known_region_codes()
    tenants = {t["code"] for t in data["tenants"]} | _known_tenant_codes()
    problems = []
    problems += _duplicates("regions", [r["code"] for r in data["regions"]], "code")
    problems += _duplicates("tenants", [t["code"] for t in data["tenants"]], "code")
    problems += _duplicates("agreements", [a["key"] for a in data["agreements"]], "key")
    problems += _duplicates("users", [u["email"].lower() for u in data["users"]], "email")
    for i, region in enumerate(data["regions"]):
        if region["parent"] and region["parent"] not in regions:
            problems.append(f"regions[{i}].parent: unknown region code '{region['parent']}'")
    for i, tenant in enumerate(data["tenants"]):
        if tenant["region"] not in regions:
            problems.append(f"tenants[{i}].region: unknown region code '{tenant['region']}'")
        if tenant["parent"] and tenant["parent"] not in tenants:
            problems.append(f"tenants[{i}].parent: unknown tenant '{tenant['parent']}'")
    for i, agreement in enumerate(data["agreements"]):
        for side in ("owner", "partner"):
            if agreement[side] not in tenants:
                problems.append(f"agreements[{i}].{side}: unknown tenant '{agreement[side]}'")
        if agreement["owner"] == agreement["partner"]:
            problems.append(f"agreements[{i}].partner: a tenant cannot agree with itself")
        if agreement["valid_to"] and agreement["valid_to"] < agreement["valid_from"]:
            problems.append(f"agreements[{i}].valid_to: ends before valid_from")
    for i, user in enumerate(data["users"]):
        for j, membership in enumerate(user["memberships"]):
            if membership["tenant"] not in tenants:
                problems.append(f"users[{i}].memberships[{j}].tenant: unknown tenant '{membership['tenant']}'")
    if data["pilots"]:
        users = {u["email"].lower() for u in data["users"]} | _known_user_emails(data["pilots"])
        problems += pilots_registry.reference_problems(data["pilots"], tenants, regions, users)
    return problems


def _known_user_emails(pilots: list[dict]) -> set[str]:
    emails = {p["email"].lower() for pilot in pilots for p in pilot["planners"] if p["email"]}
    return {email for email in emails if accounts.find_user_by_email(email) is not None}


def _duplicates(section: str, values: list[str], key: str) -> list[str]:
    seen, problems = set(), []
    for i, value in enumerate(values):
        if value in seen:
            problems.append(f"{section}[{i}].{key}: '{value}' appears twice")
        seen.add(value)
    return problems


def apply(path: Path, demo: bool = False) -> ApplyReport:
    """Validate then apply ``path`` in the caller's transaction (the caller commits)."""
    with context.unscoped():
        data = load(path)
    report = ApplyReport()
    with context.unscoped():
        _apply_regions(data["regions"], report)
        tenants = _apply_tenants(data["tenants"], report)
        password = data["demo"]["password"] if demo and data["demo"] else None
        users = _apply_users(data["users"], password, report)
    for entry in data["users"]:
        user = users[entry["email"].lower()]
        for membership in entry["memberships"]:
            tenant = tenants[membership["tenant"]]
            with context.acting_as(tenant.id, None):
                _apply_membership(tenant, user, membership["roles"], report)
    for entry in data["agreements"]:
        owner = tenants[entry["owner"]]
        with context.acting_as(owner.id, None):
            _apply_agreement(entry, owner, tenants[entry["partner"]], report)
    try:
        pilots_registry.apply(data["pilots"], tenants,
                              lambda email: users.get(email.lower()) or accounts.find_user_by_email(email), report)
    except pilots_registry.ApplyError as error:
        raise RegistryError(path, [error.problem]) from error
    db.session.flush()
    return report


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


def _apply_regions(entries, report) -> None:
    # Parents first, whatever the file's order.
    order = {RegionLevel.PROVINCE.value: 0, RegionLevel.MUNICIPALITY.value: 1, RegionLevel.DONG.value: 2}
    for entry in sorted(entries, key=lambda e: order[e["level"]]):
        values = {"code": entry["code"], "name": entry["name"], "level": RegionLevel(entry["level"]), "parent_code": entry["parent"]}
        _upsert(Region, db.session.get(Region, entry["code"]), values, report, "regions")
        db.session.flush()


def _apply_tenants(entries, report) -> dict[str, Tenant]:
    tenants = {t.code: t for t in db.session.scalars(select(Tenant))}
    for entry in sorted(entries, key=lambda e: e["parent"] is not None):
        parent = tenants.get(entry["parent"]) if entry["parent"] else None
        values = {
            "code": entry["code"],
            "name": entry["name"],
            "kind": TenantKind(entry["kind"]),
            "region_code": entry["region"],
            "parent_id": parent.id if parent else None,
        }
        values["province_code"] = _province_of(entry["region"])
        tenants[entry["code"]] = _upsert(Tenant, tenants.get(entry["code"]), values, report, "tenants")
        db.session.flush()
    return tenants


def _province_of(region_code: str) -> str:
    return db.session.get(Region, region_code).province().code


def _apply_users(entries, password, report) -> dict[str, User]:
    users = {}
    for entry in entries:
        email = accounts.normalise_email(entry["email"])
        user = accounts.find_user_by_email(email)
        values = {"email": email, "display_name": entry["name"], "is_platform_operator": entry["operator"]}
        user = _upsert(User, user, values, report, "users")
        if password and (user.password_hash is None or not accounts.password_matches(user, password)):
            user.password_hash = accounts.hash_password(password)
        users[email] = user
    db.session.flush()
    return users


def _apply_membership(tenant, user, roles, report) -> None:
    roles = sorted(set(roles))
    membership = db.session.scalar(
        select(Membership).where(Membership.tenant_id == tenant.id, Membership.user_id == user.id)
    )
    if membership is None:
        membership = Membership(user_id=user.id, roles=roles, active=True)
        db.session.add(membership)
        db.session.flush()
        db.session.add(RoleChange(user_id=user.id, action=RoleChangeAction.GRANTED, roles_before=[], roles_after=roles))
        report.count(report.created, "memberships")
    elif membership.roles != roles or not membership.active:
        before = [] if not membership.active else list(membership.roles)
        membership.roles = roles
        membership.make_active()  # the registry declares its people members (an open invitation is settled)
        db.session.add(RoleChange(user_id=user.id, action=RoleChangeAction.CHANGED, roles_before=before, roles_after=roles))
        report.count(report.updated, "memberships")
    db.session.flush()


def _apply_agreement(entry, owner, partner, report) -> None:
    existing = db.session.scalar(
        select(SharingAgreement).where(
            SharingAgreement.tenant_id == owner.id, SharingAgreement.registry_key == entry["key"]
        )
    )
    values = {
        "registry_key": entry["key"],
        "partner_tenant_id": partner.id,
        "purpose": entry["purpose"],
        "record_kinds": sorted(set(entry["record_kinds"])),
        "valid_from": entry["valid_from"],
        "valid_to": entry["valid_to"],
    }
    # The file records agreements both sides have signed: a new one is in force at once. Re-applying
    # never changes its status (a revoked one stays revoked), nor its terms: both sides signed those.
    changed = [name for name, value in values.items() if existing is not None and getattr(existing, name) != value]
    if changed:
        raise RegistryError(Path(entry["key"]), [
            f"agreement '{entry['key']}': the terms of a signed agreement never change ({', '.join(changed)}); "
            "add a new agreement instead"])
    agreement = _upsert(SharingAgreement, existing, values, report, "agreements")
    if existing is None:
        proposed = entry["proposed"]
        agreement.status = AgreementStatus.PROPOSED if proposed else AgreementStatus.ACCEPTED
        db.session.flush()
        db.session.add(AgreementEvent(agreement_id=agreement.id, counterpart_tenant_id=partner.id,
                                      action=AgreementAction.PROPOSED if proposed else AgreementAction.REGISTERED,
                                      note=None if proposed else entry["key"]))
    db.session.flush()


def login_lines(data: dict) -> list[str]:
    """One line per demo user: e-mail, tenant and roles, for the demo's start-up banner."""
    names = {t["code"]: t["name"] for t in data["tenants"]}
    lines = []
    for user in data["users"]:
        if user["operator"]:
            lines.append(f"{user['email']:<28} platform operator (운영자)")
        for membership in user["memberships"]:
            roles = ", ".join(membership["roles"])
            lines.append(f"{user['email']:<28} {names.get(membership['tenant'], membership['tenant'])} — {roles}")
    return lines
