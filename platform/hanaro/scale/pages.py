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
    """A tenant with the median case count (or the nearest) whose every page exists, an NGO or a
    welfare centre when one fits."""
    workers = sorted((t for t in world.blocks["rest"] if t.kind != "province"), key=lambda t: t.cases)
    middle = workers[len(workers) // 2].cases
    kinds = {"ngo": 0, "welfare_centre": 1}
    ranked = sorted(workers, key=lambda t: (abs(t.cases - middle), kinds.get(t.kind, 2), t.id))
    return next((t for t in ranked if _complete(world, t)), ranked[0])


def _complete(world, tenant) -> bool:
    return _referral_of(world, tenant) is not None and None not in _context_pages(world, tenant).values()


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
    pages.update(_context_pages(world, tenant))
    return pages


def _context_pages(world, tenant) -> dict:
    """Pages of the pilot, campaign and oversight the tenant runs or takes part in, each with a
    login that may open it (the coordinator, the organiser, the municipality's inspector)."""
    worker = tenant.emails[tenant.case_managers[0]]
    runner = tenant if tenant.id in world.workspaces else next(
        (world.tenants[r] for r, (_w, taking_part) in world.workspaces.items() if tenant in taking_part), None)
    organised = next((c for c in world.campaigns if c[2] is tenant and c[3] != "preparation"), None)
    invited = next((c for c in world.campaigns if tenant in c[4] and c[3] != "preparation"), None)
    supervisor = tenant if tenant.kind == "municipality" else next(
        (t for t in world.blocks[tenant.block]
         if t.kind == "municipality" and t.region_code[:5] == tenant.region_code[:5]), None)
    return {
        "feedback": _login_of(runner, "pilot_coordinator", "/feedback/board"),
        "care_meetings": _page("/care-meetings", worker) if runner else None,
        "campaign": (_login_of(tenant, "campaign_organiser", f"/campaigns/{organised[1]}") if organised else
                     _page(f"/campaigns/{invited[1]}", worker) if invited else None),
        "oversight": _login_of(supervisor, "inspector", "/oversight"),
    }


def _login_of(tenant, role: str, path: str) -> dict | None:
    if tenant is None or not tenant.with_role(role):
        return None
    return _page(path, tenant.emails[tenant.with_role(role)[0]])


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

