"""Who may call the pilot screens (workspaces, their figures, feedback triage, care meetings), as
named checks their routes declare (``core.access``). The workspace, item or meeting is loaded
first: a tenant that may not see it gets 404; one that sees it but may not do this, 403.
"""
from __future__ import annotations

from ..core.access import Asking, check
from . import feedback, meetings, service


@check("pilot_coordinator")
def coordinates(asking: Asking) -> bool:
    """A workspace: changed by its coordinating tenant's pilot coordinators only."""
    return service.is_coordinator(asking.subject)


@check("pilot_figures_reader")
def reads_figures(asking: Asking) -> bool:
    """A workspace's figures: its participating tenants, and of the coordinating tenant only its
    pilot coordinators."""
    return not service.runs(asking.subject) or service.is_coordinator(asking.subject)


@check("feedback_triager")
def triages(asking: Asking) -> bool:
    """The feedback board: the pilot coordinators of a tenant that runs a workspace now."""
    return feedback.coordinated_workspace() is not None


@check("feedback_item_coordinator")
def coordinates_item(asking: Asking) -> bool:
    """A feedback item: triaged by the coordinators of the workspace it was sent to; its sender reads."""
    return feedback.side_of(asking.subject) == feedback.COORDINATOR


@check("care_meeting_organiser")
def organises(asking: Asking) -> bool:
    """A new care meeting: members of the active tenant with an editor role."""
    return meetings.may_organise()


@check("care_meeting_editor")
def edits_meeting(asking: Asking) -> bool:
    """A care meeting: changed by the organising tenant's editors; its member tenants read it."""
    return meetings.can_edit(asking.subject)


@check("care_meeting_action_updater")
def updates_action(asking: Asking) -> bool:
    """A meeting's follow-up action: its status is kept by the assignee tenant (any member but
    view-only ones) or the organiser's editors."""
    return meetings.may_update_action(asking.subject)
