"""Housekeeping jobs for accounts."""
from __future__ import annotations

from sqlalchemy import delete

from ..core.db import db, utcnow
from .models import UserSession


def purge_ended_sessions(older_than_days: int = 30) -> int:
    """Delete server-side sessions that ended more than ``older_than_days`` ago."""
    from datetime import timedelta

    cutoff = utcnow() - timedelta(days=older_than_days)
    result = db.session.execute(delete(UserSession).where(UserSession.ended_at < cutoff))
    return result.rowcount
