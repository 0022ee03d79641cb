"""The pilot screens' own menu (시범사업 · 현장 의견 · 지역케어회의 · 지표), shown above every page of
the pilot blueprints: each entry only when its feature is on for the active tenant, and the
feedback entry leads coordinators to their board and everyone else to their own feedback."""
from __future__ import annotations

from flask import g, has_request_context, request
from flask_babel import lazy_gettext as _l

from . import feedback, features

PILOT_BLUEPRINTS = {"pilots", "feedback", "care_meetings", "pilot_metrics"}


def section_links() -> list[tuple[str, str]]:
    """(endpoint, label) pairs for the active member, empty outside the pilot screens."""
    if not has_request_context() or request.blueprint not in PILOT_BLUEPRINTS or g.get("membership") is None:
        return []
    tenant_id = g.membership.tenant_id
    links = [("pilots.index", str(_l("시범사업")))]
    if features.is_enabled("pilot_feedback", tenant_id):
        if feedback.is_pilot_coordinator() and feedback.coordinated_workspace() is not None:
            links.append(("feedback.board", str(_l("현장 의견 분류"))))
        links.append(("feedback.mine", str(_l("현장 의견"))))  # tabs there: mine, my organisation's, what changed: mine, my organisation's, what changed
    if features.is_enabled("care_meetings", tenant_id):
        links.append(("care_meetings.index", str(_l("지역케어회의"))))
        links.append(("care_meetings.tasks", str(_l("후속 조치"))))
    if features.is_enabled("pilot_metrics", tenant_id):
        links.append(("pilot_metrics.index", str(_l("시범사업 지표"))))
    return links
