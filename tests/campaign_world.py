"""A Seongdong-like district for the campaign tests: the welfare bureau (organiser) of a
municipality with three dongs, three invited nominating agencies, an agency left out, and a dong
in another municipality; helpers that go through the services as each of them would."""
from __future__ import annotations

import itertools
from contextlib import contextmanager
from datetime import date, timedelta

from hanaro.campaigns import service
from hanaro.campaigns.models import Campaign, Nomination
from hanaro.clients.models import Client
from hanaro.clients.rrn import parse
from hanaro.core import clock
from hanaro.core.db import db
from hanaro.tenancy.context import acting_as
from hanaro.tenancy.models import RegionLevel, TenantKind

from .factories import _Actor

_serial = itertools.count(1)
_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)


def rrn_for(birth: date, sex: str = "F") -> str:
    """A fresh valid resident number (check digit included) for someone born before 2000."""
    front = birth.strftime("%y%m%d") + ("1" if sex == "M" else "2") + f"{next(_serial):05d}"
    check = (11 - sum(int(d) * w for d, w in zip(front, _WEIGHTS)) % 11) % 10
    return f"{front[:6]}-{front[6:]}{check}"


class CampaignWorld:
    def __init__(self, make):
        self.make, self.app = make, make.app
        province = make.province()
        self.district = make.region(name="성동구", level=RegionLevel.MUNICIPALITY, parent_code=province.code)
        self.d1 = make.region(name="성수1가1동", parent_code=self.district.code)
        self.d2 = make.region(name="왕십리도선동", parent_code=self.district.code)
        self.d3 = make.region(name="금호1가동", parent_code=self.district.code)
        elsewhere = make.region(name="광진구", level=RegionLevel.MUNICIPALITY, parent_code=province.code)
        self.outside = make.region(name="자양1동", parent_code=elsewhere.code)
        self.organiser = make.tenant(name="성동구청 복지정책과", kind=TenantKind.MUNICIPALITY, region=self.district)
        self.a = make.tenant(name="성수1가1동 주민센터", kind=TenantKind.DONG_CENTRE, region=self.d1)
        self.b = make.tenant(name="성동종합사회복지관", region=self.district)
        self.c = make.tenant(name="나눔푸드뱅크", kind=TenantKind.NGO, region=self.district)
        self.outsider = make.tenant(name="바깥복지관", region=self.district)
        self.bureau = make.member(self.organiser, roles=["tenant_admin"], name="구청담당")
        self.users = {t.id: make.member(t, roles=["case_manager"]) for t in (self.a, self.b, self.c, self.outsider)}

    def user_of(self, tenant):
        return self.bureau if tenant.id == self.organiser.id else self.users[tenant.id]

    @contextmanager
    def acting(self, tenant, commit=True):
        """An app context acting as ``tenant`` (its user), committing at the end."""
        with self.app.app_context(), acting_as(tenant.id, self.user_of(tenant).id):
            yield _Actor(self.user_of(tenant).id)
            if commit:
                db.session.commit()

    # -- the organiser -------------------------------------------------------------------------------------
    def campaign(self, nominators=None, opened=True, **values) -> str:
        """A campaign of the organiser inviting ``nominators`` ([(tenant, quota)]; a, b and c by
        default), open for nominations since yesterday unless ``opened`` is False. Public id."""
        nominators = nominators if nominators is not None else [(self.a, None), (self.b, None), (self.c, None)]
        data = {"title": "2026 사랑의 김장김치 나눔", "category": "kimjang", "item_description": "김장김치 10kg",
                "sponsor": "성동구 자원봉사센터", "quantity": 100, "unit": "상자", "per_household": 1,
                "eligibility_notes": "기초생활수급 및 차상위 가구", "opens_on": clock.today() - timedelta(days=1),
                "closes_on": clock.today() + timedelta(days=10),
                "nominators": [{"tenant": t.code, "quota": q} for t, q in nominators], **values}
        with self.acting(self.organiser) as actor:
            campaign = service.create_campaign(data, actor)
            if opened:
                service.open_nominations(campaign, actor)
            return campaign.public_id

    def as_organiser(self, fn, campaign_id, *args, **kwargs):
        with self.acting(self.organiser) as actor:
            return fn(service.get_campaign_or_404(campaign_id), *args, actor, **kwargs)

    # -- nominating tenants ----------------------------------------------------------------------------------
    def client(self, tenant, dong, rrn=None, name=None, consent=True, address=None, birth=date(1948, 3, 2)):
        """A client of ``tenant`` living in ``dong`` (a new household), with a consent covering the
        organiser for campaigns unless ``consent`` is False."""
        birth = parse(rrn).birth_date if rrn else birth
        client = self.make.client(tenant, name=name or f"주민{next(_serial)}", birth_date=birth, sex="F", rrn=rrn,
                                  dong_code=dong.code if dong else None)
        if address:
            with self.acting(tenant):
                own = db.session.get(Client, client.id)
                own.address = own.household.address = address
        if consent:
            self.make.consent(client, scope="tenants", tenants=[self.organiser], purposes=["campaign"])
        return client

    def member_of(self, tenant, head, rrn, relationship="spouse"):
        """Another person of ``tenant`` moved into ``head``'s household."""
        from hanaro.clients import service as clients

        person = self.make.client(tenant, birth_date=parse(rrn).birth_date, sex="F", rrn=rrn,
                                  dong_code=head.dong_code)
        with self.acting(tenant):
            own, head_row = db.session.get(Client, person.id), db.session.get(Client, head.id)
            clients.move_to_household(own, head_row.household, relationship)
        return person

    def nominate(self, tenant, campaign_id, client, priority="normal", reason="겨울 김장이 어려운 독거 어르신입니다."):
        with self.acting(tenant) as actor:
            result = service.nominate(service.get_campaign_or_404(campaign_id), db.session.get(Client, client.id),
                                      {"reason": reason, "priority": priority}, actor)
            return result

    def load(self, tenant, model, public_id):
        with self.app.app_context(), acting_as(tenant.id, None):
            return db.session.scalar(db.select(model).where(model.public_id == public_id))


def born(year: int) -> date:
    return date(year, 6, 15)


__all__ = ["CampaignWorld", "rrn_for", "born", "Campaign", "Nomination"]
