"""Page numbers and page sizes from the query string: clamped into range, never an error.

A page number is a navigation aid, not a filter: a malformed one (``abc``, empty, 20 digits
that overflow the database's OFFSET) falls back to the default and an out-of-range one is
clamped, so a hand-edited or truncated URL still shows a page instead of an error.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from marshmallow import Schema, fields
from sqlalchemy import func, literal, select, union_all

from .db import db

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


# -- counting and paging in SQL --------------------------------------------------------------------

COUNT_CAP = 1000


@dataclass(frozen=True)
class Count:
    """How many rows a list holds, counted up to a cap: past it only "more than ``value``" is known.
    Counting a large tenant's whole list on every view would cost more than the page it heads, and
    nobody reads 1,000 rows as different from 130,000 on a page of 30."""

    value: int
    capped: bool = False

    def __str__(self) -> str:
        return f"{self.value:,}"

    def __bool__(self) -> bool:
        return self.value > 0

    def __add__(self, other: "Count") -> "Count":
        return Count(self.value + other.value, self.capped or other.capped)


def capped_count(statement, cap: int | None = None) -> Count:
    """``SELECT count(*) FROM (statement LIMIT cap + 1)``: reads at most ``cap + 1`` rows of the
    list. ``statement`` is the list's own select (so the tenancy criteria apply to it as to the
    list); its order is dropped. ``cap`` defaults to ``COUNT_CAP``."""
    return as_count(db.session.scalar(select(capped_count_column(statement, cap))), cap)


def capped_count_column(statement, cap: int | None = None):
    """:func:`capped_count` as a scalar subquery, to ask it in the same statement as other
    questions; read the result with :func:`as_count`."""
    cap = cap or COUNT_CAP
    return select(func.count()).select_from(statement.order_by(None).limit(cap + 1).subquery()).scalar_subquery()


def as_count(counted: int | None, cap: int | None = None) -> Count:
    cap, counted = cap or COUNT_CAP, counted or 0
    return Count(min(counted, cap), counted > cap)


def capped_counts(statement, criteria: dict, cap: int | None = None) -> dict:
    """{key: Count} of the rows of ``statement`` that meet each ``criteria[key]``, in one
    statement: a capped count per key (each reads at most ``cap + 1`` rows, through an index
    that leads with the list's own columns and the criterion's)."""
    cap, keys = cap or COUNT_CAP, list(criteria)
    if not keys:
        return {}
    parts = [select(literal(slot).label("slot"), func.count().label("n"))
             .select_from(statement.where(criteria[key]).order_by(None).limit(cap + 1).subquery())
             for slot, key in enumerate(keys)]
    counted = dict(db.session.execute(union_all(*parts)).all())
    return {key: Count(min(counted.get(slot, 0), cap), counted.get(slot, 0) > cap) for slot, key in enumerate(keys)}


@dataclass(frozen=True)
class Page:
    """One page of a list paged in SQL (LIMIT/OFFSET), with the list's capped total."""

    items: list
    number: int
    per_page: int
    total: Count
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def last_known(self) -> int:
        """The last page number known to exist: the count's last page, or, past a capped count,
        this page or the next."""
        counted = max(1, -(-self.total.value // self.per_page))
        if not self.total.capped:
            return counted
        return max(counted, self.number + 1 if self.has_next else self.number)

    def numbers(self, around: int = 4) -> range:
        """Page links to show: a window around the current page."""
        first = max(1, self.number - around)
        return range(first, min(self.last_known, first + 2 * around) + 1)


def fetch_page(statement, wanted: Paging, count_statement=None, cap: int | None = None) -> Page:
    """The ``wanted`` page of ``statement`` (ordered, with its loader options) and the capped count
    of ``count_statement`` (default: ``statement``). A page past the end of an exactly counted list
    shows its last page; past a capped count, whatever is there (possibly nothing)."""
    total = capped_count(count_statement if count_statement is not None else statement, cap)
    number = _shown_page(wanted, total)
    offset = (number - 1) * wanted.per_page
    rows = list(db.session.scalars(statement.limit(wanted.per_page + 1).offset(offset)).unique())
    return Page(rows[:wanted.per_page], number, wanted.per_page, total, len(rows) > wanted.per_page)


def fetch_page_of_ids(ids, rows, wanted: Paging, cap: int | None = None) -> Page:
    """Like :func:`fetch_page` for a list found as ids first: ``ids`` is an ordered select of ids
    (also what is counted), paged inside ``rows(page_ids)``, the select of the rows whose id is in
    one page of them, in the same order. The rows are read for one page of ids only."""
    total = capped_count(ids, cap)
    number = _shown_page(wanted, total)
    page_ids = ids.limit(wanted.per_page + 1).offset((number - 1) * wanted.per_page)
    found = list(db.session.scalars(rows(page_ids)).unique())
    return Page(found[:wanted.per_page], number, wanted.per_page, total, len(found) > wanted.per_page)


def _shown_page(wanted: Paging, total: Count) -> int:
    if total.capped:
        return wanted.page
    return min(wanted.page, max(1, -(-total.value // wanted.per_page)))
