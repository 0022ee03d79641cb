"""Resources as Human Services Data Specification (HSDS 3.0) JSON.

Every HSDS id is a UUIDv5 derived from the resource's public id (or the organisation's tenant code
and name), so ids stay stable across exports. Callers decide which resources go in, this module
decides which fields. Staff-only fields (contact person, direct phone, remaining slots) are left out
unless the caller passes ``staff=True`` for a resource whose staff fields the viewer may see
(the staff export); the public feed never does.
"""
from __future__ import annotations

import math
import uuid
from datetime import timezone

from ..resources.models import WAIT_LABELS, Capacity, Resource

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:hanaro:hsds")
HSDS_DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]  # resource.schedule weekday 0 = Monday
KST_OFFSET = "+09:00"
NEED_TAXONOMY = "hanaro-need-domains"
CATEGORY_TAXONOMY = "hanaro-categories"
CAPACITY_TAXONOMY = "hanaro-capacity"
DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 100


def uid(*parts) -> str:
    return str(uuid.uuid5(NAMESPACE, ":".join(str(p) for p in parts)))


def organization_name(resource: Resource) -> str:
    return resource.organization_name or resource.tenant.name


def _organization(resource: Resource) -> dict:
    name = organization_name(resource)
    return {
        "id": uid("organization", resource.tenant.code, resource.organization_name or ""),
        "name": name,
        "description": name,
    }


def _schedules(resource: Resource, service_id: str) -> list[dict]:
    rows = []
    for slot in sorted(resource.schedule or [], key=lambda s: int(s["weekday"])):
        day = int(slot["weekday"])
        rows.append({
            "id": uid("schedule", resource.public_id, day),
            "service_id": service_id,
            "freq": "WEEKLY",
            "wkst": "MO",
            "byday": HSDS_DAYS[day],
            "opens_at": f"{slot['opens']}{KST_OFFSET}",
            "closes_at": f"{slot['closes']}{KST_OFFSET}",
        })
    return rows


def _term(taxonomy: str, code: str, name: str) -> dict:
    return {"id": uid("taxonomy_term", taxonomy, code), "code": code, "name": name, "description": name,
            "taxonomy": taxonomy, "language": "ko"}


def _attributes(resource: Resource, service_id: str, domain_names: dict) -> list[dict]:
    terms = [_term(NEED_TAXONOMY, code, domain_names.get(code, code)) for code in resource.need_domains or []]
    terms += [_term(CATEGORY_TAXONOMY, category, category) for category in resource.categories or []]
    return [_attribute(resource, service_id, term, term["code"]) for term in terms]


def _attribute(resource: Resource, service_id: str, term: dict, value: str) -> dict:
    return {
        "id": uid("attribute", resource.public_id, term["taxonomy"], term["code"]),
        "link_id": service_id, "link_type": "service", "link_entity": "service",
        "taxonomy_term_id": term["id"], "value": value, "taxonomy_term": term,
    }


def _contacts(resource: Resource, service_id: str) -> list[dict]:
    if not (resource.contact_person or resource.direct_phone):
        return []
    contact_id = uid("contact", resource.public_id)
    contact = {"id": contact_id, "service_id": service_id, "name": resource.contact_person, "phones": [
        {"id": uid("contact_phone", resource.public_id), "contact_id": contact_id, "number": resource.direct_phone,
         "type": "voice"}] if resource.direct_phone else []}
    return [{key: value for key, value in contact.items() if value is not None}]


def _remaining_slots(resource: Resource, service_id: str) -> list[dict]:
    if resource.remaining_slots is None:
        return []
    term = _term(CAPACITY_TAXONOMY, "remaining_slots", "남은 자리")
    return [_attribute(resource, service_id, term, str(resource.remaining_slots))]


def _eligibility(resource: Resource) -> str | None:
    parts = [resource.household_conditions, resource.income_note, resource.eligibility_note]
    return " / ".join(p for p in parts if p) or None


def _location(resource: Resource, province_names: dict) -> dict:
    location_id = uid("location", resource.public_id)
    return {
        "id": location_id,
        "location_type": "physical",
        "name": organization_name(resource),
        "addresses": [{
            "id": uid("address", resource.public_id),
            "location_id": location_id,
            "address_1": resource.address,
            "city": "",
            "state_province": province_names.get(resource.province_code or "", ""),
            "postal_code": "",
            "country": "KR",
            "address_type": "physical",
        }],
    }


def service(resource: Resource, domain_names: dict | None = None, region_names: dict | None = None,
            staff: bool = False) -> dict:
    """One resource as an HSDS service, with its organization, location and schedules; with
    ``staff``, also its staff-only contact and remaining slots."""
    domain_names, region_names = domain_names or {}, region_names or {}
    service_id = uid("service", resource.public_id)
    organization = _organization(resource)
    result = {
        "id": service_id,
        "organization_id": organization["id"],
        "name": resource.name,
        "description": resource.description,
        "status": "active",
        "application_process": resource.how_to_apply,
        "fees_description": resource.cost,
        "eligibility_description": _eligibility(resource),
        "minimum_age": resource.min_age,
        "maximum_age": resource.max_age,
        "wait_time": str(WAIT_LABELS[resource.wait_estimate])
        if resource.capacity is Capacity.WAITLIST and resource.wait_estimate else None,
        "assured_date": resource.last_verified_on.isoformat(),
        "last_modified": _utc(resource.updated_at),
        "organization": organization,
        "schedules": _schedules(resource, service_id),
        "attributes": _attributes(resource, service_id, domain_names),
        "phones": [{"id": uid("phone", resource.public_id), "service_id": service_id,
                    "number": resource.public_phone, "type": "voice"}] if resource.public_phone else [],
        "languages": [{"id": uid("language", resource.public_id, lang), "service_id": service_id, "name": lang}
                      for lang in resource.languages or []],
        "service_areas": [{"id": uid("service_area", resource.public_id, code), "service_id": service_id,
                           "name": region_names.get(code, code), "extent": code}
                          for code in resource.service_area_codes or []],
        "required_documents": [{"id": uid("required_document", resource.public_id), "service_id": service_id,
                                "document": resource.required_documents}] if resource.required_documents else [],
        "service_at_locations": [],
    }
    if staff:
        result["contacts"] = _contacts(resource, service_id)
        result["attributes"] += _remaining_slots(resource, service_id)
    if resource.address:
        location = _location(resource, region_names)
        result["service_at_locations"] = [{
            "id": uid("service_at_location", resource.public_id),
            "service_id": service_id,
            "location_id": location["id"],
            "location": location,
        }]
    return {key: value for key, value in result.items() if value is not None}


def _utc(moment) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def page(resources: list[Resource], total: int, page_number: int, per_page: int, staff_fields=None,
         **names) -> dict:
    """The HSDS API ``Page`` envelope around one page of services. ``staff_fields(resource)``
    says whether a resource's staff-only fields go in (never, without it)."""
    total_pages = max(1, math.ceil(total / per_page))
    return {
        "total_items": total,
        "total_pages": total_pages,
        "page_number": page_number,
        "size": len(resources),
        "first_page": page_number == 1,
        "last_page": page_number >= total_pages,
        "empty": not resources,
        "contents": [service(r, staff=bool(staff_fields and staff_fields(r)), **names) for r in resources],
    }
