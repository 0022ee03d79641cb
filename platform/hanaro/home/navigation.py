"""The main menu, by what the signed-in user may do in the active tenant."""
from __future__ import annotations

from flask import g
from flask_babel import lazy_gettext as _l, pgettext
from sqlalchemy import select

from ..campaigns import service as campaigns
from ..core.db import db
from ..core.paging import as_count, capped_count_column
from ..notifications import service as notifications
from ..oversight import service as oversight
from ..pilots import service as pilots
from ..tenancy.models import Role


def nav_items_for(user, membership) -> list[tuple[str, str]]:
    items = [("home.index", str(_l("홈")))]
    if membership is not None:
        if membership.has_role(Role.CASE_MANAGER, Role.REFERRAL_COORDINATOR, Role.TENANT_ADMIN):
            items.append(("clients.index", str(pgettext("menu", "대상자"))))
        if membership.has_role(Role.CASE_MANAGER, Role.VIEWER):
            items.append(("cases.index", str(_l("사례관리"))))
        if membership.has_role(Role.RESOURCE_REGISTRAR, Role.CASE_MANAGER, Role.REFERRAL_COORDINATOR, Role.TENANT_ADMIN):
            items.append(("resources.index", str(_l("자원"))))
        if membership.has_role(Role.CASE_MANAGER, Role.REFERRAL_COORDINATOR, Role.TENANT_ADMIN, Role.VIEWER):
            items.append(("referrals.index", str(_l("서비스의뢰"))))
        if membership.has_role(Role.CAMPAIGN_ORGANISER) or (
                membership.has_role(Role.CASE_MANAGER, Role.REFERRAL_COORDINATOR, Role.TENANT_ADMIN)
                and campaigns.invited_to_any()):
            items.append(("campaigns.index", str(_l("자원배분"))))
        if oversight.shows_menu(membership):
            items.append(("oversight.index", str(_l("지도점검"))))
        items.append(("tenancy.agreements", str(_l("협약"))))
        items.append(("notifications.inbox", str(_l("알림"))))
        if pilots.shows_menu():
            items.append(("pilots.index", str(_l("시범사업"))))
        if membership.has_role(Role.TENANT_ADMIN):
            items.append(("tenancy.members", str(_l("구성원 관리"))))
            items.append(("tenancy.role_history", str(_l("권한 변경 이력"))))
        if membership.has_role(Role.PRIVACY_OFFICER):
            items.append(("audit.log", str(_l("개인정보 접근기록"))))
    if user.is_platform_operator:
        items.append(("tenancy.operator_tenants", str(_l("기관 관리(운영자)"))))
        items.append(("notifications.operator_failed", str(_l("발송 실패(운영자)"))))
    return items


def ask_header_questions(user) -> None:
    """What every full page's header asks about the active tenant — the 자원배분 and 시범사업 menu
    items and the unread count — in one statement instead of three. The answers land where
    ``campaigns.invited_to_any``, ``pilots.shows_menu`` and the layout's unread count keep them
    for the request."""
    if "unread_notifications" in g:
        return
    invited, pilots_menu, unread = db.session.execute(select(
        campaigns.invited_to_any_clause(), pilots.menu_clause(),
        capped_count_column(notifications.unread_of(user.id), notifications.UNREAD_CAP))).one()
    g.setdefault("campaigns_invited", invited is True)
    g.setdefault("pilots_in_menu", pilots_menu is True)
    g.unread_notifications = as_count(unread, notifications.UNREAD_CAP)
