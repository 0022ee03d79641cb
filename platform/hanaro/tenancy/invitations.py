"""Adding people to a tenant by invitation, and the person's answer. Callers commit.

A tenant admin types an e-mail, a name, an initial password and roles. Whether or not the e-mail
already has an account, the answer and the member list are the same: an invitation shown by that
e-mail, granting nothing. With no account yet, one is created with the typed name and initial
password (today's flow), and nothing more. The membership becomes active only when the person
signs in and accepts; declining grants nothing, and the admin may cancel while it is pending.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager

from flask import abort, has_request_context, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..accounts import service as accounts
from ..accounts.models import User
from ..core.db import db, utcnow
from ..core.rules import RuleViolation
from ..notifications.service import notify
from . import context
from .models import InvitationStatus, Membership, RoleChangeAction
from .service import landing_membership, record_role_change, remember_tenant, validated_roles

log = logging.getLogger(__name__)


def invite(email: str, display_name: str, initial_password: str, roles, actor) -> Membership:
    """Invite ``email`` into the active tenant with ``roles``."""
    roles = validated_roles(roles)
    email = accounts.normalise_email(email)
    # Hashed whether or not it is used: the time taken must not tell that the account existed.
    password_hash = accounts.hash_password(initial_password)
    user = accounts.find_user_by_email(email) or _new_account(email, display_name, password_hash)
    membership = db.session.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.tenant_id == context.current_tenant_id())
    )
    if membership is not None and membership.active:
        raise RuleViolation(_l("이미 이 기관의 구성원입니다."), field="email")
    if membership is not None and membership.is_pending:
        raise RuleViolation(_l("이미 초대한 이메일입니다. 답을 기다리고 있습니다."), field="email")
    if membership is None:
        membership = Membership(user_id=user.id, active=False)
        db.session.add(membership)
    membership.roles = roles
    membership.invitation_status = InvitationStatus.PENDING
    membership.invited_email = email
    membership.invited_by_user_id = actor.id
    membership.invited_at, membership.answered_at = utcnow(), None
    db.session.flush()
    return membership


def _new_account(email: str, display_name: str, password_hash: str) -> User:
    user = User(email=email, display_name=display_name, password_hash=password_hash)
    db.session.add(user)
    db.session.flush()
    return user


def cancel(membership: Membership) -> None:
    """The inviting tenant withdraws an invitation nobody has answered yet."""
    _require_pending(membership)
    membership.invitation_status, membership.answered_at = InvitationStatus.CANCELLED, utcnow()
    db.session.flush()


# -- the invited person's side ---------------------------------------------------------------------

def invitation_of_or_404(user, public_id: str) -> Membership:
    """One of ``user``'s own invitations (any tenant; the policy lets a user read their own
    memberships). Anyone else's is 404."""
    membership = db.session.scalar(
        select(Membership).where(
            Membership.public_id == public_id,
            Membership.user_id == user.id,
            Membership.invitation_status.is_not(None),
        )
    )
    if membership is None:
        abort(404)
    return membership


def accept(user, public_id: str) -> Membership:
    """Active membership with the offered roles, recorded in the tenant's role history as granted
    by the admin who invited. The user's landing tenant does not change."""
    membership = invitation_of_or_404(user, public_id)
    _keep_landing_tenant(user)
    with _answering_for_inviting_tenant(membership, user, "accept"):
        membership.make_active()
        record_role_change(membership, RoleChangeAction.GRANTED, [], membership.invited_by)
        _tell_the_inviting_tenant(membership, _l("구성원 초대가 수락되었습니다."))
    return membership


def _keep_landing_tenant(user) -> None:
    """A user who never switched lands in their first membership; the new one might sort
    before it. Pin where they land today, so accepting does not move it."""
    landing = landing_membership(user)
    if user.last_tenant_id is None and landing is not None:
        remember_tenant(user, landing)


def decline(user, public_id: str) -> Membership:
    membership = invitation_of_or_404(user, public_id)
    with _answering_for_inviting_tenant(membership, user, "decline"):
        membership.invitation_status, membership.answered_at = InvitationStatus.DECLINED, utcnow()
        _tell_the_inviting_tenant(membership, _l("구성원 초대가 거절되었습니다."))
    return membership


def _tell_the_inviting_tenant(membership: Membership, title) -> None:
    """The inviting tenant's admins hear of the answer in 알림. The notice names nobody (titles
    are e-mailed); the member list shows the e-mail they typed."""
    link = url_for("tenancy.member", public_id=membership.public_id) if has_request_context() else None
    notify(membership.tenant_id, "member_invitation_answered", str(title),
           body=str(_l("구성원 관리에서 초대 상태를 확인하세요.")), link=link)


@contextmanager
def _answering_for_inviting_tenant(membership: Membership, user, action: str):
    """The answer changes a row the inviting tenant owns, while the user acts for no tenant or
    another one; the policy lets the user read that row, not write it. So the answer, and only
    it, is written acting as the inviting tenant: inside this block, for this row (locked, and
    checked to be still pending), its role-change record and the notice to the tenant's admins,
    and logged.
    (A policy rule letting the invited user update just the answer would make this unnecessary.)"""
    db.session.flush()  # whatever the request changed so far is written under its own context
    log.info("membership invitation %s: user %s answers (%s) acting as tenant %s",
             membership.public_id, user.id, action, membership.tenant_id)
    with context.acting_as(membership.tenant_id, user.id):
        db.session.refresh(membership, with_for_update=True)
        if membership.user_id != user.id:  # cannot happen after the lookup; never write if it did
            abort(404)
        _require_pending(membership)
        yield
        db.session.flush()


def _require_pending(membership: Membership) -> None:
    if not membership.is_pending:
        raise RuleViolation(_l("이미 처리된 초대입니다: %(status)s", status=membership.invitation_label))
