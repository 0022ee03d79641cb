"""Every endpoint declares who may call it; an endpoint that declares nothing is refused.

The rule is attached by a decorator and enforced once, before the view runs, by
``enforce_access_rule`` (registered in ``create_app``).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field

from flask import abort, current_app, g, redirect, request, url_for
from flask_login import current_user


class Audience(enum.Enum):
    PUBLIC = "public"  # anyone, signed in or not
    SIGNED_IN = "signed_in"  # any signed-in user, with or without an active tenant
    TENANT = "tenant"  # a member of the active tenant (optionally with one of some roles)
    OPERATOR = "operator"  # platform operators


@dataclass(frozen=True)
class AccessRule:
    audience: Audience
    roles: frozenset = field(default_factory=frozenset)


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


def tenant_member(*roles):
    """Members of the active tenant; with ``roles``, only members holding one of them."""
    return _declare(AccessRule(Audience.TENANT, frozenset(r.value for r in roles)))


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
    return None


def _check_feature(view, tenant_id: int) -> None:
    key = getattr(view, FEATURE_ATTRIBUTE, None)
    if key is None:
        return
    from ..pilots import features  # the one place switches are read

    if not features.is_enabled(key, tenant_id):
        abort(404)
