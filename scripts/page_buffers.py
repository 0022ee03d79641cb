"""What each main page costs PostgreSQL on a scale-seed data set, machine speed aside: for every
page of the manifest, the buffers its SELECTs touch (EXPLAIN (ANALYZE, BUFFERS), run again under the
same tenant and user as the app role, RLS on) and how many statements it ran.

    scripts/bench --buffers --sets hanaro_scale_10k,hanaro_scale_1m [--tenants fixed,largest] [--pages cases,home]

Buffers do not change with the load on the machine, so this is how to compare two sets or two
versions of a query while other work runs; the speed itself is `scripts/bench --scale`.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]

from tests.page_costs import page_buffers  # noqa: E402


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="hanaro_scale_10k,hanaro_scale_1m")
    parser.add_argument("--tenants", default="fixed,largest")
    parser.add_argument("--pages", default="", help="page names of the manifest (all when empty)")
    parser.add_argument("--pg", default="127.0.0.1:5432", help="PostgreSQL host:port")
    parser.add_argument("--role", default="hanaro_scale_app")
    return parser.parse_args(argv)


def measure(database: str, args) -> dict[tuple[str, str], tuple[int, int]]:
    from hanaro import create_app

    manifest = json.loads((ROOT / "var" / "scale" / f"{database}.json").read_text(encoding="utf-8"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://{args.role}@{args.pg}/{database}",
                      "SECRET_KEY": "page-buffers", "WTF_CSRF_ENABLED": False, "TESTING": True})
    wanted = [page for page in args.pages.split(",") if page]
    results = {}
    for tenant in args.tenants.split(","):
        clients = {}
        for page, target in manifest["tenants"][tenant]["pages"].items():
            if wanted and page not in wanted:
                continue
            client = app.test_client()
            if not target.get("anonymous"):
                email = target["email"]
                if email not in clients:
                    clients[email] = client
                    client.post("/login", data={"email": email, "password": manifest["password"]})
                client = clients[email]
            client.get(target["path"])  # warm per-process caches
            results[(tenant, page)] = page_buffers(app, client, target["path"])
    return results


def main(argv) -> int:
    args = parse_args(argv)
    os.environ.setdefault("SECRET_KEY", "page-buffers")
    sets = [name for name in args.sets.split(",") if name]
    measured = {database: measure(database, args) for database in sets}
    keys = list(measured[sets[0]])
    print("| tenant | page | " + " | ".join(f"{s} buffers (statements)" for s in sets)
          + (" | ratio |" if len(sets) == 2 else " |"))
    print("| --- | --- |" + " ---: |" * (len(sets) + (len(sets) == 2)))
    for key in keys:
        cells = [f"{measured[s][key][0]:,} ({measured[s][key][1]})" for s in sets if key in measured[s]]
        ratio = ""
        if len(sets) == 2 and key in measured[sets[1]]:
            ratio = f" | {measured[sets[1]][key][0] / max(measured[sets[0]][key][0], 1):.2f}"
        print(f"| {key[0]} | {key[1]} | " + " | ".join(cells) + ratio + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
