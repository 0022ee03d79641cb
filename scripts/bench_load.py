"""What the benchmarks share: serving an app with gunicorn, signing in once per user, and measuring
one page under load (wrk with scripts/bench_wrk.lua, else Python threads)."""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import requests

ROOT = Path(__file__).resolve().parents[1]
WRK_SCRIPT = Path(__file__).with_name("bench_wrk.lua")
PORT = int(os.environ.get("BENCH_PORT", "5099"))
BASE = f"http://127.0.0.1:{PORT}"
CONCURRENCY = int(os.environ.get("CONCURRENCY", "8"))
DEMO_PASSWORD = "hanaro-demo-2026"
BENCH_DATA_KEY = "YmVuY2gtb25seS1kYXRhLWtleS0zMi1ieXRlcy1sb24="  # encrypts registration numbers in bench data only
# A page slower than wrk's default 2 s timeout must count as slow, not vanish from the percentiles.
WRK_TIMEOUT = "60s"


@dataclass(frozen=True)
class Measurement:
    """One page under load: throughput, latency percentiles (ms) and every status that came back."""

    rps: float
    p50: float
    p95: float
    p99: float
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0  # socket errors and timeouts

    @property
    def non_2xx(self) -> int:
        return sum(count for status, count in self.statuses.items() if not 200 <= status < 300)

    @property
    def failed(self) -> bool:
        return bool(self.non_2xx or self.errors or not self.statuses)

    def problems(self) -> str:
        """'' when every answer was a 2xx, else e.g. '302×41 errors×2' — for the tables."""
        parts = [f"{status}×{count}" for status, count in sorted(self.statuses.items()) if not 200 <= status < 300]
        if self.errors:
            parts.append(f"errors×{self.errors}")
        if not self.statuses and not self.errors:
            parts.append("no answer within the run")
        return " ".join(parts)

    def line(self) -> str:
        problems = self.problems()
        return (f"{self.rps:8.1f} req/s   p50 {self.p50:7.1f} ms   p95 {self.p95:7.1f} ms   p99 {self.p99:7.1f} ms"
                + (f"   NOT 2xx: {problems}" if problems else ""))


_WRK_LINE = re.compile(
    r"^bench: requests=(?P<requests>\d+) duration_us=(?P<duration>\d+) p50_us=(?P<p50>\d+) p95_us=(?P<p95>\d+) "
    r"p99_us=(?P<p99>\d+) socket_errors=(?P<socket>\d+) timeouts=(?P<timeouts>\d+) statuses=(?P<statuses>\S*)$",
    re.MULTILINE,
)


def parse_wrk(output: str) -> Measurement:
    """Read the line scripts/bench_wrk.lua prints at the end of a wrk run."""
    match = _WRK_LINE.search(output)
    if match is None:
        raise ValueError(f"no bench line in wrk output:\n{output}")
    statuses = {}
    for part in filter(None, match["statuses"].split(",")):
        status, count = part.split(":")
        statuses[int(status)] = int(count)
    seconds = int(match["duration"]) / 1e6
    return Measurement(
        rps=int(match["requests"]) / seconds if seconds else 0.0,
        p50=int(match["p50"]) / 1000, p95=int(match["p95"]) / 1000, p99=int(match["p99"]) / 1000,
        statuses=statuses, errors=int(match["socket"]) + int(match["timeouts"]),
    )


def median_of(rounds: list[Measurement]) -> Measurement:
    """Medians of interleaved rounds; statuses and errors of all rounds add up, so none is hidden."""
    statuses: Counter[int] = Counter()
    for measurement in rounds:
        statuses.update(measurement.statuses)
    return Measurement(
        rps=statistics.median(m.rps for m in rounds), p50=statistics.median(m.p50 for m in rounds),
        p95=statistics.median(m.p95 for m in rounds), p99=statistics.median(m.p99 for m in rounds),
        statuses=dict(statuses), errors=sum(m.errors for m in rounds),
    )


def measure(path: str, cookies: dict[str, str] | None = None, duration: float = 10.0,
            connections: int = CONCURRENCY) -> Measurement:
    path = url_path(path)
    if shutil.which("wrk"):
        return _measure_wrk(path, cookies or {}, duration, connections)
    return _measure_threads(path, cookies or {}, duration, connections)


def url_path(path: str) -> str:
    """A path as it goes on the wire: a manifest may write `?q=돌봄`, wrk sends bytes as given."""
    return quote(path, safe="/?&=%+:;,@!$'()*~-._")


def _measure_wrk(path: str, cookies: dict[str, str], duration: float, connections: int) -> Measurement:
    """wrk (C) generates the load, so the client does not steal the server's CPU."""
    args = ["wrk", "-t2", f"-c{connections}", f"-d{max(1, round(duration))}s", "--timeout", WRK_TIMEOUT,
            "-s", str(WRK_SCRIPT)]
    if cookies:
        args += ["-H", "Cookie: " + "; ".join(f"{name}={value}" for name, value in cookies.items())]
    output = subprocess.run([*args, BASE + path], capture_output=True, text=True, check=True).stdout
    return parse_wrk(output)


def _measure_threads(path: str, cookies: dict[str, str], duration: float, connections: int) -> Measurement:
    latencies, statuses, errors = [], Counter(), [0]
    lock, stop = threading.Lock(), time.monotonic() + duration

    def worker():
        session = requests.Session()
        session.cookies.update(cookies)
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                status = session.get(BASE + path, allow_redirects=False, timeout=60).status_code
            except requests.RequestException:
                with lock:
                    errors[0] += 1
                continue
            with lock:
                latencies.append((time.perf_counter() - started) * 1000)
                statuses[status] += 1

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies = sorted(latencies) or [0.0]
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
    return Measurement(rps=sum(statuses.values()) / duration, p50=p(0.5), p95=p(0.95), p99=p(0.99),
                       statuses=dict(statuses), errors=errors[0])


def load_client() -> str:
    return "wrk" if shutil.which("wrk") else "python threads (install wrk for truer numbers)"


@contextlib.contextmanager
def serve(app: str, env: dict, ready_path: str = "/healthz", pythonpath: str | None = None):
    """gunicorn with 2 sync workers (as in production here) on PORT until the block ends; its log is
    printed if it does not come up."""
    with tempfile.NamedTemporaryFile("w+", prefix="bench-gunicorn-", suffix=".log") as log:
        args = [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{PORT}", "--timeout", "120"]
        if pythonpath:
            args += ["--pythonpath", pythonpath]
        server = subprocess.Popen([*args, app], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_until_up(server, ready_path, log)
            yield server
        finally:
            server.terminate()
            server.wait()


def app_env(**settings: str) -> dict:
    """The environment for this checkout's app (its platform/ first on the path, whatever the venv's
    editable install points at), without Redis: jobs run in-process and nothing else is measured."""
    env = {**os.environ, "FLASK_APP": "hanaro", **settings}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "platform"), os.environ.get("PYTHONPATH")]))
    env.pop("REDIS_URL", None)
    return env


def _wait_until_up(server: subprocess.Popen, ready_path: str, log) -> None:
    for _ in range(300):
        if server.poll() is not None:
            break
        try:
            requests.get(BASE + ready_path, timeout=5)
            return
        except requests.RequestException:
            time.sleep(0.1)
    log.seek(0)
    raise RuntimeError(f"gunicorn did not come up on {BASE}:\n{log.read()[-3000:]}")


class Logins:
    """One sign-in per user, its cookies shared by every load run against the same database (the
    login rate limit would refuse more)."""

    def __init__(self, password: str = DEMO_PASSWORD):
        self.password = password
        self._cookies: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    def cookies(self, email: str, fresh: bool = False) -> dict[str, str]:
        if not email:
            return {}
        with self._lock:
            if fresh or email not in self._cookies:
                self._cookies[email] = self._sign_in(email)
            return self._cookies[email]

    def _sign_in(self, email: str) -> dict[str, str]:
        for _ in range(30):  # a 429 from the rate limit clears within its minute
            session = requests.Session()
            page = session.get(f"{BASE}/login", timeout=60).text
            token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
            response = session.post(f"{BASE}/login", data={"csrf_token": token, "email": email, "password": self.password},
                                    allow_redirects=False, timeout=60)
            if response.status_code == 303:
                return session.cookies.get_dict()
            if response.status_code != 429:
                raise RuntimeError(f"signing in as {email} answered {response.status_code}, not 303")
            time.sleep(5)
        raise RuntimeError(f"signing in as {email}: still rate-limited after 150 s")
