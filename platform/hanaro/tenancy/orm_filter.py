"""Enforcer 1 of 2: every ORM query of a tenant-owned model is filtered by the policy.

Fails closed: with no tenancy context at all, touching a tenant-owned model raises
:class:`NoActiveTenant`. ``before_flush`` stamps ``tenant_id`` on new rows and refuses to
change it, or to write rows the active tenant may not write.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, Table, bindparam, event, inspect
from sqlalchemy.sql import visitors
from sqlalchemy.orm import Session, with_loader_criteria

from . import context, policy
from .context import NoActiveTenant
from .owned import TenantOwned


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


def _check_update(session, obj, ctx) -> None:
    history = inspect(obj).attrs.tenant_id.history
    if history.has_changes() and history.deleted:
        raise TenantWriteRefused("tenant_id of an existing row cannot change")
    _check_write(session, "update", obj, ctx)
