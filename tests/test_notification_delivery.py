"""Notification e-mail from the transactional outbox: written with the change, delivered after the
commit by a job running as the recipient tenant, exactly once, with retries; nothing lost while
Redis is down; a worker killed mid-send leads to one recorded delivery and a recognisable resend."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, select, text

from hanaro.core import jobs, mail
from hanaro.core.db import db, utcnow
from hanaro.notifications import delivery
from hanaro.notifications import service as notifications
from hanaro.notifications.models import DeliveryState, Notification, NotificationDelivery
from hanaro.tenancy.context import acting_as

from .conftest import BACKEND, _url_for
from .helpers import login
from .test_notification_transports import read_eml

REPO = Path(__file__).resolve().parents[1]
REDIS_SERVER = "/usr/bin/redis-server"
needs_redis_server = pytest.mark.skipif(not os.path.exists(REDIS_SERVER), reason="needs redis-server")
TITLE = "서비스 의뢰를 받았습니다: 방문 목욕"


# -- helpers -----------------------------------------------------------------------------------------

@pytest.fixture
def outbox(app):
    sent = mail.outbox(app)
    sent.clear()
    yield sent
    sent.clear()


@pytest.fixture
def agency(make):
    """A recipient tenant with a referral coordinator, a case manager and a viewer, and a sender."""
    tenant = make.tenant(name="받는복지관")
    people = {
        "coordinator": make.member(tenant, roles=["referral_coordinator"], name="의뢰담당"),
        "manager": make.member(tenant, roles=["case_manager"], name="사례담당"),
        "viewer": make.member(tenant, roles=["viewer"], name="조회담당"),
    }
    return {"tenant": tenant, "sender": make.tenant(name="보내는센터"), **people}


def _post(app, sender, tenant, kind="referral_received", title=TITLE, body=None, link="/referrals/abc",
          recipient=None, commit=True):
    with app.app_context(), acting_as(sender.id, None):
        notification = notifications.notify(tenant.id, kind, title, body=body, link=link,
                                            recipient_user_id=recipient.id if recipient else None)
        posted = SimpleNamespace(id=notification.id, public_id=notification.public_id)
        if commit:
            db.session.commit()
        else:
            db.session.rollback()
        return posted


def _deliver(app, tenant, *notifications_):
    """Run the delivery job in-process (a fresh app context, as a worker would)."""
    ids = [n.id for n in notifications_] if notifications_ else None
    with app.app_context():
        return jobs.enqueue(delivery.deliver, ids, tenant_id=tenant.id)


def _deliveries(app, tenant) -> list[NotificationDelivery]:
    with app.app_context(), acting_as(tenant.id, None):
        return db.session.scalars(select(NotificationDelivery).where(NotificationDelivery.tenant_id == tenant.id)
                                  .order_by(NotificationDelivery.id)).all()


def _text_of(message) -> str:
    return f"{message['Subject']}\n{message.get_content()}"


@pytest.fixture
def clock_at(monkeypatch):
    """Move the delivery module's clock: ``clock_at(seconds_from_now)``."""
    start = utcnow()

    def travel(seconds):
        moment = start + timedelta(seconds=seconds)
        monkeypatch.setattr(delivery, "utcnow", lambda: moment)
        return moment

    return travel


# -- the outbox and one delivery ----------------------------------------------------------------------

def test_the_outbox_entry_is_written_in_the_callers_transaction(app, ctx, agency, outbox):
    _post(app, agency["sender"], agency["tenant"], title="되돌린 알림", commit=False)
    with acting_as(agency["tenant"].id, None):
        assert db.session.scalars(select(Notification).where(Notification.title == "되돌린 알림")).all() == []
    assert _deliver(app, agency["tenant"])["planned"] == 0
    assert _deliveries(app, agency["tenant"]) == [] and outbox == []

    notification = _post(app, agency["sender"], agency["tenant"])
    with acting_as(agency["tenant"].id, None):
        stored = db.session.get(Notification, notification.id)
        assert stored.email_planned_at is None  # committed, waiting in the outbox
    assert _deliver(app, agency["tenant"], notification) == {"planned": 1, "sent": 2, "retry": 0, "failed": 0,
                                                        "skipped": 0}
    # Tenant-wide referral notice: the members whose roles handle referrals, not the viewer.
    assert sorted(m["To"] for m in outbox) == sorted([agency["coordinator"].email, agency["manager"].email])


def test_a_web_request_that_notifies_delivers_after_its_commit(app, make, outbox):
    world = make.case_world()
    browser = world.signed_in(world.lead_worker)
    response = browser.post(f"/cases/{world.case.public_id}/members", data={"tenant": world.partner.code})
    assert response.status_code == 303
    [message] = outbox
    assert message["To"] == world.partner_worker.email
    assert message["Subject"] == "[하나로] 사례관리 협업 초대가 도착했습니다."
    [sent] = _deliveries(app, world.partner)
    assert sent.state is DeliveryState.SENT and sent.attempts == 1
    assert message["Message-ID"] == sent.message_id
    assert message["Message-ID"].startswith("<notification.") and "@" in message["Message-ID"]


def test_a_request_that_fails_posts_nothing_and_sends_nothing(app, make, outbox):
    world = make.case_world()
    browser = world.signed_in(world.lead_worker)
    response = browser.post(f"/cases/{world.case.public_id}/members", data={"tenant": "no-such-tenant"})
    assert response.status_code == 422
    with app.app_context(), acting_as(world.partner.id, None):
        assert db.session.scalars(select(Notification)).all() == []
    assert outbox == []


def test_a_delivery_is_sent_once_and_running_again_does_nothing(app, ctx, agency, outbox):
    notification = _post(app, agency["sender"], agency["tenant"], recipient=agency["coordinator"])
    assert _deliver(app, agency["tenant"], notification)["sent"] == 1
    assert _deliver(app, agency["tenant"], notification) == {"planned": 0, "sent": 0, "retry": 0, "failed": 0,
                                                        "skipped": 0}
    assert _deliver(app, agency["tenant"])["sent"] == 0  # the sweep's "everything due" run too
    [only] = _deliveries(app, agency["tenant"])
    with acting_as(agency["tenant"].id, None):
        assert delivery.send_delivery(agency["tenant"].id, only.id) is None
    assert len(outbox) == 1 and only.state is DeliveryState.SENT and only.sent_at is not None


def test_a_user_who_turned_the_kind_off_is_skipped(app, ctx, agency, outbox):
    notifications.set_email_preferences(agency["coordinator"].id, set())
    db.session.commit()
    notification = _post(app, agency["sender"], agency["tenant"])
    _deliver(app, agency["tenant"], notification)
    by_user = {d.user_id: d for d in _deliveries(app, agency["tenant"])}
    assert by_user[agency["coordinator"].id].state is DeliveryState.SKIPPED
    assert by_user[agency["coordinator"].id].skip_reason == "preference_off"
    assert by_user[agency["manager"].id].state is DeliveryState.SENT
    assert [m["To"] for m in outbox] == [agency["manager"].email]


def test_turning_a_kind_off_after_planning_still_stops_the_e_mail(app, ctx, agency, outbox, monkeypatch):
    monkeypatch.setattr(delivery, "_send", lambda claims: {})  # plan only: the claims are released unsent
    notification = _post(app, agency["sender"], agency["tenant"], recipient=agency["manager"])
    _deliver(app, agency["tenant"], notification)
    monkeypatch.undo()
    notifications.set_email_preferences(agency["manager"].id, {"referral_answered"})
    db.session.commit()
    _deliver(app, agency["tenant"], notification)
    [skipped] = _deliveries(app, agency["tenant"])
    assert skipped.state is DeliveryState.SKIPPED and outbox == []


def test_kinds_off_by_default_and_unknown_kinds_are_not_e_mailed(app, ctx, agency, outbox):
    stale = _post(app, agency["tenant"], agency["tenant"], kind="resource_stale", title="오래된 자원 정보가 숨겨졌습니다.",
                  recipient=agency["coordinator"])
    other = _post(app, agency["sender"], agency["tenant"], kind="something_new", title="새 종류")
    _deliver(app, agency["tenant"], stale, other)
    [skipped] = _deliveries(app, agency["tenant"])
    assert skipped.notification_id == stale.id and skipped.skip_reason == "preference_off"
    assert outbox == []


def test_the_e_mail_carries_the_title_and_a_link_never_the_body_or_client_details(app, ctx, agency, outbox):
    notification = _post(app, agency["sender"], agency["tenant"], title=TITLE,
                         body="김하나 어르신(500517-2******)의 방문 목욕 의뢰입니다. 연락처 010-1234-5678",
                         link="/referrals/r3f", recipient=agency["coordinator"])
    _deliver(app, agency["tenant"], notification)
    [message] = outbox
    content = _text_of(message)
    for secret in ("김하나", "500517", "010-1234-5678", "어르신"):
        assert secret not in content
    assert TITLE in content and message["Subject"] == f"[하나로] {TITLE}"
    assert f"{app.config['PUBLIC_BASE_URL']}/referrals/r3f" in content
    assert f"{app.config['PUBLIC_BASE_URL']}/notifications/settings" in content
    assert "대상자 정보" in content  # says why the details are not there
    assert message["Auto-Submitted"] == "auto-generated"


def test_links_that_leave_the_site_are_replaced_by_the_inbox(app, ctx, agency, outbox):
    notification = _post(app, agency["sender"], agency["tenant"], link="//evil.example/x",
                         recipient=agency["coordinator"])
    _deliver(app, agency["tenant"], notification)
    content = _text_of(outbox[0])
    assert "evil.example" not in content and f"{app.config['PUBLIC_BASE_URL']}/notifications\n" in content


def test_the_e_mail_is_in_the_recipients_language(app, ctx, agency, outbox):
    from hanaro.accounts.models import User

    db.session.get(User, agency["coordinator"].id).locale = "en"
    db.session.commit()
    notification = _post(app, agency["sender"], agency["tenant"], recipient=agency["coordinator"])
    _deliver(app, agency["tenant"], notification)
    assert TITLE in outbox[0]["Subject"]


# -- retries ---------------------------------------------------------------------------------------------

def test_failures_back_off_exponentially_then_fail_and_an_operator_can_retry(app, agency, outbox, clock_at,
                                                                             monkeypatch, make):
    monkeypatch.setitem(app.config, "MAIL_TRANSPORT", "tests.test_notification_transports:AlwaysFails")
    notification = _post(app, agency["sender"], agency["tenant"], recipient=agency["coordinator"])
    base, elapsed, waits = app.config["MAIL_RETRY_BASE_SECONDS"], 0, []
    start = clock_at(0)
    assert _deliver(app, agency["tenant"], notification)["retry"] == 1
    for attempt in range(2, app.config["MAIL_MAX_ATTEMPTS"] + 1):
        [row] = _deliveries(app, agency["tenant"])
        assert row.state is DeliveryState.PENDING and row.attempts == attempt - 1
        assert "ConnectionRefusedError" in row.last_error
        wait = (row.next_attempt_at - start).total_seconds() - elapsed
        waits.append(wait)
        clock_at(elapsed + wait - 1)
        assert _deliver(app, agency["tenant"])["retry"] == 0  # not due yet
        elapsed += wait
        clock_at(elapsed)
        outcome = _deliver(app, agency["tenant"])
    assert waits == [base * 2 ** i for i in range(app.config["MAIL_MAX_ATTEMPTS"] - 1)]
    assert outcome["failed"] == 1
    [failed] = _deliveries(app, agency["tenant"])
    assert failed.state is DeliveryState.FAILED and failed.attempts == app.config["MAIL_MAX_ATTEMPTS"]
    clock_at(elapsed + 10 ** 6)
    assert _deliver(app, agency["tenant"]) == {"planned": 0, "sent": 0, "retry": 0, "failed": 0, "skipped": 0}

    # The operator sees it, across tenants, and retries once the mail server is back.
    monkeypatch.setitem(app.config, "MAIL_TRANSPORT", "memory")
    operator = make.user(operator=True, name="운영자")
    browser = app.test_client()
    login(browser, operator.email)
    page = browser.get("/notifications/operator/failed").get_data(as_text=True)
    assert TITLE in page and "받는복지관" in page and "ConnectionRefusedError" in page
    assert "Redis 없이" in page or "실패한 작업" in page
    response = browser.post("/notifications/operator/retry",
                            data={"tenant": agency["tenant"].code, "delivery": failed.public_id})
    assert response.status_code == 303
    [retried] = _deliveries(app, agency["tenant"])
    assert retried.state is DeliveryState.SENT and [m["To"] for m in outbox] == [agency["coordinator"].email]
    assert "실패한 알림 메일이 없습니다." in browser.get("/notifications/operator/failed").get_data(as_text=True)


def test_the_failed_delivery_screen_is_for_operators_only(app, signed_in):
    browser, _, tenant = signed_in("tenant_admin")
    assert browser.get("/notifications/operator/failed").status_code == 404
    assert browser.post("/notifications/operator/retry", data={"tenant": tenant.code, "delivery": "x"}).status_code == 404


def test_an_operator_retry_of_something_not_failed_is_refused(app, make, agency):
    operator = make.user(operator=True)
    browser = app.test_client()
    login(browser, operator.email)
    response = browser.post("/notifications/operator/retry",
                            data={"tenant": agency["tenant"].code, "delivery": "not-a-delivery"})
    assert response.status_code == 303
    assert "다시 보낼 발송 건을 찾지 못했습니다." in browser.get(response.location).get_data(as_text=True)
    assert browser.post("/notifications/operator/retry", data={}).status_code == 422


def test_a_claim_whose_worker_never_came_back_is_retried_after_its_lease(app, ctx, agency, outbox, clock_at,
                                                                         monkeypatch):
    notification = _post(app, agency["sender"], agency["tenant"], recipient=agency["coordinator"])
    monkeypatch.setattr(mail, "send", lambda message: (_ for _ in ()).throw(SystemExit("worker killed")))
    with pytest.raises(SystemExit):
        _deliver(app, agency["tenant"], notification)
    db.session.rollback()
    monkeypatch.undo()
    [claimed] = _deliveries(app, agency["tenant"])
    assert claimed.state is DeliveryState.SENDING and claimed.attempts == 1
    assert _deliver(app, agency["tenant"])["sent"] == 0  # the lease still holds: nobody else sends it
    clock_at(app.config["MAIL_SEND_LEASE_SECONDS"] + 1)
    assert _deliver(app, agency["tenant"])["sent"] == 1
    [sent] = _deliveries(app, agency["tenant"])
    assert sent.state is DeliveryState.SENT and sent.attempts == 2 and len(outbox) == 1


# -- the sweep ---------------------------------------------------------------------------------------------

def test_the_sweep_delivers_what_no_job_picked_up_after_the_grace_period(app, ctx, agency, outbox):
    with acting_as(agency["sender"].id, None):
        notification = notifications.notify(agency["tenant"].id, "referral_received", TITLE)
        db.session.info.pop("hanaro_after_commit")  # as if the enqueue after the commit was lost
        db.session.commit()
    grace = app.config["NOTIFY_SWEEP_GRACE_SECONDS"]
    assert agency["tenant"].id not in delivery.sweep(now=utcnow())
    result = delivery.sweep(now=utcnow() + timedelta(seconds=grace + 1))
    assert result[agency["tenant"].id]["sent"] == 2 and len(outbox) == 2
    assert agency["tenant"].id not in delivery.sweep(now=utcnow() + timedelta(seconds=grace + 1))
    with acting_as(agency["tenant"].id, None):
        assert db.session.get(Notification, notification.id).email_planned_at is not None


def test_notifications_from_before_e_mail_existed_are_not_sent(app, ctx, agency, outbox):
    """The migration marks old rows planned; a row planned without deliveries stays quiet."""
    notification = _post(app, agency["sender"], agency["tenant"])
    with acting_as(agency["tenant"].id, None):
        db.session.get(Notification, notification.id).email_planned_at = utcnow()
        db.session.commit()
    delivery.sweep(now=utcnow() + timedelta(days=1))
    assert outbox == []


# -- isolation ---------------------------------------------------------------------------------------------

def test_deliveries_belong_to_the_recipient_tenant_alone(app, ctx, agency, make, outbox):
    third = make.tenant()
    notification = _post(app, agency["sender"], agency["tenant"])
    _deliver(app, agency["tenant"], notification)
    assert len(_deliveries(app, agency["tenant"])) == 2
    with acting_as(agency["sender"].id, None):  # the sender sees what it sent, not who got e-mail
        assert db.session.get(Notification, notification.id) is not None
        assert db.session.scalars(select(NotificationDelivery)).all() == []
        assert delivery.deliver([notification.id])["planned"] == 0  # and cannot plan it either
    with acting_as(third.id, None):
        assert db.session.scalars(select(Notification).where(Notification.id == notification.id)).all() == []
        assert db.session.scalars(select(NotificationDelivery)).all() == []


def test_another_tenant_cannot_mark_a_notification_read(app, signed_in, make):
    browser, user, tenant = signed_in("case_manager")
    outsider, _, _ = signed_in("case_manager")
    notification = _post(app, make.tenant(), tenant, recipient=user)
    assert outsider.post(f"/notifications/{notification.public_id}/read").status_code == 404
    assert outsider.post("/notifications/nope/read").status_code == 404
    with app.app_context(), acting_as(tenant.id, None):
        assert db.session.get(Notification, notification.id).read_at is None


# -- Redis down, then back: a real rq worker delivers everything once ------------------------------------

class ThrowawayRedis:
    """A redis-server of our own on a free port (never the shared one on 6379)."""

    def __init__(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--loglevel", "warning"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        deadline = time.monotonic() + 10
        while True:
            try:
                if redis.Redis(port=self.port, socket_connect_timeout=0.2).ping():
                    return self
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def throwaway_redis(app, monkeypatch):
    server = ThrowawayRedis()
    monkeypatch.setitem(app.config, "REDIS_URL", server.url)
    monkeypatch.setitem(app.config, "JOBS_IN_PROCESS", False)
    yield server
    server.stop()
    app.extensions.get("hanaro_redis", {}).pop(server.url, None)


def _work(app):
    """A real rq worker, in this process (it sees the test's transaction), until the queue is empty."""
    from rq import SimpleWorker

    queue = jobs.queue()
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    return queue


@needs_redis_server
def test_with_redis_down_requests_succeed_and_every_notification_is_delivered_once_after(
        app, make, agency, outbox, throwaway_redis):
    world = make.case_world()
    browser = world.signed_in(world.lead_worker)
    started = time.monotonic()
    response = browser.post(f"/cases/{world.case.public_id}/members", data={"tenant": world.partner.code})
    elapsed = time.monotonic() - started
    assert response.status_code == 303 and elapsed < 2, elapsed  # Redis down: the request still succeeds
    for i in range(3):
        _post(app, agency["sender"], agency["tenant"], title=f"{TITLE} {i}")
    assert outbox == []
    with app.app_context(), acting_as(world.partner.id, None):
        [invitation] = db.session.scalars(select(Notification).where(Notification.kind == "case_invitation")).all()
        assert invitation.email_planned_at is None

    throwaway_redis.start()
    later = utcnow() + timedelta(seconds=app.config["NOTIFY_SWEEP_GRACE_SECONDS"] + 1)
    with app.app_context():
        queued = delivery.sweep(now=later)
        assert set(queued) == {world.partner.id, agency["tenant"].id}  # one job per tenant with work
        assert _work(app).count == 0
    expected = [world.partner_worker.email] + [agency["coordinator"].email, agency["manager"].email] * 3
    assert sorted(m["To"] for m in outbox) == sorted(expected)
    assert len({m["Message-ID"] for m in outbox}) == len(expected)

    # Sweeping and working again delivers nothing more.
    with app.app_context():
        assert delivery.sweep(now=later) == {}
        _work(app)
    assert len(outbox) == len(expected)
    sent = _deliveries(app, agency["tenant"]) + _deliveries(app, world.partner)
    assert [d.state for d in sent] == [DeliveryState.SENT] * len(expected)
    assert all(d.attempts == 1 for d in sent)

    # With Redis up, the job is on the queue right after the commit: no sweep needed.
    _post(app, agency["sender"], agency["tenant"], recipient=agency["coordinator"], title="바로 보내는 알림")
    with app.app_context():
        assert jobs.queue().count == 1
        _work(app)
    assert outbox[-1]["Subject"] == "[하나로] 바로 보내는 알림" and len(outbox) == len(expected) + 1


# -- a worker killed in the middle of sending --------------------------------------------------------------

def _admin_engine(app):
    """Sees and deletes every row: the superuser on PostgreSQL (RLS), the app's engine on SQLite."""
    if BACKEND == "postgresql":
        return create_engine(_url_for("postgres"))
    return db.engine


PROVINCE = "9900000000"


def _committed_agency(app, label, roles=("referral_coordinator", "case_manager")):
    """A tenant with one member, committed (for tests another process or connection must see).
    Returns plain ids: committed ORM objects expire."""
    from hanaro.accounts.models import User
    from hanaro.tenancy.models import Membership, Region, RegionLevel, Tenant, TenantKind

    n = uuid.uuid4().hex[:10]
    with app.app_context():
        created_region = db.session.get(Region, PROVINCE) is None
        if created_region:
            db.session.add(Region(code=PROVINCE, name="시험특별자치도", level=RegionLevel.PROVINCE))
        tenant = Tenant(code=f"c-{n}", name=label, kind=TenantKind.WELFARE_CENTRE, region_code=PROVINCE,
                        province_code=PROVINCE)
        user = User(email=f"c-{n}@test.example", display_name=f"{label} 담당")
        db.session.add_all([tenant, user])
        db.session.commit()
        ids = SimpleNamespace(id=tenant.id, code=tenant.code, user=SimpleNamespace(id=user.id, email=user.email),
                              created_region=created_region)
        with acting_as(tenant.id, None):
            db.session.add(Membership(user_id=user.id, roles=list(roles)))
            db.session.commit()
    return ids


def _purge(app, agencies):
    tenants = "(" + ",".join(str(int(a.id)) for a in agencies) + ")"
    users = "(" + ",".join(str(int(a.user.id)) for a in agencies) + ")"
    with app.app_context():
        engine = _admin_engine(app)
        with engine.begin() as connection:
            for table in ("notification_deliveries", "notifications", "memberships"):
                connection.execute(text(f"delete from {table} where tenant_id in {tenants}"))
            connection.execute(text(f"delete from notification_preferences where user_id in {users}"))
            connection.execute(text(f"delete from users where id in {users}"))
            connection.execute(text(f"delete from tenants where id in {tenants}"))
            if any(a.created_region for a in agencies):
                connection.execute(text("delete from regions where code = :c and not exists "
                                        "(select 1 from tenants where region_code = :c)"), {"c": PROVINCE})
        if engine is not db.engine:
            engine.dispose()


@pytest.mark.committed
@needs_redis_server
def test_a_worker_killed_after_sending_leaves_one_recorded_delivery_and_a_recognisable_resend(
        app, tmp_path, throwaway_redis, monkeypatch):
    mail_dir = tmp_path / "mail"
    monkeypatch.setitem(app.config, "MAIL_TRANSPORT", "file")
    monkeypatch.setitem(app.config, "MAIL_FILE_DIR", str(mail_dir))
    throwaway_redis.start()
    tenant = _committed_agency(app, "작업중단시험기관")
    try:
        notification = _post(app, tenant, tenant, recipient=tenant.user)  # committed: the job is on Redis
        with app.app_context():
            assert jobs.queue().count == 1

        # A production worker (`flask worker`: jobs run in the worker's own process) that dies
        # right after the mail went out, before it could record it: the whole worker dies.
        env = {**os.environ, "FLASK_APP": "hanaro", "SECRET_KEY": "worker-test",
               "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": throwaway_redis.url,
               "HANARO_JOBS_IN_PROCESS": "0", "MAIL_FILE_DIR": str(mail_dir),
               "MAIL_TRANSPORT": "tests.test_notification_transports:DieAfterWriting",
               "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
        worker = subprocess.run([str(REPO / ".venv" / "bin" / "flask"), "worker", "--burst"], env=env, cwd=REPO,
                                capture_output=True, text=True, timeout=120)
        assert worker.returncode == -signal.SIGKILL, worker.stderr
        [first] = mail_dir.glob("*.eml")
        with app.app_context(), acting_as(tenant.id, None):
            [claimed] = db.session.scalars(select(NotificationDelivery)).all()
            assert (claimed.state, claimed.attempts) == (DeliveryState.SENDING, 1)
            message_id = claimed.message_id
            db.session.commit()
        with app.app_context():
            # rq finds the dead worker's job once its heartbeat has expired, and retries it after
            # the job's first retry wait (delivery jobs have retries); nothing is failed yet.
            from rq.registry import ScheduledJobRegistry, StartedJobRegistry

            queue = jobs.queue()
            started = StartedJobRegistry(queue=queue)
            [abandoned] = started.get_job_ids()
            started.cleanup(timestamp=time.time() + 10 ** 6)
            assert ScheduledJobRegistry(queue=queue).get_job_ids() == [abandoned]
            assert delivery.failed_jobs() == []

        # Recovery: once the claim's lease has run out, the sweep re-enqueues and a worker resends.
        later = utcnow() + timedelta(seconds=app.config["MAIL_SEND_LEASE_SECONDS"] + 1)
        monkeypatch.setattr(delivery, "utcnow", lambda: later)
        with app.app_context():
            assert delivery.sweep(now=later)
            _work(app)
            assert delivery.sweep(now=later) == {}  # nothing left to do
        second = [p for p in mail_dir.glob("*.eml") if p != first]
        assert len(second) == 1
        first_mail, second_mail = read_eml(first), read_eml(second[0])
        assert first_mail["Message-ID"] == second_mail["Message-ID"] == message_id
        assert first_mail["Subject"] == second_mail["Subject"]
        with app.app_context(), acting_as(tenant.id, None):
            rows = db.session.scalars(select(NotificationDelivery).where(
                NotificationDelivery.notification_id == notification.id)).all()
            assert [(r.state, r.attempts) for r in rows] == [(DeliveryState.SENT, 2)]
            db.session.commit()
    finally:
        _purge(app, [tenant])


# -- both enforcers agree on the new tables --------------------------------------------------------------

@pytest.mark.committed
@pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL only")
def test_orm_filter_and_rls_agree_on_notifications_and_deliveries(app, outbox):
    from .test_isolation_postgres import _orm_only, _rls_only

    tenants = [_committed_agency(app, f"비교기관{i}") for i in range(3)]
    superuser = create_engine(_url_for("postgres"))
    app_engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        for i, tenant in enumerate(tenants):
            sender = tenants[(i + 1) % 3]
            notification = _post(app, sender, tenant)
            with app.app_context():
                _deliver(app, tenant, notification)
        with superuser.connect() as connection:
            totals = {table: connection.execute(text(f"select count(*) from {table}")).scalar()
                      for table in ("notifications", "notification_deliveries")}
        assert totals["notification_deliveries"] >= 3
        for tenant in tenants:
            for user_id in (None, tenants[0].user.id):
                for model in (Notification, NotificationDelivery):
                    orm = _orm_only(superuser, model, tenant.id, user_id)
                    rls = _rls_only(app_engine, model.__tablename__, tenant.id, user_id)
                    assert orm == rls, (model.__name__, tenant.id)
                    assert 0 < len(rls) < totals[model.__tablename__]
    finally:
        superuser.dispose()
        app_engine.dispose()
        _purge(app, tenants)
