"""Rules of feedback from the field (현장 의견): submitting from any page, the submitter's view,
the coordinators' triage (status, assignment, tags, merging duplicates, bulk moves), what changed,
and the reporting export. Callers commit.

Who sees what: a feedback row belongs to the submitter's tenant and is shared with the workspace's
coordinating tenant only (``FEEDBACK_SIDES``). Within the coordinating tenant only its pilot
coordinators triage; its other members see nothing but their own tenant's feedback.

Personal data: the page a feedback was sent from is kept as a path only (no query string, no
fragment) with every object id replaced by ``<id>``; an object page's title loses its first part
(the record's name: "김순자 · 대상자" → "대상자"). Notification titles carry a status, never the
description. Merged items follow their survivor's status on their own row (with a recorded comment)
so a submitter never has to read another tenant's row to learn what happened.
"""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import unquote, urlsplit

from flask import abort, current_app, g, has_request_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import Text, cast, false, func, or_, select, union_all
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from ..accounts.models import User
from ..core import clock, uploads
from ..core import spreadsheets
from ..core.db import db, utcnow
from ..core.paging import Count, capped_counts
from ..core.spreadsheets import safe_cell as _safe
from ..core.spreadsheets import to_csv  # noqa: F401 (the views export through this module)
from ..core.rules import RuleViolation
from ..notifications.service import notify
from ..tenancy import context
from ..tenancy.models import Membership, Region, Role, Tenant
from . import service as pilots
from .models import (
    FEEDBACK_CATEGORY_LABELS, FEEDBACK_STATUS_LABELS, PHASE_LABELS, SEVERITY_LABELS, Feedback, FeedbackCategory,
    FeedbackComment, FeedbackStatus, Severity, Workspace,
)

NOTICE_KIND = "pilot_feedback"
MAX_DESCRIPTION = 2000
MAX_COMMENT = 2000
MAX_SCREENSHOT_BYTES = 2 * 1024 * 1024
MAX_TAGS = 10
MAX_TAG_LENGTH = 30
ID_PLACEHOLDER = "<id>"

# Every public id is secrets.token_urlsafe(12): 16 URL-safe characters (core.db.new_public_id).
_PUBLIC_ID = re.compile(r"[A-Za-z0-9_-]{16,}")
_ROUTE_VARIABLE = re.compile(r"<(?:(?P<converter>[a-zA-Z_][a-zA-Z0-9_]*)(?:\((?P<args>[^)]*)\))?:)?(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)>")
_CAPABILITY = re.compile(r"[a-z][a-z0-9_-]{0,49}")

# 접수 → 검토 중 → 반영 예정 → 반영 완료 / 반려; finished items can be reopened for review.
S = FeedbackStatus
TRANSITIONS: dict[FeedbackStatus, tuple[FeedbackStatus, ...]] = {
    S.RECEIVED: (S.REVIEWING, S.PLANNED, S.REJECTED),
    S.REVIEWING: (S.RECEIVED, S.PLANNED, S.REJECTED),
    S.PLANNED: (S.REVIEWING, S.DONE, S.REJECTED),
    S.DONE: (S.REVIEWING,),
    S.REJECTED: (S.REVIEWING,),
}
BOARD_COLUMNS = (S.RECEIVED, S.REVIEWING, S.PLANNED, S.DONE, S.REJECTED)
ACTED_ON = (S.PLANNED, S.DONE, S.REJECTED)  # what the "what changed" page reports


class StaleChange(RuleViolation):
    """Someone else changed the item since the page was loaded (or at the same moment)."""


class InvalidMove(RuleViolation):
    """The item's status (or its being merged) does not allow this move."""


STALE_MESSAGE = _l("다른 코디네이터가 방금 이 의견을 바꿨습니다. 화면을 새로 고쳐 지금 상태를 확인한 뒤 다시 하세요.")


# -- the page a feedback was sent from --------------------------------------------------------------

@dataclass(frozen=True)
class Page:
    path: str | None
    title: str | None
    capability: str | None


def strip_page(url: str | None, title: str | None = None) -> Page:
    """The path of ``url`` without query string or fragment, object ids replaced by ``<id>``; the
    capability is the path's first segment; an object page's title loses the record's name."""
    if not url or not url.strip():
        return Page(None, _strip_title(title, had_id=False), None)
    parts = urlsplit(url.strip()[:2000])
    path = parts.path or "/"
    if not path.startswith("/"):
        path = "/" + path
    stripped = _from_route(path) or _from_segments(path)
    first = stripped.strip("/").split("/", 1)[0]
    capability = "home" if first == "" else first if _CAPABILITY.fullmatch(first) else None
    return Page(stripped[:500], _strip_title(title, had_id=ID_PLACEHOLDER in stripped), capability)


def _from_route(path: str) -> str | None:
    """The app's own route template for ``path``: every variable part is an id, except the values
    of ``any(...)`` converters (a fixed vocabulary such as an action name)."""
    adapter = current_app.url_map.bind("localhost")
    for method in ("GET", "POST"):
        try:
            rule, values = adapter.match(path, method=method, return_rule=True)
        except (NotFound, RequestRedirect):
            return None
        except MethodNotAllowed:
            continue
        if rule.endpoint == "static":
            return None

        def replace(match, values=values):
            if match.group("converter") == "any":
                return str(values.get(match.group("name"), ID_PLACEHOLDER))
            return ID_PLACEHOLDER

        return _ROUTE_VARIABLE.sub(replace, rule.rule)
    return None


def _from_segments(path: str) -> str:
    """A path the app does not know: drop every segment that could identify someone or something."""
    def clean(segment: str) -> str:
        text = unquote(segment)
        if not text:
            return segment
        if (_PUBLIC_ID.fullmatch(text) or text.isdigit() or len(text) > 40 or not text.isascii()
                or "@" in text or any(c.isdigit() for c in text) and len(text) >= 6):
            return ID_PLACEHOLDER
        return text if re.fullmatch(r"[A-Za-z0-9._-]+", text) else ID_PLACEHOLDER

    return "/".join(clean(s) for s in path.split("/")) or "/"


def _strip_title(title: str | None, had_id: bool) -> str | None:
    text = " ".join((title or "").split())
    if not text:
        return None
    parts = [p for p in text.split(" · ") if p]
    site_names = {"하나로", "Hanaro", str(_l("하나로"))}
    if parts and parts[-1] in site_names:
        parts = parts[:-1]
    if had_id:  # "<the record's name> · <section>": keep the section only
        parts = parts[1:]
    return " · ".join(parts)[:200] or None


# -- screenshots ------------------------------------------------------------------------------------

def check_screenshot(screenshot: tuple[str, bytes] | None) -> uploads.Upload | None:
    """The chosen image (name, content) typed by its content (PNG, JPEG, WebP, at most 2 MB);
    None when nothing was chosen."""
    if not screenshot or not screenshot[1]:
        return None
    filename, content = screenshot
    return uploads.check(content, filename, uploads.SCREENSHOTS, field="screenshot", max_bytes=MAX_SCREENSHOT_BYTES,
                         unnamed=True)


# -- submitting ---------------------------------------------------------------------------------------

def submit(values: dict, actor, screenshot: tuple[str, bytes] | None = None, page_url: str | None = None,
           page_title: str | None = None, written_at: datetime | None = None) -> Feedback:
    """New feedback from the active tenant to the coordinating tenant of the workspace it takes
    part in, with the page stripped of personal data, the tenant's region and the current phase.
    ``written_at`` is for a loaded history (the demo): only the submitter sets when it was written."""
    workspace = pilots.workspace_for_tenant()
    if workspace is None:
        raise RuleViolation(_l("우리 기관이 참여하는 시범사업이 없어 의견을 받을 곳이 없습니다."))
    description = (values.get("description") or "").strip()
    if not description:
        raise RuleViolation(_l("의견 내용을 적어 주세요."), field="description")
    if len(description) > MAX_DESCRIPTION:
        raise RuleViolation(_l("%(max)s자 이하로 입력하세요.", max=MAX_DESCRIPTION), field="description")
    image = check_screenshot(screenshot)
    page = strip_page(page_url, page_title)
    tenant = db.session.get(Tenant, context.current_tenant_id())
    period = pilots.current_phase(workspace)
    feedback = Feedback(
        workspace_id=workspace.id, coordinator_tenant_id=workspace.tenant_id, submitter_user_id=actor.id,
        category=FeedbackCategory(values["category"]), severity=Severity(values.get("severity") or Severity.MEDIUM),
        description=description, page_url=page.path, page_title=page.title, capability=page.capability,
        dong_code=tenant.region_code if tenant else None, phase=period.phase if period else None,
        screenshot_type=image.content_type if image else None, screenshot=image.content if image else None, tags=[],
        status=FeedbackStatus.RECEIVED, created_at=written_at or utcnow(),
    )
    db.session.add(feedback)
    db.session.flush()
    return feedback


# -- loading and sides --------------------------------------------------------------------------------

COORDINATOR, SUBMITTER = "coordinator", "submitter"


def is_pilot_coordinator() -> bool:
    membership = g.get("membership")
    return membership is not None and membership.has_role(Role.PILOT_COORDINATOR)


def side_of(feedback: Feedback) -> str | None:
    """``coordinator`` for a pilot coordinator of the coordinating tenant, ``submitter`` for the
    submitter's tenant; nobody else (not even the coordinating tenant's other members)."""
    tenant_id = context.current_tenant_id()
    if tenant_id is None:
        return None
    if tenant_id == feedback.coordinator_tenant_id and is_pilot_coordinator():
        return COORDINATOR
    if tenant_id == feedback.tenant_id:
        return SUBMITTER
    return None


def get_feedback_or_404(public_id: str) -> Feedback:
    feedback = db.session.scalar(select(Feedback).where(Feedback.public_id == public_id))
    if feedback is None or side_of(feedback) is None:
        abort(404)
    return feedback


def coordinated_workspace() -> Workspace | None:
    """The workspace the active member triages: their tenant runs it and they coordinate. Asked
    for by the route's check, the route and the page's menu: looked up once per request."""
    if not has_request_context():
        return _coordinated_workspace()
    known = g.setdefault("coordinated_workspaces", {})
    key = (context.current_tenant_id(), context.current_user_id())
    if key not in known:
        known[key] = _coordinated_workspace()
    return known[key]


def _coordinated_workspace() -> Workspace | None:
    workspace = pilots.workspace_for_tenant()
    if workspace is None or not pilots.is_coordinator(workspace):
        return None
    return workspace


def _require_coordinator(feedback: Feedback) -> None:
    side = side_of(feedback)
    if side is None:
        abort(404)
    if side != COORDINATOR:
        raise RuleViolation(_l("시범사업 코디네이터만 의견을 분류하고 처리할 수 있습니다."))


def _check_version(feedback: Feedback, version: int | None) -> None:
    if version is not None and version != feedback.version:
        raise StaleChange(STALE_MESSAGE)


def _flush() -> None:
    """The version column turns a concurrent change of the same item into a refusal, not a lost
    update; everything this request changed is rolled back with it."""
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise StaleChange(STALE_MESSAGE) from None


# -- status ---------------------------------------------------------------------------------------------

def allowed_targets(feedback: Feedback) -> tuple[FeedbackStatus, ...]:
    return () if feedback.merged_into_id else TRANSITIONS[feedback.status]


def transition_refusal(feedback: Feedback, to: FeedbackStatus) -> str | None:
    """Why ``feedback`` cannot move to ``to`` on its own, or None."""
    if feedback.merged_into_id is not None:
        return str(_l("중복으로 합쳐진 의견은 따로 옮길 수 없습니다. 남은 의견의 상태를 바꾸면 함께 바뀝니다."))
    if feedback.status is to:
        return str(_l("이미 '%(status)s' 상태입니다.", status=FEEDBACK_STATUS_LABELS[to]))
    if to not in TRANSITIONS[feedback.status]:
        return str(_l("'%(from)s'에서 '%(to)s'(으)로 바로 옮길 수 없습니다.", **{
            "from": FEEDBACK_STATUS_LABELS[feedback.status], "to": FEEDBACK_STATUS_LABELS[to]}))
    return None


def change_status(feedback: Feedback, to: FeedbackStatus, actor, comment: str | None = None,
                  version: int | None = None) -> list[Feedback]:
    """Move ``feedback`` (and every item merged into it) to ``to``, each change recorded as a
    comment with ``status_to`` and told to its submitter. Returns the items that changed."""
    _require_coordinator(feedback)
    _check_version(feedback, version)
    comment = (comment or "").strip() or None
    refusal = transition_refusal(feedback, to)
    if refusal:
        raise InvalidMove(refusal, field="status")
    if to is S.REJECTED and not comment:
        raise RuleViolation(_l("반려할 때는 이유를 적어 주세요. 의견을 보낸 기관에 보입니다."), field="comment")
    if comment and len(comment) > MAX_COMMENT:
        raise RuleViolation(_l("%(max)s자 이하로 입력하세요.", max=MAX_COMMENT), field="comment")
    changed = [feedback, *merged_into(feedback)]
    _set_status(changed, to, actor, comment)
    return changed


def _set_status(items: list[Feedback], to: FeedbackStatus, actor, body: str | None) -> None:
    """Change every item first (one versioned flush: all or none), then record and tell."""
    for item in items:
        item.status = to
        item.status_changed_at = utcnow()
    _flush()
    for item in items:
        _record(item, actor, body=body, status_to=to)
        _tell_submitter(item, actor, _l("보낸 현장 의견의 처리 상태가 '%(status)s'(으)로 바뀌었습니다",
                                        status=FEEDBACK_STATUS_LABELS[to]))
    db.session.flush()


def _record(item: Feedback, actor, body: str | None = None, status_to: FeedbackStatus | None = None) -> FeedbackComment:
    comment = FeedbackComment(
        tenant_id=item.tenant_id, feedback_id=item.id, coordinator_tenant_id=item.coordinator_tenant_id,
        author_tenant_id=context.current_tenant_id(), author_user_id=actor.id if actor else None,
        body=body, status_to=status_to,
    )
    db.session.add(comment)
    return comment


def _tell_submitter(item: Feedback, actor, title) -> None:
    """An in-app notice (and e-mail) to the submitter: a status, never what they wrote."""
    if actor is not None and actor.id == item.submitter_user_id:
        return
    notify(item.tenant_id, kind=NOTICE_KIND, title=str(title), link="/feedback/mine",
           body=str(_l("%(category)s · %(date)s 접수", category=FEEDBACK_CATEGORY_LABELS[item.category],
                       date=clock_date(item.created_at))),
           recipient_user_id=item.submitter_user_id)


def clock_date(moment: datetime) -> str:
    return moment.astimezone(clock.SEOUL).strftime("%Y-%m-%d")


def merged_into(feedback: Feedback) -> list[Feedback]:
    """The items merged into ``feedback`` (never chains: merging re-points them)."""
    return list(db.session.scalars(select(Feedback).where(Feedback.merged_into_id == feedback.id)
                                   .order_by(Feedback.created_at, Feedback.id)))


# -- bulk moves -----------------------------------------------------------------------------------------

class BulkRefusal(RuleViolation):
    """Some selected items cannot move: nothing moved. ``reasons`` is [(item or None, reason)];
    ``stale`` when one of them was changed by someone else since the board was loaded."""

    def __init__(self, reasons: list, stale: bool = False):
        super().__init__(_l("고른 의견 중 옮길 수 없는 것이 있어 아무것도 옮기지 않았습니다."), field="items")
        self.reasons = reasons
        self.stale = stale


def bulk_move(selection: list[tuple[str, int | None]], to: FeedbackStatus, actor,
              comment: str | None = None) -> list[Feedback]:
    """Move every selected item (public id, the version seen on the board) to ``to`` in one go,
    or none of them: every refusal is collected with its reason first."""
    workspace = coordinated_workspace()
    if workspace is None:
        abort(403)
    comment = (comment or "").strip() or None
    if not selection:
        raise RuleViolation(_l("옮길 의견을 하나 이상 고르세요."), field="items")
    reasons, items, stale = [], [], False
    for public_id, version in selection:
        item = db.session.scalar(select(Feedback).where(Feedback.public_id == public_id,
                                                        Feedback.workspace_id == workspace.id))
        if item is None or side_of(item) != COORDINATOR:
            reasons.append((None, str(_l("찾을 수 없는 의견이 있습니다."))))
            continue
        if version is not None and version != item.version:
            reasons.append((item, str(STALE_MESSAGE)))
            stale = True
            continue
        refusal = transition_refusal(item, to)
        if refusal:
            reasons.append((item, refusal))
            continue
        items.append(item)
    if to is S.REJECTED and not comment:
        reasons.append((None, str(_l("반려할 때는 이유를 적어 주세요. 의견을 보낸 기관에 보입니다."))))
    if comment and len(comment) > MAX_COMMENT:
        reasons.append((None, str(_l("%(max)s자 이하로 입력하세요.", max=MAX_COMMENT))))
    if reasons:
        raise BulkRefusal(reasons=reasons, stale=stale)
    changed = [each for item in items for each in (item, *merged_into(item))]
    _set_status(changed, to, actor, comment)
    return changed


# -- assignment, tags, comments -----------------------------------------------------------------------

def coordinators() -> list[tuple[str, str]]:
    """(user public id, name) of the active pilot coordinators of the active (coordinating) tenant."""
    # The roles' JSON text narrows the members to look up (a large tenant has hundreds); has_role decides.
    coordinating = cast(Membership.roles, Text).contains(json.dumps(Role.PILOT_COORDINATOR.value), autoescape=True)
    rows = db.session.execute(
        select(Membership, User).join(User, User.id == Membership.user_id)
        .where(Membership.tenant_id == context.current_tenant_id(), Membership.active.is_(True), User.active.is_(True),
               coordinating)
        .order_by(User.display_name)
    ).all()
    return [(user.public_id, user.display_name) for membership, user in rows
            if membership.has_role(Role.PILOT_COORDINATOR)]


def assign(feedback: Feedback, assignee_public_id: str | None, actor, version: int | None = None) -> None:
    _require_coordinator(feedback)
    _check_version(feedback, version)
    if not assignee_public_id:
        feedback.assignee_user_id = None
    else:
        if assignee_public_id not in dict(coordinators()):
            raise RuleViolation(_l("우리 기관의 시범사업 코디네이터만 담당자로 지정할 수 있습니다."), field="assignee")
        feedback.assignee_user_id = db.session.scalar(select(User.id).where(User.public_id == assignee_public_id))
    _flush()


def normalise_tags(raw: str | list[str] | None) -> list[str]:
    """Free words, separated by commas: trimmed, lower case, one space inside, no leading '#',
    each once, in the order given."""
    items = raw if isinstance(raw, list) else re.split(r"[,，、\n]", raw or "")
    tags: list[str] = []
    for item in items:
        tag = " ".join(unicodedata.normalize("NFKC", item).lower().lstrip("#").split())
        if not tag:
            continue
        if len(tag) > MAX_TAG_LENGTH:
            raise RuleViolation(_l("태그는 하나에 %(max)s자까지입니다.", max=MAX_TAG_LENGTH), field="tags")
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise RuleViolation(_l("태그는 %(max)s개까지 붙일 수 있습니다.", max=MAX_TAGS), field="tags")
    return tags


def set_tags(feedback: Feedback, raw: str | None, actor, version: int | None = None) -> None:
    _require_coordinator(feedback)
    _check_version(feedback, version)
    feedback.tags = normalise_tags(raw)
    _flush()


def add_comment(feedback: Feedback, body: str, actor) -> FeedbackComment:
    """Either side comments. A coordinator's comment is told to the submitter; the submitter
    side's comment to the assigned coordinator (or the coordinating tenant's coordinators)."""
    side = side_of(feedback)
    if side is None:
        abort(404)
    body = (body or "").strip()
    if not body:
        raise RuleViolation(_l("댓글을 입력하세요."), field="body")
    if len(body) > MAX_COMMENT:
        raise RuleViolation(_l("%(max)s자 이하로 입력하세요.", max=MAX_COMMENT), field="body")
    comment = _record(feedback, actor, body=body)
    db.session.flush()
    if side == COORDINATOR:
        _tell_submitter(feedback, actor, _l("보낸 현장 의견에 코디네이터의 답글이 있습니다"))
    elif feedback.coordinator_tenant_id != context.current_tenant_id() or feedback.assignee_user_id:
        tenant = db.session.get(Tenant, context.current_tenant_id())
        notify(feedback.coordinator_tenant_id, kind=NOTICE_KIND, link=f"/feedback/{feedback.public_id}",
               title=str(_l("현장 의견에 새 댓글이 있습니다 (%(tenant)s)", tenant=tenant.name)),
               recipient_user_id=feedback.assignee_user_id)
    return comment


def comments(feedback: Feedback) -> list[FeedbackComment]:
    return list(db.session.scalars(
        select(FeedbackComment).options(selectinload(FeedbackComment.author), selectinload(FeedbackComment.author_tenant))
        .where(FeedbackComment.feedback_id == feedback.id).order_by(FeedbackComment.at, FeedbackComment.id)))


# -- merging duplicates ---------------------------------------------------------------------------------

def merge(source: Feedback, target: Feedback, actor, version: int | None = None) -> list[Feedback]:
    """Merge ``source`` into ``target``: from now on it follows the target's status. Items already
    merged into ``source`` move to ``target`` too (no chains). Refused for the item itself, for a
    target merged elsewhere, and across workspaces."""
    _require_coordinator(source)
    if side_of(target) != COORDINATOR:
        abort(404)
    _check_version(source, version)
    if source.id == target.id:
        raise RuleViolation(_l("의견을 자기 자신에게 합칠 수 없습니다."), field="target")
    if target.merged_into_id is not None:
        raise RuleViolation(_l("고른 의견은 이미 다른 의견에 합쳐져 있습니다. 그 의견이 합쳐진 의견을 고르세요."), field="target")
    if source.merged_into_id is not None:
        raise RuleViolation(_l("이 의견은 이미 다른 의견에 합쳐져 있습니다."), field="target")
    if source.workspace_id != target.workspace_id:
        raise RuleViolation(_l("같은 시범사업의 의견끼리만 합칠 수 있습니다."), field="target")
    moved = [source, *merged_into(source)]
    followed = [item for item in moved if item.status is not target.status]
    for item in moved:
        item.merged_into_id = target.id
    for item in followed:
        item.status = target.status
        item.status_changed_at = utcnow()
    _flush()
    note = str(_l("같은 내용의 다른 의견과 합쳐져 함께 처리됩니다."))
    for item in moved:
        if item in followed:
            _record(item, actor, body=note, status_to=target.status)
            _tell_submitter(item, actor, _l("보낸 현장 의견이 같은 내용의 다른 의견과 함께 처리됩니다 (상태: %(status)s)",
                                            status=FEEDBACK_STATUS_LABELS[target.status]))
        else:
            _record(item, actor, body=note)
    db.session.flush()
    return moved


def merge_candidates(feedback: Feedback) -> list[Feedback]:
    """Items ``feedback`` may be merged into: same workspace, not merged themselves, not itself."""
    return list(db.session.scalars(
        select(Feedback).options(selectinload(Feedback.tenant))
        .where(Feedback.workspace_id == feedback.workspace_id, Feedback.coordinator_tenant_id == feedback.coordinator_tenant_id,
               Feedback.id != feedback.id, Feedback.merged_into_id.is_(None))
        .order_by(Feedback.created_at.desc()).limit(300)))


def survivor(feedback: Feedback) -> Feedback | None:
    """What ``feedback`` was merged into, for the coordinators (the submitter may not see it)."""
    if feedback.merged_into_id is None or side_of(feedback) != COORDINATOR:
        return None
    return db.session.get(Feedback, feedback.merged_into_id)


# -- lists ------------------------------------------------------------------------------------------------

@dataclass
class BoardFilter:
    tenant: str | None = None  # tenant code
    category: str | None = None
    severity: str | None = None
    dong: str | None = None  # region code
    phase: str | None = None
    capability: str | None = None
    tag: str | None = None
    assignee: str | None = None  # user public id, or "none"

    def as_args(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v}


BOARD_PAGE = 30  # cards a board column shows at first and adds with each "더 보기"
NEWEST_FIRST = (Feedback.created_at.desc(), Feedback.id.desc())


def _board_statement(workspace: Workspace, filters: BoardFilter):
    statement = select(Feedback).where(Feedback.workspace_id == workspace.id,
                                       Feedback.coordinator_tenant_id == context.current_tenant_id())
    if filters.tenant:
        statement = statement.join(Tenant, Tenant.id == Feedback.tenant_id).where(Tenant.code == filters.tenant)
    for name in ("category", "severity", "phase", "capability"):
        value = getattr(filters, name)
        if value:
            statement = statement.where(getattr(Feedback, name) == value)
    if filters.dong:
        statement = statement.where(Feedback.dong_code == filters.dong)
    if filters.assignee == "none":
        statement = statement.where(Feedback.assignee_user_id.is_(None))
    elif filters.assignee:
        statement = statement.join(User, User.id == Feedback.assignee_user_id).where(User.public_id == filters.assignee)
    if filters.tag:
        statement = statement.where(_tagged(filters.tag))
    return statement


def _tagged(raw: str):
    """Items carrying the tag: its JSON string, quotes included, inside the stored list (an exact
    element, on every backend; written with or without escaped non-ASCII characters)."""
    tag = normalise_tags([raw])
    if not tag:
        return false()
    stored = cast(Feedback.tags, Text)
    return or_(stored.contains(json.dumps(tag[0]), autoescape=True),
               stored.contains(json.dumps(tag[0], ensure_ascii=False), autoescape=True))


def board_items(workspace: Workspace, filters: BoardFilter) -> list[Feedback]:
    """The board's filtered items, newest first (up to 2,000: the export)."""
    statement = _board_statement(workspace, filters).options(selectinload(Feedback.tenant),
                                                             selectinload(Feedback.assignee))
    return list(db.session.scalars(statement.order_by(*NEWEST_FIRST).limit(2000)))


@dataclass
class Column:
    status: FeedbackStatus
    count: Count  # of the column's items under the filter, capped
    cards: list = field(default_factory=list)
    offset: int = 0  # of the first card shown
    has_more: bool = False

    @property
    def shown_to(self) -> int:
        return self.offset + len(self.cards)


def board_columns(workspace: Workspace, filters: BoardFilter, shown: dict | None = None) -> list[Column]:
    """Each board column's count and its first cards (``BOARD_PAGE``, or ``shown[status]``): each
    column reads its own range of ``ix_pilot_feedback_workspace_status_created``, not the
    workspace's whole board."""
    statement = _board_statement(workspace, filters)
    counts = capped_counts(statement, {status: Feedback.status == status for status in BOARD_COLUMNS})
    wanted = {status: (shown or {}).get(status, BOARD_PAGE) for status in BOARD_COLUMNS}
    items = _column_items(statement, {status: (0, wanted[status]) for status in BOARD_COLUMNS if counts[status]})
    by_status = {status: [] for status in BOARD_COLUMNS}
    for card in cards(items):
        by_status[card.item.status].append(card)
    return [Column(status, counts[status], by_status[status][:wanted[status]],
                   has_more=len(by_status[status]) > wanted[status]) for status in BOARD_COLUMNS]


def board_column(workspace: Workspace, filters: BoardFilter, status: FeedbackStatus, offset: int) -> Column:
    """The column's next cards from ``offset`` on (the column's "더 보기")."""
    statement = _board_statement(workspace, filters)
    shown = cards(_column_items(statement, {status: (offset, BOARD_PAGE)}))
    return Column(status, Count(0), shown[:BOARD_PAGE], offset, has_more=len(shown) > BOARD_PAGE)


def _column_items(statement, ranges: dict) -> list[Feedback]:
    """The items of ``ranges`` ({status: (offset, how many)}), one more than asked per column (so
    the page knows there are more), in one statement: a limited range per column, then the rows."""
    if not ranges:
        return []
    parts = [statement.with_only_columns(Feedback.id).where(Feedback.status == status).order_by(*NEWEST_FIRST)
             .limit(size + 1).offset(offset).subquery() for status, (offset, size) in ranges.items()]
    # Each limited part read from its own subquery: SQLite refuses a LIMIT inside a compound select.
    # Materialised: read once, whatever order the planner joins in (misled by the tenancy filters'
    # estimates, it rescanned the ranges once per row of the workspace's feedback).
    ids = union_all(*[select(part.c[0]) for part in parts]).cte("board_ids").prefix_with("MATERIALIZED")
    return list(db.session.scalars(
        select(Feedback).join(ids, ids.c[0] == Feedback.id).order_by(*NEWEST_FIRST)
        .options(selectinload(Feedback.tenant), selectinload(Feedback.assignee))))


@dataclass
class Card:
    item: Feedback
    comment_count: int
    survivor_id: str | None  # public id of the item it was merged into
    merged_count: int
    dong_name: str
    age_days: int


def cards(items: list[Feedback]) -> list[Card]:
    """What a board card shows, in a fixed number of queries."""
    ids = [i.id for i in items]
    counts, survivors, merged, regions = {}, {}, {}, {}
    if ids:
        counts = dict(db.session.execute(
            select(FeedbackComment.feedback_id, func.count()).where(
                FeedbackComment.feedback_id.in_(ids), FeedbackComment.body.is_not(None))
            .group_by(FeedbackComment.feedback_id)).all())
        merged = dict(db.session.execute(
            select(Feedback.merged_into_id, func.count()).where(Feedback.merged_into_id.in_(ids))
            .group_by(Feedback.merged_into_id)).all())
        targets = {i.merged_into_id for i in items if i.merged_into_id}
        if targets:
            survivors = dict(db.session.execute(select(Feedback.id, Feedback.public_id).where(Feedback.id.in_(targets))).all())
        codes = {i.dong_code for i in items if i.dong_code}
        if codes:
            regions = region_names(codes)
    today = clock.today()
    return [Card(i, counts.get(i.id, 0), survivors.get(i.merged_into_id), merged.get(i.id, 0),
                 regions.get(i.dong_code, i.dong_code or ""),
                 (today - i.created_at.astimezone(clock.SEOUL).date()).days) for i in items]


def region_names(codes) -> dict[str, str]:
    codes = {c for c in codes if c}
    if not codes:
        return {}
    return dict(db.session.execute(select(Region.code, Region.name).where(Region.code.in_(codes))).all())


@dataclass
class BoardOptions:
    tenants: list = field(default_factory=list)
    dongs: list = field(default_factory=list)
    capabilities: list = field(default_factory=list)
    tags: list = field(default_factory=list)
    assignees: list = field(default_factory=list)


def board_options(workspace: Workspace) -> BoardOptions:
    """The filter choices: the workspace's tenants, and the dongs, capabilities and tags in use."""
    tenants = [(workspace.tenant.code, workspace.tenant.name)]
    tenants += [(p.participant.code, p.participant.name) for p in pilots.participants(workspace, include_left=True)
                if p.participant_tenant_id != workspace.tenant_id]
    rows = db.session.execute(select(Feedback.dong_code, Feedback.capability, Feedback.tags).where(
        Feedback.workspace_id == workspace.id, Feedback.coordinator_tenant_id == context.current_tenant_id())).all()
    names = region_names({r[0] for r in rows})
    dongs = sorted({(r[0], names.get(r[0], r[0])) for r in rows if r[0]}, key=lambda d: d[1])
    capabilities = sorted({r[1] for r in rows if r[1]})
    tags = sorted({t for r in rows for t in (r[2] or [])})
    return BoardOptions(tenants, dongs, [(c, c) for c in capabilities], [(t, t) for t in tags], coordinators())


def mine(scope: str = "mine") -> list[Feedback]:
    """The active user's own feedback (``mine``) or their whole tenant's (``tenant``), newest first."""
    statement = (select(Feedback).options(selectinload(Feedback.submitter))
                 .where(Feedback.tenant_id == context.current_tenant_id()))
    if scope != "tenant":
        statement = statement.where(Feedback.submitter_user_id == context.current_user_id())
    return list(db.session.scalars(statement.order_by(Feedback.created_at.desc()).limit(500)))


def latest_comments(items: list[Feedback], status_changes_only: bool = False) -> dict[int, FeedbackComment]:
    """The coordinators' newest comment with text on each item (for ``status_changes_only``: the
    one recorded with the item's current status)."""
    ids = [i.id for i in items]
    if not ids:
        return {}
    statement = (select(FeedbackComment).options(selectinload(FeedbackComment.author_tenant))
                 .where(FeedbackComment.feedback_id.in_(ids), FeedbackComment.body.is_not(None),
                        FeedbackComment.author_tenant_id == FeedbackComment.coordinator_tenant_id)
                 .order_by(FeedbackComment.at, FeedbackComment.id))
    if status_changes_only:
        statement = statement.where(FeedbackComment.status_to.is_not(None))
    status = {i.id: i.status for i in items}
    latest: dict[int, FeedbackComment] = {}
    for comment in db.session.scalars(statement):
        if status_changes_only and comment.status_to is not status[comment.feedback_id]:
            continue
        latest[comment.feedback_id] = comment
    return latest


def changes(as_coordinator: bool, limit: int = 200) -> list[Feedback]:
    """Feedback acted on (반영 예정 / 반영 완료 / 반려), newest change first: the tenant's own, or
    for a coordinator the whole workspace."""
    statement = (select(Feedback).options(selectinload(Feedback.tenant))
                 .where(Feedback.status.in_([s.value for s in ACTED_ON])))
    if as_coordinator:
        workspace = coordinated_workspace()
        statement = statement.where(Feedback.coordinator_tenant_id == context.current_tenant_id(),
                                    Feedback.workspace_id == (workspace.id if workspace else None))
    else:
        statement = statement.where(Feedback.tenant_id == context.current_tenant_id())
    return list(db.session.scalars(statement.order_by(Feedback.status_changed_at.desc(), Feedback.id.desc()).limit(limit)))


# -- export -----------------------------------------------------------------------------------------------

EXPORT_HEADER = (_l("의견 ID"), _l("접수 일시(KST)"), _l("기관"), _l("읍면동"), _l("단계"), _l("분류"), _l("중요도"),
                 _l("화면(기능)"), _l("상태"), _l("담당자"), _l("태그"), _l("내용"), _l("합쳐진 의견"), _l("댓글 수"))
EXPORT_WIDTHS = (18, 17, 20, 14, 10, 14, 8, 14, 10, 12, 20, 60, 18, 8)


def export_table(items: list[Feedback]) -> list[list[str]]:
    """The board's items for a report. No screenshots, no page titles and no submitter names: the
    tenant is the unit of reporting, and a file that leaves the system carries no more staff data
    than a report needs (coordinators see who wrote an item on its page when they must follow up)."""
    rows = [[str(h) for h in EXPORT_HEADER]]
    for card in cards(items):
        item = card.item
        rows.append([_safe(v) for v in (
            item.public_id, item.created_at.astimezone(clock.SEOUL).strftime("%Y-%m-%d %H:%M"), item.tenant.name,
            card.dong_name, str(PHASE_LABELS[item.phase]) if item.phase else "",
            str(FEEDBACK_CATEGORY_LABELS[item.category]), str(SEVERITY_LABELS[item.severity]), item.capability or "",
            str(FEEDBACK_STATUS_LABELS[item.status]), item.assignee.display_name if item.assignee else "",
            ", ".join(item.tags or []), item.description, card.survivor_id or "", str(card.comment_count),
        )])
    return rows


def to_xlsx(table: list[list[str]]) -> bytes:
    return spreadsheets.to_xlsx(table, str(_l("현장 의견")), EXPORT_WIDTHS)


# -- labels -------------------------------------------------------------------------------------------

def labels() -> dict:
    return {
        "category_labels": FEEDBACK_CATEGORY_LABELS, "severity_labels": SEVERITY_LABELS,
        "status_labels": FEEDBACK_STATUS_LABELS, "phase_labels": PHASE_LABELS,
        "category_options": [(c.value, label) for c, label in FEEDBACK_CATEGORY_LABELS.items()],
        "severity_options": [(s.value, label) for s, label in SEVERITY_LABELS.items()],
        "status_options": [(s.value, label) for s, label in FEEDBACK_STATUS_LABELS.items()],
        "phase_options": [(p.value, label) for p, label in PHASE_LABELS.items()],
        "board_columns": BOARD_COLUMNS,
    }

