"""Posting and reading in-app notifications. Texts must not carry personal data."""
from __future__ import annotations

from sqlalchemy import func, select

from ..core.db import db, utcnow
from ..tenancy import context
from .models import Notification


def notify(tenant_id: int, kind: str, title: str, body: str | None = None, link: str | None = None,
           recipient_user_id: int | None = None) -> Notification:
    """Post a notification into ``tenant_id``'s inbox, sent by the active tenant."""
    notification = Notification(
        tenant_id=tenant_id,
        sender_tenant_id=context.current_tenant_id(),
        recipient_user_id=recipient_user_id,
        kind=kind,
        title=title,
        body=body,
        link=link,
    )
    db.session.add(notification)
    db.session.flush()
    return notification


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
