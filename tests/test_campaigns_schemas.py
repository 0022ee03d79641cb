"""The campaign forms: Korean messages next to fields, and form rows paired into the shapes the
service takes (a blank quota is "no limit", a bad one reaches the service and is refused there)."""
from __future__ import annotations

from werkzeug.datastructures import MultiDict

# Imported inside the tests: fields take the Korean messages the app installs when it is created.


def test_a_campaign_form_becomes_the_services_rows(app):
    from hanaro.campaigns import schemas

    form = MultiDict([("title", "김장 나눔"), ("category", "kimjang"), ("quantity", "100"), ("opens_on", "2026-11-01"),
                      ("closes_on", "2026-11-20"), ("nominator_tenant", "seongsu-1"), ("nominator_quota", "5"),
                      ("nominator_tenant", "food-bank"), ("nominator_quota", ""), ("quota_dong", "1120065000"),
                      ("quota_households", "x")])
    with app.test_request_context(method="POST", data=form):
        from hanaro.core.forms import parse_form

        data, errors = parse_form(schemas.CampaignForm())
    assert errors == {}
    values = schemas.rows(data)
    assert values["nominators"] == [{"tenant": "seongsu-1", "quota": 5}, {"tenant": "food-bank", "quota": None}]
    assert values["dong_quotas"] == [{"dong": "1120065000", "quota": -1}]
    assert "nominator_tenant" not in values and values["quantity"] == 100


def test_bad_campaign_input_is_answered_in_korean_next_to_the_field(app):
    from hanaro.campaigns import schemas
    from hanaro.core.forms import parse_form

    form = MultiDict([("title", ""), ("category", "cars"), ("quantity", "많이"), ("opens_on", "11/01")])
    with app.test_request_context(method="POST", data=form):
        data, errors = parse_form(schemas.CampaignForm())
    assert data is None
    assert errors == {"title": ["필수 입력 항목입니다."], "category": ["목록에 있는 값을 고르세요."],
                      "quantity": ["숫자를 입력하세요."], "opens_on": ["날짜를 YYYY-MM-DD 형식으로 입력하세요."],
                      "closes_on": ["필수 입력 항목입니다."]}
