"""Writing the personal-data access log. Every view, change, export or print of a client's
personal data calls :func:`record` in the same transaction as the request."""
from __future__ import annotations

from flask import has_request_context, request
from flask_login import current_user

from ..core.db import db
from ..tenancy import context
from .models import AccessAction, AccessLogEntry


class PurposeRequired(ValueError):
    """Exports (and other actions that need one) must state why."""


ACTIONS_NEEDING_PURPOSE = {AccessAction.EXPORT, AccessAction.PRINT}


def record(client, action: AccessAction, what: str, purpose: str | None = None, user_id: int | None = None) -> AccessLogEntry:
    """Log that the acting user did ``action`` to ``what`` (e.g. "client", "case", "integrated_view")
    of ``client``. Raises PurposeRequired when the action needs a purpose and none is given."""
    if action in ACTIONS_NEEDING_PURPOSE and not (purpose and purpose.strip()):
        raise PurposeRequired(action)
    entry = AccessLogEntry(
        user_id=user_id if user_id is not None else _acting_user_id(),
        client_id=client.id,
        client_tenant_id=client.tenant_id,
        client_public_id=client.public_id,
        action=action,
        what=what,
        purpose=purpose.strip() if purpose else None,
        ip=request.remote_addr if has_request_context() else None,
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def _acting_user_id() -> int:
    user_id = context.current_user_id()
    if user_id is None and has_request_context() and current_user.is_authenticated:
        user_id = current_user.id
    if user_id is None:
        raise RuntimeError("the access log needs the acting user")
    return user_id
