"""Error pages in Korean; never a stack trace, never a hint that a hidden record exists."""
from __future__ import annotations

from flask import Flask, current_app, render_template
from flask_wtf.csrf import CSRFError

from ..tenancy.context import NoActiveTenant
from ..tenancy.orm_filter import TenantWriteRefused

PAGES = {400: "errors/400.html", 403: "errors/403.html", 404: "errors/404.html", 429: "errors/429.html"}


def _render(status: int):
    return render_template(PAGES.get(status, "errors/500.html")), status


def _too_large(_error):
    """A request body over MAX_CONTENT_LENGTH, refused before it is parsed. An htmx form (the
    feedback dialog) gets the explanation in the element it targets, not a whole page."""
    from .uploads import describe_size
    from .web import fragment_target

    limit = describe_size(current_app.config["MAX_CONTENT_LENGTH"])
    if fragment_target():
        return render_template("errors/_413.html", limit=limit), 413
    return render_template("errors/413.html", limit=limit), 413


def install(app: Flask) -> None:
    for status in (400, 403, 404, 405, 429):
        app.register_error_handler(status, lambda e, s=status: _render(404 if s == 405 else s))
    app.register_error_handler(413, _too_large)
    app.register_error_handler(CSRFError, lambda e: _render(400))
    # A write the tenancy layer refuses is a not-found from the user's point of view.
    app.register_error_handler(TenantWriteRefused, lambda e: _render(404))
    app.register_error_handler(NoActiveTenant, lambda e: _render(404))
    app.register_error_handler(500, lambda e: _render(500))
