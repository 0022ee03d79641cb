"""Benchmarks. Default: load the demo region into a scratch database, serve it with gunicorn and
measure its main pages. `--scale`: the read side on the national-scale data sets (scripts/bench_scale.py)."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile

from bench_load import BENCH_DATA_KEY, CONCURRENCY, ROOT, Logins, app_env, load_client, measure, serve

DURATION = float(os.environ.get("DURATION", "10"))

DEMO_PAGES = (  # (label, who signs in — None: nobody, path)
    ("GET /healthz", None, "/healthz"),
    ("GET /login (signed out)", None, "/login"),
    ("GET / (signed-in home)", "admin@halla.demo", "/"),
    ("GET /agreements", "admin@halla.demo", "/agreements"),
    ("GET /cases (case list)", "planner@hallim.demo", "/cases"),
    ("GET /clients (client list)", "planner@hallim.demo", "/clients"),
    ("GET /resources/search (filtered)", "planner@hallim.demo",
     "/resources/search?domain=economy&age=70&capacity=available"),
    ("GET /directory?q=김치 (anonymous)", None, "/directory?q=%EA%B9%80%EC%B9%98"),
    ("GET /referrals (inbox)", "registrar@foodbank.demo", "/referrals"),
    ("GET /feedback/board (pilot triage)", "coordinator@jeju.demo", "/feedback/board"),
    ("GET /campaigns (organiser)", "campaign@jejucity.demo", "/campaigns"),
    ("GET /oversight (inspector overview)", "inspector@jejucity.demo", "/oversight"),
)


def prepare(env: dict) -> None:
    env["HANARO_RESIDENT_REGISTRY_CSV"] = str(ROOT / "platform" / "hanaro" / "demo" / "data" / "resident-registry.csv")
    for args in (["db", "upgrade"], ["tenants", "apply", "--demo"], ["demo", "caseload"], ["demo", "catalogue"],
                 ["demo", "referrals"], ["demo", "pilots"], ["demo", "campaigns"], ["demo", "oversight"]):
        subprocess.run([sys.executable, "-m", "flask", *args], env=env, cwd=ROOT, check=True, capture_output=True)


def demo() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        env = app_env(HANARO_DEMO="1", SECRET_KEY="bench-secret")
        env.setdefault("DATABASE_URL", f"sqlite:///{scratch}/bench.db")
        env.setdefault("HANARO_DATA_KEY", BENCH_DATA_KEY)
        prepare(env)
        with serve("hanaro:create_app()", {**env, "HANARO_SECURE_COOKIES": "0"}):
            print(f"database {env['DATABASE_URL'].split(':')[0]}, {CONCURRENCY} connections, {DURATION:.0f} s each, "
                  f"gunicorn 2 workers, {os.cpu_count()} cores, load from {load_client()}")
            logins = Logins()
            for label, email, path in DEMO_PAGES:
                print(f"{label:<36} " + measure(path, logins.cookies(email), DURATION).line(), flush=True)
    return 0


def main(argv: list[str]) -> int:
    if "--scale" in argv:
        import bench_scale

        return bench_scale.main([arg for arg in argv if arg != "--scale"])
    if argv:
        print("usage: scripts/bench [--scale [options]]   (scripts/bench --scale --help for its options)", file=sys.stderr)
        return 2
    return demo()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
