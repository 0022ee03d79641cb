"""The append-only log of every access to a client's personal data, and its monthly reviews."""
from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.db import enum_column, BigId, IdMixin, PublicIdMixin, UTCDateTime, db, utcnow
from ..tenancy.owned import TenantOwned
from ..tenancy.policy import Owner, TenantIn, Visibility


class AccessAction(enum.StrEnum):
    VIEW = "view"
    CHANGE = "change"
    EXPORT = "export"
    PRINT = "print"
    SEARCH = "search"


ACCESS_ACTION_LABELS = {
    AccessAction.VIEW: _l("열람"), AccessAction.CHANGE: _l("변경"), AccessAction.EXPORT: _l("내보내기"),
    AccessAction.PRINT: _l("인쇄"), AccessAction.SEARCH: _l("검색"),
}


class AccessLogEntry(TenantOwned, IdMixin, db.Model):
    """Owned by the tenant whose user looked; the client's own tenant sees it too. Nobody may
    change or delete an entry (no update/delete rule, and a trigger on PostgreSQL).
    Kept for at least two years (see README, retention)."""

    __tablename__ = "access_log"
    __visibility__ = Visibility(read=(Owner(), TenantIn("client_tenant_id")), update=(), delete=())
    __table_args__ = (
        Index("ix_access_log_tenant_id_at", "tenant_id", "at"),
        Index("ix_access_log_client_tenant_id_at", "client_tenant_id", "at"),
        Index("ix_access_log_user_id_at", "user_id", "at"),
        Index("ix_access_log_client_id", "client_id"),
    )

    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    client_id: Mapped[int] = mapped_column(BigId)  # no foreign key: the log outlives what it records
    client_tenant_id: Mapped[int] = mapped_column(BigId)
    client_public_id: Mapped[str] = mapped_column(String(24))
    action: Mapped[AccessAction] = mapped_column(enum_column(AccessAction, 20))
    what: Mapped[str] = mapped_column(String(100))  # e.g. "client", "case", "integrated_view"
    purpose: Mapped[str | None] = mapped_column(String(300))
    ip: Mapped[str | None] = mapped_column(String(45))

    user: Mapped["User"] = relationship()  # noqa: F821

    @property
    def action_label(self) -> str:
        return str(ACCESS_ACTION_LABELS[self.action])


class AccessReview(TenantOwned, IdMixin, PublicIdMixin, db.Model):
    """The privacy officer's monthly review of the log (who reviewed, when, findings)."""

    __tablename__ = "access_reviews"
    __table_args__ = (UniqueConstraint("tenant_id", "month"), UniqueConstraint("tenant_id", "public_id"))

    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    reviewed_by_user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    findings: Mapped[str] = mapped_column(Text)
    flagged_count: Mapped[int] = mapped_column(default=0)

    reviewed_by: Mapped["User"] = relationship()  # noqa: F821
