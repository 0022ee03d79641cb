"""Test data. Each call commits to the test's savepoint and returns objects whose attributes
stay readable after the session closes (expire_on_commit=False in the harness)."""
from __future__ import annotations

import itertools
from datetime import date

from argon2 import PasswordHasher
from sqlalchemy import select

from hanaro.accounts.models import User
from hanaro.core.db import db
from hanaro.tenancy.context import acting_as
from hanaro.tenancy.models import Membership, Region, RegionLevel, SharingAgreement, Tenant, TenantKind

PASSWORD = "correct horse battery"
# Hash once: argon2 is deliberately slow.
PASSWORD_HASH = PasswordHasher().hash(PASSWORD)
_sequence = itertools.count(1)


class Factory:
    def __init__(self, app):
        self.app = app

    def _save(self, *objects):
        with self.app.app_context():
            for obj in objects:
                db.session.add(obj)
            db.session.commit()
        return objects[0] if len(objects) == 1 else objects

    def region(self, code=None, name=None, level=RegionLevel.DONG, parent_code=None):
        with self.app.app_context():
            code = code or f"99{next(_sequence):08d}"
            existing = db.session.get(Region, code)
            if existing:
                return existing
        return self._save(Region(code=code, name=name or f"지역{code}", level=level, parent_code=parent_code))

    def province(self, code="9900000000", name="시험특별자치도"):
        return self.region(code, name, RegionLevel.PROVINCE)

    def tenant(self, name=None, kind=TenantKind.WELFARE_CENTRE, region=None, parent=None, code=None):
        region = region or self.province()
        n = next(_sequence)
        return self._save(
            Tenant(
                code=code or f"tenant-{n}",
                name=name or f"시험기관{n}",
                kind=kind,
                region_code=region.code,
                parent_id=parent.id if parent else None,
            )
        )

    def user(self, email=None, name=None, operator=False, password_hash=PASSWORD_HASH):
        n = next(_sequence)
        return self._save(
            User(
                email=email or f"user{n}@test.example",
                display_name=name or f"사용자{n}",
                password_hash=password_hash,
                is_platform_operator=operator,
            )
        )

    def membership(self, user, tenant, roles=("case_manager",), active=True):
        with self.app.app_context(), acting_as(tenant.id, None):
            membership = Membership(user_id=user.id, roles=list(roles), active=active)
            db.session.add(membership)
            db.session.commit()
            return membership

    def member(self, tenant, roles=("case_manager",), **user_kwargs):
        """A new user with a membership in ``tenant``."""
        user = self.user(**user_kwargs)
        self.membership(user, tenant, roles)
        return user

    def agreement(self, owner, partner, record_kinds=("client", "case"), valid_from=date(2020, 1, 1), valid_to=None):
        with self.app.app_context(), acting_as(owner.id, None):
            agreement = SharingAgreement(
                partner_tenant_id=partner.id,
                purpose="시험 협약",
                record_kinds=list(record_kinds),
                valid_from=valid_from,
                valid_to=valid_to,
            )
            db.session.add(agreement)
            db.session.commit()
            return agreement

    # -- clients -------------------------------------------------------------------------------
    def client(self, tenant, name=None, birth_date=date(1950, 5, 17), sex="F", rrn=None, dong_code=None):
        """A client of ``tenant`` (registered through the service, so the number is encrypted)."""
        from hanaro.clients import service as clients

        with self.app.app_context(), acting_as(tenant.id, None):
            creator = db.session.scalar(select(Membership.user_id).where(Membership.tenant_id == tenant.id)) or 0
            client, _ = clients.register_client(
                {"name": name or f"대상자{next(_sequence)}", "birth_date": birth_date, "sex": sex, "rrn": rrn,
                 "dong_code": dong_code, "new_household": True},
                _Actor(creator or None),
            )
            db.session.commit()
            return client

    def consent(self, client, scope="case_team", tenants=(), purposes=("case_collaboration", "referral"),
                includes_health=False, granted_on=date(2026, 1, 1), expires_on=None):
        from hanaro.clients.models import Consent

        with self.app.app_context(), acting_as(client.tenant_id, None):
            consent = Consent(client_id=client.id, scope=scope, tenant_ids=[t.id for t in tenants],
                              purposes=list(purposes), includes_health=includes_health, granted_on=granted_on,
                              expires_on=expires_on, evidence_reference="동의서-001")
            db.session.add(consent)
            db.session.commit()
            return consent


class _Actor:
    def __init__(self, user_id):
        self.id = user_id
