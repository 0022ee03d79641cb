"""Rules of service referrals: drafting, sending under consent, every state change through the
state table, messages, attachments, reminders and expiry. Callers commit.

Notification titles name organisations only, never the requested service (free text a user may
have put a name in): titles are e-mailed."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from types import SimpleNamespace

from flask import abort
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from ..clients.models import Client, ConsentPurpose
from ..core import clock, uploads
from ..core.db import db, utcnow
from ..core.paging import Count, Page, Paging, capped_counts, fetch_page
from ..core.rules import RuleViolation
from ..notifications.service import notify
from ..tenancy import context
from ..tenancy.models import Region, Tenant
from . import states
from .models import (
    FINAL_STATES, OPEN_STATES, DeclineReason, Referral, ReferralAttachment, ReferralEvent, ReferralMessage, State,
    Urgency,
)
from .states import Side

SHAREABLE_FIELDS = {
    "name": _l("이름"), "age": _l("나이"), "sex": _l("성별"), "dong": _l("거주 읍면동"), "phone": _l("연락처"),
    "address": _l("주소"), "needs": _l("욕구 조사 결과"),
}
DEFAULT_SHARED_FIELDS = ("name", "age", "sex", "dong", "needs")
DEFAULT_RESPONSE_DAYS = 7
REMIND_BEFORE_DUE = timedelta(days=1)
PER_PAGE = 50


class DuplicateWarning(RuleViolation):
    """The client already has an open referral to the same service or agency."""


# -- loading ----------------------------------------------------------------------------------------

def get_referral_or_404(public_id: str) -> Referral:
    """A referral the active tenant sent or received; anyone else gets 404."""
    referral = db.session.scalar(select(Referral).where(Referral.public_id == public_id))
    if referral is None or side_of(referral) is None:
        abort(404)
    return referral


def side_of(referral: Referral) -> Side | None:
    tenant_id = context.current_tenant_id()
    if tenant_id == referral.tenant_id:
        return Side.SENDER
    if tenant_id == referral.receiver_tenant_id and referral.state is not State.DRAFT:
        return Side.RECEIVER
    return None


# -- drafting and sending -------------------------------------------------------------------------------

def create(values: dict, client: Client, actor, case=None, resource=None, receiver: Tenant | None = None,
           rerouted_from: Referral | None = None) -> Referral:
    """A draft towards ``resource`` (its registrant receives it) or directly towards ``receiver``."""
    if client.tenant_id != context.current_tenant_id():
        raise RuleViolation(_l("우리 기관 대상자만 의뢰할 수 있습니다."))
    receiver = _receiver(resource, receiver)
    _check_case_open(case)
    fields = _shared_fields(values["shared_fields"]) if "shared_fields" in values else list(DEFAULT_SHARED_FIELDS)
    referral = Referral(
        receiver_tenant_id=receiver.id, client_id=client.id, case_id=case.id if case else None,
        resource_id=resource.id if resource else None, rerouted_from_id=rerouted_from.id if rerouted_from else None,
        requested_service=values.get("requested_service") or (resource.name if resource else ""),
        reason=values["reason"], urgency=Urgency(values.get("urgency") or Urgency.ROUTINE),
        response_due_on=values.get("response_due_on") or clock.today() + timedelta(days=DEFAULT_RESPONSE_DAYS),
        shared_fields=fields, created_by_user_id=actor.id if actor else None,
    )
    _check_values(referral)
    db.session.add(referral)
    db.session.flush()
    return referral


def _receiver(resource, receiver: Tenant | None) -> Tenant:
    if resource is not None:
        receiver = db.session.get(Tenant, resource.tenant_id)
    if receiver is None:
        raise RuleViolation(_l("의뢰할 자원이나 기관을 고르세요."), field="receiver")
    if receiver.id == context.current_tenant_id():
        raise RuleViolation(_l("우리 기관으로는 의뢰할 수 없습니다. 다른 기관의 자원을 고르세요."), field="receiver")
    if not receiver.active:
        raise RuleViolation(_l("이용이 중지된 기관에는 의뢰할 수 없습니다."), field="receiver")
    return receiver


def _shared_fields(chosen) -> list[str]:
    """What the sender chose to share; choosing nothing is refused, never widened to the defaults."""
    fields = [f for f in chosen or () if f in SHAREABLE_FIELDS]
    if not fields:
        raise RuleViolation(_l("받는 기관에 보낼 대상자 정보를 하나 이상 고르세요."), field="shared_fields")
    return fields


def _check_case_open(case) -> None:
    from ..cases.models import CaseStatus

    if case is not None and case.status is CaseStatus.CLOSED:
        raise RuleViolation(_l("종결된 사례에서는 의뢰할 수 없습니다. 사례를 다시 열거나 대상자 화면에서 의뢰하세요."))


def _check_values(referral: Referral) -> None:
    if not (referral.requested_service or "").strip():
        raise RuleViolation(_l("요청하는 서비스를 입력하세요."), field="requested_service")
    if referral.response_due_on < clock.today():
        raise RuleViolation(_l("응답 기한은 오늘 이후여야 합니다."), field="response_due_on")


def open_duplicates(referral: Referral) -> list[Referral]:
    """The client's other open referrals to the same service or the same agency."""
    same_target = Referral.receiver_tenant_id == referral.receiver_tenant_id
    if referral.resource_id:
        same_target = or_(same_target, Referral.resource_id == referral.resource_id)
    return list(db.session.scalars(select(Referral).where(
        Referral.client_id == referral.client_id, Referral.id != referral.id,
        Referral.state.in_([s.value for s in OPEN_STATES if s is not State.DRAFT]), same_target,
    )))


def send(referral: Referral, actor, confirm_duplicate: bool = False) -> None:
    """Send under a consent covering the receiver for referrals; the shared client data is frozen
    now. Refused with the reason when no consent covers it."""
    states.check(referral.state, side_of(referral), "send")
    _check_values(referral)
    case = None
    if referral.case_id:
        from ..cases import service as cases

        case = cases.case_by_id_or_404(referral.case_id)
        _check_case_open(case)
    if not confirm_duplicate and open_duplicates(referral):
        raise DuplicateWarning(_l("이 대상자는 같은 서비스나 기관에 진행 중인 의뢰가 있습니다. 그래도 보내려면 확인란을 선택하세요."),
                               field="confirm_duplicate")
    client = db.session.get(Client, referral.client_id)
    receiver = db.session.get(Tenant, referral.receiver_tenant_id)
    from ..clients import service as clients

    consent = clients.covering_consent(client, receiver, ConsentPurpose.REFERRAL)
    if consent is None:
        raise RuleViolation(_l("대상자의 서비스의뢰 정보제공 동의에 %(tenant)s이(가) 포함되어 있지 않아 보낼 수 없습니다. "
                               "동의를 먼저 받아 등록하세요.", tenant=receiver.name), field="consent")
    # Everything read first, then one UPDATE of the referral (a change made before a read would
    # be flushed by that read's autoflush, and written again by the move).
    snapshot = _snapshot(referral, client, consent, case)
    referral.consent_id = consent.id
    referral.consent_expires_on = consent.expires_on
    referral.shared_client = snapshot
    referral.sent_at = utcnow()
    _move(referral, "send", actor)
    notify(referral.receiver_tenant_id, kind="referral_received",
           title=str(_l("서비스 의뢰를 받았습니다 (보낸 기관: %(sender)s)", sender=referral.tenant.name)),
           body=str(_l("%(sender)s에서 보낸 의뢰입니다. 응답 기한: %(due)s",
                       sender=referral.tenant.name, due=referral.response_due_on.isoformat())),
           link=_link(referral))


def _snapshot(referral: Referral, client: Client, consent, case) -> dict:
    """The minimum the sender chose to share, frozen: later edits to the client never reach the
    receiver. Health needs only under a consent that includes health."""
    fields = set(referral.shared_fields)
    data = {"client_public_id": client.public_id}
    if "name" in fields:
        data["name"] = client.name
    if "age" in fields:
        data["age"] = client.age_on(clock.today())
    if "sex" in fields:
        data["sex"] = client.sex_label
    if "phone" in fields:
        data["phone"] = client.phone
    if "address" in fields:
        data["address"] = client.address
    if "dong" in fields and client.dong_code:
        region = db.session.get(Region, client.dong_code)
        data["dong"] = region.name if region else client.dong_code
    if "needs" in fields and case is not None:
        data["needs"] = _needs(referral, client, consent, case)
    return data


def _needs(referral: Referral, client: Client, consent, case) -> list[dict]:
    """The assessed needs the receiver may see, decided by the same rule as every case screen.
    One query for the latest assessment's items (a send needs their levels, not the objects)."""
    from ..cases import service as cases
    from ..cases.models import Assessment, AssessmentItem, NeedDomain

    latest = (select(Assessment.id).where(Assessment.case_id == case.id)
              .order_by(Assessment.version.desc()).limit(1).scalar_subquery())
    items = db.session.execute(
        select(AssessmentItem.domain_code, NeedDomain.name, AssessmentItem.level)
        .join(NeedDomain, NeedDomain.code == AssessmentItem.domain_code)
        .where(AssessmentItem.assessment_id == latest).order_by(AssessmentItem.id)).all()
    if not items:
        return []
    visible = cases.visible_need_domains(client, case, viewer_tenant_id=referral.receiver_tenant_id,
                                         shared_under=consent)
    return [{"domain": name, "level": level} for code, name, level in items if level > 0 and code in visible]


def shared_client(referral: Referral) -> dict | None:
    """What the receiver may see of the client now: the frozen snapshot, unless consent was
    withdrawn or has expired since."""
    if referral.shared_client is None or referral.client_data_withdrawn_at is not None:
        return None
    if referral.consent_expires_on is not None and referral.consent_expires_on < clock.today():
        return None
    return referral.shared_client


def record_receiver_view(referral: Referral) -> None:
    """The receiver looked at the shared client data: the access log gets it like any client view."""
    from ..audit.models import AccessAction
    from ..audit.service import record

    data = shared_client(referral)
    if data is None:
        return
    client = SimpleNamespace(id=referral.client_id, tenant_id=referral.tenant_id, public_id=data["client_public_id"])
    record(client, AccessAction.VIEW, what="referral")


def on_consent_withdrawn(consent) -> list[int]:
    """Stop sharing: the receivers of referrals sent under ``consent`` lose the client data at once."""
    referrals = list(db.session.scalars(select(Referral).where(Referral.consent_id == consent.id,
                                                               Referral.shared_client.is_not(None))))
    for referral in referrals:
        referral.shared_client = None
        referral.client_data_withdrawn_at = utcnow()
    db.session.flush()
    return sorted({r.receiver_tenant_id for r in referrals})


# -- answering and closing -------------------------------------------------------------------------

ANSWER_NOTICES = {
    "accept": ("referral_answered", _l("보낸 의뢰가 수락되었습니다 (받은 기관: %(other)s)")),
    "waitlist": ("referral_answered", _l("보낸 의뢰가 대기 등록되었습니다 (받은 기관: %(other)s)")),
    "decline": ("referral_answered", _l("보낸 의뢰가 거절되었습니다 (받은 기관: %(other)s)")),
    "start": ("referral_answered", _l("의뢰한 서비스 제공이 시작되었습니다 (받은 기관: %(other)s)")),
    "complete": ("referral_completed", _l("의뢰한 서비스가 완료되었습니다 (받은 기관: %(other)s)")),
    "not_complete": ("referral_completed", _l("의뢰한 서비스가 완료되지 못하고 종결되었습니다 (받은 기관: %(other)s)")),
}


def act(referral: Referral, action: str, actor, note: str | None = None,
        decline_reason: str | None = None) -> None:
    """Take ``action`` as the active tenant's side; refused with a reason when the state table
    does not allow it. Sending goes through :func:`send`."""
    if action == "send":
        raise RuleViolation(_l("보내기는 의뢰 작성 화면에서 합니다."))
    transition = states.check(referral.state, side_of(referral), action)
    note = (note or "").strip() or None
    if transition.needs == "decline_reason":
        _decline_fields(referral, decline_reason, note)
    elif transition.needs == "outcome_note":
        if not note:
            raise RuleViolation(_l("결과를 입력하세요."), field="note")
        referral.outcome_note = note
    elif transition.needs == "note":
        if not note:
            raise RuleViolation(_l("철회 사유를 입력하세요."), field="note")
        referral.withdraw_reason = note
    elif action == "waitlist":
        referral.answer_note = note
    if action in ("accept", "waitlist", "decline") and referral.answered_at is None:
        referral.answered_at = utcnow()
    if action in ("accept", "waitlist", "decline", "start", "complete", "not_complete"):
        referral.handled_by_user_id = actor.id if actor else None
    _move(referral, action, actor, note)
    _notify_other_side(referral, action)


def _decline_fields(referral: Referral, reason: str | None, note: str | None) -> None:
    try:
        referral.decline_reason = DeclineReason(reason)
    except ValueError:
        raise RuleViolation(_l("거절 사유를 목록에서 고르세요."), field="decline_reason") from None
    if referral.decline_reason is DeclineReason.OTHER and not note:
        raise RuleViolation(_l("'기타'를 고르면 사유를 적어 주세요."), field="note")
    referral.answer_note = note


def _notify_other_side(referral: Referral, action: str) -> None:
    if action in ANSWER_NOTICES:
        kind, title = ANSWER_NOTICES[action]
        notify(referral.tenant_id, kind=kind, title=str(title % {"other": referral.receiver.name}),
               link=_link(referral), recipient_user_id=referral.created_by_user_id)
    elif action == "withdraw":
        notify(referral.receiver_tenant_id, kind="referral_answered",
               title=str(_l("받은 의뢰가 철회되었습니다 (보낸 기관: %(sender)s)", sender=referral.tenant.name)),
               link=_link(referral))


def _move(referral: Referral, action: str, actor, note: str | None = None) -> None:
    """Apply a checked transition and record it, in one flush. The version column turns a
    concurrent change of the same referral into a refusal instead of a lost update."""
    target = states.TRANSITIONS[action].target
    before = referral.state
    referral.state = target
    if target in FINAL_STATES:
        referral.closed_at = utcnow()
    _event(referral, action, before, target, actor, note)
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise RuleViolation(_l("다른 사람이 방금 이 의뢰를 처리했습니다. 화면을 새로 고쳐 지금 상태를 확인하세요.")) from None


def _event(referral: Referral, action: str, before: State | None, after: State, actor, note) -> None:
    db.session.add(ReferralEvent(
        tenant_id=referral.tenant_id, referral_id=referral.id, receiver_tenant_id=referral.receiver_tenant_id,
        actor_tenant_id=context.current_tenant_id() or referral.tenant_id, actor_user_id=actor.id if actor else None,
        action=action, from_state=before, to_state=after, note=note,
    ))


def events(referral: Referral) -> list[ReferralEvent]:
    return list(db.session.scalars(
        select(ReferralEvent).options(selectinload(ReferralEvent.actor_tenant), selectinload(ReferralEvent.actor))
        .where(ReferralEvent.referral_id == referral.id).order_by(ReferralEvent.at, ReferralEvent.id)
    ))


def reroute(declined: Referral, actor, resource=None, receiver: Tenant | None = None) -> Referral:
    """A new draft from a declined or expired referral, linked to it, towards another service."""
    if side_of(declined) is not Side.SENDER:
        raise RuleViolation(states.SIDE_REFUSALS[Side.SENDER])
    if declined.state not in (State.DECLINED, State.EXPIRED):
        raise RuleViolation(_l("거절되었거나 기한이 지난 의뢰만 다른 곳으로 다시 보낼 수 있습니다."))
    client = db.session.get(Client, declined.client_id)
    from ..cases.models import Case

    case = db.session.get(Case, declined.case_id) if declined.case_id else None
    values = {"reason": declined.reason, "urgency": declined.urgency.value, "shared_fields": declined.shared_fields,
              "requested_service": None if resource else declined.requested_service}
    return create(values, client, actor, case=case, resource=resource, receiver=receiver, rerouted_from=declined)


# -- messages and attachments -----------------------------------------------------------------------

def add_message(referral: Referral, body: str, actor) -> ReferralMessage:
    side = side_of(referral)
    if side is None:
        abort(404)
    if referral.state is State.DRAFT:
        raise RuleViolation(_l("메시지는 의뢰를 보낸 뒤에 주고받을 수 있습니다."), field="body")
    body = (body or "").strip()
    if not body:
        raise RuleViolation(_l("메시지를 입력하세요."), field="body")
    message = ReferralMessage(tenant_id=referral.tenant_id, referral_id=referral.id,
                              receiver_tenant_id=referral.receiver_tenant_id,
                              actor_tenant_id=context.current_tenant_id(), actor_user_id=actor.id, body=body)
    db.session.add(message)
    db.session.flush()
    other = referral.receiver_tenant_id if side is Side.SENDER else referral.tenant_id
    notify(other, kind="referral_message",
           title=str(_l("의뢰에 새 메시지가 있습니다 (%(tenant)s)", tenant=context_tenant_name())),
           link=_link(referral) + "#messages",
           recipient_user_id=referral.created_by_user_id if side is Side.RECEIVER else referral.handled_by_user_id)
    return message


def messages(referral: Referral) -> list[ReferralMessage]:
    return list(db.session.scalars(
        select(ReferralMessage).options(selectinload(ReferralMessage.actor_tenant), selectinload(ReferralMessage.actor))
        .where(ReferralMessage.referral_id == referral.id).order_by(ReferralMessage.at, ReferralMessage.id)
    ))


MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
MAX_ATTACHMENTS = 10
ATTACHMENT_KINDS = uploads.DOCUMENTS


def add_attachment(referral: Referral, filename: str, content: bytes, actor) -> ReferralAttachment:
    """Size- and type-limited; the type is judged by the file's content (``core.uploads``)."""
    if side_of(referral) is None:
        abort(404)
    upload = uploads.check(content, filename, ATTACHMENT_KINDS, field="file", max_bytes=MAX_ATTACHMENT_BYTES,
                           missing=_l("첨부할 파일을 고르세요."))
    if len(attachments(referral)) >= MAX_ATTACHMENTS:
        raise RuleViolation(_l("첨부 파일은 의뢰당 10개까지입니다."), field="file")
    attachment = ReferralAttachment(
        tenant_id=referral.tenant_id, referral_id=referral.id, receiver_tenant_id=referral.receiver_tenant_id,
        actor_tenant_id=context.current_tenant_id(), actor_user_id=actor.id, filename=upload.name or "file",
        content_type=upload.content_type, size=upload.size, content=content,
    )
    db.session.add(attachment)
    db.session.flush()
    return attachment


def attachments(referral: Referral) -> list[ReferralAttachment]:
    return list(db.session.scalars(select(ReferralAttachment).where(ReferralAttachment.referral_id == referral.id)
                                   .order_by(ReferralAttachment.at, ReferralAttachment.id)))


def withheld_authors(referral: Referral) -> frozenset[int]:
    """The tenants whose words on ``referral`` the active tenant may no longer read: for the
    receiver, once the client data is no longer shared (consent withdrawn or expired), the
    sender's reason, notes, messages and files, which may hold the same personal data. Each side
    always reads its own."""
    if side_of(referral) is Side.RECEIVER and shared_client(referral) is None:
        return frozenset({referral.tenant_id})
    return frozenset()


def get_attachment_or_404(referral: Referral, public_id: str) -> ReferralAttachment:
    """A file of the referral the active tenant may open. Once the client data is no longer shared
    (consent withdrawn or expired), the receiver cannot open the sender's files either: they may
    hold the same personal data. Its own uploads stay readable."""
    attachment = db.session.scalar(select(ReferralAttachment).where(
        ReferralAttachment.referral_id == referral.id, ReferralAttachment.public_id == public_id))
    if attachment is None or not attachment_readable(referral, attachment):
        abort(404)
    return attachment


def attachment_readable(referral: Referral, attachment: ReferralAttachment) -> bool:
    return side_of(referral) is not None and attachment.actor_tenant_id not in withheld_authors(referral)


# -- lists ---------------------------------------------------------------------------------------------

@dataclass
class ListFilter:
    direction: str = "inbox"  # inbox: received; outbox: sent
    state: str | None = None
    overdue: bool = False


def _direction(direction: str):
    tenant_id = context.current_tenant_id()
    if direction == "outbox":
        return Referral.tenant_id == tenant_id
    return (Referral.receiver_tenant_id == tenant_id) & (Referral.state != State.DRAFT.value)


def is_overdue(referral: Referral, today: date | None = None) -> bool:
    """No answer by the response deadline (the expiry sweep then closes it)."""
    return referral.state is State.SENT and referral.response_due_on < (today or clock.today())


def _listed(list_filter: ListFilter):
    """The list's rows, unordered: each filter is a range of the box's indexes (0021)."""
    statement = select(Referral).where(_direction(list_filter.direction))
    if list_filter.state in {s.value for s in State}:
        statement = statement.where(Referral.state == list_filter.state)
    elif list_filter.state == "open":
        statement = statement.where(Referral.state.in_([s.value for s in OPEN_STATES]))
    if list_filter.overdue:
        statement = statement.where(Referral.state == State.SENT.value, Referral.response_due_on < clock.today())
    return statement


def list_referrals(list_filter: ListFilter, wanted: Paging = Paging(1, PER_PAGE)) -> Page:
    """One page of the box, the earliest response deadline first, with its capped count."""
    statement = (_listed(list_filter).options(selectinload(Referral.tenant), selectinload(Referral.receiver))
                 .order_by(Referral.response_due_on, Referral.id))
    return fetch_page(statement, wanted, count_statement=_listed(list_filter))


def counts(direction: str) -> dict[str, Count]:
    """{state: capped count} of the box, and ``"overdue"``, in one statement: each a short range
    of the box's (party, state, deadline) index, however many referrals the tenant has."""
    states = [s.value for s in State if direction == "outbox" or s is not State.DRAFT]
    criteria = {state: Referral.state == state for state in states}
    criteria["overdue"] = and_(Referral.state == State.SENT.value, Referral.response_due_on < clock.today())
    return capped_counts(select(Referral.id).where(_direction(direction)), criteria)


def referrals_of_case(case) -> list[Referral]:
    return list(db.session.scalars(select(Referral).options(selectinload(Referral.receiver))
                                   .where(Referral.case_id == case.id).order_by(Referral.created_at.desc())))


def referrals_of_client(client) -> list[Referral]:
    return list(db.session.scalars(select(Referral).options(selectinload(Referral.receiver))
                                   .where(Referral.client_id == client.id).order_by(Referral.created_at.desc())))


# -- reminders and expiry (a periodic job per sending tenant) --------------------------------------------

def remind_and_expire(today: date | None = None) -> dict[str, int]:
    """For the active tenant's sent referrals: remind the receiver the day before the response
    deadline, and once it has passed, mark the referral expired and tell both sides. Safe to run
    again: reminders are deduplicated, expired referrals are no longer ``sent``."""
    today = today or clock.today()
    due = list(db.session.scalars(select(Referral).where(
        Referral.tenant_id == context.current_tenant_id(), Referral.state == State.SENT.value,
        Referral.response_due_on <= today + REMIND_BEFORE_DUE)))
    reminded = expired = 0
    for referral in due:
        if referral.response_due_on < today:
            _expire(referral)
            expired += 1
        else:
            _remind(referral)
            reminded += 1
    return {"reminded": reminded, "expired": expired}


def _remind(referral: Referral) -> None:
    key = f"referral-due:{referral.public_id}:{referral.response_due_on.isoformat()}"
    notify(referral.receiver_tenant_id, kind="referral_overdue",
                  title=str(_l("의뢰 응답 기한이 다가옵니다 (보낸 기관: %(sender)s, %(due)s까지)",
                               sender=referral.tenant.name, due=referral.response_due_on.isoformat())),
                  link=_link(referral), dedupe_key=key)


def _expire(referral: Referral) -> None:
    _move(referral, "expire", None, note=str(_l("응답 기한(%(due)s)이 지났습니다.", due=referral.response_due_on.isoformat())))
    for tenant_id, recipient in ((referral.tenant_id, referral.created_by_user_id), (referral.receiver_tenant_id, None)):
        notify(tenant_id, kind="referral_overdue", recipient_user_id=recipient, link=_link(referral),
               title=str(_l("응답 없이 기한이 지나 의뢰가 만료되었습니다 (%(sender)s → %(receiver)s)",
                            sender=referral.tenant.name, receiver=referral.receiver.name)))


def context_tenant_name() -> str:
    tenant = db.session.get(Tenant, context.current_tenant_id())
    return tenant.name if tenant else ""


def _link(referral: Referral) -> str:
    return f"/referrals/{referral.public_id}"


# -- the case timeline ---------------------------------------------------------------------------------

def _case_timeline_entries(case) -> list:
    """Each referral event of the case, for whoever may see both the case and the referral."""
    from ..cases.models import NoteVisibility
    from ..cases.service import TimelineEntry

    rows = db.session.execute(
        select(ReferralEvent, Referral).join(Referral, Referral.id == ReferralEvent.referral_id)
        .options(selectinload(ReferralEvent.actor_tenant), selectinload(ReferralEvent.actor),
                 selectinload(Referral.receiver))
        .where(Referral.case_id == case.id)
    )
    return [TimelineEntry(event.at, f"referral.{event.action}", _timeline_summary(event, referral),
                          event.actor_tenant.name, event.actor.display_name if event.actor else None,
                          NoteVisibility.TEAM) for event, referral in rows]


def _timeline_summary(event: ReferralEvent, referral: Referral) -> str:
    from .models import STATE_LABELS

    parts = [f"{referral.requested_service} → {referral.receiver.name}", str(STATE_LABELS[event.to_state])]
    if event.note:
        parts.append(event.note)
    return " · ".join(parts)[:300]


def _register_timeline() -> None:
    from ..cases import service as cases

    if _case_timeline_entries not in cases.timeline_sources:
        cases.timeline_sources.append(_case_timeline_entries)


_register_timeline()


# -- editing a draft (for the referral screens) ----------------------------------------------------------

def update_draft(referral: Referral, values: dict) -> None:
    """The sender changes a saved draft (what is asked, why, by when, what to share) before sending."""
    if side_of(referral) is not Side.SENDER:
        raise RuleViolation(states.SIDE_REFUSALS[Side.SENDER])
    if referral.state is not State.DRAFT:
        raise RuleViolation(_l("보내기 전의 의뢰만 고칠 수 있습니다."))
    for name in ("requested_service", "reason", "response_due_on"):
        if values.get(name):
            setattr(referral, name, values[name])
    if values.get("urgency"):
        referral.urgency = Urgency(values["urgency"])
    if "shared_fields" in values:
        referral.shared_fields = _shared_fields(values["shared_fields"])
    _check_values(referral)
    db.session.flush()
