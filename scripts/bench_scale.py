"""scripts/bench --scale: the read side at national scale (issue 14's Targets).

For each data set made by scripts/scale-seed (its manifest names a largest, a median and a fixed
tenant and, for each, the page paths and who signs in), serve the app with gunicorn as the app role
(RLS on), measure every page of every tenant, then serve it as the BYPASSRLS role and measure the
same pages; then the bare-Flask ceilings (scripts/bench_ceiling.py). Rounds are interleaved and
their medians reported. Prints the table and the Targets' verdicts and rewrites the marked section
of docs/performance.md.

  scripts/bench --scale [--sets hanaro_scale_10k,hanaro_scale_1m] [--duration 10] [--rounds 1]
                        [--pages cases,clients] [--tenants largest,median,fixed] [--manifest PATH]...
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shlex
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_load import (  # noqa: E402
    BASE, BENCH_DATA_KEY, CONCURRENCY, ROOT, Logins, Measurement, app_env, measure, median_of, serve,
)

SETS = ("hanaro_scale_10k", "hanaro_scale_1m")
TENANTS = ("largest", "median", "fixed")
PAGES = ("home", "clients", "cases", "case", "referrals_inbox", "referrals_outbox", "referral", "resource_search",
         "resource", "directory", "notifications", "feedback", "care_meetings", "campaign", "oversight")
# The pages that list a tenant's own records (the Targets' "list pages").
LIST_PAGES = ("clients", "cases", "referrals_inbox", "referrals_outbox", "notifications", "feedback", "care_meetings")
ROLES = {"app": "RLS on", "bypass": "RLS off"}
CEILINGS = {"rows": "/rows", "orm-rows": "/orm-rows"}
DOCS = ROOT / "docs" / "performance.md"
START, END = "<!-- bench:scale:start -->", "<!-- bench:scale:end -->"
WARM_UP_SECONDS = 1

FIXED_P95_RATIO = 1.2
LARGEST_LIST_P95_MS = 150.0
MEDIAN_LIST_CEILING_SHARE = 0.30
RLS_THROUGHPUT_RATIO = 0.95
SEARCH_P95_MS = 100.0

Key = tuple[str, str, str, str]  # (set, role, tenant, page)


@dataclass(frozen=True)
class Verdict:
    target: str
    where: str
    shown: str
    met: bool


# -- the verdicts (pure) -------------------------------------------------------------------------------


def verdicts(summary: dict[Key, Measurement], ceilings: dict[str, Measurement], sets: list[str]) -> list[Verdict]:
    return [*_fixed_tenant(summary, sets), *_largest_lists(summary, sets), *_median_lists(summary, ceilings, sets),
            *_rls_cost(summary), *_search(summary, sets)]


def _check(target: str, where: str, shown: str, met: bool, *used: Measurement) -> Verdict:
    failed = [m.problems() for m in used if m.failed]
    if failed:
        return Verdict(target, where, f"{shown} (not 2xx: {'; '.join(failed)})", False)
    return Verdict(target, where, shown, met)


def _pages_in(summary: dict[Key, Measurement]) -> list[str]:
    seen = {key[3] for key in summary}
    return [page for page in PAGES if page in seen]


def _fixed_tenant(summary, sets) -> list[Verdict]:
    if len(sets) < 2:
        return []
    small, large = sets[0], sets[-1]
    target = f"fixed tenant p95, {large} ÷ {small} ≤ {FIXED_P95_RATIO}"
    out = []
    for page in _pages_in(summary):
        before, after = summary.get((small, "app", "fixed", page)), summary.get((large, "app", "fixed", page))
        if before and after:
            ratio = after.p95 / before.p95 if before.p95 else None
            shown = f"{ratio:.2f}× ({before.p95:.0f} → {after.p95:.0f} ms)" if ratio else "no latency"
            out.append(_check(target, page, shown, ratio is not None and ratio <= FIXED_P95_RATIO, before, after))
    return out


def _largest_lists(summary, sets) -> list[Verdict]:
    target = f"largest tenant, list page p95 ≤ {LARGEST_LIST_P95_MS:.0f} ms"
    out = []
    for database in sets:
        for page in LIST_PAGES:
            if m := summary.get((database, "app", "largest", page)):
                out.append(_check(target, f"{page}, {database}", _ms(m, m.p95), m.p95 <= LARGEST_LIST_P95_MS, m))
    return out


def _median_lists(summary, ceilings, sets) -> list[Verdict]:
    ceiling = ceilings.get("orm-rows")
    if ceiling is None or not ceiling.rps:
        return []
    target = f"median tenant, list page req/s ÷ 50-ORM-row ceiling ≥ {MEDIAN_LIST_CEILING_SHARE:.2f}"
    out = []
    for database in sets:
        for page in LIST_PAGES:
            if m := summary.get((database, "app", "median", page)):
                share = m.rps / ceiling.rps
                out.append(_check(target, f"{page}, {database}", f"{share:.2f} ({_rate(m)} ÷ {_rate(ceiling)})",
                                  share >= MEDIAN_LIST_CEILING_SHARE, m, ceiling))
    return out


def _rls_cost(summary) -> list[Verdict]:
    """Per page, the worst tenant and set: RLS must cost little everywhere, not on average."""
    target = f"RLS on ÷ RLS off req/s ≥ {RLS_THROUGHPUT_RATIO} (worst tenant and set)"
    out = []
    for page in _pages_in(summary):
        pairs = [(key, summary[key], summary.get((key[0], "bypass", key[2], page)))
                 for key in summary if key[1] == "app" and key[3] == page]
        pairs = [(key, on, off) for key, on, off in pairs if off is not None and off.rps]
        if not pairs:
            continue
        # a pair that did not answer 2xx is shown first, however good its ratio
        key, on, off = min(pairs, key=lambda pair: (not (pair[1].failed or pair[2].failed), pair[1].rps / pair[2].rps))
        ratio = on.rps / off.rps
        out.append(_check(target, f"{page} ({key[2]}, {key[0]})",
                          f"{ratio:.2f} ({_rate(on)} ÷ {_rate(off)})", ratio >= RLS_THROUGHPUT_RATIO, on, off))
    return out


def _search(summary, sets) -> list[Verdict]:
    target = f"resource search p95 ≤ {SEARCH_P95_MS:.0f} ms"
    return [_check(target, f"{tenant}, {database}", _ms(m, m.p95), m.p95 <= SEARCH_P95_MS, m)
            for database in sets for tenant in TENANTS
            if (m := summary.get((database, "app", tenant, "resource_search")))]


# -- the report (pure) ---------------------------------------------------------------------------------


def report(summary: dict[Key, Measurement], ceilings: dict[str, Measurement], checks: list[Verdict],
           sets: list[str], context: dict) -> str:
    """The markdown section of docs/performance.md, also printed."""
    lines = ["## Read side at national scale (`scripts/bench --scale`)", "",
             f"Measured {context['date']} on {context['machine']}. Load: {context['load']}.", "",
             f"Command: `{context['command']}`", ""]
    lines += [f"- `{database}`: {context['sets'].get(database, '')}" for database in sets]
    lines += ["", "### Pages", "",
              "| page | tenant | set | req/s | p50 | p95 | p99 | RLS off req/s | RLS off p95 | on ÷ off | not 2xx |",
              "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for page in _pages_in(summary):
        for tenant in TENANTS:
            for database in sets:
                if on := summary.get((database, "app", tenant, page)):
                    lines.append(_row(page, tenant, database, on, summary.get((database, "bypass", tenant, page))))
    lines += ["", "### Bare-Flask ceilings (same run, gunicorn 2 workers)", "",
              "| page | req/s | p50 | p95 | rows | not 2xx |", "| --- | ---: | ---: | ---: | ---: | --- |"]
    for name, m in ceilings.items():
        label = "50-row Jinja page with a layout" if name == "rows" else "the same with 50 ORM rows (`regions`)"
        lines.append(f"| {label} | {_rate(m)} | {_ms(m, m.p50)} | {_ms(m, m.p95)} | {context['ceiling_rows'].get(name, '?')} "
                     f"| {m.problems()} |")
    met = sum(check.met for check in checks)
    lines += ["", "### Targets", "", "| target | where | value | verdict |", "| --- | --- | --- | --- |"]
    lines += [f"| {c.target} | {c.where} | {c.shown} | {'met' if c.met else '**NOT met**'} |" for c in checks]
    lines += ["", f"**{met} of {len(checks)} met.**"]
    return "\n".join(lines) + "\n"


def _row(page: str, tenant: str, database: str, on: Measurement, off: Measurement | None) -> str:
    problems = "; ".join(filter(None, [on.problems(), off and off.problems() and f"RLS off: {off.problems()}"]))
    ratio = f"{on.rps / off.rps:.2f}" if off and off.rps else ""
    cells = [page, tenant, database, _rate(on), _ms(on, on.p50), _ms(on, on.p95), _ms(on, on.p99),
             _rate(off), _ms(off, off and off.p95), ratio, problems]
    return "| " + " | ".join(cells) + " |"


def _rate(m: Measurement | None) -> str:
    if m is None:
        return ""
    return f"{m.rps:.0f}" if m.rps >= 100 else f"{m.rps:.1f}"


def _ms(m: Measurement | None, value: float | None) -> str:
    """'—' when nothing answered within the run: no latency is not a latency of 0."""
    if m is None:
        return ""
    if not m.statuses:
        return "—"
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


DOCUMENT = f"""# Performance

What Hanaro serves on this machine. The section between the markers below is rewritten by every
`scripts/bench --scale` run (see README, "Benchmarks"); everything outside it is written by people.

{START}
{END}

## Why not met

For each target marked **NOT met** above: the measured cause (EXPLAIN, profile) and what would fix
it. This section is kept across runs.
"""


def replace_section(document: str, section: str) -> str:
    """The document with only the text between the markers replaced (a new document if empty; the
    markers appended if a person removed them)."""
    if not document.strip():
        document = DOCUMENT
    if START not in document or END not in document[document.find(START):]:
        document = document.rstrip("\n") + f"\n\n{START}\n{END}\n"
    head, rest = document.split(START, 1)
    tail = rest.split(END, 1)[1]
    return f"{head}{START}\n{section.strip()}\n{END}{tail}"


# -- running -------------------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/bench --scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default=",".join(SETS), help="databases, smallest first (default %(default)s)")
    parser.add_argument("--duration", type=float, default=float(os.environ.get("DURATION", "10")),
                        help="seconds of load per page and round (default 10)")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds; medians are reported")
    parser.add_argument("--pages", default=",".join(PAGES))
    parser.add_argument("--tenants", default=",".join(TENANTS))
    parser.add_argument("--manifest", action="append", default=[], help="a set's manifest (repeat per set); "
                        "default var/scale/<database>.json here or in another worktree")
    parser.add_argument("--pg", default="127.0.0.1:5432", help="PostgreSQL host:port")
    parser.add_argument("--app-role", default="hanaro_scale_app")
    parser.add_argument("--bypass-role", default="hanaro_scale_bypass")
    parser.add_argument("--docs", default=str(DOCS), help="where the results go; '' to write nothing")
    args = parser.parse_args(argv)
    args.argv = argv
    args.sets, args.pages, args.tenants = (_names(args.sets, None), _names(args.pages, PAGES),
                                           _names(args.tenants, TENANTS))
    return args


def _names(value: str, allowed: tuple[str, ...] | None) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if allowed is not None and name not in allowed]
    if unknown or not names:
        raise SystemExit(f"unknown or no names: {', '.join(unknown) or value!r}; choose from {', '.join(allowed or ())}")
    return names


def find_manifest(database: str, explicit: list[str]) -> Path:
    for path in map(Path, explicit):
        if json.loads(path.read_text(encoding="utf-8")).get("database") == database:
            return path
    for root in checkouts():
        if (path := root / "var" / "scale" / f"{database}.json").is_file():
            return path
    raise SystemExit(f"no manifest for {database}: run scripts/scale-seed, or pass --manifest PATH")


def checkouts() -> list[Path]:
    """This checkout, then every other worktree of the repository: scale-seed writes
    var/scale/<database>.json in the checkout that ran it."""
    listing = subprocess.run(["git", "worktree", "list", "--porcelain"], cwd=ROOT, capture_output=True, text=True)
    others = [Path(line.removeprefix("worktree ")) for line in listing.stdout.splitlines() if line.startswith("worktree ")]
    return [ROOT, *(path for path in others if path != ROOT)]


class Run:
    """One `--scale` run: its settings, the logins per set, and every round's measurements."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.manifests = {database: json.loads(find_manifest(database, args.manifest).read_text(encoding="utf-8"))
                          for database in args.sets}
        self.logins = {database: Logins(manifest["password"]) for database, manifest in self.manifests.items()}
        self.secret = secrets.token_hex(32)  # one for every server of the run, so cookies outlive restarts
        self.results: dict[Key, list[Measurement]] = defaultdict(list)
        self.ceilings: dict[str, list[Measurement]] = defaultdict(list)
        self.ceiling_rows: dict[str, str] = {}
        self.load_before = os.getloadavg()[0]

    def url(self, database: str, role: str) -> str:
        name = self.manifests[database].get(f"{role}_role") or getattr(self.args, f"{role}_role")
        return f"postgresql+psycopg://{name}@{self.args.pg}/{database}"

    def check_roles(self) -> None:
        """A run whose 'RLS on' role bypasses RLS (or the reverse) would report a false ratio."""
        for database in self.args.sets:
            for role in ROLES:
                engine = create_engine(self.url(database, role))
                with engine.connect() as connection:
                    superuser, bypass = connection.execute(text(
                        "select rolsuper, rolbypassrls from pg_roles where rolname = current_user")).one()
                engine.dispose()
                if (superuser or bypass) != (role == "bypass"):
                    raise SystemExit(f"{self.url(database, role)}: expected {ROLES[role]}, "
                                     f"got superuser={superuser} bypassrls={bypass}")

    def measure_set(self, database: str, role: str) -> None:
        manifest, logins = self.manifests[database], self.logins[database]
        env = app_env(DATABASE_URL=self.url(database, role), SECRET_KEY=self.secret, HANARO_SECURE_COOKIES="0",
                      HANARO_DATA_KEY=manifest.get("data_key") or BENCH_DATA_KEY)
        env.pop("HANARO_DEMO", None)
        done: dict[tuple[str, str], Measurement] = {}  # the anonymous directory is one page for every tenant
        with serve("hanaro:create_app()", env):
            for tenant in self.args.tenants:
                pages = manifest["tenants"].get(tenant, {}).get("pages", {})
                for page in self.args.pages:
                    label = f"{database:<18} {role:<6} {tenant:<8} {page:<17}"
                    if page not in pages:
                        print(f"{label} not in the manifest", flush=True)
                        continue
                    result = self._measure_page(pages[page], logins, done)
                    self.results[(database, role, tenant, page)].append(result)
                    print(f"{label} {result.line()}", flush=True)

    def _measure_page(self, where: dict, logins: Logins, done: dict[tuple[str, str], Measurement]) -> Measurement:
        email = "" if where.get("anonymous") else where["email"]
        if (where["path"], email) not in done:
            cookies = _warm(where["path"], email, logins)
            done[(where["path"], email)] = measure(where["path"], cookies, self.args.duration)
        return done[(where["path"], email)]

    def measure_ceilings(self) -> None:
        env = app_env(CEILING_DATABASE_URL=self.url(self.args.sets[0], "app"))
        with serve("bench_ceiling:create_app()", env, pythonpath=str(Path(__file__).resolve().parent)):
            for name, path in CEILINGS.items():
                self.ceiling_rows[name] = requests.get(BASE + path, timeout=60).headers.get("X-Rows", "?")
                measure(path, None, WARM_UP_SECONDS)
                self.ceilings[name].append(measure(path, None, self.args.duration))
                print(f"{'ceiling':<18} {'':<6} {'':<8} {name:<17} {self.ceilings[name][-1].line()}", flush=True)

    def execute(self) -> None:
        self.check_roles()
        for number in range(1, self.args.rounds + 1):
            print(f"-- round {number} of {self.args.rounds}", flush=True)
            for database in self.args.sets:
                for role in ROLES:
                    self.measure_set(database, role)
            self.measure_ceilings()

    def role_name(self, role: str) -> str:
        return self.url(self.args.sets[0], role).split("//", 1)[1].split("@", 1)[0]

    def context(self, seconds: float) -> dict:
        args = self.args
        return {
            "date": datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
            "machine": f"{machine(self.url(args.sets[0], 'app'))}; {_load_note(self.load_before, os.getloadavg()[0])}",
            "load": (f"wrk, {CONCURRENCY} connections, {args.duration:g} s per page and round, {args.rounds} "
                     f"round{'s' if args.rounds > 1 else ''} (medians), gunicorn 2 sync workers, "
                     f"RLS on = `{self.role_name('app')}`, RLS off = `{self.role_name('bypass')}`; "
                     f"the run took {seconds / 60:.1f} min"),
            "command": shlex.join(["scripts/bench", "--scale", *args.argv]),
            "sets": {database: _describe_set(manifest) for database, manifest in self.manifests.items()},
            "ceiling_rows": self.ceiling_rows,
        }


def _load_note(before: float, after: float) -> str:
    note = f"load average {before:.1f} before the run, {after:.1f} after"
    if before > 1.0:  # a quiet 2-core machine sits well below 1 before the bench starts
        note += " (**other work was running: these numbers are not Hanaro's alone**)"
    return note


def _warm(path: str, email: str, logins: Logins) -> dict[str, str]:
    """One request (a session that has expired is renewed once, so a redirect to the login form
    means the page itself sends people away), then a second of load so that both workers have
    compiled the page's templates and PostgreSQL has its rows in memory before the measurement."""
    cookies = logins.cookies(email)
    response = requests.get(BASE + path, cookies=cookies, allow_redirects=False, timeout=120)
    if email and response.status_code in (302, 303) and "/login" in response.headers.get("Location", ""):
        cookies = logins.cookies(email, fresh=True)
    measure(path, cookies, WARM_UP_SECONDS)
    return cookies


def _describe_set(manifest: dict) -> str:
    sizes = ", ".join(f"{name} {value:,}" if isinstance(value, int) else f"{name} {value}"
                      for name, value in manifest.get("sizes", {}).items())
    tenants = "; ".join(f"{label}: {t.get('kind', '?')} with {t.get('cases', 0):,} cases"
                        for label, t in manifest["tenants"].items())
    return f"{sizes or 'sizes not recorded'} (seed {manifest.get('seed', '?')}); {tenants}"


def machine(database_url: str) -> str:
    """CPU, cores, RAM, OS and PostgreSQL version, read from this machine."""
    cpu = next((line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines()
                if line.startswith("model name")), platform.processor() or "unknown CPU")
    memory = next((int(line.split()[1]) for line in _read("/proc/meminfo").splitlines()
                   if line.startswith("MemTotal:")), 0)
    engine = create_engine(database_url)
    with engine.connect() as connection:
        postgres = connection.execute(text("show server_version")).scalar()
    engine.dispose()
    return (f"{cpu}, {os.cpu_count()} cores, {memory / 1024 ** 2:.0f} GiB RAM, PostgreSQL {postgres}, "
            f"{platform.system()} {platform.release()}")


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError:
        return ""


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if not shutil.which("wrk"):
        raise SystemExit("scripts/bench --scale needs wrk (apt-get install -y wrk): Python threads would share the cores")
    started = time.monotonic()
    run = Run(args)
    per_round = len(args.sets) * len(ROLES) * len(args.tenants) * len(args.pages) + len(CEILINGS)
    print(f"up to {per_round * args.rounds} measurements of {args.duration:g} s (+{WARM_UP_SECONDS} s warm-up): "
          f"~{per_round * args.rounds * (args.duration + WARM_UP_SECONDS) / 60:.0f} min", flush=True)
    run.execute()
    summary = {key: median_of(rounds) for key, rounds in run.results.items()}
    ceilings = {name: median_of(rounds) for name, rounds in run.ceilings.items()}
    section = report(summary, ceilings, verdicts(summary, ceilings, args.sets), args.sets,
                     run.context(time.monotonic() - started))
    print("\n" + section)
    if args.docs:
        write_docs(Path(args.docs), section)
    write_raw(run, ROOT / "var" / "scale" / "bench-results.json")
    return 0


def write_docs(path: Path, section: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(replace_section(path.read_text(encoding="utf-8") if path.exists() else "", section), encoding="utf-8")
    print(f"written to {path}")


def write_raw(run: Run, path: Path) -> None:
    """Every round's numbers, for whoever has to explain a verdict."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rounds = {"|".join(key): [asdict(m) for m in measurements] for key, measurements in run.results.items()}
    ceilings = {name: [asdict(m) for m in measurements] for name, measurements in run.ceilings.items()}
    path.write_text(json.dumps({"rounds": rounds, "ceilings": ceilings}, indent=1), encoding="utf-8")
    print(f"every round's numbers: {path}")
