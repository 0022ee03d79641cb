"""Every endpoint declares who may call it; an endpoint that declares nothing is refused.

The rule is attached by a decorator and enforced once, before the view runs, by
``enforce_access_rule`` (registered in ``create_app``). A rule that depends on more than roles —
the tenant's kind, or its relation to the record asked for ("the supervising municipality's
inspectors, the facility itself, the province") — is a named :class:`Check` declared with the
roles: ``@tenant_member(check=reads_record, subject=get_facility_or_404)``. Views never
answer 403 themselves; they load objects (404 for what the tenant cannot see) and call services.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Callable

from flask import abort, current_app, g, redirect, request, url_for
from flask_login import current_user


class Audience(enum.Enum):
    PUBLIC = "public"  # anyone, signed in or not
    SIGNED_IN = "signed_in"  # any signed-in user, with or without an active tenant
    TENANT = "tenant"  # a member of the active tenant (optionally with one of some roles)
    OPERATOR = "operator"  # platform operators


@dataclass(frozen=True)
class Asking:
    """Who asks for what, as a :class:`Check` sees it."""
    membership: Any
    subject: Any  # the record the rule's ``subject`` loader returned, or None
    args: dict  # the route's arguments

    @property
    def tenant(self):
        return self.membership.tenant

    def has_role(self, *roles) -> bool:
        return self.membership.has_role(*roles)


@dataclass(frozen=True)
class Check:
    """A named rule beyond roles, evaluated before the view: False answers 403; it may raise
    ``NotFound`` for what does not exist for the asker (404)."""
    name: str
    allows: Callable[[Asking], bool]
    description: str

    def __call__(self, asking: Asking) -> bool:  # one check may build on another
        return self.allows(asking)


CHECKS: dict[str, Check] = {}


def check(name: str):
    """Register a predicate as the :class:`Check` ``name`` (its docstring says the rule)."""
    def register(predicate) -> Check:
        if name in CHECKS:
            raise ValueError(f"access check {name!r} is declared twice")
        CHECKS[name] = Check(name, predicate, " ".join((predicate.__doc__ or "").split()))
        return CHECKS[name]

    return register


@dataclass(frozen=True)
class AccessRule:
    audience: Audience
    roles: frozenset = field(default_factory=frozenset)
    check: Check | None = None
    # Loads the route's ``public_id`` for the check (raising NotFound for what the tenant cannot see).
    subject: Callable[[str], Any] | None = None

    def describe(self) -> str:
        """The rule as the access test lists it, e.g. ``tenant inspector check=oversight_record_writer``."""
        parts = [self.audience.value, "|".join(sorted(self.roles)) or "*"]
        if self.check is not None:
            parts.append(f"check={self.check.name}")
        return " ".join(parts)


ATTRIBUTE = "_hanaro_access_rule"
FEATURE_ATTRIBUTE = "_hanaro_feature"
# Endpoints added by extensions rather than by our decorators.
BUILTIN_RULES = {"static": AccessRule(Audience.PUBLIC)}


def _declare(rule: AccessRule):
    def decorate(view):
        setattr(view, ATTRIBUTE, rule)
        return view

    return decorate


public = _declare(AccessRule(Audience.PUBLIC))
signed_in = _declare(AccessRule(Audience.SIGNED_IN))
operator_only = _declare(AccessRule(Audience.OPERATOR))


def tenant_member(*roles, check: Check | None = None, subject: Callable[[str], Any] | None = None):
    """Members of the active tenant; with ``roles``, only members holding one of them (else 403);
    with ``check``, only those it allows (else 403), given the record ``subject`` loads from the
    route's ``public_id`` (404 when the tenant cannot see it)."""
    if subject is not None and check is None:
        raise ValueError("a subject is loaded only for a check")
    return _declare(AccessRule(Audience.TENANT, frozenset(r.value for r in roles), check, subject))


def behind_feature(key: str):
    """Only for tenants the feature switch ``key`` is on for (see ``pilots.features``); for the
    others the endpoint does not exist (404)."""
    def decorate(view):
        setattr(view, FEATURE_ATTRIBUTE, key)
        return view

    return decorate


def rule_for_endpoint(endpoint: str | None) -> AccessRule | None:
    if endpoint is None:
        return None
    if endpoint in BUILTIN_RULES:
        return BUILTIN_RULES[endpoint]
    view = current_app.view_functions.get(endpoint)
    return getattr(view, ATTRIBUTE, None)


def _to_login():
    if request.headers.get("HX-Request"):
        response = current_app.response_class(status=401)
        response.headers["HX-Redirect"] = url_for("accounts.login")
        return response
    return redirect(url_for("accounts.login"))


def enforce_access_rule():
    if request.endpoint is None:
        return None  # 404/405 from routing
    rule = rule_for_endpoint(request.endpoint)
    if rule is None:
        abort(404)  # deny by default: undeclared endpoints do not exist
    if rule.audience is Audience.PUBLIC:
        return None
    if not current_user.is_authenticated:
        return _to_login()
    if rule.audience is Audience.SIGNED_IN:
        return None
    if rule.audience is Audience.OPERATOR:
        if not current_user.is_platform_operator:
            abort(404)
        return None
    membership = g.get("membership")
    if membership is None:
        return redirect(url_for("home.index"))
    if rule.roles and not (rule.roles & set(membership.roles)):
        abort(403)
    _check_feature(current_app.view_functions[request.endpoint], membership.tenant_id)
    if rule.check is not None:
        _run_check(rule, membership)
    return None


def _run_check(rule: AccessRule, membership) -> None:
    args = request.view_args or {}
    subject = rule.subject(args["public_id"]) if rule.subject is not None else None
    if not rule.check.allows(Asking(membership, subject, args)):
        abort(403)


def _check_feature(view, tenant_id: int) -> None:
    key = getattr(view, FEATURE_ATTRIBUTE, None)
    if key is None:
        return
    from ..pilots import features  # the one place switches are read

    if not features.is_enabled(key, tenant_id):
        abort(404)
