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

    def _province_of(self, region) -> str:
        with self.app.app_context():
            return db.session.get(Region, region.code).province().code

    def tenant(self, name=None, kind=TenantKind.WELFARE_CENTRE, region=None, parent=None, code=None):
        region = region or self.province()
        n = next(_sequence)
        return self._save(
            Tenant(
                code=code or f"tenant-{n}",
                name=name or f"시험기관{n}",
                kind=kind,
                region_code=region.code,
                province_code=self._province_of(region),
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

    def invitation(self, user, tenant, roles=("case_manager",), inviter=None):
        """A pending invitation of ``user`` into ``tenant`` (grants nothing until accepted)."""
        from hanaro.core.db import utcnow
        from hanaro.tenancy.models import InvitationStatus

        with self.app.app_context(), acting_as(tenant.id, None):
            membership = Membership(
                user_id=user.id, roles=list(roles), active=False,
                invitation_status=InvitationStatus.PENDING, invited_email=user.email,
                invited_by_user_id=inviter.id if inviter else None, invited_at=utcnow(),
            )
            db.session.add(membership)
            db.session.commit()
            return membership

    def member(self, tenant, roles=("case_manager",), **user_kwargs):
        """A new user with a membership in ``tenant``."""
        user = self.user(**user_kwargs)
        self.membership(user, tenant, roles)
        return user

    def agreement(self, owner, partner, record_kinds=("client", "case"), valid_from=date(2020, 1, 1), valid_to=None,
                  status="accepted"):
        """An agreement as both sides signed it (``status="proposed"`` for one awaiting an answer)."""
        with self.app.app_context(), acting_as(owner.id, None):
            agreement = SharingAgreement(
                partner_tenant_id=partner.id,
                purpose="시험 협약",
                record_kinds=list(record_kinds),
                valid_from=valid_from,
                valid_to=valid_to,
                status=status,
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


# -- access log (audit) ------------------------------------------------------------------------
# Appended as functions attached to Factory, so this block stays an append at the end of the file.

def _clients(self, tenant, count, prefix="대상자"):
    """``count`` clients of ``tenant`` in one transaction (no resident numbers, no households)."""
    from hanaro.clients.models import Client

    with self.app.app_context(), acting_as(tenant.id, None):
        n = next(_sequence)
        clients = [Client(name=f"{prefix}{n}-{i}", birth_date=date(1950, 1, 1), sex="F") for i in range(count)]
        db.session.add_all(clients)
        db.session.commit()
        return clients


def _access(self, user, tenant, client, at=None, action="view", what="client", purpose=None, ip="10.0.0.1"):
    """An access log entry: ``user`` acting for ``tenant`` did ``action`` to ``client`` at ``at``."""
    from hanaro.audit.models import AccessAction, AccessLogEntry
    from hanaro.core.db import utcnow

    with self.app.app_context(), acting_as(tenant.id, user.id):
        entry = AccessLogEntry(user_id=user.id, client_id=client.id, client_tenant_id=client.tenant_id,
                               client_public_id=client.public_id, action=AccessAction(action), what=what,
                               purpose=purpose, ip=ip, at=at or utcnow())
        db.session.add(entry)
        db.session.commit()
        return entry


def _accesses(self, user, tenant, clients, start, step_seconds=60, action="view", what="client"):
    """One entry per client, ``step_seconds`` apart from ``start``, in one transaction."""
    from datetime import timedelta

    from hanaro.audit.models import AccessAction, AccessLogEntry

    with self.app.app_context(), acting_as(tenant.id, user.id):
        entries = [
            AccessLogEntry(user_id=user.id, client_id=c.id, client_tenant_id=c.tenant_id, client_public_id=c.public_id,
                           action=AccessAction(action), what=what, at=start + timedelta(seconds=i * step_seconds))
            for i, c in enumerate(clients)
        ]
        db.session.add_all(entries)
        db.session.commit()
        return entries


def _access_review(self, tenant, user, month, findings="이상 없음", flagged_count=0):
    from hanaro.audit.models import AccessReview

    with self.app.app_context(), acting_as(tenant.id, user.id):
        review = AccessReview(month=month, reviewed_by_user_id=user.id, findings=findings, flagged_count=flagged_count)
        db.session.add(review)
        db.session.commit()
        return review


Factory.clients = _clients
Factory.access = _access
Factory.accesses = _accesses
Factory.access_review = _access_review


# -- cases (appended by the cases work; attached like the audit helpers above) -----------------------

def _case(self, client, worker, case_type="crisis_household", risk="medium", received_on=None, dong_code=None):
    """A case on ``client`` opened through the service by ``worker`` (a case manager of the
    client's tenant); ``received_on`` defaults to today."""
    from hanaro.cases import service as cases
    from hanaro.clients.models import Client
    from hanaro.core import clock

    with self.app.app_context(), acting_as(client.tenant_id, worker.id):
        own = db.session.get(Client, client.id)
        case = cases.open_case(own, {"case_type": case_type, "lead_worker": worker.public_id, "risk_level": risk,
                                     "received_on": received_on or clock.today(), "dong_code": dong_code}, worker)
        db.session.commit()
        return case


def _ensure_case_agreement(self, lead_id, partner):
    """An accepted agreement covering clients and cases between the two, unless one is in force."""
    from types import SimpleNamespace

    from hanaro.tenancy import service as tenancy

    with self.app.app_context(), acting_as(lead_id, None):
        if tenancy.agreement_covers(partner.id, "client", "case"):
            return
    self.agreement(SimpleNamespace(id=lead_id), partner, record_kinds=("client", "case"))


def _case_member(self, case, tenant, inviter, accept_as=None, worker_name=None, message=None, sign_agreement=True):
    """Invite ``tenant`` to ``case`` (the client needs a covering consent; an agreement covering
    clients and cases is signed first unless ``sign_agreement`` is False); with ``accept_as``
    (a case manager of ``tenant``) the invitation is also accepted."""
    from hanaro.cases import service as cases
    from hanaro.cases.models import Case, CaseMember

    if sign_agreement:
        _ensure_case_agreement(self, case.tenant_id, tenant)
    with self.app.app_context(), acting_as(case.tenant_id, inviter.id):
        member = cases.invite(db.session.get(Case, case.id), db.session.get(Tenant, tenant.id), worker_name, message,
                              inviter)
        db.session.commit()
    if accept_as is not None:
        with self.app.app_context(), acting_as(tenant.id, accept_as.id):
            member = db.session.get(CaseMember, member.id)
            cases.accept_invitation(member, accept_as.public_id, None, accept_as)
            db.session.commit()
    return member


def _as_tenant(self, tenant, user=None):
    """``with make.as_tenant(t, user): ...`` — an app context acting as ``tenant`` that commits."""
    from contextlib import contextmanager

    @contextmanager
    def scope():
        with self.app.app_context(), acting_as(tenant.id, user.id if user else None):
            yield db.session
            db.session.commit()

    return scope()


Factory.case = _case
Factory.case_member = _case_member
Factory.as_tenant = _as_tenant


class CaseWorld:
    """A welfare centre (lead) with a case on one client, a dong centre that may join the team
    (the client's consent covers "whoever joins the case team"), and an outsider tenant."""

    def __init__(self, make, consent_health=False, rrn="500517-2000004", agreement_kinds=("client", "case"),
                 agreement_status="accepted"):
        self.make = make
        self.lead = make.tenant(name="한라종합사회복지관")
        self.partner = make.tenant(name="한림읍 행정복지센터", kind=TenantKind.DONG_CENTRE)
        self.outsider = make.tenant(name="바깥기관")
        self.lead_worker = make.member(self.lead, roles=["case_manager"], name="이담당")
        self.lead_viewer = make.member(self.lead, roles=["viewer"], name="조회만")
        self.partner_worker = make.member(self.partner, roles=["case_manager"], name="박동주민")
        self.outsider_worker = make.member(self.outsider, roles=["case_manager", "tenant_admin"], name="남의사람")
        self.person = make.client(self.lead, name="김하나", rrn=rrn, birth_date=date(1950, 5, 17), sex="F")
        self.consent = make.consent(self.person, scope="case_team", includes_health=consent_health)
        self.case = make.case(self.person, self.lead_worker)
        # The lead and the dong centre signed an agreement covering clients and cases (the outsider did not);
        # ``agreement_status=None`` for none at all.
        self.agreement = None if agreement_status is None else make.agreement(
            self.lead, self.partner, record_kinds=agreement_kinds, status=agreement_status)

    def join_partner(self, accept=True):
        """Invite the dong centre; accepted unless ``accept`` is False. Returns the membership."""
        self.member = self.make.case_member(self.case, self.partner, self.lead_worker,
                                            accept_as=self.partner_worker if accept else None)
        return self.member

    def signed_in(self, user):
        from .helpers import login

        client = self.make.app.test_client()
        assert login(client, user.email).status_code == 303
        return client


Factory.case_world = lambda self, **kwargs: CaseWorld(self, **kwargs)


def _case_objects(self, client, worker, partner, partner_worker, case=None):
    """One of every case record, on ``case`` (a new case about ``client`` led by ``worker``'s
    tenant unless given) with ``partner`` joining the team: for the cross-tenant tests. The
    partner provides the planned service and is assigned the conference task."""
    from hanaro.cases import service as cases
    from hanaro.cases.models import Case
    from hanaro.core import clock

    case = case or self.case(client, worker)
    member = self.case_member(case, partner, worker, accept_as=partner_worker)
    with self.app.app_context(), acting_as(case.tenant_id, worker.id):
        case = db.session.get(Case, case.id)
        levels = {f"level_{d.code}": 1 for d in cases.need_domains()}
        assessment = cases.save_assessment(case, {"assessed_on": clock.today(), **levels}, worker)
        goal = cases.add_goal(case, {"domain": "economy", "goal": "생계 안정"}, worker)
        service = cases.add_service(case, {"goal": goal.public_id, "description": "긴급생계비",
                                           "provider_tenant": partner.code}, worker)
        conference = cases.hold_conference(case, {"held_on": clock.today(), "attendees": [{"name": "가", "tenant": ""}],
                                                  "agenda": "안건"}, worker)
        task = cases.add_task(conference, case, {"description": "방문", "assignee_tenant": partner.code}, worker)
        cases.add_note(case, "internal", "가기관 내부 메모", worker)
        db.session.commit()
    return {"case": case, "case_member": member, "assessment": assessment, "goal": goal, "planned_service": service,
            "conference": conference, "task": task}


Factory.case_objects = _case_objects


# -- resources (appended by the resource screens work) ----------------------------------------------

def _resource(self, tenant, name=None, scope="private", staff_scope="private", creator=None, **values):
    """A resource of ``tenant`` registered through the service (history recorded)."""
    from hanaro.resources import service as resources

    with self.app.app_context(), acting_as(tenant.id, creator.id if creator else None):
        creator_id = creator.id if creator else db.session.scalar(
            select(Membership.user_id).where(Membership.tenant_id == tenant.id))
        resource = resources.register(
            {"name": name or f"자원{next(_sequence)}", "description": "시험 자원 설명", "kind": "service",
             "capacity": "available", "need_domains": [], "service_area_codes": [], "schedule": [],
             "scope": scope, "staff_scope": staff_scope, **values},
            _Actor(creator_id),
        )
        db.session.commit()
        return resource


Factory.resource = _resource


# -- facility oversight (appended by the oversight work) ---------------------------------------------------

class OversightWorld:
    """A province with two municipalities, one of which (``city``) supervises three facilities:
    two on the platform (``home_a``, ``home_b`` are their own tenants) and one on paper; another
    province with its municipality; and an NGO. Users: two inspectors of the city, staff of each
    facility tenant, a province viewer, an inspector of the neighbouring city, a far province
    viewer and an NGO worker."""

    def __init__(self, make):
        self.make = make
        province = make.province()
        city_region = make.region(level=RegionLevel.MUNICIPALITY, parent_code=province.code, name="시험시")
        other_region = make.region(level=RegionLevel.MUNICIPALITY, parent_code=province.code, name="이웃시")
        self.dong = make.region(level=RegionLevel.DONG, parent_code=city_region.code, name="시험동")
        far = make.province(code="9910000000", name="먼특별자치도")
        far_region = make.region(level=RegionLevel.MUNICIPALITY, parent_code=far.code, name="먼시")
        self.province = make.tenant(name="시험특별자치도청", kind=TenantKind.PROVINCE, region=province)
        self.city = make.tenant(name="시험시청", kind=TenantKind.MUNICIPALITY, region=city_region)
        self.other_city = make.tenant(name="이웃시청", kind=TenantKind.MUNICIPALITY, region=other_region)
        self.far_province = make.tenant(name="먼도청", kind=TenantKind.PROVINCE, region=far)
        self.far_city = make.tenant(name="먼시청", kind=TenantKind.MUNICIPALITY, region=far_region)
        self.home_a = make.tenant(name="햇살요양원", kind=TenantKind.FACILITY, region=self.dong)
        self.home_b = make.tenant(name="바다요양원", kind=TenantKind.FACILITY, region=self.dong)
        self.ngo = make.tenant(name="나눔단체", kind=TenantKind.NGO, region=province)
        self.inspector = make.member(self.city, roles=["inspector"], name="김점검")
        self.inspector2 = make.member(self.city, roles=["inspector"], name="이점검")
        self.staff_a = make.member(self.home_a, roles=["tenant_admin"], name="박시설")
        self.staff_b = make.member(self.home_b, roles=["tenant_admin"], name="최시설")
        self.province_staff = make.member(self.province, roles=["viewer"])
        self.other_inspector = make.member(self.other_city, roles=["inspector"])
        self.far_staff = make.member(self.far_province, roles=["viewer"])
        self.ngo_worker = make.member(self.ngo, roles=["case_manager"])
        self.facility_a = self.facility("햇살요양원", "제2020-1호", self.home_a)
        self.facility_b = self.facility("바다요양원", "제2020-2호", self.home_b)
        self.facility_paper = self.facility("종이요양원", "제2020-3호")

    def acting(self, tenant, user=None):
        """``with world.acting(tenant, user) as session:`` — commits at the end."""
        return self.make.as_tenant(tenant, user)

    def facility(self, name, licence_number, own_tenant=None, facility_type="elderly", supervisor=None,
                 inspector=None):
        from hanaro.oversight import service

        with self.acting(supervisor or self.city, inspector or self.inspector):
            return service.register_facility(
                {"name": name, "facility_type": facility_type, "operator_kind": "corporation",
                 "operator_name": "사회복지법인 시험", "licence_number": licence_number, "licence_date": date(2020, 3, 1),
                 "capacity": 30, "address": "시험로 1", "dong_code": self.dong.code if supervisor is None else None,
                 "facility_tenant": own_tenant.code if own_tenant else None}, inspector or self.inspector)

    def conduct(self, facility, findings=("인력 배치기준 미달", "소방훈련 기록 없음"), due_on=None, kind="regular",
                conducted_on=None, complete=True):
        """An inspection of ``facility`` by the city, planned and conducted through the services
        with a copy of the default checklist, every item compliant except the first ``len(findings)``,
        one finding each requiring a corrective action due ``due_on`` (in 30 days unless given).
        Returns (inspection, findings, actions) as public ids."""
        from hanaro.core import clock
        from datetime import timedelta

        from hanaro.oversight import checklists, inspections, service

        conducted_on = conducted_on or clock.today()
        with self.acting(self.city, self.inspector):
            facility = service.get_facility_or_404(facility.public_id)
            template = checklists.copy_default(facility.facility_type.value, self.inspector)
            inspection = inspections.plan(facility, {"kind": kind, "planned_on": conducted_on,
                                                     "inspectors": [self.inspector.public_id],
                                                     "template": template.public_id}, self.inspector)
            inspections.start(inspection, {"conducted_on": conducted_on}, self.inspector)
            items = inspections.items(inspection)
            inspections.record_results(inspection, {i.position: {"result": "compliant"} for i in items}, self.inspector)
            made = [inspections.add_finding(inspection, {
                "item": n, "description": text, "requires_action": True, "requirement": f"{text} 시정",
                "due_on": due_on or conducted_on + timedelta(days=30)}, self.inspector)
                for n, text in enumerate(findings, 1)]
            if complete:
                inspections.complete(inspection, {"summary": "전반적으로 양호"}, self.inspector)
            return inspection.public_id, [f.public_id for f in made], [f.action.public_id for f in made]


Factory.oversight_world = lambda self: OversightWorld(self)
