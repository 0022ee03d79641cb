"""E-mail settings per user and kind; the unread badge in the header, refreshed by htmx."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from hanaro.accounts.models import UserSession
from hanaro.core.db import db, utcnow
from hanaro.notifications import service
from hanaro.notifications.kinds import KINDS
from hanaro.notifications.models import NotificationPreference
from hanaro.tenancy.context import acting_as

from .conftest import make_app
from .helpers import csrf_token_from, login


def _checked(page: str) -> set[str]:
    import re

    return {m.group(1) for m in re.finditer(r'name="email_kinds" value="([a-z_]+)"\s*checked', page)}


def _post(app, tenant, title, recipient=None, sender=None):
    with app.app_context(), acting_as((sender or tenant).id, None):
        notification = service.notify(tenant.id, "referral_received", title,
                                      recipient_user_id=recipient.id if recipient else None)
        db.session.commit()
        return notification


# -- settings -------------------------------------------------------------------------------------------

def test_the_settings_screen_shows_the_defaults_and_is_linked_from_the_inbox(signed_in):
    browser, user, _ = signed_in("case_manager")
    assert 'href="/notifications/settings"' in browser.get("/notifications").get_data(as_text=True)
    page = browser.get("/notifications/settings").get_data(as_text=True)
    assert "알림 메일 설정" in page and user.email in page and "대상자 정보는 담지 않습니다" in page
    assert _checked(page) == {code for code, kind in KINDS.items() if kind.email_default}
    assert {"referral_received", "referral_message", "case_invitation"} <= _checked(page)
    assert "resource_stale" not in _checked(page)
    for label in ("서비스 의뢰를 받았을 때", "사례관리 협업 초대를 받았을 때", "확인하지 않은 자원 정보가 숨겨졌을 때"):
        assert label in page


def test_saving_keeps_exactly_the_checked_kinds(app, signed_in):
    browser, user, _ = signed_in("case_manager")
    response = browser.post("/notifications/settings", data={"email_kinds": ["resource_stale", "referral_overdue"]})
    assert response.status_code == 303 and response.location.endswith("/notifications/settings")
    page = browser.get(response.location).get_data(as_text=True)
    assert "알림 메일 설정을 저장했습니다." in page
    assert _checked(page) == {"resource_stale", "referral_overdue"}
    with app.app_context():
        assert service.wants_email(user.id, "resource_stale") and not service.wants_email(user.id, "referral_received")
    # Nothing checked: every kind off.
    assert browser.post("/notifications/settings", data={}).status_code == 303
    assert _checked(browser.get("/notifications/settings").get_data(as_text=True)) == set()


def test_an_unknown_kind_is_refused_in_korean_and_nothing_is_saved(app, signed_in):
    browser, user, _ = signed_in("viewer")
    response = browser.post("/notifications/settings", data={"email_kinds": ["referral_received", "everything"]})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "목록에 있는 값을 고르세요." in page and "고른 값을 확인하세요." in page
    assert _checked(page) == {"referral_received"}  # what was typed stays
    with app.app_context():
        assert db.session.scalars(select(NotificationPreference).where(
            NotificationPreference.user_id == user.id)).all() == []


def test_preferences_belong_to_the_user_in_every_tenant(app, make):
    first, second = make.tenant(), make.tenant()
    user = make.member(first)
    make.membership(user, second)
    with app.app_context():
        service.set_email_preferences(user.id, {"case_invitation"})
        db.session.commit()
        with acting_as(second.id, user.id):
            assert service.email_preferences(user.id)["case_invitation"] is True
            assert service.email_preferences(user.id)["referral_received"] is False


def test_the_settings_form_needs_a_csrf_token(database_config, make):
    csrf_app = make_app(database_config, WTF_CSRF_ENABLED=True)
    user = make.member(make.tenant())
    browser = csrf_app.test_client()
    token = csrf_token_from(browser.get("/login").get_data(as_text=True))
    browser.post("/login", data={"email": user.email, "password": "correct horse battery", "csrf_token": token})
    assert browser.post("/notifications/settings", data={"email_kinds": []}).status_code == 400
    token = csrf_token_from(browser.get("/notifications/settings").get_data(as_text=True))
    assert browser.post("/notifications/settings", data={"csrf_token": token}).status_code == 303


# -- unread badge ----------------------------------------------------------------------------------------

def test_the_badge_polls_and_counts_and_marking_one_read_refreshes_it(app, signed_in, make):
    browser, user, tenant = signed_in("case_manager")
    sender = make.tenant()
    first = _post(app, tenant, "첫 알림", sender=sender)
    _post(app, tenant, "둘째 알림", recipient=user, sender=sender)
    _post(app, tenant, "남의 알림", recipient=make.member(tenant), sender=sender)
    page = browser.get("/").get_data(as_text=True)
    assert 'hx-get="/notifications/unread"' in page and 'hx-trigger="every 60s, hanaro:notifications-changed from:body"' in page
    badge = browser.get("/notifications/unread", headers={"HX-Request": "true"})
    assert badge.status_code == 200 and "읽지 않은 알림 2개" in badge.get_data(as_text=True)
    assert "<html" not in badge.get_data(as_text=True)

    answer = browser.post(f"/notifications/{first.public_id}/read",
                          headers={"HX-Request": "true", "HX-Target": f"notification-{first.public_id}"})
    card = answer.get_data(as_text=True)
    assert answer.status_code == 200 and answer.headers["HX-Trigger"] == "hanaro:notifications-changed"
    assert card.lstrip().startswith("<li") and "첫 알림" in card and "새 알림" not in card
    assert "읽지 않은 알림 1개" in browser.get("/notifications/unread").get_data(as_text=True)

    # Without JavaScript the same button posts a form and comes back to the inbox.
    second = browser.get("/notifications").get_data(as_text=True)
    assert second.count("읽음으로 표시<span") == 1
    browser.post("/notifications/read")
    empty = browser.get("/notifications/unread").get_data(as_text=True)
    assert "읽지 않은 알림" not in empty and 'id="unread-badge"' in empty  # still there, to poll


def test_marking_one_read_without_htmx_redirects_to_the_inbox(app, signed_in, make):
    browser, user, tenant = signed_in("viewer")
    notification = _post(app, tenant, "하나", recipient=user, sender=make.tenant())
    response = browser.post(f"/notifications/{notification.public_id}/read")
    assert response.status_code == 303 and response.location.endswith("/notifications")


def test_polling_the_badge_does_not_keep_an_idle_session_alive(app, signed_in):
    browser, user, _ = signed_in("viewer")
    earlier = utcnow() - timedelta(minutes=10)

    def last_seen():
        with app.app_context():
            return db.session.scalar(select(UserSession.last_seen_at).where(UserSession.user_id == user.id,
                                                                             UserSession.ended_at.is_(None)))

    def rewind():
        with app.app_context():
            for s in db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)):
                s.last_seen_at = earlier
            db.session.commit()

    rewind()
    assert browser.get("/notifications/unread", headers={"HX-Request": "true"}).status_code == 200
    assert last_seen() == earlier
    browser.get("/notifications")  # a page the user opened is activity
    assert last_seen() > earlier
