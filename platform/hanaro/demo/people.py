"""Who acts in the demo loaders: the active members of a demo tenant, found by e-mail or role.
Each loader says itself what is missing when nobody fits (its own MissingDemoData wording)."""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from ..accounts.models import User
from ..core.db import db
from ..tenancy.context import acting_as
from ..tenancy.models import Membership, Tenant


def active_members(tenant: Tenant) -> list[tuple[Membership, User]]:
    """The tenant's active memberships with their active users, oldest membership first."""
    with acting_as(tenant.id, None):
        return list(db.session.execute(select(Membership, User).join(User, User.id == Membership.user_id).where(
            Membership.tenant_id == tenant.id, Membership.active.is_(True), User.active.is_(True))
            .order_by(Membership.id)))


def first_member(tenant: Tenant, fits: Callable[[Membership, User], bool]) -> User | None:
    return next((user for membership, user in active_members(tenant) if fits(membership, user)), None)


def member_by_email(tenant: Tenant, email: str, *roles) -> User | None:
    """The member with this e-mail (holding one of ``roles``, when given)."""
    return first_member(tenant, lambda m, u: u.email == email and (not roles or m.has_role(*roles)))


def member_with_role(tenant: Tenant, *roles) -> User | None:
    return first_member(tenant, lambda m, _u: m.has_role(*roles))
