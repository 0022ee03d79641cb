"""Health check."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from ..core.access import public
from ..core.db import db

bp = Blueprint("core", __name__)


def _database_ok() -> bool:
    try:
        db.session.execute(text("select 1"))
        return True
    except Exception:  # noqa: BLE001 - any failure means "not healthy", reported below
        db.session.rollback()
        return False


def _redis_status() -> str:
    url = current_app.config.get("REDIS_URL")
    if not url:
        return "not_configured"
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
        return "ok"
    except redis.RedisError:
        return "unreachable"


@bp.get("/healthz")
@public
def healthz():
    database = "ok" if _database_ok() else "unreachable"
    redis_status = _redis_status()
    healthy = database == "ok" and redis_status != "unreachable"
    body = {"status": "ok" if healthy else "degraded", "database": database, "redis": redis_status}
    return jsonify(body), 200 if healthy else 503
