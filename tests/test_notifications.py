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


def _notice(app, tenant, title, recipient=None, minutes=0):
    from datetime import timedelta

    with app.app_context(), acting_as(tenant.id, None):
        notice = service.notify(tenant.id, "test", title, recipient_user_id=recipient.id if recipient else None)
        notice.created_at = notice.created_at.replace(year=2026, month=1, day=1, hour=0, minute=0) + timedelta(minutes=minutes)
        db.session.commit()


def test_the_inbox_merges_notices_to_everyone_and_to_me_newest_first_page_by_page(app, signed_in, make, monkeypatch):
    import re

    monkeypatch.setattr(service, "PER_PAGE", 2)
    browser, me, tenant = signed_in("viewer")
    colleague = make.member(tenant, roles=["viewer"])
    _notice(app, tenant, "모두1", minutes=1)
    _notice(app, tenant, "나에게2", me, minutes=2)
    _notice(app, tenant, "동료에게3", colleague, minutes=3)
    _notice(app, tenant, "모두4", minutes=4)
    _notice(app, tenant, "나에게5", me, minutes=5)

    def titles(page):
        shown = re.findall(r"(모두\d|나에게\d|동료에게\d)", browser.get(f"/notifications?page={page}").get_data(as_text=True))
        return list(dict.fromkeys(shown))  # each card names its title more than once

    assert titles(1) == ["나에게5", "모두4"]
    assert titles(2) == ["나에게2", "모두1"]
    assert "알림 4건" in browser.get("/notifications").get_data(as_text=True)


def test_mark_all_read_marks_my_inbox_only(app, signed_in, make):
    from sqlalchemy import select

    from hanaro.notifications.models import Notification

    browser, me, tenant = signed_in("viewer")
    colleague = make.member(tenant, roles=["viewer"])
    other_tenant = make.tenant()
    _notice(app, tenant, "모두", minutes=1)
    _notice(app, tenant, "나에게", me, minutes=2)
    _notice(app, tenant, "동료에게", colleague, minutes=3)
    _notice(app, other_tenant, "남의 기관", minutes=4)
    assert browser.post("/notifications/read").status_code == 303
    read = {}
    for owner in (tenant, other_tenant):
        with app.app_context(), acting_as(owner.id, None):
            read.update(db.session.execute(select(Notification.title, Notification.read_at.is_not(None))
                                           .where(Notification.tenant_id == owner.id)).all())
    assert read == {"모두": True, "나에게": True, "동료에게": False, "남의 기관": False}
