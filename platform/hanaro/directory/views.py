"""The anonymous public directory (/directory): read-only, ``public`` resources only, cacheable.

Every query runs as an anonymous visitor (``tenancy.context.anonymous``) whoever is signed in, and
also asks for ``scope = public`` explicitly: the directory never depends on the viewer. Staff-only
fields are not in the templates or the HSDS feed at all.
"""
from __future__ import annotations

from flask import Blueprint, abort, g, jsonify, render_template, request
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..cases.models import NeedDomain
from ..core import clock
from ..core.access import public
from ..core.db import db
from ..core.paging import fetch_page, fetch_page_of_ids, paging
from ..resources import search
from ..resources import service as resources
from ..resources.models import CAPACITY_LABELS, WAIT_LABELS, Resource, ResourceTerm, Scope
from ..resources.views import KIND_LABELS, WEEKDAY_LABELS
from ..tenancy.context import anonymous
from ..tenancy.policy import InArray
from ..tenancy.service import region_names
from . import hsds

bp = Blueprint("directory", __name__, url_prefix="/directory")

CACHE_SECONDS = 300
PER_PAGE = 30


def _cacheable():
    """Ask the response hook for ``Cache-Control: public`` instead of ``no-store``."""
    g.public_cache_seconds = CACHE_SECONDS


def _public_statement():
    """Public, not stale resources (the ORM and RLS add the anonymous policy on top)."""
    fresh_since = clock.today() - resources.STALE_AFTER
    return select(Resource).where(Resource.scope == Scope.PUBLIC, Resource.last_verified_on >= fresh_since)


def _search(query: str, domain: str, wanted):
    """A page of public resources by name, with the query's words (found through their terms, in
    name order: only a page of candidates is read) and in the need domain."""
    domain_criteria = [search.need_domain_filter([domain])] if domain else []
    rows = _public_statement().options(selectinload(Resource.tenant)).order_by(Resource.name, Resource.id)
    found = search.Words.of(query) if query else None
    if found is None:
        statement = _public_statement().where(*domain_criteria)
        return fetch_page(rows.where(*domain_criteria), wanted, count_statement=statement)
    fresh_since = clock.today() - resources.STALE_AFTER
    ids = search.matching(found, domain_criteria, [ResourceTerm.scope == Scope.PUBLIC,
                                                   ResourceTerm.last_verified_on >= fresh_since])
    return fetch_page_of_ids(ids.order_by(ResourceTerm.name, ResourceTerm.resource_id),
                             lambda page_ids: rows.where(InArray(Resource.id, page_ids)), wanted)


def _listable(resource: Resource) -> bool:
    return resource.scope is Scope.PUBLIC and not resources.is_hidden_as_stale(resource)


def _domain_names() -> dict:
    return {d.code: d.name for d in db.session.scalars(select(NeedDomain).order_by(NeedDomain.sort_order))}


@bp.get("")
@public
def index():
    query = (request.args.get("q") or "").strip()[:100]
    domain = request.args.get("domain") or ""
    with anonymous():
        domains = _domain_names()
        if domain not in domains:
            domain = ""
        page = _search(query, domain, paging(request.args, PER_PAGE))
        html = render_template(
            "directory/index.html", page=page, query=query, domain=domain,
            domain_options=list(domains.items()), domain_names=domains,
            capacity_labels=CAPACITY_LABELS, kind_labels=KIND_LABELS, organization_name=hsds.organization_name,
        )
    _cacheable()
    return html


@bp.get("/<public_id>")
@public
def show(public_id: str):
    with anonymous():
        resource = db.session.scalar(_public_statement().where(Resource.public_id == public_id))
        if resource is None or not _listable(resource):
            abort(404)
        domains = _domain_names()
        areas = region_names(resource.service_area_codes or [])
        html = render_template(
            "directory/show.html", resource=resource, organization_name=hsds.organization_name(resource),
            domain_names=[domains.get(c, c) for c in resource.need_domains or []],
            area_names=[areas.get(c, c) for c in resource.service_area_codes or []],
            weekday_labels=WEEKDAY_LABELS, wait_labels=WAIT_LABELS, kind_labels=KIND_LABELS,
        )
    _cacheable()
    return html


@bp.get("/hsds.json")
@public
def hsds_feed():
    wanted = paging(request.args, hsds.DEFAULT_PER_PAGE, hsds.MAX_PER_PAGE)
    page_number, per_page = wanted.page, wanted.per_page
    with anonymous():
        total = db.session.scalar(select(func.count()).select_from(_public_statement().subquery()))
        rows = db.session.scalars(
            _public_statement().options(selectinload(Resource.tenant)).order_by(Resource.name, Resource.id)
            .limit(per_page).offset(wanted.offset)
        )
        shown = [r for r in rows if _listable(r)]
        codes = {c for r in shown for c in (r.service_area_codes or [])} | {r.province_code for r in shown}
        body = hsds.page(shown, total, page_number, per_page,
                         domain_names=_domain_names(), region_names=region_names(codes))
    _cacheable()
    return jsonify(body)
