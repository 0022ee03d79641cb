"""The in-app inbox: a tenant sees its own notifications; others cannot read them."""
from hanaro.core.db import db
from hanaro.notifications import service
from hanaro.tenancy.context import acting_as


def test_a_notification_sent_to_a_tenant_shows_in_its_inbox_only(app, signed_in, make):
    browser, user, tenant = signed_in("case_manager")
    outsider, _, _ = signed_in("case_manager")
    sender = make.tenant()
    with app.app_context(), acting_as(sender.id, None):
        service.notify(tenant.id, "test", "사례 초대가 도착했습니다")
        db.session.commit()
    page = browser.get("/").get_data(as_text=True)
    assert "읽지 않은 알림 1개" in page
    assert "사례 초대가 도착했습니다" in browser.get("/notifications").get_data(as_text=True)
    assert "사례 초대가 도착했습니다" not in outsider.get("/notifications").get_data(as_text=True)
    assert browser.post("/notifications/read").status_code == 303
    assert "읽지 않은 알림" not in browser.get("/").get_data(as_text=True)


def test_a_tenant_cannot_post_into_an_inbox_as_someone_else(app, ctx, make):
    import pytest

    from hanaro.notifications.models import Notification
    from hanaro.tenancy.orm_filter import TenantWriteRefused

    a, b, c = make.tenant(), make.tenant(), make.tenant()
    with acting_as(a.id, None):
        db.session.add(Notification(tenant_id=b.id, sender_tenant_id=c.id, kind="x", title="위장"))
        with pytest.raises(TenantWriteRefused):
            db.session.flush()


def test_empty_inbox(signed_in):
    browser, _, _ = signed_in("viewer")
    assert "새 알림이 없습니다." in browser.get("/notifications").get_data(as_text=True)
