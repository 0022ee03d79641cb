"""Pinned query counts: a page must not grow a query per row."""
from .helpers import count_queries


def test_home_and_members_pages_use_a_fixed_number_of_queries(app, make, signed_in):
    client, admin, tenant = signed_in("tenant_admin")
    for partner_number in range(3):
        make.agreement(tenant, make.tenant())
    client.get("/")  # warm up
    with app.app_context(), count_queries() as home_queries:
        assert client.get("/").status_code == 200
    few_members = _members_page_queries(app, client)
    for _ in range(5):
        make.member(tenant)
    many_members = _members_page_queries(app, client)
    # Session with its user, memberships with tenants, agreements, member count, tenant region;
    # the header's questions in one statement (자원배분 and pilot menus, unread notifications) and the
    # feature switches in one (the feedback button's and the care-meeting task count's).
    assert home_queries() == 7
    # + the header's statement and the feature switches' on every page
    assert many_members == few_members == 5


def _members_page_queries(app, client):
    with app.app_context(), count_queries() as queries:
        assert client.get("/admin/members").status_code == 200
    return queries()
