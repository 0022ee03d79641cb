"""A tenant's pages cost what its own data costs, whatever the rest of the platform holds.

The same fixed tenant (identical rows) is seeded beside other tenants' data of two sizes, 1× and
20×. Each main page is requested as that tenant and every query it ran is measured with
``EXPLAIN (ANALYZE, BUFFERS)``: a page whose queries read the platform instead of the tenant touches
about 20 times more buffers in the larger set and fails here. (Speed itself is measured by
``scripts/bench --scale``, not by tests.)
"""
from __future__ import annotations

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from .conftest import BACKEND, PG_ADMIN_URL, PG_OWNER_ROLE, PG_TEST_DB, _url_for, make_app
from .helpers import login
from .page_costs import page_buffers

pytestmark = [pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL only"), pytest.mark.committed]

OTHERS_SMALL = 1_500  # other tenants' cases around the fixed tenant
GROWTH = 20
# A page may touch a little more as indexes grow a level deeper; never in proportion to the platform.
ALLOWED_RATIO, SLACK = 1.2, 40


def _database(name: str) -> str:
    return f"{PG_TEST_DB}_{name}"


def _seeded_app(name: str, cases: int):
    from hanaro.scale.seed import Sizes, generate

    database = _database(name)
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {database} OWNER {PG_OWNER_ROLE}"))
    admin.dispose()
    app = make_app({"SQLALCHEMY_DATABASE_URI": _url_for("hanaro_test_app", database),
                    "MIGRATION_DATABASE_URL": _url_for(PG_OWNER_ROLE, database),
                    "HANARO_DB_APP_ROLE": "hanaro_test_app"})
    with app.app_context():
        upgrade(directory=app.config["MIGRATIONS_DIR"])
    superuser = create_engine(_url_for("postgres", database))
    with superuser.begin() as connection:
        manifest = generate(connection, Sizes.derived(tenants=40, cases=cases), seed=7)
    superuser.dispose()
    return app, manifest


@pytest.fixture(scope="module")
def sets():
    small = _seeded_app("cost_small", OTHERS_SMALL)
    large = _seeded_app("cost_large", OTHERS_SMALL * GROWTH)
    yield small, large
    for app, _ in (small, large):
        with app.app_context():
            from hanaro.core.db import db

            db.engine.dispose()
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for name in ("cost_small", "cost_large"):
            connection.execute(text(f"DROP DATABASE IF EXISTS {_database(name)} WITH (FORCE)"))
    admin.dispose()


def _costs(app, manifest) -> dict[str, tuple[int, int]]:
    fixed = manifest["tenants"]["fixed"]
    clients, costs = {}, {}
    for page, target in fixed["pages"].items():
        client = app.test_client()
        if not target.get("anonymous"):
            email = target["email"]
            if email not in clients:
                assert login(clients.setdefault(email, client), email, manifest["password"]).status_code == 303
            client = clients[email]
        client.get(target["path"])  # the first view warms per-process caches (regions, mappers)
        costs[page] = page_buffers(app, client, target["path"])
    return costs


def test_the_fixed_tenant_is_the_same_in_both_sets(sets):
    (_, small), (_, large) = sets
    assert small["tenants"]["fixed"]["cases"] == large["tenants"]["fixed"]["cases"] > 0
    assert small["sizes"]["cases"] * GROWTH // 2 < large["sizes"]["cases"]


def test_each_page_touches_what_its_tenant_holds_not_what_the_platform_holds(sets):
    (small_app, small), (large_app, large) = sets
    small_costs, large_costs = _costs(small_app, small), _costs(large_app, large)
    grew = {
        page: (small_costs[page][0], large_costs[page][0])
        for page in small_costs
        if large_costs[page][0] > small_costs[page][0] * ALLOWED_RATIO + SLACK
    }
    assert grew == {}, f"buffers (1× → {GROWTH}× other tenants) grew with the platform: {grew}"
    # The same page runs the same queries in both sets: the counts are pinned by the data, not the size.
    assert {p: c[1] for p, c in small_costs.items()} == {p: c[1] for p, c in large_costs.items()}
