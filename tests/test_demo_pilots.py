"""The demo pilot data: feedback in every column of the coordinators' board and two regional care
meetings, loaded through the pilots services as each tenant's user under the tenancy rules (RLS
on PostgreSQL), each tenant seeing what it should, loaded once however often the loader runs."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hanaro.clients.models import Client
from hanaro.core import clock
from hanaro.core.db import db
from hanaro.demo import caseload, catalogue, pilots, referrals
from hanaro.pilots import feedback as feedback_service
from hanaro.pilots import meetings as meeting_service
from hanaro.pilots.models import (
    ActionStatus, AgendaItem, AgendaKind, CareMeeting, CareMeetingMember, Feedback, FeedbackCategory, FeedbackComment,
    FeedbackStatus, MeetingAction, Severity,
)
from hanaro.tenancy import registry
from hanaro.tenancy.context import acting_as
from hanaro.tenancy.models import Membership, Tenant

from .helpers import login

JEJU = Path(__file__).resolve().parents[1] / "tenants" / "jeju-pilot.toml"
PASSWORD = "hanaro-demo-2026"
PARTICIPANTS = ("hallim-dong", "aewol-dong", "namwon-dong", "halla-welfare", "seogwipo-welfare", "jeju-foodbank",
                "dolbom-neighbours")


def _load_prerequisites():
    registry.apply(JEJU, demo=True)
    caseload.apply()
    catalogue.apply()
    referrals.apply()


@pytest.fixture
def loaded(ctx):
    _load_prerequisites()
    result = pilots.apply()
    world = pilots.World.find()
    return result, world


def _feedback(world) -> list[Feedback]:
    with acting_as(world.coordinator_tenant.id, None):
        return list(db.session.scalars(select(Feedback).where(Feedback.workspace_id == world.workspace.id)
                                       .order_by(Feedback.id)))


def _comments(world, item) -> list[FeedbackComment]:
    with acting_as(world.coordinator_tenant.id, None):
        return list(db.session.scalars(select(FeedbackComment).where(FeedbackComment.feedback_id == item.id)
                                       .order_by(FeedbackComment.id)))


def _meetings(world) -> list[CareMeeting]:
    with acting_as(world.organiser.id, None):
        return list(db.session.scalars(select(CareMeeting).order_by(CareMeeting.held_on)))


def _is_member(tenant_id: int, user_id: int) -> bool:
    with acting_as(tenant_id, None):
        return db.session.scalar(select(Membership.id).where(Membership.tenant_id == tenant_id,
                                                             Membership.user_id == user_id)) is not None


def test_the_board_has_feedback_in_every_column_sent_and_triaged_through_the_service(loaded):
    result, world = loaded
    items = _feedback(world)
    assert result["feedback"] == len(items) == len(pilots.DEMO_FEEDBACK)
    with pilots.as_member(world.coordinator_tenant, world.coordinator):  # what the coordinator's board shows
        board = Counter(i.status for i in feedback_service.board_items(world.workspace, feedback_service.BoardFilter()))
    assert set(board) == set(FeedbackStatus) and all(n >= 2 for n in board.values())
    assert result["columns"] == {s.value: board[s] for s in feedback_service.BOARD_COLUMNS}
    assert {i.category for i in items} == set(FeedbackCategory)
    assert {i.severity for i in items} == set(Severity)
    by_code = {t.id: t.code for t in world.tenants.values()}
    submitters = Counter(by_code[i.tenant_id] for i in items)
    assert len(submitters) >= 5 and set(submitters) <= set(PARTICIPANTS)
    assert all(_is_member(i.tenant_id, i.submitter_user_id) for i in items)
    assert all(i.coordinator_tenant_id == world.coordinator_tenant.id and i.phase for i in items)
    assert len({i.created_at.date() for i in items}) >= 10 and all(i.created_at.date() <= clock.today() for i in items)

    for item in items:
        comments = _comments(world, item)
        moves = [c for c in comments if c.status_to is not None]
        # Every move was made by the province's pilot coordinator and recorded; the last one is the status.
        assert all(c.author_tenant_id == world.coordinator_tenant.id and c.author_user_id == world.coordinator.id
                   for c in moves)
        if item.status is FeedbackStatus.RECEIVED:
            assert moves == []
        else:
            assert moves[-1].status_to is item.status
        if item.status is FeedbackStatus.REJECTED:
            assert moves[-1].body  # the reason, shown to the submitter
    everyone = [c for item in items for c in _comments(world, item) if c.body]
    assert {c.author_tenant_id for c in everyone} > {world.coordinator_tenant.id}  # submitters answered too
    assert any(c.status_to is None and c.author_tenant_id == world.coordinator_tenant.id for c in everyone)
    assert any(i.assignee_user_id == world.coordinator.id for i in items)
    assert sum(1 for i in items if i.tags) >= 10

    [duplicate] = [i for i in items if i.merged_into_id]
    survivor = next(i for i in items if i.id == duplicate.merged_into_id)
    assert duplicate.tenant_id != survivor.tenant_id
    assert duplicate.status is survivor.status is FeedbackStatus.PLANNED

    # Sent from pages as the real form would: kept as paths without ids, titles without names.
    with_page = [i for i in items if i.page_url]
    assert 8 <= len(with_page) < len(items)
    assert {i.capability for i in with_page} >= {"referrals", "cases", "resources", "clients"}
    assert any("<id>" in i.page_url for i in with_page)
    public_id = re.compile(r"[A-Za-z0-9_-]{16}")
    names = set()
    for code in ("halla-welfare", "hallim-dong", "seogwipo-welfare"):
        with acting_as(world.tenants[code].id, None):
            names |= set(db.session.scalars(select(Client.name).where(Client.tenant_id == world.tenants[code].id)))
    for item in with_page:
        assert "?" not in item.page_url and not public_id.search(item.page_url), item.page_url
        assert item.page_title and not any(name in item.page_title for name in names), item.page_title


def test_two_care_meetings_with_agenda_minutes_and_actions(loaded):
    result, world = loaded
    today = clock.today()
    past, upcoming = _meetings(world)
    assert result["meetings"] == result["meeting_count"] == 2 and result["upcoming"] == 1
    assert past.held_on < today < upcoming.held_on
    assert past.workspace_id == upcoming.workspace_id == world.workspace.id
    assert past.created_by_user_id == upcoming.created_by_user_id == world.organiser_user.id
    with acting_as(world.organiser.id, None):
        members = list(db.session.scalars(select(CareMeetingMember).where(CareMeetingMember.meeting_id == past.id)))
        items = meeting_service.items_of(past)
        actions = meeting_service.actions_of(past)
        upcoming_items = meeting_service.items_of(upcoming)
        assert meeting_service.actions_of(upcoming) == []
    kinds = {world.tenants[code].id: world.tenants[code].kind.value for code in world.tenants}
    member_kinds = {kinds[m.member_tenant_id] for m in members if m.member_tenant_id}
    assert {"dong_centre", "province"} <= member_kinds and "ngo" in member_kinds  # public and private
    assert any(m.external_name and m.external_affiliation for m in members)

    assert past.minutes and not upcoming.minutes
    assert [i.kind for i in items] == [AgendaKind.CASE, AgendaKind.POLICY, AgendaKind.POLICY]
    assert all(i.discussion and i.decision for i in items)
    assert items[0].case_id == world.agenda_case.id and world.agenda_case.tenant_id == world.organiser.id
    assert len(upcoming_items) >= 2 and all(i.kind is AgendaKind.POLICY and not i.decision for i in upcoming_items)

    member_ids = {m.member_tenant_id for m in members}
    assert all(a.assignee_tenant_id in member_ids and a.due_on >= past.held_on for a in actions)
    overdue = [a for a in actions if meeting_service.is_overdue(a, today)]
    done = [a for a in actions if a.status is ActionStatus.DONE]
    still_open = [a for a in actions if a.status is ActionStatus.OPEN and a.due_on >= today]
    assert len(overdue) == 1 and len(done) == 1 and still_open
    assert done[0].status_note and done[0].due_on < today
    assert result["actions"] == {"total": len(actions), "overdue": 1, "done": 1}
    # Each action is on its assignee's task list, the overdue one flagged.
    for action in actions:
        tenant = next(t for t in world.tenants.values() if t.id == action.assignee_tenant_id)
        with pilots.as_member(tenant, world.writer(tenant.code)):
            rows = {row.action.id: row for row in meeting_service.task_list("all", today)}
        assert rows[action.id].overdue == (action in overdue)


def test_each_tenant_sees_only_what_the_rules_give_it(loaded):
    _, world = loaded
    items = _feedback(world)
    for code in PARTICIPANTS + ("seogwipo-city", "jeju-health-centre"):
        tenant = world.tenants[code]
        with acting_as(tenant.id, None):
            seen = set(db.session.scalars(select(Feedback.id)))
            comments = set(db.session.scalars(select(FeedbackComment.feedback_id)))
        own = {i.id for i in items if i.tenant_id == tenant.id}
        assert seen == own and comments <= own, code
    with acting_as(world.tenants["aewol-dong"].id, None):  # takes part, sent nothing: sees nothing
        assert db.session.scalar(select(func.count()).select_from(Feedback)) == 0

    past, upcoming = _meetings(world)
    for code in ("hallim-dong", "halla-welfare", "aewol-dong"):  # in the pilot, not at these meetings
        with acting_as(world.tenants[code].id, None):
            assert db.session.scalars(select(CareMeeting)).all() == []
            assert db.session.scalars(select(AgendaItem)).all() == []
            assert db.session.scalars(select(MeetingAction)).all() == []
    # The case on the agenda: the partner running it sees the client's initial; a private
    # member without case access sees only that there is a case item.
    with pilots.as_member(world.tenants["namwon-dong"], world.users["planner@namwon.demo"]):
        case_entry = meeting_service.agenda_for_viewer(meeting_service.get_meeting_or_404(past.public_id))[0]
        assert case_entry.visible and case_entry.case.id == world.agenda_case.id and "○" in case_entry.client_initial
    with pilots.as_member(world.tenants["dolbom-neighbours"], world.users["registrar@dolbom.demo"]):
        entries = meeting_service.agenda_for_viewer(meeting_service.get_meeting_or_404(past.public_id))
        assert not entries[0].visible and entries[0].case is None and entries[0].client_initial is None
        assert all(e.visible for e in entries[1:])
        # A member sees its own membership row, not the others'.
        rows = meeting_service.members_of(meeting_service.get_meeting_or_404(past.public_id))
        assert [r.member_tenant_id for r in rows] == [world.tenants["dolbom-neighbours"].id]


def test_loading_again_adds_nothing(loaded):
    result, world = loaded

    def counts():
        found = Counter()
        with acting_as(world.coordinator_tenant.id, None):
            for model in (Feedback, FeedbackComment):
                found[model.__name__] = db.session.scalar(select(func.count()).select_from(model))
        with acting_as(world.organiser.id, None):
            for model in (CareMeeting, CareMeetingMember, AgendaItem, MeetingAction):
                found[model.__name__] = db.session.scalar(select(func.count()).select_from(model))
        return found

    before = counts()
    again = pilots.apply()
    assert again == {**result, "feedback": 0, "meetings": 0}
    assert pilots.summary(again).startswith("pilots: already present — feedback received 3, reviewing 3, planned 4")
    assert counts() == before


def test_the_loader_needs_the_caseload_and_the_referrals_first(ctx):
    with pytest.raises(referrals.MissingDemoData, match="flask tenants apply --demo"):
        pilots.apply()
    registry.apply(JEJU, demo=True)
    with pytest.raises(referrals.MissingDemoData, match="flask demo caseload"):
        pilots.apply()
    caseload.apply()
    catalogue.apply()
    with pytest.raises(referrals.MissingDemoData, match="flask demo referrals") as error:
        pilots.apply()
    assert "flask demo caseload" not in str(error.value)
    province = db.session.scalar(select(Tenant).where(Tenant.code == "jeju-province"))
    with acting_as(province.id, None):
        assert db.session.scalar(select(func.count()).select_from(Feedback)) == 0
        assert db.session.scalar(select(func.count()).select_from(CareMeeting)) == 0


def test_the_cli_loads_in_demo_mode_only_and_once(app, monkeypatch):
    runner = app.test_cli_runner()
    with app.app_context():
        _load_prerequisites()
        db.session.commit()
    monkeypatch.setitem(app.config, "HANARO_DEMO", False)
    result = runner.invoke(args=["demo", "pilots"])
    assert result.exit_code != 0 and "demo mode" in result.output
    monkeypatch.setitem(app.config, "HANARO_DEMO", True)
    result = runner.invoke(args=["demo", "pilots"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("pilots: added 15 feedback items, 2 care meetings — feedback received 3, "
                                    "reviewing 3, planned 4, done 3, rejected 2; care meetings 2 (1 upcoming), "
                                    "actions 4 (1 overdue, 1 done)")
    result = runner.invoke(args=["demo", "pilots"])
    assert result.exit_code == 0 and result.output.startswith("pilots: already present")


def test_the_coordinator_and_the_members_find_it_on_their_screens(app):
    with app.app_context():
        _load_prerequisites()
        pilots.apply()
        db.session.commit()
    coordinator = app.test_client()
    assert login(coordinator, "coordinator@jeju.demo", PASSWORD).status_code == 303
    board = coordinator.get("/feedback/board").get_data(as_text=True)
    columns = dict(re.findall(r'id="column-(\w+)">[^<]*<span class="feedback-column__count">(\d+)', board))
    assert columns == {"received": "3", "reviewing": "3", "planned": "4", "done": "3", "rejected": "2"}
    meetings = coordinator.get("/care-meetings").get_data(as_text=True)
    assert "겨울철 돌봄 공백 점검" in meetings and "시범운영 중간 점검" in meetings

    planner = app.test_client()
    assert login(planner, "planner@namwon.demo", PASSWORD).status_code == 303
    tasks = planner.get("/care-meetings/actions").get_data(as_text=True)
    assert "대상 가구 긴급복지 연료비 지원 신청과 결과 공유" in tasks and "기한 지남" in tasks
    mine = planner.get("/feedback/mine").get_data(as_text=True)
    assert "긴급복지 생계지원은 당일 지원이 필요한 경우가 많은데" in mine
    assert "자원 검색에서 '돌봄'" not in mine  # 한라종합사회복지관's, not theirs
