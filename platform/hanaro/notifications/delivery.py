"""E-mail for notifications, from a transactional outbox.

**The outbox.** ``notify()`` writes the notification in the transaction of the change that causes
it, with ``email_planned_at`` empty. It does not decide who gets an e-mail: the sender may be
another tenant, which cannot read the recipient tenant's members. After the commit a
:func:`deliver` job is enqueued as the *recipient* tenant (``jobs.after_commit``); if Redis is
down that enqueue is logged and dropped, and nothing is lost, because the row itself is the
outbox entry: :func:`sweep` (every 5 minutes, ``hanaro.core.schedule``) finds notifications still
unplanned after ``NOTIFY_SWEEP_GRACE_SECONDS`` and deliveries whose ``next_attempt_at`` has passed,
and enqueues the job again, one per tenant with work.

**Planning** (in :func:`deliver`, one transaction per notification): lock the notification row
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite transactions here take the single write lock at
``BEGIN IMMEDIATE``), skip it if planned already, and write one :class:`NotificationDelivery` per
recipient — the named user, or for a tenant-wide notice the active members holding the kind's
roles (``kinds.py``) — ``pending``, or ``skipped`` with a reason when the user turned that kind
off (or has left the tenant). Kinds not in ``kinds.KINDS`` are never e-mailed.

**Sending one delivery**, in three steps:

1. *claim* (a transaction): lock the row (``SKIP LOCKED``), and only if it is ``pending`` (or a
   ``sending`` whose lease ran out) and due: ``attempts += 1``, ``state = sending``,
   ``next_attempt_at = now + MAIL_SEND_LEASE_SECONDS`` (the lease), commit;
2. *send*, outside any transaction, with the delivery's fixed Message-ID
   (``<notification.{notification}.{delivery}@{domain}>``, stored when it was planned);
3. *record* (a transaction): ``sent`` — or back to ``pending`` with ``next_attempt_at`` after an
   exponential backoff (``MAIL_RETRY_BASE_SECONDS`` × 2^(attempts−1)), or ``failed`` after
   ``MAIL_MAX_ATTEMPTS``; operators see failed ones and may retry them.

A delivery that is ``sent`` is never sent again, and two workers never send the same delivery at
the same time (the claim is one locked, committed state change). **The honest edge:** the mail
server and the database cannot commit together. A worker that dies after the mail server accepted
the message and before step 3 committed leaves the delivery ``sending``; when its lease runs out
the sweep sends it again. So the e-mail is delivered *at least once*, and the database records it
sent exactly once; the resend carries the same Message-ID, so mail clients and the recipient can
recognise the duplicate. (A send slower than the lease could overlap the same way; the SMTP
timeout, ``MAIL_TIMEOUT``, is kept well below it.)

**Privacy.** The e-mail carries the notification's title (titles never carry personal data) and
an absolute link (``PUBLIC_BASE_URL`` + the notification's link, or the inbox); never the body,
which may name a listing or a tenant and stays in the app.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import exists, or_, select, update

from ..accounts.models import User
from ..core import jobs, mail
from ..core.db import db, new_public_id, utcnow
from ..core.schedule import periodic
from ..tenancy import context
from ..tenancy.context import NoActiveTenant, acting_as
from ..tenancy.models import Membership, Role, Tenant
from .kinds import KINDS
from .models import DeliveryState, Notification, NotificationDelivery, NotificationPreference

log = logging.getLogger(__name__)

DUE_STATES = (DeliveryState.PENDING, DeliveryState.SENDING)
OUTCOMES = ("planned", "sent", "retry", "failed", "skipped")
FAILURES_BEFORE_PAUSE = 3  # failed sends in a row: the mail server is likely down, stop the batch


@jobs.job(timeout=600, retry=(30, 120, 600))
def deliver(notification_ids: list[int] | None = None) -> dict[str, int]:
    """Job, run as the recipient tenant: plan the e-mails of the given notifications (or of every
    unplanned one) and send every due delivery of them (or of the tenant), a batch of at most
    NOTIFY_BATCH_SIZE rows per transaction. Safe to run any number of times, concurrently too.
    Returns counts by outcome. What is left after NOTIFY_JOB_SECONDS goes to a new job, so a job
    stays well inside its rq timeout whatever the backlog."""
    tenant_id = context.current_tenant_id()
    if tenant_id is None:
        raise NoActiveTenant("notification delivery runs as the recipient tenant")
    deadline = time.monotonic() + current_app.config["NOTIFY_JOB_SECONDS"]
    counts = dict.fromkeys(OUTCOMES, 0)
    ids = None if notification_ids is None else sorted(set(notification_ids))
    finished = _plan_all(tenant_id, ids, counts, deadline)
    released = counts.pop("released", 0)
    # Deliveries that an earlier job planned (or released) may be due; when this job planned every
    # one of its notifications itself and settled every claim, none of theirs can be.
    if finished and not (ids is not None and counts["planned"] == len(ids) and not released):
        finished = _send_all(tenant_id, ids, counts, deadline)
        counts.pop("released", None)
    if not finished:
        log.info("delivery job for tenant %s ran out of time; the rest goes to a new job", tenant_id)
        jobs.enqueue(deliver, ids, tenant_id=tenant_id)
    return counts


def _batch_size() -> int:
    return current_app.config["NOTIFY_BATCH_SIZE"]


def _count(counts: dict, outcomes: list[str | None]) -> None:
    for outcome in outcomes:
        counts[outcome or "released"] = counts.get(outcome or "released", 0) + 1


# -- planning ---------------------------------------------------------------------------------------

def _plan_all(tenant_id: int, ids: list[int] | None, counts: dict, deadline: float) -> bool:
    """Plan, and send what planning claimed, batch after batch; False when the deadline came first."""
    size = _batch_size()
    chunks = [None] if ids is None else [ids[i:i + size] for i in range(0, len(ids), size)]
    while chunks:
        if time.monotonic() > deadline:
            return False
        planned, claims = _plan_batch(tenant_id, chunks[0], size)
        counts["planned"] += planned
        if claims:
            _count(counts, _record(tenant_id, claims, _send(claims)))
        if chunks[0] is not None or planned < size:  # a chunk is done in one go; the backlog when short
            chunks.pop(0)
    return True


def _plan_batch(tenant_id: int, ids: list[int] | None, size: int) -> tuple[int, list[_Claim]]:
    """Write the deliveries of up to ``size`` unplanned notifications (of ``ids``, or any) in one
    transaction, those to send already claimed (``sending``, attempt 1, under a lease: nobody else
    sees them before the commit, so planning and claiming need not be two transactions). Returns
    how many notifications this call planned, and the claims. Rows another worker is planning right
    now are skipped (it plans them), rows planned already are not selected."""
    # The explicit tenant filter matters: a tenant also sees the notifications it sent elsewhere.
    query = select(Notification).where(Notification.tenant_id == tenant_id, Notification.email_planned_at.is_(None))
    if ids is not None:
        query = query.where(Notification.id.in_(ids))
    notifications = db.session.scalars(
        query.order_by(Notification.id).limit(size).with_for_update(skip_locked=True)).all()
    now = utcnow()
    lease = now + timedelta(seconds=current_app.config["MAIL_SEND_LEASE_SECONDS"])
    to_send, texts = [], {}
    for notification, user_id, user, skip_reason in _recipients(tenant_id, notifications):
        public_id = new_public_id()
        row = NotificationDelivery(
            tenant_id=tenant_id, notification_id=notification.id, user_id=user_id, public_id=public_id,
            state=DeliveryState.SKIPPED if skip_reason else DeliveryState.SENDING, skip_reason=skip_reason,
            attempts=0 if skip_reason else 1, next_attempt_at=None if skip_reason else lease,
            message_id=_message_id(notification, public_id),
        )
        db.session.add(row)
        if not skip_reason:
            to_send.append((row, build_message(notification, user, row.message_id, texts)))
    claims = []
    if notifications:
        db.session.flush()
        claims = [_Claim(row.id, 1, message) for row, message in to_send]
        db.session.execute(update(Notification).where(Notification.id.in_([n.id for n in notifications]))
                           .values(email_planned_at=now).execution_options(synchronize_session="fetch"))
    db.session.commit()
    return len(notifications), claims


def _recipients(tenant_id: int, notifications: list[Notification]) -> list[tuple[Notification, int, User | None,
                                                                                    str | None]]:
    """(notification, user id, user, skip reason or None) for everyone these notifications could
    e-mail: the named user, or for a tenant-wide notice the active members holding the kind's roles
    (tenant administrators when nobody does). Members and preferences are read once per batch."""
    emailed = [n for n in notifications if n.kind in KINDS]
    if not emailed:
        return []
    named = {n.recipient_user_id for n in emailed}
    members = _active_members(tenant_id, None if None in named else named)
    chosen = [(n, _chosen(n, members)) for n in emailed]
    wanted = _email_wanted({(user.id, n.kind) for n, users in chosen for user in users})
    result = []
    for notification, users in chosen:
        if not users and notification.recipient_user_id is not None:
            result.append((notification, notification.recipient_user_id, None, "not_member"))
        for user in users:
            if not user.email:
                result.append((notification, user.id, user, "no_email"))
            elif not wanted[(user.id, notification.kind)]:
                result.append((notification, user.id, user, "preference_off"))
            else:
                result.append((notification, user.id, user, None))
    return result


def _active_members(tenant_id: int, user_ids: set[int] | None) -> list[tuple[Membership, User]]:
    query = (select(Membership, User).join(User, User.id == Membership.user_id)
             .where(Membership.tenant_id == tenant_id, Membership.active.is_(True), User.active.is_(True)))
    if user_ids is not None:
        query = query.where(Membership.user_id.in_(user_ids))
    return db.session.execute(query.order_by(Membership.user_id)).all()


def _chosen(notification: Notification, members: list[tuple[Membership, User]]) -> list[User]:
    if notification.recipient_user_id is not None:
        return [u for _, u in members if u.id == notification.recipient_user_id]
    roles = KINDS[notification.kind].roles
    return [u for m, u in members if m.has_role(*roles)] or [u for m, u in members if m.has_role(Role.TENANT_ADMIN)]


def _email_wanted(pairs: set[tuple[int, str]]) -> dict[tuple[int, str], bool]:
    """{(user id, kind): e-mail on?} in one query: the user's choice, else the kind's default."""
    if not pairs:
        return {}
    chosen = {(user_id, kind): email for user_id, kind, email in db.session.execute(
        select(NotificationPreference.user_id, NotificationPreference.kind, NotificationPreference.email)
        .where(NotificationPreference.user_id.in_({u for u, _ in pairs}),
               NotificationPreference.kind.in_({k for _, k in pairs}))
    )}
    return {(user_id, kind): kind in KINDS and chosen.get((user_id, kind), KINDS[kind].email_default)
            for user_id, kind in pairs}


def _message_id(notification: Notification, delivery_public_id: str) -> str:
    return f"<notification.{notification.public_id}.{delivery_public_id}@{mail.message_domain()}>"


# -- sending -----------------------------------------------------------------------------------------

@dataclass
class _Claim:
    delivery_id: int
    attempt: int
    message: object


def _send_all(tenant_id: int, ids: list[int] | None, counts: dict, deadline: float) -> bool:
    """Claim, send and record batch after batch; False when the deadline came first."""
    criteria = [] if ids is None else [NotificationDelivery.notification_id.in_(ids)]
    while time.monotonic() <= deadline:
        outcomes = _send_batch(tenant_id, criteria)
        if outcomes is None or not any(outcomes):  # nothing due, or nothing settled: leave it to the sweep
            return True
        _count(counts, outcomes)
    return False


def send_delivery(tenant_id: int, delivery_id: int) -> str | None:
    """Claim, send and record one delivery (see the module docstring). Returns "sent", "retry",
    "failed", "skipped", or None when there was nothing to do (not due, sent, or claimed by
    another worker)."""
    outcomes = _send_batch(tenant_id, [NotificationDelivery.id == delivery_id])
    return outcomes[0] if outcomes else None


def _send_batch(tenant_id: int, criteria: list) -> list[str | None] | None:
    """One batch: claim (a transaction), send (no transaction), record (a transaction). Returns the
    outcome of each claimed row, or None when nothing was due."""
    claimed = _claim(tenant_id, criteria, _batch_size())
    if claimed is None:
        return None
    outcomes, claims = claimed
    if claims:
        outcomes += _record(tenant_id, claims, _send(claims))
    return outcomes


def _claim(tenant_id: int, criteria: list, size: int) -> tuple[list[str], list[_Claim]] | None:
    """Lock up to ``size`` due deliveries (``SKIP LOCKED``), settle the ones that must not be sent
    (attempts used up by dead workers, e-mail turned off since planning), take the others: attempts
    + 1, ``sending`` until the lease runs out. Commits. None when nothing was due."""
    config = current_app.config
    now = utcnow()
    rows = db.session.scalars(
        select(NotificationDelivery).where(
            NotificationDelivery.tenant_id == tenant_id, NotificationDelivery.state.in_(DUE_STATES),
            NotificationDelivery.next_attempt_at <= now, *criteria)
        .order_by(NotificationDelivery.id).limit(size).with_for_update(skip_locked=True)
    ).all()
    if not rows:
        db.session.commit()
        return None
    notifications, users = _parts_of(tenant_id, rows)
    wanted = _email_wanted({(row.user_id, notifications[row.notification_id].kind) for row in rows})
    settled, claims, texts = [], [], {}
    for row in rows:
        notification, user = notifications[row.notification_id], users[row.user_id]
        if row.attempts >= config["MAIL_MAX_ATTEMPTS"]:
            # Only a claim whose worker never came back gets here (a lease that ran out).
            row.state, row.next_attempt_at = DeliveryState.FAILED, None
            row.last_error = row.last_error or "worker stopped while sending"
            settled.append("failed")
        elif not wanted[(user.id, notification.kind)]:  # turned off since it was planned
            row.state, row.skip_reason, row.next_attempt_at = DeliveryState.SKIPPED, "preference_off", None
            settled.append("skipped")
        else:
            claims.append(_Claim(row.id, row.attempts + 1, build_message(notification, user, row.message_id, texts)))
    if claims:  # one statement for the batch; the rows are locked, so attempts + 1 is each claim's attempt
        _update([c.delivery_id for c in claims], state=DeliveryState.SENDING,
                attempts=NotificationDelivery.attempts + 1,
                next_attempt_at=now + timedelta(seconds=config["MAIL_SEND_LEASE_SECONDS"]))
    db.session.commit()
    return settled, claims


def _update(delivery_ids: list[int], *conditions, **values) -> list[int]:
    """UPDATE the given deliveries (through the tenancy filter); returns the ids it changed."""
    return list(db.session.scalars(
        update(NotificationDelivery).where(NotificationDelivery.id.in_(delivery_ids), *conditions)
        .values(**values).returning(NotificationDelivery.id).execution_options(synchronize_session="fetch")))


def _parts_of(tenant_id: int, rows: list[NotificationDelivery]) -> tuple[dict[int, Notification], dict[int, User]]:
    notifications = db.session.scalars(select(Notification).where(
        Notification.tenant_id == tenant_id, Notification.id.in_({row.notification_id for row in rows})))
    users = db.session.scalars(select(User).where(User.id.in_({row.user_id for row in rows})))
    return {n.id: n for n in notifications}, {u.id: u for u in users}


def _send(claims: list[_Claim]) -> dict[int, str | None]:
    """Send outside any transaction: {delivery id: None when sent, else the error}. Stops early,
    leaving the rest unsent, when the claims' lease is about to run out (a send must never overlap
    another worker's claim of the same row) or after several failures in a row."""
    config = current_app.config
    lease = config["MAIL_SEND_LEASE_SECONDS"]
    stop_at = time.monotonic() + max(lease - 2 * config["MAIL_TIMEOUT"], lease / 2)
    results, failures = {}, 0
    for claim in claims:
        if time.monotonic() > stop_at or failures >= FAILURES_BEFORE_PAUSE:
            break
        try:
            mail.send(claim.message)
            results[claim.delivery_id], failures = None, 0
        except Exception as exc:  # noqa: BLE001 - any transport failure is retried
            results[claim.delivery_id] = f"{type(exc).__name__}: {exc}"[:500]
            failures += 1
            log.warning("e-mail delivery %s failed (attempt %s): %s", claim.delivery_id, claim.attempt,
                        results[claim.delivery_id])
    return results


def _record(tenant_id: int, claims: list[_Claim], results: dict[int, str | None]) -> list[str | None]:
    """Record every claim of the batch in one transaction: the sent ones in one statement, the
    rest row by row; a claim left unsent is released (due again now, its attempt not counted)."""
    now = utcnow()
    sent = [c.delivery_id for c in claims if c.delivery_id in results and results[c.delivery_id] is None]
    recorded = _update(sent, NotificationDelivery.tenant_id == tenant_id,
                       NotificationDelivery.state == DeliveryState.SENDING,
                       state=DeliveryState.SENT, sent_at=now, next_attempt_at=None, last_error=None) if sent else []
    outcomes = ["sent"] * len(recorded) + [None] * (len(sent) - len(recorded))
    rest = [c for c in claims if c.delivery_id not in sent]
    rows = {row.id: row for row in db.session.scalars(
        select(NotificationDelivery).where(NotificationDelivery.tenant_id == tenant_id,
                                           NotificationDelivery.id.in_([c.delivery_id for c in rest]))
        .with_for_update())} if rest else {}
    for claim in rest:
        row = rows.get(claim.delivery_id)
        if row is None or row.state is not DeliveryState.SENDING:
            outcomes.append(None)
        elif claim.delivery_id not in results:
            if row.attempts == claim.attempt:
                row.state, row.attempts, row.next_attempt_at = DeliveryState.PENDING, row.attempts - 1, now
            outcomes.append(None)
        else:
            outcomes.append(_settle(row, claim.attempt, results[claim.delivery_id], now))
    db.session.commit()
    return outcomes


def _settle(delivery: NotificationDelivery, attempt: int, error: str | None, now: datetime) -> str | None:
    config = current_app.config
    if error is None:
        delivery.state, delivery.sent_at, delivery.next_attempt_at, delivery.last_error = \
            DeliveryState.SENT, now, None, None
        return "sent"
    if delivery.attempts != attempt:
        return None  # another worker claimed it after our lease ran out: its result counts
    if attempt >= config["MAIL_MAX_ATTEMPTS"]:
        delivery.state, delivery.next_attempt_at, delivery.last_error = DeliveryState.FAILED, None, error
        return "failed"
    delay = config["MAIL_RETRY_BASE_SECONDS"] * 2 ** (attempt - 1)
    delivery.state, delivery.next_attempt_at, delivery.last_error = \
        DeliveryState.PENDING, now + timedelta(seconds=delay), error
    return "retry"


def build_message(notification: Notification, user: User, message_id: str, texts: dict | None = None):
    """The e-mail: title and link only, in the recipient's language. ``texts``: a dict a batch
    keeps, so a title many recipients get is rendered once per language."""
    locale = user.locale or "ko"
    key = (notification.title, notification.link, locale)
    rendered = texts.get(key) if texts is not None else None
    if rendered is None:
        rendered = _render(notification, locale)
        if texts is not None:
            texts[key] = rendered
    subject, text = rendered
    return mail.make_message(user.email, subject, text, message_id)


def _render(notification: Notification, locale: str) -> tuple[str, str]:
    config = current_app.config
    base = config["PUBLIC_BASE_URL"]
    link = notification.link if (notification.link or "").startswith("/") and not notification.link.startswith("//") \
        else "/notifications"
    with force_locale(locale):
        template = current_app.jinja_env.get_template("notifications/email.txt")
        text = template.render(title=notification.title, url=base + link, settings_url=base + "/notifications/settings")
        from flask_babel import gettext

        subject = gettext("[하나로] %(title)s", title=notification.title)
    return subject, text


# -- the sweep ----------------------------------------------------------------------------------------

@periodic("notifications.sweep", every=timedelta(minutes=5))
def sweep(now: datetime | None = None) -> dict[int, object]:
    """Re-enqueue undelivered work: per active tenant, when it has notifications still unplanned
    after the grace period, or deliveries due (a retry whose time came, a lease that ran out).
    Returns {tenant id: job, or the in-process result}."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=current_app.config["NOTIFY_SWEEP_GRACE_SECONDS"])
    tenant_ids = db.session.scalars(select(Tenant.id).where(Tenant.active).order_by(Tenant.id)).all()
    results = {}
    for tenant_id in tenant_ids:
        with acting_as(tenant_id, None):
            has_work = db.session.scalar(select(or_(
                exists().where(Notification.tenant_id == tenant_id, Notification.email_planned_at.is_(None),
                               Notification.created_at <= cutoff),
                exists().where(NotificationDelivery.tenant_id == tenant_id,
                               NotificationDelivery.state.in_(DUE_STATES), NotificationDelivery.next_attempt_at <= now),
            )))
        if has_work:
            results[tenant_id] = jobs.enqueue(deliver, None, tenant_id=tenant_id)
    return results


# -- operators ----------------------------------------------------------------------------------------

def failed_deliveries(operator_id: int, limit: int = 200) -> list[tuple[Tenant, NotificationDelivery]]:
    """Failed deliveries of every tenant, newest first, for the operator screen. Deliveries are
    tenant data: read tenant by tenant, as that tenant (RLS applies), never unscoped."""
    found = []
    for tenant in db.session.scalars(select(Tenant).order_by(Tenant.name)):
        with acting_as(tenant.id, operator_id):
            rows = db.session.scalars(
                select(NotificationDelivery).where(NotificationDelivery.tenant_id == tenant.id,
                                                   NotificationDelivery.state == DeliveryState.FAILED)
                .order_by(NotificationDelivery.updated_at.desc()).limit(limit)
            ).all()
            for delivery in rows:
                _ = delivery.notification.title, delivery.user.display_name  # load while scoped
                found.append((tenant, delivery))
    found.sort(key=lambda pair: pair[1].updated_at, reverse=True)
    return found[:limit]


def retry_failed(tenant: Tenant, delivery_public_id: str, operator_id: int) -> bool:
    """Give a failed delivery a fresh set of attempts and enqueue it after the commit."""
    with acting_as(tenant.id, operator_id):
        delivery = db.session.scalar(
            select(NotificationDelivery).where(NotificationDelivery.tenant_id == tenant.id,
                                               NotificationDelivery.public_id == delivery_public_id,
                                               NotificationDelivery.state == DeliveryState.FAILED)
        )
        if delivery is None:
            return False
        delivery.state, delivery.attempts, delivery.next_attempt_at = DeliveryState.PENDING, 0, utcnow()
        db.session.flush()
        jobs.after_commit(deliver, [delivery.notification_id], tenant_id=tenant.id)
    return True


def failed_jobs(limit: int = 50) -> list[dict] | None:
    """Jobs in rq's failed-job registry (None without Redis; raises when Redis is unreachable)."""
    if not current_app.config.get("REDIS_URL"):
        return None
    from rq.job import Job
    from rq.registry import FailedJobRegistry

    queue = jobs.queue()
    registry = FailedJobRegistry(queue=queue)
    ids = registry.get_job_ids(0, limit - 1)
    found = []
    for job in Job.fetch_many(ids, connection=queue.connection):
        if job is None:
            continue
        args = job.args or ()
        result = job.latest_result() if hasattr(job, "latest_result") else None
        error = (getattr(result, "exc_string", None) or "").strip().splitlines()
        found.append({"id": job.id, "function": args[0] if args and isinstance(args[0], str) else job.func_name,
                      "tenant_id": args[1] if len(args) > 1 else None, "ended_at": job.ended_at,
                      "error": error[-1][:300] if error else ""})
    return found


def requeue_job(job_id: str) -> bool:
    from rq.registry import FailedJobRegistry

    registry = FailedJobRegistry(queue=jobs.queue())
    if job_id not in registry.get_job_ids():
        return False
    registry.requeue(job_id)
    return True
