"""Writes and jobs at national scale: referral sending, case creation, assessment saving and campaign
nominations through the real service functions (not HTTP), from 1 and 2 processes, and the
notification pipeline (notifications fanned out to real users, time until every e-mail is
delivered by 1 and 2 `flask worker` processes).

Writes change the database, so everything runs on a copy: ``CREATE DATABASE <copy> TEMPLATE
<database>`` (the template must have no connections; retried while busy), upgraded to this code's
migrations, dropped at the end unless ``--keep``: every run starts from the same rows, and with the
same ``--seed`` picks the same subjects. Subjects are the set's own rows (scripts/scale-seed's sets,
whose manifest var/scale/<database>.json names roles and sizes): open cases with their lead workers,
their clients, the partner tenants they referred to before, clients of invited tenants for the open
campaigns. The app connects as the app role (RLS on), like the app would; a superuser connection
only picks subjects and counts results, never measures.

    scripts/bench --writes [--database hanaro_scale_10k] [--notifications 10000] [--ops 200]
                           [--only referrals,cases,assessments,nominations,pipeline] [--write-docs]

Jobs go to Redis database 11 (``--redis``), which the bench empties before and after; e-mail goes to
:class:`Sink`, a transport that turns each message into bytes and drops it.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
FLASK = str(Path(PYTHON).with_name("flask"))
PG = "127.0.0.1:5432"
SUPERUSER = "postgres"
DATA_KEY = "YmVuY2gtb25seS1kYXRhLWtleS0zMi1ieXRlcy1sb24="
START, END = "<!-- bench:writes:start -->", "<!-- bench:writes:end -->"
SCENARIOS = ("referrals", "cases", "assessments", "nominations")


class Sink:
    """The bench's mail server: flattens each message to bytes, as an SMTP send would, counts it and
    drops it (``MAIL_TRANSPORT=bench_writes:Sink``; a worker keeps nothing it "sent")."""

    sent = 0

    def __init__(self, app):
        pass

    def send(self, message) -> None:
        bytes(message)
        Sink.sent += 1


# -- the copy and its connections ------------------------------------------------------------------------

def url(role: str, database: str) -> str:
    return f"postgresql+psycopg://{role}@{PG}/{database}"


def superuser(database: str = "postgres"):
    from sqlalchemy import create_engine

    return create_engine(url(SUPERUSER, database), isolation_level="AUTOCOMMIT")


def copy_database(template: str, copy: str, attempts: int = 60) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    engine = superuser()
    try:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)'))
            owner = connection.execute(text("select pg_get_userbyid(datdba) from pg_database where datname = :t"),
                                       {"t": template}).scalar_one()  # it owns the schema, migrations run as it
            for attempt in range(attempts):
                try:
                    connection.execute(text(f'CREATE DATABASE "{copy}" TEMPLATE "{template}" OWNER "{owner}"'))
                    return
                except OperationalError as error:  # "source database is being accessed by other users"
                    if "being accessed" not in str(error) or attempt == attempts - 1:
                        raise
                    time.sleep(5)
    finally:
        engine.dispose()


def drop_database(name: str) -> None:
    from sqlalchemy import text

    engine = superuser()
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def app_env(args, database: str) -> dict:
    env = {**os.environ, "FLASK_APP": "hanaro", "SECRET_KEY": "bench-writes",
           "DATABASE_URL": url(args.app_role, database), "MIGRATION_DATABASE_URL": url(args.owner_role, database),
           "HANARO_DB_APP_ROLE": args.app_role, "REDIS_URL": args.redis, "HANARO_JOBS_IN_PROCESS": "0",
           "MAIL_TRANSPORT": "bench_writes:Sink", "HANARO_DATA_KEY": os.environ.get("HANARO_DATA_KEY", DATA_KEY)}
    paths = (str(ROOT / "platform"), str(ROOT / "scripts"), os.environ.get("PYTHONPATH"))
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    return env


def load_env(env: dict) -> None:
    os.environ.update(env)
    sys.path.insert(0, str(ROOT / "platform"))


def empty_redis(redis_url: str) -> None:
    import redis

    redis.Redis.from_url(redis_url).flushdb()


# -- subjects (picked with the superuser; read only) -------------------------------------------------------

def rows(engine, sql: str, **params) -> list:
    from sqlalchemy import text

    with engine.connect() as connection:
        return connection.execute(text(sql), params).all()


def open_cases(engine, count: int, rng: random.Random) -> list:
    """Open cases whose lead worker is an active member of the lead tenant, spread over tenants."""
    found = rows(engine, """
        select c.tenant_id, c.lead_worker_user_id, c.id, c.client_id from cases c
        join memberships m on m.tenant_id = c.tenant_id and m.user_id = c.lead_worker_user_id and m.active
        join clients cl on cl.id = c.client_id and cl.vital_status = 'alive'
        where c.status <> 'closed' order by c.id desc limit :limit""", limit=count * 20)
    rng.shuffle(found)
    return found[:count]


def other_tenants(engine) -> list[int]:
    return [r[0] for r in rows(engine, "select id from tenants where active order by id")]


def partners(engine) -> dict[int, list[int]]:
    """Each tenant's partners: the active tenants it has sent referrals to before."""
    found: dict[int, list[int]] = {}
    for sender, receiver in rows(engine, """
            select distinct r.tenant_id, r.receiver_tenant_id from referrals r
            join tenants t on t.id = r.receiver_tenant_id and t.active
            where r.receiver_tenant_id <> r.tenant_id order by 1, 2"""):
        found.setdefault(sender, []).append(receiver)
    return found


def receiver_for(tenant_id: int, partners_of: dict[int, list[int]], tenants: list[int], rng: random.Random) -> int:
    """A partner of ``tenant_id`` when it has any, as real referrals go; any other tenant otherwise."""
    return rng.choice(partners_of.get(tenant_id) or [t for t in tenants if t != tenant_id])


# -- preparing the work of each scenario (through the services, not timed) ---------------------------------

def prepare(app, scenario: str, count: int, rng: random.Random, engine) -> list[dict]:
    with app.app_context():
        return {"referrals": prepare_referrals, "cases": prepare_cases, "assessments": prepare_assessments,
                "nominations": prepare_nominations}[scenario](count, rng, engine)


def prepare_referrals(count: int, rng: random.Random, engine) -> list[dict]:
    """Drafts ready to send: an open case's client, a partner tenant as the receiver, a consent
    covering it, a draft."""
    from hanaro.accounts.models import User
    from hanaro.cases.models import Case
    from hanaro.clients import service as clients
    from hanaro.clients.models import Client, ConsentPurpose
    from hanaro.core.db import db
    from hanaro.referrals import service as referrals
    from hanaro.tenancy.context import acting_as
    from hanaro.tenancy.models import Tenant

    tenants, partners_of, items = other_tenants(engine), partners(engine), []
    for tenant_id, user_id, case_id, client_id in open_cases(engine, count, rng):
        receiver_id = receiver_for(tenant_id, partners_of, tenants, rng)
        with acting_as(tenant_id, user_id):
            user, client = db.session.get(User, user_id), db.session.get(Client, client_id)
            receiver = db.session.get(Tenant, receiver_id)
            if clients.covering_consent(client, receiver, ConsentPurpose.REFERRAL) is None:
                today = date.today()
                clients.record_consent(client, {
                    "scope": "tenants", "tenants": [receiver.code], "purposes": ["referral"],
                    "granted_on": today - timedelta(days=1), "expires_on": today + timedelta(days=364),
                    "evidence_reference": "bench"}, user)
            draft = referrals.create({"reason": "벤치마크 의뢰", "requested_service": "방문 목욕"}, client, user,
                                     case=db.session.get(Case, case_id), receiver=receiver)
            db.session.commit()
            items.append({"tenant": tenant_id, "user": user_id, "referral": draft.id})
    return items


def prepare_cases(count: int, rng: random.Random, engine) -> list[dict]:
    """A client and a case type it has no open case of."""
    found = rows(engine, """
        select cl.tenant_id, m.user_id, cl.id from clients cl
        join lateral (select user_id from memberships m where m.tenant_id = cl.tenant_id and m.active
                      and m.roles::text like '%case_manager%' order by user_id limit 1) m on true
        where cl.vital_status = 'alive' order by cl.id desc limit :limit""", limit=count * 20)
    types = [r[0] for r in rows(engine, "select code from case_types order by code")]
    rng.shuffle(found)
    items = []
    for tenant_id, user_id, client_id in found[:count]:
        taken = {r[0] for r in rows(engine, "select case_type_code from cases where client_id = :c and status <> 'closed'",
                                    c=client_id)}
        free = [t for t in types if t not in taken]
        if free:
            items.append({"tenant": tenant_id, "user": user_id, "client": client_id, "case_type": rng.choice(free)})
    return items


def prepare_assessments(count: int, rng: random.Random, engine) -> list[dict]:
    return [{"tenant": t, "user": u, "case": c} for t, u, c, _ in open_cases(engine, count, rng)]


def prepare_nominations(count: int, rng: random.Random, engine) -> list[dict]:
    """Clients of invited tenants living in an open campaign's area, with a consent covering the
    organiser; campaigns with room for them."""
    from hanaro.accounts.models import User
    from hanaro.campaigns import checks
    from hanaro.clients import service as clients
    from hanaro.clients.models import Client, ConsentPurpose
    from hanaro.core.db import db
    from hanaro.tenancy.context import acting_as
    from hanaro.tenancy.models import Tenant

    found = rows(engine, """
        select c.id, c.tenant_id, i.nominator_tenant_id, m.user_id, cl.id from campaigns c
        join campaign_invitations i on i.campaign_id = c.id
        join lateral (select user_id from memberships m where m.tenant_id = i.nominator_tenant_id and m.active
                      order by user_id limit 1) m on true
        join clients cl on cl.tenant_id = i.nominator_tenant_id and cl.vital_status = 'alive'
        where c.status = 'open' and current_date between c.opens_on and c.closes_on
          and not exists (select 1 from campaign_nominations n where n.campaign_id = c.id and n.client_id = cl.id)
          and not exists (select 1 from campaign_nominations n where n.campaign_id = c.id
                          and n.nominator_tenant_id = i.nominator_tenant_id and n.household_id = cl.household_id
                          and n.status in ('submitted', 'accepted'))
        order by cl.id desc limit :limit""", limit=count * 20)
    rng.shuffle(found)
    items, households = [], set()
    for campaign_id, organiser_id, tenant_id, user_id, client_id in found:
        if len(items) >= count:
            break
        with acting_as(tenant_id, user_id):
            client, organiser = db.session.get(Client, client_id), db.session.get(Tenant, organiser_id)
            dong = client.dong_code or (client.household.dong_code if client.household else None)
            if not checks.within(dong, organiser.region_code) or (
                    client.household_id is not None and (campaign_id, client.household_id) in households):
                continue
            households.add((campaign_id, client.household_id))
            if clients.covering_consent(client, organiser, ConsentPurpose.CAMPAIGN) is None:
                today = date.today()
                clients.record_consent(client, {
                    "scope": "tenants", "tenants": [organiser.code], "purposes": ["campaign"],
                    "granted_on": today - timedelta(days=1), "expires_on": today + timedelta(days=364),
                    "evidence_reference": "bench"}, db.session.get(User, user_id))
            db.session.commit()
        items.append({"tenant": tenant_id, "user": user_id, "campaign": campaign_id, "client": client_id})
    if items:
        _make_room(engine, {i["campaign"] for i in items}, len(items))
    return items


def _make_room(engine, campaign_ids: set[int], count: int) -> None:
    """Enough stock for every nomination of the run (on the copy): the bench measures nominating,
    not running out."""
    from sqlalchemy import text

    with engine.connect() as connection:
        connection.execute(text("update campaigns set quantity = quantity + :n * per_household where id = any(:ids)"),
                           {"n": count, "ids": sorted(campaign_ids)})


# -- one operation of each scenario (what is timed) ---------------------------------------------------------

def operation(scenario: str):
    from hanaro.accounts.models import User
    from hanaro.core.db import db
    from hanaro.tenancy.context import acting_as

    def run(item: dict) -> None:
        with acting_as(item["tenant"], item["user"]):
            actor = db.session.get(User, item["user"])
            OPERATIONS[scenario](item, actor)
            db.session.commit()
        db.session.remove()

    return run


def send_referral(item, actor) -> None:
    from hanaro.core.db import db
    from hanaro.referrals import service as referrals
    from hanaro.referrals.models import Referral

    referrals.send(db.session.get(Referral, item["referral"]), actor, confirm_duplicate=True)


def open_case(item, actor) -> None:
    from hanaro.cases import service as cases
    from hanaro.clients.models import Client
    from hanaro.core.db import db

    cases.open_case(db.session.get(Client, item["client"]), {
        "case_type": item["case_type"], "lead_worker": actor.public_id, "received_on": date.today(),
        "risk_level": "medium"}, actor)


def save_assessment(item, actor) -> None:
    from hanaro.cases import service as cases

    data = {"assessed_on": date.today(), "summary": "벤치마크 욕구조사"}
    data.update({f"level_{d.code}": (i * 7) % 4 for i, d in enumerate(cases.need_domains())})
    cases.save_assessment(cases.case_by_id_or_404(item["case"]), data, actor)


def nominate(item, actor) -> None:
    from hanaro.campaigns import service as campaigns
    from hanaro.campaigns.models import Campaign
    from hanaro.clients.models import Client
    from hanaro.core.db import db

    campaigns.nominate(db.session.get(Campaign, item["campaign"]), db.session.get(Client, item["client"]),
                       {"reason": "벤치마크 추천", "priority": "normal"}, actor)


OPERATIONS = {"referrals": send_referral, "cases": open_case, "assessments": save_assessment,
              "nominations": nominate}


class RoundTrips:
    """What the measured operations sent: SQL statements (every one PostgreSQL parses, the tenant's
    set_config and savepoints included; commits not) and Redis round trips (a pipeline is one)."""

    def __init__(self):
        self.statements = 0
        self.redis = 0
        self.counting = False

    def install(self, engine) -> None:
        from redis.connection import Connection
        from sqlalchemy import event

        event.listen(engine, "before_cursor_execute", self._statement)
        send = Connection.send_packed_command

        def counted(connection, *args, **kwargs):
            if self.counting:
                self.redis += 1
            return send(connection, *args, **kwargs)

        Connection.send_packed_command = counted

    def _statement(self, *args) -> None:
        if self.counting:
            self.statements += 1


def per_op(total: int, ops: int) -> float | None:
    return total / ops if ops else None


def child(scenario: str) -> None:
    """A measuring process: reads its items, warms up on the first few, says "ready", waits for
    "go", runs the rest and prints its timings as JSON."""
    from hanaro import create_app

    items = json.loads(sys.stdin.readline())
    app = create_app()
    with app.app_context():
        from hanaro.core.db import db

        run, trips = operation(scenario), RoundTrips()
        trips.install(db.engine)
        warm, measured = items[:3], items[3:]
        for item in warm:
            run(item)
        print("ready", flush=True)
        sys.stdin.readline()
        latencies, errors, started = [], 0, time.time()
        trips.counting = True
        for item in measured:
            began = time.perf_counter()
            try:
                run(item)
            except Exception as error:  # noqa: BLE001 - counted and shown, never hidden
                errors += 1
                print(f"{scenario}: {type(error).__name__}: {str(error)[:200]}", file=sys.stderr)
                from hanaro.core.db import db

                db.session.rollback()
                continue
            latencies.append(time.perf_counter() - began)
        ended, trips.counting = time.time(), False
        print(json.dumps({"started": started, "ended": ended, "latencies": latencies, "errors": errors,
                          "ops": len(measured), "statements": trips.statements, "redis": trips.redis}), flush=True)


def measure(args, env: dict, scenario: str, batches: list[list[dict]]) -> dict:
    processes = [subprocess.Popen([PYTHON, __file__, "--child", scenario], env=env, cwd=ROOT, text=True,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE) for _ in batches]
    for process, batch in zip(processes, batches):
        process.stdin.write(json.dumps(batch) + "\n")
        process.stdin.flush()
    for process in processes:
        if process.stdout.readline().strip() != "ready":
            raise SystemExit(f"{scenario}: a measuring process failed to start")
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()
    results = [json.loads(process.stdout.readline()) for process in processes]
    for process in processes:
        process.wait()
    return summarise(results, load=os.getloadavg()[0])


def summarise(results: list[dict], load: float | None = None) -> dict:
    """One line of the table from the measuring processes' reports."""
    latencies = sorted(x for r in results for x in r["latencies"])
    wall = max(r["ended"] for r in results) - min(r["started"] for r in results)
    attempted = sum(r.get("ops", len(r["latencies"]) + r["errors"]) for r in results)
    return {"ops": len(latencies), "errors": sum(r["errors"] for r in results),
            "per_second": len(latencies) / wall if wall else 0.0,
            "p50": statistics.median(latencies) if latencies else None,
            "p95": latencies[int(0.95 * (len(latencies) - 1))] if latencies else None,
            "statements": per_op(sum(r.get("statements", 0) for r in results), attempted),
            "redis": per_op(sum(r.get("redis", 0) for r in results), attempted), "load": load}


# -- the notification pipeline --------------------------------------------------------------------------

def recipients(engine, count: int) -> list[tuple[int, int]]:
    """(tenant, user) of real active members with an e-mail address, round-robin over tenants so
    every tenant with members gets some; users repeat (as new notifications) when there are fewer."""
    members = rows(engine, """
        select m.tenant_id, m.user_id from memberships m join users u on u.id = m.user_id
        join tenants t on t.id = m.tenant_id
        where m.active and u.active and u.email is not null and t.active
        order by m.tenant_id, m.user_id""")
    if not members:
        raise SystemExit("no active members with an e-mail address")
    return [members[i % len(members)] for i in range(count)]


def post_notifications(app, chosen: list[tuple[int, int]], run: str) -> float:
    """As each recipient tenant (one transaction per tenant, as a fan-out job would): one
    notification per chosen member. Returns the seconds it took."""
    from itertools import groupby

    from hanaro.core.db import db
    from hanaro.notifications.service import notify
    from hanaro.tenancy.context import acting_as

    started = time.perf_counter()
    with app.app_context():
        for tenant_id, group in groupby(sorted(chosen), key=lambda pair: pair[0]):
            with acting_as(tenant_id, None):
                for _, user_id in group:
                    notify(tenant_id, "referral_received", f"[bench {run}] 서비스 의뢰를 받았습니다.",
                           link="/notifications", recipient_user_id=user_id)
                db.session.commit()
    return time.perf_counter() - started


def pipeline_state(engine, run: str) -> tuple[int, int, int]:
    """(notifications unplanned, deliveries not yet settled, deliveries sent) of this run."""
    found = rows(engine, """
        select count(*) filter (where n.email_planned_at is null),
               (select count(*) from notification_deliveries d join notifications x on x.id = d.notification_id
                where x.title like :title and d.state in ('pending', 'sending')),
               (select count(*) from notification_deliveries d join notifications x on x.id = d.notification_id
                where x.title like :title and d.state = 'sent')
        from notifications n where n.title like :title""", title=f"[bench {run}]%")
    return tuple(found[0])


def run_pipeline(args, env: dict, app, engine, count: int, workers: int) -> dict:
    """Workers running and idle first (as in production), then the notifications are posted; the
    clock runs from the first post until every delivery is settled (sent, or skipped)."""
    import redis
    from rq import Worker

    run = f"{workers}w-{int(time.time())}"
    connection = redis.Redis.from_url(args.redis)
    empty_redis(args.redis)
    chosen = recipients(engine, count)
    processes = [subprocess.Popen([FLASK, "worker"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL) for _ in range(workers)]
    try:
        while Worker.count(connection=connection) < workers:
            time.sleep(0.1)
        started = time.perf_counter()
        posting = post_notifications(app, chosen, run)
        posted = time.perf_counter()
        while True:
            unplanned, unsettled, sent = pipeline_state(engine, run)
            elapsed = time.perf_counter() - started
            if (unplanned == 0 and unsettled == 0) or elapsed > args.pipeline_timeout:
                break
            time.sleep(0.2)
        jobs = _jobs_run(connection)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)
        empty_redis(args.redis)
    return {"notifications": count, "workers": workers, "jobs": jobs, "posting": posting, "seconds": elapsed,
            "load": os.getloadavg()[0],
            "tail": started + elapsed - posted,
            "sent": sent, "unsettled": unplanned + unsettled, "per_second": sent / elapsed if elapsed else 0.0}


def _jobs_run(connection) -> int:
    from rq import Queue

    return Queue("default", connection=connection).finished_job_registry.count


# -- report -----------------------------------------------------------------------------------------------

def ms(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds * 1000:.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.1f} ms"


def dataset(database: str, sizes: dict) -> str:
    """The data set in a few words, from the scale seed's manifest when there is one."""
    if not sizes:
        return f"`{database}`"
    shown = ", ".join(f"{sizes[k]:,} {k}".replace(",", " ") for k in ("tenants", "users", "clients", "cases",
                                                                      "referrals", "campaigns") if k in sizes)
    return f"`{database}` (scale seed: {shown})"


def one(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def report(args, results: dict, pipeline: list[dict], sizes: dict | None = None) -> str:
    lines = [f"Writes and jobs (`scripts/bench --writes`, {date.today().isoformat()}, {os.cpu_count()} cores, "
             f"{platform.python_version()}): a fresh copy of {dataset(args.database, sizes or {})}, the app role "
             "with RLS on, services called directly (no HTTP), each operation its own transaction; jobs to "
             "Redis. Statements per operation count every SQL statement sent (the tenant's set_config and "
             "savepoints included, commits not); Redis round trips likewise; load is the 1-minute load "
             "average when the run ended.", "",
             "| operation | processes | ops | ops/s | p50 | p95 | errors | statements/op | Redis round trips/op | load |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    names = {"referrals": "send a referral (+ outbox row, enqueue)", "cases": "open a case",
             "assessments": "save an assessment (8 domains)", "nominations": "nominate for a campaign"}
    for (scenario, processes), r in results.items():
        lines.append(f"| {names[scenario]} | {processes} | {r['ops']} | {r['per_second']:.1f} | {ms(r['p50'])} | "
                     f"{ms(r['p95'])} | {r['errors']} | {one(r.get('statements'))} | {one(r.get('redis'))} | "
                     f"{one(r.get('load'))} |")
    if pipeline:
        lines += ["", "| notification pipeline | workers | rq jobs | posting | first post → all delivered | "
                  "last post → all delivered | mails/s | left | load |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for p in pipeline:
            lines.append(f"| {p['notifications']} notifications to real members | {p['workers']} | {p['jobs']} | "
                         f"{p['posting']:.1f} s | {p['seconds']:.1f} s | {p['tail']:.1f} s | {p['per_second']:.0f} | "
                         f"{p['unsettled']} | {one(p.get('load'))} |")
    return "\n".join(lines)


def write_docs(text: str) -> None:
    path = ROOT / "docs" / "performance.md"
    path.parent.mkdir(exist_ok=True)
    current = path.read_text() if path.exists() else "# Performance\n"
    block = f"{START}\n{text}\n{END}"
    if START in current and END in current:
        before, rest = current.split(START, 1)
        current = before + block + rest.split(END, 1)[1]
    else:
        current = current.rstrip("\n") + "\n\n## Writes and jobs\n\n" + block + "\n"
    path.write_text(current)


def manifest(database: str) -> dict:
    """The scale seed's manifest of ``database`` (var/scale/<database>.json), or {}."""
    path = ROOT / "var" / "scale" / f"{database}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def manifest_roles(data: dict) -> dict:
    """The roles the scale seed's manifest names, if it does."""
    roles = data.get("roles") or {}
    return {"app_role": data.get("app_role") or roles.get("app"), "owner_role": data.get("owner_role") or roles.get("owner")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--database", default="hanaro_scale_10k")
    parser.add_argument("--copy", default=None, help="name of the scratch copy (default: hwrites_<database>)")
    parser.add_argument("--keep", action="store_true", help="keep the copy afterwards")
    parser.add_argument("--reuse", action="store_true", help="use an existing copy instead of making one")
    parser.add_argument("--app-role", default=None)
    parser.add_argument("--owner-role", default=None)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--ops", type=int, default=200, help="operations per process and scenario")
    parser.add_argument("--processes", default="1,2")
    parser.add_argument("--notifications", type=int, default=10000)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--pipeline-timeout", type=float, default=900)
    parser.add_argument("--only", default=",".join(SCENARIOS + ("pipeline",)))
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--write-docs", action="store_true", help="write the table into docs/performance.md")
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0
    seeded = manifest(args.database)
    roles = manifest_roles(seeded)
    args.app_role = args.app_role or roles.get("app_role") or "hanaro_scale_app"
    args.owner_role = args.owner_role or roles.get("owner_role") or "hanaro_scale_owner"
    copy = args.copy or f"hwrites_{args.database}"[:63]
    only = set(args.only.split(","))
    if not args.reuse:
        print(f"copying {args.database} to {copy} ...", flush=True)
        copy_database(args.database, copy)
    env = app_env(args, copy)
    subprocess.run([FLASK, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    load_env(env)
    from hanaro import create_app

    app, engine, rng = create_app(), superuser(copy), random.Random(args.seed)
    results, pipeline = {}, []
    try:
        empty_redis(args.redis)
        for scenario in [s for s in SCENARIOS if s in only]:
            for processes in [int(p) for p in args.processes.split(",")]:
                items = prepare(app, scenario, (args.ops + 3) * processes, rng, engine)
                if len(items) < 4 * processes:
                    print(f"{scenario}: not enough subjects in {args.database} ({len(items)}); skipped", flush=True)
                    break
                share = len(items) // processes
                result = measure(args, env, scenario, [items[i * share:(i + 1) * share] for i in range(processes)])
                empty_redis(args.redis)
                results[(scenario, processes)] = result
                print(f"{scenario:12} {processes}p  {result['ops']:5} ops  {result['per_second']:7.1f}/s  "
                      f"p50 {ms(result['p50'])}  p95 {ms(result['p95'])}  errors {result['errors']}  "
                      f"{one(result['statements'])} statements/op  {one(result['redis'])} Redis/op  "
                      f"load {one(result['load'])}", flush=True)
        if "pipeline" in only:
            for workers in [int(w) for w in args.workers.split(",")]:
                p = run_pipeline(args, env, app, engine, args.notifications, workers)
                pipeline.append(p)
                print(f"pipeline {p['notifications']} notifications, {p['workers']} workers, {p['jobs']} jobs: posted in "
                      f"{p['posting']:.1f} s, delivered in {p['seconds']:.1f} s ({p['per_second']:.0f}/s), "
                      f"{p['unsettled']} left", flush=True)
    finally:
        engine.dispose()
        with app.app_context():
            from hanaro.core.db import db

            db.engine.dispose()
        if not (args.keep or args.reuse):
            drop_database(copy)
    text = report(args, results, pipeline, seeded.get("sizes"))
    print()
    print(text)
    if args.write_docs:
        write_docs(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
