"""Korean-friendly search and needs-based ranking of resources.

Korean words are often two syllables (주거, 돌봄), which trigram indexes cannot narrow (DESIGN §8).
Each resource keeps the character bigrams of its words as rows of ``resource_terms`` (with copies
of its scope, freshness, order and age limits); a word's resources are found there, in the order
of a page, and only those are read. ``LIKE`` on the text confirms words longer than a bigram.

Why a table and not an array column: under RLS PostgreSQL may use an index before the policy only
through leakproof operators. ``term = '돌봄'`` is one; the former ``string_to_array(...) @> ...``
was not, so the policy ran over every visible resource first (1.7 s at 100 k resources).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import String, and_, cast, event, exists, false, func, inspect, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from ..core import clock
from ..core.db import db
from ..core.paging import Page, Paging, fetch_page, fetch_page_of_ids
from ..tenancy import context
from ..tenancy.models import Tenant
from ..tenancy.policy import InArray
from .models import Capacity, Resource, ResourceTerm
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


def searchable_text(resource) -> str:
    """The text a query's words must appear in (``_haystack`` is its SQL twin)."""
    return " ".join(filter(None, [resource.name, resource.description, resource.organization_name]))


def _haystack():
    return func.lower(func.coalesce(Resource.name, "") + " " + func.coalesce(Resource.description, "") + " "
                      + func.coalesce(Resource.organization_name, ""))


# -- keeping the terms in line -----------------------------------------------------------------------

# The resource's columns its terms depend on: its text, and what the terms carry a copy of.
TERM_SOURCES = ("name", "description", "organization_name", "scope", "province_code", "capacity",
                "last_verified_on", "min_age", "max_age")


def term_copies(resource) -> dict:
    """What every term row of ``resource`` carries besides its term."""
    return {"scope": resource.scope, "province_code": resource.province_code, "capacity": resource.capacity,
            "available": resource.capacity == Capacity.AVAILABLE, "last_verified_on": resource.last_verified_on,
            "name": resource.name, "min_age": resource.min_age, "max_age": resource.max_age}


def index(resource: Resource) -> None:
    """Bring the resource's term rows in line with it: its bigrams, and the copies they carry."""
    _apply_column_defaults(resource)
    wanted = tokens(searchable_text(resource))
    kept = {row.term: row for row in resource.terms}
    for term, row in kept.items():
        if term not in wanted:
            resource.terms.remove(row)
    resource.terms.extend(ResourceTerm(term=term, tenant_id=resource.tenant_id)
                          for term in sorted(wanted - kept.keys()))
    copies = term_copies(resource)
    for row in resource.terms:
        for key, value in copies.items():
            if getattr(row, key) != value:
                setattr(row, key, value)


def _apply_column_defaults(resource: Resource) -> None:
    """A new resource's defaults (capacity, scope) are set at the INSERT, after its terms are made:
    set them now, so the copies agree with the row."""
    for name in TERM_SOURCES:
        default = Resource.__table__.c[name].default
        if getattr(resource, name) is None and default is not None and default.is_scalar:
            setattr(resource, name, default.arg)


@event.listens_for(Session, "before_flush", insert=True)  # first: the tenancy guard then checks the new rows
def _index_changed_resources(session, flush_context, instances):
    """Every write path (forms, imports, verification, scope changes, fixtures) keeps its terms."""
    for obj in [*session.new, *session.dirty]:
        if isinstance(obj, Resource) and obj not in session.deleted and _terms_outdated(obj):
            index(obj)


def _terms_outdated(resource: Resource) -> bool:
    state = inspect(resource)
    return state.pending or any(state.attrs[name].history.has_changes() for name in TERM_SOURCES)


# -- matching words ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Words:
    """A query's words: the bigram the search walks (``lead``), the others every match must have
    too, and the words longer than a bigram, which only the text itself can confirm."""

    lead: str
    others: tuple[str, ...]
    to_confirm: tuple[str, ...]

    @classmethod
    def of(cls, query: str | None) -> "Words | None":
        query_words, needed = words(query), sorted(tokens(query))
        if not needed:
            return None
        # A word of one or two letters lies inside one word of the text exactly when it is one of
        # its terms; a longer word may have all its bigrams apart, so the text confirms it.
        return cls(needed[0], tuple(needed[1:]), tuple(w for w in query_words if len(w) > 2))

    def term_criteria(self) -> list:
        """Criteria on ``ResourceTerm`` rows of the lead bigram."""
        other = aliased(ResourceTerm)
        return [ResourceTerm.term == self.lead,
                *[exists(select(other.id).where(other.resource_id == ResourceTerm.resource_id, other.term == term))
                  for term in self.others]]

    def text_criteria(self) -> list:
        """Criteria on ``Resource`` rows."""
        haystack = _haystack()
        return [haystack.contains(word, autoescape=True) for word in self.to_confirm]


def text_filter(query: str):
    """A WHERE clause on ``Resource`` matching every word of ``query`` (ids first, then the text)."""
    found = Words.of(query)
    if found is None:
        return None
    ids = select(ResourceTerm.resource_id).where(*found.term_criteria())
    return and_(InArray(Resource.id, ids), *found.text_criteria())


def matching(found: Words, resource_criteria: list, term_criteria: list = ()):
    """The ids of the resources with ``found``'s words, from the lead bigram's rows: ``term_criteria``
    on those rows, ``resource_criteria`` (and the longer words) checked on each candidate resource
    in turn. Order it by the term's columns to read only a page of candidates."""
    statement = select(ResourceTerm.resource_id).where(*found.term_criteria(), *term_criteria)
    on_resource = [*found.text_criteria(), *resource_criteria]
    if on_resource:
        # OFFSET 0 keeps this a check per candidate: as a join, PostgreSQL would rather read every
        # visible resource to find the few candidates the term index has already named.
        statement = statement.where(exists(select(Resource.id).where(
            Resource.id == ResourceTerm.resource_id, *on_resource).offset(0)))
    return statement


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


# The order of the search screen, on the resources and on their terms (the same values).
ORDER = ((Resource.capacity == Capacity.AVAILABLE.value).desc(), Resource.last_verified_on.desc(), Resource.name,
         Resource.id)
TERM_ORDER = (ResourceTerm.available.desc(), ResourceTerm.last_verified_on.desc(), ResourceTerm.name,
              ResourceTerm.resource_id)


def find(filters: Filters, page: int = 1, per_page: int = 30, today: date | None = None) -> Page:
    """Resources the active tenant may see (the ORM applies each resource's sharing scope) that
    meet every filter; other tenants' stale listings are left out. Available first, then the most
    recently verified. One page in SQL, with a capped count; with words, the page's candidates come
    from the terms in that order, so a common word costs a page, not every resource that has it."""
    fresh_since = (today or clock.today()) - service.STALE_AFTER
    rows = select(Resource).options(selectinload(Resource.tenant)).order_by(*ORDER)
    wanted = Paging(page, per_page)
    found = Words.of(filters.query) if filters.query else None
    if found is None:
        criteria = [*_common_criteria(Resource, filters, fresh_since), *_resource_criteria(filters)]
        return fetch_page(rows.where(*criteria), wanted, count_statement=select(Resource.id).where(*criteria))
    ids = matching(found, _resource_criteria(filters), _common_criteria(ResourceTerm, filters, fresh_since))
    return fetch_page_of_ids(ids.order_by(*TERM_ORDER), lambda page_ids: rows.where(InArray(Resource.id, page_ids)),
                             wanted)


def _common_criteria(cls, filters: Filters, fresh_since: date) -> list:
    """Criteria on columns a resource and its terms both have (``cls``: either)."""
    criteria = [or_(cls.tenant_id == context.current_tenant_id(), cls.last_verified_on >= fresh_since)]
    if filters.age is not None:
        criteria += [or_(cls.min_age.is_(None), cls.min_age <= filters.age),
                     or_(cls.max_age.is_(None), cls.max_age >= filters.age)]
    if filters.capacities:
        criteria.append(cls.capacity.in_(filters.capacities))
    if filters.registrant_kinds:
        criteria.append(cls.tenant_id.in_(select(Tenant.id).where(Tenant.kind.in_(filters.registrant_kinds))))
    return criteria


def _resource_criteria(filters: Filters) -> list:
    """Criteria only the resource itself can answer."""
    criteria = []
    if filters.need_domains:
        criteria.append(need_domain_filter(filters.need_domains))
    if filters.area_code:
        criteria.append(_covers_area(filters.area_code))
    if filters.household in HOUSEHOLD_TYPES:
        conditions = func.coalesce(Resource.household_conditions, "")
        _label, keywords = HOUSEHOLD_TYPES[filters.household]
        criteria.append(or_(conditions == "", *[conditions.contains(k, autoescape=True) for k in keywords]))
    if filters.kind:
        criteria.append(Resource.kind == filters.kind)
    return criteria


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
