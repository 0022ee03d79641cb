"""Background jobs (rq). A job runs inside an app context with the tenancy context it was
enqueued under, so it sees exactly what its tenant may see and nothing else.

Without Redis (the embedded default, and tests) jobs run in-process, synchronously, through the
same wrapper. Jobs must be idempotent: rq may run one again after a worker dies.
"""
from __future__ import annotations

import importlib
import logging

from flask import current_app

from ..core.db import db
from ..tenancy.context import acting_as

log = logging.getLogger(__name__)


def _resolve(path: str):
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def run_job(path: str, tenant_id: int | None, user_id: int | None, args: tuple, kwargs: dict):
    """Entry point executed by the worker (or in-process): one transaction per job."""
    from flask import has_app_context

    if has_app_context():
        return _run_in_context(path, tenant_id, user_id, args, kwargs)
    from hanaro import create_app

    with create_app().app_context():
        return _run_in_context(path, tenant_id, user_id, args, kwargs)


def _run_in_context(path, tenant_id, user_id, args, kwargs):
    function = _resolve(path)
    with acting_as(tenant_id, user_id):
        try:
            result = function(*args, **kwargs)
            db.session.commit()
            return result
        except Exception:
            db.session.rollback()
            log.exception("job %s failed (tenant %s)", path, tenant_id)
            raise


def enqueue(function, *args, tenant_id: int | None, user_id: int | None = None, **kwargs):
    """Run ``function(*args, **kwargs)`` in the background as ``tenant_id``/``user_id``."""
    path = f"{function.__module__}.{function.__qualname__}"
    if current_app.config.get("JOBS_IN_PROCESS") or not current_app.config.get("REDIS_URL"):
        return run_job(path, tenant_id, user_id, args, kwargs)
    return queue().enqueue(run_job, path, tenant_id, user_id, args, kwargs)


def queue(name: str = "default"):
    import redis
    from rq import Queue

    connection = redis.Redis.from_url(current_app.config["REDIS_URL"])
    return Queue(name, connection=connection)
