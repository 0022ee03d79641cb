"""The periodic scheduler: tasks run when due, once per interval, even with two schedulers ticking at
the same moment, and the schedule lives in the database, so a restart picks up where it was."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from hanaro.core import jobs, schedule
from hanaro.core.db import db, utcnow
from hanaro.core.schedule import ScheduledRun
from hanaro.tenancy import context

RUNS: list[tuple[str, int | None]] = []
_lock = threading.Lock()


def hourly_task():
    with _lock:
        RUNS.append(("hourly", context.current_tenant_id()))


def daily_task():
    with _lock:
        RUNS.append(("daily", context.current_tenant_id()))


def per_tenant_task():
    with _lock:
        RUNS.append(("per_tenant", context.current_tenant_id()))


def failing_task():
    raise RuntimeError("this task always fails")


@pytest.fixture
def tasks(monkeypatch):
    """Only this file's tasks are registered (the real ones stay out of the way)."""
    schedule.discover()  # import the packages' jobs modules first, so they register elsewhere
    monkeypatch.setattr(schedule, "TASKS", {})
    RUNS.clear()
    schedule.periodic("test.hourly", every=timedelta(hours=1))(hourly_task)
    schedule.periodic("test.daily", every=timedelta(days=1))(daily_task)
    yield schedule.TASKS
    RUNS.clear()


def _runs(name):
    return [tenant for task, tenant in RUNS if task == name]


def test_a_due_task_runs_once_per_interval(app, ctx, tasks):
    now = utcnow()
    assert schedule.tick(now) == ["test.daily", "test.hourly"]  # new tasks are due at once
    assert schedule.tick(now + timedelta(minutes=30)) == []
    assert schedule.tick(now + timedelta(hours=1)) == ["test.hourly"]
    assert schedule.tick(now + timedelta(hours=1, seconds=30)) == []
    assert schedule.tick(now + timedelta(days=1, hours=1)) == ["test.daily", "test.hourly"]
    assert _runs("hourly") == [None, None, None] and _runs("daily") == [None, None]
    row = db.session.get(ScheduledRun, "test.hourly")
    assert row.runs == 3 and row.next_run_at == now + timedelta(days=1, hours=2)


def test_a_restarted_scheduler_resumes_from_the_database(app, ctx, tasks, monkeypatch):
    now = utcnow()
    schedule.tick(now)
    # A new process: the registry is rebuilt from the code, nothing else is remembered.
    monkeypatch.setattr(schedule, "TASKS", {})
    schedule.periodic("test.daily", every=timedelta(days=1))(daily_task)
    db.session.remove()
    assert schedule.tick(now + timedelta(hours=5)) == []  # ran 5 hours ago: not again
    assert schedule.tick(now + timedelta(days=1)) == ["test.daily"]
    assert _runs("daily") == [None, None]


def test_per_tenant_tasks_run_as_each_active_tenant(app, ctx, tasks, make):
    schedule.periodic("test.per_tenant", every=timedelta(hours=1), per_tenant=True)(per_tenant_task)
    active, other = make.tenant(), make.tenant()
    with context.unscoped():
        from hanaro.tenancy.models import Tenant

        db.session.get(Tenant, other.id).active = False
        db.session.commit()
    schedule.tick(utcnow())
    ran_as = set(_runs("per_tenant"))
    assert active.id in ran_as and other.id not in ran_as and None not in ran_as


def test_a_failing_task_is_logged_and_waits_for_its_next_interval(app, ctx, tasks):
    schedule.periodic("test.failing", every=timedelta(hours=1))(failing_task)
    now = utcnow()
    assert "test.failing" in schedule.tick(now)  # in-process: it ran (and failed)
    assert schedule.tick(now + timedelta(minutes=1)) == []
    assert _runs("hourly") == [None]  # the others were not disturbed


def test_with_redis_down_the_claim_is_undone_and_the_next_tick_retries(app, ctx, tasks, monkeypatch):
    import redis

    def queue(name="default"):
        raise redis.ConnectionError("Redis is down")

    monkeypatch.setattr(jobs, "in_process", lambda: False)
    monkeypatch.setattr(jobs, "queue", queue)
    now = utcnow()
    assert schedule.tick(now) == []
    row = db.session.get(ScheduledRun, "test.hourly")
    assert (row.next_run_at, row.runs) == (now, 0)  # still due, nothing counted
    monkeypatch.setattr(jobs, "in_process", lambda: True)  # jobs can run again
    assert schedule.tick(now + timedelta(seconds=30)) == ["test.daily", "test.hourly"]
    assert _runs("hourly") == [None]


def test_a_name_cannot_be_registered_for_two_functions(tasks):
    with pytest.raises(ValueError):
        schedule.periodic("test.hourly", every=timedelta(hours=1))(daily_task)
    with pytest.raises(ValueError):
        schedule.periodic("test.never", every=timedelta(0))


def test_the_real_tasks_are_registered():
    registered = schedule.discover()
    assert registered["notifications.sweep"].every == timedelta(minutes=5)
    assert registered["notifications.sweep"].path == "hanaro.notifications.delivery.sweep"
    assert registered["resources.remind_stale"].every == timedelta(days=1)


def test_the_scheduler_command_ticks_once(app, ctx, tasks):
    result = app.test_cli_runner().invoke(args=["scheduler", "--once"])
    assert result.exit_code == 0, result.output
    assert "test.daily, test.hourly" in result.output and "in-process" in result.output
    assert "started: test.daily, test.hourly" in result.output
    assert _runs("hourly") == [None]


@pytest.mark.committed
def test_two_schedulers_ticking_at_once_run_each_due_task_once(app, tasks):
    """Two schedulers (threads with their own connections), started together on the same due
    moments: every task runs exactly once per moment."""
    start, moments = utcnow(), 6
    barrier = threading.Barrier(2)
    started: list[list[str]] = []
    errors = []

    def scheduler():
        try:
            for i in range(moments):
                with app.app_context():
                    barrier.wait(timeout=20)
                    started.append(schedule.tick(start + timedelta(days=i)))
                    db.session.remove()
        except Exception as error:  # noqa: BLE001
            errors.append(error)
            barrier.abort()

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        assert len(_runs("hourly")) == len(_runs("daily")) == moments
        assert sorted(name for names in started for name in names) == sorted(["test.daily", "test.hourly"] * moments)
    finally:
        with app.app_context():
            db.session.execute(delete(ScheduledRun).where(ScheduledRun.name.like("test.%")))
            db.session.commit()
            assert db.session.scalars(select(ScheduledRun.name).where(ScheduledRun.name.like("test.%"))).all() == []
