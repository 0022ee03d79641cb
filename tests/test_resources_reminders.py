"""Registrars are reminded, once per verification period, before their listings go stale, and
told when one has been hidden; each tenant's reminders run as that tenant and stay in its inbox."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hanaro.core import clock, jobs
from hanaro.core.db import db
from hanaro.notifications import service as notifications
from hanaro.notifications.models import Notification
from hanaro.resources import reminders
from hanaro.resources import service as resources
from hanaro.resources.models import Resource
from hanaro.tenancy.context import NoActiveTenant, acting_as
from hanaro.tenancy.models import Membership

START = clock.today()
IN_WINDOW = START + resources.STALE_AFTER - resources.REMIND_BEFORE + timedelta(days=5)
HIDDEN = START + resources.STALE_AFTER + timedelta(days=3)


@pytest.fixture
def at(monkeypatch):
    def travel(day):
        monkeypatch.setattr(clock, "today", lambda: day)
    return travel


@pytest.fixture
def registrar_world(make):
    tenant = make.tenant()
    registrar = make.member(tenant, roles=["resource_registrar"])
    resource = make.resource(tenant, name="김장김치 나눔", creator=registrar, scope="platform")
    return tenant, registrar, resource


def _notices(app, tenant):
    with app.app_context(), acting_as(tenant.id, None):
        return db.session.scalars(
            select(Notification).where(Notification.tenant_id == tenant.id).order_by(Notification.id)
        ).all()


def _run(tenant):
    return jobs.enqueue(reminders.remind_stale_listings, tenant_id=tenant.id)


def test_a_listing_entering_the_window_reminds_its_registrar_once(app, ctx, registrar_world, at):
    tenant, registrar, resource = registrar_world
    at(IN_WINDOW - timedelta(days=6))
    assert _run(tenant) == 0
    at(IN_WINDOW)
    assert _run(tenant) == 1
    [notice] = _notices(app, tenant)
    assert notice.kind == "resource_verify_soon" and notice.recipient_user_id == registrar.id
    assert notice.link == f"/resources/{resource.public_id}"
    assert "김장김치 나눔" in notice.body and "숨겨집니다" in notice.body
    assert registrar.email not in notice.body and registrar.display_name not in notice.body
    with acting_as(tenant.id, registrar.id):
        assert [n.id for n in notifications.inbox(registrar.id)] == [notice.id]


def test_rerunning_the_sweep_the_same_or_next_day_does_not_repeat(app, ctx, registrar_world, at):
    tenant, _, _ = registrar_world
    at(IN_WINDOW)
    assert reminders.sweep()[tenant.id] == 1
    assert reminders.sweep()[tenant.id] == 0
    at(IN_WINDOW + timedelta(days=1))
    assert _run(tenant) == 0
    at(HIDDEN)
    assert _run(tenant) == 0
    assert len(_notices(app, tenant)) == 1


def test_after_verifying_the_next_period_reminds_again(app, ctx, registrar_world, at):
    tenant, registrar, resource = registrar_world
    at(IN_WINDOW)
    assert _run(tenant) == 1
    with acting_as(tenant.id, registrar.id):
        resources.verify(db.session.get(Resource, resource.id), registrar)
        db.session.commit()
    assert _run(tenant) == 0
    at(IN_WINDOW + (IN_WINDOW - START))
    assert _run(tenant) == 1
    assert [n.kind for n in _notices(app, tenant)] == ["resource_verify_soon"] * 2


def test_a_stale_listing_says_it_is_hidden_until_verified(app, ctx, registrar_world, at):
    tenant, registrar, resource = registrar_world
    at(HIDDEN)
    assert _run(tenant) == 1
    [notice] = _notices(app, tenant)
    assert notice.kind == "resource_stale" and notice.recipient_user_id == registrar.id
    assert "숨겨졌습니다" in notice.title and "다시 보입니다" in notice.body
    assert notice.link == f"/resources/{resource.public_id}"


def test_without_a_writing_creator_the_whole_tenant_inbox_gets_it(app, ctx, make, at):
    tenant = make.tenant()
    former = make.member(tenant, roles=["resource_registrar"])
    admin = make.member(tenant, roles=["tenant_admin"])
    make.resource(tenant, creator=former)
    with acting_as(tenant.id, None):
        db.session.scalar(select(Membership).where(Membership.user_id == former.id)).roles = ["viewer"]
        db.session.commit()
    at(IN_WINDOW)
    assert _run(tenant) == 1
    [notice] = _notices(app, tenant)
    assert notice.recipient_user_id is None
    with acting_as(tenant.id, admin.id):
        assert [n.id for n in notifications.inbox(admin.id)] == [notice.id]


def test_a_fresh_listing_and_an_unrelated_notice_are_left_alone(app, ctx, registrar_world, make, at):
    tenant, _, _ = registrar_world
    make.resource(tenant, name="새 자원")
    at(START + timedelta(days=100))
    assert _run(tenant) == 0
    assert _notices(app, tenant) == []


def test_a_concurrent_sweep_that_posted_first_wins_without_an_error(app, ctx, registrar_world, at, monkeypatch):
    tenant, _, _ = registrar_world
    at(IN_WINDOW)
    assert _run(tenant) == 1
    monkeypatch.setattr(reminders, "_keys_taken", lambda *args: set())  # it read the keys before the other committed
    assert _run(tenant) == 0
    assert len(_notices(app, tenant)) == 1


def _visible_resource_names_of(owner_id: int) -> list[str]:
    return sorted(db.session.scalars(select(Resource.name).where(Resource.tenant_id == owner_id)))


def test_a_tenants_job_reads_and_reminds_only_its_own_listings(app, ctx, make, at):
    a, b = make.tenant(), make.tenant()
    make.member(a, roles=["resource_registrar"])
    b_registrar = make.member(b, roles=["resource_registrar"])
    make.resource(b, name="B 전체공개", scope="platform", creator=b_registrar)
    make.resource(b, name="B 비공개", creator=b_registrar)
    at(IN_WINDOW)
    assert jobs.enqueue(_visible_resource_names_of, b.id, tenant_id=a.id) == ["B 전체공개"]
    assert _run(a) == 0
    assert _notices(app, a) == [] and _notices(app, b) == []
    results = reminders.sweep()
    assert results[a.id] == 0 and results[b.id] == 2
    assert _notices(app, a) == []
    assert {n.recipient_user_id for n in _notices(app, b)} == {b_registrar.id}
    with acting_as(a.id, None):
        assert db.session.scalars(select(Notification)).all() == []


def test_the_job_refuses_to_run_without_a_tenant(app, ctx):
    with pytest.raises(NoActiveTenant):
        jobs.run_job("hanaro.resources.reminders.remind_stale_listings", None, None, (), {})


def test_the_cli_runs_the_sweep(app, registrar_world, at):
    tenant, _, _ = registrar_world
    at(IN_WINDOW)
    result = app.test_cli_runner().invoke(args=["resources", "remind-stale"])
    assert result.exit_code == 0, result.output
    assert "1 posted" in result.output
    assert len(_notices(app, tenant)) == 1
