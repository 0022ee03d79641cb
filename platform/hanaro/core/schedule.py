"""Periodic tasks on a schedule kept in the database, so it survives restarts.

Registering a task (in any module that ``create_app`` imports — a package's ``models``, ``views``
or ``cli`` — or in ``hanaro/<package>/jobs.py``, which the scheduler imports itself)::

    from datetime import timedelta
    from hanaro.core.schedule import periodic

    @periodic("referrals.remind_and_expire", every=timedelta(hours=1), per_tenant=True)
    def remind_and_expire():
        ...

* ``name`` is the task's stable key in the ``scheduled_runs`` table: renaming it starts a new
  schedule. ``every`` is the interval between runs (the next run is ``every`` after the run
  starts; a task that was due while no scheduler ran runs once, not once per missed interval).
* Without ``per_tenant`` the function runs once, with no active tenant (it may read global tables
  such as ``tenants`` and enqueue per-tenant jobs itself, as ``notifications.sweep`` does). With
  ``per_tenant=True`` it runs once for every active tenant, as that tenant (one job each).
* Tasks must be idempotent and cheap to repeat: a run is claimed before it is enqueued, so a crash
  between the two loses that run until the next interval, and a job may be retried by rq.
* The decorator returns the function unchanged; it stays callable directly (tests, CLI).

Running: ``flask scheduler`` ticks every ``SCHEDULER_TICK_SECONDS`` (30); each tick claims the due
tasks and enqueues them as jobs (:func:`hanaro.core.jobs.enqueue`): on the rq queue with Redis, or
run right there in the scheduler process without Redis (the embedded default). ``flask scheduler
--once`` ticks once (cron-friendly). Any number of schedulers may run: a task is claimed with one
conditional ``UPDATE scheduled_runs SET next_run_at = ... WHERE name = ... AND next_run_at <= now``,
which only one of them can win (PostgreSQL re-checks the condition after waiting for the row lock;
SQLite has a single writer). When Redis refuses the job the claim is undone, so the next tick retries.
"""
from __future__ import annotations

import importlib
import logging
import pkgutil
import signal
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import Integer, String, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from .db import UTCDateTime, db, utcnow

log = logging.getLogger(__name__)


class ScheduledRun(db.Model):
    """When each periodic task last ran and next falls due (global: no tenant data)."""

    __tablename__ = "scheduled_runs"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    runs: Mapped[int] = mapped_column(Integer, default=0)


@dataclass(frozen=True)
class Task:
    name: str
    every: timedelta
    path: str  # dotted path of the function, as jobs carry it
    per_tenant: bool = False


TASKS: dict[str, Task] = {}


def periodic(name: str, every: timedelta, per_tenant: bool = False):
    """Register the decorated function as the periodic task ``name`` (see the module docstring)."""
    if every <= timedelta(0):
        raise ValueError("a periodic task needs a positive interval")

    def register(function):
        path = f"{function.__module__}.{function.__qualname__}"
        existing = TASKS.get(name)
        if existing is not None and existing.path != path:
            raise ValueError(f"periodic task {name!r} is already registered for {existing.path}")
        TASKS[name] = Task(name, every, path, per_tenant)
        return function

    return register


def discover() -> dict[str, Task]:
    """Import every ``hanaro.<package>.jobs`` module so the tasks they declare are registered."""
    import hanaro

    for module in pkgutil.iter_modules(hanaro.__path__):
        if module.ispkg:
            try:
                importlib.import_module(f"hanaro.{module.name}.jobs")
            except ModuleNotFoundError as error:
                if error.name != f"hanaro.{module.name}.jobs":
                    raise
    return TASKS


def _ensure_rows(now: datetime) -> None:
    """A task seen for the first time is due at once."""
    known = set(db.session.scalars(select(ScheduledRun.name)))
    for name in sorted(set(TASKS) - known):
        try:
            with db.session.begin_nested():
                db.session.add(ScheduledRun(name=name, next_run_at=now, runs=0))
        except IntegrityError:
            pass  # another scheduler added it first
    db.session.commit()


def _claim(task: Task, now: datetime) -> datetime | None:
    """Move the task's next run forward if it is due; returns the previous due time if this
    scheduler won the claim, None if the task is not due (or another scheduler claimed it)."""
    previous = db.session.scalar(select(ScheduledRun.next_run_at).where(ScheduledRun.name == task.name))
    claimed = db.session.execute(
        update(ScheduledRun)
        .where(ScheduledRun.name == task.name, ScheduledRun.next_run_at <= now)
        .values(next_run_at=now + task.every, last_run_at=now, runs=ScheduledRun.runs + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return previous if claimed == 1 else None


def _unclaim(task: Task, previous: datetime) -> None:
    db.session.execute(
        update(ScheduledRun).where(ScheduledRun.name == task.name)
        .values(next_run_at=previous, runs=ScheduledRun.runs - 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def run_task(path: str) -> None:
    """The job a plain task becomes."""
    from .jobs import _resolve

    _resolve(path)()


def fan_out(path: str) -> int:
    """The job a ``per_tenant`` task becomes: one job per active tenant, as that tenant."""
    from ..tenancy.models import Tenant
    from . import jobs

    tenant_ids = db.session.scalars(select(Tenant.id).where(Tenant.active).order_by(Tenant.id)).all()
    for tenant_id in tenant_ids:
        jobs.enqueue(run_task, path, tenant_id=tenant_id)
    return len(tenant_ids)


def tick(now: datetime | None = None) -> list[str]:
    """Claim and enqueue every task that is due; returns the names this call started."""
    from . import jobs

    now = now or utcnow()
    discover()
    _ensure_rows(now)
    started = []
    for task in sorted(TASKS.values(), key=lambda t: t.name):
        previous = _claim(task, now)
        if previous is None:
            continue
        try:
            jobs.enqueue(fan_out if task.per_tenant else run_task, task.path, tenant_id=None)
        except Exception:  # noqa: BLE001
            if jobs.in_process():
                log.exception("periodic task %s failed", task.name)  # ran and failed: next interval
            else:
                log.warning("could not enqueue periodic task %s; retrying next tick", task.name, exc_info=True)
                db.session.rollback()
                _unclaim(task, previous)
                continue
        started.append(task.name)
    return started


@click.command("scheduler")
@click.option("--once", is_flag=True, help="run the due tasks once and exit")
@click.option("--interval", type=float, default=None, help="seconds between ticks (SCHEDULER_TICK_SECONDS)")
@with_appcontext
def scheduler_command(once, interval):
    """Run periodic tasks (notification sweep, reminders) on the schedule kept in the database."""
    interval = interval or current_app.config["SCHEDULER_TICK_SECONDS"]
    stopping = []
    if not once:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stopping.append(True))
    click.echo(f"scheduler: {', '.join(sorted(discover())) or 'no tasks'}; "
               f"jobs {'in-process' if _in_process() else 'on Redis'}")
    while True:
        try:
            started = tick()
            if started:
                click.echo(f"{utcnow():%Y-%m-%d %H:%M:%S}Z started: {', '.join(started)}")
        except Exception:  # noqa: BLE001 - a database hiccup must not stop the loop
            log.exception("scheduler tick failed")
            db.session.rollback()
        finally:
            db.session.remove()
        if once:
            return
        deadline = time.monotonic() + interval
        while not stopping and time.monotonic() < deadline:
            time.sleep(min(1.0, deadline - time.monotonic()))
        if stopping:
            click.echo("scheduler: stopped")
            return


def _in_process() -> bool:
    from .jobs import in_process

    return in_process()
