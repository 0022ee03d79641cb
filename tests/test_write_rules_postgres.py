"""The database refuses rows a tenant writes to let itself in — generated from the policy registry.

On the whole demo (every capability's rows), as the application role under RLS:

* a stranger (a tenant with no agreement, team, grant or invitation anywhere) copies every row of
  every table, making it its own and naming itself wherever the row names a tenant: each copy that
  points at a row the stranger cannot read is refused, and each grant row (case team member, client
  access grant, pilot participant, care meeting member, campaign invitation) is refused whatever it
  points at, because only the owner of the object grants on it;
* every tenant other than the owner that may update a row (a receiver, a team member, a grantee, a
  facility, a coordinator) changes each column of it in turn: only the columns the model names as
  its answer (``participant_columns``) go through; grants are never re-aimed, by the owner either.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from hanaro.core.db import db
from hanaro.demo import campaigns, caseload, catalogue, oversight, pilots, referrals
from hanaro.tenancy import owned, policy, registry
from hanaro.tenancy.context import unscoped
from hanaro.tenancy.models import Region, Tenant, TenantKind

from .conftest import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL only")

JEJU = Path(__file__).resolve().parents[1] / "tenants" / "jeju-pilot.toml"
REFUSED = "42501"  # insufficient_privilege: an RLS policy or the update guard said no
# Tables the demo leaves empty, so neither check can reach them here (their rules are the
# generic ones every other table proves).
NOT_IN_DEMO = {"access_log", "access_reviews", "conferences", "conference_tasks", "notification_deliveries",
               "pilot_metric_figures", "planned_services", "referral_attachments", "role_changes"}


@pytest.fixture
def demo(app, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "RESIDENT_REGISTRY_CSV", str(campaigns.REGISTRY_CSV))
    registry.apply(JEJU, demo=True)
    for loader in (caseload, catalogue, referrals, pilots, campaigns, oversight):
        loader.apply()
    db.session.flush()
    with unscoped():
        region = db.session.scalar(select(Region).where(Region.level == "dong"))
        stranger = Tenant(code="write-rules-stranger", name="낯선 기관", kind=TenantKind.NGO, region=region)
        stranger.sync_province()
        db.session.add(stranger)
        db.session.flush()
    return stranger.id


def _act_as(tenant_id: int | None) -> None:
    db.session.execute(text("select set_config('hanaro.tenant_id', :t, true), set_config('hanaro.user_id', '', true)"),
                       {"t": "" if tenant_id is None else str(tenant_id)})


def _rows(table: str) -> list[dict]:
    """Every row of ``table``, read without RLS: the test's connection switches to the owner role
    for one statement (``SET LOCAL ROLE`` is not available to the app role), so instead each
    owning tenant reads its own rows."""
    rows = {}
    owners = db.session.execute(text("select id from tenants")).scalars().all()
    for tenant_id in owners:
        _act_as(tenant_id)
        for row in db.session.execute(text(f"select * from {table} where tenant_id = :t"), {"t": tenant_id}).mappings():
            rows[row["id"]] = dict(row)
    _act_as(None)
    return list(rows.values())


def _attempt(tenant_id: int, statement: str, params: dict) -> tuple[bool, str]:
    """Run ``statement`` as ``tenant_id`` in a savepoint, undone afterwards: (went through, why not)."""
    savepoint = db.session.begin_nested()
    try:
        _act_as(tenant_id)
        count = db.session.execute(text(statement), params).rowcount
        return count == 1, "" if count == 1 else f"{count} rows"
    except DBAPIError as error:
        return False, getattr(error.orig, "sqlstate", "") or str(error.orig)
    finally:
        savepoint.rollback()
        _act_as(None)


def _tenant_columns(table: str) -> list[str]:
    columns = db.metadata.tables[table].c
    return [c.name for c in columns if c.name != "tenant_id" and any(
        fk.column.table.name == "tenants" for fk in c.foreign_keys)]


def _readable(tenant_id: int, parent_table: str, parent_id) -> bool:
    _act_as(tenant_id)
    try:
        return db.session.execute(text(f"select 1 from {parent_table} where id = :id"), {"id": parent_id}).first() \
            is not None
    finally:
        _act_as(None)


def _copy(table: str, row: dict, stranger: int) -> tuple[str, dict]:
    columns = db.metadata.tables[table].c
    values = {}
    for column in columns:
        if column.name == "id":
            continue
        value = row[column.name]
        if column.name == "tenant_id" or column.name in _tenant_columns(table):
            value = stranger if value is not None else None
        elif column.name == "public_id":
            value = "w" + str(value)[1:]
        elif column.name in ("code", "registry_key") and value is not None:
            value = f"{value}-copy"
        values[column.name] = _bindable(column, value)
    names = ", ".join(values)
    placeholders = ", ".join(_placeholder(columns[name], name) for name in values)
    return f"insert into {table} ({names}) values ({placeholders})", values


def _bindable(column, value):
    import json

    if value is not None and column.type.__class__.__name__ == "JSON":
        return json.dumps(value)
    return value


def _placeholder(column, name: str) -> str:
    return f"cast(:{name} as json)" if column.type.__class__.__name__ == "JSON" else f":{name}"


def _insert_expectation(table: str, row: dict, stranger: int) -> bool:
    """May the stranger insert its copy? Only if it reads everything the copy points at and the
    copy grants on nothing."""
    visibility = policy.visibility_for_table(table)
    for column_name, parent_table in owned.references(table):
        value = row[column_name]
        if value is None:
            continue
        if column_name in visibility.grants_on or not _readable(stranger, parent_table, value):
            return False
    return True


def test_a_stranger_cannot_write_rows_that_point_at_what_it_cannot_read_or_grant_on_what_it_does_not_own(demo):
    stranger = demo
    wrong, covered, empty = [], set(), set()
    for table in sorted(policy.REGISTRY):
        rows = _rows(table)
        if not rows:
            empty.add(table)
            continue
        if not owned.references(table):
            continue
        for row in rows[:25]:
            if not any(row[c] is not None for c, _p in owned.references(table)):
                continue
            statement, params = _copy(table, row, stranger)
            expected = _insert_expectation(table, row, stranger)
            went_through, why = _attempt(stranger, statement, params)
            if went_through != expected or (not went_through and why != REFUSED):
                wrong.append(f"{table} #{row['id']}: expected {'accepted' if expected else 'refused'}, got "
                             f"{'accepted' if went_through else why}")
            covered.add(table)
    assert wrong == []
    assert empty <= NOT_IN_DEMO
    assert {"case_members", "client_access_grants", "pilot_participants", "care_meeting_members",
            "campaign_invitations", "case_notes", "referral_messages", "campaign_nominations"} <= covered


# -- updates ---------------------------------------------------------------------------------------

def _changed(column) -> str:
    """An SQL expression giving ``column`` another value of its own type."""
    name, kind = column.name, column.type.__class__.__name__
    if kind in ("BigInteger", "Integer", "SmallInteger", "Numeric"):
        return f"coalesce({name}, 0) + 1"
    if kind == "Boolean":
        return f"not coalesce({name}, false)"
    if kind == "Date":
        return f"coalesce({name}, current_date) + 1"
    if kind in ("UTCDateTime", "DateTime"):
        return f"coalesce({name}, now()) + interval '1 day'"
    if kind == "JSON":
        return "cast('[\"changed\"]' as json)"
    if kind == "LargeBinary":
        return f"coalesce({name}, ''::bytea) || '\\x00'::bytea"
    return f"case when {name} = 'x' then 'y' else 'x' end"


def _participants(table: str, row: dict) -> set[int]:
    """Tenants other than the owner named by the row, or on the team of the case it belongs to."""
    named = {row[c] for c in _tenant_columns(table) if row[c] is not None}
    if "case_id" in row and row["case_id"] is not None:
        _act_as(row["tenant_id"])
        named |= set(db.session.execute(text(
            "select member_tenant_id from case_members where case_id = :c and status = 'accepted'"),
            {"c": row["case_id"]}).scalars())
        _act_as(None)
    if table == "oversight_corrective_actions":
        _act_as(row["tenant_id"])
        named |= set(db.session.execute(text(
            "select facility_tenant_id from oversight_facilities where id = :f"), {"f": row["facility_id"]}).scalars())
        _act_as(None)
    named.discard(row["tenant_id"])
    named.discard(None)
    return named


def _may_update(tenant_id: int, table: str, row_id: int) -> bool:
    went_through, _why = _attempt(tenant_id, f"update {table} set id = id where id = :id", {"id": row_id})
    return went_through


def _other_values(rows: list[dict], row: dict, column) -> list:
    """Values ``column`` holds in other rows: a change a participant could really make."""
    seen = []
    for other in [*rows, *({column.name: value} for value in getattr(column.type, "enums", ()))]:
        value = other[column.name]
        if value is not None and value != row[column.name] and value not in seen:
            seen.append(value)
    return [_bindable(column, value) for value in seen[:12]]


def _answer_goes_through(tenant_id: int, table: str, row: dict, column, rows) -> bool:
    """Can the participant change this answer column to some value another row holds (a change
    that may also take the row out of the participant's reach is refused, rightly)?"""
    for value in _other_values(rows, row, column):
        statement = f"update {table} set {column.name} = {_placeholder(column, 'value')} where id = :id"
        went_through, why = _attempt(tenant_id, statement, {"id": row["id"], "value": value})
        if why != REFUSED:
            return True
    return False


def test_a_participant_changes_only_its_answer_and_nobody_re_aims_a_grant(demo):
    wrong, answered = [], set()
    for table in sorted(policy.REGISTRY):
        visibility = policy.visibility_for_table(table)
        if not (visibility.lets_others_update or visibility.fixed_columns):
            continue
        columns = [c for c in db.metadata.tables[table].c if c.name not in ("id", "tenant_id")]
        rows = _rows(table)
        for row in rows[:15]:
            for tenant_id in [row["tenant_id"], *sorted(_participants(table, row))]:
                if not _may_update(tenant_id, table, row["id"]):
                    continue
                owner = tenant_id == row["tenant_id"]
                who = "the owner" if owner else f"participant {tenant_id}"
                for column in columns:
                    if not owner and column.name in visibility.participant_columns:
                        if _answer_goes_through(tenant_id, table, row, column, rows):
                            answered.add((table, column.name))
                        continue
                    if owner and column.name not in visibility.fixed_columns:
                        continue  # the owner changes its own row as it likes
                    statement = f"update {table} set {column.name} = {_changed(column)} where id = :id"
                    went_through, why = _attempt(tenant_id, statement, {"id": row["id"]})
                    if why != REFUSED:
                        wrong.append(f"{table}.{column.name} #{row['id']} changed by {who}: "
                                     f"{'accepted' if went_through else why}")
    assert wrong == []
    assert {("referrals", "state"), ("case_members", "status"), ("client_access_grants", "status"),
            ("oversight_corrective_actions", "answer"), ("pilot_feedback", "status")} <= answered

