"""In-app notifications to a tenant (or one of its users)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import BigId, IdMixin, PublicIdMixin, UTCDateTime, db, utcnow
from ..tenancy.owned import TenantOwned
from ..tenancy.policy import Owner, TenantIn, Visibility


class Notification(TenantOwned, IdMixin, PublicIdMixin, db.Model):
    """Owned by the recipient tenant. Another tenant may post one (naming itself as sender) and
    sees what it sent, never the rest of the inbox. Texts carry no personal data.

    ``dedupe_key`` makes a system notice exactly-once: at most one row per tenant and key, so a
    sweep that runs again (or twice at once) cannot post the same notice twice."""

    __tablename__ = "notifications"
    # Readable by the sender too: PostgreSQL checks INSERT ... RETURNING rows against the read policy.
    __visibility__ = Visibility(
        read=(Owner(), TenantIn("sender_tenant_id")), insert=(Owner(), TenantIn("sender_tenant_id"))
    )
    __table_args__ = (
        UniqueConstraint("tenant_id", "public_id"),
        Index("ix_notifications_tenant_id_created_at", "tenant_id", "created_at"),
        UniqueConstraint("tenant_id", "dedupe_key"),
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
