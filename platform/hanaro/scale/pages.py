"""The manifest of a generated set: its sizes and, for the largest, the median and the fixed
tenant, each capability's main page with a login that may open it (read by scripts/bench)."""
from __future__ import annotations

import json
from pathlib import Path


def manifest(world, counts: dict[str, int], seconds: float) -> dict:
    chosen = {"largest": largest(world), "median": median(world), "fixed": world.blocks["fixed"][0]}
    return {
        "database": None, "seed": world.seed,
        "sizes": {"tenants": len(world.tenants), **{t: n for t, n in sorted(counts.items()) if t != "tenants"}},
        "password": world.password, "seconds": seconds,
        "tenants": {role: describe(world, tenant) for role, tenant in chosen.items()},
    }


def largest(world):
    return max(world.blocks["rest"], key=lambda t: (t.cases, -t.id))


def median(world):
    """A tenant with the median case count, an NGO or welfare centre when one has it."""
    workers = sorted((t for t in world.blocks["rest"] if t.kind != "province"), key=lambda t: t.cases)
    middle = workers[len(workers) // 2].cases
    same = [t for t in workers if t.cases == middle]
    same.sort(key=lambda t: _referral_of(world, t) is None)  # one with a referral page, if any
    return next((t for kind in ("ngo", "welfare_centre") for t in same if t.kind == kind), same[0])


def _referral_of(world, tenant):
    """A referral the tenant sent (with the login of its writer), else one it received."""
    referrals = world.referrals[tenant.block]
    sent = next((r for r in referrals if r.sender is tenant and r.moves), None)
    if sent:
        return sent, tenant.emails[sent.created_by]
    received = next((r for r in referrals if r.receiver is tenant and r.moves), None)
    return (received, tenant.emails[tenant.case_managers[0]]) if received else None


def describe(world, tenant) -> dict:
    return {"id": tenant.id, "code": tenant.code, "name": tenant.name, "kind": tenant.kind, "cases": tenant.cases,
            "pages": pages_of(world, tenant)}


def _page(path: str, email: str | None) -> dict:
    return {"path": path, "email": email, "anonymous": email is None}


def pages_of(world, tenant) -> dict:
    email = tenant.emails
    worker = email[tenant.case_managers[0]]
    case = next((c for c in world.cases[tenant.id] if c.stage < 5), world.cases[tenant.id][0])
    referral, referral_login = _referral_of(world, tenant)
    resource = world.resources[tenant.id][0] if world.resources.get(tenant.id) else _visible_resource(world, tenant)
    pages = {
        "home": _page("/", email[tenant.admin]),
        "clients": _page("/clients", worker),
        "cases": _page("/cases", worker),
        "case": _page(f"/cases/{case.public_id}", worker),
        "referrals_inbox": _page("/referrals?box=inbox", worker),
        "referrals_outbox": _page("/referrals?box=outbox", worker),
        "referral": _page(f"/referrals/{referral.public_id}", referral_login),
        "resource_search": _page("/resources/search?q=돌봄&age=70", worker),
        "resource": _page(f"/resources/{resource[3]}", worker),
        "directory": _page("/directory?q=김치", None),
        "notifications": _page("/notifications", worker),
    }
    pages.update(getattr(world, "context_pages", {}).get(tenant.id, {}))
    return pages


def _visible_resource(world, tenant):
    return next(r for t in world.blocks[tenant.block] for r in world.resources.get(t.id, ()) if r[2] == "public")


def write(manifest_data: dict, directories: list[Path]) -> list[Path]:
    written = []
    for directory in directories:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{manifest_data['database']}.json"
        path.write_text(json.dumps(manifest_data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written


def verify(app, manifest_data: dict) -> list[str]:
    """Every page of the manifest, opened through the test client with its login: the failures."""
    failures = []
    for role, tenant in manifest_data["tenants"].items():
        for name, page in tenant["pages"].items():
            client = app.test_client()
            if page["email"]:
                answer = client.post("/login", data={"email": page["email"], "password": manifest_data["password"]})
                if answer.status_code != 303:
                    failures.append(f"{role}/{name}: login {page['email']} answered {answer.status_code}")
                    continue
            status = client.get(page["path"]).status_code
            if status != 200:
                failures.append(f"{role}/{name}: {page['path']} as {page['email']} answered {status}")
    return failures

