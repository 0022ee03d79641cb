"""Rules for clients, households, consents and the access grants consents back. Callers commit."""
from __future__ import annotations

from datetime import date, datetime, time, timezone

from flask import abort
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from ..core import clock, uploads
from ..core.db import db, utcnow
from ..core.paging import Page, Paging, fetch_page
from ..core.rules import RuleViolation
from ..notifications.service import notify
from ..tenancy import context
from ..tenancy.models import Tenant
from . import rrn
from .models import (
    Client,
    ClientAccessGrant,
    Consent,
    ConsentPurpose,
    ConsentScope,
    GrantReason,
    GrantStatus,
    Household,
    Relationship,
    VitalStatus,
)

MAX_EVIDENCE_BYTES = 5 * 1024 * 1024


# -- loading ---------------------------------------------------------------------------------

def get_client_or_404(public_id: str) -> Client:
    client = db.session.scalar(select(Client).where(Client.public_id == public_id))
    if client is None:
        abort(404)
    return client


def own_client_or_404(public_id: str) -> Client:
    """A client the active tenant owns (for changes: collaborators only read)."""
    client = get_client_or_404(public_id)
    if client.tenant_id != context.current_tenant_id():
        abort(404)
    return client


def get_household_or_404(public_id: str) -> Household:
    household = db.session.scalar(
        select(Household).where(Household.public_id == public_id, Household.tenant_id == context.current_tenant_id())
    )
    if household is None:
        abort(404)
    return household


PER_PAGE = 50


def search_clients(text: str | None = None, limit: int = PER_PAGE) -> list[Client]:
    """The active tenant's own clients by name, masked number prefix (900101-1) or full number."""
    return list(db.session.scalars(_own_clients(text).order_by(Client.name, Client.id).limit(limit)))


def client_page(text: str | None, wanted: Paging) -> Page:
    """One page of ``search_clients`` (by name, then id), with its capped count."""
    return fetch_page(_own_clients(text).order_by(Client.name, Client.id), wanted)


def _own_clients(text: str | None):
    query = select(Client).where(Client.tenant_id == context.current_tenant_id())
    text = (text or "").strip()
    return query.where(_text_filter(text)) if text else query


def _text_filter(text: str):
    try:
        return Client.rrn_blind_index == rrn.blind_index(rrn.parse(text))
    except rrn.InvalidRRN:
        pass
    if text[:1].isdigit():
        return Client.rrn_masked.startswith(text.rstrip("*"))
    return Client.name.contains(text)


# -- registering -----------------------------------------------------------------------------

def existing_by_rrn(number: str | None) -> Client | None:
    """The active tenant's client with this resident number, if any (never another tenant's)."""
    if not number:
        return None
    index = rrn.blind_index(rrn.parse(number))
    return db.session.scalar(
        select(Client).where(Client.tenant_id == context.current_tenant_id(), Client.rrn_blind_index == index)
    )


def register_client(data: dict, actor) -> tuple[Client, bool]:
    """Create a client, or return the existing one with the same resident number (True)."""
    parsed = rrn.parse(data["rrn"]) if data.get("rrn") else None
    if parsed:
        existing = existing_by_rrn(data["rrn"])
        if existing is not None:
            return existing, True
        _check_rrn_matches(parsed, data)
    client = Client(
        name=data["name"],
        birth_date=data["birth_date"],
        sex=data["sex"],
        phone=data.get("phone"),
        address=data.get("address"),
        dong_code=data.get("dong_code"),
        created_by_user_id=actor.id,
    )
    if parsed:
        _store_rrn(client, parsed)
    db.session.add(client)
    db.session.flush()
    household = _household_for_new_client(client, data)
    if household is not None:
        move_to_household(client, household, data.get("household_relationship") or Relationship.HEAD)
    return client, False


def _check_rrn_matches(parsed: rrn.ParsedRRN, data: dict) -> None:
    if parsed.birth_date != data["birth_date"]:
        raise RuleViolation(_l("주민등록번호의 생년월일과 입력한 생년월일이 다릅니다."), field="rrn")
    if parsed.sex != str(data["sex"]):
        raise RuleViolation(_l("주민등록번호의 성별과 입력한 성별이 다릅니다."), field="rrn")


def _store_rrn(client: Client, parsed: rrn.ParsedRRN) -> None:
    client.rrn_encrypted = rrn.encrypt(parsed)
    client.rrn_blind_index = rrn.blind_index(parsed)
    client.rrn_masked = parsed.masked


def _household_for_new_client(client: Client, data: dict) -> Household | None:
    if data.get("household"):
        return get_household_or_404(data["household"])
    if data.get("new_household", True):
        return new_household_for(client)
    return None


def update_client(client: Client, data: dict) -> None:
    for field in ("name", "phone", "address", "dong_code"):
        if field in data:
            setattr(client, field, data[field])
    if data.get("rrn"):
        parsed = rrn.parse(data["rrn"])
        other = existing_by_rrn(data["rrn"])
        if other is not None and other.id != client.id:
            raise RuleViolation(_l("같은 주민등록번호의 대상자가 이미 있습니다."), field="rrn")
        _check_rrn_matches(parsed, {"birth_date": client.birth_date, "sex": client.sex})
        _store_rrn(client, parsed)
    db.session.flush()


def set_vital_status(client: Client, status: VitalStatus, on: date | None) -> None:
    if status is not VitalStatus.ALIVE and on is None:
        raise RuleViolation(_l("사망 또는 전출 날짜를 입력하세요."), field="vital_status_on")
    if on is not None and on > clock.today():
        raise RuleViolation(_l("미래 날짜는 입력할 수 없습니다."), field="vital_status_on")
    client.vital_status = status
    client.vital_status_on = on if status is not VitalStatus.ALIVE else None
    db.session.flush()


# -- households --------------------------------------------------------------------------------

def move_to_household(client: Client, household: Household, relationship) -> None:
    relationship = Relationship(relationship)
    if relationship is Relationship.HEAD:
        current_head = next(
            (m for m in household.members if m.household_relationship is Relationship.HEAD and m.id != client.id), None
        )
        if current_head is not None:
            raise RuleViolation(_l("이 가구에는 이미 가구주가 있습니다."), field="household_relationship")
    previous = client.household
    client.household = household
    client.household_relationship = relationship
    db.session.flush()
    if previous is not None and previous.id != household.id and not previous.members:
        db.session.delete(previous)  # an empty household has nothing left to describe
        db.session.flush()


def households_of_active_tenant(limit: int = 200) -> list[Household]:
    return list(
        db.session.scalars(
            select(Household).where(Household.tenant_id == context.current_tenant_id()).order_by(Household.name).limit(limit)
        )
    )


# -- consent ---------------------------------------------------------------------------------------

def record_consent(client: Client, data: dict, actor, evidence=None) -> Consent:
    if data["expires_on"] is not None and data["expires_on"] < data["granted_on"]:
        raise RuleViolation(_l("만료일은 동의일 이후여야 합니다."), field="expires_on")
    if data["granted_on"] > clock.today():
        raise RuleViolation(_l("동의일은 오늘 이후일 수 없습니다."), field="granted_on")
    scope = ConsentScope(data["scope"])
    tenant_ids = _consent_tenants(scope, data.get("tenants") or [])
    if not data.get("evidence_reference") and evidence is None:
        raise RuleViolation(_l("동의서 파일을 올리거나 문서번호를 입력하세요."), field="evidence_reference")
    consent = Consent(
        client_id=client.id,
        scope=scope,
        tenant_ids=tenant_ids,
        purposes=sorted(set(data["purposes"])),
        includes_health=bool(data.get("includes_health")),
        granted_on=data["granted_on"],
        expires_on=data["expires_on"],
        recorded_by_user_id=actor.id,
        evidence_reference=data.get("evidence_reference"),
    )
    if evidence is not None:
        _attach_evidence(consent, evidence)
    db.session.add(consent)
    db.session.flush()
    return consent


def _consent_tenants(scope: ConsentScope, codes: list[str]) -> list[int]:
    if scope is not ConsentScope.TENANTS:
        return []
    if not codes:
        raise RuleViolation(_l("동의 범위가 '지정한 기관'이면 기관을 하나 이상 고르세요."), field="tenants")
    tenants = list(db.session.scalars(select(Tenant).where(Tenant.code.in_(codes))))
    if len(tenants) != len(set(codes)):
        raise RuleViolation(_l("목록에 있는 기관을 고르세요."), field="tenants")
    return sorted(t.id for t in tenants)


def _attach_evidence(consent: Consent, evidence) -> None:
    """The signed form, typed by its content: the browser's declared type is never trusted."""
    filename, content = uploads.read(evidence, MAX_EVIDENCE_BYTES)
    upload = uploads.check(content, filename, uploads.SIGNED_FORMS, field="evidence_file",
                           max_bytes=MAX_EVIDENCE_BYTES)
    consent.evidence_filename = upload.name or "consent"
    consent.evidence_content_type = upload.content_type
    consent.evidence_content = content


def evidence_kind(consent: Consent) -> uploads.Kind | None:
    """The evidence's kind as its content says: rows stored before uploads were typed by content
    carry whatever type the browser declared, which is never served."""
    kind = uploads.detect(consent.evidence_content or b"")
    return kind if kind and kind.name in uploads.SIGNED_FORMS else None


def get_consent_or_404(client: Client, public_id: str) -> Consent:
    consent = db.session.scalar(
        select(Consent).where(Consent.public_id == public_id, Consent.client_id == client.id,
                              Consent.tenant_id == context.current_tenant_id())
    )
    if consent is None:
        abort(404)
    return consent


def consents_of(client: Client) -> list[Consent]:
    return list(db.session.scalars(
        select(Consent).where(Consent.client_id == client.id).order_by(Consent.granted_on.desc(), Consent.id.desc())
    ))


def listed_tenant_names(consents: list[Consent]) -> dict[int, list[str]]:
    """For each consent that lists organisations, their names (one query for all consents)."""
    ids = {tenant_id for consent in consents for tenant_id in consent.tenant_ids or ()}
    names = dict(db.session.execute(select(Tenant.id, Tenant.name).where(Tenant.id.in_(ids))).all()) if ids else {}
    return {consent.id: [names[t] for t in consent.tenant_ids if t in names] for consent in consents if consent.tenant_ids}


def covers(consent: Consent, client: Client, tenant: Tenant, purpose: ConsentPurpose, day: date,
           health: bool = False) -> bool:
    if not consent.is_valid_on(day) or purpose.value not in consent.purposes:
        return False
    if health and not consent.includes_health:
        return False
    if consent.scope is ConsentScope.TENANTS:
        return tenant.id in consent.tenant_ids
    if consent.scope is ConsentScope.REGION:
        owner = db.session.get(Tenant, client.tenant_id)
        return owner.province_code is not None and owner.province_code == tenant.province_code
    return purpose is ConsentPurpose.CASE_COLLABORATION  # CASE_TEAM: whoever joins the team


def covering_consent(client: Client, tenant: Tenant, purpose: ConsentPurpose, health: bool = False) -> Consent | None:
    """The newest valid consent of ``client`` that covers sharing with ``tenant`` for ``purpose``."""
    today = clock.today()
    for consent in consents_of(client):
        if covers(consent, client, tenant, purpose, today, health):
            return consent
    return None


def withdraw_consent(consent: Consent, reason: str, actor) -> list[int]:
    """Withdraw at once: grants it backs are revoked, case memberships resting on it end, and the
    tenants that lose access are notified. Returns those tenants' ids."""
    if consent.withdrawn_at is not None:
        raise RuleViolation(_l("이미 철회된 동의입니다."))
    consent.withdrawn_at = utcnow()
    consent.withdrawn_reason = reason
    affected = revoke_grants(consent_id=consent.id, reason="consent_withdrawn")
    from ..cases import service as cases  # cases depend on clients, not the other way round

    affected |= cases.end_memberships_for_withdrawn_consent(consent)
    from ..referrals import service as referrals

    affected |= set(referrals.on_consent_withdrawn(consent))
    from ..campaigns import service as campaigns

    affected |= set(campaigns.on_consent_withdrawn(consent))
    for tenant_id in sorted(affected):
        notify(
            tenant_id,
            kind="consent_withdrawn",
            title=str(_l("대상자의 정보제공 동의가 철회되어 공유가 중단되었습니다.")),
            body=str(_l("공유받던 대상자 정보와 사례를 더 이상 볼 수 없습니다. 자세한 내용은 의뢰 기관에 문의하세요.")),
        )
    db.session.flush()
    return sorted(affected)


# -- access grants --------------------------------------------------------------------------------

def _end_of(day: date | None) -> datetime | None:
    return datetime.combine(day, time.max, tzinfo=timezone.utc) if day else None


def grant_access(client: Client, grantee_tenant_id: int, consent: Consent, reason: GrantReason,
                 case_id: int | None = None, status: GrantStatus = GrantStatus.PENDING) -> ClientAccessGrant:
    grant = ClientAccessGrant(
        tenant_id=client.tenant_id,
        client_id=client.id,
        grantee_tenant_id=grantee_tenant_id,
        consent_id=consent.id,
        reason=reason,
        case_id=case_id,
        status=status,
        includes_health=consent.includes_health,
        expires_at=_end_of(consent.expires_on),
    )
    db.session.add(grant)
    db.session.flush()
    return grant


def set_grant_status(grant: ClientAccessGrant, status: GrantStatus, reason: str | None = None) -> None:
    grant.status = status
    if status is GrantStatus.REVOKED:
        grant.revoked_at = utcnow()
        grant.revoked_reason = reason
    db.session.flush()


def revoke_grants(reason: str, consent_id: int | None = None, case_id: int | None = None,
                  grantee_tenant_id: int | None = None) -> set[int]:
    """Revoke matching live grants; returns the grantee tenant ids that lost access."""
    query = select(ClientAccessGrant).where(ClientAccessGrant.status != GrantStatus.REVOKED)
    if consent_id is not None:
        query = query.where(ClientAccessGrant.consent_id == consent_id)
    if case_id is not None:
        query = query.where(ClientAccessGrant.case_id == case_id)
    if grantee_tenant_id is not None:
        query = query.where(ClientAccessGrant.grantee_tenant_id == grantee_tenant_id)
    affected = set()
    for grant in db.session.scalars(query):
        if grant.status is GrantStatus.ACTIVE:
            affected.add(grant.grantee_tenant_id)
        set_grant_status(grant, GrantStatus.REVOKED, reason)
    return affected


def grant_of(client: Client, tenant_id: int, case_id: int | None = None) -> ClientAccessGrant | None:
    """The active grant through which ``tenant_id`` sees ``client`` (None for the owner); with
    ``case_id``, the one for that case. Of several, one that includes health information."""
    query = select(ClientAccessGrant).where(
        ClientAccessGrant.client_id == client.id,
        ClientAccessGrant.grantee_tenant_id == tenant_id,
        ClientAccessGrant.status == GrantStatus.ACTIVE,
        or_(ClientAccessGrant.expires_at.is_(None), ClientAccessGrant.expires_at > utcnow()),
    )
    if case_id is not None:
        query = query.where(ClientAccessGrant.case_id == case_id)
    return db.session.scalar(query.order_by(ClientAccessGrant.includes_health.desc(), ClientAccessGrant.id).limit(1))


def new_household_for(client: Client) -> Household:
    household = Household(name=f"{client.name} 가구", address=client.address, dong_code=client.dong_code)
    db.session.add(household)
    db.session.flush()
    return household
