"""Rules of resource distribution campaigns: the organiser's campaign and its states, invited
tenants' nominations under consent, the checks, the organiser's review, allocation, results
notified to the nominating tenants, deliveries. Callers commit.

A nominating tenant never reads another's nomination. The two answers it needs about the others
— "is this household already nominated by someone else?" and "how much stock is already
nominated?" — come from :func:`nominated_elsewhere` and :func:`_units_nominated`, which ask one
aggregate question with the organiser's authority and return a boolean or a number, never rows.

Notification titles name organisations only (titles are e-mailed)."""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from types import SimpleNamespace

from flask import abort
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from ..clients.models import Client, ConsentPurpose, Household, VitalStatus
from ..core import clock, jobs
from ..core.db import db, utcnow
from ..core.rules import RuleViolation
from ..notifications.service import notify
from ..tenancy import context
from ..tenancy.models import Region, Tenant
from . import checks, states
from .models import (
    ACTIVE_NOMINATION, CATEGORY_LABELS, Campaign, CampaignStatus, Category, DeliveryStatus, Flag, FlagKind,
    FlagStatus, Invitation, Nomination, NominationKey, NominationStatus, Priority, RejectReason,
)
from .states import Side

# -- loading -----------------------------------------------------------------------------------------

def get_campaign_or_404(public_id: str) -> Campaign:
    """A campaign the active tenant organises, or is invited to once it left preparation."""
    campaign = db.session.scalar(select(Campaign).where(Campaign.public_id == public_id))
    if campaign is None:
        abort(404)
    return campaign


def own_campaign_or_404(public_id: str) -> Campaign:
    """A campaign the active tenant organises (for the organiser's screens)."""
    campaign = get_campaign_or_404(public_id)
    if campaign.tenant_id != context.current_tenant_id():
        abort(404)
    return campaign


def get_nomination_or_404(public_id: str) -> Nomination:
    """A nomination the active tenant made, or one of a campaign it organises."""
    nomination = db.session.scalar(select(Nomination).where(Nomination.public_id == public_id))
    if nomination is None:
        abort(404)
    return nomination


def get_flag_or_404(public_id: str) -> Flag:
    """A flag of a campaign the active tenant organises, or on one of its own nominations."""
    flag = db.session.scalar(select(Flag).where(Flag.public_id == public_id))
    if flag is None:
        abort(404)
    return flag


def side_of(campaign: Campaign) -> Side | None:
    tenant_id = context.current_tenant_id()
    if tenant_id == campaign.tenant_id:
        return Side.ORGANISER
    if invitation_of(campaign, tenant_id) is not None:
        return Side.NOMINATOR
    return None


def nomination_side(nomination: Nomination) -> Side | None:
    tenant_id = context.current_tenant_id()
    if tenant_id == nomination.tenant_id:
        return Side.ORGANISER
    if tenant_id == nomination.nominator_tenant_id:
        return Side.NOMINATOR
    return None


def _nominator_side(nomination: Nomination) -> Side | None:
    """The nominating tenant's side even when it also organises the campaign."""
    if nomination.nominator_tenant_id == context.current_tenant_id():
        return Side.NOMINATOR
    return nomination_side(nomination)


def invitation_of(campaign: Campaign, tenant_id: int | None) -> Invitation | None:
    return db.session.scalar(select(Invitation).where(Invitation.campaign_id == campaign.id,
                                                      Invitation.nominator_tenant_id == tenant_id))


def invitations_of(campaign: Campaign) -> list[Invitation]:
    """The organiser sees every invitation; a nominator only its own."""
    return list(db.session.scalars(select(Invitation).options(selectinload(Invitation.nominator))
                                   .where(Invitation.campaign_id == campaign.id).order_by(Invitation.id)))


def campaigns_organised(status: str | None = None) -> list[Campaign]:
    statement = select(Campaign).where(Campaign.tenant_id == context.current_tenant_id())
    if status in {s.value for s in CampaignStatus}:
        statement = statement.where(Campaign.status == status)
    return list(db.session.scalars(statement.order_by(Campaign.opens_on.desc(), Campaign.id.desc())))


def campaigns_invited() -> list[Campaign]:
    """Campaigns the active tenant is invited to nominate for (preparation ones stay hidden)."""
    tenant_id = context.current_tenant_id()
    return list(db.session.scalars(
        select(Campaign).options(selectinload(Campaign.tenant))
        .join(Invitation, Invitation.campaign_id == Campaign.id)
        .where(Invitation.nominator_tenant_id == tenant_id, Campaign.status != CampaignStatus.PREPARATION.value)
        .order_by(Campaign.closes_on.desc(), Campaign.id.desc())))


def invited_to_any() -> bool:
    """Is the active tenant invited to a campaign that left preparation? Asked once per request
    (the main menu)."""
    from flask import g

    if "campaigns_invited" not in g:
        g.campaigns_invited = db.session.scalar(select(invited_to_any_clause())) is True
    return g.campaigns_invited


def invited_to_any_clause():
    """``invited_to_any`` as an EXISTS (the header asks it together with the other menu questions)."""
    return (select(Invitation.id).join(Campaign, Campaign.id == Invitation.campaign_id)
            .where(Invitation.nominator_tenant_id == context.current_tenant_id(),
                   Campaign.status != CampaignStatus.PREPARATION.value).exists())


def nominations_of_client(client: Client) -> list[Nomination]:
    """The active tenant's nominations of one of its clients, newest first (the client page)."""
    return list(db.session.scalars(
        select(Nomination).options(selectinload(Nomination.campaign).selectinload(Campaign.tenant))
        .where(Nomination.client_id == client.id, Nomination.nominator_tenant_id == context.current_tenant_id())
        .order_by(Nomination.submitted_at.desc(), Nomination.id.desc())))


# -- the organiser's campaign ------------------------------------------------------------------------

def create_campaign(data: dict, actor) -> Campaign:
    """A campaign in preparation. ``data``: title, category, resource (public id of an in-kind
    resource, optional), item_description (needed without a resource), sponsor, quantity, unit,
    per_household, eligibility_notes, opens_on, closes_on, nominators ([{"tenant": code,
    "quota": int | None}]), dong_quotas ([{"dong": code, "quota": int}])."""
    campaign = Campaign(created_by_user_id=actor.id if actor else None, status=CampaignStatus.PREPARATION)
    _apply_values(campaign, data, creating=True)
    db.session.add(campaign)
    db.session.flush()
    _set_invitations(campaign, data.get("nominators") or [])
    return campaign


def update_campaign(campaign: Campaign, data: dict, actor) -> None:
    """Everything may change in preparation. Once nominations are open only the closing date
    (not earlier than today), the eligibility notes and the quotas may; after that, nothing."""
    _require_side(campaign, Side.ORGANISER)
    if campaign.status is CampaignStatus.PREPARATION:
        _apply_values(campaign, data, creating=False)
        if "nominators" in data:
            _set_invitations(campaign, data["nominators"] or [])
    elif campaign.status is CampaignStatus.OPEN:
        _update_open(campaign, data)
    else:
        raise RuleViolation(_l("추천 접수가 끝난 캠페인은 고칠 수 없습니다."))
    _flush_or_refuse()


def _update_open(campaign: Campaign, data: dict) -> None:
    if data.get("closes_on") is not None:
        if data["closes_on"] < clock.today():
            raise RuleViolation(_l("마감일은 오늘 이후여야 합니다."), field="closes_on")
        campaign.closes_on = data["closes_on"]
    if "eligibility_notes" in data:
        campaign.eligibility_notes = (data["eligibility_notes"] or "").strip() or None
    if "dong_quotas" in data:
        campaign.dong_quotas = _dong_quotas(data["dong_quotas"] or [])
    if "nominators" in data:
        _set_quotas_only(campaign, data["nominators"] or [])


def _apply_values(campaign: Campaign, data: dict, creating: bool) -> None:
    values = {**_current_values(campaign), **data} if not creating else data
    title = (values.get("title") or "").strip()
    if not title:
        raise RuleViolation(_l("캠페인 이름을 입력하세요."), field="title")
    try:
        category = Category(values.get("category"))
    except ValueError:
        raise RuleViolation(_l("지원 종류를 목록에서 고르세요."), field="category") from None
    resource = _in_kind_resource(values.get("resource"))
    description = (values.get("item_description") or "").strip() or None
    if resource is None and not description:
        raise RuleViolation(_l("배분할 후원 물품을 고르거나 물품 내용을 입력하세요."), field="item_description")
    quantity, per_household = values.get("quantity"), values.get("per_household") or 1
    _check_quantities(quantity, per_household, resource)
    unit = (values.get("unit") or (resource.quantity_unit if resource else "") or "").strip()
    if not unit:
        raise RuleViolation(_l("수량 단위를 입력하세요 (예: 상자, 포기, 장)."), field="unit")
    _check_window(values.get("opens_on"), values.get("closes_on"))
    campaign.title, campaign.category, campaign.resource_id = title, category, resource.id if resource else None
    campaign.item_description, campaign.unit = description, unit
    campaign.sponsor = (values.get("sponsor") or "").strip() or None
    campaign.quantity, campaign.per_household = quantity, per_household
    campaign.eligibility_notes = (values.get("eligibility_notes") or "").strip() or None
    campaign.opens_on, campaign.closes_on = values["opens_on"], values["closes_on"]
    campaign.dong_quotas = _dong_quotas(values.get("dong_quotas") or [])


def _current_values(campaign: Campaign) -> dict:
    from ..resources.models import Resource

    resource = db.session.get(Resource, campaign.resource_id) if campaign.resource_id else None
    return {"title": campaign.title, "category": campaign.category.value, "resource": resource.public_id if resource else None,
            "item_description": campaign.item_description, "sponsor": campaign.sponsor, "quantity": campaign.quantity,
            "unit": campaign.unit, "per_household": campaign.per_household,
            "eligibility_notes": campaign.eligibility_notes, "opens_on": campaign.opens_on,
            "closes_on": campaign.closes_on,
            "dong_quotas": [{"dong": code, "quota": n} for code, n in (campaign.dong_quotas or {}).items()]}


def _in_kind_resource(public_id: str | None):
    from ..resources.models import Resource, ResourceKind

    if not public_id:
        return None
    resource = db.session.scalar(select(Resource).where(Resource.public_id == public_id))
    if resource is None or resource.kind is not ResourceKind.IN_KIND:
        raise RuleViolation(_l("볼 수 있는 후원 물품 자원 중에서 고르세요."), field="resource")
    return resource


def _check_quantities(quantity, per_household, resource) -> None:
    if not isinstance(quantity, int) or quantity < 1:
        raise RuleViolation(_l("배분할 수량을 1 이상으로 입력하세요."), field="quantity")
    if resource is not None and resource.quantity is not None and quantity > resource.quantity:
        raise RuleViolation(_l("배분할 수량이 후원 물품의 재고(%(stock)s%(unit)s)보다 많습니다.",
                               stock=resource.quantity, unit=resource.quantity_unit or ""), field="quantity")
    if not isinstance(per_household, int) or per_household < 1:
        raise RuleViolation(_l("가구당 수량을 1 이상으로 입력하세요."), field="per_household")
    if per_household > quantity:
        raise RuleViolation(_l("가구당 수량이 배분할 수량보다 많습니다."), field="per_household")


def _check_window(opens_on, closes_on) -> None:
    if opens_on is None:
        raise RuleViolation(_l("추천 시작일을 입력하세요."), field="opens_on")
    if closes_on is None:
        raise RuleViolation(_l("추천 마감일을 입력하세요."), field="closes_on")
    if closes_on < opens_on:
        raise RuleViolation(_l("추천 마감일은 시작일 이후여야 합니다."), field="closes_on")
    if closes_on < clock.today():
        raise RuleViolation(_l("추천 마감일은 오늘 이후여야 합니다."), field="closes_on")


def _dong_quotas(rows: list[dict]) -> dict[str, int]:
    quotas: dict[str, int] = {}
    for row in rows:
        code, quota = (row.get("dong") or "").strip(), row.get("quota")
        if not code:
            continue
        if db.session.get(Region, code) is None:
            raise RuleViolation(_l("목록에 있는 읍면동을 고르세요."), field="dong_quotas")
        if not isinstance(quota, int) or quota < 0:
            raise RuleViolation(_l("동별 배정 가구 수는 0 이상으로 입력하세요."), field="dong_quotas")
        if code in quotas:
            raise RuleViolation(_l("같은 읍면동이 두 번 들어 있습니다."), field="dong_quotas")
        quotas[code] = quota
    return quotas


def _nominator_rows(rows: list[dict]) -> dict[int, int | None]:
    """{tenant id: quota} from [{"tenant": code, "quota": int | None}]."""
    wanted: dict[str, int | None] = {}
    for row in rows:
        code, quota = (row.get("tenant") or "").strip(), row.get("quota")
        if not code:
            continue
        if quota is not None and (not isinstance(quota, int) or quota < 0):
            raise RuleViolation(_l("기관별 추천 한도는 0 이상으로 입력하세요."), field="nominators")
        wanted[code] = quota
    tenants = {t.code: t for t in db.session.scalars(select(Tenant).where(Tenant.code.in_(wanted)))} if wanted else {}
    if len(tenants) != len(wanted) or any(not t.active for t in tenants.values()):
        raise RuleViolation(_l("목록에 있는 이용 중인 기관을 고르세요."), field="nominators")
    return {tenants[code].id: quota for code, quota in wanted.items()}


def _set_invitations(campaign: Campaign, rows: list[dict]) -> None:
    wanted = _nominator_rows(rows)
    current = {i.nominator_tenant_id: i for i in invitations_of(campaign)}
    for tenant_id, invitation in current.items():
        if tenant_id not in wanted:
            db.session.delete(invitation)
    for tenant_id, quota in wanted.items():
        if tenant_id in current:
            current[tenant_id].quota = quota
        else:
            db.session.add(Invitation(campaign_id=campaign.id, nominator_tenant_id=tenant_id, quota=quota))
    db.session.flush()


def _set_quotas_only(campaign: Campaign, rows: list[dict]) -> None:
    """While nominations are open the invited tenants stay; only their quotas change."""
    wanted = _nominator_rows(rows)
    current = {i.nominator_tenant_id: i for i in invitations_of(campaign)}
    if set(wanted) - set(current):
        raise RuleViolation(_l("추천 접수 중에는 추천 기관을 바꿀 수 없습니다. 한도만 고칠 수 있습니다."), field="nominators")
    for tenant_id, quota in wanted.items():
        current[tenant_id].quota = quota


# -- campaign states ------------------------------------------------------------------------------------

def open_nominations(campaign: Campaign, actor) -> None:
    """준비 → 추천 접수; each invited tenant is told (in-app and e-mail)."""
    states.check_campaign(campaign.status, side_of(campaign), "open")
    invitations = invitations_of(campaign)
    if not invitations:
        raise RuleViolation(_l("추천 기관을 한 곳 이상 초대하세요."), field="nominators")
    _check_window(campaign.opens_on, campaign.closes_on)
    _move(campaign, "open")
    campaign.opened_at = utcnow()
    organiser = campaign.tenant.name
    for invitation in invitations:
        notify(invitation.nominator_tenant_id, kind="campaign_invitation",
               title=str(_l("자원배분 추천 요청이 왔습니다 (주관: %(organiser)s)", organiser=organiser)),
               body=str(_l("추천 기간: %(opens)s ~ %(closes)s", opens=campaign.opens_on.isoformat(),
                           closes=campaign.closes_on.isoformat())),
               link=_link(campaign), dedupe_key=f"campaign-invitation:{campaign.public_id}")


def close_nominations(campaign: Campaign, actor) -> checks.CheckSummary:
    """추천 접수 → 검토 (the organiser may close early); the checks run once more."""
    states.check_campaign(campaign.status, side_of(campaign), "review")
    _move(campaign, "review")
    return checks.recheck(campaign)


def finalise(campaign: Campaign, actor, allocations: dict[str, int] | None = None) -> dict[str, int]:
    """검토 → 확정: every nomination decided, no open flag on a selected one, quantities within
    stock. ``allocations`` ({nomination public id: units}) overrides the units asked for.
    Each nominating tenant is told its results. Returns {"households": n, "units": n}."""
    states.check_campaign(campaign.status, side_of(campaign), "confirm")
    checks.recheck(campaign)
    nominations = _nominations(campaign)
    undecided = [n for n in nominations if n.status is NominationStatus.SUBMITTED]
    if undecided:
        raise RuleViolation(_l("아직 선정하거나 제외하지 않은 추천이 %(count)s건 있습니다.", count=len(undecided)))
    accepted = [n for n in nominations if n.status is NominationStatus.ACCEPTED]
    if not accepted:
        raise RuleViolation(_l("선정한 가구가 없습니다."))
    flagged = _open_flag_count([n.id for n in accepted])
    if flagged:
        raise RuleViolation(_l("선정한 가구에 확인하지 않은 점검 결과가 %(count)s건 있습니다. 먼저 해결하세요.", count=flagged))
    units = _allocate(campaign, accepted, allocations or {})
    _move(campaign, "confirm")
    campaign.confirmed_at = utcnow()
    _notify_results(campaign, nominations)
    return {"households": len(accepted), "units": units}


def _open_flag_count(nomination_ids: list[int]) -> int:
    return db.session.scalar(select(func.count()).select_from(Flag).where(
        Flag.nomination_id.in_(nomination_ids), Flag.status == FlagStatus.OPEN.value)) or 0


def _allocate(campaign: Campaign, accepted: list[Nomination], allocations: dict[str, int]) -> int:
    chosen = {}
    for nomination in accepted:
        units = allocations.get(nomination.public_id, nomination.quantity)
        if not isinstance(units, int) or units < 1:
            raise RuleViolation(_l("배정 수량은 1 이상이어야 합니다."), field="allocations")
        chosen[nomination] = units
    total = sum(chosen.values())
    if total > campaign.quantity:
        raise RuleViolation(_l("배정 수량 합계(%(total)s%(unit)s)가 재고(%(stock)s%(unit)s)를 넘습니다.",
                               total=total, stock=campaign.quantity, unit=campaign.unit), field="allocations")
    for nomination, units in chosen.items():
        nomination.allocated_quantity = units
    return total


def _notify_results(campaign: Campaign, nominations: list[Nomination]) -> None:
    results: dict[int, dict[str, int]] = {}
    for nomination in nominations:
        if nomination.status in (NominationStatus.ACCEPTED, NominationStatus.REJECTED):
            counts = results.setdefault(nomination.nominator_tenant_id, {"accepted": 0, "rejected": 0})
            counts[nomination.status.value] += 1
    for tenant_id, counts in sorted(results.items()):
        notify(tenant_id, kind="campaign_result",
               title=str(_l("자원배분 추천 결과가 확정되었습니다 (주관: %(organiser)s)", organiser=campaign.tenant.name)),
               body=str(_l("선정 %(accepted)s가구, 제외 %(rejected)s가구", **counts)),
               link=_link(campaign), dedupe_key=f"campaign-result:{campaign.public_id}")


def complete(campaign: Campaign, actor) -> None:
    """확정 → 지급 완료, once every selected household's delivery is recorded."""
    states.check_campaign(campaign.status, side_of(campaign), "complete")
    pending = db.session.scalar(select(func.count()).select_from(Nomination).where(
        Nomination.campaign_id == campaign.id, Nomination.status == NominationStatus.ACCEPTED.value,
        Nomination.delivery_status == DeliveryStatus.PENDING.value))
    if pending:
        raise RuleViolation(_l("지급 결과를 기록하지 않은 가구가 %(count)s곳 있습니다.", count=pending))
    _move(campaign, "complete")
    campaign.completed_at = utcnow()


def _move(campaign: Campaign, action: str) -> None:
    campaign.status = states.CAMPAIGN_TRANSITIONS[action].target
    _flush_or_refuse()


def _flush_or_refuse() -> None:
    """Flush; a concurrent change of the same row (version column) becomes a clean refusal."""
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise RuleViolation(_l("다른 사람이 방금 이 내용을 바꾸었습니다. 화면을 새로 고쳐 지금 상태를 확인하세요.")) from None


def _require_side(campaign: Campaign, side: Side) -> None:
    if side_of(campaign) is not side:
        raise RuleViolation(states.SIDE_REFUSALS[side])


def _link(campaign: Campaign) -> str:
    return f"/campaigns/{campaign.public_id}"


# -- nominating ------------------------------------------------------------------------------------------

@dataclass
class NominationResult:
    nomination: Nomination
    existing: bool  # the same nomination was already there (a double submit): nothing new
    duplicate_elsewhere: bool  # another tenant has nominated the same person or household


DUPLICATE_NOTICE = _l("이미 다른 기관이 추천한 가구입니다.")


def nominate(campaign: Campaign, client: Client, data: dict, actor) -> NominationResult:
    """Nominate an own client (for its household) within the window, under a consent that covers
    the organiser for campaigns. ``data``: reason, priority (urgent/high/normal)."""
    if invitation_of(campaign, context.current_tenant_id()) is None:
        raise RuleViolation(_l("이 캠페인에 추천 기관으로 초대받지 않았습니다."))
    _check_open_for_nominations(campaign)
    reason, priority = _reason_and_priority(data)
    if client.tenant_id != context.current_tenant_id():
        raise RuleViolation(_l("우리 기관 대상자만 추천할 수 있습니다."), field="client")
    previous = _my_nomination_of(campaign, client)
    if previous is not None and previous.is_active:
        return NominationResult(previous, True, nominated_elsewhere(previous))
    if previous is not None and previous.status is NominationStatus.REJECTED:
        raise RuleViolation(_l("이 대상자의 추천은 이미 제외되었습니다. 결과와 사유를 확인하세요."), field="client")
    household, dong_code = _checked_nominee(campaign, client)
    consent = _covering_consent(campaign, client)
    _check_stock(campaign)
    values = dict(reason=reason, priority=priority, quantity=campaign.per_household, dong_code=dong_code,
                  household_id=household.id if household else None, consent_id=consent.id,
                  snapshot=_snapshot(client, household, dong_code), rrn_encrypted=client.rrn_encrypted,
                  created_by_user_id=actor.id if actor else None)
    nomination = _resubmit(previous, values) if previous is not None else _insert(campaign, client, values)
    if nomination is None:  # a concurrent double submit got there first
        nomination = _my_nomination_of(campaign, client)
        return NominationResult(nomination, True, nominated_elsewhere(nomination))
    _store_keys(nomination, client, household, dong_code)
    jobs.after_commit(run_checks_job, campaign.id, nomination.id, tenant_id=campaign.tenant_id)
    return NominationResult(nomination, False, nominated_elsewhere(nomination))


def _check_open_for_nominations(campaign: Campaign) -> None:
    today = clock.today()
    if campaign.status is not CampaignStatus.OPEN or not campaign.opens_on <= today <= campaign.closes_on:
        raise RuleViolation(_l("추천 기간(%(opens)s ~ %(closes)s)이 아니어서 추천할 수 없습니다.",
                               opens=campaign.opens_on.isoformat(), closes=campaign.closes_on.isoformat()))


def _reason_and_priority(data: dict) -> tuple[str, Priority]:
    reason = (data.get("reason") or "").strip()
    if not reason:
        raise RuleViolation(_l("추천 사유를 입력하세요."), field="reason")
    try:
        return reason, Priority(data.get("priority") or Priority.NORMAL)
    except ValueError:
        raise RuleViolation(_l("우선순위를 목록에서 고르세요."), field="priority") from None


def _my_nomination_of(campaign: Campaign, client: Client) -> Nomination | None:
    return db.session.scalar(select(Nomination).where(
        Nomination.campaign_id == campaign.id, Nomination.nominator_tenant_id == context.current_tenant_id(),
        Nomination.client_id == client.id))


def _checked_nominee(campaign: Campaign, client: Client) -> tuple[Household | None, str]:
    if client.vital_status is VitalStatus.DECEASED:
        raise RuleViolation(_l("사망으로 기록된 대상자는 추천할 수 없습니다."), field="client")
    if client.vital_status is VitalStatus.MOVED_OUT:
        raise RuleViolation(_l("전출로 기록된 대상자는 추천할 수 없습니다."), field="client")
    household = client.household
    dong_code = client.dong_code or (household.dong_code if household else None)
    if not dong_code:
        raise RuleViolation(_l("대상자의 거주 읍면동을 먼저 입력하세요."), field="client")
    area = campaign.tenant.region
    if not checks.within(dong_code, area.code):
        raise RuleViolation(_l("주관 기관의 관할 지역(%(area)s) 밖에 사는 대상자는 추천할 수 없습니다.", area=area.name),
                            field="client")
    if household is not None and _household_already_mine(campaign, household, client):
        raise RuleViolation(_l("이 가구는 이미 우리 기관이 추천했습니다."), field="client")
    return household, dong_code


def _household_already_mine(campaign: Campaign, household: Household, client: Client) -> bool:
    return bool(db.session.scalar(select(exists().where(
        Nomination.campaign_id == campaign.id, Nomination.nominator_tenant_id == context.current_tenant_id(),
        Nomination.household_id == household.id, Nomination.client_id != client.id,
        Nomination.status.in_([s.value for s in ACTIVE_NOMINATION])))))


def _covering_consent(campaign: Campaign, client: Client):
    from ..clients import service as clients

    consent = clients.covering_consent(client, campaign.tenant, ConsentPurpose.CAMPAIGN)
    if consent is None:
        raise RuleViolation(_l("대상자의 자원배분 추천 정보제공 동의에 %(tenant)s이(가) 포함되어 있지 않아 추천할 수 없습니다. "
                               "동의를 먼저 받아 등록하세요.", tenant=campaign.tenant.name), field="consent")
    return consent


def _check_stock(campaign: Campaign) -> None:
    if _units_nominated(campaign) + campaign.per_household > campaign.quantity:
        raise RuleViolation(_l("배분할 수량(%(quantity)s%(unit)s)만큼 이미 추천되어 더 추천할 수 없습니다.",
                               quantity=campaign.quantity, unit=campaign.unit))


def _snapshot(client: Client, household: Household | None, dong_code: str) -> dict:
    """What the organiser sees of the nominee, frozen at nominating."""
    region = db.session.get(Region, dong_code)
    return {"client_public_id": client.public_id, "name": client.name, "sex": client.sex_label,
            "birth_date": client.birth_date.isoformat(), "rrn_masked": client.rrn_masked,
            "dong": region.name if region else dong_code,
            "household_size": len(household.members) if household else 1}


def _insert(campaign: Campaign, client: Client, values: dict) -> Nomination | None:
    nomination = Nomination(tenant_id=campaign.tenant_id, campaign_id=campaign.id,
                            nominator_tenant_id=context.current_tenant_id(), client_id=client.id, **values)
    try:
        with db.session.begin_nested():
            db.session.add(nomination)
    except IntegrityError:
        return None
    return nomination


def _resubmit(previous: Nomination, values: dict) -> Nomination:
    """A withdrawn nomination nominated again: the same row, submitted anew."""
    for name, value in values.items():
        setattr(previous, name, value)
    previous.status, previous.withdrawn_at, previous.submitted_at = NominationStatus.SUBMITTED, None, utcnow()
    previous.decision_note, previous.client_data_withdrawn_at = None, None
    for key in db.session.scalars(select(NominationKey).where(NominationKey.nomination_id == previous.id)):
        db.session.delete(key)
    _flush_or_refuse()
    return previous


def _store_keys(nomination: Nomination, client: Client, household: Household | None, dong_code: str) -> None:
    members = household.members if household else [client]
    address = (household.address if household else None) or client.address
    for kind, digest in checks.household_keys(nomination.tenant_id, client, members, dong_code, address):
        db.session.add(NominationKey(tenant_id=nomination.tenant_id, campaign_id=nomination.campaign_id,
                                     nominator_tenant_id=nomination.nominator_tenant_id,
                                     nomination_id=nomination.id, kind=kind, digest=digest))
    db.session.flush()


@contextmanager
def _organiser_authority(campaign_tenant_id: int):
    """Ask one aggregate question as the organiser. The caller's pending rows are flushed under
    its own authority first; nothing loaded inside may be returned (booleans and counts only)."""
    db.session.flush()
    with db.session.no_autoflush, context.acting_as(campaign_tenant_id, None):
        yield


def nominated_elsewhere(nomination: Nomination) -> bool:
    """Has another tenant nominated the same person or household (an active nomination)? The only
    thing a nominating tenant learns about the others."""
    digests = list(db.session.scalars(select(NominationKey.digest).where(
        NominationKey.nomination_id == nomination.id)))
    if not digests or not nomination.is_active:
        return False
    with _organiser_authority(nomination.tenant_id):
        return bool(db.session.scalar(select(exists().where(
            NominationKey.campaign_id == nomination.campaign_id, NominationKey.digest.in_(digests),
            NominationKey.nominator_tenant_id != nomination.nominator_tenant_id,
            Nomination.id == NominationKey.nomination_id,
            Nomination.status.in_([s.value for s in ACTIVE_NOMINATION])))))


def _units_nominated(campaign: Campaign) -> int:
    with _organiser_authority(campaign.tenant_id):
        return db.session.scalar(select(func.coalesce(func.sum(Nomination.quantity), 0)).where(
            Nomination.campaign_id == campaign.id,
            Nomination.status.in_([s.value for s in ACTIVE_NOMINATION]))) or 0


def update_nomination(nomination: Nomination, data: dict, actor) -> None:
    """The nominating tenant changes the reason or priority while nominations are open."""
    if _nominator_side(nomination) is not Side.NOMINATOR:
        raise RuleViolation(states.SIDE_REFUSALS[Side.NOMINATOR])
    _check_open_for_nominations(nomination.campaign)
    if nomination.status is not NominationStatus.SUBMITTED:
        raise RuleViolation(_l("접수 상태의 추천만 고칠 수 있습니다."))
    nomination.reason, nomination.priority = _reason_and_priority(data)
    _flush_or_refuse()


def withdraw(nomination: Nomination, note: str | None, actor) -> None:
    """The nominating tenant takes a nomination back while nominations are open."""
    states.check_nomination(nomination.status, nomination.campaign.status, _nominator_side(nomination), "withdraw")
    nomination.status, nomination.withdrawn_at = NominationStatus.WITHDRAWN, utcnow()
    nomination.decision_note = (note or "").strip() or None
    _flush_or_refuse()
    jobs.after_commit(run_checks_job, nomination.campaign_id, tenant_id=nomination.tenant_id)


def my_nominations(campaign: Campaign) -> list[Nomination]:
    """The active tenant's own nominations in a campaign."""
    return list(db.session.scalars(select(Nomination).where(
        Nomination.campaign_id == campaign.id, Nomination.nominator_tenant_id == context.current_tenant_id())
        .order_by(Nomination.submitted_at, Nomination.id)))


def on_consent_withdrawn(consent) -> list[int]:
    """Consent withdrawn: the organiser loses the nominee's data at once; a nomination still in
    the running is withdrawn. Returns the organisers that lost access (to be told)."""
    nominations = list(db.session.scalars(select(Nomination).where(
        Nomination.consent_id == consent.id, Nomination.client_data_withdrawn_at.is_(None))))
    for nomination in nominations:
        nomination.snapshot, nomination.rrn_encrypted = None, None
        nomination.client_data_withdrawn_at = utcnow()
        if nomination.status is NominationStatus.SUBMITTED or (
                nomination.status is NominationStatus.ACCEPTED
                and nomination.campaign.status in (CampaignStatus.OPEN, CampaignStatus.REVIEW)):
            nomination.status, nomination.withdrawn_at = NominationStatus.WITHDRAWN, utcnow()
        for key in db.session.scalars(select(NominationKey).where(NominationKey.nomination_id == nomination.id)):
            db.session.delete(key)
    db.session.flush()
    return sorted({n.tenant_id for n in nominations})


def run_checks_job(campaign_id: int, nomination_id: int | None = None) -> None:
    """After a nomination changes: the organiser's checks, as the organiser (a job); after a new
    one (``nomination_id``), only what it can change. Run as any other tenant — a nominator reads
    the campaign too — it does nothing."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or campaign.tenant_id != context.current_tenant_id():
        return
    if campaign.status not in (CampaignStatus.OPEN, CampaignStatus.REVIEW):
        return
    if nomination_id is None:
        checks.recheck(campaign)
    else:
        checks.recheck_nominee(campaign, nomination_id)


# -- the organiser's review --------------------------------------------------------------------------------

def run_checks(campaign: Campaign, actor=None) -> checks.CheckSummary:
    """Run the checks again now (the organiser's "다시 점검")."""
    _require_side(campaign, Side.ORGANISER)
    if campaign.status not in (CampaignStatus.OPEN, CampaignStatus.REVIEW):
        raise RuleViolation(_l("점검은 추천 접수나 검토 중에만 할 수 있습니다."))
    return checks.recheck(campaign)


@dataclass
class NominationFilter:
    status: str | None = None
    dong_code: str | None = None
    nominator: str | None = None  # tenant code
    flagged: bool = False  # only nominations with an open flag


def _nominations(campaign: Campaign) -> list[Nomination]:
    return list(db.session.scalars(select(Nomination).where(Nomination.campaign_id == campaign.id)
                                   .order_by(Nomination.submitted_at, Nomination.id)))


def nominations_of(campaign: Campaign, nomination_filter: NominationFilter | None = None) -> list[Nomination]:
    """The organiser's list (a nominator calling it gets its own nominations only)."""
    f = nomination_filter or NominationFilter()
    statement = (select(Nomination).options(selectinload(Nomination.nominator))
                 .where(Nomination.campaign_id == campaign.id))
    if f.status in {s.value for s in NominationStatus}:
        statement = statement.where(Nomination.status == f.status)
    if f.dong_code:
        statement = statement.where(Nomination.dong_code == f.dong_code)
    if f.nominator:
        statement = statement.join(Tenant, Tenant.id == Nomination.nominator_tenant_id).where(Tenant.code == f.nominator)
    if f.flagged:
        statement = statement.where(exists().where(Flag.nomination_id == Nomination.id,
                                                   Flag.status == FlagStatus.OPEN.value))
    return list(db.session.scalars(statement.order_by(Nomination.submitted_at, Nomination.id)))


def accept(nomination: Nomination, actor, note: str | None = None) -> None:
    """선정. Refused while the nomination has an open flag: resolve it (or keep one duplicate) first."""
    states.check_nomination(nomination.status, nomination.campaign.status, nomination_side(nomination), "accept")
    open_flags = flags_of_nomination(nomination, only_open=True)
    if open_flags:
        raise RuleViolation(_l("확인하지 않은 점검 결과(%(kinds)s)가 있어 선정할 수 없습니다. 먼저 해결하세요.",
                               kinds=", ".join(f.kind_label for f in open_flags)))
    _decide(nomination, NominationStatus.ACCEPTED, None, note, actor)


def reject(nomination: Nomination, reason: str, actor, note: str | None = None) -> None:
    """제외, with a reason from the list (기타 needs a note). The nomination's open flags are
    resolved by the decision."""
    states.check_nomination(nomination.status, nomination.campaign.status, nomination_side(nomination), "reject")
    try:
        reason = RejectReason(reason)
    except ValueError:
        raise RuleViolation(_l("제외 사유를 목록에서 고르세요."), field="reject_reason") from None
    note = (note or "").strip() or None
    if reason is RejectReason.OTHER and not note:
        raise RuleViolation(_l("'기타'를 고르면 사유를 적어 주세요."), field="note")
    _decide(nomination, NominationStatus.REJECTED, reason, note, actor)
    for flag in flags_of_nomination(nomination, only_open=True):
        _resolve(flag, str(_l("추천 제외로 정리되었습니다.")), actor)


def _decide(nomination: Nomination, status: NominationStatus, reason: RejectReason | None, note: str | None,
            actor) -> None:
    nomination.status, nomination.reject_reason = status, reason
    nomination.decision_note = (note or "").strip() or None
    nomination.decided_at, nomination.decided_by_user_id = utcnow(), actor.id if actor else None
    _flush_or_refuse()


def flags_of(campaign: Campaign, status: str | None = None) -> list[Flag]:
    statement = select(Flag).options(selectinload(Flag.nomination)).where(Flag.campaign_id == campaign.id)
    if status in {s.value for s in FlagStatus}:
        statement = statement.where(Flag.status == status)
    return list(db.session.scalars(statement.order_by(Flag.found_at, Flag.id)))


def flags_of_nomination(nomination: Nomination, only_open: bool = False) -> list[Flag]:
    statement = select(Flag).where(Flag.nomination_id == nomination.id)
    if only_open:
        statement = statement.where(Flag.status == FlagStatus.OPEN.value)
    return list(db.session.scalars(statement.order_by(Flag.kind)))


def resolve_flag(flag: Flag, note: str, actor) -> None:
    """The organiser has looked into a flag (e.g. the registry entry was checked by phone)."""
    if context.current_tenant_id() != flag.tenant_id:
        raise RuleViolation(states.SIDE_REFUSALS[Side.ORGANISER])
    if flag.status is not FlagStatus.OPEN:
        raise RuleViolation(_l("이미 정리된 점검 결과입니다."))
    note = (note or "").strip()
    if not note:
        raise RuleViolation(_l("어떻게 확인했는지 적어 주세요."), field="note")
    _resolve(flag, note, actor)


def _resolve(flag: Flag, note: str, actor) -> None:
    flag.status, flag.resolved_at = FlagStatus.RESOLVED, utcnow()
    flag.resolved_by_user_id, flag.resolution_note = actor.id if actor else None, note
    db.session.flush()


def keep_duplicate(kept: Nomination, actor, note: str | None = None) -> list[Nomination]:
    """Of a household nominated by several tenants, keep ``kept``: the others are rejected as
    duplicates (their nominators see only "중복 추천") and every duplicate flag of the group is
    resolved. Returns the rejected nominations."""
    if nomination_side(kept) is not Side.ORGANISER:
        raise RuleViolation(states.SIDE_REFUSALS[Side.ORGANISER])
    others = checks.duplicate_groups(kept.campaign_id).get(kept.id, set())
    if not others or not kept.is_active:
        raise RuleViolation(_l("중복으로 추천된 가구가 아닙니다."))
    note = (note or "").strip() or None
    rejected = [db.session.get(Nomination, n) for n in sorted(others)]
    for other in rejected:
        reject(other, RejectReason.DUPLICATE.value, actor, str(_l("같은 가구를 다른 기관이 추천해 그 추천으로 지원합니다.")))
    for flag in flags_of_nomination(kept, only_open=True):
        if flag.kind is FlagKind.DUPLICATE:
            _resolve(flag, note or str(_l("이 추천으로 지원하고 중복 추천은 제외했습니다.")), actor)
    return rejected


@dataclass
class DuplicateMatch:
    nomination: Nomination
    same_person: bool  # the same resident number as the nominee (else: the same household)


def duplicates_of(nomination: Nomination) -> list[DuplicateMatch]:
    """For the organiser: which other tenants' nominations share the household, and how.
    (A nominating tenant asking gets nothing: it cannot read the others' keys.)"""
    from .models import KeyKind

    if nomination_side(nomination) is not Side.ORGANISER:
        return []
    others = checks.duplicate_groups(nomination.campaign_id).get(nomination.id, set())
    if not others:
        return []
    person = db.session.scalar(select(NominationKey.digest).where(
        NominationKey.nomination_id == nomination.id, NominationKey.kind == KeyKind.PERSON.value))
    same_person = set(db.session.scalars(select(NominationKey.nomination_id).where(
        NominationKey.nomination_id.in_(others), NominationKey.kind == KeyKind.PERSON.value,
        NominationKey.digest == person))) if person else set()
    matches = db.session.scalars(select(Nomination).options(selectinload(Nomination.nominator))
                                 .where(Nomination.id.in_(others)).order_by(Nomination.submitted_at))
    return [DuplicateMatch(n, n.id in same_person) for n in matches]


def received_before(nomination: Nomination) -> list[tuple[Campaign, object]]:
    """For the organiser: this organiser's earlier campaigns of the same category that delivered to
    the household within the concentration period, with the delivery date."""
    from sqlalchemy.orm import aliased

    if nomination_side(nomination) is not Side.ORGANISER:
        return []
    campaign = nomination.campaign
    mine, theirs, earlier = aliased(NominationKey), aliased(NominationKey), aliased(Nomination)
    rows = db.session.execute(
        select(Campaign, func.max(earlier.delivered_on))
        .join(earlier, earlier.campaign_id == Campaign.id)
        .join(theirs, theirs.nomination_id == earlier.id)
        .join(mine, (mine.digest == theirs.digest) & (mine.tenant_id == theirs.tenant_id))
        .where(mine.nomination_id == nomination.id, Campaign.id != campaign.id, Campaign.category == campaign.category,
               earlier.delivery_status == DeliveryStatus.DELIVERED.value,
               earlier.delivered_on >= checks.received_since(campaign))
        .group_by(Campaign.id).order_by(func.max(earlier.delivered_on).desc()))
    return [(c, on) for c, on in rows]


def flag_reason(flag: Flag, for_organiser: bool | None = None, duplicate_names: list[str] | None = None) -> str:
    """The flag's reason in Korean. The nominating tenant's wording never says who else
    nominated; the organiser's names the other tenants (``duplicate_names`` when the caller has
    them already, see :func:`flag_reasons`)."""
    if for_organiser is None:
        for_organiser = context.current_tenant_id() == flag.tenant_id
    details = flag.details or {}
    if flag.kind is FlagKind.DUPLICATE:
        if not for_organiser:
            return str(DUPLICATE_NOTICE)
        if duplicate_names is None:
            duplicate_names = sorted({m.nomination.nominator.name for m in duplicates_of(flag.nomination)})
        return str(_l("같은 사람 또는 가구를 다른 기관도 추천했습니다: %(tenants)s",
                      tenants=", ".join(duplicate_names) or "-"))
    if flag.kind is FlagKind.DECEASED:
        return str(_l("주민등록상 사망(%(on)s)으로 확인됩니다.", on=details.get("on", "")))
    if flag.kind is FlagKind.MOVED_OUT:
        return str(_l("주민등록상 관할 지역 밖으로 전출(%(on)s)한 것으로 확인됩니다.", on=details.get("on", "")))
    if flag.kind is FlagKind.CONCENTRATION:
        category = CATEGORY_LABELS.get(Category(details.get("category", "other")), "")
        return str(_l("최근 %(days)s일 안에 같은 종류(%(category)s)의 지원을 받은 가구입니다.",
                      days=details.get("days", ""), category=category))
    if flag.kind is FlagKind.OVER_DONG_QUOTA:
        region = db.session.get(Region, details.get("dong_code", ""))
        return str(_l("%(dong)s 배정 한도(%(quota)s가구)를 넘는 추천입니다.",
                      dong=region.name if region else details.get("dong_code", ""), quota=details.get("quota", "")))
    return str(_l("추천 기관 한도(%(quota)s가구)를 넘는 추천입니다 (%(rank)s번째).",
                  quota=details.get("quota", ""), rank=details.get("rank", "")))


def flag_reasons(campaign: Campaign, flags: list[Flag]) -> dict[int, str]:
    """{flag id: reason} for a list of the campaign's flags in a fixed number of queries (the
    organiser's nominations table); in the nominating tenant's wording when it asks."""
    for_organiser = context.current_tenant_id() == campaign.tenant_id
    names: dict[int, list[str]] = {}
    if for_organiser and any(f.kind is FlagKind.DUPLICATE for f in flags):
        groups = checks.duplicate_groups(campaign.id)
        wanted = {n for f in flags if f.kind is FlagKind.DUPLICATE for n in groups.get(f.nomination_id, ())}
        nominator_of = dict(db.session.execute(
            select(Nomination.id, Tenant.name).join(Tenant, Tenant.id == Nomination.nominator_tenant_id)
            .where(Nomination.id.in_(wanted))).all()) if wanted else {}
        names = {f.nomination_id: sorted({nominator_of[n] for n in groups.get(f.nomination_id, ()) if n in nominator_of})
                 for f in flags if f.kind is FlagKind.DUPLICATE}
    return {f.id: flag_reason(f, for_organiser, names.get(f.nomination_id)) for f in flags}


def nominator_notices(nomination: Nomination) -> list[str]:
    """What the nominating tenant is told about its nomination's open flags."""
    return [flag_reason(f, for_organiser=False) for f in flags_of_nomination(nomination, only_open=True)]


def reason_withheld(nomination: Nomination) -> bool:
    """Once the nominee withdrew consent, the organiser no longer reads the nominating tenant's
    reason either (it describes the household like the snapshot did); the nominator still does."""
    return (nomination.client_data_withdrawn_at is not None
            and nomination.nominator_tenant_id != context.current_tenant_id())


def record_organiser_view(nomination: Nomination) -> None:
    """The organiser looked at a nominee's data: the access log gets it like any client view."""
    from ..audit.models import AccessAction
    from ..audit.service import record

    if nomination.snapshot is None or nomination_side(nomination) is not Side.ORGANISER:
        return
    client = SimpleNamespace(id=nomination.client_id, tenant_id=nomination.nominator_tenant_id,
                             public_id=nomination.snapshot["client_public_id"])
    record(client, AccessAction.VIEW, what="campaign_nomination")


# -- delivery ------------------------------------------------------------------------------------------------

def record_delivery(nomination: Nomination, data: dict, actor) -> None:
    """The organiser or the nominating tenant records what happened to a selected household.
    ``data``: status (delivered / not_delivered), delivered_on (for delivered), note (needed for
    not_delivered)."""
    if nomination_side(nomination) is None:
        abort(404)
    if nomination.campaign.status is not CampaignStatus.CONFIRMED:
        raise RuleViolation(_l("지급 결과는 배분이 확정된 뒤, 지급 완료 전에 기록합니다."))
    if nomination.status is not NominationStatus.ACCEPTED:
        raise RuleViolation(_l("선정된 가구만 지급 결과를 기록할 수 있습니다."))
    try:
        status = DeliveryStatus(data.get("status"))
    except ValueError:
        status = None
    if status not in (DeliveryStatus.DELIVERED, DeliveryStatus.NOT_DELIVERED):
        raise RuleViolation(_l("지급 결과를 고르세요."), field="status")
    note = (data.get("note") or "").strip() or None
    delivered_on = data.get("delivered_on")
    if status is DeliveryStatus.DELIVERED:
        if delivered_on is None:
            raise RuleViolation(_l("지급한 날짜를 입력하세요."), field="delivered_on")
        if delivered_on > clock.today():
            raise RuleViolation(_l("미래 날짜는 입력할 수 없습니다."), field="delivered_on")
        if delivered_on < nomination.campaign.confirmed_at.astimezone(clock.SEOUL).date():
            raise RuleViolation(_l("지급일은 배분 확정일 이후여야 합니다."), field="delivered_on")
    elif not note:
        raise RuleViolation(_l("지급하지 못한 사유를 적어 주세요."), field="note")
    nomination.delivery_status = status
    nomination.delivered_on = delivered_on if status is DeliveryStatus.DELIVERED else None
    nomination.delivery_note, nomination.delivery_recorded_by_user_id = note, actor.id if actor else None
    _flush_or_refuse()
