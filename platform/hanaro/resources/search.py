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
from sqlalchemy import String, Text, and_, cast, false, func, literal_column, or_, select
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.orm import selectinload

from ..core import clock
from ..core.db import db
from ..core.paging import Page, Paging, fetch_page
from ..tenancy import context
from ..tenancy.models import Tenant
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


# -- the general search screen --------------------------------------------------------------------

# Household situations a client may be in. Resources keep their household conditions as free
# text, so a resource matches when it names no condition or mentions one of these words.
HOUSEHOLD_TYPES = {
    "single": (_l("1인 가구"), ("1인", "독거", "혼자")),
    "single_parent": (_l("한부모 가구"), ("한부모",)),
    "grandparent": (_l("조손 가구"), ("조손",)),
    "multicultural": (_l("다문화 가구"), ("다문화", "이주")),
    "disability": (_l("장애인 가구"), ("장애",)),
    "elderly": (_l("노인 가구"), ("노인", "어르신", "고령")),
    "low_income": (_l("기초생활수급·차상위 가구"), ("수급", "차상위", "저소득")),
}


@dataclass
class Filters:
    query: str | None = None
    need_domains: list[str] = field(default_factory=list)
    area_code: str | None = None
    age: int | None = None
    household: str | None = None
    capacities: list[str] = field(default_factory=list)
    registrant_kinds: list[str] = field(default_factory=list)
    kind: str | None = None


def find(filters: Filters, page: int = 1, per_page: int = 30, today: date | None = None) -> Page:
    """Resources the active tenant may see (the ORM applies each resource's sharing scope) that
    meet every filter; other tenants' stale listings are left out. Available first, then the most
    recently verified. One page in SQL, with a capped count."""
    today = today or clock.today()
    statement = (_filtered(select(Resource), filters, today).options(selectinload(Resource.tenant))
                 .order_by((Resource.capacity == Capacity.AVAILABLE.value).desc(), Resource.last_verified_on.desc(),
                           Resource.name, Resource.id))
    return fetch_page(statement, Paging(page, per_page), count_statement=_filtered(select(Resource.id), filters, today))


def _filtered(statement, filters: Filters, today: date):
    fresh_since = today - service.STALE_AFTER
    statement = statement.where(or_(Resource.tenant_id == context.current_tenant_id(),
                                    Resource.last_verified_on >= fresh_since))
    if filters.query and (clause := text_filter(filters.query)) is not None:
        statement = statement.where(clause)
    if filters.need_domains:
        statement = statement.where(need_domain_filter(filters.need_domains))
    if filters.area_code:
        statement = statement.where(_covers_area(filters.area_code))
    if filters.age is not None:
        statement = statement.where(or_(Resource.min_age.is_(None), Resource.min_age <= filters.age),
                                    or_(Resource.max_age.is_(None), Resource.max_age >= filters.age))
    if filters.household in HOUSEHOLD_TYPES:
        conditions = func.coalesce(Resource.household_conditions, "")
        _label, keywords = HOUSEHOLD_TYPES[filters.household]
        statement = statement.where(or_(conditions == "", *[conditions.contains(k, autoescape=True) for k in keywords]))
    if filters.capacities:
        statement = statement.where(Resource.capacity.in_(filters.capacities))
    if filters.kind:
        statement = statement.where(Resource.kind == filters.kind)
    if filters.registrant_kinds:
        statement = statement.where(Resource.tenant_id.in_(
            select(Tenant.id).where(Tenant.kind.in_(filters.registrant_kinds))))
    return statement


def need_domain_filter(codes):
    """Resources in any of these need domains."""
    return or_(*[_json_list_has(Resource.need_domains, code) for code in codes])


def _json_list_has(column, value: str):
    """A JSON list of plain codes contains ``value`` (portable: matches the quoted code in the text)."""
    return cast(column, String).contains(f'"{value}"', autoescape=True)


def _covers_area(code: str):
    """The service area includes this place: the place itself, its municipality (for a dong), any
    of its dongs (for a municipality), or no area limit at all."""
    codes = cast(Resource.service_area_codes, String)
    municipality = code[:5]
    options = [_json_list_has(Resource.service_area_codes, code),
               _json_list_has(Resource.service_area_codes, municipality + "00000"),
               codes.in_(("[]", "null")), Resource.service_area_codes.is_(None)]
    if code.endswith("00000"):
        options.append(codes.contains(f'"{municipality}', autoescape=True))
    return or_(*options) if code else false()


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


def needs_of_case(case, client):
    """The need domains of the case's latest assessment at or above NEED_THRESHOLD, as far as the
    active tenant may see them (a health need only under a consent that includes health)."""
    from ..cases import service as cases

    assessment = cases.latest_assessment(case)
    if assessment is None:
        return []
    visible = cases.visible_need_domains(client, case)
    return [item.domain for item in assessment.items if item.level >= NEED_THRESHOLD and item.domain_code in visible]


def client_if_visible(case):
    """The case's client when the viewer may see it (owner, or a collaborator with an active grant)."""
    from ..clients.models import Client

    return db.session.scalar(select(Client).where(Client.id == case.client_id))
