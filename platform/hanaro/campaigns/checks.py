"""The automatic checks on a campaign's nominations, and the household keys they compare.

:func:`recheck` runs as the organiser and (re)computes every flag of the campaign's active
nominations: duplicates across nominators, deceased or moved out per the resident registry,
concentration (the household received from a campaign of the same category within
``CAMPAIGN_CONCENTRATION_DAYS``), and quota overruns per dong and per nominating tenant. It is
idempotent: running it again on the same data yields the same flags; a flag the organiser resolved
stays resolved; an open flag whose condition no longer holds is marked cleared (and reopens if
the condition comes back).
"""
from __future__ import annotations

import hashlib
import hmac
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from ..clients import rrn
from ..core.db import db, utcnow
from ..core.rules import RuleViolation
from ..tenancy.models import Region, Tenant
from .models import (
    ACTIVE_NOMINATION, PRIORITY_RANK, Campaign, DeliveryStatus, Flag, FlagKind, FlagStatus, Invitation, KeyKind,
    Nomination, NominationKey, NominationStatus,
)
from .resident_registry import Change, resident_registry

# -- household keys ------------------------------------------------------------------------------

_ADDRESS_NOISE = re.compile(r"[\s,.()·\-]+")


def _key(organiser_id: int) -> bytes:
    # One key per organiser: its campaigns compare with each other (concentration), nobody
    # else's digests, nor clients.rrn_blind_index, can be joined to them.
    return rrn.derived_key(b"campaign-household/" + str(organiser_id).encode())


def _digest(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def household_keys(organiser_id: int, client, members, dong_code: str, address: str | None) -> list[tuple[KeyKind, str]]:
    """Digests for the nominee's resident number, the other members' and the household address.
    A nominee's digest equals the same person's as a member elsewhere (same input, same key)."""
    key = _key(organiser_id)
    keys = []
    if client.rrn_blind_index:
        keys.append((KeyKind.PERSON, _digest(key, "rrn:" + client.rrn_blind_index)))
    for member in members:
        if member.id != client.id and member.rrn_blind_index:
            keys.append((KeyKind.MEMBER, _digest(key, "rrn:" + member.rrn_blind_index)))
    normalised = _ADDRESS_NOISE.sub("", (address or "")).lower()
    if normalised:
        keys.append((KeyKind.ADDRESS, _digest(key, f"address:{dong_code}|{normalised}")))
    return list(dict.fromkeys(keys))


# -- area ------------------------------------------------------------------------------------------

def within(region_code: str | None, area_code: str | None) -> bool:
    """Is ``region_code`` the area or inside it (following the region tree)?"""
    if not region_code or not area_code:
        return False
    region = db.session.get(Region, region_code)
    while region is not None:
        if region.code == area_code:
            return True
        region = region.parent
    return False


# -- the checks ------------------------------------------------------------------------------------

@dataclass
class CheckSummary:
    open: dict[str, int] = field(default_factory=dict)  # open flags per kind after the run
    new: int = 0  # flags found (or found again) by this run
    cleared: int = 0  # open flags that no longer apply
    registry_available: bool = True


def recheck(campaign: Campaign) -> CheckSummary:
    """(Re)compute the campaign's flags. Runs as the organiser (the caller makes sure)."""
    nominations = list(db.session.scalars(select(Nomination).where(
        Nomination.campaign_id == campaign.id, Nomination.status.in_([s.value for s in ACTIVE_NOMINATION]))))
    registry = _registry()
    found: dict[tuple[int, FlagKind], dict] = {}
    found.update(_duplicates(campaign))
    found.update(_registry_flags(campaign, nominations, registry))
    found.update(_concentration(campaign))
    found.update(_quota_flags(campaign, nominations))
    summary = _apply(campaign, {n.id: n for n in nominations}, found)
    summary.registry_available = getattr(registry, "available", True)
    campaign.checked_at = utcnow()
    db.session.flush()
    return summary


def _registry():
    try:
        return resident_registry()
    except OSError:
        raise RuleViolation(_l("주민등록 변동 자료를 읽을 수 없어 점검하지 못했습니다. 관리자에게 문의하세요.")) from None


def _active_keys(campaign_id: int):
    return (select(NominationKey.nomination_id, NominationKey.nominator_tenant_id, NominationKey.digest)
            .join(Nomination, Nomination.id == NominationKey.nomination_id)
            .where(NominationKey.campaign_id == campaign_id,
                   Nomination.status.in_([s.value for s in ACTIVE_NOMINATION])))


def duplicate_groups(campaign_id: int) -> dict[int, set[int]]:
    """For each active nomination, the active nominations of *other* nominators sharing a key."""
    by_digest: dict[str, set[tuple[int, int]]] = defaultdict(set)
    for nomination_id, nominator_id, digest in db.session.execute(_active_keys(campaign_id)):
        by_digest[digest].add((nomination_id, nominator_id))
    others: dict[int, set[int]] = defaultdict(set)
    for sharing in by_digest.values():
        for nomination_id, nominator_id in sharing:
            others[nomination_id] |= {n for n, t in sharing if t != nominator_id}
    return {n: found for n, found in others.items() if found}


def _duplicates(campaign: Campaign) -> dict:
    # No detail: the nominating tenant reads its flags, and must not learn who else nominated.
    return {(n, FlagKind.DUPLICATE): {} for n in duplicate_groups(campaign.id)}


def _registry_flags(campaign: Campaign, nominations: list[Nomination], registry) -> dict:
    area = db.session.get(Tenant, campaign.tenant_id).region_code
    found = {}
    for nomination in nominations:
        if not nomination.rrn_encrypted:
            continue
        change = registry.latest_change(rrn.decrypt(nomination.rrn_encrypted))
        if change is None:
            continue
        if change.change is Change.DECEASED:
            found[(nomination.id, FlagKind.DECEASED)] = {"on": change.on.isoformat()}
        elif not within(change.region_code, area):
            found[(nomination.id, FlagKind.MOVED_OUT)] = {"on": change.on.isoformat()}
    return found


def concentration_days() -> int:
    return int(current_app.config.get("CAMPAIGN_CONCENTRATION_DAYS", 365))


def received_since(campaign: Campaign):
    """The first delivery date that counts as "recently received" for this campaign."""
    return campaign.opens_on - timedelta(days=concentration_days())


def _concentration(campaign: Campaign) -> dict:
    """Active nominations whose household (any key) was delivered a campaign of the same category
    by this organiser since :func:`received_since`."""
    mine, theirs = aliased(NominationKey), aliased(NominationKey)
    earlier, other_campaign = aliased(Nomination), aliased(Campaign)
    rows = db.session.execute(
        select(mine.nomination_id).distinct()
        .join(Nomination, Nomination.id == mine.nomination_id)
        .join(theirs, (theirs.tenant_id == mine.tenant_id) & (theirs.digest == mine.digest))
        .join(earlier, earlier.id == theirs.nomination_id)
        .join(other_campaign, other_campaign.id == earlier.campaign_id)
        .where(mine.campaign_id == campaign.id, Nomination.status.in_([s.value for s in ACTIVE_NOMINATION]),
               other_campaign.id != campaign.id, other_campaign.category == campaign.category,
               earlier.delivery_status == DeliveryStatus.DELIVERED.value,
               earlier.delivered_on >= received_since(campaign))
    ).scalars()
    details = {"days": concentration_days(), "category": campaign.category.value}
    return {(n, FlagKind.CONCENTRATION): dict(details) for n in rows}


def quota_order(nominations: list[Nomination]) -> list[Nomination]:
    """Who comes first when a quota runs out: accepted before undecided, then by priority, then
    by submission time."""
    return sorted(nominations, key=lambda n: (n.status is not NominationStatus.ACCEPTED, PRIORITY_RANK[n.priority],
                                              n.submitted_at, n.id))


def _quota_flags(campaign: Campaign, nominations: list[Nomination]) -> dict:
    found = {}
    ordered = quota_order(nominations)
    for dong_code, quota in (campaign.dong_quotas or {}).items():
        in_dong = [n for n in ordered if n.dong_code == dong_code]
        for nomination in in_dong[quota:]:
            found[(nomination.id, FlagKind.OVER_DONG_QUOTA)] = {"dong_code": dong_code, "quota": quota}
    quotas = dict(db.session.execute(select(Invitation.nominator_tenant_id, Invitation.quota).where(
        Invitation.campaign_id == campaign.id, Invitation.quota.is_not(None))).all())
    for nominator_id, quota in quotas.items():
        theirs = [n for n in ordered if n.nominator_tenant_id == nominator_id]
        for rank, nomination in enumerate(theirs[quota:], start=quota + 1):
            found[(nomination.id, FlagKind.OVER_NOMINATOR_QUOTA)] = {"quota": quota, "rank": rank}
    return found


def _apply(campaign: Campaign, active: dict[int, Nomination], found: dict) -> CheckSummary:
    summary = CheckSummary()
    existing = {(f.nomination_id, f.kind): f for f in db.session.scalars(
        select(Flag).where(Flag.campaign_id == campaign.id))}
    for (nomination_id, kind), details in found.items():
        flag = existing.get((nomination_id, kind))
        if flag is None:
            db.session.add(Flag(tenant_id=campaign.tenant_id, campaign_id=campaign.id, nomination_id=nomination_id,
                                nominator_tenant_id=active[nomination_id].nominator_tenant_id, kind=kind,
                                details=details))
            summary.new += 1
        elif flag.status is FlagStatus.CLEARED:
            flag.status, flag.details, flag.found_at, flag.resolved_at = FlagStatus.OPEN, details, utcnow(), None
            summary.new += 1
        elif flag.status is FlagStatus.OPEN and flag.details != details:
            flag.details = details
    for key, flag in existing.items():
        if flag.status is FlagStatus.OPEN and key not in found and flag.nomination_id in active:
            flag.status, flag.resolved_at = FlagStatus.CLEARED, utcnow()
            summary.cleared += 1
    db.session.flush()
    summary.open = dict(db.session.execute(
        select(Flag.kind, func.count()).where(Flag.campaign_id == campaign.id, Flag.status == FlagStatus.OPEN.value)
        .group_by(Flag.kind)).all())
    summary.open = {str(kind): n for kind, n in summary.open.items()}
    return summary
