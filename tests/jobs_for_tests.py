"""Jobs used by the job tests (importable by path, as real jobs are)."""
from sqlalchemy import select

from hanaro.core import jobs
from hanaro.core.db import db
from hanaro.tenancy.models import Membership


def visible_membership_tenants() -> list[int]:
    return sorted({m.tenant_id for m in db.session.scalars(select(Membership))})


def process_and_context(marker: str) -> tuple[int, list[str]]:
    """Which process ran the job, and which markers earlier jobs left in its app context's ``g``."""
    import os

    from flask import g

    seen = list(g.get("markers", []))
    g.markers = seen + [marker]
    return os.getpid(), seen


RUNS: list[int] = []


@jobs.job(retry=(0,))
def fails_once() -> str:
    """Fails on its first run in this process; rq retries it (one retry, no wait)."""
    RUNS.append(1)
    if len(RUNS) == 1:
        raise RuntimeError("first run fails")
    return "second run"
