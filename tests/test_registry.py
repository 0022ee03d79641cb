"""The tenants/*.toml registry: applied idempotently; a bad file changes nothing."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from hanaro.accounts.models import User
from hanaro.core.db import db
from hanaro.tenancy import registry
from hanaro.tenancy.context import acting_as, unscoped
from hanaro.tenancy.models import Membership, Region, SharingAgreement, Tenant

JEJU = Path(__file__).resolve().parents[1] / "tenants" / "jeju-pilot.toml"


def _counts():
    with unscoped():
        return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
                for model in (Region, Tenant, User)}


def test_the_jeju_pilot_has_every_kind_of_tenant_and_a_user_for_every_role(ctx):
    data = registry.load(JEJU)
    kinds = {t["kind"] for t in data["tenants"]}
    assert kinds == {"province", "municipality", "dong_centre", "welfare_centre", "ngo", "public_agency", "facility"}
    assert len([t for t in data["tenants"] if t["kind"] == "dong_centre"]) == 3
    assert len([t for t in data["tenants"] if t["kind"] == "welfare_centre"]) >= 2
    assert len([t for t in data["tenants"] if t["kind"] == "ngo"]) >= 2
    roles = {r for u in data["users"] for m in u["memberships"] for r in m["roles"]}
    assert roles == {"tenant_admin", "case_manager", "resource_registrar", "referral_coordinator", "inspector",
                     "pilot_coordinator", "privacy_officer", "campaign_organiser", "viewer"}
    assert any(u["operator"] for u in data["users"])


def test_applying_twice_creates_once(ctx):
    first = registry.apply(JEJU)
    assert first.created["tenants"] == 12 and first.created["memberships"] >= 15
    counts = _counts()
    second = registry.apply(JEJU)
    assert second.created == {} and second.updated == {}
    assert _counts() == counts


def test_changes_in_the_file_update_existing_rows(ctx, tmp_path):
    registry.apply(JEJU)
    changed = tmp_path / "jeju.toml"
    changed.write_text(
        JEJU.read_text(encoding="utf-8")
        .replace('name = "제주나눔푸드뱅크"', 'name = "제주나눔푸드뱅크(사)"')
        .replace('{ tenant = "hallim-dong", roles = ["tenant_admin"] }',
                 '{ tenant = "hallim-dong", roles = ["tenant_admin", "viewer"] }'),
        encoding="utf-8",
    )
    report = registry.apply(changed)
    assert report.updated == {"tenants": 1, "memberships": 1} and report.created == {}
    hallim = db.session.scalar(select(Tenant).where(Tenant.code == "hallim-dong"))
    with acting_as(hallim.id, None):
        roles = {tuple(m.roles) for m in db.session.scalars(select(Membership))}
    assert ("tenant_admin", "viewer") in roles


def test_demo_passwords_are_set_only_in_demo_mode(ctx):
    registry.apply(JEJU, demo=False)
    assert db.session.scalar(select(User).where(User.email == "admin@halla.demo")).password_hash is None
    registry.apply(JEJU, demo=True)
    assert db.session.scalar(select(User).where(User.email == "admin@halla.demo")).password_hash


def test_a_bad_file_is_reported_by_key_and_reason_and_changes_nothing(ctx, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        JEJU.read_text(encoding="utf-8")
        .replace('kind = "ngo"', 'kind = "castle"', 1)
        .replace('region = "5013025300"\nparent = "seogwipo-city"', 'region = "1234"\nparent = "seogwipo-city"')
        .replace('partner = "hallim-dong"', 'partner = "no-such-centre"')
        .replace('roles = ["inspector"]', 'roles = ["emperor"]'),
        encoding="utf-8",
    )
    before = _counts()
    with pytest.raises(registry.RegistryError) as error:
        registry.apply(bad)
    message = str(error.value)
    assert "bad.toml: tenants[8].kind" in message
    assert "users[10].memberships[0].roles[0]" in message
    assert _counts() == before


def test_reference_errors_name_the_key(ctx, tmp_path):
    bad = tmp_path / "refs.toml"
    bad.write_text(
        JEJU.read_text(encoding="utf-8")
        .replace('region = "5013025300"\nparent = "seogwipo-city"', 'region = "1234"\nparent = "seogwipo-city"')
        .replace('partner = "hallim-dong"', 'partner = "no-such-centre"'),
        encoding="utf-8",
    )
    with pytest.raises(registry.RegistryError) as error:
        registry.load(bad)
    assert error.value.problems == [
        "tenants[5].region: unknown region code '1234'",
        "agreements[0].partner: unknown tenant 'no-such-centre'",
    ]


def test_unreadable_toml_is_reported(ctx, tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("[[tenants]\ncode = ", encoding="utf-8")
    with pytest.raises(registry.RegistryError, match="broken.toml: cannot read TOML"):
        registry.load(broken)


def test_the_cli_refuses_demo_passwords_outside_demo_mode_and_reports_bad_files(app, tmp_path):
    result = app.test_cli_runner().invoke(args=["tenants", "apply", "--demo", str(JEJU)])
    assert result.exit_code != 0 and "demo mode" in result.output
    bad = tmp_path / "bad.toml"
    bad.write_text('[[tenants]]\ncode = "X"\n', encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["tenants", "apply", str(bad)])
    assert result.exit_code != 0 and "nothing was changed" in result.output and "tenants[0].code" in result.output


def test_the_demo_agreements_are_signed_except_one_proposal_awaiting_its_answer(ctx):
    """Agreements in the file were signed by both sides (in force at once, as 'registered' in
    their history); the demo's one proposal waits for 서귀포종합사회복지관's answer and shares nothing."""
    from hanaro.tenancy import service as tenancy
    from hanaro.tenancy.models import AgreementAction, AgreementEvent, AgreementStatus

    registry.apply(JEJU)
    with unscoped():
        seogwipo = db.session.scalar(select(Tenant).where(Tenant.code == "seogwipo-welfare"))
        halla = db.session.scalar(select(Tenant).where(Tenant.code == "halla-welfare"))
    with acting_as(seogwipo.id, None):
        statuses = {a.registry_key: a.status for a in tenancy.agreements_of_active_tenant()}
        assert statuses["foodbank-seogwipo-resources"] is AgreementStatus.PROPOSED
        assert statuses["seogwipo-namwon-case"] is AgreementStatus.ACCEPTED
        assert [a.registry_key for a in tenancy.proposals_awaiting_answer()] == ["foodbank-seogwipo-resources"]
        proposal = next(a for a in tenancy.agreements_of_active_tenant() if a.status is AgreementStatus.PROPOSED)
        assert [e.action for e in tenancy.history_of(proposal)] == [AgreementAction.PROPOSED]
        assert not tenancy.tenants_with_active_agreement("resource")
    with acting_as(halla.id, None):
        food = {a.registry_key: a for a in tenancy.agreements_of_active_tenant()}["foodbank-halla-resources"]
        assert food.status is AgreementStatus.ACCEPTED
        assert [e.action for e in db.session.scalars(select(AgreementEvent).where(
            AgreementEvent.agreement_id == food.id))] == [AgreementAction.REGISTERED]
