"""The demo caseload loads under the tenancy rules (RLS on PostgreSQL) and shows a working caseload."""
from pathlib import Path

from sqlalchemy import func, select

from hanaro.cases.models import Case, CaseMember, CaseNote
from hanaro.clients.models import Client
from hanaro.core.db import db
from hanaro.demo import caseload
from hanaro.tenancy import registry
from hanaro.tenancy.context import acting_as
from hanaro.tenancy.models import Tenant

JEJU = Path(__file__).resolve().parents[1] / "tenants" / "jeju-pilot.toml"


def _count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_the_demo_caseload_is_shared_as_the_rules_say(ctx):
    registry.apply(JEJU, demo=True)
    created = caseload.apply()
    assert created == {"halla-welfare": 14, "hallim-dong": 6, "seogwipo-welfare": 10, "namwon-dong": 5}
    assert caseload.apply() == {}  # idempotent
    tenants = {t.code: t for t in db.session.scalars(select(Tenant))}
    halla, hallim = tenants["halla-welfare"], tenants["hallim-dong"]
    with acting_as(halla.id, None):
        own_cases = _count(Case, Case.tenant_id == halla.id)
        assert own_cases >= 8
        assert _count(Client, Client.tenant_id == halla.id) == 14
    with acting_as(hallim.id, None):
        shared = db.session.scalars(select(Case).where(Case.tenant_id == halla.id)).all()
        accepted = _count(CaseMember, CaseMember.member_tenant_id == hallim.id, CaseMember.status == "accepted")
        assert len(shared) == accepted > 0
        # The partner sees the lead's team notes on shared cases, never its internal ones.
        visible = db.session.scalars(select(CaseNote).where(CaseNote.tenant_id == halla.id)).all()
        assert visible and all(n.visibility.value == "team" or n.author_tenant_id == hallim.id for n in visible)
        # ...and the clients of those cases, not the others.
        assert _count(Client, Client.tenant_id == halla.id) == len({c.client_id for c in shared})


def test_the_demo_catalogue_spans_kinds_and_scopes(ctx):
    from hanaro.demo import catalogue
    from hanaro.resources.models import Resource

    registry.apply(JEJU, demo=True)
    created = catalogue.apply()
    assert sum(created.values()) >= 15 and catalogue.apply() == {}
    tenants = {t.code: t for t in db.session.scalars(select(Tenant))}
    with acting_as(tenants["jeju-foodbank"].id, None):
        own = db.session.scalars(select(Resource).where(Resource.tenant_id == tenants["jeju-foodbank"].id)).all()
        assert {r.kind.value for r in own} == {"service", "in_kind"}
    scopes = set()
    for code in ("jeju-foodbank", "dolbom-neighbours", "halla-welfare", "seogwipo-welfare", "jeju-health-centre"):
        with acting_as(tenants[code].id, None):
            scopes |= {r.scope.value for r in db.session.scalars(select(Resource).where(Resource.tenant_id == tenants[code].id))}
    assert scopes == {"private", "partners", "region", "platform", "public"}
    # 한라 has a resource agreement with the food bank: it sees its partners-scoped 김장김치.
    with acting_as(tenants["halla-welfare"].id, None):
        names = set(db.session.scalars(select(Resource.name)))
    assert "김장김치 나눔" in names and "반찬 배달" not in names
