"""Background jobs (rq). A job runs inside an app context with the tenancy context it was
enqueued under, so it sees exactly what its tenant may see and nothing else.

Without Redis (the embedded default, and tests) jobs run in-process, synchronously, through the
same wrapper. Jobs must be idempotent: rq may run one again after a worker dies.

Two ways to start one:

* :func:`enqueue` — now. With Redis down it raises (``redis.ConnectionError``).
* :func:`after_commit` — once the current database transaction commits, and never if it rolls
  back: for work that must see the rows the transaction wrote (the notification outbox). With
  Redis, the job is pushed right after the commit; if Redis is down the failure is logged and
  swallowed (the request that committed still succeeds; a periodic sweep must find the work from
  the database later). In-process, the job runs at a safe point after the commit: when the request
  ends (:func:`install` registers that), or right after the job whose commit scheduled it.
* :func:`after_commit_each` — the same for a job taking a list of items: the items one transaction
  schedules for the same function and tenant become one job per ``size`` items, never a job each
  (a transaction that posts 10 000 notifications enqueues a hundred jobs, not 10 000).

:func:`job` gives a job function its rq timeout and retries (rq retries nothing unless asked; an
interval needs the worker's scheduler, which ``flask worker`` runs).
"""
from __future__ import annotations

import importlib
import logging

from flask import Flask, current_app, g, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from ..core.db import db
from ..tenancy.context import acting_as

log = logging.getLogger(__name__)

_PENDING = "hanaro_after_commit"  # session.info key: jobs waiting for the commit
_DEFERRED = "hanaro_deferred_jobs"  # g key: in-process jobs waiting for a safe point
_OPTIONS = "__hanaro_job__"  # function attribute set by @job


class _Pending(list):
    """Jobs waiting for the commit, as (path, tenant id, user id, args, kwargs). ``groups`` holds
    the item list of the grouped job (:func:`after_commit_each`) still taking items, per function
    and tenant; it lives and goes with the list, so dropping the list drops the groups too."""

    def __init__(self):
        super().__init__()
        self.groups: dict[tuple, list] = {}


def job(timeout: int | None = None, retry: tuple[int, ...] | None = None):
    """Options of a job function on the rq queue: ``timeout`` in seconds (rq's own default is 180),
    ``retry``: the waits in seconds before each retry of a failed run (``(10, 60)``: two retries)."""

    def mark(function):
        setattr(function, _OPTIONS, {"timeout": timeout, "retry": retry})
        return function

    return mark


def _rq_options(path: str) -> dict:
    options = getattr(_resolve(path), _OPTIONS, {})
    found = {}
    if options.get("timeout"):
        found["job_timeout"] = options["timeout"]
    if options.get("retry"):
        from rq import Retry

        waits = list(options["retry"])
        found["retry"] = Retry(max=len(waits), interval=waits)
    return found


def _resolve(path: str):
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _path(function) -> str:
    return f"{function.__module__}.{function.__qualname__}"


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
        except Exception:
            db.session.rollback()
            log.exception("job %s failed (tenant %s)", path, tenant_id)
            raise
    run_deferred()
    return result


def in_process() -> bool:
    return bool(current_app.config.get("JOBS_IN_PROCESS") or not current_app.config.get("REDIS_URL"))


def enqueue(function, *args, tenant_id: int | None, user_id: int | None = None, **kwargs):
    """Run ``function(*args, **kwargs)`` in the background as ``tenant_id``/``user_id``."""
    path = _path(function)
    if in_process():
        return run_job(path, tenant_id, user_id, args, kwargs)
    return _push(path, tenant_id, user_id, args, kwargs)


def _push(path, tenant_id, user_id, args, kwargs, pipeline=None):
    return queue().enqueue(run_job, path, tenant_id, user_id, args, kwargs, pipeline=pipeline, **_rq_options(path))


def _push_all(pending: list) -> None:
    """Every job a commit scheduled, in one Redis round trip (rq on its own spends two per job).
    A job that cannot be prepared (its arguments do not pickle) is logged and left out, as it
    was when each job was pushed alone; the others still go."""
    pipeline = connection().pipeline()
    for path, tenant_id, user_id, args, kwargs in pending:
        try:
            _push(path, tenant_id, user_id, args, kwargs, pipeline=pipeline)
        except Exception:  # noqa: BLE001
            log.warning("could not enqueue %s after commit", _names([(path, tenant_id)]), exc_info=True)
    pipeline.execute()


def _names(pending) -> str:
    return ", ".join(f"{path} for tenant {tenant_id}" for path, tenant_id, *_ in pending)


def after_commit(function, *args, tenant_id: int | None, user_id: int | None = None, **kwargs) -> None:
    """Enqueue ``function`` as :func:`enqueue` would, once the current transaction of
    ``db.session`` commits (see the module docstring for what happens when Redis is down)."""
    _pending().append((_path(function), tenant_id, user_id, args, kwargs))


def after_commit_each(function, item, *, tenant_id: int | None, user_id: int | None = None, size: int = 100) -> None:
    """Schedule ``function([item, ...])`` as :func:`after_commit` would, grouped: the items this
    transaction schedules for the same function, tenant and user share one job, up to ``size``."""
    pending, key = _pending(), (_path(function), tenant_id, user_id)
    items = pending.groups.get(key)
    if items is None or len(items) >= size:
        items = pending.groups[key] = []
        pending.append((key[0], tenant_id, user_id, (items,), {}))
    items.append(item)


def _pending() -> _Pending:
    return db.session.info.setdefault(_PENDING, _Pending())


@event.listens_for(Session, "after_commit")
def _enqueue_committed(session):
    pending = session.info.pop(_PENDING, None)
    if not pending or not has_app_context():
        return
    if in_process():
        g.setdefault(_DEFERRED, []).extend(pending)
        return
    try:
        _push_all(pending)
    except Exception:  # noqa: BLE001 - Redis down must not fail the committed work
        log.warning("could not enqueue %s after commit; the sweep will retry", _names(pending), exc_info=True)


@event.listens_for(Session, "after_transaction_end")
def _forget_rolled_back(session, transaction):
    if transaction.parent is None:  # the outermost transaction ended without a commit
        session.info.pop(_PENDING, None)


def run_deferred() -> int:
    """Run the in-process jobs that commits have scheduled so far; returns how many ran. Their
    failures are logged, not raised: the committed work stays, a sweep retries."""
    if not has_app_context():
        return 0
    done = 0
    while g.get(_DEFERRED):
        path, tenant_id, user_id, args, kwargs = g.get(_DEFERRED).pop(0)
        try:
            run_job(path, tenant_id, user_id, args, kwargs)
        except Exception:  # noqa: BLE001
            log.warning("deferred job %s for tenant %s failed", path, tenant_id, exc_info=True)
        done += 1
    return done


def install(app: Flask) -> None:
    """Run in-process jobs scheduled by a request's commit when the request ends."""

    @app.teardown_request
    def _run_deferred_jobs(exc=None):
        try:
            run_deferred()
        except Exception:  # noqa: BLE001 - never turn a finished request into an error
            log.exception("running deferred jobs failed")


def connection():
    """The app's Redis connection (one pool per app), failing fast when Redis is unreachable."""
    import redis

    connections = current_app.extensions.setdefault("hanaro_redis", {})
    url = current_app.config["REDIS_URL"]
    if url not in connections:
        connections[url] = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10)
    return connections[url]


def queue(name: str = "default"):
    from rq import Queue

    return Queue(name, connection=connection())
