"""Load the demo region into a scratch database, serve it with gunicorn and measure pages."""
from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
PORT = int(os.environ.get("BENCH_PORT", "5099"))
DURATION = float(os.environ.get("DURATION", "10"))
CONCURRENCY = int(os.environ.get("CONCURRENCY", "8"))
BASE = f"http://127.0.0.1:{PORT}"


def prepare(env: dict) -> None:
    env["HANARO_RESIDENT_REGISTRY_CSV"] = str(ROOT / "platform" / "hanaro" / "demo" / "data" / "resident-registry.csv")
    for args in (["db", "upgrade"], ["tenants", "apply", "--demo"], ["demo", "caseload"], ["demo", "catalogue"],
                 ["demo", "referrals"], ["demo", "pilots"], ["demo", "campaigns"], ["demo", "oversight"]):
        subprocess.run(["flask", *args], env=env, cwd=ROOT, check=True, capture_output=True)


_signed_in_cookies: dict[str, dict] = {}
_sign_in_lock = threading.Lock()


def signed_in_session(email: str = "admin@halla.demo") -> requests.Session:
    """One sign-in per user, shared by the load threads (the login rate limit would refuse more)."""
    with _sign_in_lock:
        return _sign_in(email)


def _sign_in(email: str) -> requests.Session:
    session = requests.Session()
    if email in _signed_in_cookies:
        session.cookies.update(_signed_in_cookies[email])
        return session
    page = session.get(f"{BASE}/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = session.post(f"{BASE}/login", data={"csrf_token": token, "email": email,
                                                    "password": "hanaro-demo-2026"}, allow_redirects=False)
    assert response.status_code == 303, response.status_code
    _signed_in_cookies[email] = session.cookies.get_dict()
    return session


def run_wrk(name: str, make_session, path: str) -> None:
    """wrk (C) generates the load, so the client does not steal the server's CPU."""
    cookies = "; ".join(f"{k}={v}" for k, v in make_session().cookies.items())
    args = ["wrk", "-t2", f"-c{CONCURRENCY}", f"-d{int(DURATION)}s", "--latency", BASE + path]
    if cookies:
        args[1:1] = ["-H", f"Cookie: {cookies}"]
    output = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)
    p50 = re.search(r"50%\s+(\S+)", output).group(1)
    p99 = re.search(r"99%\s+(\S+)", output).group(1)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    print(f"{name:<28} {float(rate):8.0f} req/s   p50 {p50:>8}   p99 {p99:>8}   non-2xx {non_2xx.group(1) if non_2xx else 0}")


def run(name: str, make_session, path: str) -> None:
    if shutil.which("wrk"):
        return run_wrk(name, make_session, path)
    latencies, errors, stop = [], [0], time.monotonic() + DURATION
    lock = threading.Lock()

    def worker():
        session = make_session()
        while time.monotonic() < stop:
            started = time.perf_counter()
            response = session.get(BASE + path, allow_redirects=False)
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if response.status_code != 200:
                    errors[0] += 1

    threads = [threading.Thread(target=worker) for _ in range(CONCURRENCY)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    print(f"{name:<28} {len(latencies) / DURATION:8.0f} req/s   p50 {p(0.5):6.1f} ms   p95 {p(0.95):6.1f} ms"
          f"   p99 {p(0.99):6.1f} ms   errors {errors[0]}")


def main() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, "FLASK_APP": "hanaro", "HANARO_DEMO": "1", "SECRET_KEY": "bench-secret"}
        env.setdefault("DATABASE_URL", f"sqlite:///{scratch}/bench.db")
        env.pop("REDIS_URL", None)
        env.setdefault("HANARO_DATA_KEY", "YmVuY2gtb25seS1kYXRhLWtleS0zMi1ieXRlcy1sb24=")
        prepare(env)
        server = subprocess.Popen(
            ["gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{PORT}", "hanaro:create_app()"],
            env={**env, "HANARO_SECURE_COOKIES": "0"}, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(100):
                try:
                    requests.get(f"{BASE}/healthz", timeout=5)
                    break
                except requests.RequestException:
                    time.sleep(0.1)
            client = "wrk" if shutil.which("wrk") else "python threads (install wrk for truer numbers)"
            print(f"database {env['DATABASE_URL'].split(':')[0]}, {CONCURRENCY} connections, {DURATION:.0f} s each, "
                  f"gunicorn 2 workers, {os.cpu_count()} cores, load from {client}")
            run("GET /healthz", requests.Session, "/healthz")
            run("GET /login (signed out)", requests.Session, "/login")
            run("GET / (signed-in home)", signed_in_session, "/")
            run("GET /agreements", signed_in_session, "/agreements")
            case_manager = lambda: signed_in_session("planner@hallim.demo")  # noqa: E731
            run("GET /cases (case list)", case_manager, "/cases")
            run("GET /clients (client list)", case_manager, "/clients")
            run("GET /resources/search (filtered)", case_manager, "/resources/search?domain=economy&age=70&capacity=available")
            run("GET /directory?q=김치 (anonymous)", requests.Session, "/directory?q=%EA%B9%80%EC%B9%98")
            run("GET /referrals (inbox)", lambda: signed_in_session("registrar@foodbank.demo"), "/referrals")
            run("GET /feedback/board (pilot triage)", lambda: signed_in_session("coordinator@jeju.demo"), "/feedback/board")
            run("GET /campaigns (organiser)", lambda: signed_in_session("campaign@jejucity.demo"), "/campaigns")
            run("GET /oversight (inspector overview)", lambda: signed_in_session("inspector@jejucity.demo"), "/oversight")
        finally:
            server.terminate()
            server.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
