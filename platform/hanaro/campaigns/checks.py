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
    active = {n.id: n for n in nominations}
    summary = _apply(campaign, active, found, lambda nomination_id, kind: nomination_id in active)
    summary.registry_available = getattr(registry, "available", True)
    campaign.checked_at = utcnow()
    db.session.flush()
    return summary


def recheck_nominee(campaign: Campaign, nomination_id: int) -> None:
    """After one nomination: the flags it can change, at the cost of its own rows, not the
    campaign's. Its registry and concentration flags; duplicates for it and the nominations sharing
    a household key with it; the quota flags of its dong and of its nominator where a quota
    applies (their order may move). The same flags :func:`recheck` would set for these; the other
    nominations' flags cannot have changed. Runs as the organiser."""
    nominee = db.session.get(Nomination, nomination_id)
    if nominee is None or nominee.campaign_id != campaign.id or not nominee.is_active:
        return
    registry = _registry()
    sharing = _sharing_keys(campaign.id, nominee.id)
    groups = {nominee.dong_code: _active(campaign.id, Nomination.dong_code == nominee.dong_code)
              } if nominee.dong_code in (campaign.dong_quotas or {}) else {}
    quota = _nominator_quota(campaign.id, nominee.nominator_tenant_id)
    theirs = (_active(campaign.id, Nomination.nominator_tenant_id == nominee.nominator_tenant_id)
              if quota is not None else [])
    evaluated = {(nominee.id, kind) for kind in FlagKind}  # all its own, whatever it was before a resubmit
    evaluated |= {(n, FlagKind.DUPLICATE) for n in sharing}
    evaluated |= {(n.id, FlagKind.OVER_DONG_QUOTA) for group in groups.values() for n in group}
    evaluated |= {(n.id, FlagKind.OVER_NOMINATOR_QUOTA) for n in theirs}
    found: dict[tuple[int, FlagKind], dict] = {}
    found.update({(n, FlagKind.DUPLICATE): {} for n in duplicate_groups(campaign.id, sharing)})
    found.update(_registry_flags(campaign, [nominee], registry))
    found.update(_concentration(campaign, nominee.id))
    found.update(_dong_quota_flags(campaign, groups))
    found.update(_nominator_quota_flags({nominee.nominator_tenant_id: quota} if quota is not None else {}, theirs))
    active = {nominee.id: nominee, **{n.id: n for group in groups.values() for n in group}, **{n.id: n for n in theirs}}
    active.update({n.id: n for n in db.session.scalars(select(Nomination).where(
        Nomination.id.in_(sorted(sharing - set(active)))))})
    _apply(campaign, active, found, lambda nomination_id, kind: (nomination_id, kind) in evaluated, count=False)
    campaign.checked_at = utcnow()
    db.session.flush()


def _active(campaign_id: int, *where) -> list[Nomination]:
    return list(db.session.scalars(select(Nomination).where(
        Nomination.campaign_id == campaign_id, Nomination.status.in_([s.value for s in ACTIVE_NOMINATION]), *where)))


def _sharing_keys(campaign_id: int, nomination_id: int) -> set[int]:
    """The nomination and the active ones sharing any household key with it (any nominator)."""
    digests = select(NominationKey.digest).where(NominationKey.nomination_id == nomination_id)
    sharing = {n for n, _, _ in db.session.execute(_active_keys(campaign_id).where(NominationKey.digest.in_(digests)))}
    return sharing | {nomination_id}


def _nominator_quota(campaign_id: int, nominator_id: int) -> int | None:
    return db.session.scalar(select(Invitation.quota).where(
        Invitation.campaign_id == campaign_id, Invitation.nominator_tenant_id == nominator_id))


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


def duplicate_groups(campaign_id: int, only: set[int] | None = None) -> dict[int, set[int]]:
    """For each active nomination (of ``only``, when given), the active nominations of *other*
    nominators sharing a key."""
    keys = _active_keys(campaign_id)
    if only is not None:
        keys = keys.where(NominationKey.digest.in_(
            select(NominationKey.digest).where(NominationKey.nomination_id.in_(sorted(only)))))
    by_digest: dict[str, set[tuple[int, int]]] = defaultdict(set)
    for nomination_id, nominator_id, digest in db.session.execute(keys):
        by_digest[digest].add((nomination_id, nominator_id))
    others: dict[int, set[int]] = defaultdict(set)
    for sharing in by_digest.values():
        for nomination_id, nominator_id in sharing:
            others[nomination_id] |= {n for n, t in sharing if t != nominator_id}
    return {n: found for n, found in others.items() if found and (only is None or n in only)}


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


def _concentration(campaign: Campaign, nomination_id: int | None = None) -> dict:
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
               earlier.delivered_on >= received_since(campaign),
               *([mine.nomination_id == nomination_id] if nomination_id is not None else []))
    ).scalars()
    details = {"days": concentration_days(), "category": campaign.category.value}
    return {(n, FlagKind.CONCENTRATION): dict(details) for n in rows}


def quota_order(nominations: list[Nomination]) -> list[Nomination]:
    """Who comes first when a quota runs out: accepted before undecided, then by priority, then
    by submission time."""
    return sorted(nominations, key=lambda n: (n.status is not NominationStatus.ACCEPTED, PRIORITY_RANK[n.priority],
                                              n.submitted_at, n.id))


def _quota_flags(campaign: Campaign, nominations: list[Nomination]) -> dict:
    by_dong = {dong: [n for n in nominations if n.dong_code == dong] for dong in campaign.dong_quotas or {}}
    quotas = dict(db.session.execute(select(Invitation.nominator_tenant_id, Invitation.quota).where(
        Invitation.campaign_id == campaign.id, Invitation.quota.is_not(None))).all())
    return {**_dong_quota_flags(campaign, by_dong), **_nominator_quota_flags(quotas, nominations)}


def _dong_quota_flags(campaign: Campaign, by_dong: dict[str, list[Nomination]]) -> dict:
    """``by_dong``: every active nomination of each dong given."""
    found = {}
    for dong_code, in_dong in by_dong.items():
        quota = campaign.dong_quotas[dong_code]
        for nomination in quota_order(in_dong)[quota:]:
            found[(nomination.id, FlagKind.OVER_DONG_QUOTA)] = {"dong_code": dong_code, "quota": quota}
    return found


def _nominator_quota_flags(quotas: dict[int, int], nominations: list[Nomination]) -> dict:
    """``nominations``: every active nomination of each nominator in ``quotas`` (others may be there)."""
    found = {}
    ordered = quota_order(nominations)
    for nominator_id, quota in quotas.items():
        theirs = [n for n in ordered if n.nominator_tenant_id == nominator_id]
        for rank, nomination in enumerate(theirs[quota:], start=quota + 1):
            found[(nomination.id, FlagKind.OVER_NOMINATOR_QUOTA)] = {"quota": quota, "rank": rank}
    return found


def _apply(campaign: Campaign, active: dict[int, Nomination], found: dict, evaluated, count: bool = True
           ) -> CheckSummary:
    """Write ``found`` (the flags that hold among those ``evaluated(nomination id, kind)`` says this
    run looked at); an open flag it looked at and did not find is cleared."""
    summary = CheckSummary()
    flags = select(Flag).where(Flag.campaign_id == campaign.id)
    if not count:  # a targeted run reads the flags of the nominations it looked at only
        flags = flags.where(Flag.nomination_id.in_(sorted(active)))
    existing = {(f.nomination_id, f.kind): f for f in db.session.scalars(flags)}
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
        if flag.status is FlagStatus.OPEN and key not in found and evaluated(*key):
            flag.status, flag.resolved_at = FlagStatus.CLEARED, utcnow()
            summary.cleared += 1
    db.session.flush()
    if not count:
        return summary
    summary.open = dict(db.session.execute(
        select(Flag.kind, func.count()).where(Flag.campaign_id == campaign.id, Flag.status == FlagStatus.OPEN.value)
        .group_by(Flag.kind)).all())
    summary.open = {str(kind): n for kind, n in summary.open.items()}
    return summary
