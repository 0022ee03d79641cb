"""Users (global identities), their server-side sessions and the login log."""
from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.db import enum_column, BigId, IdMixin, PublicIdMixin, TimestampMixin, UTCDateTime, db, utcnow


class User(UserMixin, IdMixin, PublicIdMixin, TimestampMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("public_id"),)

    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_platform_operator: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    locale: Mapped[str | None] = mapped_column(String(5))
    # The tenant the user last switched to: where the next sign-in lands (invitations never set it).
    last_tenant_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("tenants.id"))

    memberships: Mapped[list["Membership"]] = relationship(back_populates="user")  # noqa: F821

    def get_id(self) -> str:
        return self.public_id

    @property
    def is_active(self) -> bool:
        return self.active


class UserSession(IdMixin, db.Model):
    """A signed-in browser. The cookie holds only a random token; its hash is stored here, so
    logout, timeouts and tenant switches are decided on the server."""

    __tablename__ = "user_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), index=True)
    active_tenant_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("tenants.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str | None] = mapped_column(String(20))

    user: Mapped["User"] = relationship()


class LoginThrottle(IdMixin, db.Model):
    """Wrong passwords for one account from one client address. A lock stops that address only,
    so nobody can lock the owner out of an account from elsewhere."""

    __tablename__ = "login_throttles"
    __table_args__ = (UniqueConstraint("user_id", "address"),)

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    # The client address; an IPv6 client counts as its /64 (see service.throttle_address).
    address: Mapped[str] = mapped_column(String(45))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the owner was last e-mailed about a lock (at most one e-mail per LOGIN_LOCKOUT_EMAIL_INTERVAL).
    owner_emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


class LoginOutcome(enum.StrEnum):
    SUCCESS = "success"
    BAD_CREDENTIALS = "bad_credentials"
    LOCKED = "locked"
    INACTIVE = "inactive"
    NO_MEMBERSHIP = "no_membership"
    LOGOUT = "logout"


class LoginEvent(IdMixin, db.Model):
    """Every sign-in attempt and sign-out. Visible to platform operators."""

    __tablename__ = "login_events"
    __table_args__ = (Index("ix_login_events_at", "at"),)

    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"), index=True)
    login_attempted: Mapped[str] = mapped_column(String(254))
    outcome: Mapped[LoginOutcome] = mapped_column(enum_column(LoginOutcome, 20))
    ip: Mapped[str | None] = mapped_column(String(45))
