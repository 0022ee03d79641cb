"""The demo campaigns of 제주시청: a finished and a running 김장김치 나눔, loaded through the campaign
services as each agency's user; every check has something to flag on the running one, each
nominating agency sees only its own nominations, loading twice adds nothing, demo mode only."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hanaro.campaigns import service
from hanaro.campaigns.models import (
    Campaign, CampaignStatus, DeliveryStatus, Flag, FlagKind, FlagStatus, Invitation, Nomination, NominationStatus,
)
from hanaro.clients.models import Client, Consent
from hanaro.core import clock
from hanaro.core.db import db
from hanaro.demo import campaigns, caseload, referrals
from hanaro.tenancy import registry
from hanaro.tenancy.context import acting_as
from hanaro.tenancy.models import Tenant

from .helpers import login

JEJU = Path(__file__).resolve().parents[1] / "tenants" / "jeju-pilot.toml"
PASSWORD = "hanaro-demo-2026"


@pytest.fixture(autouse=True)
def _demo_registry(app, monkeypatch):
    monkeypatch.setitem(app.config, "RESIDENT_REGISTRY_CSV", str(campaigns.REGISTRY_CSV))


def _prerequisites():
    registry.apply(JEJU, demo=True)
    caseload.apply()


@pytest.fixture
def loaded(ctx):
    _prerequisites()
    result = campaigns.apply()
    return result, campaigns.World.find()


def _tenant(code: str) -> Tenant:
    return db.session.scalar(select(Tenant).where(Tenant.code == code))


def _campaign(world, title) -> Campaign:
    return campaigns._find(world, title)


def _nominations(tenant: Tenant, campaign: Campaign) -> list[Nomination]:
    """The nominations of ``campaign`` as ``tenant`` may read them."""
    with acting_as(tenant.id, None):
        return list(db.session.scalars(select(Nomination).where(Nomination.campaign_id == campaign.id)
                                       .order_by(Nomination.id)))


def test_a_finished_campaign_with_its_deliveries_and_a_running_one(loaded):
    result, world = loaded
    assert result["added"] == [campaigns.FINISHED_TITLE, campaigns.RUNNING_TITLE]
    today = clock.today()
    finished, running = _campaign(world, campaigns.FINISHED_TITLE), _campaign(world, campaigns.RUNNING_TITLE)

    assert finished.status is CampaignStatus.COMPLETED and finished.closes_on < today - timedelta(days=300)
    done = _nominations(world.organiser, finished)
    assert Counter(n.status for n in done) == {NominationStatus.ACCEPTED: 4, NominationStatus.REJECTED: 1}
    assert Counter(n.delivery_status for n in done if n.status is NominationStatus.ACCEPTED) == {
        DeliveryStatus.DELIVERED: 3, DeliveryStatus.NOT_DELIVERED: 1}
    assert all(today - timedelta(days=331) <= n.delivered_on <= today - timedelta(days=328)
               for n in done if n.delivered_on)
    assert {n.nominator.code for n in done} == {"halla-welfare", "hallim-dong"}

    assert running.status is CampaignStatus.OPEN and running.opens_on < today < running.closes_on
    assert running.sponsor == "한림농협 고향주부모임" and running.quantity == 60
    open_ones = _nominations(world.organiser, running)
    assert Counter(n.nominator.code for n in open_ones) == {"halla-welfare": 5, "hallim-dong": 3, "jeju-foodbank": 3}
    assert Counter(n.status for n in open_ones) == {NominationStatus.SUBMITTED: 9, NominationStatus.ACCEPTED: 2}
    with acting_as(world.organiser.id, None):
        invited = {i.nominator.code for i in service.invitations_of(running)}
    assert invited == {"halla-welfare", "hallim-dong", "jeju-foodbank", "aewol-dong"}
    assert result["running"]["nominations"] == {"submitted": 9, "accepted": 2, "rejected": 0, "withdrawn": 0}
    assert result["finished"] == {"status": "completed", "delivered": 3,
                                  "nominations": {"submitted": 0, "accepted": 4, "rejected": 1, "withdrawn": 0},
                                  "open_flags": {k.value: 0 for k in FlagKind}}


def test_every_check_finds_something_on_the_running_campaign(loaded):
    _result, world = loaded
    running = _campaign(world, campaigns.RUNNING_TITLE)
    halla = world.caseload["halla-welfare"]
    with acting_as(world.organiser.id, None):
        flags = list(db.session.scalars(select(Flag).where(Flag.campaign_id == running.id)))
        found = {(f.kind, f.nomination.nominator.code, f.nomination.snapshot["name"]) for f in flags}
        assert all(f.status is FlagStatus.OPEN for f in flags)
    assert found == {
        (FlagKind.DUPLICATE, "halla-welfare", "고순녀"), (FlagKind.DUPLICATE, "hallim-dong", "고순녀"),
        (FlagKind.DECEASED, "jeju-foodbank", "양춘자"),
        (FlagKind.MOVED_OUT, "halla-welfare", "김만석"),
        (FlagKind.CONCENTRATION, "halla-welfare", halla[0].name),  # served by last year's campaign
        (FlagKind.OVER_NOMINATOR_QUOTA, "halla-welfare", halla[4].name),  # the welfare centre's fifth of 4
        (FlagKind.OVER_DONG_QUOTA, "jeju-foodbank", "강덕수"),  # 애월읍's third of 2
    }
    assert {kind for kind, _code, _name in found} == set(FlagKind)
    # The organiser reads why, naming the other agency for a duplicate.
    with acting_as(world.organiser.id, None):
        reasons = {f.kind: service.flag_reason(f, for_organiser=True) for f in flags
                   if f.nominator_tenant_id == halla[0].tenant_id}
    assert reasons[FlagKind.DUPLICATE] == "같은 사람 또는 가구를 다른 기관도 추천했습니다: 한림읍 행정복지센터"
    assert reasons[FlagKind.MOVED_OUT] == "주민등록상 관할 지역 밖으로 전출(2026-09-30)한 것으로 확인됩니다."
    assert reasons[FlagKind.OVER_NOMINATOR_QUOTA] == "추천 기관 한도(4가구)를 넘는 추천입니다 (5번째)."


def test_each_nominating_agency_sees_only_its_own_nominations(loaded):
    _result, world = loaded
    finished, running = _campaign(world, campaigns.FINISHED_TITLE), _campaign(world, campaigns.RUNNING_TITLE)
    expected = {"halla-welfare": (3, 5), "hallim-dong": (2, 3), "jeju-foodbank": (0, 3), "aewol-dong": (0, 0)}
    for code, (in_finished, in_running) in expected.items():
        tenant = _tenant(code)
        for campaign, count in ((finished, in_finished), (running, in_running)):
            seen = _nominations(tenant, campaign)
            assert len(seen) == count and all(n.nominator_tenant_id == tenant.id for n in seen), code
        with acting_as(tenant.id, None):
            assert all(f.nominator_tenant_id == tenant.id for f in db.session.scalars(select(Flag)))
    # 한림읍 learns only that 고순녀 is nominated elsewhere, never by whom.
    hallim = _tenant("hallim-dong")
    with acting_as(hallim.id, None):
        shared = next(n for n in _nominations(hallim, running) if n.snapshot["name"] == "고순녀")
        assert service.nominator_notices(shared) == ["이미 다른 기관이 추천한 가구입니다."]
        assert service.nominated_elsewhere(shared) is True
    # A tenant that was not invited sees neither campaign.
    namwon = _tenant("namwon-dong")
    with acting_as(namwon.id, None):
        assert db.session.scalars(select(Campaign)).all() == [] and db.session.scalars(select(Nomination)).all() == []


def test_loading_again_adds_nothing(loaded, app, monkeypatch):
    result, world = loaded

    def counts():
        found = Counter()
        with acting_as(world.organiser.id, None):
            for model in (Campaign, Invitation, Nomination, Flag):
                found[model.__name__] = db.session.scalar(select(func.count()).select_from(model))
        for code in campaigns.NOMINATORS:
            with acting_as(_tenant(code).id, None):
                for model in (Client, Consent):
                    found[model.__name__] += db.session.scalar(select(func.count()).select_from(model))
        return found

    before = counts()
    again = campaigns.apply()
    assert again == {**result, "added": []}
    monkeypatch.setitem(app.config, "RESIDENT_REGISTRY_CSV", None)  # nothing left that needs it
    assert campaigns.apply() == again
    assert campaigns.summary(again).startswith("campaigns: already present — finished (completed): nominations "
                                               "accepted 4, rejected 1; open flags none; delivered 3 | running (open)")
    assert counts() == before


def test_the_loader_refuses_clearly_before_writing_anything(ctx, app, monkeypatch):
    with pytest.raises(referrals.MissingDemoData, match="flask tenants apply --demo"):
        campaigns.apply()
    registry.apply(JEJU, demo=True)
    with pytest.raises(referrals.MissingDemoData, match="flask demo caseload"):
        campaigns.apply()
    caseload.apply()
    monkeypatch.setitem(app.config, "RESIDENT_REGISTRY_CSV", None)
    expected = "HANARO_RESIDENT_REGISTRY_CSV=.*resident-registry.csv"
    with pytest.raises(referrals.MissingDemoData, match=expected) as error:
        campaigns.apply()
    assert "flask demo caseload" not in str(error.value)
    with acting_as(_tenant("jeju-city").id, None):
        assert db.session.scalar(select(func.count()).select_from(Campaign)) == 0


def test_the_cli_loads_in_demo_mode_only_and_once(app, monkeypatch):
    runner = app.test_cli_runner()
    with app.app_context():
        _prerequisites()
        db.session.commit()
    monkeypatch.setitem(app.config, "HANARO_DEMO", False)
    result = runner.invoke(args=["demo", "campaigns"])
    assert result.exit_code != 0 and "demo mode" in result.output
    monkeypatch.setitem(app.config, "HANARO_DEMO", True)
    result = runner.invoke(args=["demo", "campaigns"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"campaigns: added {campaigns.FINISHED_TITLE}, {campaigns.RUNNING_TITLE} — ")
    assert ("running (open): nominations submitted 9, accepted 2; open flags duplicate 2, deceased 1, moved_out 1, "
            "concentration 1, over_dong_quota 1, over_nominator_quota 1; delivered 0") in result.output
    result = runner.invoke(args=["demo", "campaigns"])
    assert result.exit_code == 0 and result.output.startswith("campaigns: already present")


def test_the_organiser_and_a_nominator_find_it_on_their_screens(app):
    with app.app_context():
        _prerequisites()
        campaigns.apply()
        db.session.commit()
        world = campaigns.World.find()
        running = _campaign(world, campaigns.RUNNING_TITLE).public_id
    organiser = app.test_client()
    assert login(organiser, "campaign@jejucity.demo", PASSWORD).status_code == 303
    html = organiser.get("/campaign-figures/").get_data(as_text=True)
    assert campaigns.FINISHED_TITLE in html and campaigns.RUNNING_TITLE in html
    assert '<tr><th scope="row">한림농협 고향주부모임</th><td class="num">16</td></tr>' in html
    assert '<tr><th scope="row">편중 지원</th><td class="num">1</td><td class="num">1</td>' in html
    page = organiser.get(f"/campaign-figures/{running}").get_data(as_text=True)
    assert '<tr><th scope="row">애월읍 행정복지센터</th><td class="num">0</td><td>제한 없음</td></tr>' in page

    nominator = app.test_client()
    assert login(nominator, "registrar@foodbank.demo", PASSWORD).status_code == 303
    assert nominator.get(f"/campaign-figures/{running}").status_code == 404
