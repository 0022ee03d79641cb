"""Feature switches: a capability can be on for a pilot workspace's tenants only (closed beta), for
everyone, or off. The switch is read here and only here — by ``core.access`` for endpoints marked
``@behind_feature(key)`` and by templates through ``is_enabled`` (e.g. the feedback button)."""
from __future__ import annotations

from flask import g, has_request_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from ..core.db import db
from .models import FeatureSwitch, Participant, SwitchState, Workspace

# Switchable capabilities and whether each is on when no switch row exists yet.
FEATURES = {
    "pilot_feedback": (_l("현장 의견 보내기"), False),
    "care_meetings": (_l("지역케어회의"), False),
    "pilot_metrics": (_l("시범사업 지표"), True),
}


def is_enabled(key: str, tenant_id: int | None) -> bool:
    cache = g.setdefault("feature_switches", {}) if has_request_context() else {}
    if (key, tenant_id) not in cache:
        cache[(key, tenant_id)] = _decide(key, tenant_id)
    return cache[(key, tenant_id)]


def _decide(key: str, tenant_id: int | None) -> bool:
    switch = _switches().get(key)
    if switch is None:
        return FEATURES.get(key, (None, False))[1]
    if switch.state is SwitchState.EVERYONE:
        return True
    if switch.state is SwitchState.OFF or tenant_id is None or switch.workspace_id is None:
        return False
    return takes_part(tenant_id, switch.workspace_id)


def _switches() -> dict[str, FeatureSwitch]:
    """Every switch row (one per capability), read once per request: a page asks about several."""
    if not has_request_context():
        return {switch.key: switch for switch in db.session.scalars(select(FeatureSwitch))}
    if "feature_switch_rows" not in g:
        g.feature_switch_rows = {switch.key: switch for switch in db.session.scalars(select(FeatureSwitch))}
    return g.feature_switch_rows


def takes_part(tenant_id: int, workspace_id: int) -> bool:
    """The coordinating tenant, or a participant that has not left."""
    runs_it = select(Workspace.id).where(Workspace.id == workspace_id, Workspace.tenant_id == tenant_id)
    participates = select(Participant.id).where(Participant.workspace_id == workspace_id,
                                                Participant.participant_tenant_id == tenant_id,
                                                Participant.left_on.is_(None))
    return db.session.scalar(select(or_(runs_it.exists(), participates.exists()))) is True
