"""In-app notifications to a tenant (or one of its users), their e-mail deliveries (the outbox),
and each user's e-mail preferences."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.db import BigId, IdMixin, PublicIdMixin, UTCDateTime, db, enum_column, utcnow
from ..tenancy.owned import TenantOwned
from ..tenancy.policy import Owner, TenantIn, Visibility


class Notification(TenantOwned, IdMixin, PublicIdMixin, db.Model):
    """Owned by the recipient tenant. Another tenant may post one (naming itself as sender) and
    sees what it sent, never the rest of the inbox. Titles carry no personal data (they are
    e-mailed); bodies may name a listing or a tenant but stay in the app.

    ``dedupe_key`` makes a system notice exactly-once: at most one row per tenant and key, so a
    sweep that runs again (or twice at once) cannot post the same notice twice.

    The row is also the e-mail outbox entry: written in the transaction of the change that causes
    it, with ``email_planned_at`` empty until a delivery job (running as the recipient tenant) has
    decided who gets an e-mail and written one :class:`NotificationDelivery` per user."""

    __tablename__ = "notifications"
    # Readable by the sender too: PostgreSQL checks INSERT ... RETURNING rows against the read policy.
    __visibility__ = Visibility(
        read=(Owner(), TenantIn("sender_tenant_id")), insert=(Owner(), TenantIn("sender_tenant_id")),
        writer_columns=("sender_tenant_id",),
    )
    __table_args__ = (
        UniqueConstraint("tenant_id", "public_id"),
        Index("ix_notifications_tenant_id_created_at", "tenant_id", "created_at"),
        UniqueConstraint("tenant_id", "dedupe_key"),
        # The outbox: notifications whose e-mails are not planned yet (a small, partial index).
        Index("ix_notifications_unplanned", "tenant_id", "created_at",
              postgresql_where=text("email_planned_at IS NULL"), sqlite_where=text("email_planned_at IS NULL")),
        # The header's unread count on every page (notifications.service.unread_count): small,
        # ordered like its two lookups, and with the sender so the read policy is answered from it.
        # The inbox (notifications.service.inbox_page): notices to everyone, and to one user, newest first.
        Index("ix_notifications_to_everyone", "tenant_id", "created_at", "id", postgresql_include=["sender_tenant_id"],
              postgresql_where=text("recipient_user_id IS NULL"), sqlite_where=text("recipient_user_id IS NULL")),
        Index("ix_notifications_to_one", "tenant_id", "recipient_user_id", "created_at", "id",
              postgresql_include=["sender_tenant_id"], postgresql_where=text("recipient_user_id IS NOT NULL"),
              sqlite_where=text("recipient_user_id IS NOT NULL")),
        Index("ix_notifications_unread", "tenant_id", "recipient_user_id", postgresql_include=["sender_tenant_id"],
              postgresql_where=text("read_at IS NULL"), sqlite_where=text("read_at IS NULL")),
    )

    sender_tenant_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("tenants.id"))
    recipient_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))  # None: the whole tenant
    kind: Mapped[str] = mapped_column(String(50))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str | None] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    dedupe_key: Mapped[str | None] = mapped_column(String(100))
    email_planned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DeliveryState(enum.StrEnum):
    PENDING = "pending"  # to send (now, or at next_attempt_at after a failure)
    SENDING = "sending"  # claimed by a worker until next_attempt_at (its lease)
    SENT = "sent"
    SKIPPED = "skipped"  # the user does not want this kind by e-mail (or cannot get it)
    FAILED = "failed"  # gave up after the last attempt; an operator may retry


class NotificationDelivery(TenantOwned, IdMixin, PublicIdMixin, db.Model):
    """One e-mail of one notification to one user: owned by the notification's (recipient) tenant
    and written by its delivery job, never by the sender. No other tenant sees it."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        UniqueConstraint("tenant_id", "public_id"),
        UniqueConstraint("tenant_id", "notification_id", "user_id"),
        Index("ix_notification_deliveries_tenant_id_state_next", "tenant_id", "state", "next_attempt_at"),
    )

    notification_id: Mapped[int] = mapped_column(BigId, ForeignKey("notifications.id"))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    state: Mapped[DeliveryState] = mapped_column(enum_column(DeliveryState, 20), default=DeliveryState.PENDING)
    skip_reason: Mapped[str | None] = mapped_column(String(30))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    message_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    notification: Mapped[Notification] = relationship()
    user: Mapped["User"] = relationship()  # noqa: F821


class NotificationPreference(IdMixin, db.Model):
    """A user's choice to get (or not) e-mail for one kind. Users are global, so are their
    preferences; a missing row means the kind's default (``kinds.KINDS``)."""

    __tablename__ = "notification_preferences"
    __table_args__ = (UniqueConstraint("user_id", "kind"),)

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(50))
    email: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
