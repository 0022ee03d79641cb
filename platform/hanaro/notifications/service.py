"""Posting and reading in-app notifications, and each user's e-mail preferences. Titles must not
carry personal data (they are e-mailed); see ``delivery`` for the e-mail outbox."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import and_, select, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from ..core import jobs
from ..core.db import db, utcnow
from ..core import paging
from ..core.paging import Count, Page, Paging, capped_count, fetch_page
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


PER_PAGE = 50


def inbox(user_id: int, limit: int = PER_PAGE) -> list[Notification]:
    return inbox_page(user_id, Paging(1, limit)).items


def inbox_page(user_id: int, wanted: Paging) -> Page:
    """One page of the inbox, newest first, with its capped count. The inbox is two ranges of
    ``ix_notifications_to_everyone`` and ``ix_notifications_to_one`` (notices to everyone, to this user),
    each read no further than the page's end and merged; an ``OR`` of the two would walk the
    notices of every other user of the tenant as well."""
    newest_first = (Notification.created_at.desc(), Notification.id.desc())
    enough = wanted.page * wanted.per_page + 1
    tops = union_all(*[select(part) for part in (
        select(Notification).where(criterion).order_by(*newest_first).limit(enough).subquery()
        for criterion in _inbox_ranges(user_id))]).subquery()
    merged = aliased(Notification, tops)
    statement = select(merged).order_by(merged.created_at.desc(), merged.id.desc())
    counted = [select(Notification.id).where(criterion).limit(paging.COUNT_CAP + 1).subquery()
               for criterion in _inbox_ranges(user_id)]
    return fetch_page(statement, wanted, union_all(*[select(part.c.id) for part in counted]))


def _inbox_ranges(user_id: int):
    """The inbox's two parts: notices to all of the active tenant, and those to this user."""
    tenant_id = context.current_tenant_id()
    return (and_(Notification.tenant_id == tenant_id, Notification.recipient_user_id.is_(None)),
            and_(Notification.tenant_id == tenant_id, Notification.recipient_user_id == user_id))


# The header shows "99+" past this: it runs on every signed-in page, so it reads at most this many.
UNREAD_CAP = 99


def unread_count(user_id: int) -> Count:
    """Unread notices of this user's inbox, up to ``UNREAD_CAP``. Two ranges of the partial index
    ``ix_notifications_unread`` (tenant, recipient): the tenant's notices to everyone and those to
    this user, each read no further than the cap (an ``OR`` of the two would read every unread
    notice of the tenant's other users as well)."""
    return capped_count(unread_of(user_id), UNREAD_CAP)


def unread_of(user_id: int):
    """The select ``unread_count`` counts (``capped_count_column`` folds it into another query)."""
    unread = select(Notification.id).where(Notification.tenant_id == context.current_tenant_id(),
                                           Notification.read_at.is_(None))
    to_everyone = unread.where(Notification.recipient_user_id.is_(None)).limit(UNREAD_CAP + 1)
    to_me = unread.where(Notification.recipient_user_id == user_id).limit(UNREAD_CAP + 1)
    # Each limited part read from its own subquery: SQLite refuses a LIMIT inside a compound select.
    parts = [select(part.c.id) for part in (to_everyone.subquery(), to_me.subquery())]
    return union_all(*parts)


def mark_all_read(user_id: int) -> int:
    """One UPDATE of the inbox's unread notices (a large tenant's inbox holds thousands); returns
    how many it marked."""
    tenant_id = context.current_tenant_id()
    marked = db.session.execute(
        update(Notification).where(
            Notification.tenant_id == tenant_id, Notification.read_at.is_(None),
            (Notification.recipient_user_id.is_(None)) | (Notification.recipient_user_id == user_id))
        .values(read_at=utcnow()).execution_options(synchronize_session="fetch"))
    return marked.rowcount


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
