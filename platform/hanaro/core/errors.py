"""Error pages in Korean; never a stack trace, never a hint that a hidden record exists."""
from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError

from ..tenancy.context import NoActiveTenant
from ..tenancy.orm_filter import TenantWriteRefused

PAGES = {400: "errors/400.html", 403: "errors/403.html", 404: "errors/404.html", 429: "errors/429.html"}


def _render(status: int):
    return render_template(PAGES.get(status, "errors/500.html")), status


def install(app: Flask) -> None:
    for status in (400, 403, 404, 405, 429):
        app.register_error_handler(status, lambda e, s=status: _render(404 if s == 405 else s))
    app.register_error_handler(CSRFError, lambda e: _render(400))
    # A write the tenancy layer refuses is a not-found from the user's point of view.
    app.register_error_handler(TenantWriteRefused, lambda e: _render(404))
    app.register_error_handler(NoActiveTenant, lambda e: _render(404))
    app.register_error_handler(500, lambda e: _render(500))
