"""Sign in, sign out, language."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import format_datetime, gettext as _
from flask_login import current_user

from ..core.access import public, signed_in
from ..core.extensions import limiter
from ..core.forms import parse_form
from ..core.web import client_ip
from ..tenancy import service as tenancy
from . import service
from .models import LoginOutcome
from .schemas import LanguageForm, LoginForm

bp = Blueprint("accounts", __name__)


def _login_rate_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _failure_message(result) -> str:
    # Only the right password reaches "inactive"; an unknown e-mail, a wrong password and a
    # locked-out address get one answer, so none of them tells whether the account exists.
    if result.outcome is LoginOutcome.INACTIVE:
        return _("사용이 중지된 계정입니다. 기관 관리자에게 문의하세요.")
    config = current_app.config
    return _(
        "이메일 또는 비밀번호가 올바르지 않습니다. 같은 곳에서 %(count)s번 잇달아 틀리면 %(minutes)s분 동안 "
        "로그인할 수 없습니다.",
        count=config["LOGIN_LOCKOUT_THRESHOLD"],
        minutes=int(config["LOGIN_LOCKOUT_DURATION"].total_seconds() // 60),
    )


def _lockout_notice(locked_at) -> str:
    return _(
        "지난 로그인 이후 이 계정에 비밀번호가 여러 번 틀려 로그인이 잠긴 적이 있습니다(마지막: %(when)s). "
        "직접 시도한 것이 아니라면 기관 관리자에게 알리세요.",
        when=format_datetime(locked_at, "yyyy-MM-dd HH:mm"),
    )


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_login_rate_limit, methods=["POST"])
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("home.index"))
    if request.method == "GET":
        return render_template("accounts/login.html", form={}, errors={})
    data, errors = parse_form(LoginForm())
    if errors:
        return render_template("accounts/login.html", form=request.form, errors=errors), 422
    result = service.sign_in(data["email"], data["password"], client_ip())
    if not result.ok:
        g.commit_despite_status = True  # keep the failure count and the login log
        form = {"email": request.form.get("email", "")}
        return render_template("accounts/login.html", form=form, errors={}, failure=_failure_message(result)), 401
    _begin_session(result.user)
    if result.locked_out_at is not None:
        flash(_lockout_notice(result.locked_out_at), "error")
    return redirect(url_for("home.index"), code=303)


def _begin_session(user) -> None:
    lang = session.get("lang")
    session.clear()  # a fresh session: nothing from before sign-in survives
    if lang:
        session["lang"] = lang
    membership = tenancy.landing_membership(user)
    session["sid"] = service.start_session(user, membership.tenant_id if membership else None)


@bp.post("/logout")
@signed_in
def logout():
    user_session = g.user_session
    service.end_session(user_session, "logout")
    service.record_login_event(current_user.email, LoginOutcome.LOGOUT, current_user, client_ip())
    session.clear()
    flash(_("로그아웃했습니다."), "info")
    return redirect(url_for("accounts.login"), code=303)


@bp.post("/language")
@public
def set_language():
    data, errors = parse_form(LanguageForm())
    if not errors and data["lang"] in current_app.config["LANGUAGES"]:
        session["lang"] = data["lang"]
    target = request.referrer if request.referrer and request.referrer.startswith(request.host_url) else None
    return redirect(target or url_for("home.index"), code=303)
