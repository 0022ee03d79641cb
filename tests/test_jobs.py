"""Background jobs run as the tenant that enqueued them, in-process or through Redis."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hanaro.accounts.jobs import purge_ended_sessions
from hanaro.accounts.models import UserSession
from hanaro.core import jobs
from hanaro.core.db import db, utcnow

from .conftest import REDIS_AVAILABLE
from .jobs_for_tests import visible_membership_tenants


def test_an_in_process_job_sees_only_its_tenants_rows(app, ctx, make):
    a, b = make.tenant(), make.tenant()
    make.member(a), make.member(b)
    assert jobs.enqueue(visible_membership_tenants, tenant_id=a.id) == [a.id]
    assert jobs.enqueue(visible_membership_tenants, tenant_id=b.id) == [b.id]


def test_a_job_without_a_tenant_cannot_read_tenant_data(app, ctx, make):
    make.member(make.tenant())
    from hanaro.tenancy.context import NoActiveTenant

    with pytest.raises(NoActiveTenant):
        jobs.run_job("tests.jobs_for_tests.visible_membership_tenants", None, None, (), {})


@pytest.mark.skipif(not REDIS_AVAILABLE, reason="needs Redis")
def test_a_job_through_redis_runs_in_a_worker_as_its_tenant(app, ctx, make):
    import redis
    from rq import Queue, SimpleWorker

    a, b = make.tenant(), make.tenant()
    make.member(a), make.member(b)
    connection = redis.Redis.from_url(app.config["REDIS_URL"])
    queue = Queue("hanaro-test", connection=connection)
    queue.empty()
    job = queue.enqueue(jobs.run_job, "tests.jobs_for_tests.visible_membership_tenants", b.id, None, (), {})
    SimpleWorker([queue], connection=connection).work(burst=True)
    job.refresh()
    assert job.get_status() == "finished"
    assert job.return_value() == [b.id]


def test_purging_ended_sessions_keeps_live_and_recent_ones(app, ctx, make):
    user = make.user()
    now = utcnow()
    db.session.add_all([
        UserSession(token_hash="a" * 64, user_id=user.id, ended_at=now - timedelta(days=40)),
        UserSession(token_hash="b" * 64, user_id=user.id, ended_at=now - timedelta(days=2)),
        UserSession(token_hash="c" * 64, user_id=user.id),
    ])
    db.session.commit()
    assert jobs.enqueue(purge_ended_sessions, tenant_id=None) == 1
    remaining = db.session.scalars(select(UserSession).where(UserSession.user_id == user.id))
    assert sorted(s.token_hash[0] for s in remaining) == ["b", "c"]
