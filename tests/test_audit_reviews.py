"""The monthly review record: one per month per tenant, double submits create one, the flag count
is captured, bad input is explained in Korean."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from hanaro.audit import service
from hanaro.audit.models import AccessReview
from hanaro.core.db import db
from hanaro.tenancy.context import acting_as

from .helpers import login


def _reviews(app, tenant):
    with app.app_context(), acting_as(tenant.id, None):
        return db.session.scalars(select(AccessReview)).all()


@pytest.fixture
def officer(app, make):
    tenant = make.tenant(name="검토복지관")
    user = make.member(tenant, roles=["privacy_officer"], name="검토책임자")
    client = app.test_client()
    login(client, user.email)
    return client, tenant, user


def test_an_officer_records_a_review_with_the_months_flag_count(app, make, officer):
    client, tenant, user = officer
    worker = make.member(tenant, name="대량열람자")
    make.accesses(worker, tenant, make.clients(tenant, 30), datetime(2026, 3, 10, 1, tzinfo=timezone.utc))
    page = client.get("/audit/reviews?month=2026-03").get_data(as_text=True)
    assert "대량열람자" in page and "이상 징후 1건" in page
    response = client.post("/audit/reviews", data={"month": "2026-03", "findings": "대량열람자: 가구 일괄 재조사, 정당함 확인",
                                                  "submission_token": "t-1"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/audit/reviews?month=2026-03")
    reviews = _reviews(app, tenant)
    assert [(r.month, r.reviewed_by_user_id, r.flagged_count) for r in reviews] == [("2026-03", user.id, 1)]
    listing = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "가구 일괄 재조사" in listing and "검토책임자" in listing and "검토 완료" in listing
    assert "2026-03 월간 검토를 기록했습니다(이상 징후 1건)." in listing


def test_a_double_submitted_review_is_recorded_once(app, officer):
    client, tenant, _user = officer
    data = {"month": "2026-02", "findings": "이상 없음(전체 열람 312건 확인)", "submission_token": "same-token"}
    first = client.post("/audit/reviews", data=data)
    second = client.post("/audit/reviews", data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert len(_reviews(app, tenant)) == 1


def test_a_second_review_of_the_same_month_is_refused_in_korean_and_input_kept(app, officer):
    client, tenant, _user = officer
    client.post("/audit/reviews", data={"month": "2026-02", "findings": "이상 없음", "submission_token": "a"})
    response = client.post("/audit/reviews", data={"month": "2026-02", "findings": "다시 검토한 내용", "submission_token": "b"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="month-error"' in page and "2026-02 검토 기록이 이미 있습니다. 한 달에 한 번만 기록할 수 있습니다." in page
    assert "다시 검토한 내용" in page
    assert len(_reviews(app, tenant)) == 1


def test_the_service_refuses_a_duplicate_even_when_the_first_check_is_raced(app, officer, monkeypatch):
    from hanaro.core.rules import RuleViolation

    client, tenant, user = officer
    client.post("/audit/reviews", data={"month": "2026-01", "findings": "이상 없음", "submission_token": "a"})
    monkeypatch.setattr(service, "review_for", lambda month: None)  # as if a concurrent request won
    with app.test_request_context(), acting_as(tenant.id, user.id):
        with pytest.raises(RuleViolation, match="이미 있습니다"):
            service.record_review("2026-01", "경합", user)
        assert len(db.session.scalars(select(AccessReview)).all()) == 1


def test_bad_review_input_is_explained_next_to_the_fields(app, officer):
    client, tenant, _user = officer
    response = client.post("/audit/reviews", data={"month": "2026-13", "findings": "", "submission_token": "x"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="month-error"' in page and "검토 월을 YYYY-MM 형식으로 입력하세요." in page
    assert 'id="findings-error"' in page and "검토 결과(발견 사항)를 입력하세요." in page
    assert 'value="2026-13"' in page
    for unfinished in (service.current_month(), f"{datetime.now().year + 1}-01"):
        response = client.post("/audit/reviews", data={"month": unfinished, "findings": "미리 검토", "submission_token": unfinished})
        assert response.status_code == 422
        assert "아직 끝나지 않은 달은 검토할 수 없습니다." in response.get_data(as_text=True)
    response = client.get("/audit/reviews?month=13-2026")
    assert response.status_code == 422 and 'id="preview-month-error"' in response.get_data(as_text=True)
    assert _reviews(app, tenant) == []


def test_reviews_are_per_tenant(app, make, officer):
    client, tenant, user = officer
    client.post("/audit/reviews", data={"month": "2026-02", "findings": "우리 기관 검토 결과", "submission_token": "a"})
    other = make.tenant()
    other_officer = app.test_client()
    login(other_officer, make.member(other, roles=["privacy_officer"]).email)
    page = other_officer.get("/audit/reviews?month=2026-02").get_data(as_text=True)
    assert "우리 기관 검토 결과" not in page and "검토 완료" not in page
    # The same month is free for the other tenant (the unique key is per tenant).
    response = other_officer.post("/audit/reviews", data={"month": "2026-02", "findings": "다른 기관 검토", "submission_token": "a"})
    assert response.status_code == 303
    assert len(_reviews(app, tenant)) == 1 and len(_reviews(app, other)) == 1
