"""Page numbers and page sizes from the query string: clamped into range, never an error.

A page number is a navigation aid, not a filter: a malformed one (``abc``, empty, 20 digits
that overflow the database's OFFSET) falls back to the default and an out-of-range one is
clamped, so a hand-edited or truncated URL still shows a page instead of an error.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from marshmallow import Schema, fields

MAX_PAGE = 10_000
WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")


class ClampedNumber(fields.Field):
    """A whole number clamped into [1, maximum]; anything that is not one is ``load_default``."""

    def __init__(self, default: int, maximum: int, **kwargs):
        super().__init__(load_default=default, **kwargs)
        self.maximum = maximum

    def _deserialize(self, value, attr, data, **kwargs):
        text = str(value).strip()
        if not WHOLE_NUMBER.fullmatch(text):
            return self.load_default
        if len(text.lstrip("+-").lstrip("0")) > 12:  # past any maximum; int() refuses 4300+ digits
            return 1 if text.startswith("-") else self.maximum
        return min(max(1, int(text)), self.maximum)


def page_number() -> ClampedNumber:
    """The ``page`` field of a list's query-string schema."""
    return ClampedNumber(default=1, maximum=MAX_PAGE)


@dataclass(frozen=True)
class Paging:
    page: int
    per_page: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def paging(args, per_page: int, max_per_page: int | None = None) -> Paging:
    """``page`` and (when ``max_per_page`` is given) ``per_page`` from ``args``, clamped."""
    schema = Schema.from_dict({
        "page": page_number(),
        "per_page": ClampedNumber(default=per_page, maximum=max_per_page or per_page),
    })()
    wanted = {"page": args.get("page")} if "page" in args else {}
    if max_per_page and "per_page" in args:
        wanted["per_page"] = args.get("per_page")
    data = schema.load(wanted)
    return Paging(page=data["page"], per_page=data["per_page"])
