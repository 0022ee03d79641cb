"""Enforcer 1 of 2: every ORM query of a tenant-owned model is filtered by the policy.

Fails closed: with no tenancy context at all, touching a tenant-owned model raises
:class:`NoActiveTenant`. ``before_flush`` stamps ``tenant_id`` on new rows and refuses to
change it, or to write rows the active tenant may not write.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, Table, bindparam, event, inspect, select
from sqlalchemy.sql import visitors
from sqlalchemy.orm import Session, with_loader_criteria
from sqlalchemy.orm.util import identity_key

from . import context, policy
from .context import NoActiveTenant
from .owned import TenantOwned, references


class TenantWriteRefused(PermissionError):
    """A flush tried to write a row that the active tenant may not write."""


def _touches_tenant_owned(statement) -> bool:
    """Does any table of the statement (joins and subqueries included) hold tenant data?"""
    return any(
        isinstance(element, Table) and element.name in policy.REGISTRY for element in visitors.iterate(statement)
    )


@event.listens_for(Session, "do_orm_execute")
def _filter_tenant_owned(orm_execute_state):
    if not (orm_execute_state.is_select or orm_execute_state.is_update or orm_execute_state.is_delete):
        return
    ctx = context.current()
    if ctx is not None and ctx.unscoped:
        return
    if ctx is None or (ctx.tenant_id is None and ctx.user_id is None and not ctx.public):
        if _touches_tenant_owned(orm_execute_state.statement):
            raise NoActiveTenant(
                "tenant-owned data queried without a tenancy context; "
                "use tenancy.context.acting_as(...) or, for maintenance, unscoped()"
            )
        return
    # The criteria reach every appearance of a tenant-owned entity: joins, subqueries, loads.
    # Bound parameters (not Python values) keep the cached lambda correct for every tenant.
    tenant_id = bindparam("hanaro_tenant_id", ctx.tenant_id, type_=BigInteger)
    user_id = bindparam("hanaro_user_id", ctx.user_id, type_=BigInteger)
    orm_execute_state.statement = orm_execute_state.statement.options(
        with_loader_criteria(
            TenantOwned,
            lambda cls: cls._visible_criterion(tenant_id, user_id),
            include_aliases=True,
        )
    )


@event.listens_for(Session, "before_flush")
def _guard_tenant_writes(session, flush_context, instances):
    ctx = context.current()
    for obj in session.new:
        if isinstance(obj, TenantOwned):
            _check_insert(session, obj, ctx)
    for obj in session.dirty:
        if isinstance(obj, TenantOwned) and session.is_modified(obj, include_collections=False):
            _check_update(session, obj, ctx)
    for obj in session.deleted:
        if isinstance(obj, TenantOwned):
            _check_write(session, "delete", obj, ctx)


def _require_context(ctx):
    if ctx is None or ctx.tenant_id is None:
        raise NoActiveTenant("tenant-owned rows can only be written with an active tenant")
    return ctx


def _check_write(session, command: str, obj, ctx) -> None:
    ctx = _require_context(ctx)
    if not type(obj).__visibility__.allows(command, obj, ctx.tenant_id, ctx.user_id, session):
        raise TenantWriteRefused(f"this tenant may not {command} that {type(obj).__name__}")


def _check_insert(session, obj, ctx) -> None:
    """New rows belong to the active tenant unless set explicitly to an aggregate's owner the
    policy lets the active tenant write into (a collaborator's note on another tenant's case)."""
    ctx = _require_context(ctx)
    if obj.tenant_id is None:
        obj.tenant_id = ctx.tenant_id
    _check_write(session, "insert", obj, ctx)
    _check_references(session, obj, ctx)


def _check_references(session, obj, ctx) -> None:
    """A new row points only at rows the active tenant reads, a grant only at objects it owns, and
    names no other tenant as its writer."""
    visibility = type(obj).__visibility__
    mapper = inspect(obj).mapper
    for column_name in visibility.writer_columns:
        writer = getattr(obj, mapper.get_property_by_column(mapper.local_table.c[column_name]).key)
        if writer is not None and writer != ctx.tenant_id:
            raise TenantWriteRefused(f"{type(obj).__name__}.{column_name} names another tenant than the one writing")
    for column_name, parent_table in references(mapper.local_table.name):
        value = getattr(obj, mapper.get_property_by_column(mapper.local_table.c[column_name]).key)
        if value is None or column_name in visibility.unread_references:  # None: new in this flush, checked itself
            continue
        if column_name in visibility.grants_on:
            rule = policy.ParentTenant(parent_table, column_name, "tenant_id")
            allowed = rule.allows(obj, ctx.tenant_id, ctx.user_id, session)
        else:
            allowed = _reads(session, _mapped_class(parent_table), value)
        if not allowed:
            raise TenantWriteRefused(f"{type(obj).__name__}.{column_name} points at a row this tenant may not use")


def _reads(session, parent_cls, parent_id) -> bool:
    """Can the active tenant read the ``parent_cls`` row ``parent_id``? A row already loaded in
    this session was read through the filter; anything else is asked for, filtered."""
    loaded = session.identity_map.get(identity_key(parent_cls, parent_id))
    if loaded is not None and loaded not in session.deleted:
        return True
    with session.no_autoflush:
        return session.execute(select(parent_cls.id).where(parent_cls.id == parent_id)).first() is not None


def _mapped_class(table_name: str):
    from ..core.db import db

    for mapper in db.Model.registry.mappers:
        if mapper.local_table.name == table_name:
            return mapper.class_
    raise LookupError(table_name)


def _check_update(session, obj, ctx) -> None:
    state = inspect(obj)
    history = state.attrs.tenant_id.history
    if history.has_changes() and history.deleted:
        raise TenantWriteRefused("tenant_id of an existing row cannot change")
    _check_write(session, "update", obj, ctx)
    _check_changed_columns(state, obj, ctx)


def _check_changed_columns(state, obj, ctx) -> None:
    """Grants are never re-aimed; a tenant other than the owner changes only its answer."""
    visibility = type(obj).__visibility__
    changed = {
        prop.columns[0].name for prop in state.mapper.column_attrs
        if state.attrs[prop.key].history.has_changes()
    }
    fixed = changed & set(visibility.fixed_columns)
    if fixed:
        raise TenantWriteRefused(f"{type(obj).__name__}: {', '.join(sorted(fixed))} never change")
    if ctx.tenant_id != obj.tenant_id:
        foreign = changed - set(visibility.participant_columns)
        if foreign:
            raise TenantWriteRefused(
                f"only the owner of a {type(obj).__name__} may change {', '.join(sorted(foreign))}")
    moves = visibility.transitions
    earlier = state.attrs[moves.column].history.deleted if moves and moves.column in changed else ()
    if earlier:  # unknown when the old value was never loaded: the database's trigger decides
        before, after = _plain(earlier[0]), _plain(getattr(obj, moves.column))
        if not moves.allows(before, after, ctx.tenant_id == obj.tenant_id):
            raise TenantWriteRefused(f"{type(obj).__name__}.{moves.column} may not move from {before} to {after} "
                                     "for this tenant")


def _plain(value):
    return getattr(value, "value", value)  # enum members compare by their value
