"""The active tenant and user of the current unit of work (a request, a job, a CLI step).

Everything that reads tenant-owned data asks this module who is acting. Requests set it after
authentication; background jobs and CLI commands set it explicitly with :func:`acting_as`.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


class NoActiveTenant(RuntimeError):
    """A tenant-owned table was queried with no tenancy context: the ORM filter fails closed."""


@dataclass(frozen=True)
class TenancyContext:
    tenant_id: int | None
    user_id: int | None
    # Maintenance code (migrations, CLI reports) may opt out of the ORM filter explicitly.
    # PostgreSQL RLS still applies to it.
    unscoped: bool = False
    # An anonymous visitor (the public directory): sees what the policy gives everyone.
    public: bool = False


_current: ContextVar[TenancyContext | None] = ContextVar("hanaro_tenancy", default=None)
_listeners: list = []


def current() -> TenancyContext | None:
    return _current.get()


def current_tenant_id() -> int | None:
    ctx = _current.get()
    return ctx.tenant_id if ctx else None


def current_user_id() -> int | None:
    ctx = _current.get()
    return ctx.user_id if ctx else None


def on_change(listener):
    """Register ``listener(ctx)``, called whenever the context changes (RLS re-applies it)."""
    _listeners.append(listener)
    return listener


def activate(ctx: TenancyContext | None):
    """Set the context for the rest of this unit of work; returns a token for :func:`reset`."""
    token = _current.set(ctx)
    for listener in _listeners:
        listener(ctx)
    return token


def reset(token) -> None:
    _current.reset(token)
    for listener in _listeners:
        listener(_current.get())


@contextmanager
def acting_as(tenant_id: int | None, user_id: int | None = None):
    token = activate(TenancyContext(tenant_id=tenant_id, user_id=user_id))
    try:
        yield
    finally:
        reset(token)


@contextmanager
def unscoped():
    """Opt out of the ORM tenant filter for maintenance code. Never use it in a request."""
    token = activate(TenancyContext(tenant_id=None, user_id=None, unscoped=True))
    try:
        yield
    finally:
        reset(token)


@contextmanager
def anonymous():
    """Act as an anonymous visitor: only rows the policy shows to everyone are visible."""
    token = activate(TenancyContext(tenant_id=None, user_id=None, public=True))
    try:
        yield
    finally:
        reset(token)
