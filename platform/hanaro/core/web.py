"""The request lifecycle: who is signed in, which tenant is active, one commit per request."""
from __future__ import annotations

from flask import Flask, abort, g, request, session
from flask_login import current_user

from ..accounts import service as accounts
from ..core.db import db
from ..tenancy import context as tenancy_context
from ..tenancy import service as tenancy


def client_ip() -> str | None:
    return request.remote_addr


def refuse_nul_bytes():
    """A NUL byte is never part of a real search or form entry, and PostgreSQL refuses it in text:
    answer 400 (the Korean bad-request page) instead of failing deep in a query."""
    sources = [request.args] + ([request.form] if request.method == "POST" else [])
    if any("\x00" in key or "\x00" in value for source in sources for key, value in source.items(multi=True)):
        abort(400)


def load_signed_in_user():
    """Flask-Login request loader: the user of the live server-side session, if any."""
    user_session = accounts.load_session(session.get("sid"))
    if user_session is None:
        session.pop("sid", None)
        return None
    g.user_session = user_session
    return user_session.user


def activate_tenant_for_request():
    """Resolve the active tenant and set the tenancy context for this request."""
    g.membership = None
    g.active_tenant = None
    if not current_user.is_authenticated:
        g.tenancy_token = tenancy_context.activate(None)
        return
    user_session = g.user_session
    # Act as the user first: their memberships are read under the same context (no extra switch).
    g.tenancy_token = tenancy_context.activate(tenancy_context.TenancyContext(tenant_id=None, user_id=current_user.id))
    g.memberships, g.invitations = tenancy.memberships_and_invitations_of(current_user)
    membership = tenancy.pick_membership(g.memberships, user_session.active_tenant_id)
    if membership is None and user_session.active_tenant_id is not None:
        user_session.active_tenant_id = None  # membership ended since: fall back to none
    g.membership = membership
    g.active_tenant = membership.tenant if membership else None
    tenancy_context.activate(tenancy_context.TenancyContext(
        tenant_id=membership.tenant_id if membership else None, user_id=current_user.id))


def finish_request(response):
    """Commit once per request, unless the response reports a failure."""
    if response.status_code < 400 or g.get("commit_despite_status"):
        db.session.commit()
    else:
        db.session.rollback()
    return response


def reset_tenancy(exc=None):
    token = g.pop("tenancy_token", None)
    if token is not None:
        tenancy_context.reset(token)
    db.session.remove()


def no_store(response):
    """``no-store`` for every response, except static files and the successful responses of views
    that opted in to public caching by setting ``g.public_cache_seconds`` (the anonymous directory)."""
    max_age = g.get("public_cache_seconds")
    if max_age and response.status_code == 200:
        response.headers["Cache-Control"] = f"public, max-age={int(max_age)}"
    elif request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    # One URL serves a page and its htmx fragment: caches must key on the header.
    response.vary.add("HX-Request")
    return response


def install(app: Flask) -> None:
    from ..core.access import enforce_access_rule

    app.before_request(activate_tenant_for_request)
    app.before_request(refuse_nul_bytes)
    app.before_request(enforce_access_rule)
    app.after_request(no_store)
    app.after_request(finish_request)
    app.teardown_request(reset_tenancy)


def fragment_target() -> str | None:
    """The element a non-boosted htmx request wants replaced, if any. Boosted links and forms
    (``hx-boost`` on the body) want the whole page."""
    from .extensions import htmx

    if htmx and not htmx.boosted:
        return htmx.target
    return None
