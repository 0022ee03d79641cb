"""A tenant's pages cost what its own data costs, whatever the rest of the platform holds.

The same fixed tenant (identical rows) is seeded beside other tenants' data of two sizes, 1× and
20×. Each main page is requested as that tenant and every query it ran is measured with
``EXPLAIN (ANALYZE, BUFFERS)``: a page whose queries read the platform instead of the tenant touches
about 20 times more buffers in the larger set and fails here. (Speed itself is measured by
``scripts/bench --scale``, not by tests.)
"""
from __future__ import annotations

import pytest

from hanaro.scale.plan import Sizes

from .conftest import BACKEND
from .helpers import login
from .page_costs import page_buffers
from .test_scale_seed import Seeder

pytestmark = [pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL only"), pytest.mark.committed]

SMALL = Sizes(tenants=30, cases=1_500)  # other tenants' data around the fixed tenant
GROWTH = 20
LARGE = Sizes(tenants=30, cases=SMALL.cases * GROWTH)
# A page may touch a little more as indexes grow a level deeper; never in proportion to the platform.
ALLOWED_RATIO, SLACK = 1.2, 40
# Pages over the shared catalogue: every tenant's public resources are their data by design, so
# more of them means more matches on the page (measured 1× → 20×: 133 → 638 and 10 → 171 buffers)
# and to count (up to 1 000, index-only). They read a page of candidates, not the catalogue.
PLATFORM_WIDE = {"directory", "resource_search"}


@pytest.fixture(scope="module")
def costs(app, superuser_engine):
    """Each page's (buffers, statements) for the fixed tenant, with the small and the large set."""
    seeder = Seeder(superuser_engine)
    measured = {}
    try:
        for name, sizes in (("small", SMALL), ("large", LARGE)):
            manifest = seeder.ensure(sizes)
            measured[name] = (manifest, _costs(app, manifest))
    finally:
        seeder.clear()
    return measured


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


def test_the_fixed_tenant_is_the_same_in_both_sets(costs):
    (small, _), (large, _) = costs["small"], costs["large"]
    assert small["tenants"]["fixed"]["cases"] == large["tenants"]["fixed"]["cases"] > 0
    assert large["sizes"]["cases"] > small["sizes"]["cases"] * GROWTH // 2


def test_each_page_touches_what_its_tenant_holds_not_what_the_platform_holds(costs):
    small_costs, large_costs = costs["small"][1], costs["large"][1]
    grew = {
        page: (small_costs[page][0], large_costs[page][0])
        for page in small_costs
        if page not in PLATFORM_WIDE and large_costs[page][0] > small_costs[page][0] * ALLOWED_RATIO + SLACK
    }
    assert grew == {}, f"buffers (1× → {GROWTH}× other tenants) grew with the platform: {grew}"
    # The same page runs the same queries in both sets: the counts are pinned by the data, not the size.
    assert {p: c[1] for p, c in small_costs.items()} == {p: c[1] for p, c in large_costs.items()}
