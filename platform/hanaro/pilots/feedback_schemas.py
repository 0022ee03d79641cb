"""Forms of the feedback screens. Korean messages next to each field; nothing typed is lost."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import fields

from ..core.forms import FormSchema, length, one_of
from ..core.paging import ClampedNumber
from .feedback import BOARD_COLUMNS, BOARD_PAGE, MAX_COMMENT, MAX_DESCRIPTION
from .models import FeedbackCategory, FeedbackStatus, Phase, Severity

PUBLIC_ID = length(max=32)


class FeedbackForm(FormSchema):
    category = fields.String(required=True, validate=one_of([c.value for c in FeedbackCategory]),
                             error_messages={"required": _l("분류를 고르세요.")})
    severity = fields.String(load_default=Severity.MEDIUM.value, validate=one_of([s.value for s in Severity]))
    description = fields.String(required=True, validate=length(max=MAX_DESCRIPTION),
                                error_messages={"required": _l("의견 내용을 적어 주세요.")})
    # Filled from the current page (script) or the Referer; stripped before anything is stored.
    page_url = fields.String(load_default=None, validate=length(max=2000))
    page_title = fields.String(load_default=None, validate=length(max=500))


class Versioned(FormSchema):
    version = fields.Integer(load_default=None)


class StatusForm(Versioned):
    status = fields.String(required=True, validate=one_of([s.value for s in FeedbackStatus]),
                           error_messages={"required": _l("옮길 상태를 고르세요.")})
    comment = fields.String(load_default=None, validate=length(max=MAX_COMMENT))


class AssignForm(Versioned):
    assignee = fields.String(load_default=None, validate=PUBLIC_ID)


class TagsForm(Versioned):
    tags = fields.String(load_default=None, validate=length(max=500))


class MergeForm(Versioned):
    target = fields.String(required=True, validate=PUBLIC_ID,
                           error_messages={"required": _l("합칠 대상 의견을 고르세요.")})


class CommentForm(FormSchema):
    body = fields.String(required=True, validate=length(max=MAX_COMMENT),
                         error_messages={"required": _l("댓글을 입력하세요.")})


class BulkForm(FormSchema):
    # "<public id>:<version seen on the board>" per selected card
    items = fields.List(fields.String(validate=length(max=48)), load_default=list)
    status = fields.String(required=True, validate=one_of([s.value for s in FeedbackStatus]),
                           error_messages={"required": _l("옮길 상태를 고르세요.")})
    comment = fields.String(load_default=None, validate=length(max=MAX_COMMENT))
    filters = fields.String(load_default=None, validate=length(max=1000))


class BoardArgs(FormSchema):
    tenant = fields.String(load_default=None, validate=length(max=64))
    category = fields.String(load_default=None, validate=one_of([c.value for c in FeedbackCategory]))
    severity = fields.String(load_default=None, validate=one_of([s.value for s in Severity]))
    dong = fields.String(load_default=None, validate=length(max=10))
    phase = fields.String(load_default=None, validate=one_of([p.value for p in Phase]))
    capability = fields.String(load_default=None, validate=length(max=50))
    tag = fields.String(load_default=None, validate=length(max=30))
    assignee = fields.String(load_default=None, validate=PUBLIC_ID)


class ColumnArgs(FormSchema):
    """One board column shown further: ``more`` (its status) with ``shown`` cards, or from ``offset`` on."""
    more = fields.String(load_default=None, validate=one_of([s.value for s in BOARD_COLUMNS]))
    shown = ClampedNumber(default=BOARD_PAGE, maximum=2000)
    offset = ClampedNumber(default=BOARD_PAGE, maximum=2000)


class MineArgs(FormSchema):
    scope = fields.String(load_default="mine", validate=one_of(["mine", "tenant"]))
