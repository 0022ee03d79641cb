"""Posting and reading in-app notifications, and each user's e-mail preferences. Titles must not
carry personal data (they are e-mailed); see ``delivery`` for the e-mail outbox."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..core import jobs
from ..core.db import db, utcnow
from ..tenancy import context
from . import delivery
from .kinds import KINDS
from .models import Notification, NotificationPreference


def notify(tenant_id: int, kind: str, title: str, body: str | None = None, link: str | None = None,
           recipient_user_id: int | None = None, dedupe_key: str | None = None) -> Notification | None:
    """Post a notification into ``tenant_id``'s inbox, sent by the active tenant, in the caller's
    transaction; its e-mails are delivered after that transaction commits (``delivery``).

    With ``dedupe_key`` the notice is posted at most once per tenant and key: when a row with the
    key exists already (posted earlier, or by a concurrent transaction that committed first) this
    returns None and posts nothing. The insert runs in a savepoint, so the unique constraint's
    refusal leaves the caller's transaction usable."""
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
    if dedupe_key is None:
        db.session.add(notification)
        db.session.flush()
    else:
        try:
            with db.session.begin_nested():
                db.session.add(notification)
        except IntegrityError:
            return None
    jobs.after_commit_each(delivery.deliver, notification.id, tenant_id=tenant_id,
                           size=current_app.config["NOTIFY_BATCH_SIZE"])
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


def get_mine_or_404(user_id: int, public_id: str) -> Notification:
    """One notification of this user's inbox in the active tenant; anything else is 404."""
    from flask import abort

    notification = db.session.scalar(_mine(user_id).where(Notification.public_id == public_id))
    if notification is None:
        abort(404)
    return notification


def mark_read(notification: Notification) -> None:
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.flush()


# -- e-mail preferences (per user, global) -------------------------------------------------------

def email_preferences(user_id: int) -> dict[str, bool]:
    """{kind: e-mail on?} for every known kind, defaults filled in."""
    chosen = dict(db.session.execute(
        select(NotificationPreference.kind, NotificationPreference.email).where(NotificationPreference.user_id == user_id)
    ).all())
    return {code: chosen.get(code, kind.email_default) for code, kind in KINDS.items()}


def wants_email(user_id: int, kind: str) -> bool:
    if kind not in KINDS:
        return False
    chosen = db.session.scalar(select(NotificationPreference.email).where(
        NotificationPreference.user_id == user_id, NotificationPreference.kind == kind))
    return KINDS[kind].email_default if chosen is None else chosen


def set_email_preferences(user_id: int, enabled: set[str]) -> None:
    """E-mail on for the kinds in ``enabled``, off for every other known kind. Unknown kinds are
    refused by the form before this is called."""
    rows = {p.kind: p for p in db.session.scalars(
        select(NotificationPreference).where(NotificationPreference.user_id == user_id))}
    for code in KINDS:
        wanted = code in enabled
        row = rows.get(code)
        if row is None:
            db.session.add(NotificationPreference(user_id=user_id, kind=code, email=wanted))
        elif row.email != wanted:
            row.email = wanted
    db.session.flush()
