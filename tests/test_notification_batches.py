"""Notification e-mail in batches: the notifications one transaction posts share a job per tenant and
batch, a batch job acts for its own tenant only, two workers and a re-run send each (notification,
user) once, and `flask worker` runs jobs in its own process, each in a fresh app context, with
rq's retries."""
from __future__ import annotations

import os
import subprocess
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from hanaro.core import jobs
from hanaro.core.db import db
from hanaro.notifications import delivery
from hanaro.notifications.models import DeliveryState, Notification, NotificationDelivery
from hanaro.notifications.service import notify
from hanaro.tenancy.context import acting_as

from .jobs_for_tests import RUNS, fails_once
from .test_notification_delivery import (  # noqa: F401  (fixtures)
    REPO, _committed_agency, _purge, _work, needs_redis_server, outbox, throwaway_redis,
)
from .test_notification_transports import read_eml

TITLE = "서비스 의뢰를 받았습니다"


@needs_redis_server
def test_one_transaction_enqueues_one_job_per_tenant_and_batch_not_one_per_notification(
        app, ctx, make, outbox, throwaway_redis, monkeypatch):
    throwaway_redis.start()
    monkeypatch.setitem(app.config, "NOTIFY_BATCH_SIZE", 3)
    a, b = make.tenant(), make.tenant()
    a_people = [make.member(a, roles=["case_manager"]) for _ in range(2)]
    b_person = make.member(b, roles=["referral_coordinator"])
    with acting_as(a.id, None):
        to_a = [notify(a.id, "referral_received", f"{TITLE} {i}", recipient_user_id=a_people[i % 2].id).id
                for i in range(7)]
        to_b = [notify(b.id, "referral_received", f"{TITLE} b{i}", recipient_user_id=b_person.id).id for i in range(2)]
        db.session.commit()

    queue = jobs.queue()
    queued = sorted((job.args[1], job.args[3][0]) for job in queue.jobs)  # (tenant, notification ids)
    assert queued == sorted([(a.id, to_a[0:3]), (a.id, to_a[3:6]), (a.id, to_a[6:]), (b.id, to_b)])
    assert {(job.timeout, job.retries_left) for job in queue.jobs} == {(600, 3)}

    _work(app)
    expected = [a_people[i % 2].email for i in range(7)] + [b_person.email] * 2
    assert sorted(m["To"] for m in outbox) == sorted(expected)


@needs_redis_server
def test_the_jobs_of_one_commit_reach_redis_in_one_round_trip_and_all_run(
        app, ctx, make, outbox, throwaway_redis, monkeypatch):
    import redis

    throwaway_redis.start()
    a, b = make.tenant(), make.tenant()
    a_person, b_person = make.member(a, roles=["case_manager"]), make.member(b, roles=["case_manager"])
    round_trips = []
    execute = redis.client.Pipeline.execute
    monkeypatch.setattr(redis.client.Pipeline, "execute",
                        lambda self, *args, **kwargs: round_trips.append(len(self)) or execute(self, *args, **kwargs))
    with acting_as(a.id, None):
        notify(a.id, "referral_received", TITLE, recipient_user_id=a_person.id)
        notify(b.id, "referral_received", TITLE, recipient_user_id=b_person.id)
        db.session.commit()

    assert len(round_trips) == 1
    assert sorted(job.args[1] for job in jobs.queue().jobs) == sorted([a.id, b.id])
    _work(app)
    assert sorted(m["To"] for m in outbox) == sorted([a_person.email, b_person.email])


def test_a_batch_job_plans_and_sends_only_its_own_tenants_notifications(app, ctx, make, outbox):
    mine, theirs = make.tenant(), make.tenant()
    me, them = make.member(mine, roles=["case_manager"]), make.member(theirs, roles=["case_manager"])
    sender = make.tenant()
    with acting_as(sender.id, None):
        ids = [notify(mine.id, "referral_received", TITLE, recipient_user_id=me.id).id,
               notify(theirs.id, "referral_received", TITLE, recipient_user_id=them.id).id]
        db.session.info.pop("hanaro_after_commit")  # only the jobs below run
        db.session.commit()

    assert jobs.enqueue(delivery.deliver, ids, tenant_id=mine.id) == {
        "planned": 1, "sent": 1, "retry": 0, "failed": 0, "skipped": 0}
    assert [m["To"] for m in outbox] == [me.email]
    with acting_as(theirs.id, None):
        assert db.session.get(Notification, ids[1]).email_planned_at is None  # untouched
        assert db.session.scalars(select(NotificationDelivery)).all() == []
    assert jobs.enqueue(delivery.deliver, ids, tenant_id=theirs.id)["sent"] == 1
    assert sorted(m["To"] for m in outbox) == sorted([me.email, them.email])


def test_a_tenant_wide_notice_with_nobody_to_mail_is_planned_without_deliveries(app, ctx, make, outbox):
    tenant = make.tenant()
    make.member(tenant, roles=["viewer"])  # no referral role, no administrator
    with acting_as(tenant.id, None):
        notification = notify(tenant.id, "referral_received", TITLE)
        db.session.info.pop("hanaro_after_commit")
        db.session.commit()
    assert jobs.enqueue(delivery.deliver, [notification.id], tenant_id=tenant.id)["planned"] == 1
    with acting_as(tenant.id, None):
        assert db.session.get(Notification, notification.id).email_planned_at is not None
        assert db.session.scalars(select(NotificationDelivery)).all() == []
    assert outbox == []


def test_a_batch_stops_before_its_lease_runs_out_and_releases_what_it_did_not_send(app, ctx, make, outbox,
                                                                                  monkeypatch):
    tenant = make.tenant()
    person = make.member(tenant, roles=["case_manager"])
    with acting_as(tenant.id, None):
        ids = [notify(tenant.id, "referral_received", f"{TITLE} {i}", recipient_user_id=person.id).id
               for i in range(3)]
        db.session.info.pop("hanaro_after_commit")
        db.session.commit()
    monkeypatch.setattr(delivery, "_send", lambda claims: {})  # plan only: the claims are released unsent
    assert jobs.enqueue(delivery.deliver, ids, tenant_id=tenant.id)["planned"] == 3
    monkeypatch.undo()
    clock = iter([0.0, 0.0] + [10.0 ** 6] * 10)  # the batch starts, sends one, then its lease nearly ran out
    monkeypatch.setattr(delivery, "time", SimpleNamespace(monotonic=lambda: next(clock)))
    with acting_as(tenant.id, None):
        outcomes = delivery._send_batch(tenant.id, [])
    assert outcomes == ["sent", None, None] and len(outbox) == 1
    with acting_as(tenant.id, None):
        rows = db.session.scalars(select(NotificationDelivery).order_by(NotificationDelivery.id)).all()
    assert [(r.state, r.attempts) for r in rows] == [(DeliveryState.SENT, 1), (DeliveryState.PENDING, 0),
                                                     (DeliveryState.PENDING, 0)]
    monkeypatch.undo()
    assert jobs.enqueue(delivery.deliver, ids, tenant_id=tenant.id)["sent"] == 2 and len(outbox) == 3


# -- two real workers at once, then a re-run ----------------------------------------------------------------

def _workers(count: int, env: dict) -> None:
    started = [subprocess.Popen([str(REPO / ".venv" / "bin" / "flask"), "worker", "--burst"], env=env, cwd=REPO,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(count)]
    for worker in started:
        _, errors = worker.communicate(timeout=180)
        assert worker.returncode == 0, errors


@pytest.mark.committed
@needs_redis_server
def test_two_workers_and_a_re_run_send_each_notification_to_each_user_once(app, tmp_path, throwaway_redis):
    mail_dir = tmp_path / "mail"
    throwaway_redis.start()
    tenants = [_committed_agency(app, f"동시발송기관{i}") for i in range(2)]
    try:
        posted = {}
        for tenant in tenants:  # a third of them to the whole tenant (its one member handles referrals)
            with app.app_context(), acting_as(tenant.id, None):
                posted[tenant.id] = [notify(tenant.id, "referral_received", f"{TITLE} {i}",
                                            recipient_user_id=tenant.user.id if i % 3 else None).id
                                     for i in range(24)]
                db.session.commit()
        with app.app_context():  # the same work again, as sweeps racing the first jobs would enqueue it
            for tenant in tenants:
                for _ in range(2):
                    jobs.enqueue(delivery.deliver, posted[tenant.id], tenant_id=tenant.id)
                    jobs.enqueue(delivery.deliver, None, tenant_id=tenant.id)
            assert jobs.queue().count > 2 * len(tenants)
        env = {**os.environ, "FLASK_APP": "hanaro", "SECRET_KEY": "worker-test",
               "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": throwaway_redis.url,
               "HANARO_JOBS_IN_PROCESS": "0", "MAIL_TRANSPORT": "file", "MAIL_FILE_DIR": str(mail_dir),
               "HANARO_NOTIFY_BATCH_SIZE": "5",  # many small batches, so the two workers interleave
               "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "platform"), os.environ.get("PYTHONPATH", "")])}
        _workers(2, env)
        with app.app_context():  # a re-run of everything
            for tenant in tenants:
                jobs.enqueue(delivery.deliver, posted[tenant.id], tenant_id=tenant.id)
                jobs.enqueue(delivery.deliver, None, tenant_id=tenant.id)
        _workers(1, env)

        messages = [read_eml(path) for path in mail_dir.glob("*.eml")]
        assert len(messages) == 48 and len({m["Message-ID"] for m in messages}) == 48
        for tenant in tenants:
            with app.app_context(), acting_as(tenant.id, None):
                rows = db.session.scalars(select(NotificationDelivery)).all()
                assert sorted((r.notification_id, r.user_id) for r in rows) == \
                    sorted((n, tenant.user.id) for n in posted[tenant.id])
                assert {(r.state, r.attempts) for r in rows} == {(DeliveryState.SENT, 1)}
                db.session.commit()
            assert sum(m["To"] == tenant.user.email for m in messages) == 24
    finally:
        _purge(app, tenants)


# -- the worker ------------------------------------------------------------------------------------------------

@needs_redis_server
def test_flask_worker_runs_jobs_in_its_own_process_each_in_a_fresh_app_context(app, throwaway_redis):
    import gc

    from rq import Queue

    throwaway_redis.start()
    with app.app_context():
        queue = Queue("default", connection=jobs.connection())
        first, second = (queue.enqueue(jobs.run_job, "tests.jobs_for_tests.process_and_context", None, None,
                                       (marker,), {}) for marker in ("first", "second"))
    try:
        result = app.test_cli_runner().invoke(args=["worker", "--burst", "--no-scheduler"])
    finally:
        gc.unfreeze()  # the worker froze this test process's objects
    assert result.exit_code == 0, result.output
    first.refresh(), second.refresh()
    assert first.return_value() == (os.getpid(), [])  # no fork: the job ran in this very process
    assert second.return_value() == (os.getpid(), [])  # and saw nothing of the job before it


@needs_redis_server
def test_rq_runs_a_failed_job_again_when_it_asked_for_retries(app, ctx, throwaway_redis, monkeypatch):
    throwaway_redis.start()
    RUNS.clear()
    job = jobs.enqueue(fails_once, tenant_id=None)
    assert job.retries_left == 1
    _work(app)
    job.refresh()
    assert job.get_status() == "finished" and job.return_value() == "second run" and len(RUNS) == 2
