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
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import exists, or_, select

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


def deliver(notification_ids: list[int] | None = None) -> dict[str, int]:
    """Job, run as the recipient tenant: plan the e-mails of the given notifications (or of every
    unplanned one) and send every due delivery of them (or of the tenant). Safe to run any number
    of times, concurrently too. Returns counts by outcome."""
    tenant_id = context.current_tenant_id()
    if tenant_id is None:
        raise NoActiveTenant("notification delivery runs as the recipient tenant")
    counts = {"planned": 0, "sent": 0, "retry": 0, "failed": 0, "skipped": 0}
    for notification_id in _unplanned(tenant_id, notification_ids):
        counts["planned"] += _plan(tenant_id, notification_id)
    for delivery_id in _due(tenant_id, notification_ids):
        outcome = send_delivery(tenant_id, delivery_id)
        if outcome:
            counts[outcome] += 1
    return counts


# -- planning ---------------------------------------------------------------------------------------

def _unplanned(tenant_id: int, notification_ids: list[int] | None) -> list[int]:
    # The explicit tenant filter matters: a tenant also sees the notifications it sent elsewhere.
    query = select(Notification.id).where(Notification.tenant_id == tenant_id,
                                          Notification.email_planned_at.is_(None))
    if notification_ids is not None:
        query = query.where(Notification.id.in_(notification_ids))
    ids = list(db.session.scalars(query.order_by(Notification.id)))
    db.session.commit()
    return ids


def _plan(tenant_id: int, notification_id: int) -> int:
    """Write the deliveries of one notification; 1 if this call planned it, 0 if planned already
    or being planned by another worker right now."""
    notification = db.session.scalar(
        select(Notification).where(Notification.id == notification_id, Notification.tenant_id == tenant_id,
                                   Notification.email_planned_at.is_(None))
        .with_for_update(skip_locked=True)
    )
    if notification is None:
        db.session.commit()
        return 0
    now = utcnow()
    for user_id, skip_reason in _recipients(notification):
        public_id = new_public_id()
        db.session.add(NotificationDelivery(
            tenant_id=tenant_id, notification_id=notification.id, user_id=user_id, public_id=public_id,
            state=DeliveryState.SKIPPED if skip_reason else DeliveryState.PENDING, skip_reason=skip_reason,
            next_attempt_at=None if skip_reason else now, message_id=_message_id(notification, public_id),
        ))
    notification.email_planned_at = now
    db.session.commit()
    return 1


def _recipients(notification: Notification) -> list[tuple[int, str | None]]:
    """(user id, skip reason or None) for everyone this notification could e-mail."""
    kind = KINDS.get(notification.kind)
    if kind is None:
        return []
    members = db.session.execute(
        select(Membership, User).join(User, User.id == Membership.user_id)
        .where(Membership.tenant_id == notification.tenant_id, Membership.active.is_(True), User.active.is_(True))
        .order_by(Membership.user_id)
    ).all()
    if notification.recipient_user_id is not None:
        chosen = [(m, u) for m, u in members if u.id == notification.recipient_user_id]
        if not chosen:
            return [(notification.recipient_user_id, "not_member")]
    else:
        chosen = [(m, u) for m, u in members if m.has_role(*kind.roles)] or \
                 [(m, u) for m, u in members if m.has_role(Role.TENANT_ADMIN)]
    choices = _email_choices([u.id for _, u in chosen], kind.code)
    result = []
    for _, user in chosen:
        if not user.email:
            result.append((user.id, "no_email"))
        elif not choices.get(user.id, kind.email_default):
            result.append((user.id, "preference_off"))
        else:
            result.append((user.id, None))
    return result


def _email_choices(user_ids: list[int], kind: str) -> dict[int, bool]:
    if not user_ids:
        return {}
    return dict(db.session.execute(
        select(NotificationPreference.user_id, NotificationPreference.email)
        .where(NotificationPreference.kind == kind, NotificationPreference.user_id.in_(user_ids))
    ).all())


def _message_id(notification: Notification, delivery_public_id: str) -> str:
    return f"<notification.{notification.public_id}.{delivery_public_id}@{mail.message_domain()}>"


# -- sending -----------------------------------------------------------------------------------------

def _due(tenant_id: int, notification_ids: list[int] | None, now: datetime | None = None) -> list[int]:
    query = select(NotificationDelivery.id).where(
        NotificationDelivery.tenant_id == tenant_id, NotificationDelivery.state.in_(DUE_STATES),
        NotificationDelivery.next_attempt_at <= (now or utcnow()))
    if notification_ids is not None:
        query = query.where(NotificationDelivery.notification_id.in_(notification_ids))
    ids = list(db.session.scalars(query.order_by(NotificationDelivery.id)))
    db.session.commit()
    return ids


def send_delivery(tenant_id: int, delivery_id: int) -> str | None:
    """Claim, send and record one delivery (see the module docstring). Returns "sent", "retry",
    "failed", "skipped", or None when there was nothing to do (not due, sent, or claimed by
    another worker)."""
    config = current_app.config
    now = utcnow()
    delivery = db.session.scalar(
        select(NotificationDelivery).where(
            NotificationDelivery.id == delivery_id, NotificationDelivery.tenant_id == tenant_id,
            NotificationDelivery.state.in_(DUE_STATES), NotificationDelivery.next_attempt_at <= now)
        .with_for_update(skip_locked=True)
    )
    if delivery is None:
        db.session.commit()
        return None
    if delivery.attempts >= config["MAIL_MAX_ATTEMPTS"]:
        # Only a claim whose worker never came back gets here (a lease that ran out).
        delivery.state = DeliveryState.FAILED
        delivery.next_attempt_at = None
        delivery.last_error = delivery.last_error or "worker stopped while sending"
        db.session.commit()
        return "failed"
    notification, user = delivery.notification, delivery.user
    from .service import wants_email

    if not wants_email(user.id, notification.kind):  # turned off since it was planned
        delivery.state, delivery.skip_reason, delivery.next_attempt_at = DeliveryState.SKIPPED, "preference_off", None
        db.session.commit()
        return "skipped"
    message = build_message(notification, user, delivery.message_id)
    delivery.state = DeliveryState.SENDING
    delivery.attempts += 1
    delivery.next_attempt_at = now + timedelta(seconds=config["MAIL_SEND_LEASE_SECONDS"])
    attempt = delivery.attempts
    db.session.commit()

    error = None
    try:
        mail.send(message)
    except Exception as exc:  # noqa: BLE001 - any transport failure is retried
        error = f"{type(exc).__name__}: {exc}"[:500]
        log.warning("e-mail delivery %s failed (attempt %s): %s", delivery_id, attempt, error)
    return _record(tenant_id, delivery_id, attempt, error)


def _record(tenant_id: int, delivery_id: int, attempt: int, error: str | None) -> str | None:
    config = current_app.config
    delivery = db.session.scalar(
        select(NotificationDelivery).where(NotificationDelivery.id == delivery_id,
                                           NotificationDelivery.tenant_id == tenant_id).with_for_update()
    )
    now = utcnow()
    if delivery is None or delivery.state is not DeliveryState.SENDING:
        db.session.commit()
        return None
    if error is None:
        delivery.state, delivery.sent_at, delivery.next_attempt_at, delivery.last_error = \
            DeliveryState.SENT, now, None, None
        outcome = "sent"
    elif delivery.attempts != attempt:
        outcome = None  # another worker claimed it after our lease ran out: its result counts
    elif attempt >= config["MAIL_MAX_ATTEMPTS"]:
        delivery.state, delivery.next_attempt_at, delivery.last_error = DeliveryState.FAILED, None, error
        outcome = "failed"
    else:
        delay = config["MAIL_RETRY_BASE_SECONDS"] * 2 ** (attempt - 1)
        delivery.state, delivery.next_attempt_at, delivery.last_error = \
            DeliveryState.PENDING, now + timedelta(seconds=delay), error
        outcome = "retry"
    db.session.commit()
    return outcome


def build_message(notification: Notification, user: User, message_id: str):
    """The e-mail: title and link only, in the recipient's language."""
    config = current_app.config
    base = config["PUBLIC_BASE_URL"]
    link = notification.link if (notification.link or "").startswith("/") and not notification.link.startswith("//") \
        else "/notifications"
    with force_locale(user.locale or "ko"):
        template = current_app.jinja_env.get_template("notifications/email.txt")
        text = template.render(title=notification.title, url=base + link, settings_url=base + "/notifications/settings")
        from flask_babel import gettext

        subject = gettext("[하나로] %(title)s", title=notification.title)
    return mail.make_message(user.email, subject, text, message_id)


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
