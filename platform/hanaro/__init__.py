"""Hanaro (하나로): the public–private collaboration platform."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, g, has_request_context, session
from flask_login import current_user

from . import config
from .core import errors, jobs, web
from .core.db import db, make_sqlite_transactions_real
from .core.extensions import (
    CONTENT_SECURITY_POLICY,
    babel,
    csrf,
    htmx,
    limiter,
    login_manager,
    migrate,
)
from .core.forms import install_korean_messages
from flask_talisman import Talisman
from werkzeug.local import LocalProxy
from werkzeug.middleware.proxy_fix import ProxyFix

REPO_ROOT = config.REPO_ROOT


def _select_locale():
    if not has_request_context():
        return "ko"
    lang = session.get("lang")
    if lang in ("ko", "en"):
        return lang
    return "ko"


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(REPO_ROOT / "templates"),
        static_folder=str(REPO_ROOT / "static"),
    )
    app.config.update(config.DEFAULTS)
    app.config.update(config.from_environment())
    app.config.update(overrides or {})
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY must be set (HANARO_DEMO=1 generates one for the demo)")
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")).parent.mkdir(
            parents=True, exist_ok=True
        )
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = config.postgresql_engine_options(app.config["SQLALCHEMY_ENGINE_OPTIONS"])

    _trust_proxies(app)
    _init_extensions(app)
    _register_models()
    _register_blueprints(app)
    web.install(app)
    jobs.install(app)
    errors.install(app)
    _register_template_context(app)
    _register_cli(app)
    return app


def _trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES proxies, the client's address (access log, login events, rate limits)
    and scheme come from the X-Forwarded-For / X-Forwarded-Proto entries those proxies added;
    anything a client put in front of them is ignored."""
    hops = app.config.get("TRUSTED_PROXIES") or 0
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0)


def _init_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=app.config["MIGRATIONS_DIR"])
    babel.init_app(app, locale_selector=_select_locale)
    csrf.init_app(app)
    htmx.init_app(app)
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.request_loader(lambda _request: web.load_signed_in_user())
    login_manager.user_loader(lambda _user_id: None)  # identity comes from the server-side session
    # One Talisman per app: it keeps its settings on the instance.
    Talisman(
        app,
        force_https=app.config["FORCE_HTTPS"],
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        content_security_policy=CONTENT_SECURITY_POLICY,
        frame_options="DENY",
        referrer_policy="same-origin",
        strict_transport_security=app.config["FORCE_HTTPS"],
    )
    install_korean_messages()
    _connect_rls_to_context()
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            make_sqlite_transactions_real(db.engine)


def _connect_rls_to_context() -> None:
    from .tenancy import context, rls

    if not getattr(_connect_rls_to_context, "done", False):
        context.on_change(lambda _ctx: rls.reapply_to_session(db.session))
        _connect_rls_to_context.done = True


def _register_models() -> None:
    from .accounts import models as _accounts  # noqa: F401
    from .audit import models as _audit  # noqa: F401
    from .campaigns import models as _campaigns  # noqa: F401
    from .cases import models as _cases  # noqa: F401
    from .clients import models as _clients  # noqa: F401
    from .notifications import models as _notifications  # noqa: F401
    from .oversight import guard as _oversight_guard  # noqa: F401  (models, and sanctions stay append-only)
    from .pilots import models as _pilots  # noqa: F401
    from .referrals import models as _referrals  # noqa: F401
    from .resources import models as _resources  # noqa: F401
    from .resources import search as _search  # noqa: F401  (resources keep their search terms)
    from .core import idempotency as _idempotency  # noqa: F401
    from .tenancy import models as _tenancy  # noqa: F401
    from .tenancy import orm_filter as _filter  # noqa: F401
    from .tenancy import rls as _rls  # noqa: F401


def _register_blueprints(app: Flask) -> None:
    from .accounts.views import bp as accounts_bp
    from .audit.views import bp as audit_bp
    from .campaigns.views import bp as campaigns_bp
    from .campaigns.figure_views import bp as campaign_figures_bp
    from .cases.views import bp as cases_bp
    from .clients.views import bp as clients_bp
    from .notifications.views import bp as notifications_bp
    from .oversight.action_views import bp as corrective_actions_bp
    from .oversight.inspection_views import bp as inspections_bp
    from .oversight.figure_views import bp as oversight_figures_bp
    from .oversight.views import bp as oversight_bp
    from .core.views import bp as core_bp
    from .directory.views import bp as directory_bp
    from .home.views import bp as home_bp
    from .pilots.feedback_views import bp as feedback_bp
    from .pilots.meeting_views import bp as care_meetings_bp
    from .pilots.metric_views import bp as pilot_metrics_bp
    from .pilots.views import bp as pilots_bp
    from .referrals.views import bp as referrals_bp
    from .resources.views import bp as resources_bp
    from .resources.transfer_views import bp as resource_transfer_bp
    from .tenancy.views import bp as tenancy_bp

    for blueprint in (core_bp, accounts_bp, home_bp, tenancy_bp, clients_bp, notifications_bp, audit_bp, cases_bp,
                      resources_bp, resource_transfer_bp, directory_bp, referrals_bp, pilots_bp, feedback_bp,
                      care_meetings_bp, pilot_metrics_bp, campaign_figures_bp, campaigns_bp, oversight_figures_bp,
                      inspections_bp, corrective_actions_bp, oversight_bp):
        app.register_blueprint(blueprint)


def _values_of(form, name: str) -> list:
    """All submitted values of a multi-value field, from request.form or a plain dict."""
    if hasattr(form, "getlist"):
        return form.getlist(name)
    value = form.get(name) or []
    return list(value) if isinstance(value, (list, tuple, set)) else [value]


def _url_for_if(endpoint: str, **values) -> str | None:
    """url_for for links to capabilities that may not be installed yet."""
    from flask import current_app, url_for

    return url_for(endpoint, **values) if endpoint in current_app.view_functions else None


def _unread_count():
    """Counted once per request, and only when a template shows it (htmx fragments do not)."""
    from .home.navigation import ask_header_questions

    ask_header_questions(current_user)
    return g.unread_notifications


def _nav_items():
    """The menu, built once per request and only when a template shows it."""
    from .home.navigation import ask_header_questions, nav_items_for

    if "nav_items" not in g:
        if g.get("membership") is not None:
            ask_header_questions(current_user)
        g.nav_items = nav_items_for(current_user, g.get("membership"))
    return g.nav_items


def _register_template_context(app: Flask) -> None:
    from .core import clock, idempotency
    app.jinja_env.globals.update(
        values_of=_values_of, today=clock.today, new_submission_token=idempotency.new_token, url_for_if=_url_for_if
    )

    @app.context_processor
    def layout_context():
        signed_in = current_user.is_authenticated
        return {
            "active_tenant": g.get("active_tenant"),
            "active_membership": g.get("membership"),
            "switchable_memberships": g.get("memberships", []) if signed_in else [],
            "pending_invitations": g.get("invitations", []) if signed_in else [],
            "nav_items": LocalProxy(_nav_items) if signed_in else [],
            "unread_notifications": LocalProxy(_unread_count) if g.get("membership") else 0,
            "current_locale": _select_locale(),
        }


def _register_cli(app: Flask) -> None:
    from .accounts.cli import accounts_cli
    from .core.schedule import scheduler_command
    from .core.worker import worker_command
    from .demo.cli import demo_cli
    from .resources.cli import resources_cli
    from .scale.cli import scale_cli
    from .tenancy.cli import demo_logins, tenants_cli

    app.cli.add_command(tenants_cli)
    app.cli.add_command(demo_logins)
    app.cli.add_command(worker_command)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(demo_cli)
    app.cli.add_command(accounts_cli)
    app.cli.add_command(resources_cli)
    app.cli.add_command(scale_cli)
