"""Posting and reading in-app notifications. Texts must not carry personal data."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..core.db import db, utcnow
from ..tenancy import context
from .models import Notification


def notify(tenant_id: int, kind: str, title: str, body: str | None = None, link: str | None = None,
           recipient_user_id: int | None = None, dedupe_key: str | None = None) -> Notification | None:
    """Post a notification into ``tenant_id``'s inbox, sent by the active tenant. With a
    ``dedupe_key`` it is posted at most once per inbox (None when it already was), even when two
    sweeps post it at the same moment."""
    if dedupe_key is not None and _posted(tenant_id, dedupe_key):
        return None
    notification = Notification(
        tenant_id=tenant_id,
        sender_tenant_id=context.current_tenant_id(),
        recipient_user_id=recipient_user_id,
        kind=kind,
        title=title,
        body=body,
        link=link,
        dedupe_key=dedupe_key,
    )
    try:
        with db.session.begin_nested():
            db.session.add(notification)
    except IntegrityError:
        return None  # a concurrent sweep posted it first
    return notification


def _posted(tenant_id: int, dedupe_key: str) -> bool:
    return db.session.scalar(select(Notification.id).where(
        Notification.tenant_id == tenant_id, Notification.dedupe_key == dedupe_key).limit(1)) is not None


def _mine(user_id: int):
    """The active tenant's inbox (not what it sent elsewhere) for this user."""
    return select(Notification).where(
        Notification.tenant_id == context.current_tenant_id(),
        (Notification.recipient_user_id.is_(None)) | (Notification.recipient_user_id == user_id),
    )


def inbox(user_id: int, limit: int = 50) -> list[Notification]:
    return list(db.session.scalars(_mine(user_id).order_by(Notification.created_at.desc()).limit(limit)))


def unread_count(user_id: int) -> int:
    query = _mine(user_id).where(Notification.read_at.is_(None)).subquery()
    return db.session.scalar(select(func.count()).select_from(query)) or 0


def mark_all_read(user_id: int) -> None:
    for notification in db.session.scalars(_mine(user_id).where(Notification.read_at.is_(None))):
        notification.read_at = utcnow()
    db.session.flush()
