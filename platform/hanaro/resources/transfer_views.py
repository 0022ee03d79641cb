"""Screens and downloads for moving resources in and out of the registry in bulk: import from CSV
or Excel with a preview, exports as CSV, Excel and HSDS JSON. Rules live in ``transfer``."""
from __future__ import annotations

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..core import clock, idempotency, uploads
from ..core.access import tenant_member
from ..core.rules import RuleViolation
from . import transfer
from .models import CAPACITY_LABELS, SCOPE_LABELS
from .views import KIND_LABELS, READERS, WRITERS

bp = Blueprint("resource_transfer", __name__, url_prefix="/resources")

MIMETYPES = {"csv": "text/csv; charset=utf-8",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _attachment(response: Response, filename: str) -> Response:
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _download(body: bytes, fmt: str, name: str) -> Response:
    return _attachment(Response(body, mimetype=MIMETYPES[fmt]), f"{name}.{fmt}")


def _table_file(table, fmt: str, name: str) -> Response:
    body = transfer.to_csv(table) if fmt == "csv" else transfer.to_xlsx(table)
    return _download(body, fmt, name)


# -- import ---------------------------------------------------------------------------------------

def _import_page(errors=None):
    status = 422 if errors else 200
    return render_template("resources/import.html", errors=errors or {}, max_rows=transfer.MAX_ROWS), status


def _preview_page(checked, sealed=None, submission=None):
    return render_template(
        "resources/import_preview.html", preview=checked, sealed=sealed, submission=submission,
        domain_names=transfer.domain_names(), kind_labels=KIND_LABELS, capacity_labels=CAPACITY_LABELS,
        scope_labels=SCOPE_LABELS,
    ), 200 if checked.ok else 422


@bp.get("/import")
@tenant_member(*WRITERS)
def import_form():
    return _import_page()


@bp.get("/import/template.<any(csv, xlsx):fmt>")
@tenant_member(*WRITERS)
def import_template(fmt):
    return _table_file(transfer.template_table(), fmt, "hanaro-resources-template")


@bp.post("/import")
@tenant_member(*WRITERS)
def import_preview():
    """Check the uploaded file and show every row; nothing is saved yet."""
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise RuleViolation(_("가져올 파일을 고르세요."), field=transfer.FILE)
        checked = transfer.preview(transfer.read_table(*uploads.read(upload, transfer.MAX_BYTES)))
        if not checked.ok:
            return _preview_page(checked)
        submission = idempotency.new_token()
        return _preview_page(checked, transfer.seal(checked, submission), submission)
    except RuleViolation as violation:
        return _import_page(violation.as_errors())


@bp.post("/import/confirm")
@tenant_member(*WRITERS)
def import_confirm():
    """Import the previewed rows, all or none; a second submit of the same preview imports nothing."""
    previous = idempotency.previous_result()
    if previous:
        return redirect(previous, code=303)
    try:
        checked = transfer.unseal(request.form.get("rows", ""), request.form.get(idempotency.FIELD, ""))
        if not checked.ok:
            return _preview_page(checked)
        if not idempotency.claim():
            return redirect(url_for("resources.index"), code=303)
        created = transfer.import_rows(checked, current_user)
    except RuleViolation as violation:
        return _import_page(violation.as_errors())
    target = url_for("resources.index")
    idempotency.record_result(target)
    flash(_("자원 %(n)s건을 가져왔습니다.", n=len(created)), "success")
    return redirect(target, code=303)


# -- exports ----------------------------------------------------------------------------------------

@bp.get("/export.<any(csv, xlsx):fmt>")
@tenant_member(*READERS)
def export(fmt):
    table = transfer.export_table(transfer.visible_resources())
    return _table_file(table, fmt, f"hanaro-resources-{clock.today():%Y%m%d}")


@bp.get("/export.hsds.json")
@tenant_member(*READERS)
def export_hsds():
    response = jsonify(transfer.hsds_export(transfer.visible_resources()))
    return _attachment(response, f"hanaro-resources-{clock.today():%Y%m%d}.hsds.json")
