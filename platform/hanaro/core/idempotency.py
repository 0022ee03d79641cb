"""Double-submit protection: a create form carries a one-time token; the second POST with the
same token does not create anything again but goes where the first one went."""
from __future__ import annotations

import secrets
from datetime import datetime

from flask import request
from flask_login import current_user
from sqlalchemy import ForeignKey, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from .db import BigId, IdMixin, UTCDateTime, db, utcnow

FIELD = "submission_token"


class FormSubmission(IdMixin, db.Model):
    __tablename__ = "form_submissions"
    __table_args__ = (UniqueConstraint("user_id", "token"),)

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    token: Mapped[str] = mapped_column(String(64))
    result_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def new_token() -> str:
    return secrets.token_urlsafe(16)


def _submitted_token() -> str | None:
    token = (request.form.get(FIELD) or "").strip()
    return token[:64] or None


def previous_result() -> str | None:
    """Where the earlier submission of this form went, if it was already submitted."""
    token = _submitted_token()
    if token is None:
        return None
    done = db.session.scalar(
        select(FormSubmission).where(FormSubmission.user_id == current_user.id, FormSubmission.token == token)
    )
    return (done.result_url or request.path) if done else None


def claim() -> bool:
    """Record this submission's token; False if a concurrent request already claimed it."""
    token = _submitted_token()
    if token is None:
        return True
    try:
        with db.session.begin_nested():
            db.session.add(FormSubmission(user_id=current_user.id, token=token))
        return True
    except IntegrityError:
        return False


def record_result(url: str) -> None:
    token = _submitted_token()
    if token is None:
        return
    done = db.session.scalar(
        select(FormSubmission).where(FormSubmission.user_id == current_user.id, FormSubmission.token == token)
    )
    if done is not None:
        done.result_url = url
