"""The tenancy kernel on every backend: context, the fail-closed ORM filter, write guards."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from hanaro.core.db import db
from hanaro.core.rules import RuleViolation
from hanaro.tenancy import service
from hanaro.tenancy.context import NoActiveTenant, acting_as, unscoped
from hanaro.tenancy.models import Membership, SharingAgreement
from hanaro.tenancy.orm_filter import TenantWriteRefused

from .conftest import BACKEND


def test_querying_tenant_owned_rows_without_a_tenancy_context_raises(ctx, make):
    make.member(make.tenant())
    with pytest.raises(NoActiveTenant):
        db.session.scalars(select(Membership)).all()


def test_unscoped_maintenance_code_opts_out_of_the_orm_filter_but_not_out_of_rls(ctx, make):
    make.member(make.tenant())
    with unscoped():
        rows = db.session.scalars(select(Membership)).all()
    # No ORM filter and no error; on PostgreSQL RLS still hides every row without a tenant.
    assert len(rows) == (0 if BACKEND == "postgresql" else 1)


def test_each_tenant_sees_only_its_own_memberships(ctx, make):
    a, b = make.tenant(), make.tenant()
    make.member(a), make.member(a), make.member(b)
    with acting_as(a.id, None):
        assert {m.tenant_id for m in db.session.scalars(select(Membership))} == {a.id}
        assert len(db.session.scalars(select(Membership)).all()) == 2
    with acting_as(b.id, None):
        assert len(db.session.scalars(select(Membership)).all()) == 1


def test_a_user_sees_their_own_memberships_in_every_tenant_but_nobody_elses(ctx, make):
    a, b, c = make.tenant(), make.tenant(), make.tenant()
    user = make.user()
    make.membership(user, a), make.membership(user, b)
    make.member(c)
    with acting_as(None, user.id):
        assert {m.tenant_id for m in db.session.scalars(select(Membership))} == {a.id, b.id}


def test_the_filter_applies_to_joins_and_relationship_loads(ctx, make):
    a, b = make.tenant(), make.tenant()
    shared_user = make.user()
    make.membership(shared_user, a), make.membership(shared_user, b)
    with acting_as(a.id, None):
        from hanaro.accounts.models import User

        user = db.session.scalar(select(User).where(User.id == shared_user.id))
        assert [m.tenant_id for m in user.memberships] == [a.id]
        joined = db.session.scalars(select(User).join(Membership)).all()
        assert [u.id for u in joined] == [shared_user.id]
        in_subquery = select(User.id).where(User.id.in_(select(Membership.user_id).where(Membership.tenant_id == b.id)))
        assert db.session.scalars(in_subquery).all() == []


def test_a_join_or_subquery_into_tenant_data_without_context_raises(ctx, make):
    from hanaro.accounts.models import User

    make.member(make.tenant())
    with pytest.raises(NoActiveTenant):
        db.session.scalars(select(User).join(Membership)).all()
    with pytest.raises(NoActiveTenant):
        db.session.scalars(select(User).where(User.id.in_(select(Membership.user_id)))).all()


def test_an_agreement_is_visible_to_both_parties_and_no_one_else(ctx, make):
    owner, partner, outsider = make.tenant(), make.tenant(), make.tenant()
    agreement = make.agreement(owner, partner)
    for tenant, visible in ((owner, True), (partner, True), (outsider, False)):
        with acting_as(tenant.id, None):
            found = db.session.scalar(select(SharingAgreement).where(SharingAgreement.public_id == agreement.public_id))
            assert (found is not None) is visible


def test_new_rows_are_stamped_with_the_active_tenant(ctx, make):
    tenant, user = make.tenant(), make.user()
    with acting_as(tenant.id, None):
        membership = Membership(user_id=user.id, roles=["viewer"])
        db.session.add(membership)
        db.session.flush()
        assert membership.tenant_id == tenant.id


def test_creating_a_row_for_another_tenant_is_refused(ctx, make):
    mine, theirs, user = make.tenant(), make.tenant(), make.user()
    with acting_as(mine.id, None):
        db.session.add(Membership(user_id=user.id, roles=["viewer"], tenant_id=theirs.id))
        with pytest.raises(TenantWriteRefused):
            db.session.flush()


def test_tenant_id_of_an_existing_row_cannot_change(ctx, make):
    mine, theirs = make.tenant(), make.tenant()
    make.member(mine)
    with acting_as(mine.id, None):
        membership = db.session.scalars(select(Membership)).one()
        membership.tenant_id = theirs.id
        with pytest.raises(TenantWriteRefused):
            db.session.flush()


def test_writing_without_an_active_tenant_is_refused(ctx, make):
    user = make.user()
    db.session.add(Membership(user_id=user.id, roles=["viewer"]))
    with pytest.raises(NoActiveTenant):
        db.session.flush()


def test_the_partner_may_revoke_an_agreement_but_not_delete_it(ctx, make):
    owner, partner, actor = make.tenant(), make.tenant(), make.user()
    agreement = make.agreement(owner, partner)
    with acting_as(partner.id, actor.id):
        found = service.get_agreement_or_404(agreement.public_id)
        service.revoke_agreement(found, "협약 종료 합의", actor)
        assert found.revoked_at is not None
        db.session.delete(found)
        with pytest.raises(TenantWriteRefused):
            db.session.flush()


def test_agreements_stop_sharing_when_revoked_or_expired(ctx, make):
    owner, partner, expired_partner, actor = make.tenant(), make.tenant(), make.tenant(), make.user()
    agreement = make.agreement(owner, partner, record_kinds=["case"])
    make.agreement(owner, expired_partner, record_kinds=["case"], valid_to=date(2021, 1, 1))
    with acting_as(owner.id, actor.id):
        assert service.tenants_with_active_agreement("case") == {partner.id}
        assert service.tenants_with_active_agreement("resource") == set()
        service.revoke_agreement(service.get_agreement_or_404(agreement.public_id), "해지", actor)
        assert service.tenants_with_active_agreement("case") == set()


def test_the_last_tenant_admin_cannot_be_removed(ctx, make):
    tenant = make.tenant()
    admin = make.member(tenant, roles=["tenant_admin"])
    with acting_as(tenant.id, admin.id):
        membership = db.session.scalars(select(Membership)).one()
        with pytest.raises(RuleViolation, match="기관 관리자가 한 명은"):
            service.revoke_membership(membership, admin)
        with pytest.raises(RuleViolation):
            service.change_roles(membership, ["viewer"], admin)


def test_public_ids_start_with_a_letter_or_digit_so_exports_keep_them_as_they_are(monkeypatch):
    import secrets

    from hanaro.core import db as core_db

    drawn = iter(["-startsWithDash1", "_underscoreFirst", "Ab3-_xYz0123456x"])
    monkeypatch.setattr(secrets, "token_urlsafe", lambda _n: next(drawn))
    assert core_db.new_public_id() == "Ab3-_xYz0123456x"
    monkeypatch.undo()
    assert all(core_db.new_public_id()[0].isalnum() for _ in range(2000))
