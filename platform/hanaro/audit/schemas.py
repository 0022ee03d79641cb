from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validate, validates_schema

from ..core.forms import FormSchema, length, one_of, plausible_date
from .models import AccessAction
from .service import SOURCE_LABELS

ACTION_VALUES = [a.value for a in AccessAction]


class LogSearchForm(FormSchema):
    """The privacy officer's log search (query string of GET /audit/log)."""

    user = fields.String(load_default=None, validate=length(max=24))
    client = fields.String(load_default=None, validate=length(max=100))
    date_from = fields.Date(load_default=None, validate=plausible_date())
    date_to = fields.Date(load_default=None, validate=plausible_date())
    action = fields.String(load_default=None, validate=one_of(ACTION_VALUES))
    source = fields.String(load_default="all", validate=one_of(list(SOURCE_LABELS)))
    after = fields.String(
        load_default=None,
        validate=validate.Regexp(r"^\d{1,16}\.\d{1,18}$", error=_l("페이지 정보가 올바르지 않습니다. 처음부터 다시 검색하세요.")),
    )

    @validates_schema
    def _dates_in_order(self, data, **kwargs):
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            raise ValidationError(str(_l("종료일은 시작일과 같거나 그 이후여야 합니다.")), "date_to")


class ExportForm(LogSearchForm):
    """The same search, exported as CSV: a stated reason is required."""

    reason = fields.String(
        required=True,
        validate=length(min=2, max=300),
        error_messages={"required": _l("내보내기 사유를 입력하세요.")},
    )


class ReviewForm(FormSchema):
    month = fields.String(
        required=True,
        validate=validate.Regexp(r"^(19|20)\d\d-(0[1-9]|1[0-2])$", error=_l("검토 월을 YYYY-MM 형식으로 입력하세요.")),
        error_messages={"required": _l("검토한 달을 입력하세요.")},
    )
    findings = fields.String(
        required=True,
        validate=length(min=2, max=5000),
        error_messages={"required": _l("검토 결과(발견 사항)를 입력하세요. 이상이 없으면 '이상 없음'과 확인 범위를 적으세요.")},
    )


class ReviewMonthQuery(FormSchema):
    """?month= on the review page: which month's flags to preview."""

    month = fields.String(load_default=None, validate=validate.Regexp(r"^(19|20)\d\d-(0[1-9]|1[0-2])$",
                                                                       error=_l("검토 월을 YYYY-MM 형식으로 입력하세요.")))
