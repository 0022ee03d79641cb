"""Korean-friendly search and needs-based ranking of resources.

Korean words are often two syllables (주거, 돌봄), which trigram indexes cannot narrow (DESIGN §8).
Each resource keeps the character bigrams of its words in ``search_terms``; on PostgreSQL a GIN
index over ``string_to_array(search_terms, ' ')`` narrows candidates with ``@>``, and ``ILIKE`` on the
text confirms them. SQLite (the embedded default) confirms with LIKE alone.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import Text, and_, cast, func, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY, array

from ..core import clock
from ..core.db import db
from .models import Capacity, Resource
from . import service

_WORD = re.compile(r"[0-9A-Za-z\uac00-\ud7a3]+")


def words(text: str | None) -> list[str]:
    return [w.lower() for w in _WORD.findall(text or "")]


def tokens(text: str | None) -> set[str]:
    """Character bigrams of every word; a one-character word is its own token."""
    result = set()
    for word in words(text):
        if len(word) == 1:
            result.add(word)
        result.update(word[i:i + 2] for i in range(len(word) - 1))
    return result


def searchable_text(resource: Resource) -> str:
    return " ".join(filter(None, [resource.name, resource.description, resource.organization_name,
                                  " ".join(resource.categories or []), resource.eligibility_note]))


def index(resource: Resource) -> None:
    """Refresh ``search_terms`` (called whenever a resource is saved)."""
    resource.search_terms = " ".join(sorted(tokens(searchable_text(resource))))


def text_filter(query: str):
    """A WHERE clause matching every word of ``query`` in the resource's searchable text."""
    query_words = words(query)
    if not query_words:
        return None
    haystack = func.lower(func.coalesce(Resource.name, "") + " " + func.coalesce(Resource.description, "") + " "
                          + func.coalesce(Resource.organization_name, ""))
    confirm = [haystack.contains(word, autoescape=True) for word in query_words]
    if db.engine.dialect.name == "postgresql":
        needed = sorted(tokens(query))
        # The delimiter is a literal so the expression matches the GIN index exactly.
        terms = func.string_to_array(Resource.search_terms, literal_column("' '"), type_=ARRAY(Text))
        narrowing = terms.contains(cast(array(needed), ARRAY(Text)))
        return and_(narrowing, *confirm)
    return and_(*confirm)


# -- needs-based ranking ------------------------------------------------------------------------

@dataclass
class Match:
    resource: Resource
    score: int
    reasons: list[str] = field(default_factory=list)


def rank_for_needs(need_domains: set[str], dong_code: str | None, age: int | None, query: str | None = None,
                   limit: int = 30, today: date | None = None) -> list[Match]:
    """Resources the active tenant may see, ranked for a client's needs: matching need domains,
    covering the client's area, eligible by age, with capacity, recently verified. Each match says
    why it ranks where it does."""
    today = today or clock.today()
    statement = select(Resource)
    clause = text_filter(query) if query else None
    if clause is not None:
        statement = statement.where(clause)
    matches = []
    for resource in db.session.scalars(statement):
        if not service.is_own(resource) and service.is_hidden_as_stale(resource, today):
            continue
        match = _score(resource, need_domains, dong_code, age, today)
        if match is not None:
            matches.append(match)
    matches.sort(key=lambda m: (-m.score, m.resource.name))
    return matches[:limit]


def _score(resource, need_domains, dong_code, age, today) -> Match | None:
    reasons, score = [], 0
    matched = sorted(need_domains & set(resource.need_domains or []))
    if need_domains and not matched:
        return None
    if matched:
        score += 10 * len(matched)
        reasons.append(str(_l("욕구 영역 일치 %(n)s개", n=len(matched))))
    area = set(resource.service_area_codes or [])
    if dong_code and (dong_code in area or dong_code[:5] + "00000" in area):
        score += 5
        reasons.append(str(_l("대상자 거주지가 서비스 지역에 포함")))
    elif not area:
        score += 2  # no area limit: reachable, but a local service fits better
    elif dong_code:
        return None  # the client lives outside the service area
    if age is not None:
        if (resource.min_age is not None and age < resource.min_age) or (resource.max_age is not None and age > resource.max_age):
            return None
        if resource.min_age is not None or resource.max_age is not None:
            reasons.append(str(_l("나이 조건 충족")))
    if resource.capacity is Capacity.AVAILABLE:
        score += 3
        reasons.append(str(_l("지금 이용 가능")))
    elif resource.capacity is Capacity.FULL:
        score -= 5
    if (today - resource.last_verified_on).days <= 90:
        score += 1
        reasons.append(str(_l("최근 90일 안에 확인됨")))
    return Match(resource, score, reasons)


NEED_THRESHOLD = 2  # level 2 (보통) and above counts as a need to look for


def needs_of_case(case):
    """The need domains of the case's latest assessment at or above NEED_THRESHOLD."""
    from ..cases import service as cases

    assessment = cases.latest_assessment(case)
    if assessment is None:
        return []
    return [item.domain for item in assessment.items if item.level >= NEED_THRESHOLD]


def client_if_visible(case):
    """The case's client when the viewer may see it (owner, or a collaborator with an active grant)."""
    from ..clients.models import Client

    return db.session.scalar(select(Client).where(Client.id == case.client_id))
